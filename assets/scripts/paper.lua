-- paper.lua: the paper's figures and Table 1, regenerated as a report.
--   build/mpcl assets/scripts/paper.lua out=report/ [quick=1] [seeds=N] [seed=1]
--       [datasets=mnist,fmnist] [epochs=20] [bl_epochs=5] [sweep_epochs=20] [draws=5]
--       [step=0.05] [reads=10000] [id=42] [p=16] [chip=sim] [workers=N] [threads=T] [force=1]
-- Writes OUT/report.md (each figure beside the paper's value), OUT/*.png (gnuplot, pngcairo),
-- OUT/*.csv (the numbers behind every figure and table) and OUT/gp/*.gp (the gnuplot scripts:
-- `cd OUT && gnuplot gp/fig2b.gp` re-renders one). quick=1 runs a reduced version (fewer
-- epochs, m values, seeds, draws and reads) in a few minutes; the full run's time is in the
-- README. chip= names the chip of Fig. 5 (a sim URI without id= takes id=; the default,
-- sim, is the paper's board; chip=sim:preset=ideal the ideal one).
-- Every independent run (a method on a dataset in a scenario with a seed, with its noise sweep
-- in task-IL; an m of the sweep; a confusion run; a chip) is one point of a single lab.sweep
-- into OUT/sweep/: `mpirun -np N build/mpcl assets/scripts/paper.lua out=...` spreads them over
-- N - 1 ranks, workers= and threads= go to lab.sweep (local processes, threads each), the
-- same command again resumes (finished points are read back, not rerun) and force=1 replaces
-- a different sweep found in OUT/sweep/. The report is built from the points' results.
local a = ... or {}
local function pick(k, default) if a[k] == nil then return default end return a[k] end
local function die(msg) error("paper.lua: " .. msg, 0) end

local quick = tonumber(pick("quick", 0)) ~= 0
local out = a.out and tostring(a.out) or die("give the output directory: out=report/")
out = out:gsub("/+$", "")
if out == "" then out = "." end
local function int_key(k, full, q)
  local v = math.tointeger(tonumber(pick(k, quick and q or full)))
  if not v or v < 1 then die(k .. " must be a positive integer") end
  return v
end
local cfg = {
  seeds     = int_key("seeds", 3, 1),
  seed      = int_key("seed", 1, 1),
  epochs    = int_key("epochs", 20, 2),      -- MPCL, per task (the paper's 20)
  bl_epochs = int_key("bl_epochs", 5, 1),    -- float baselines, per task
  sweep_epochs = int_key("sweep_epochs", 20, 2),
  draws     = int_key("draws", 5, 2),
  reads     = int_key("reads", 10000, 1000), -- retention reads per cell
  id        = int_key("id", 42, 42),
  p         = int_key("p", 16, 16),
  step      = tonumber(pick("step", quick and 0.1 or 0.05)),
}
if not cfg.step or cfg.step <= 0 or cfg.step > 0.5 then die("step must be in (0, 0.5]") end
cfg.chip = tostring(pick("chip", "sim"))
-- lab.sweep's: replace a different sweep in OUT/sweep/; local processes and threads per run
-- (lab.sweep's defaults when not given).
cfg.force = tonumber(pick("force", 0)) ~= 0
if a.workers ~= nil then cfg.workers = int_key("workers", 1, 1) end
if a.threads ~= nil then cfg.threads = int_key("threads", 1, 1) end
local function open_chip(uri, id)
  local is_sim = uri == "sim" or uri:match("^sim:")
  return lab.chip.open(uri, is_sim and not uri:match("[:,]id=") and {id = id} or nil)
end
local datasets = {}
for v in tostring(pick("datasets", "mnist,fmnist")):gmatch("[^,]+") do
  if v ~= "mnist" and v ~= "fmnist" then die("datasets must list mnist and/or fmnist, got " .. v) end
  datasets[#datasets + 1] = v
end
local msweep = quick and {0, 0.001, 0.005, 0.02}
  or {0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.1}
local ps = quick and {1, 4, 16, 64} or {1, 2, 4, 8, 16, 32, 64}
local methods = {"mpcl", "none", "joint", "ewc", "si", "gem", "agem"}
local method_label = {mpcl = "MPCL", none = "None", joint = "Joint", ewc = "EWC", si = "SI",
                      gem = "GEM", agem = "A-GEM"}
local method_color = {mpcl = "#000000", none = "#999999", joint = "#56b4e9", ewc = "#e69f00",
                      si = "#009e73", gem = "#0072b2", agem = "#d55e00"}
local scenarios = {"task", "domain", "class"}
local ds_label = {mnist = "5-split-MNIST", fmnist = "5-split-FashionMNIST"}
-- The chips Fig. 5c compares with the default one (the paper's board).
local others = {
  {key = "ideal", uri = "sim:preset=ideal,id=" .. cfg.id, label = "ideal chip", color = "#1a9850"},
  {key = "worn", uri = "sim:preset=worn,id=" .. cfg.id, label = "worn chip", color = "#b2182b"},
}

-- ---- files, shell, gnuplot ------------------------------------------------------------
local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function sh(cmd) local ok = os.execute(cmd) return ok == true or ok == 0 end
-- Under mpirun every rank runs this script up to lab.sweep, where the ranks other than 0 run
-- points and end: only rank 0 writes the report, so only it speaks and needs gnuplot.
local rank0 = lab.rank() == 0
if not sh("mkdir -p " .. shq(out .. "/gp")) then die("cannot create " .. out .. "/gp") end
if rank0 and not sh("gnuplot --version >/dev/null 2>&1") then
  die("gnuplot not found (make deps installs gnuplot-nox)")
end
local written = {}
local function write(name, text)
  local path = out .. "/" .. name
  local f, err = io.open(path .. ".part", "w")
  if not f then die("cannot write " .. path .. ": " .. tostring(err)) end
  f:write(text)
  f:close()
  if not os.rename(path .. ".part", path) then die("cannot rename " .. path .. ".part") end
  written[#written + 1] = name
end
local function num(x)
  if x == nil or x ~= x then return "" end
  if math.type(x) == "integer" then return tostring(x) end
  return string.format("%.6g", x)
end
-- csv(name, header list, rows of values)
local function csv(name, header, rows)
  local t = {table.concat(header, ",")}
  for _, r in ipairs(rows) do
    local c = {}
    for i = 1, #header do
      local v = r[i]
      c[i] = type(v) == "number" and num(v) or tostring(v == nil and "" or v)
      if c[i]:find('[,"\n]') then c[i] = '"' .. c[i]:gsub('"', '""') .. '"' end
    end
    t[#t + 1] = table.concat(c, ",")
  end
  write(name .. ".csv", table.concat(t, "\n") .. "\n")
end
local gp_head = [[
set terminal pngcairo size %d,%d enhanced font "DejaVu Sans,11" linewidth 1.5
set output "%s.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
]]
local function plot(name, w, h, body)
  write("gp/" .. name .. ".gp", string.format(gp_head, w, h, name) .. body)
  local log = "gp/" .. name .. ".log"
  if not sh("cd " .. shq(out) .. " && gnuplot gp/" .. name .. ".gp >" .. log .. " 2>&1") then
    local f = io.open(out .. "/" .. log)
    local first = f and f:read("a"):match("[^\n]*[Ee]rror[^\n]*") or "no message"
    if f then f:close() end
    die("gnuplot failed on " .. name .. ".gp: " .. first)
  end
  local f = io.open(out .. "/" .. name .. ".png", "rb")
  local sig = f and f:read(8)
  if f then f:close() end
  if sig ~= "\137PNG\r\n\26\n" then die("gnuplot wrote no PNG for " .. name) end
  os.remove(out .. "/" .. log)
  written[#written + 1] = name .. ".png"
end

-- ---- weights and number helpers ----------------------------------------------------------
local t_start = lab.clock()
-- Each unit of work weighs about what it costs (seconds on two cores, measured): lab.sweep
-- starts the heaviest points first, and the progress lines' shares mean something.
local W = {
  train = function(m) -- one run of five tasks
    if m == "mpcl" then return 0.25 * cfg.epochs end
    return (m == "gem" or m == "joint" or m == "agem") and 2 * cfg.bl_epochs or cfg.bl_epochs
  end,
  noise = 0.2 * cfg.draws * 0.05 / cfg.step,
  sweep = 0.1 * cfg.sweep_epochs,
  confusion = 0.25 * cfg.epochs,
  chip = 6, chip_map = 2 + cfg.reads / 2000, finetune = 8,
}
local function pct(x) return x and string.format("%.2f%%", 100 * x) or "-" end
local function mean_sd(v)
  local s, n = 0, #v
  for _, x in ipairs(v) do s = s + x end
  local m = s / n
  local q = 0
  for _, x in ipairs(v) do q = q + (x - m) ^ 2 end
  return m, n > 1 and math.sqrt(q / (n - 1)) or 0
end
local function pm(v, scale, digits)
  local m, sd = mean_sd(v)
  scale = scale or 100
  local fmt = "%." .. (digits or 2) .. "f"
  if #v > 1 then return string.format(fmt .. " +- " .. fmt, scale * m, scale * sd) end
  return string.format(fmt, scale * m)
end

-- A CSV row: x, then each method's mean and sd (in %) of value(r) over its runs by_method[m].
local function method_row(x, by_method, value)
  local row = {x}
  for _, m in ipairs(methods) do
    local v = {}
    for _, r in ipairs(by_method[m]) do v[#v + 1] = value(r) end
    local mu, sd = mean_sd(v)
    row[#row + 1] = 100 * mu
    row[#row + 1] = 100 * sd
  end
  return row
end
local function method_header(x)
  local h = {x}
  for _, m in ipairs(methods) do h[#h + 1] = m .. "_pct"; h[#h + 1] = m .. "_sd" end
  return h
end

if rank0 then print(string.format("paper report into %s/: %s, datasets %s, %d seed(s), MPCL %d epochs a task, "
  .. "baselines %d, %d threads", out, quick and "quick" or "full", table.concat(datasets, ","),
  cfg.seeds, cfg.epochs, cfg.bl_epochs, lab.threads())) end

-- ---- data ------------------------------------------------------------------------------
-- Loaded before the sweep: local workers are forked from this process and inherit it.
local DS = {}
for _, d in ipairs(datasets) do DS[d] = lab.dataset(d, {threshold = 0.2}) end
local sweep_ds = DS.fmnist and "fmnist" or datasets[1] -- Fig. 2b and 2c
local chip_ds = sweep_ds -- Fig. 5a, 5b and the ideal and the worn chip

-- ---- the points: every independent run, each done whole by one call of run() ---------------
-- Point order is the report's order. A point holds every setting its run depends on, so that
-- the same out= with other settings is a different sweep (lab.sweep refuses it without
-- force=1) rather than old results read back. The seeds are the points' own (the runs' seeds
-- as before), not the sweep's per-point seed.
local points = {}
for _, d in ipairs(datasets) do
  for _, sc in ipairs(scenarios) do
    for _, m in ipairs(methods) do
      for s = cfg.seed, cfg.seed + cfg.seeds - 1 do
        local pt = {kind = "train", dataset = d, scenario = sc, method = m, seed = s,
                    epochs = m == "mpcl" and cfg.epochs or cfg.bl_epochs}
        if sc == "task" then pt.draws, pt.step = cfg.draws, cfg.step end -- its noise sweep
        points[#points + 1] = pt
      end
    end
  end
end
for _, m in ipairs(msweep) do
  points[#points + 1] = {kind = "msweep", dataset = sweep_ds, m = m, seed = cfg.seed,
                         epochs = cfg.sweep_epochs}
end
-- Fig. 2c needs m = 0 and the best m of the sweep: a confusion run at every m, so that the
-- best one is there without a second round of runs.
do
  local conf_ms = {0}
  for _, m in ipairs(msweep) do if m ~= 0 then conf_ms[#conf_ms + 1] = m end end
  for _, m in ipairs(conf_ms) do
    points[#points + 1] = {kind = "confusion", dataset = sweep_ds, m = m, seed = cfg.seed,
                           epochs = cfg.epochs}
  end
end
do
  local chip_keys = {seed = cfg.seed, epochs = cfg.epochs, chip_id = cfg.id, p = cfg.p,
                     ps = table.concat(ps, ",")}
  local function chip_point(d, chip, uri)
    local pt = {kind = "chip", dataset = d, chip = chip, uri = uri}
    for k, v in pairs(chip_keys) do pt[k] = v end
    if chip == "default" and d == chip_ds then pt.reads = cfg.reads end -- Fig. 5a, 5b
    points[#points + 1] = pt
  end
  for _, d in ipairs(datasets) do chip_point(d, "default", cfg.chip) end
  for _, o in ipairs(others) do chip_point(chip_ds, o.key, o.uri) end
end

local function bwt(matrix)
  local n, s = #matrix, 0
  if n < 2 then return 0 end
  for j = 1, n - 1 do s = s + matrix[n][j] - matrix[j][j] end
  return s / (n - 1)
end
-- RUN[kind](point) -> the point's result: only JSON values (it travels as JSON).
local RUN = {}
-- Fig. 2d and the scenario table: one method in one scenario; in task-IL also its noise sweep
-- (Fig. 2e) on the trained net.
function RUN.train(pt)
  local d, sc, m, s = pt.dataset, pt.scenario, pt.method, pt.seed
  local t0 = lab.clock()
  local obj
  if m == "mpcl" then
    obj = lab.experiment{ds = DS[d], seed = s, scenario = sc, epochs = pt.epochs}
  else
    obj = lab.baseline{ds = DS[d], seed = s, scenario = sc, method = m, epochs = pt.epochs}
  end
  obj:run()
  local curve = {}
  for t, h in ipairs(obj.history) do curve[t] = h.average end
  local r = {average = obj.average, bwt = bwt(obj.matrix), curve = curve,
             seconds = lab.clock() - t0}
  if sc == "task" then
    local opts = {step = pt.step, draws = pt.draws, seed = s}
    local n = m == "mpcl" and lab.noise_sweep(obj:net(), lab.tasks(DS[d], {seed = s}), opts)
      or obj:noise_sweep(opts)
    r.noise = {tolerance = n.tolerance, reached = n.reached, rho = n.rho, acc = n.acc}
  end
  return r
end
-- Fig. 2b: two tasks at one m.
function RUN.msweep(pt)
  local s, ds = pt.seed, DS[pt.dataset]
  local seq = lab.tasks(ds, {groups = {{0, 1}, {2, 3}}, seed = s})
  local net = lab.net{sizes = {ds.dim, 256, 256, 10}, binary = ds.binary, seed = s}
  local tr = lab.trainer(net, seq, {m = pt.m, epochs = pt.epochs, patience = 0, seed = s})
  tr:learn(1)
  local r = tr:learn(2)
  local ev = lab.evaluate(net, seq, {upto = 2})
  return {switch = r.switch_rate, any = r.switch_any, t1 = ev.acc[1], t2 = ev.acc[2],
          avg = ev.average}
end
-- Fig. 2c: five tasks at one m; the confusion matrix on all test sets.
function RUN.confusion(pt)
  local s, ds = pt.seed, DS[pt.dataset]
  local exp = lab.experiment{ds = ds, seed = s, m = pt.m, epochs = pt.epochs}
  exp:run()
  local ev = lab.evaluate(exp:net(), lab.tasks(ds, {seed = s}), {confusion = true})
  return {average = ev.average, acc = ev.acc, counts = ev.counts, confusion = ev.confusion}
end
-- Fig. 5a-e: the task-IL MPCL net of the seed on a chip. Training is bit-reproducible, so
-- training it again gives the net of the train point. Lists over p follow ps.
local function infer_ps(chip, seq)
  local v = {}
  for i, p in ipairs(ps) do
    local r = chip:infer(seq, {p = p})
    v[i] = {average = r.average, acc = r.acc}
  end
  return v
end
-- The array's map (rows of G+ - G-, uS, as CSV lines) and the resistance of every programmed
-- cell, LRS (the cell of the pair meant to conduct) and HRS apart, over log-spaced bins.
local HIST = {lo = 1, hi = 10000, nb = 80} -- kOhm
local function chip_cells(chip, net, reads, c)
  local map = chip:map()
  c.map = {}
  for i, r in ipairs(map.pos) do
    local row = {}
    for j, g in ipairs(r) do row[j] = string.format("%.3f", g - map.neg[i][j]) end
    c.map[i] = table.concat(row, ",")
  end
  local lo, hi, nb = HIST.lo, HIST.hi, HIST.nb
  local lrs, hrs = {}, {}
  for b = 1, nb do lrs[b], hrs[b] = 0, 0 end
  local function add(hist, g)
    local r = 1000 / math.max(g, 1e-6)
    local b = math.floor(math.log(r / lo) / math.log(hi / lo) * nb) + 1
    b = math.max(1, math.min(nb, b))
    hist[b] = hist[b] + 1
  end
  for l = 1, #net:sizes() - 1 do
    local lm, w = chip:map{layer = l}, net:weights(l, "binary")
    for i, r in ipairs(lm.pos) do
      for j, gp in ipairs(r) do
        local plus = w[j][i] > 0
        add(plus and lrs or hrs, gp)
        add(plus and hrs or lrs, lm.neg[i][j])
      end
    end
  end
  c.lrs_cells, c.hrs_cells = lrs, hrs
  local h = chip:histogram()
  c.hist = {lrs_mean = h.lrs_mean, lrs_sd = h.lrs_sd, hrs_mean = h.hrs_mean, hrs_sd = h.hrs_sd}
  local ret = chip:retention(4, reads)
  c.retention = {trace = ret.trace, max_deviation = ret.max_deviation, mean = ret.mean}
end
function RUN.chip(pt)
  local d, s = pt.dataset, pt.seed
  local exp = lab.experiment{ds = DS[d], seed = s, scenario = "task", epochs = pt.epochs}
  exp:run()
  local net, seq = exp:net():copy(), lab.tasks(DS[d], {seed = s})
  if pt.chip ~= "default" then -- the ideal or the worn chip, for comparison
    local chip = lab.chip.open(pt.uri)
    local c = {prog = {mapping = {all = chip:program(net).mapping.all}}}
    c.before = infer_ps(chip, seq)
    lab.finetune(chip, net, seq, {p = pt.p})
    c.after = infer_ps(chip, seq)
    chip:close()
    return c
  end
  local sw = lab.evaluate(net, seq)
  local chip = open_chip(pt.uri, pt.chip_id)
  local prog = chip:program(net)
  local c = {sw = {acc = sw.acc}, prog = {mapping = {all = prog.mapping.all}}, before = {},
             ops = {}}
  for i, p in ipairs(ps) do
    local r = chip:infer(seq, {p = p})
    c.before[i] = {average = r.average, acc = r.acc}
    local o = lab.ops(net, {p = p})
    c.ops[i] = {array_ops = o.array_ops, adds = o.adds, conversions = o.conversions}
  end
  c.sim = {acc = chip:infer(seq, {p = pt.p, simulate = true}).acc}
  c.ft = {mapping = lab.finetune(chip, net, seq, {p = pt.p}).mapping}
  c.after = infer_ps(chip, seq)
  local e = lab.energy(net, {p = pt.p})
  c.energy = {macs = e.macs, float_cmos = e.float_cmos, binary_digital = e.binary_digital,
              rram = e.rram, ratio = e.ratio}
  c.energy_chip = {rram = lab.energy(net, {p = pt.p, chip = chip}).rram}
  -- Fig. 5a, 5b: the array and its cells, after fine-tuning and its measurements (reads move
  -- the cells: the accuracies must not depend on how many).
  if pt.reads then chip_cells(chip, net, pt.reads, c) end
  chip:close()
  return c
end

-- The expected seconds of a point (a chip point trains its net again first).
local function cost(pt)
  if pt.kind == "train" then
    return W.train(pt.method) + (pt.scenario == "task" and W.noise or 0)
  elseif pt.kind == "msweep" then return W.sweep
  elseif pt.kind == "confusion" then return W.confusion end
  return W.train("mpcl") + W.chip + W.finetune
    + ((pt.chip == "default" and pt.dataset == chip_ds) and W.chip_map or 0)
end
-- A point's progress lines, {weight, text}, from its result.
local function at_p(list, p)
  for i, q in ipairs(ps) do if q == p then return list[i] end end
end
local function avg_at(list, p) local r = at_p(list, p) return r and r.average end
local function lines_of(pt, r)
  local d = pt.dataset
  if pt.kind == "train" then
    local l = {{W.train(pt.method), string.format("%s on %s, %s-IL, seed %d: %s",
      method_label[pt.method], d, pt.scenario, pt.seed, pct(r.average))}}
    if r.noise then
      l[2] = {W.noise, string.format("noise sweep %s on %s, seed %d: tolerance %s%s",
        method_label[pt.method], d, pt.seed, pct(r.noise.tolerance),
        r.noise.reached and "" or " (lower bound)")}
    end
    return l
  elseif pt.kind == "msweep" then
    return {{W.sweep, string.format("m sweep m = %g: switch rate %s, two-task average %s", pt.m,
      pct(r.switch), pct(r.avg))}}
  elseif pt.kind == "confusion" then
    return {{W.confusion, string.format("confusion at m = %g: average %s", pt.m,
      pct(r.average))}}
  elseif pt.chip == "default" then
    local l = {{W.chip, string.format("chip on %s: mapping %s, p = %d %s before fine-tuning", d,
                 pct(r.prog.mapping.all), cfg.p, pct(avg_at(r.before, cfg.p)))},
               {W.finetune, string.format("fine-tuned on %s at p = %d: %s", d, cfg.p,
                 pct(avg_at(r.after, cfg.p)))}}
    if r.map then
      l[3] = {W.chip_map, string.format("chip map, histogram and retention (%d reads of 4 LRS "
        .. "cells)", cfg.reads)}
    end
    return l
  end
  local label = pt.chip
  for _, o in ipairs(others) do if o.key == pt.chip then label = o.label end end
  return {{W.chip, string.format("%s on %s: mapping %s, p = %d %s", label, d,
            pct(r.prog.mapping.all), cfg.p, pct(avg_at(r.before, cfg.p)))},
          {W.finetune, string.format("%s fine-tuned: p = %d %s", label, cfg.p,
            pct(avg_at(r.after, cfg.p)))}}
end
local function describe(pt)
  local k = {}
  for _, key in ipairs({"dataset", "scenario", "method", "chip", "m", "seed"}) do
    if pt[key] ~= nil then k[#k + 1] = key .. "=" .. tostring(pt[key]) end
  end
  return pt.kind .. " " .. table.concat(k, " ")
end

-- ---- the sweep ---------------------------------------------------------------------------
-- lab.sweep sets its own seed before each point; objects given no seed get this run's
-- default seed, as they did when the script ran every run itself.
local base_seed = lab.seed()
local res = lab.sweep{
  points = points, out = out .. "/sweep", cost = cost, force = cfg.force,
  workers = cfg.workers, threads = cfg.threads,
  run = function(pt) lab.seed(base_seed) return RUN[pt.kind](pt) end,
}
do
  local failed = {}
  for i, rec in ipairs(res) do
    if rec.result == nil then
      failed[#failed + 1] = string.format("%s (%s): %s", rec.id, describe(points[i]),
                                          tostring(rec.error))
    end
  end
  if #failed > 0 then
    die(string.format("%d of %d runs failed (the same command runs them again), first %s",
                      #failed, #res, failed[1]))
  end
end
-- One progress line per run, in the report's order, with the share of the work it weighs.
do
  local lines, total, done = {}, 0, 0
  for i, pt in ipairs(points) do
    lines[i] = lines_of(pt, res[i].result)
    for _, l in ipairs(lines[i]) do total = total + l[1] end
  end
  for i in ipairs(points) do
    for k, l in ipairs(lines[i]) do
      done = done + l[1]
      io.write(string.format("[%3.0f%%] %s%s\n", 100 * done / total, l[2],
                             k == 1 and string.format(" (%.0f s)", res[i].seconds) or ""))
    end
  end
  io.flush()
end

-- The results by figure. Through JSON, integral numbers come back as integers and NaN as nil
-- (num() prints "" for either, as it did for NaN).
local R, NOISE, TOL, sweep, CONFS, CHIP = {}, {}, {}, {}, {}, {}
for _, d in ipairs(datasets) do
  R[d], NOISE[d], TOL[d] = {}, {}, {}
  for _, sc in ipairs(scenarios) do
    R[d][sc] = {}
    for _, m in ipairs(methods) do R[d][sc][m] = {} end
  end
  for _, m in ipairs(methods) do NOISE[d][m], TOL[d][m] = {}, {} end
end
local function by_p(list)
  local t = {}
  for i, p in ipairs(ps) do t[p] = list[i] end
  return t
end
for i, pt in ipairs(points) do
  local r, d = res[i].result, pt.dataset
  if pt.kind == "train" then
    local runs = R[d][pt.scenario][pt.method]
    runs[#runs + 1] = {average = r.average, bwt = r.bwt, curve = r.curve, seconds = r.seconds,
                       seed = pt.seed}
    if r.noise then
      local n = NOISE[d][pt.method]
      n[#n + 1] = r.noise
      TOL[d][pt.method][#n] = r.noise.tolerance
    end
  elseif pt.kind == "msweep" then
    sweep[#sweep + 1] = {m = pt.m, switch = r.switch, any = r.any, t1 = r.t1, t2 = r.t2,
                         avg = r.avg}
  elseif pt.kind == "confusion" then
    CONFS[#CONFS + 1] = {m = pt.m, ev = r}
  else
    r.before, r.after = by_p(r.before), by_p(r.after)
    if r.ops then r.ops = by_p(r.ops) end
    CHIP[pt.chip == "default" and d or pt.chip] = r
  end
end

-- ---- 1. every method in every scenario (Fig. 2d, the scenario table) ---------------------
-- R[d][sc][method] = list over seeds of {average, bwt, curve = {avg after task t}, seconds}
do
  local rows = {}
  for _, d in ipairs(datasets) do
    for _, sc in ipairs(scenarios) do
      for _, m in ipairs(methods) do
        for _, r in ipairs(R[d][sc][m]) do
          local row = {d, sc, m, r.seed, 100 * r.average, 100 * r.bwt, r.seconds}
          for t = 1, 5 do row[#row + 1] = r.curve[t] and 100 * r.curve[t] end
          rows[#rows + 1] = row
        end
      end
    end
  end
  csv("methods", {"dataset", "scenario", "method", "seed", "average_pct", "bwt_points",
                  "seconds", "avg_after_1_pct", "avg_after_2_pct", "avg_after_3_pct",
                  "avg_after_4_pct", "avg_after_5_pct"}, rows)
end
local function avgs(d, sc, m)
  local v = {}
  for _, r in ipairs(R[d][sc][m]) do v[#v + 1] = r.average end
  return v
end

-- Fig. 2d: the multitask average as tasks are learnt (task-IL), and the final averages.
for _, d in ipairs(datasets) do
  local rows = {}
  for t = 1, 5 do
    rows[#rows + 1] = method_row(t, R[d].task, function(r) return r.curve[t] end)
  end
  csv("fig2d_" .. d, method_header("tasks_learnt"), rows)
  local rows2 = {}
  for _, m in ipairs(methods) do
    local row = {method_label[m]}
    for _, sc in ipairs(scenarios) do
      local mu, sd = mean_sd(avgs(d, sc, m))
      row[#row + 1] = 100 * mu
      row[#row + 1] = 100 * sd
    end
    rows2[#rows2 + 1] = row
  end
  csv("scenarios_" .. d, {"method", "task_pct", "task_sd", "domain_pct", "domain_sd",
                          "class_pct", "class_sd"}, rows2)
end
do
  local b = {"set multiplot layout 1," .. #datasets .. " title \"Fig. 2d: multitask average "
    .. "accuracy as tasks are learnt (task-IL, test sets; mean of " .. cfg.seeds .. " seed(s))\"\n"
    .. "set xlabel \"tasks learnt\"\nset ylabel \"multitask average accuracy (%)\"\n"
    .. "set xtics 1\nset xrange [0.8:5.2]\nset key bottom left\n"}
  for _, d in ipairs(datasets) do
    b[#b + 1] = "set title \"" .. ds_label[d] .. "\"\nplot "
    local c = {}
    for i, m in ipairs(methods) do
      c[#c + 1] = string.format("\"fig2d_%s.csv\" using 1:%d with linespoints pt 7 ps 0.8 "
        .. "lc rgb \"%s\" lw %g title \"%s\"", d, 2 * i, method_color[m],
        m == "mpcl" and 2.5 or 1.5, method_label[m])
    end
    b[#b + 1] = table.concat(c, ", \\\n  ") .. "\n"
  end
  b[#b + 1] = "unset multiplot\n"
  plot("fig2d", 560 * #datasets, 480, table.concat(b))
  local s = {"set multiplot layout 1," .. #datasets .. " title \"Multitask average accuracy "
    .. "after the fifth task, by scenario (mean of " .. cfg.seeds .. " seed(s); error bars: sd)\"\n"
    .. "set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
    .. "set style fill solid 0.8 border -1\nset ylabel \"multitask average accuracy (%)\"\n"
    .. "set yrange [0:100]\nset xtics nomirror\nset key below horizontal\n"}
  for _, d in ipairs(datasets) do
    s[#s + 1] = "set title \"" .. ds_label[d] .. "\"\nplot \"scenarios_" .. d .. ".csv\" "
      .. "using 2:3:xtic(1) title \"task-IL\", '' using 4:5 title \"domain-IL\", "
      .. "'' using 6:7 title \"class-IL\"\n"
  end
  s[#s + 1] = "unset multiplot\n"
  plot("scenarios", 560 * #datasets, 480, table.concat(s))
end

-- ---- 2. noise robustness (Fig. 2e) and the tolerance --------------------------------------
for _, d in ipairs(datasets) do
  local rows = {}
  local rho = NOISE[d].mpcl[1].rho
  for i = 1, #rho do
    rows[#rows + 1] = method_row(100 * rho[i], NOISE[d], function(r) return r.acc[i] end)
  end
  csv("fig2e_" .. d, method_header("rho_pct"), rows)
end
do
  local rows = {}
  for _, d in ipairs(datasets) do
    for _, m in ipairs(methods) do
      local mu, sd = mean_sd(TOL[d][m])
      rows[#rows + 1] = {d, m, 100 * mu, 100 * sd, #TOL[d][m]}
    end
  end
  csv("tolerance", {"dataset", "method", "tolerance_pct", "sd", "seeds"}, rows)
  local b = {"set multiplot layout 1," .. #datasets .. " title \"Fig. 2e: accuracy under "
    .. "conductance noise (task-IL; " .. cfg.draws .. " draws a point; dashed: the 90% level "
    .. "of the noise tolerance)\"\n"
    .. "set xlabel \"conductance noise rho (% of the LRS-HRS window)\"\n"
    .. "set ylabel \"multitask average accuracy (%)\"\nset yrange [40:100]\nset xrange [0:100]\n"
    .. "set key bottom left\n"}
  for _, d in ipairs(datasets) do
    b[#b + 1] = "set title \"" .. ds_label[d] .. "\"\nplot 90 with lines dt 2 lc rgb \"black\" notitle"
    for i, m in ipairs(methods) do
      b[#b + 1] = string.format(", \\\n  \"fig2e_%s.csv\" using 1:%d with linespoints pt 7 "
        .. "ps 0.6 lc rgb \"%s\" lw %g title \"%s\"", d, 2 * i, method_color[m],
        m == "mpcl" and 2.5 or 1.5, method_label[m])
    end
    b[#b + 1] = "\n"
  end
  b[#b + 1] = "unset multiplot\n"
  plot("fig2e", 560 * #datasets, 480, table.concat(b))
end

-- ---- 3. the m sweep (Fig. 2b) and the confusion matrices (Fig. 2c) ------------------------
local best = sweep[1]
for _, r in ipairs(sweep) do if r.avg > best.avg then best = r end end
do
  local rows = {}
  for _, r in ipairs(sweep) do
    rows[#rows + 1] = {string.format("%g", r.m), 100 * r.switch, 100 * r.any, 100 * r.t1,
                       100 * r.t2, 100 * r.avg}
  end
  csv("fig2b", {"m", "switch_pct", "flipped_any_pct", "task1_pct", "task2_pct", "average_pct"},
      rows)
  plot("fig2b", 900, 520, string.format([[
set title "Fig. 2b: the m sweep (two tasks of %s, %d epochs each, seed %d)"
set xlabel "memory coefficient m"
set ylabel "test accuracy after task 2 (%%)"
set y2label "binary weights switched while task 2 is learnt (%%)"
set yrange [40:100]
set y2range [0.01:100]
set logscale y2
set ytics nomirror
set y2tics
set key bottom center
set style data linespoints
plot "fig2b.csv" using 0:4:xtic(1) pt 7 title "task 1", \
  '' using 0:5 pt 7 title "task 2", \
  '' using 0:6 pt 7 lw 2.5 title "two-task average", \
  '' using 0:($2 > 0 ? $2 : 0.01) axes x1y2 pt 5 dt 2 title "switch rate (right axis)", \
  '' using 0:($3 > 0 ? $3 : 0.01) axes x1y2 pt 4 dt 3 title "flipped at least once (right axis)"
]], ds_label[sweep_ds], cfg.sweep_epochs, cfg.seed))
end
-- Fig. 2c: five tasks at m = 0 and at the best m; the confusion matrix on all test sets.
local CONF = {}
for i, m in ipairs({0, best.m}) do
  for _, c in ipairs(CONFS) do if c.m == m then CONF[i] = c end end
  local ev = CONF[i].ev
  local rows = {}
  for tcls = 0, 9 do
    local total = 0
    for p = 1, 10 do total = total + ev.confusion[tcls + 1][p] end
    for pcls = 0, 9 do
      local c = ev.confusion[tcls + 1][pcls + 1]
      rows[#rows + 1] = {tcls, pcls, c, total > 0 and 100 * c / total or 0}
    end
  end
  csv(i == 1 and "fig2c_m0" or "fig2c_best", {"true_class", "predicted_class", "count",
                                               "share_of_true_pct"}, rows)
end
plot("fig2c", 1100, 520, string.format([[
set multiplot layout 1,2 title "Fig. 2c: confusion matrices after five tasks of %s (task-IL, share of each true class, %%)"
set xlabel "predicted class"
set ylabel "true class"
set xrange [-0.5:9.5]
set yrange [9.5:-0.5]
set xtics 1
set ytics 1
set cbrange [0:100]
set cblabel "%% of the true class"
set palette defined (0 "#ffffff", 10 "#c6dbef", 50 "#4292c6", 100 "#08306b")
unset grid
set title "m = 0 (average %.2f%%)"
plot "fig2c_m0.csv" using 2:1:4 with image notitle, '' using 2:1:($3 > 0 ? sprintf("%%d", $3) : "") with labels font ",8" notitle
set title "m = %g, the best of the sweep (average %.2f%%)"
plot "fig2c_best.csv" using 2:1:4 with image notitle, '' using 2:1:($3 > 0 ? sprintf("%%d", $3) : "") with labels font ",8" notitle
unset multiplot
]], ds_label[sweep_ds], 100 * CONF[1].ev.average, best.m, 100 * CONF[2].ev.average))

-- ---- 4. the chip (Fig. 5a-e) --------------------------------------------------------------
do -- Fig. 5a, 5b: the array and its cells (measured in the chip point of chip_ds)
  local cd = CHIP[chip_ds]
  write("fig5a_map.csv", table.concat(cd.map, "\n") .. "\n") -- a bare matrix: row i, column j
  local lo, hi, nb = HIST.lo, HIST.hi, HIST.nb
  local hrows = {}
  for b = 1, nb do
    local e0 = lo * (hi / lo) ^ ((b - 1) / nb)
    local e1 = lo * (hi / lo) ^ (b / nb)
    hrows[b] = {e0, e1, math.sqrt(e0 * e1), cd.lrs_cells[b], cd.hrs_cells[b]}
  end
  csv("fig5a_hist", {"r_lo_kohm", "r_hi_kohm", "r_mid_kohm", "lrs_cells", "hrs_cells"}, hrows)
  local ret = cd.retention
  local trows = {}
  local every = math.max(1, cfg.reads // 200)
  for k = 1, #ret.trace[1] do
    local row = {(k - 1) * every}
    for cell = 1, #ret.trace do row[#row + 1] = ret.trace[cell][k] end
    trows[#trows + 1] = row
  end
  local h = {"read"}
  for cell = 1, #ret.trace do h[#h + 1] = "cell" .. cell .. "_us" end
  csv("fig5b", h, trows)
  local drow = {}
  for cell = 1, #ret.max_deviation do
    drow[cell] = {cell, 100 * ret.max_deviation[cell], ret.mean[cell]}
  end
  csv("fig5b_deviation", {"cell", "max_deviation_pct", "mean_us"}, drow)
end
do
  local rows = {}
  for _, p in ipairs(ps) do
    local row = {p}
    for _, d in ipairs(datasets) do
      row[#row + 1] = 100 * CHIP[d].before[p].average
      row[#row + 1] = 100 * CHIP[d].after[p].average
    end
    for _, o in ipairs(others) do
      row[#row + 1] = 100 * CHIP[o.key].before[p].average
      row[#row + 1] = 100 * CHIP[o.key].after[p].average
    end
    local o = CHIP[datasets[1]].ops[p]
    row[#row + 1] = o.array_ops
    row[#row + 1] = o.adds
    row[#row + 1] = o.conversions
    rows[#rows + 1] = row
  end
  local h = {"p"}
  for _, d in ipairs(datasets) do h[#h + 1] = d .. "_before_pct"; h[#h + 1] = d .. "_after_pct" end
  for _, o in ipairs(others) do
    h[#h + 1] = o.key .. "_" .. chip_ds .. "_before_pct"
    h[#h + 1] = o.key .. "_" .. chip_ds .. "_after_pct"
  end
  h[#h + 1] = "array_ops"; h[#h + 1] = "adds"; h[#h + 1] = "conversions"
  csv("fig5c", h, rows)
  local c = {}
  for i, d in ipairs(datasets) do
    local col = ({"#5e3c99", "#e66101"})[i]
    c[#c + 1] = string.format("%s using 1:%d with linespoints pt 6 dt 2 lc rgb \"%s\" title "
      .. "\"%s, before fine-tuning\"", i == 1 and "\"fig5c.csv\"" or "''", 2 * i, col, ds_label[d])
    c[#c + 1] = string.format("'' using 1:%d with linespoints pt 7 lc rgb \"%s\" title \"%s, "
      .. "after fine-tuning at p = %d\"", 2 * i + 1, col, ds_label[d], cfg.p)
  end
  local k = 2 * #datasets + 2
  for i, o in ipairs(others) do
    c[#c + 1] = string.format("'' using 1:%d with linespoints pt 4 dt 2 lc rgb \"%s\" title "
      .. "\"%s (%s), before\"", k + 2 * (i - 1), o.color, o.label, ds_label[chip_ds])
    c[#c + 1] = string.format("'' using 1:%d with linespoints pt 5 lc rgb \"%s\" title "
      .. "\"%s, after\"", k + 2 * i - 1, o.color, o.label)
  end
  plot("fig5c", 1000, 600, string.format([[
set title "Fig. 5c: chip accuracy against parallelism p (task-IL, simulated chip id %d)\nthe paper's board (default), the ideal chip and a worn one (10%% stuck cells, 25%% device spread, 5%% read noise)"
set xlabel "parallelism p (rows driven at once)"
set ylabel "multitask average accuracy on the chip (%%)"
set logscale x 2
set xtics (1, 2, 4, 8, 16, 32, 64)
set xrange [0.8:80]
set key below maxrows 4 width -4
plot %s
]], cfg.id, table.concat(c, ", \\\n  ")))
  plot("fig5d", 800, 520, [[
set title "Fig. 5d: operations per image against parallelism (192-256-256-10)"
set xlabel "parallelism p (rows driven at once)"
set ylabel "operations per image"
set logscale xy
set xtics (1, 2, 4, 8, 16, 32, 64)
set xrange [0.8:80]
set key top right
plot "fig5c.csv" using 1:(column("array_ops")) with linespoints pt 7 title "array operations", \
  '' using 1:(column("adds")) with linespoints pt 5 title "digital additions", \
  '' using 1:(column("conversions")) with linespoints pt 9 title "ADC conversions", \
  "+" using (1):(62000) every ::0::0 with points pt 6 ps 2 lc rgb "black" title "paper, p = 1 and 16", \
  "+" using (16):(3600) every ::0::0 with points pt 6 ps 2 lc rgb "black" notitle
]])
  -- Fig. 5e: simulation against chip, task by task, at p.
  local erows = {}
  for _, d in ipairs(datasets) do
    local cd = CHIP[d]
    for t = 1, #cd.sw.acc do
      erows[#erows + 1] = {d, t, 100 * cd.sw.acc[t], 100 * cd.sim.acc[t],
                           100 * cd.before[cfg.p].acc[t], 100 * cd.after[cfg.p].acc[t]}
    end
  end
  csv("fig5e", {"dataset", "task", "software_pct", "simulation_pct", "chip_pct",
                "chip_finetuned_pct"}, erows)
  local b = {string.format("set multiplot layout 1,%d title \"Fig. 5e: the software simulation "
    .. "of the chip (WL/WR, Int) against the chip, task by task, p = %d\"\n", #datasets, cfg.p)
    .. "set style data histograms\nset style histogram clustered gap 1\n"
    .. "set style fill solid 0.8 border -1\nset xlabel \"task\"\nset ylabel \"test accuracy (%)\"\n"
    .. "set key outside bottom center horizontal\n"}
  for i, d in ipairs(datasets) do
    local lo = 100
    for t = 1, #CHIP[d].sw.acc do
      for _, v in ipairs({CHIP[d].sw.acc[t], CHIP[d].sim.acc[t], CHIP[d].before[cfg.p].acc[t]}) do
        lo = math.min(lo, 100 * v)
      end
    end
    b[#b + 1] = string.format("set title \"%s\"\nset yrange [%d:100.5]\n", ds_label[d],
                              math.max(0, math.floor(lo - 3)))
    b[#b + 1] = string.format("plot \"fig5e.csv\" every ::%d::%d using 3:xtic(2) title "
      .. "\"software\", '' every ::%d::%d using 4 title \"simulation\", '' every ::%d::%d using 5 "
      .. "title \"chip\", '' every ::%d::%d using 6 title \"chip, fine-tuned\"\n",
      5 * (i - 1), 5 * i - 1, 5 * (i - 1), 5 * i - 1, 5 * (i - 1), 5 * i - 1, 5 * (i - 1), 5 * i - 1)
  end
  b[#b + 1] = "unset multiplot\n"
  plot("fig5e", 560 * #datasets, 480, table.concat(b))
  -- Fig. 5a: the map and the resistance histogram; Fig. 5b: retention.
  local cd = CHIP[chip_ds]
  plot("fig5a", 1200, 540, string.format([[
set multiplot layout 1,2 title "Fig. 5a: the programmed array (%s net after in situ fine-tuning, simulated chip id %d)"
unset grid
set title "G+ - G- of each differential pair (uS)"
set xlabel "column (output)"
set ylabel "row (input)"
set xrange [-0.5:511.5]
set yrange [511.5:-0.5]
set size ratio -1
set cblabel "G+ - G- (uS)"
set palette defined (-1 "#2166ac", 0 "#f7f7f7", 1 "#b2182b")
set cbrange [-40:40]
set datafile nocolumnheaders
plot "fig5a_map.csv" matrix with image notitle
set datafile columnheaders
set size noratio
set autoscale
set title "resistance of the programmed cells (mapping accuracy %.2f%% after fine-tuning)"
set xlabel "resistance (kOhm)"
set ylabel "cells"
set logscale x
set logscale y
set xrange [5:5000]
set yrange [0.8:1e6]
set grid
set key top right
set style fill transparent solid 0.5 border
plot "fig5a_hist.csv" using 3:($4 > 0 ? $4 : 1/0):1:2:(0.8):4 with boxxyerror lc rgb "#b2182b" title "LRS (the cell meant to conduct)", \
  '' using 3:($5 > 0 ? $5 : 1/0):1:2:(0.8):5 with boxxyerror lc rgb "#2166ac" title "HRS (the other cell)"
unset multiplot
]], ds_label[chip_ds], cfg.id, 100 * cd.ft.mapping))
  local ret = cd.retention
  local c2 = {}
  for cell = 1, #ret.trace do
    c2[#c2 + 1] = string.format("%s using 1:%d with lines title \"cell %d: %.1f%%\"",
                                cell == 1 and "\"fig5b.csv\"" or "''", cell + 1, cell,
                                100 * ret.max_deviation[cell])
  end
  plot("fig5b", 900, 520, string.format([[
set title "Fig. 5b: LRS conductance over %d reads of 4 cells, every %dth read drawn\n(legend: each cell's max deviation (Gmax - Gmin) / Gmean over all reads)"
set xlabel "read"
set ylabel "conductance (uS)"
set key outside right
plot %s
]], cfg.reads, math.max(1, cfg.reads // 200), table.concat(c2, ", \\\n  ")))
end

-- ---- 5. Table 1: MAC energy and accuracy ------------------------------------------------
local e = CHIP[chip_ds].energy
do
  local rows = {
    {"float CMOS (EWC, SI, GEM, A-GEM, Joint, None)", e.macs, e.float_cmos, 5.4e-7},
    {"1-bit digital (MPCL in software)", e.macs, e.binary_digital, 2.7e-8},
    {"RRAM, p = " .. cfg.p .. " (MPCL on the chip, default parameters)", e.macs, e.rram, 2.3e-9},
    {"RRAM, p = " .. cfg.p .. " (measured conductances)", e.macs, CHIP[chip_ds].energy_chip.rram,
     2.3e-9},
  }
  csv("table1", {"hardware", "macs_per_image", "energy_j", "paper_energy_j"}, rows)
end

-- ---- 6. the report ------------------------------------------------------------------------
local elapsed = lab.clock() - t_start
local md = {}
local function P(...) md[#md + 1] = string.format(...) end
local function has(d) return DS[d] ~= nil end
P("# MPCL Lab: the paper's figures, regenerated")
P("")
P("Generated by `build/mpcl assets/scripts/paper.lua out=%s%s` (MPCL Lab %s) in %.0f s on %d "
  .. "threads. Li et al., *Mixed-Precision Continual Learning Based on Computational Resistance "
  .. "Random Access Memory*, Adv. Intell. Syst. 2022: each figure below stands beside the "
  .. "paper's value.", out, quick and " quick=1" or "", lab.version, elapsed, lab.threads())
P("")
if quick then
  P("**This is the quick report** (`quick=1`): %d epochs a task for MPCL, %d for the baselines, "
    .. "%d m values, %d seed, %d noise draws, noise step %g, %d retention reads. Its numbers show "
    .. "that every stage runs, not the paper's figures: run without `quick=1` for those.",
    cfg.epochs, cfg.bl_epochs, #msweep, cfg.seeds, cfg.draws, cfg.step, cfg.reads)
  P("")
end
P("Settings: paper preset (192 binary inputs for MPCL and for the float baselines, threshold "
  .. "0.2), 192-256-256-10, 5-split with 10%% of each task's training images held out, "
  .. "seeds %d-%d. MPCL: rule `mpcl`, m = 0.005, Adam lr 0.005, %d epochs a task, per-task "
  .. "batch-norm statistics and the task-IL training mask in task-IL. Baselines (`lab.baseline`): "
  .. "float MLP of the same shape, Adam lr 0.001, %d epochs a task, EWC lambda 1000 (true "
  .. "Fisher), SI c 0.5 xi 0.001, GEM and A-GEM 256 examples a task. Accuracies are "
  .. "test-set multitask averages after the fifth task (weighted by test-set size); "
  .. "+- is the standard deviation over seeds.", cfg.seed, cfg.seed + cfg.seeds - 1,
  cfg.epochs, cfg.bl_epochs)
P("")

P("## Fig. 2b: the m sweep")
P("")
P("![m sweep](fig2b.png)")
P("")
P("| m | switched | flipped at least once | task 1 | task 2 | two-task average |")
P("|---|---|---|---|---|---|")
for _, r in ipairs(sweep) do
  P("| %g%s | %s | %s | %s | %s | %s |", r.m, r == best and " (best)" or "", pct(r.switch),
    pct(r.any), pct(r.t1), pct(r.t2), pct(r.avg))
end
P("")
P("Ours: the best two-task average at m = %g, %s of the binary weights switched. **Paper: best m "
  .. "= 0.005 with a switch rate of 3.48%%**; at m = 0.001 more than 45%% of the weights switch; "
  .. "large m about 1%% and the new task is no longer learnt. Data: `fig2b.csv`.", best.m,
  pct(best.switch))
P("")

P("## Fig. 2c: confusion matrices at m = 0 and at the best m")
P("")
P("![confusion](fig2c.png)")
P("")
local function old_tasks(ev)
  local s, n = 0, 0
  for t = 1, #ev.acc - 1 do s, n = s + ev.acc[t] * ev.counts[t], n + ev.counts[t] end
  return n > 0 and s / n or 0
end
P("%s, five tasks, task-IL (the prediction is restricted to the task's two classes, so "
  .. "forgetting shows as images given the other class of their pair): multitask average %s "
  .. "at m = 0 against %s at m = %g; on the four old tasks alone %s against %s, on the last "
  .. "task %s against %s. The paper's figure makes the same comparison (the cap protects the "
  .. "old tasks). Data: `fig2c_m0.csv`, `fig2c_best.csv` (counts of test images).",
  ds_label[sweep_ds], pct(CONF[1].ev.average), pct(CONF[2].ev.average), best.m,
  pct(old_tasks(CONF[1].ev)), pct(old_tasks(CONF[2].ev)), pct(CONF[1].ev.acc[5]),
  pct(CONF[2].ev.acc[5]))
P("")

P("## Fig. 2d: the methods compared")
P("")
P("![methods](fig2d.png)")
P("")
local paper_acc = {mnist = {mpcl = "97.0%", ewc = "99.0%", si = "95.7%", gem = "94.5%"},
                   fmnist = {mpcl = "97.7%"}}
local h = "| method |"
local sep = "|---|"
for _, d in ipairs(datasets) do
  h = h .. " " .. ds_label[d] .. " | paper |"
  sep = sep .. "---|---|"
end
P("%s", h .. " backward transfer (" .. datasets[1] .. ") |")
P("%s", sep .. "---|")
for _, m in ipairs(methods) do
  local line = "| " .. method_label[m] .. " |"
  for _, d in ipairs(datasets) do
    line = line .. " " .. pm(avgs(d, "task", m)) .. "% | " .. (paper_acc[d][m] or "") .. " |"
  end
  local b = {}
  for _, r in ipairs(R[datasets[1]].task[m]) do b[#b + 1] = r.bwt end
  P("%s", line .. " " .. pm(b) .. " points |")
end
P("")
do
  local diffs = {}
  if R.mnist then
    for _, m in ipairs({"mpcl", "ewc", "si", "gem"}) do
      local ours = mean_sd(avgs("mnist", "task", m))
      local paper = tonumber(paper_acc.mnist[m]:match("[%d.]+")) / 100
      diffs[#diffs + 1] = string.format("%s %+.1f", method_label[m], 100 * (ours - paper))
    end
  end
  P("Task-IL, test sets. The literature puts EWC and SI at about 98-99%% on task-IL "
    .. "5-split-MNIST (van de Ven & Tolias 2019); the paper reports EWC 99.0%%, GEM 94.5%%, SI "
    .. "95.7%%.%s The paper's settings for SI and GEM (c, memory size) are not in our copy; "
    .. "ours were chosen on the validation splits (README). Data: `methods.csv` (every run), "
    .. "`fig2d_*.csv`.", #diffs > 0 and (" Ours minus the paper's, in points (MNIST): "
    .. table.concat(diffs, ", ") .. ".") or "")
end
P("")
P("### Every scenario")
P("")
P("![scenarios](scenarios.png)")
P("")
P("| method |%s", (function()
  local s = ""
  for _, d in ipairs(datasets) do
    for _, sc in ipairs(scenarios) do s = s .. " " .. d .. " " .. sc .. "-IL |" end
  end
  return s
end)())
P("|---|%s", string.rep("---|", #datasets * #scenarios))
for _, m in ipairs(methods) do
  local line = "| " .. method_label[m] .. " |"
  for _, d in ipairs(datasets) do
    for _, sc in ipairs(scenarios) do line = line .. " " .. pm(avgs(d, sc, m)) .. "% |" end
  end
  P("%s", line)
end
P("")
P("Domain- and class-IL are where regularisation methods are known to fail (van de Ven & "
  .. "Tolias 2019): in class-IL only replay (GEM, A-GEM's memory) and Joint keep old classes; "
  .. "the paper reports task-IL only. Data: `scenarios_*.csv`.")
P("")

P("## Fig. 2e: noise robustness")
P("")
P("![noise](fig2e.png)")
P("")
local paper_tol = {mpcl = "36%", ewc = "13%", gem = "15%", si = "10%"}
local th = "| method |"
local tsep = "|---|"
for _, d in ipairs(datasets) do th = th .. " tolerance, " .. d .. " |"; tsep = tsep .. "---|" end
P("%s paper | MPCL / method (%s) |", th, datasets[1])
P("%s---|---|", tsep)
local mt = mean_sd(TOL[datasets[1]].mpcl)
for _, m in ipairs(methods) do
  local line = "| " .. method_label[m] .. " |"
  for _, d in ipairs(datasets) do line = line .. " " .. pm(TOL[d][m], 100, 1) .. "% |" end
  local tm = mean_sd(TOL[datasets[1]][m])
  line = line .. " " .. (paper_tol[m] or "") .. " | " ..
    ((m == "mpcl" or tm <= 0) and "" or string.format("%.1fx", mt / tm)) .. " |"
  P("%s", line)
end
P("")
P("Noise tolerance: the conductance noise rho (relative to the LRS-HRS window; float weights "
  .. "mapped onto the same window by each layer's largest |w|) at which the multitask average "
  .. "falls to 90%%, read off the sweep by linear interpolation (%d draws a point, step %g). "
  .. "**Paper: MPCL 36%%, EWC 13%%, GEM 15%%, SI 10%%.** A method already below 90%% without "
  .. "noise has tolerance 0. Data: `fig2e_*.csv`, `tolerance.csv`.", cfg.draws, cfg.step)
P("")

local cd = CHIP[chip_ds]
P("## Fig. 5a: the programmed array")
P("")
P("![array](fig5a.png)")
P("")
P("Weight mapping accuracy (pairs that read back with the intended sign): **%s** after "
  .. "programming, %s after fine-tuning re-programmed the last layer (paper: 99%%). The map, "
  .. "the histogram and the retention reads are taken after fine-tuning and the accuracy "
  .. "measurements, because reads move the cells. "
  .. "LRS mean %.1f uS (sd %.1f), HRS mean %.2f uS (sd %.2f), from `chip:histogram()`. The paper "
  .. "shows two narrow quasi-Gaussian distributions with the unformed state as HRS. Data: "
  .. "`fig5a_map.csv` (G+ - G- of the whole 512x512 array, uS), `fig5a_hist.csv`.",
  pct(cd.prog.mapping.all), pct(cd.ft.mapping), cd.hist.lrs_mean, cd.hist.lrs_sd, cd.hist.hrs_mean,
  cd.hist.hrs_sd)
P("")
P("## Fig. 5b: retention under repeated reads")
P("")
P("![retention](fig5b.png)")
P("")
local maxdev = 0
for _, v in ipairs(cd.retention.max_deviation) do maxdev = math.max(maxdev, v) end
P("Largest max conductance deviation (Gmax - Gmin) / Gmean over %d reads of 4 LRS cells: "
  .. "**%.1f%%** (paper: below 15%% over 10,000 reads). Data: `fig5b.csv`, "
  .. "`fig5b_deviation.csv`.", cfg.reads, 100 * maxdev)
P("")
P("## Fig. 5c: accuracy against parallelism, before and after in situ fine-tuning")
P("")
P("![parallelism](fig5c.png)")
P("")
local ph = "| p |"
local psep = "|---|"
for _, d in ipairs(datasets) do ph = ph .. " " .. d .. " before | " .. d .. " after |"; psep = psep .. "---|---|" end
P("%s ideal chip before | ideal chip after | worn chip before | worn chip after |", ph)
P("%s---|---|---|---|", psep)
for _, p in ipairs(ps) do
  local line = "| " .. p .. " |"
  for _, d in ipairs(datasets) do
    line = line .. " " .. pct(CHIP[d].before[p].average) .. " | " .. pct(CHIP[d].after[p].average) .. " |"
  end
  P("%s %s | %s | %s | %s |", line, pct(CHIP.ideal.before[p].average),
    pct(CHIP.ideal.after[p].average), pct(CHIP.worn.before[p].average),
    pct(CHIP.worn.after[p].average))
end
P("")
P("Fine-tuned at p = %d. **Paper, after fine-tuning at p = 16: 94.9%% (MNIST), 95.3%% "
  .. "(FashionMNIST).** The default simulated chip is the paper's board (`sim`, preset paper: "
  .. "line resistance solved as a resistive network for every group of p rows, a TIA gain and "
  .. "an ADC range fixed once, calibrated by `assets/scripts/calibrate.lua`): the column "
  .. "currents grow with p, so do the IR drop and the errors, and fine-tuning wins most of "
  .. "them back. The ideal chip (`%s`: no wires, a full scale that follows p) loses almost "
  .. "nothing at any p; the worn chip (`%s`) loses to its stuck cells and spread. Data: "
  .. "`fig5c.csv`.", cfg.p, others[1].uri, others[2].uri)
if cfg.chip ~= "sim" then
  P("")
  P("This report's chip columns (mnist, fmnist) come from `%s`, not the default chip.", cfg.chip)
end
P("")
local o1, o16 = CHIP[datasets[1]].ops[1], CHIP[datasets[1]].ops[cfg.p] or CHIP[datasets[1]].ops[16]
P("## Fig. 5d: operations against parallelism")
P("")
P("![operations](fig5d.png)")
P("")
P("Array operations per image: **%d at p = 1, %d at p = %d (%.1fx fewer)**; digital additions "
  .. "%d -> %d (%.1fx). **Paper: about 62,000 -> 3,600 (17x).** Data: `fig5c.csv` (columns "
  .. "array_ops, adds, conversions).", o1.array_ops, o16.array_ops, cfg.p,
  o1.array_ops / o16.array_ops, o1.adds, o16.adds, o1.adds / o16.adds)
P("")
P("## Fig. 5e: simulation against chip, task by task")
P("")
P("![simulation against chip](fig5e.png)")
P("")
P("| dataset | task | software | simulation | chip | chip, fine-tuned |")
P("|---|---|---|---|---|---|")
for _, d in ipairs(datasets) do
  local c = CHIP[d]
  for t = 1, #c.sw.acc do
    P("| %s | %d | %s | %s | %s | %s |", d, t, pct(c.sw.acc[t]), pct(c.sim.acc[t]),
      pct(c.before[cfg.p].acc[t]), pct(c.after[cfg.p].acc[t]))
  end
end
P("")
P("The paper shows the software simulation (WL/WR with Int) tracking the chip task by task "
  .. "(its numbers are not in our copy). Data: `fig5e.csv`.")
P("")
P("## Table 1: MAC energy per image and accuracy")
P("")
do
  local head, sep = "| method | weights, hardware | MAC energy per image | paper |", "|---|---|---|---|"
  for _, d in ipairs(datasets) do head = head .. " " .. ds_label[d] .. " |"; sep = sep .. "---|" end
  P("%s paper's accuracy |", head)
  P("%s---|", sep)
  local function row(name, hw, energy, paper_e, accs, paper_a)
    local line = string.format("| %s | %s | %s | %s |", name, hw, energy, paper_e)
    for _, d in ipairs(datasets) do line = line .. " " .. accs(d) .. " |" end
    P("%s %s |", line, paper_a)
  end
  local float_e = string.format("%.3g J", e.float_cmos)
  for _, m in ipairs({"ewc", "si", "gem", "agem", "joint"}) do
    row(method_label[m], "float32, CMOS", float_e, "5.4e-7 J",
        function(d) return pm(avgs(d, "task", m)) .. "%" end,
        ({ewc = "99.0% (MNIST)", si = "95.7% (MNIST)", gem = "94.5% (MNIST)"})[m] or "")
  end
  row("MPCL, software", "1 bit, digital", string.format("%.3g J", e.binary_digital), "2.7e-8 J",
      function(d) return pm(avgs(d, "task", "mpcl")) .. "%" end, "97.5% (MNIST, Table 1), 97.7% (FashionMNIST)")
  row(string.format("MPCL on the chip, fine-tuned, p = %d", cfg.p), "1 bit, RRAM pairs",
      string.format("**%.3g J** (%.0fx below float; %.3g J with the chip's measured conductances)",
                    e.rram, e.ratio, CHIP[chip_ds].energy_chip.rram), "2.3e-9 J (~200x)",
      function(d) return pct(CHIP[d].after[cfg.p].average) end, "94.9% (MNIST), 95.3% (FashionMNIST)")
  P("")
  P("%d MACs per image (192-256-256-10) for every method. Accuracies: task-IL multitask "
    .. "averages after the fifth task (chip: seed %d's net).", e.macs, cfg.seed)
  P("")
end
P("Float CMOS: 3.7 pJ per fp32 multiply + 0.9 pJ per add; 1-bit: 0.2 pJ + 0.03 pJ (45 nm, "
  .. "Horowitz 2014); RRAM: V_read^2 t_read sum(G) over the cells read, plus the partial-sum "
  .. "additions (README, the formulas). Data: `table1.csv`.")
P("")
P("## Files")
P("")
P("Every figure's numbers are in the CSV named beside it; `gp/*.gp` are the gnuplot scripts "
  .. "(`cd %s && gnuplot gp/fig2b.gp` renders one again). Run time: %.0f s.", out, elapsed)
write("report.md", table.concat(md, "\n") .. "\n")
print(string.format("wrote %s/report.md, %d files, in %.0f s", out, #written, elapsed))
return {files = written, seconds = elapsed}
