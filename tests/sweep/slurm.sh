#!/usr/bin/env bash
# lab.sweep with backend "slurm", no Slurm needed: without SLURM_ARRAY_TASK_ID it writes
# DIR/manifest.json and DIR/sweep.sbatch (bash -n passes; an array of ceil(points / chunk)
# tasks, array_max at once), says how to submit, runs nothing and ends the script quietly;
# with SLURM_ARRAY_TASK_ID=K it runs the points of chunk K alone (skipping finished ones),
# writes their run files and ends quietly; once all chunks ran, the same command gathers:
# the script gets the records and results.csv is a one-process run's. `mpcl --slurm`
# makes "slurm" the default backend.
set -u
. "$(dirname "$0")/common.bash"
# No Slurm variable from the machine running the tests.
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_JOB_ID SLURM_JOB_ID SLURM_SUBMIT_DIR
# slurm NAME [VAR=V ...] [--slurm] ARGS...: tests/sweep/sweep.lua in $dir with those
# variables (SWEEP_*, SLURM_*) and options
slurm() {
    local name=$1 x envs=() opts=() args=(); shift
    for x in "$@"; do
        case $x in SWEEP_*=* | SLURM_*=*) envs+=("$x") ;; --*) opts+=("$x") ;; *) args+=("$x") ;; esac
    done
    (cd "$dir" && env "${envs[@]}" "$bin" "${opts[@]}" "$here/sweep.lua" "${args[@]}" > "$name.out" 2> "$name.err")
}
csv() { lua5.4 "$here/check.lua" csv "$dir/$1"; }     # csv DIR: without seconds
ids() { lua5.4 "$here/check.lua" ids "$dir/$1" | tr '\n' ' '; }
ran() { [ -f "$dir/$1" ] && awk '{ printf "%s ", $1 }' "$dir/$1"; }

(cd "$dir" && "$bin" "$here/sweep.lua" out=single workers=1 n=4 > single.out 2> single.err)
check "one process: exit 0" test $? -eq 0

# 8 points, chunk 3: tasks 0 (0001-0003), 1 (0004-0006), 2 (0007 0008).
slurm submit SWEEP_LOG=submit.log SWEEP_AFTER=after.log backend=slurm chunk=3 out=s n=4
check "submit: exit 0" test $? -eq 0
cat "$dir/submit.out" "$dir/submit.err" | head -n 8 | sed 's/^/  | /'
check "submit: nothing ran" test ! -e "$dir/submit.log"
check "submit: the script ended after the sweep" test ! -e "$dir/after.log"
check "submit: no record printed" test -z "$(grep '^rec ' "$dir/submit.out")"
check "submit: DIR/manifest.json" grep -q '"mpcl-sweep 1"' "$dir/s/manifest.json"
check "submit: DIR/sweep.sbatch" test -s "$dir/s/sweep.sbatch"
check "submit: bash -n sweep.sbatch" bash -n "$dir/s/sweep.sbatch"
check "submit: an array of 3 tasks, 32 at once" grep -Eq '^#SBATCH[[:space:]]+(--array[= ]|-a[[:space:]]*)0-2(%32)?[[:space:]]*$' "$dir/s/sweep.sbatch"
check "submit: the script named in it" grep -q 'sweep\.lua' "$dir/s/sweep.sbatch"
check "submit: says how to submit (sbatch)" grep -q 'sbatch' "$dir/submit.out" "$dir/submit.err"
check "submit: no run file" test -z "$(ids s)"

