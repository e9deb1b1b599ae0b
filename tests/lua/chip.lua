-- Chips from Lua: opening, programming, mapping, inference as jobs, fine-tuning, the
-- device views, noise sweeps, energy and operation counts, and their errors.
local function check(cond, what) if not cond then error("check failed: " .. what, 2) end end
local function fails_with(pattern, f, ...)
  local ok, err = pcall(f, ...)
  check(not ok and tostring(err):find(pattern, 1, true), "expected an error with " .. pattern ..
        ", got " .. tostring(err))
end

fails_with("unknown kind", lab.chip.open, "toaster")
fails_with("options must be a table", lab.chip.open, "sim", 3)
fails_with("unknown option", lab.chip.open, "sim", {colour = "red"})
fails_with("cannot open shared object", lab.chip.open, "plugin:/nonexistent/x.so")

local ds = lab.dataset("mnist", {threshold = 0.2})
local exp = lab.experiment{ds = ds, epochs = 2, hidden = 64, seed = 4}
exp:run()
local net = exp:net()
local seq = lab.tasks(ds, {seed = 4})
local soft = lab.evaluate(net, seq).average

local chip = lab.chip.open("sim", {id = 42})
check(tostring(chip):find("simulated TaOx RRAM chip, id 42"), tostring(chip))
fails_with("no net programmed", chip.infer, chip, seq)
local info = chip:info()
check(info.rows == 512 and info.cols == 512 and #info.caps == 5, "info")
local rep = chip:program(net)
check(rep.cells == 2 * (192 * 64 + 64 * 64 + 64 * 10), "both cells of every weight")
check(rep.mapping.all >= 0.99 and #rep.mapping == 3, "mapping accuracy >= 99%: " .. rep.mapping.all)
check(#chip:info().layers == 3 and chip:info().layers[2].col == 64, "placement inspectable")

-- Inference is a job; the chip is busy meanwhile.
lab.background(true)
local j = chip:infer(seq, {p = 16})
fails_with("busy with job", chip.map, chip, {layer = 3})
local r = j:wait()
lab.background(false)
check(r.p == 16 and #r.acc == 5, "a result per task")
check(math.abs(r.average - soft) < 0.02, string.format("chip %.4f near software %.4f", r.average, soft))
check(r.ops_per_image.array_ops == lab.ops(net, {p = 16}).array_ops, "ops per image")
local sim = chip:infer(seq, {p = 16, simulate = true})
check(math.abs(sim.average - r.average) < 0.01, "simulation close to the chip")
fails_with("p must be 1-512", chip.infer, chip, seq, {p = 0})
fails_with("upto must be 1-5", chip.infer, chip, seq, {upto = 7})
local fl = lab.dataset("mnist", {input = "float784"})
fails_with("binary inputs", chip.infer, chip, lab.tasks(fl))

-- Device views.
local m = chip:map({layer = 3})
check(#m.pos == 64 and #m.pos[1] == 10 and #m.neg == 64, "a layer's map")
local h = chip:histogram({bins = 40})
check(#h.edges == 41 and #h.lrs == 40 and h.lrs_mean > 10 * h.hrs_mean, "LRS above HRS")
local ret = chip:retention(8, 10000)
for k = 1, 8 do
  check(ret.max_deviation[k] > 0 and ret.max_deviation[k] < 0.15,
        "LRS max deviation over 10,000 reads below 15%: " .. ret.max_deviation[k])
end
check(#ret.trace == 8 and #ret.trace[1] == 200, "traces kept every 50th read")
local t0 = chip:get("time_s")
chip:set("time_s", t0 + 1e4)
check(chip:get("time_s") == t0 + 1e4, "time passes")
fails_with("cannot go back", chip.set, chip, "time_s", 0)
fails_with("no parameter", chip.get, chip, "colour")
check(chip:params().adc_bits == 14, "parameters listed")
chip:pulse("pos", 511, 511, "form")
check(chip:read("pos", 511, 511) > h.lrs_mean / 2, "a formed cell reads LRS")
fails_with("invalid option 'melt'", chip.pulse, chip, "pos", 0, 0, "melt")

-- Fine-tuning: the net given becomes the fine-tuned one; results are recorded.
local other = lab.net{sizes = {192, 32, 10}, binary = true}
fails_with("not the one programmed", lab.finetune, chip, other, seq)
local ft = lab.finetune(chip, net, seq, {p = 16, epochs = 1, replay = 500})
check(ft.examples == 2500 and ft.epochs == 1 and ft.mapping >= 0.99, "fine-tuned on a replay buffer")
local after = chip:infer(seq, {p = 16})
check(after.average > soft - 0.03, "accuracy after fine-tuning")

-- The same chip id and calls give the same results.
local function run(id)
  local c = lab.chip.open("sim", {id = id, stuck = 0.1, noise = 0.05})
  c:program(net)
  local v = c:infer(seq, {p = 16, upto = 2}).average
  c:close()
  return v
end
check(run(7) == run(7), "same chip id, same results")
fails_with("closed", function() local c = lab.chip.open("sim"); c:close(); return c:info() end)

-- Noise sweep, energy, operation counts.
local ns = lab.noise_sweep(net, seq, {step = 0.25, draws = 1, upto = 2})
check(#ns.rho == 5 and ns.acc[1] > ns.acc[5], "accuracy falls with noise")
local e = lab.energy({192, 256, 256, 10})
check(string.format("%.1e", e.float_cmos) == "5.4e-07" and string.format("%.1e", e.binary_digital) == "2.7e-08", "Table 1")
check(e.rram > 0 and e.ratio > 100, "RRAM energy below float")
local ec = lab.energy(net, {chip = chip})
check(ec.rram > 0 and ec.g_lrs > ec.g_hrs, "energy from the chip's conductances")
local o1, o16 = lab.ops({192, 256, 256, 10}, {p = 1}), lab.ops({192, 256, 256, 10}, {p = 16})
check(o1.array_ops == 58624 and o16.array_ops == 3664, "operation counts")
fails_with("layer sizes must be positive", lab.ops, {192, -3, 10})
print("chip ok")
