#!/usr/bin/env bash
# The engine's speed against another revision's, on this machine: builds REV's benchmark
# programs in a temporary worktree and runs them and this tree's alternately, ROUNDS times
# (5), so that both sides see the same spells of a busy or quiet machine. Compared: the
# engine's throughput (build/mpcl-bench at 1 and 2 threads: train_float784, infer_float784,
# infer_binary784, images/s), stepping an experiment from Lua against from C in the same
# process (mpcl-bench-lua), the console's frame (mpcl-bench-frame, ms) and chip inference
# against plain (mpcl-bench-chip). Absolute seconds of a half-second run move by 25% from
# run to run on a shared machine; the ratios and the interleaving are what make it fair. Per metric: each side's median and new / old of the medians, with
# "higher is better" or "lower is better". No PyTorch: make bench holds the engine to its
# peer; this holds it to itself.
#   tests/perf/bench_compare.sh REV [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rev=${1:?usage: tests/perf/bench_compare.sh REV [ROUNDS]}
rounds=${2:-5}
git rev-parse --verify -q "$rev^{commit}" >/dev/null || { echo "bench_compare: $rev is not a revision of this repository" >&2; exit 2; }
progs="build/mpcl-bench build/mpcl-bench-lua build/mpcl-bench-frame build/mpcl-bench-chip"
make -s $progs
tree=$(mktemp -d /tmp/mpcl-bench-compare.XXXXXX)
git worktree add -f --detach "$tree" "$rev" >/dev/null 2>&1 || { echo "bench_compare: cannot check out $rev" >&2; exit 2; }
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
echo "bench_compare: building $rev ($(git rev-parse --short "$rev")) in $tree"
make -s -C "$tree" -j"$(nproc)" $progs >/dev/null
log=$(mktemp /tmp/mpcl-bench-compare.XXXXXX.log)
# one round of one side: "side metric value" lines
run_side() {
    local side=$1 dir=$2 t out
    for t in 1 2; do
        out=$("$dir/build/mpcl-bench" --threads "$t")
        awk -v s="$side" -v t="$t" -F': ' '/^(train|infer)_[a-z0-9]+: /{print s, $1 "@" t "-threads", $2, "higher"}' <<< "$out"
    done
    "$dir/build/mpcl-bench-lua" | awk -v s="$side" '/^stepping 5 tasks: C/ {
        c = $5; l = $8; print s, "step-from-Lua/step-from-C", l / c, "lower" }'
    "$dir/build/mpcl-bench-frame" | sed -n 's/^full-layout frame.*: mean \([0-9.]*\) ms.*/'"$side"' console-frame-ms \1 lower/p'
    "$dir/build/mpcl-bench-chip" | awk -v s="$side" '/^chip simulation \/ plain inference/ {
        k = /ideal/ ? "chip-over-plain-ideal" : "chip-over-plain-board"
        x = $0; sub(/x \(target.*/, "", x); sub(/.*: /, "", x); print s, k, x, "lower" }'
}
for r in $(seq 1 "$rounds"); do
    echo "bench_compare: round $r of $rounds"
    run_side old "$tree" >> "$log"
    run_side new . >> "$log"
done
echo "bench_compare: $rev (old) against the work tree (new), medians of $rounds interleaved rounds"
lua5.4 - "$log" <<'LUA'
local v, order, better = {}, {}, {}
for line in io.lines(arg[1]) do
  local side, k, x, b = line:match("^(%S+) (%S+) (%S+) (%S+)$")
  if side then
    if not v[k] then v[k] = {old = {}, new = {}}; order[#order + 1] = k end
    table.insert(v[k][side], tonumber(x)); better[k] = b
  end
end
local function median(t) table.sort(t); local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2 end
local worst = 0
print(string.format("%-34s %14s %14s %9s", "metric", "old", "new", "new/old"))
for _, k in ipairs(order) do
  local o, n = median(v[k].old), median(v[k].new)
  local r = n / o
  local loss = better[k] == "higher" and (1 - r) or (r - 1)
  if loss > worst then worst = loss end
  print(string.format("%-34s %14.4g %14.4g %8.3fx  (%s is better)", k, o, n, r, better[k]))
end
print(string.format("bench_compare: worst change for the new side: %+.1f%%", -100 * worst))
LUA
