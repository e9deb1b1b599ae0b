#!/usr/bin/env bash
# lab.sweep under mpirun (Open MPI, loopback only: -np 3 --oversubscribe --mca btl
# self,vader): the same results.csv (but for seconds) and records as one process; rank 0
# runs no point, ranks 1 and 2 run them and end the script quietly (no output, no file, no
# code after the sweep); a second sweep in the script runs in-process on rank 0. Then
# mpirun killed (SIGTERM) halfway: no rank left running, and the same command again runs
# exactly the points without a run file, ending with a clean run's results.
# Without mpirun: one SKIP line, exit 0.
set -u
. "$(dirname "$0")/common.bash"
if ! command -v mpirun > /dev/null; then
    echo "SKIP tests/sweep/mpi.sh: no mpirun (Open MPI: openmpi-bin)"
    exit 0
fi
pids=()   # the processes this test started that may outlive a failure
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
mpi=(--oversubscribe --mca btl self,vader)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
# The ASan+UBSan build: Open MPI's own allocations (its components, unloaded at
# MPI_Finalize) are reported as leaks at exit, so no leak check under mpirun (the lab's code
# is leak-checked by the other sweep tests); and build/asan/ has no MPI module of its own:
# the plain build's (MPCL_MPI_MODULE) unless one is there.
if ldd "$bin" 2>/dev/null | grep -q libasan; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    if [ ! -e "$(dirname "$bin")/mpcl-mpi.so" ] && [ -z "${MPCL_MPI_MODULE:-}" ] && [ -e build/mpcl-mpi.so ]; then
        export MPCL_MPI_MODULE=$(pwd)/build/mpcl-mpi.so
        echo "note: $(dirname "$bin") has no mpcl-mpi.so: MPCL_MPI_MODULE=$MPCL_MPI_MODULE"
    fi
fi
# (the ranks inherit mpirun's environment: the SWEEP_ variables reach them)
csv() { lua5.4 "$here/check.lua" csv "$dir/$1" "${@:2}"; }     # csv DIR [COL...]: without seconds
recs() { grep '^rec ' "$dir/$1"; }
files() { (cd "$dir/$1" && find . -type f | LC_ALL=C sort); }
alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && echo "$p"; done; }
ranks() { awk '{ print $4 }' "$dir/$1" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }'; }

# One process: the reference.
(cd "$dir" && "$bin" "$here/sweep.lua" out=single workers=1 n=4 > single.out 2> single.err)
check "one process: exit 0" test $? -eq 0

# Three ranks.
(cd "$dir" && SWEEP_LOG=mpi.log SWEEP_LOG2=second.log SWEEP_AFTER=after.log SWEEP_MASTER=master.log \
    SWEEP_SLEEP=0.05 timeout 120 mpirun "${mpi[@]}" -np 3 --output-filename "$dir/ranks" \
    "$bin" "$here/sweep.lua" out=mpi workers=default n=4 second=mpi2 > mpi.out 2> mpi.err)
rc=$?
check "mpirun -np 3: exit 0" test $rc -eq 0
[ $rc -eq 0 ] || head -n 20 "$dir/mpi.err"
lua5.4 "$here/check.lua" files "$dir/mpi" 8 > "$dir/mpi.files"
check "mpirun: the files" test $? -eq 0
grep '^FAIL' "$dir/mpi.files"
check "mpirun: results.csv a one-process run's (but for seconds)" differ <(csv single) <(csv mpi)
check "mpirun: rank 0's records a one-process run's" differ <(recs single.out) <(recs ranks/1/rank.0/stdout)
check "mpirun: the same files in DIR" differ <(files single) <(files mpi)
same "mpirun: all 3 ranks started the script" "$(awk '{ print $2 }' "$dir/master.log" | sort | tr '\n' ' ')" "0 1 2 "
same "mpirun: each point once" "$(awk '{ print $1 ":" $2 }' "$dir/mpi.log" | sort | tr '\n' ' ')" \
    "0001:1 0002:1 0003:1 0004:1 0005:1 0006:1 0007:1 0008:1 "
