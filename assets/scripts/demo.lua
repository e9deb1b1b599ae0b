-- demo.lua: the bench demo, in the console (`make run`, `build/mpcl --demo`).
-- keys: dataset=fmnist|mnist epochs=20 chip=sim|URI snapshots=DIR. Steps through
-- 5-split-FashionMNIST task by task, programs the simulated chip, shows its map full screen,
-- runs it at several parallelisms, fine-tunes it in situ and runs it again, pausing for a key
-- between steps; ends by writing every panel as a PNG (lab.ui.snapshot) into DIR (default
-- snapshots-YYYYmmdd-HHMMSS in the current directory). The panels follow along: training
-- curves, switch rates and the hidden weights on the map while a task is learnt, the
-- accuracy matrix after each step, the conductance map and the device view once the chip is
-- programmed, the confusion matrix of the last evaluation.
local a = ... or {}
local dataset = a.dataset or "fmnist"
local epochs = math.tointeger(a.epochs or 20)
local uri = a.chip or "sim"                 -- or tcp://127.0.0.1:7070, serial:/dev/pts/N
local function say(fmt, ...) print(string.format(fmt, ...)) end
local function pause(msg) lab.ui.pause(msg or "press a key for the next step") end

lab.ui.layout("default")
say("MPCL on %s: a metaplastic binary net learns five tasks one after another.", dataset)
local exp = lab.experiment{dataset = dataset, epochs = epochs}
local seq = lab.tasks(lab.dataset(dataset, {threshold = 0.2}))
pause("press a key to learn task 1")
for t = 1, #exp do
  local r = exp:step():wait()
  say("task %d learnt: multitask average %.2f%%, %.2f%% of binary weights switched",
      t, 100 * r.average, 100 * r.switch_rate)
  if t < #exp then pause(string.format("press a key to learn task %d", t + 1)) end
end
local net = exp:net()
lab.evaluate(net, seq, {confusion = true})
lab.ui.show("confusion")
pause("press a key to program the simulated chip")

local is_sim = uri == "sim" or uri:match("^sim:")
local chip = lab.chip.open(uri, is_sim and not uri:match("[:,]id=") and {id = 42} or nil)
local rep = chip:program(net)
say("programmed %d cells with %d pulses; weight mapping accuracy %.2f%%", rep.cells, rep.pulses,
    100 * rep.mapping.all)
chip:histogram()
chip:retention(1, 10000)
lab.ui.layout("chip")
lab.ui.zoom("map")
pause("the programmed pairs full screen (F3 then wheel, +/-, drag: zoom and pan); a key goes on")
lab.ui.zoom(false)
pause("press a key to run the test sets on the chip")
for _, p in ipairs{1, 16, 64} do
  local r = chip:infer(seq, {p = p}):wait()
  say("chip at parallelism %2d: %.2f%% (%d array operations an image)", p, 100 * r.average,
      r.ops_per_image.array_ops)
end
pause("press a key to fine-tune the last layer in situ")
local ft = lab.finetune(chip, net, seq, {p = 16}):wait()
say("fine-tuned on %d examples: %d weights flipped and re-programmed", ft.examples, ft.flipped)
local r = chip:infer(seq, {p = 16}):wait()
say("chip at parallelism 16 after fine-tuning: %.2f%%", 100 * r.average)
local e = lab.energy(net, {p = 16})
say("energy per image: %.1e J on the chip, %.0fx below float CMOS", e.rram, e.ratio)
lab.ui.layout("default")
local ok, shots = pcall(lab.ui.snapshot, "all", a.snapshots)
if ok then
  local dir, names = shots[1]:match("^(.*)/[^/]*$") or ".", {}
  for i, path in ipairs(shots) do names[i] = path:match("[^/]*$") end
  say("snapshots of every panel in %s/: %s", dir, table.concat(names, ", "))
else
  say("no snapshots: %s", shots)
end
say("The demo is over; the lab is yours (help() lists it).")
