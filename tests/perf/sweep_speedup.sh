#!/usr/bin/env bash
# Benchmark (not a pass/fail test): the speed-up of lab.sweep's local workers on a real
# sweep. An m sweep like assets/scripts/msweep.lua (two tasks of 5-split Fashion-MNIST,
# (0,1) then (2,3), for 8 values of m, EPOCHS epochs a task: default 40, about 2.7 s a
# point on one core of an AVX-512 EPYC) run twice in this script: in one process with one
# thread (workers = 1, MPCL_THREADS=1), then on two worker processes of one thread each
# (workers = 2, threads = 1). Times are the lab.sweep call's (the data set loaded before).
# Prints both, the ratio (target >= 1.8x on 2 cores), whether the two gave the same results
# (they must: results do not depend on who runs a point), the concurrency the 2-worker
# sweep reached (its points' seconds summed over its wall time: 2 when both workers were
# busy throughout), and what the machine allows: one point's training without a sweep
# alone, then two such processes at once; 2 x alone / together is the most two workers can
# gain here (two vCPUs sharing one core's vector units give about 1). OPENBLAS_CORETYPE is
# left as the environment has it and reported, with the BLAS the binary links (none: the
# engine's kernels are its own) and the lab's kernels.
#   tests/perf/sweep_speedup.sh               MPCL_BIN=build/mpcl, EPOCHS=40
set -eu
cd "$(dirname "$0")/../.."
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
epochs=${EPOCHS:-40}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/msweep.lua" <<'LUA'
local a = ... or {}
local ds = lab.dataset("fmnist", {input = "paper192", threshold = 0.2})
local epochs = math.tointeger(a.epochs)
local t0 = lab.clock()
local res = lab.sweep{
  grid = {m = {0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05}},
  out = a.out, workers = a.workers, threads = a.workers > 1 and 1 or nil, quiet = true,
  run = function(p)
    local seq = lab.tasks(ds, {groups = {{0, 1}, {2, 3}}, seed = 1})
    local net = lab.net{sizes = {ds.dim, 256, 256, 10}, binary = ds.binary, seed = 1}
    local tr = lab.trainer(net, seq, {rule = "mpcl", m = p.m, epochs = epochs, patience = 0, seed = 1})
    tr:learn(1)
    local r = tr:learn(2)
    local ev = lab.evaluate(net, seq, {upto = 2})
    return {average = ev.average, task1 = ev.acc[1], task2 = ev.acc[2], switch_rate = r.switch_rate}
  end,
}
local t = lab.clock() - t0
local failed, sum, busy = 0, {}, 0
for _, r in ipairs(res) do
  busy = busy + (r.seconds or 0)
  if r.error then failed = failed + 1 print("error " .. r.id .. " " .. r.error)
  else sum[#sum + 1] = string.format("%.17g", r.result.average) end
end
print(string.format("busy %.3f", busy))
print(string.format("seconds %.3f points %d failed %d", t, #res, failed))
print("averages " .. table.concat(sum, " "))
print("threads " .. lab.threads() .. " kernels " .. lab.blas())
LUA
# One point's training without lab.sweep: the machine's own scaling.
cat > "$dir/point.lua" <<'LUA'
local a = ... or {}
local ds = lab.dataset("fmnist", {input = "paper192", threshold = 0.2})
local t0 = lab.clock()
local seq = lab.tasks(ds, {groups = {{0, 1}, {2, 3}}, seed = 1})
local net = lab.net{sizes = {ds.dim, 256, 256, 10}, binary = ds.binary, seed = 1}
local tr = lab.trainer(net, seq, {rule = "mpcl", m = 0.005, epochs = math.tointeger(a.epochs), patience = 0, seed = 1})
tr:learn(1)
tr:learn(2)
print(string.format("%.3f", lab.clock() - t0))
LUA
run() { # run LABEL WORKERS: one thread a process; the output in $dir/LABEL.out, the sweep in $dir/LABEL
    local label=$1 workers=$2
    (cd "$dir" && MPCL_THREADS=1 "$bin" msweep.lua epochs="$epochs" out="$label" workers="$workers" \
        > "$label.out" 2> "$label.err") ||
        { echo "$label: failed: $(head -c 400 "$dir/$label.err")" >&2; exit 1; }
    grep -q ' failed 0$' "$dir/$label.out" || { echo "$label: points failed:"; grep '^error' "$dir/$label.out"; exit 1; }
}
secs() { awk '$1 == "seconds" { print $2 }' "$dir/$1.out"; }
echo "8-point m sweep (msweep.lua-like), $epochs epoch(s) a task, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (environment, not changed); BLAS linked by $(basename "$bin"): $(ldd "$bin" | grep -io '[a-z]*blas[^ ]*' | sort -u | tr '\n' ' ' | grep . || echo none)"
run one 1
echo "lab kernels: $(awk '$1 == "threads" { $1 = ""; $2 = ""; $3 = ""; print }' "$dir/one.out" | sed 's/^ *//')"
run two 2
one=$(secs one) two=$(secs two)
awk -v a="$one" 'BEGIN { printf "1 process x 1 thread (workers=1):   %7.2f s\n", a }'
awk -v b="$two" 'BEGIN { printf "2 workers x 1 thread (workers=2):   %7.2f s\n", b }'
awk -v a="$one" -v b="$two" 'BEGIN { r = a / b; printf "speed-up: %.2fx (target >= 1.8x: %s)\n", r, ((r >= 1.8) ? "met" : "NOT met") }'
awk -v b="$two" -v s="$(awk '$1 == "busy" { print $2 }' "$dir/two.out")" \
    'BEGIN { printf "2-worker concurrency (points'"'"' seconds / wall): %.2f\n", s / b }'
alone=$(cd "$dir" && MPCL_THREADS=1 "$bin" point.lua epochs="$epochs")
(cd "$dir" && MPCL_THREADS=1 "$bin" point.lua epochs="$epochs" > p1.out) &
p=$!
together2=$(cd "$dir" && MPCL_THREADS=1 "$bin" point.lua epochs="$epochs")
wait "$p"
together1=$(cat "$dir/p1.out")
awk -v a="$alone" -v x="$together1" -v y="$together2" 'BEGIN { t = (x > y) ? x : y
    printf "machine: one point alone %.2f s, two processes at once %.2f s and %.2f s: at most %.2fx from 2 workers here\n", a, x, y, 2 * a / t }'
if [ "$(grep '^averages' "$dir/one.out")" = "$(grep '^averages' "$dir/two.out")" ]; then
    echo "results: the same two-task averages, bit for bit"
else
    echo "results: DIFFERENT averages"; grep '^averages' "$dir/one.out" "$dir/two.out"
fi
