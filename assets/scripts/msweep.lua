-- msweep.lua: the paper's Fig. 2b. Two tasks of 5-split-FashionMNIST ((0,1) then (2,3));
-- for each memory coefficient m: the binary-weight switch rate while the second task is
-- learnt (net: sign at the end differs from the start; any: changed at least once), and
-- the two-task average accuracy (task-IL).
--   build/mpcl assets/scripts/msweep.lua [m=0,0.001,0.002,...] [rule=mpcl] [seeds=1]
--       [epochs=20] [threshold=0.2] [dataset=fmnist] [out=FILE.json]
local a = ... or {}
local function pick(k, default) if a[k] == nil then return default end return a[k] end

local ms = {}
for v in tostring(pick("m", "0,0.0005,0.001,0.002,0.005,0.01,0.02,0.05,0.1")):gmatch("[^,]+") do
  local x = tonumber(v)
  if not x or x < 0 then error("msweep.lua: m must be a comma-separated list of numbers >= 0", 0) end
  ms[#ms + 1] = x
end
local rule = pick("rule", "mpcl")
local seeds = math.tointeger(pick("seeds", 1))
local seed0 = math.tointeger(pick("seed", 1))
local epochs = math.tointeger(pick("epochs", 20))
local threshold = pick("threshold", 0.2)
local ds = lab.dataset(pick("dataset", "fmnist"), {input = "paper192", threshold = threshold})

print(string.format("m sweep, rule %s, two tasks of %s, %d epochs each, %d seed(s)",
                    rule, ds.name, epochs, seeds))
print("        m | switched (net) | flipped (any) | task 1 | task 2 | two-task average")
local rows = {}
for _, m in ipairs(ms) do
  local sw, any, t1, t2, avg = 0, 0, 0, 0, 0
  for s = seed0, seed0 + seeds - 1 do
    local seq = lab.tasks(ds, {groups = {{0, 1}, {2, 3}}, seed = s})
    local net = lab.net{sizes = {ds.dim, 256, 256, 10}, binary = ds.binary, seed = s}
    local tr = lab.trainer(net, seq, {rule = rule, m = m, epochs = epochs, patience = 0, seed = s})
    tr:learn(1)
    local r = tr:learn(2)
    local ev = lab.evaluate(net, seq, {upto = 2})
    sw, any = sw + r.switch_rate, any + r.switch_any
    t1, t2, avg = t1 + ev.acc[1], t2 + ev.acc[2], avg + ev.average
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
