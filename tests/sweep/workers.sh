#!/usr/bin/env bash
# lab.sweep with local worker processes: the same results.csv (but for seconds) and the same
# records in the script with workers = 2 as in-process; the points run in two processes
# other than the script's, one thread each, their output in DIR/logs/worker-K.log; an error
# in a worker retried as in-process; wait = false and its handle; the default worker count;
# a worker killed with SIGKILL mid-point: its point runs again on another worker and the
# results are a clean run's, no worker left behind.
set -u
. "$(dirname "$0")/common.bash"
pids=()   # the processes this test started that may outlive a failure
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT
csv() { lua5.4 "$here/check.lua" csv "$dir/$1" "${@:2}"; }     # csv DIR [COL...]: without seconds
recs() { grep '^rec ' "$dir/$1.out"; }
pidsof() { awk '{ print $3 }' "$dir/$1" | sort -u; }           # pidsof LOG: run()'s processes
alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && echo "$p"; done; }

sweep one SWEEP_LOG=one.log out=one workers=1 n=4
check "workers=1: exit 0" test $? -eq 0
sweep two SWEEP_LOG=two.log SWEEP_MASTER=two.master SWEEP_SLEEP=0.05 SWEEP_PRINT=1 out=two workers=2 n=4
check "workers=2: exit 0" test $? -eq 0
head -n 3 "$dir/two.err"
lua5.4 "$here/check.lua" files "$dir/two" 8 > "$dir/two.files"
check "workers=2: the files" test $? -eq 0
grep '^FAIL' "$dir/two.files"
check "workers=2: results.csv as workers=1's (but for seconds)" differ <(csv one) <(csv two)
check "workers=2: the script's records as workers=1's" differ <(recs one) <(recs two)
master=$(awk '{ print $1 }' "$dir/two.master")
same "workers=2: the points ran in 2 processes" "$(pidsof two.log | wc -l)" 2
check "workers=2: none in the script's process" test -z "$(pidsof two.log | grep -x "$master")"
same "workers=2: each point once" "$(awk '{ print $1 ":" $2 }' "$dir/two.log" | sort | tr '\n' ' ')" \
    "0001:1 0002:1 0003:1 0004:1 0005:1 0006:1 0007:1 0008:1 "
same "workers=2: one thread per run" "$(awk '{ print $5 }' "$dir/two.log" | sort -u)" 1
check "workers=2: DIR/logs/worker-K.log" test -n "$(find "$dir/two/logs" -name 'worker-*.log' 2>/dev/null)"
same "workers=2: run()'s prints in the worker logs" \
    "$(cat "$dir"/two/logs/worker-*.log 2>/dev/null | grep -c 'says hello')" 8
check "workers=2: and not on the script's stdout" test -z "$(grep 'says hello' "$dir/two.out")"
sweep threads SWEEP_LOG=threads.log out=threads workers=2 n=1 threads=2
check "threads=2: exit 0" test $? -eq 0
same "threads=2: two threads per run" "$(awk '{ print $5 }' "$dir/threads.log" | sort -u)" 2

# An error in a worker: retried, recorded as in-process.
sweep flaky1 SWEEP_FAIL_ONCE=0003 SWEEP_FAIL=0006 out=flaky1 workers=1 n=4
sweep flaky2 SWEEP_FAIL_ONCE=0003 SWEEP_FAIL=0006 out=flaky2 workers=2 n=4
check "errors in workers: exit 0" test $? -eq 0
check "errors in workers: results.csv as in-process" differ <(csv flaky1 error) <(csv flaky2 error)
check "errors in workers: records as in-process" \
    differ <(recs flaky1 | cut -d' ' -f1-5) <(recs flaky2 | cut -d' ' -f1-5)
same "errors in workers: 0003 ok on attempt 2, 0006 failed twice" \
    "$(recs flaky2 | awk '$2 == "0003" || $2 == "0006" { printf "%s %s %s ", $2, $4, $5 }')" "0003 ok i2 0006 err i2 "

# wait = false: a handle at once; wait() gives the records.
sweep handle out=handle workers=2 n=4 wait=0
check "wait=false: exit 0" test $? -eq 0
check "wait=false: progress() total" grep -q '^progress total 8$' "$dir/handle.out"
check "wait=false: wait() gives the same records" differ <(recs one) <(recs handle)

# The default: max(1, cores // threads) workers.
sweep default SWEEP_LOG=default.log SWEEP_MASTER=default.master SWEEP_SLEEP=0.05 out=default workers=default n=4
check "default workers: exit 0" test $? -eq 0
cores=$(nproc)
if [ "$cores" -ge 2 ]; then
    check "default workers: $cores cores, more than one worker" test "$(pidsof default.log | wc -l)" -ge 2
else
    check "default workers: 1 core, in-process" test "$(pidsof default.log)" = "$(awk '{ print $1 }' "$dir/default.master")"
fi

# SIGKILL to the worker running 0003 while it runs (each point 0.4 s).
(cd "$dir" && exec env SWEEP_LOG=kill.log SWEEP_SLEEP=0.4 "$bin" "$here/sweep.lua" out=kill workers=2 n=4 \
    > kill.out 2> kill.err) &
main=$!
pids+=("$main")
victim=""
for _ in $(seq 300); do
    victim=$(awk '$1 == "0003" { print $3; exit }' "$dir/kill.log" 2>/dev/null)
    [ -n "$victim" ] && break
    sleep 0.02
done
check "kill: 0003 started in a worker" test -n "$victim"
[ -n "$victim" ] && sleep 0.1 && kill -9 "$victim"
for _ in $(seq 600); do kill -0 "$main" 2>/dev/null || break; sleep 0.05; done
check "kill: the sweep finished within 30 s" test -z "$(alive "$main")"
wait "$main"
check "kill: exit 0" test $? -eq 0
same "kill: 0003 started twice, in two processes" \
    "$(awk '$1 == "0003" { print $3 }' "$dir/kill.log" | sort -u | wc -l)" 2
same "kill: the other points once" "$(awk '$1 != "0003"' "$dir/kill.log" | wc -l)" 7
check "kill: results.csv a clean run's (but for seconds and attempts)" \
    differ <(csv one attempts) <(csv kill attempts)
check "kill: the records a clean run's (but for attempts)" \
    differ <(recs one | cut -d' ' -f1-4,6-) <(recs kill | cut -d' ' -f1-4,6-)
echo "  0003's attempts after the kill: $(recs kill | awk '$2 == "0003" { print $5 }')"
lua5.4 "$here/check.lua" files "$dir/kill" 8 > "$dir/kill.files"
check "kill: the files" test $? -eq 0
grep '^FAIL' "$dir/kill.files"
mapfile -t workers < <(pidsof kill.log)
check "kill: no worker left running" test -z "$(alive "${workers[@]}")"
check "kill: no temporary file left in runs/" test -z "$(find "$dir/kill/runs" -type f ! -name '[0-9]*.json')"

echo "$fails failed"
[ "$fails" -eq 0 ]
