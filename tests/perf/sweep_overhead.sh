#!/usr/bin/env bash
# Benchmark (not a pass/fail test): what lab.sweep costs per point when run() does nothing,
# N points (default 2000): in-process (workers = 1), two local worker processes, and Open
# MPI on loopback (mpirun -np 3 --oversubscribe --mca btl self,vader: rank 0 dispatches,
# two ranks run points). Each is the time of the lab.sweep call alone (lab.clock around it,
# start-up and data outside), into a fresh directory, best of RUNS (3). Prints ms per point
# for each and the MPI overhead over in-process; the target is at most 5 ms per point.
# Every point writes its run file (atomic: temp, fsync, rename), so the in-process figure
# is mostly the file system's, and it is in all three.
#   tests/perf/sweep_overhead.sh [N]          MPCL_BIN=build/mpcl, RUNS=3
set -eu
cd "$(dirname "$0")/../.."
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
n=${1:-2000}
runs=${RUNS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/empty.lua" <<'LUA'
local a = ... or {}
local is = {}
for i = 1, a.n do is[i] = i end
local t0 = lab.clock()
local res = lab.sweep{grid = {i = is}, run = function() return {} end, out = a.out,
                      workers = a.workers ~= 0 and a.workers or nil, quiet = true}
local t = lab.clock() - t0
local bad = 0
for _, r in ipairs(res) do if r.error then bad = bad + 1 end end
print(string.format("seconds %.6f points %d failed %d", t, #res, bad))
LUA
mpi=(--oversubscribe --mca btl self,vader)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
# best LABEL CMD...: the least seconds of RUNS runs of CMD (its "seconds S points N" line)
best() {
    local label=$1 b="" i out; shift
    for i in $(seq 1 "$runs"); do
        rm -rf "$dir/out"
        out=$(cd "$dir" && "$@" 2>"$dir/err" | grep '^seconds ') || { echo "$label: failed: $(head -c 300 "$dir/err")" >&2; return 1; }
        read -r _ s _ pts _ failed <<< "$out"
        [ "$pts" = "$n" ] && [ "$failed" = 0 ] || { echo "$label: $pts points, $failed failed" >&2; return 1; }
        b=$(awk -v s="$s" -v b="$b" 'BEGIN { print (b == "" || s < b) ? s : b }')
    done
    echo "$b"
}
echo "lab.sweep of $n empty points, best of $runs, $(nproc) cores"
inproc=$(best in-process "$bin" empty.lua n="$n" out=out workers=1)
local2=$(best workers=2 "$bin" empty.lua n="$n" out=out workers=2)
report() { awk -v l="$1" -v s="$2" -v n="$n" 'BEGIN { printf "%-28s %8.3f s  %7.3f ms/point\n", l, s, 1000 * s / n }'; }
report "in-process (workers=1)" "$inproc"
report "local workers=2" "$local2"
if command -v mpirun > /dev/null; then
    mpi3=$(best mpi timeout 600 mpirun "${mpi[@]}" -np 3 "$bin" empty.lua n="$n" out=out workers=0)
    report "mpirun -np 3 (2 workers)" "$mpi3"
    awk -v m="$mpi3" -v i="$inproc" -v n="$n" 'BEGIN {
        d = 1000 * (m - i) / n
        printf "MPI per point: %.3f ms (%.3f ms over in-process); target <= 5 ms: %s\n",
               1000 * m / n, d, (1000 * m / n <= 5) ? "met" : "NOT met" }'
else
    echo "mpirun: not installed, no MPI figure"
fi
