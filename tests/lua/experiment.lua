-- lab.experiment: stepping, undoing, results, errors.
local function check(cond, what) if not cond then error("check failed: " .. what, 2) end end
local function fails_with(pattern, f, ...)
  local ok, err = pcall(f, ...)
  check(not ok and tostring(err):find(pattern, 1, true), "expected an error with " .. pattern ..
        ", got " .. tostring(err))
end

fails_with("unknown option 'epoch'", lab.experiment, {epoch = 3})
fails_with("unknown data set 'cifar'", lab.experiment, {dataset = "cifar"})
fails_with("rule must be none, mpcl or laborieux", lab.experiment, {rule = "si"})

local ds = lab.dataset("mnist", {threshold = 0.2})
local exp = lab.experiment{ds = ds, epochs = 2, hidden = 48, seed = 3}
check(#exp == 5 and exp.learnt == 0 and exp.average == 0, "a fresh experiment")
local epochs = 0
local r1 = exp:step(function(p) epochs = epochs + 1 end)
check(r1.task == 1 and epochs == 2 and #r1.acc == 1 and r1.acc[1] > 0.9, "first step")
check(math.abs(r1.average - r1.acc[1]) < 1e-12, "one task: average = its accuracy")
local r2 = exp:step()
check(#exp.matrix == 2 and #exp.matrix[2] == 2 and exp.learnt == 2, "the matrix grows a row")
check(exp.history[2].average == r2.average and exp.average == r2.average, "history and average")
local copy = exp:net()
check(tostring(copy):find("mnist") == nil and #copy:sizes() == 4, "exp:net() is a net")

-- back() restores the state before the step: stepping again gives the same result.
check(exp:back() and exp.learnt == 1 and #exp.matrix == 1, "back undoes a step")
local again = exp:step()
check(again.average == r2.average and again.switch_rate == r2.switch_rate, "same step, same result")
check(exp:back() and exp:back() and not exp:back() and exp.learnt == 0, "back to the start")

local last = exp:run()
check(exp.learnt == 5 and last.task == 5 and #last.acc == 5, "run learns the rest")
check(exp:step() == nil, "nothing left to learn")
check(tostring(exp):find("5 of 5 tasks learnt"), "tostring")
print("experiment ok")
