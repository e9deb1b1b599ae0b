#!/usr/bin/env bash
# A recorded 5-split-FashionMNIST session (the paper's settings, 20 epochs a task) replays
# with --verify and no divergence: record assets/sessions/fmnist-5split.chunks through the
# REPL's evaluator into a journal, replay it sandboxed, compare every result.
set -eu
cd "$(dirname "$0")/../.."
BIN=${MPCL_BIN:-build/mpcl}
out=${1:-$(mktemp -d)/fmnist-5split.lua}
rm -f "$out"
t0=$(date +%s.%N)
"$BIN" --record "$out" - < assets/sessions/fmnist-5split.chunks
t1=$(date +%s.%N)
echo "recorded $(grep -c '^-- \[chunk' "$out") chunks, $(grep -c '^--|' "$out") results in $out"
"$BIN" --replay "$out" --verify > /dev/null
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "record %.1f s, replay --verify %.1f s\n", b - a, c - b }'