# Task 0, then task 2, then task 0 again (nothing left), then task 1.
slurm task0 SWEEP_LOG=t0.log SWEEP_AFTER=after.log SLURM_ARRAY_TASK_ID=0 backend=slurm chunk=3 out=s n=4
check "task 0: exit 0" test $? -eq 0
same "task 0: ran 0001-0003" "$(ran t0.log)" "0001 0002 0003 "
same "task 0: wrote their run files alone" "$(ids s)" "0001 0002 0003 "
check "task 0: ended quietly (no output)" test ! -s "$dir/task0.out"
check "task 0: the script ended after the sweep" test ! -e "$dir/after.log"
slurm task2 SWEEP_LOG=t2.log SLURM_ARRAY_TASK_ID=2 backend=slurm chunk=3 out=s n=4
check "task 2: exit 0" test $? -eq 0
same "task 2: ran 0007 0008" "$(ran t2.log)" "0007 0008 "
same "task 2: run files" "$(ids s)" "0001 0002 0003 0007 0008 "
slurm task0again SWEEP_LOG=t0b.log SLURM_ARRAY_TASK_ID=0 backend=slurm chunk=3 out=s n=4
check "task 0 again: exit 0" test $? -eq 0
check "task 0 again: its points done, nothing ran" test ! -e "$dir/t0b.log"
# Task 1 through the batch file itself, as Slurm would run it (from elsewhere: it goes to
# the submit directory on its own).
(cd / && SWEEP_LOG="$dir/t1.log" SLURM_ARRAY_TASK_ID=1 bash "$dir/s/sweep.sbatch" > "$dir/task1.out" 2> "$dir/task1.err")
check "task 1 by sweep.sbatch: exit 0" test $? -eq 0
same "task 1 by sweep.sbatch: ran 0004-0006" "$(ran t1.log)" "0004 0005 0006 "
same "task 1 by sweep.sbatch: all run files" "$(ids s)" "0001 0002 0003 0004 0005 0006 0007 0008 "

# All done: the same command gathers.
slurm gather SWEEP_LOG=gather.log SWEEP_AFTER=after.log backend=slurm chunk=3 out=s n=4
check "gather: exit 0" test $? -eq 0
check "gather: nothing ran" test ! -e "$dir/gather.log"
same "gather: the script went on" "$(cat "$dir/after.log" 2>/dev/null)" "after 8"
check "gather: the records a one-process run's" differ <(grep '^rec ' "$dir/single.out") <(grep '^rec ' "$dir/gather.out")
check "gather: results.csv a one-process run's (but for seconds)" differ <(csv single) <(csv s)
lua5.4 "$here/check.lua" files "$dir/s" 8 > "$dir/s.files"
check "gather: the files" test $? -eq 0
grep '^FAIL' "$dir/s.files"

# mpcl --slurm: slurm by default; array_max.
slurm flag SWEEP_LOG=flag.log --slurm chunk=5 array_max=1 out=f n=4
check "--slurm: exit 0" test $? -eq 0
check "--slurm: nothing ran" test ! -e "$dir/flag.log"
check "--slurm: sweep.sbatch written" test -s "$dir/f/sweep.sbatch"
check "--slurm: 2 tasks, 1 at once" grep -Eq '^#SBATCH[[:space:]]+(--array[= ]|-a[[:space:]]*)0-1%1[[:space:]]*$' "$dir/f/sweep.sbatch"
check "--slurm: bash -n" bash -n "$dir/f/sweep.sbatch"
slurm flag1 SWEEP_LOG=flag1.log SLURM_ARRAY_TASK_ID=1 --slurm chunk=5 array_max=1 out=f n=4
same "--slurm: task 1 of chunk 5 ran 0006-0008" "$(ran flag1.log)" "0006 0007 0008 "

# A directory and arguments with a space and a quote: the batch file still parses and runs.
mkdir "$dir/it's here"
(cd "$dir/it's here" && "$bin" "$here/sweep.lua" backend=slurm chunk=4 "out=o'k dir" n=2 > out 2> err)
check "quotes: exit 0" test $? -eq 0
check "quotes: bash -n" bash -n "$dir/it's here/o'k dir/sweep.sbatch"
(cd / && SWEEP_LOG="$dir/q.log" SLURM_ARRAY_TASK_ID=0 bash "$dir/it's here/o'k dir/sweep.sbatch" > "$dir/q.out" 2> "$dir/q.err")
check "quotes: task 0 by sweep.sbatch: exit 0" test $? -eq 0
same "quotes: task 0 ran 0001-0004" "$(ran q.log)" "0001 0002 0003 0004 "

echo "$fails failed"
[ "$fails" -eq 0 ]
