-- lab.baseline: the float continual-learning baselines from Lua: stepping, results, a
-- cancelled step leaving the model as it was, evaluation, noise sweep, energy, errors.
local function check(cond, what) if not cond then error("check failed: " .. what, 2) end end
local function fails_with(pattern, f, ...)
  local ok, err = pcall(f, ...)
  check(not ok and tostring(err):find(pattern, 1, true), "expected an error with " .. pattern ..
        ", got " .. tostring(err))
end

fails_with("unknown option 'lamda'", lab.baseline, {lamda = 3})
fails_with("method must be none, joint, ewc, si, gem or agem, got 'mpcl'", lab.baseline,
           {method = "mpcl"})
fails_with("scenario must be task, domain or class", lab.baseline, {scenario = "both"})
fails_with("mask=task needs the task identity", lab.baseline, {scenario = "class", mask = "task"})
fails_with("must be positive", lab.baseline, {epochs = 0})
fails_with("optimizer must be adam or sgd", lab.baseline, {optimizer = "rmsprop"})

local ds = lab.dataset("mnist", {threshold = 0.2})
local seq = lab.tasks(ds, {groups = {{0, 1}, {2, 3}, {4, 5}}, seed = 2})
local function make(method, extra)
  local o = {seq = seq, method = method, hidden = 32, epochs = 1, seed = 2, mem = 64, ref = 64}
  for k, v in pairs(extra or {}) do o[k] = v end
  return lab.baseline(o)
end

-- Every method learns a first task, in the three scenarios.
for _, m in ipairs({"none", "joint", "ewc", "si", "gem", "agem"}) do
  for _, sc in ipairs({"task", "domain", "class"}) do
    local b = make(m, {scenario = sc})
    check(b.method == m and b.scenario == sc and #b == 3 and b.learnt == 0, "a fresh " .. m)
    local r = b:step()
    check(r.task == 1 and r.epochs == 1 and #r.acc == 1, m .. " " .. sc .. ": first step")
    check(r.acc[1] > 0.9, string.format("%s %s learns task 1: %.3f", m, sc, r.acc[1]))
    check(b:sizes()[4] == (sc == "domain" and 2 or 10), "output size of the scenario")
  end
end

-- Stepping, the matrix, the history; the same seed gives the same numbers.
local ewc = make("ewc")
local epochs = 0
local r1 = ewc:step(function(p)
  epochs = epochs + 1
  check(p.task == 1 and p.epoch == 1 and p.loss > 0, "progress fields")
end)
check(epochs == 1, "one progress call per epoch")
local last = ewc:run()
check(ewc.learnt == 3 and last.task == 3 and #ewc.matrix == 3 and #ewc.matrix[3] == 3, "run")
check(ewc.history[1].average == r1.average and ewc.average == last.average, "history")
check(ewc:step() == nil, "nothing left to learn")
local twin = make("ewc")
twin:run()
for i = 1, 3 do
  for j = 1, i do check(twin.matrix[i][j] == ewc.matrix[i][j], "same seed, same matrix") end
end
check(tostring(ewc):find("baseline ewc: 3 of 3 tasks learnt, task%-IL, 192%-32%-32%-10"), "tostring")

-- A step stopped from its progress callback leaves the model as it was: the next step
-- gives exactly what an uninterrupted one gives.
local si = make("si", {epochs = 2})
si:step()
local stopped = si:step(function() return "stop" end)
check(stopped.state == "cancelled" and stopped:result() == nil and si.learnt == 1,
      "a stopped step is undone")
local again = si:step()
local ref = make("si", {epochs = 2})
ref:step()
local want = ref:step()
check(again.average == want.average and again.acc[1] == want.acc[1], "undone exactly")

-- b:back(): a step undone is a step never taken, for every method (EWC's Fisher, SI's
-- path integral, GEM's memory and Adam's moments go back too).
for _, m in ipairs({"none", "joint", "ewc", "si", "gem", "agem"}) do
  local b, ref = make(m), make(m)
  check(b:back() == false, m .. ": nothing to undo on a fresh baseline")
  ref:run()
  b:step(); b:step()
  local w1 = b:weights(1)[5][7]
  check(b:back() == true and b.learnt == 1 and #b.matrix == 1 and #b.history == 1, m .. ": back")
  check(b.average == ref.history[1].average, m .. ": the average is step 1's again")
  check(b:back() == true and b.learnt == 0 and b.average == 0 and b:back() == false,
        m .. ": back to the start")
  b:run()
  for i = 1, 3 do
    for k = 1, i do check(b.matrix[i][k] == ref.matrix[i][k], m .. ": redone exactly") end
  end
  check(b:weights(1)[5][7] == ref:weights(1)[5][7] and w1 ~= nil, m .. ": the same weights")
  check(tostring(b):find("3 of 3 tasks learnt"), m .. ": tostring after back and run")
end

-- Evaluation: the matrix's last row, counts, a confusion matrix that adds up.
local ev = ewc:evaluate{confusion = true}
check(ev.average == ewc.average and #ev.acc == 3, "evaluate matches the last step")
local total, right = 0, 0
for i = 1, 10 do for k = 1, 10 do total = total + ev.confusion[i][k] end end
for i = 1, 10 do right = right + ev.confusion[i][i] end
check(total == ev.counts[1] + ev.counts[2] + ev.counts[3], "confusion counts every test image")
check(math.abs(right / total - ev.average) < 1e-9, "its diagonal is the accuracy")
fails_with("upto must be 1-3", ewc.evaluate, ewc, {upto = 4})

-- Weights and the noise sweep.
local w = ewc:weights(3)
check(#w == 10 and #w[1] == 32, "weights(layer): outputs x inputs")
fails_with("layer must be 1-3", ewc.weights, ewc, 4)
local ns = ewc:noise_sweep{step = 0.25, draws = 2}
check(#ns.rho == 5 and ns.rho[1] == 0 and ns.rho[5] == 1, "rho grid")
check(math.abs(ns.acc[1] - ewc.average) < 1e-12 and ns.sd[1] == 0, "no noise: the clean accuracy")
check(ns.acc[5] < ns.acc[1], "full noise costs accuracy")
check(ns.tolerance >= 0 and ns.tolerance <= 1, "a tolerance")
fails_with("draws must be 1-1000", ewc.noise_sweep, ewc, {draws = 0})

-- Energy: a baseline is sized like a list of its layer sizes.
local e1, e2 = lab.energy(ewc), lab.energy({192, 32, 32, 10})
check(e1.macs == 192 * 32 + 32 * 32 + 32 * 10 and e1.float_cmos == e2.float_cmos, "energy")

-- A busy baseline refuses other work until its job is done.
lab.background(true)
local j = make("none"):step()
local busy = make("gem")
local jb = busy:run()
fails_with("busy with job", busy.evaluate, busy)
fails_with("busy with job", busy.back, busy)
jb:wait()
j:wait()
lab.background(false)
check(busy.learnt == 3, "the background run finished")
print("baseline ok")
