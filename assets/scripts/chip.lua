-- chip.lua: the hardware half of the paper on a chip (the simulated one by default).
--   build/mpcl assets/scripts/chip.lua [dataset=fmnist|mnist] [chip=sim|URI] [id=42]
--       (chip=sim is the paper's board; chip=sim:preset=ideal the ideal chip, =worn a worn one)
--       [seed=1] [epochs=20] [ps=1,2,4,8,16,32,64] [p=16] [draws=5] [step=0.05]
--       [noise=1] [out=FILE.json]
-- Trains the 5-split experiment (paper preset, mpcl m=0.005), programs the net into the
-- chip and measures: weight mapping accuracy; chip accuracy for each parallelism p before
-- and after in situ fine-tuning at p (the paper's Fig. 5c); operations per image against p
-- (Fig. 5d); the software simulation of the chip against the chip, task by task (Fig. 5e);
-- the noise sweep and the noise tolerance; the energy per image (Table 1).
local a = ... or {}
local function pick(k, default) if a[k] == nil then return default end return a[k] end

local cfg = {
  dataset = pick("dataset", "fmnist"),
  chip    = tostring(pick("chip", "sim")),
  id      = math.tointeger(pick("id", 42)),
  seed    = math.tointeger(pick("seed", 1)),
  epochs  = math.tointeger(pick("epochs", 20)),
  p       = math.tointeger(pick("p", 16)),
  draws   = math.tointeger(pick("draws", 5)),
  step    = pick("step", 0.05),
  noise   = pick("noise", 1) ~= 0,
  out     = a.out,
}
local ps = {}
for v in tostring(pick("ps", "1,2,4,8,16,32,64")):gmatch("[^,]+") do
  local p = math.tointeger(tonumber(v))
  if not p or p < 1 then error("chip.lua: ps must list positive integers, got " .. v, 0) end
  ps[#ps + 1] = p
end
if not cfg.id or not cfg.seed or not cfg.epochs or not cfg.p then
  error("chip.lua: id, seed, epochs and p must be integers", 0)
end

local names = {fmnist = "5-split-FashionMNIST", mnist = "5-split-MNIST"}
local function pct(x) return string.format("%6.2f%%", 100 * x) end

-- 1. Software: the 5-split experiment.
local t0 = lab.clock()
local exp = lab.experiment{dataset = cfg.dataset, seed = cfg.seed, epochs = cfg.epochs}
exp:run()
local net = exp:net()
local seq = lab.tasks(lab.dataset(cfg.dataset, {threshold = 0.2}), {seed = cfg.seed})
local sw = lab.evaluate(net, seq)
print(string.format("%s, mpcl m=0.005, paper preset, seed %d: software average %s (%.0f s)",
                    names[cfg.dataset] or cfg.dataset, cfg.seed, pct(sw.average), lab.clock() - t0))

-- 2. The chip: program, mapping accuracy.
local uri = cfg.chip
-- A simulated chip takes the id unless its URI names one (chip=sim:preset=ideal,id=7).
local is_sim = uri == "sim" or uri:match("^sim:")
local chip = lab.chip.open(uri, is_sim and not uri:match("[:,]id=") and {id = cfg.id} or nil)
print(tostring(chip))
local rep = chip:program(net)
print(string.format("programmed: %d cells, %d pulses, %d failed to verify; mapping accuracy %s",
                    rep.cells, rep.pulses, rep.failed, pct(rep.mapping.all)))

-- 3. Accuracy against p, before fine-tuning; operations per image.
local result = {dataset = cfg.dataset, chip = uri, id = cfg.id, seed = cfg.seed,
                epochs = cfg.epochs, p = cfg.p, software_average = sw.average,
                software_acc = sw.acc, mapping_accuracy = rep.mapping.all,
                mapping_layers = {rep.mapping[1], rep.mapping[2], rep.mapping[3]},
                program = {cells = rep.cells, pulses = rep.pulses, failed = rep.failed},
                chip_average = {}, finetuned_average = {}, ops_per_image = {}}
print("      p | chip before | chip after | array ops | additions")
local before = {}
for _, p in ipairs(ps) do
  local r = chip:infer(seq, {p = p})
  before[p] = r
  result.chip_average[tostring(p)] = r.average
  result.ops_per_image[tostring(p)] = r.ops_per_image
end

-- 4. Fig. 5e: the software simulation of the chip against the chip, task by task, at p.
local simr = chip:infer(seq, {p = cfg.p, simulate = true})
result.simulation_acc = simr.acc
result.simulation_average = simr.average
result.chip_acc = before[cfg.p] and before[cfg.p].acc or chip:infer(seq, {p = cfg.p}).acc

-- 5. In situ fine-tuning at p (all learnt tasks' training data), then the sweep again.
local ft = lab.finetune(chip, net, seq, {p = cfg.p})
result.finetune = {examples = ft.examples, flipped = ft.flipped, loss = ft.loss,
                   train_acc = ft.train_acc, mapping = ft.mapping, pulses = ft.pulses}
for _, p in ipairs(ps) do
  local r = chip:infer(seq, {p = p})
  result.finetuned_average[tostring(p)] = r.average
  local o = before[p].ops_per_image
  print(string.format("%7d | %s    | %s   | %9d | %9d", p, pct(before[p].average), pct(r.average),
                      o.array_ops, o.adds))
end
local sw_after = lab.evaluate(net, seq)
result.software_after_finetune = sw_after.average
print(string.format("fine-tuned at p = %d on %d examples: %d last-layer weights flipped, "
                    .. "re-programmed with %d pulses, mapping %s", cfg.p, ft.examples,
                    ft.flipped, ft.pulses, pct(ft.mapping)))
print("  task | simulation | chip (before fine-tuning, p = " .. cfg.p .. ")")
for t = 1, #seq do
  print(string.format("  %4d | %s    | %s", t, pct(simr.acc[t]), pct(result.chip_acc[t])))
end
local o1, op = lab.ops(net, {p = 1}), lab.ops(net, {p = cfg.p})
result.ops_fall = o1.array_ops / op.array_ops
print(string.format("array operations per image: %d at p = 1, %d at p = %d (%.1fx fewer); "
                    .. "additions %d -> %d (%.1fx)", o1.array_ops, op.array_ops, cfg.p,
                    result.ops_fall, o1.adds, op.adds, o1.adds / op.adds))

-- 6. Noise sweep on the software net: rho from 0 to 1, the tolerance at 90%.
if cfg.noise then
  local ns = lab.noise_sweep(net, seq, {step = cfg.step, draws = cfg.draws, seed = cfg.seed})
  result.noise = {rho = ns.rho, acc = ns.acc, sd = ns.sd}
  result.noise_tolerance = ns.tolerance
  print(string.format("noise tolerance (accuracy falls to 90%%): rho = %s%s", pct(ns.tolerance),
                      ns.reached and "" or " (not reached: a lower bound)"))
end

-- 7. Energy per image (MACs): Table 1 and the chip's array.
local e = lab.energy(net, {p = cfg.p})
local ec = lab.energy(net, {p = cfg.p, chip = chip})
result.energy_j = {float_cmos = e.float_cmos, binary_digital = e.binary_digital, rram = e.rram,
                   rram_measured = ec.rram, ratio = e.ratio}
print(string.format("energy per image: float CMOS %.2g J, 1-bit digital %.2g J, RRAM %.2g J "
                    .. "(%.0fx below float; with the chip's measured conductances %.2g J)",
                    e.float_cmos, e.binary_digital, e.rram, e.ratio, ec.rram))
print(string.format("total %.0f s", lab.clock() - t0))
if cfg.out then
  lab.write_json(cfg.out, result)
  print("wrote " .. cfg.out)
end
return result
