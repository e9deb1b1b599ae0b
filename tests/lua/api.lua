-- Headless test of the lab module: every entry, its errors, and a short real training.
local cjson = require "cjson"
local checks = 0
local function check(cond, what)
  checks = checks + 1
  if not cond then error("check failed: " .. what, 2) end
end
local function fails_with(pattern, f, ...)
  local ok, err = pcall(f, ...)
  check(not ok, "expected an error matching " .. pattern)
  check(tostring(err):find(pattern, 1, true), "error '" .. tostring(err) .. "' lacks '" .. pattern .. "'")
end

-- Data sets and their errors.
fails_with("lab.dataset: unknown data set 'cifar'", lab.dataset, "cifar")
fails_with("input must be float784, binary784 or paper192", lab.dataset, "fmnist", {input = "jpeg"})
fails_with("unknown option 'treshold'", lab.dataset, "fmnist", {treshold = 0.3})
fails_with("threshold", lab.dataset, "fmnist", {threshold = 1.5})
local ds = lab.dataset("fmnist", {input = "paper192", threshold = 0.3})
check(ds.dim == 192 and ds.binary and ds.ntrain == 60000 and ds.ntest == 10000, "fmnist paper192 shape")
check(tostring(ds):find("paper192"), "dataset tostring")

-- Task sequences.
local seq = lab.tasks(ds, {seed = 3})
check(#seq == 5, "five tasks by default")
for i = 1, 5 do
  local t = seq:task(i)
  check(t.ntrain + t.nval == 12000 and t.ntest == 2000, "fmnist task " .. i .. " counts")
  check(t.classes[1] == 2 * (i - 1) and t.classes[2] == 2 * i - 1, "default class pairs")
end
fails_with("task 6 out of range 1-5", seq.task, seq, 6)
local custom = lab.tasks(ds, {groups = {{9, 1, 4}, {0}}, val = 0})
check(#custom == 2 and custom:task(1).ntrain == 18000 and custom:task(2).nval == 0, "custom groups")
fails_with("classes are 0-9", lab.tasks, ds, {groups = {{0, 12}}})

-- Nets.
fails_with("lab.net: layer sizes must be positive, got -3", lab.net, {sizes = {192, -3, 10}})
fails_with("sizes must be a list", lab.net, {})
local net = lab.net{sizes = {192, 64, 64, 10}, binary = true, seed = 5}
check(tostring(net):find("192%-64%-64%-10"), "net tostring")
check(#net:sizes() == 4, "net sizes")
local h = net:hidden(1)
check(h.min < 0 and h.max > 0 and h.mean_abs > 0, "hidden weight stats")

-- Trainers and their errors.
fails_with("rule must be none, mpcl or laborieux", lab.trainer, net, seq, {rule = "ewc"})
fails_with("need the task identity", lab.trainer, net, seq, {scenario = "class", bn = "task"})
fails_with("domain scenario needs 2 outputs", lab.trainer, net, seq, {scenario = "domain"})
fails_with("m per layer needs 3 values", lab.trainer, net, seq, {m = {0.1, 0.2}})
local tr = lab.trainer(net, seq, {rule = "mpcl", m = 0.005, epochs = 2, patience = 0})
local epochs_seen = 0
local r = tr:learn(1, function(p)
  epochs_seen = epochs_seen + 1
  check(p.task == 1 and p.epoch == epochs_seen and p.loss > 0, "progress fields")
end)
check(epochs_seen == 2 and r.epochs == 2 and not r.cancelled, "two epochs reported")
check(r.switch_rate > 0 and r.switch_rate < 1 and #r.switch_layer == 3, "switch rates")
local ev = lab.evaluate(net, seq, {upto = 1, confusion = true})
check(ev.acc[1] > 0.9, "task 1 learnt well above chance (" .. ev.acc[1] .. ")")
check(ev.counts[1] == 2000 and math.abs(ev.average - ev.acc[1]) < 1e-12, "average of one task")
local total = 0
for i = 1, 10 do for j = 1, 10 do total = total + ev.confusion[i][j] end end
check(total == 2000, "confusion counts every test image once")
local r2 = tr:learn(2, function(p) return "stop" end)
check(r2.cancelled and r2.epochs == 1, "returning 'stop' cancels after the epoch")
fails_with("upto must be 1-5", lab.evaluate, net, seq, {upto = 9})
fails_with("bn=task needs the task identity", lab.evaluate, net, seq, {scenario = "class", bn = "task"})

-- Copies are independent; same seeds give the same results.
local copy = net:copy()
check(lab.evaluate(copy, seq, {upto = 2}).average == lab.evaluate(net, seq, {upto = 2}).average, "copy evaluates the same")
local function fresh_run()
  local n = lab.net{sizes = {192, 32, 32, 10}, binary = true, seed = 9}
  local t = lab.trainer(n, seq, {epochs = 1, patience = 0, seed = 4})
  t:learn(1)
  return lab.evaluate(n, seq, {upto = 1, split = "val"}).acc[1]
end
check(fresh_run() == fresh_run(), "determinism through Lua")

-- JSON.
local tmp = os.tmpname()
lab.write_json(tmp, {average = 0.5, matrix = {{1, 0.5}}})
local f = assert(io.open(tmp))
local back = cjson.decode(f:read("a"))
f:close()
os.remove(tmp)
check(back.average == 0.5 and back.matrix[1][2] == 0.5, "json round trip")
check(lab.json({1, 2}) == "[1,2]", "lab.json")
fails_with("lab.write_json", lab.write_json, "/nonexistent-dir/x.json", {})
check(lab.threads() >= 1 and lab.blas():find("fixed order"), "threads and kernels")
local pf = lab.platform()
check(pf.isa:match("^avx512$") or pf.isa == "avx2" or pf.isa == "generic", "platform: path " .. pf.isa)
check(#pf.cpu > 0 and pf.libraries:find("glibc") and pf.libraries:find("Lua 5.4"), "platform: cpu, libraries")
check(pf.kernels == lab.blas() and pf.summary:find(pf.isa, 1, true), "platform: kernels, summary")
print(checks .. " checks passed")

-- help(): every lab function and method has a doc string.
local said
local real_print = print
print = function(s) said = s end
local function documented(f, what)
  said = nil
  help(f)
  check(said and not said:find("no help"), what .. " has help")
end
for name, f in pairs(lab) do
  if type(f) == "function" then documented(f, "lab." .. name) end
end
for _, obj in ipairs{ds, seq, net, tr} do
  documented(obj, tostring(obj))
  local methods = debug.getmetatable(obj).__index
  if type(methods) == "table" then
    for mname, m in pairs(methods) do
      if type(m) == "function" then documented(m, mname) end
    end
  end
end
help("nosuch")
check(said:find("nothing is called 'nosuch'"), "help on an unknown name")
print = real_print
print("help ok")
