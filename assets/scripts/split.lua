-- split.lua: the 5-split experiment (the paper's benchmark).
--   build/mpcl assets/scripts/split.lua [dataset=fmnist|mnist] [scenario=task|domain|class]
--       [rule=mpcl|laborieux|none] [m=0.005] [joint=1] [arch=paper|784] [seed=1] [seeds=1]
--       [epochs=20] [patience=0] [threshold=0.2] [lr=0.005] [batch=100] [bn=task|shared]
--       [mask=task|none] [threads=N] [out=FILE.json]
-- Prints the accuracy matrix (accuracy on task j after learning task i), the weighted
-- multitask average, backward transfer and switch rates; with seeds=N, runs seeds
-- seed..seed+N-1 and reports mean and spread. out= writes the results as JSON.
local a = ... or {}

local function pick(k, default) if a[k] == nil then return default end return a[k] end

local cfg = {
  dataset   = pick("dataset", "fmnist"),
  scenario  = pick("scenario", "task"),
  rule      = pick("rule", "mpcl"),
  m         = pick("m", 0.005),
  joint     = pick("joint", 0) ~= 0,
  arch      = tostring(pick("arch", "paper")),
  seed      = math.tointeger(pick("seed", 1)),
  seeds     = math.tointeger(pick("seeds", 1)),
  epochs    = math.tointeger(pick("epochs", 20)),
  patience  = math.tointeger(pick("patience", 0)),
  threshold = pick("threshold", 0.2),
  lr        = pick("lr", 0.005),
  batch     = math.tointeger(pick("batch", 100)),
  hidden    = math.tointeger(pick("hidden", 256)),
  out       = a.out,
}
if a.threads then lab.threads(math.tointeger(a.threads)) end
local task_il = cfg.scenario == "task"
cfg.bn = pick("bn", task_il and "task" or "shared")
cfg.mask = pick("mask", task_il and "task" or "none")
if cfg.arch ~= "paper" and cfg.arch ~= "784" then
  error("split.lua: arch must be paper or 784, got " .. tostring(cfg.arch), 0)
end
if not cfg.seeds or cfg.seeds < 1 then error("split.lua: seeds must be a positive integer", 0) end

local input = cfg.arch == "paper" and "paper192" or "float784"
local ds = lab.dataset(cfg.dataset, {input = input, threshold = cfg.threshold})
local outputs = cfg.scenario == "domain" and 2 or 10
local names = {fmnist = "5-split-FashionMNIST", mnist = "5-split-MNIST"}

local function pct(x) return string.format("%5.1f", 100 * x) end

local function run_one(seed)
  local seq = lab.tasks(ds, {seed = seed})
  local net = lab.net{sizes = {ds.dim, cfg.hidden, cfg.hidden, outputs}, binary = ds.binary,
                      seed = seed}
  local tr = lab.trainer(net, seq, {rule = cfg.rule, m = cfg.m, lr = cfg.lr, batch = cfg.batch,
                                    epochs = cfg.epochs, patience = cfg.patience,
                                    scenario = cfg.scenario, bn = cfg.bn, mask = cfg.mask,
                                    joint = cfg.joint, seed = seed})
  local T = #seq
  local run = {seed = seed, matrix = {}, switch_rate = {}, switch_layer = {}, epochs = {},
               averages = {}, seconds = 0}
  print(string.format("%s, %s-IL, rule %s m=%g%s, %s (%d-%d-%d-%d), seed %d",
    names[cfg.dataset], cfg.scenario, cfg.rule, cfg.m, cfg.joint and " (joint)" or "",
    input, ds.dim, cfg.hidden, cfg.hidden, outputs, seed))
  local head = "  after |"
  for j = 1, T do head = head .. string.format("  T%d  ", j) end
  print(head .. "|  avg  | switch | epochs")
  for t = 1, T do
    local r = tr:learn(t)
    local ev = lab.evaluate(net, seq, {scenario = cfg.scenario, upto = t, bn = cfg.bn,
                                       confusion = (t == T)})
    run.matrix[t] = ev.acc
    run.averages[t] = ev.average
    run.switch_rate[t] = r.switch_rate
    run.switch_layer[t] = r.switch_layer
    run.switch_any = run.switch_any or {}
    run.switch_any[t] = r.switch_any
    run.epochs[t] = r.epochs
    run.seconds = run.seconds + r.seconds
    if t == T then run.confusion = ev.confusion end
    local line = string.format("  task %d |", t)
    for j = 1, T do line = line .. (j <= t and (" " .. pct(ev.acc[j])) or "      ") end
    print(string.format("%s | %s | %5.2f%% | %d", line, pct(ev.average), 100 * r.switch_rate, r.epochs))
  end
  run.average = run.averages[T]
  local bwt = 0
  for j = 1, T - 1 do bwt = bwt + run.matrix[T][j] - run.matrix[j][j] end
  run.bwt = T > 1 and bwt / (T - 1) or 0
  print(string.format("  average %.2f%%, backward transfer %+.2f points, %.1f s of training",
                      100 * run.average, 100 * run.bwt, run.seconds))
  return run
end

local runs = {}
for s = cfg.seed, cfg.seed + cfg.seeds - 1 do runs[#runs + 1] = run_one(s) end

local function mean_sd(values)
  local n, sum, ss = #values, 0, 0
  for _, v in ipairs(values) do sum = sum + v end
  local mean = sum / n
  for _, v in ipairs(values) do ss = ss + (v - mean) ^ 2 end
  return mean, n > 1 and math.sqrt(ss / (n - 1)) or 0
end

-- Results: means over seeds at the top level, each run in full under `runs`.
local T = #runs[1].matrix
local res = {dataset = cfg.dataset, scenario = cfg.scenario, rule = cfg.rule, m = cfg.m,
             joint = cfg.joint, arch = cfg.arch, input = input, threshold = cfg.threshold,
             sizes = {ds.dim, cfg.hidden, cfg.hidden, outputs}, epochs = cfg.epochs,
             patience = cfg.patience, lr = cfg.lr, batch = cfg.batch, bn = cfg.bn,
             mask = cfg.mask, seeds = {}, runs = runs, matrix = {}, switch_rate = {},
             confusion = runs[1].confusion}
local avgs, bwts = {}, {}
for i, r in ipairs(runs) do res.seeds[i] = r.seed; avgs[i] = r.average; bwts[i] = r.bwt end
res.average, res.average_sd = mean_sd(avgs)
res.bwt = mean_sd(bwts)
for t = 1, T do
  res.matrix[t] = {}
  for j = 1, t do
    local v = {}
    for i, r in ipairs(runs) do v[i] = r.matrix[t][j] end
    res.matrix[t][j] = mean_sd(v)
  end
  local sw = {}
  for i, r in ipairs(runs) do sw[i] = r.switch_rate[t] end
  res.switch_rate[t] = mean_sd(sw)
end
if #runs > 1 then
  print(string.format("%d seeds: average %.2f%% +- %.2f (sd), backward transfer %+.2f points",
                      #runs, 100 * res.average, 100 * res.average_sd, 100 * res.bwt))
end
if cfg.out then
  lab.write_json(cfg.out, res)
  print("wrote " .. cfg.out)
end
return res