check "mpirun: rank 0 ran no point" test -z "$(awk '$4 == "0"' "$dir/mpi.log")"
check "mpirun: ranks 1 and 2 both ran points ($(ranks mpi.log))" \
    test "$(awk '{ print $4 }' "$dir/mpi.log" | sort -u | tr '\n' ' ')" = "1 2 "
same "mpirun: only one rank went on after the sweep" "$(cat "$dir/after.log" 2>/dev/null)" "after 8"
for r in 1 2; do
    check "mpirun: rank $r wrote nothing on stdout" test ! -s "$dir/ranks/1/rank.$r/stdout"
    check "mpirun: rank $r wrote nothing on stderr" test ! -s "$dir/ranks/1/rank.$r/stderr"
done
check "mpirun: the second sweep ran on rank 0, in-process" \
    test "$(awk '{ print $3, $4 }' "$dir/second.log" | sort -u)" = "$(awk '$2 == "0" { print $1, $2 }' "$dir/master.log")"
check "mpirun: the second sweep's 8 points" grep -q '^second 8$' "$dir/ranks/1/rank.0/stdout"
check "mpirun: the second sweep's results" differ <(csv single) <(csv mpi2)

# Killed halfway: 20 points of 0.3 s on 2 workers; SIGTERM to mpirun after 3 run files.
# Open MPI's mpirun takes about a second to take its ranks down (and ranks left without
# their mpirun end as long after), so a few more points finish; most are left.
(cd "$dir" && "$bin" "$here/sweep.lua" out=single10 workers=1 n=10 > single10.out 2> single10.err)
(cd "$dir" && SWEEP_LOG=kill1.log SWEEP_MASTER=kill.master SWEEP_SLEEP=0.3 exec timeout 120 mpirun "${mpi[@]}" -np 3 \
    "$bin" "$here/sweep.lua" out=kill workers=default n=10 > kill1.out 2> kill1.err) &
main=$!
pids+=("$main")
for _ in $(seq 400); do
    [ "$(find "$dir/kill/runs" -name '[0-9]*.json' 2>/dev/null | wc -l)" -ge 3 ] && break
    sleep 0.02
done
kill -TERM "$main"
wait "$main" 2>/dev/null
mapfile -t started < <(awk '{ print $1 }' "$dir/kill.master" 2>/dev/null)
for _ in $(seq 100); do [ -z "$(alive "${started[@]}")" ] && break; sleep 0.05; done
left=$(alive "${started[@]}")
check "kill: no rank left running 5 s after mpirun ended" test -z "$left"
for p in $left; do kill -9 "$p"; done
mapfile -t done_ids < <(lua5.4 "$here/check.lua" ids "$dir/kill")
echo "  killed with ${#done_ids[@]} of 20 points done (${done_ids[*]})"
check "kill: halfway (some points done, not all)" test "${#done_ids[@]}" -ge 1 -a "${#done_ids[@]}" -lt 20
(cd "$dir" && SWEEP_LOG=kill2.log timeout 120 mpirun "${mpi[@]}" -np 3 \
    "$bin" "$here/sweep.lua" out=kill workers=default n=10 > kill2.out 2> kill2.err)
check "kill: the rerun exits 0" test $? -eq 0
want=$(for i in $(seq 1 20); do printf '%04d\n' "$i"; done | grep -vxF -f <(printf '%s\n' "${done_ids[@]}") | tr '\n' ' ')
same "kill: the rerun ran exactly the points without a run file" \
    "$(awk '{ print $1 }' "$dir/kill2.log" 2>/dev/null | sort | tr '\n' ' ')" "$want"
check "kill: results.csv a clean run's (but for seconds)" differ <(csv single10) <(csv kill)
check "kill: the records a clean run's" differ <(recs single10.out) <(recs kill2.out)
lua5.4 "$here/check.lua" files "$dir/kill" 20 > "$dir/kill.files"
check "kill: the files after the rerun" test $? -eq 0
grep '^FAIL' "$dir/kill.files"
check "kill: no temporary file left in runs/" test -z "$(find "$dir/kill/runs" -type f ! -name '[0-9]*.json')"

echo "$fails failed"
[ "$fails" -eq 0 ]
