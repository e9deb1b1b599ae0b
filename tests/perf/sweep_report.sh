#!/usr/bin/env bash
# Benchmark (not a pass/fail test): paper.lua's report through lab.sweep, however it runs.
# The quick report (or the full one with FULL=1) four times in this script:
#   one   one process, one thread (workers=1, MPCL_THREADS=1): the reference
#   mpi   mpirun --oversubscribe -np 3 (rank 0 the master, 2 ranks of 1 thread)
#   local two worker processes of one thread (the default on two cores)
#   again the mpi command once more: a resume, nothing rerun
# and compares each report with the reference: every CSV byte for byte (methods.csv without
# its seconds column), every gnuplot script, report.md apart from its run-time lines, the
# same files. Prints each run's wall time and IDENTICAL or the differences.
#   tests/perf/sweep_report.sh            MPCL_BIN=build/mpcl; FULL=1 for the full report
set -u
cd "$(dirname "$0")/../.."
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
quick=$([ "${FULL:-0}" = 1 ] && echo "" || echo "quick=1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
root=$([ "$(id -u)" = 0 ] && echo --allow-run-as-root)

same() { # REF NEW: 0 when the reports agree
    local ref=$1 new=$2 bad=0 f n
    for f in "$ref"/*.csv; do
        n=$(basename "$f")
        if [ "$n" = methods.csv ]; then
            cmp -s <(cut -d, -f1-6,8- "$f") <(cut -d, -f1-6,8- "$new/$n") || { echo "  differs: $n"; bad=1; }
        else
            cmp -s "$f" "$new/$n" || { echo "  differs: $n"; bad=1; }
        fi
    done
    for f in "$ref"/gp/*.gp; do
        cmp -s "$f" "$new/gp/$(basename "$f")" || { echo "  differs: gp/$(basename "$f")"; bad=1; }
    done
    local times=' s on \| s\.$\|Run time'
    diff <(grep -v "$times" "$ref/report.md") <(grep -v "$times" "$new/report.md") >/dev/null ||
        { echo "  differs: report.md"; bad=1; }
    diff <(cd "$ref" && ls | grep -v '^sweep$') <(cd "$new" && ls | grep -v '^sweep$') >/dev/null ||
        { echo "  differs: the file list"; bad=1; }
    return $bad
}

run() { # NAME COMMAND...: time it
    local name=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    "$@" > "$dir/$name.log" 2>&1 || { echo "$name: failed:"; tail -3 "$dir/$name.log"; }
    t1=$(date +%s.%N)
    awk -v n="$name" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-6s %7.1f s", n, b - a }'
}

echo "paper.lua ${quick:-(full)} through lab.sweep; $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
run one env MPCL_THREADS=1 "$bin" assets/scripts/paper.lua out="$dir/one" $quick workers=1
echo "  (the reference)"
mpi=(mpirun $root --oversubscribe --mca btl self,vader -np 3 env MPCL_THREADS=1 "$bin"
     assets/scripts/paper.lua out="$dir/mpi" $quick)
run mpi "${mpi[@]}"
same "$dir/one" "$dir/mpi" && echo "  IDENTICAL"
run local "$bin" assets/scripts/paper.lua out="$dir/local" $quick
same "$dir/one" "$dir/local" && echo "  IDENTICAL"
before=$(stat -c %Y "$dir/mpi/sweep/runs/"*.json | md5sum)
run again "${mpi[@]}"
after=$(stat -c %Y "$dir/mpi/sweep/runs/"*.json | md5sum)
same "$dir/one" "$dir/mpi" && echo -n "  IDENTICAL"
[ "$before" = "$after" ] && echo ", no run file rewritten" || echo ", run files rewritten"
tools/sweep-project "$dir/mpi/sweep" 3 8 32 128
