#!/usr/bin/env bash
# Benchmark (not a pass/fail test): what the replay sandbox costs. The same journal is
# replayed trusted (--trust: no counting, no hooks, the allocator wrappers passing calls on)
# and sandboxed (the instruction hook, the timed library calls, every allocation of the lab
# and the Lua heap counted against --max-memory), in the same script, alternating, best of
# RUNS (5). Chunks: Lua allocation (small tables and strings), pattern matching, a net built
# and evaluated in C. Prints the seconds of each and the ratio sandboxed / trusted.
#   tests/perf/sandbox_cost.sh            MPCL_BIN=build/mpcl, RUNS=5
set -eu
cd "$(dirname "$0")/../.."
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
runs=${RUNS:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chunk() { printf -- '-- [chunk %d] t\ndo\n%s\nend\n' "$1" "$2"; }
{
    printf -- '-- MPCL Lab session journal, format 1\n-- seed: 1\n\n'
    chunk 1 'local keep = {} for i = 1, 2000000 do keep[i % 1000 + 1] = {i, tostring(i)} end'
    chunk 2 'local s = string.rep("abc,def;", 20000) local n = 0 for i = 1, 200 do n = n + select(2, s:gsub("%w+", "")) end'
    chunk 3 'local nets = {} for i = 1, 200 do nets[i % 8 + 1] = lab.net{sizes = {192, 256, 256, 10}, seed = i} end'
} > "$dir/j.lua"
best() { # best MODE...: the least wall time of RUNS replays
    local b=""
    for _ in $(seq 1 "$runs"); do
        local t0 t1
        t0=$(date +%s.%N)
        (cd "$dir" && "$bin" --replay j.lua "$@" >/dev/null 2>&1)
        t1=$(date +%s.%N)
        b=$(echo "$t0 $t1 $b" | awk '{t = $2 - $1; if ($3 == "" || t < $3) print t; else print $3}')
    done
    echo "$b"
}
trusted=$(best --trust)
sandboxed=$(best)
echo "trusted   $trusted s"
echo "sandboxed $sandboxed s"
echo "$sandboxed $trusted" | awk '{printf "sandboxed / trusted: %.2f\n", $1 / $2}'
