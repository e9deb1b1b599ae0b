-- msweep.lua: the paper's Fig. 2b. Two tasks of 5-split-FashionMNIST ((0,1) then (2,3));
-- for each memory coefficient m: the binary-weight switch rate while the second task is
-- learnt (net: sign at the end differs from the start; any: changed at least once), and
-- the two-task average accuracy (task-IL).
--   build/mpcl assets/scripts/msweep.lua [m=0,0.001,0.002,...] [rule=mpcl] [seeds=1]
--       [epochs=20] [threshold=0.2] [dataset=fmnist] [out=FILE.json] [sweep=DIR]
--       [workers=N] [threads=T] [force=1]
-- Each (m, seed) run is one point of a lab.sweep into sweep=DIR (default: FILE.sweep/ beside
-- out=FILE.json; without either, a temporary directory removed at the end): `mpirun -np N
-- build/mpcl assets/scripts/msweep.lua ...` spreads them, the same command again resumes,
-- workers=/threads=/force= go to lab.sweep.
local a = ... or {}
local function pick(k, default) if a[k] == nil then return default end return a[k] end
local function die(msg) error("msweep.lua: " .. msg, 0) end

local ms = {}
for v in tostring(pick("m", "0,0.0005,0.001,0.002,0.005,0.01,0.02,0.05,0.1")):gmatch("[^,]+") do
  local x = tonumber(v)
  if not x or x < 0 then die("m must be a comma-separated list of numbers >= 0") end
  ms[#ms + 1] = x
end
local rule = pick("rule", "mpcl")
local seeds = math.tointeger(pick("seeds", 1))
local seed0 = math.tointeger(pick("seed", 1))
local epochs = math.tointeger(pick("epochs", 20))
local threshold = pick("threshold", 0.2)
local ds = lab.dataset(pick("dataset", "fmnist"), {input = "paper192", threshold = threshold})
local function count(k)
  if a[k] == nil then return nil end
  local v = math.tointeger(tonumber(a[k]))
  if not v or v < 1 then die(k .. " must be a positive integer") end
  return v
end
local dir, tmp = a.sweep and tostring(a.sweep), nil
if not dir and a.out then dir = tostring(a.out):gsub("%.json$", "") .. ".sweep" end
if not dir then -- a name of our own (tmpname made it a file); lab.sweep makes the directory
  tmp = os.tmpname()
  os.remove(tmp)
  dir = tmp .. ".sweep"
end

-- Under mpirun every rank runs this script up to lab.sweep (where the ranks other than 0 run
-- points and end): only rank 0 says what it does.
if lab.rank() == 0 then
  print(string.format("m sweep, rule %s, two tasks of %s, %d epochs each, %d seed(s)",
                      rule, ds.name, epochs, seeds))
end
-- One point per (m, seed), m varying slowest: the order of the sums below.
local seedlist = {}
for s = seed0, seed0 + seeds - 1 do seedlist[#seedlist + 1] = s end
local base_seed = lab.seed()
local res = lab.sweep{
  -- Every setting is in the points, so that other settings are another sweep, not old
  -- results read back.
  grid = {m = ms, seed = seedlist, rule = {rule}, epochs = {epochs}, threshold = {threshold},
          dataset = {ds.name}},
  out = dir, force = tonumber(pick("force", 0)) ~= 0,
  workers = count("workers"), threads = count("threads"),
  -- The run's seeds are the point's (lab.sweep's per-point seed is not used); objects given
  -- no seed get this run's default.
  run = function(pt)
    lab.seed(base_seed)
    local s = pt.seed
    local seq = lab.tasks(ds, {groups = {{0, 1}, {2, 3}}, seed = s})
    local net = lab.net{sizes = {ds.dim, 256, 256, 10}, binary = ds.binary, seed = s}
    local tr = lab.trainer(net, seq, {rule = pt.rule, m = pt.m, epochs = pt.epochs,
                                      patience = 0, seed = s})
    tr:learn(1)
    local r = tr:learn(2)
    local ev = lab.evaluate(net, seq, {upto = 2})
    return {switch_rate = r.switch_rate, switch_any = r.switch_any, task1 = ev.acc[1],
            task2 = ev.acc[2], average = ev.average}
  end,
}
for _, rec in ipairs(res) do
  if rec.result == nil then
    die(string.format("the run at m = %g, seed %d failed (the same command runs it again): %s",
                      rec.point.m, rec.point.seed, tostring(rec.error)))
  end
end

if tmp then os.execute("rm -rf '" .. dir:gsub("'", "'\\''") .. "'") end

print("        m | switched (net) | flipped (any) | task 1 | task 2 | two-task average")
local rows = {}
for i, m in ipairs(ms) do
  local sw, any, t1, t2, avg = 0, 0, 0, 0, 0
  for k = 1, seeds do
    local r = res[(i - 1) * seeds + k].result
    sw, any = sw + r.switch_rate, any + r.switch_any
    t1, t2, avg = t1 + r.task1, t2 + r.task2, avg + r.average
  end
  local row = {m = m, switch_rate = sw / seeds, switch_any = any / seeds, task1 = t1 / seeds,
               task2 = t2 / seeds, average = avg / seeds}
  rows[#rows + 1] = row
  print(string.format("%9g | %13.2f%% | %12.2f%% | %5.1f%% | %5.1f%% | %6.2f%%", m,
                      100 * row.switch_rate, 100 * row.switch_any, 100 * row.task1,
                      100 * row.task2, 100 * row.average))
end
local best = rows[1]
for _, r in ipairs(rows) do if r.average > best.average then best = r end end
print(string.format("best two-task average %.2f%% at m = %g (switch rate %.2f%%)",
                    100 * best.average, best.m, 100 * best.switch_rate))
if a.out then
  lab.write_json(a.out, {rule = rule, epochs = epochs, seeds = seeds, rows = rows, best_m = best.m})
  print("wrote " .. a.out)
end
return rows
