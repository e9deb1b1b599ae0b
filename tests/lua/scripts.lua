-- The bundled scripts run end to end (short settings) and write the JSON they promise.
local cjson = require "cjson"
local function check(cond, what) if not cond then error("check failed: " .. what, 2) end end
local function read_json(path)
  local f = assert(io.open(path))
  local t = cjson.decode(f:read("a"))
  f:close()
  os.remove(path)
  return t
end

local out = os.tmpname()
local split = assert(loadfile("assets/scripts/split.lua"))
split({dataset = "mnist", epochs = 1, seeds = 2, hidden = 64, out = out})
local r = read_json(out)
check(r.dataset == "mnist" and #r.runs == 2 and r.seeds[2] == 2, "split: seeds recorded")
check(r.average > 0.8 and r.average <= 1, "split: average is a fraction well above chance")
check(#r.matrix == 5 and #r.matrix[5] == 5 and #r.matrix[1] == 1, "split: triangular matrix")
check(#r.switch_rate == 5, "split: one switch rate per task")
check(#r.confusion == 10 and #r.confusion[1] == 10, "split: 10x10 confusion")
local n = 0
for i = 1, 10 do for j = 1, 10 do n = n + r.confusion[i][j] end end
check(n == 10000, "split: confusion over all test images of the five tasks")

split({dataset = "fmnist", scenario = "domain", epochs = 1, hidden = 32, out = out})
r = read_json(out)
check(r.scenario == "domain" and r.bn == "shared" and r.sizes[4] == 2, "split: domain-IL head")
split({dataset = "fmnist", scenario = "class", epochs = 1, hidden = 32, rule = "none", out = out})
r = read_json(out)
check(r.scenario == "class" and r.average < 0.5, "split: class-IL without replay forgets")
local ok, err = pcall(split, {arch = "cnn"})
check(not ok and err:find("arch must be paper or 784"), "split: bad arch is a clear error")

local sweep = assert(loadfile("assets/scripts/msweep.lua"))
sweep({m = "0,0.05", epochs = 1, out = out})
r = read_json(out)
check(#r.rows == 2 and r.rows[1].m == 0 and r.rows[2].switch_rate < r.rows[1].switch_rate,
      "msweep: larger m switches fewer weights")
ok, err = pcall(sweep, {m = "0,x"})
check(not ok and err:find("comma%-separated"), "msweep: bad m list is a clear error")
-- The calibration in its quick mode: it fits, and the column resistance it fits acts as
-- it should (more resistance, less accuracy at p = 16 before fine-tuning; fine-tuning wins
-- accuracy back on the most resistive chip).
local calibrate = assert(loadfile("assets/scripts/calibrate.lua"))
calibrate({quick = 1, out = out})
r = read_json(out)
check(#r.evaluations == 2 and r.evaluations[1].col_wire_ohm == 0.5
      and r.evaluations[2].col_wire_ohm == 40, "calibrate: the quick grid evaluated")
local e1, e2 = r.evaluations[1], r.evaluations[2]
check(e2.before.fmnist < e1.before.fmnist - 0.1, "calibrate: more wire, less accuracy")
check(e2.after.fmnist > e2.before.fmnist + 0.05, "calibrate: fine-tuning wins accuracy back")
check(type(r.fit) == "number" and type(r.preset) == "number", "calibrate: a fit and the preset")
ok, err = pcall(calibrate, {quick = 1, datasets = "cifar"})
check(not ok and err:find("datasets are fmnist and mnist"), "calibrate: bad data set named")
ok, err = pcall(calibrate, {quick = 1, grid = "1,x"})
check(not ok and err:find("grid must be a comma%-separated list"), "calibrate: bad grid named")
print("scripts ok")
