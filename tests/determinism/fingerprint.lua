-- Everything the lab computes, small: an MPCL experiment on binary and on float inputs,
-- the float baselines, the simulated chip (program, inference, fine-tuning) and a noise
-- sweep. Prints one line per result with every number in full precision (%a) and saves
-- the nets into out= (a directory), so that runs on other paths, kernels, thread counts
-- or CPUs can be compared line for line and byte for byte (tests/determinism/paths.sh).
local args = ...
local out = args and args.out or error("fingerprint.lua: out=DIR is required", 0)
local lines = {}
local function emit(tag, t)
  if type(t) == "userdata" then t = t:result() end -- a finished job: its result
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {tag}
  local function put(k, v)
    if type(v) == "number" then parts[#parts + 1] = k .. "=" .. string.format("%a", v)
    elseif type(v) == "table" then for i, x in ipairs(v) do put(k .. "[" .. i .. "]", x) end
    elseif type(v) ~= "function" and type(v) ~= "userdata" then
      parts[#parts + 1] = k .. "=" .. tostring(v) end
  end
  for _, k in ipairs(keys) do
    if k ~= "seconds" then put(k, t[k]) end
  end
  local line = table.concat(parts, " ")
  lines[#lines + 1] = line
  print(line)
end

-- Three tasks of 5-split-MNIST, a few hundred training images each.
local groups = {{0, 1}, {2, 3}, {4, 5}}
local function experiment(input, tag)
  local ds = lab.dataset("mnist", {input = input, threshold = 0.2})
  local exp = lab.experiment{ds = ds, groups = groups, epochs = 1, hidden = 32,
                             seed = 3, m = 0.005}
  for _ = 1, 3 do emit(tag .. ".step", exp:step()) end
  for i, row in ipairs(exp.matrix) do emit(tag .. ".matrix" .. i, row) end
  local net = exp:net()
  net:save(out .. "/" .. tag .. ".net")
  return net, lab.tasks(ds, {groups = groups, seed = 3})
end

local net = experiment("paper192", "binary")
experiment("float784", "float")

local ds = lab.dataset("mnist", {threshold = 0.2})
for _, method in ipairs({"none", "ewc", "si", "gem"}) do
  local b = lab.baseline{method = method, ds = ds, groups = groups, epochs = 1,
                         hidden = 32, seed = 3}
  b:run()
  for i, row in ipairs(b.matrix) do emit("baseline." .. method .. ".matrix" .. i, row) end
  emit("baseline." .. method .. ".weights2", b:weights(2)[1])
end

local seq = lab.tasks(ds, {groups = groups, seed = 3})
local sweep = lab.noise_sweep(net, seq, {step = 0.25, draws = 2, seed = 5})
emit("noise", {rho = sweep.rho, acc = sweep.acc, sd = sweep.sd})

-- The ideal chip: the lines of lab 0.2's default chip, unchanged.
local chip = lab.chip.open("sim", {preset = "ideal", id = 42})
emit("chip.program", {mapping = chip:program(net).mapping.all})
emit("chip.infer16", chip:infer(seq, {p = 16}))
emit("chip.simulate16", chip:infer(seq, {p = 16, simulate = true}))
local ft = lab.finetune(chip, net, seq, {p = 16, epochs = 1})
emit("chip.finetune", ft)
emit("chip.after16", chip:infer(seq, {p = 16}))
net:save(out .. "/finetuned.net")

-- The paper's board: line networks solved at every p, a fixed front end, fine-tuning
-- through groups of rows.
local board = lab.chip.open("sim", {id = 43})
local net2 = lab.load(out .. "/finetuned.net")
emit("board.program", {mapping = board:program(net2).mapping.all})
for _, p in ipairs{1, 16, 64} do emit("board.infer" .. p, board:infer(seq, {p = p})) end
emit("board.simulate16", board:infer(seq, {p = 16, simulate = true}))
emit("board.finetune", lab.finetune(board, net2, seq, {p = 16, epochs = 1}))
emit("board.after16", board:infer(seq, {p = 16}))
net2:save(out .. "/board.net")
