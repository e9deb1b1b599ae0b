#!/usr/bin/env bash
# Runs libFuzzer targets, one after another, each on a copy of its committed seed corpus:
#   tests/fuzz/fuzz.sh NAME...
# FUZZ_TIME seconds each (120). build/fuzz-NAME runs in $FUZZ_WORK/NAME/ (build/fuzz-work;
# make test uses build/fuzz-test, so that it never clears what a make fuzz found): corpus/
# there grows; crash-*, leak-*, timeout-*, oom-* are what it found; log is libFuzzer's
# output. tests/fuzz/corpus/NAME is only read. Prints per target the executions
# (stat::number_of_executed_units), the corpus size and whether a crash was found, with the
# reproducer's path. Exit status 1 when a target found one (or could not run).
set -u
cd "$(dirname "$0")/../.."
time=${FUZZ_TIME:-120}
root=${FUZZ_WORK:-build/fuzz-work}
status=0
for name in "$@"; do
    bin=build/fuzz-$name
    work=$root/$name
    rm -rf "$work"
    mkdir -p "$work/corpus"
    if [ ! -x "$bin" ] || [ ! -d "tests/fuzz/corpus/$name" ]; then
        echo "fuzz $name: no $bin or no tests/fuzz/corpus/$name (make $bin)"
        status=1
        continue
    fi
    cp tests/fuzz/corpus/"$name"/* "$work/corpus/"
    seeds=$(ls "$work/corpus" | wc -l)
    # -timeout: one input longer than this is a finding (a hang), not a slow run.
    "$bin" -max_total_time="$time" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
        -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n1)
    found=$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -n1)
    if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
        status=1
        printf 'fuzz %-8s %10s executions in %s s: CRASH %s (log %s)\n' "$name" "${execs:-?}" \
            "$time" "${found:-(none written)}" "$work/log"
        grep -m1 -E 'ERROR|runtime error|SUMMARY' "$work/log"
    else
        printf 'fuzz %-8s %10s executions in %s s: no crash (corpus %d -> %d inputs)\n' "$name" \
            "${execs:-?}" "$time" "$seeds" "$(ls "$work/corpus" | wc -l)"
    fi
done
exit $status
