-- API misuse: every function and method of the lab called with wrong kinds of arguments
-- (nothing, wrong types, huge and negative integers, NaN, bogus option tables, callbacks).
-- Each call must return or raise a one-line error naming the function: never a crash, a
-- hang or a message spilling raw bytes. Long work returns a job at once (lab.background)
-- and is cancelled after each call.
lab.background(true)
local ds = lab.dataset("mnist")
local seq = lab.tasks(ds, {seed = 3})
local net = lab.net{sizes = {192, 16, 10}}
local tr = lab.trainer(net, seq, {epochs = 1})
local exp = lab.experiment{dataset = "mnist", hidden = 16, epochs = 1}
local base = lab.baseline{method = "ewc", dataset = "mnist", hidden = 16, epochs = 1}
local chip = lab.chip.open("sim", {rows = 64, cols = 64})
local job = exp:step()
job:wait()

local values = {
  "nil", 0, -1, 1, 7, 2^31, -2^31 - 1, 2^53, math.maxinteger, math.mininteger, 0/0, 1/0,
  "", "x", "pos", string.rep("z", 5000), "\255\254bytes", true, {}, {1, 2}, {bogus = 1},
  {sizes = {2^40, 3}}, {row = 2^31}, {p = -5}, {layer = math.maxinteger},
  function() return "stop" end, function() error("cb") end, ds, net, chip, job,
  setmetatable({}, {__len = function() return 2^40 end}),
}
local function arg(v) if v == "nil" then return nil end return v end

local calls, errors = 0, 0
local function try(name, f, ...)
  calls = calls + 1
  local raw = false -- an argument's own bytes may come back in its error
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "string" and (v:find("[\128-\255]") or #v > 1000) then raw = true end
  end
  local ok, err = pcall(f, ...)
  lab.cancel()
  for _, j in ipairs(lab.jobs()) do pcall(j.wait, j) end
  if not ok then
    errors = errors + 1
    local msg = tostring(err)
    assert(not msg:find("\n"), name .. ": a multi-line error: " .. msg)
    assert(raw or not msg:find("[\128-\255]"), name .. ": raw bytes in an error: " .. msg)
    assert(raw or #msg < 2000, name .. ": an error of " .. #msg .. " bytes")
  end
end

local skip = {["lab.threads"] = true, ["lab.seed"] = true, ["lab.background"] = true,
              ["lab.ui.pause"] = true, ["lab.chip:close"] = true, ["lab.write_json"] = true,
              ["lab.net:save"] = true}
local function sweep(name, f, self)
  if skip[name] then return end
  for _, a in ipairs(values) do
    if self ~= nil then try(name, f, self, arg(a)) else try(name, f, arg(a)) end
    for _, b in ipairs{"nil", 1, -1, 2^31, {}, "x", {bogus = 1}} do
      if self ~= nil then try(name, f, self, arg(a), arg(b)) else try(name, f, arg(a), arg(b)) end
    end
  end
  if self ~= nil then try(name, f, self, 0, 0, 2^31 - 1, 2^31 - 1) end
end

for k, f in pairs(lab) do
  if type(f) == "function" then sweep("lab." .. k, f) end
  if type(f) == "table" then
    for k2, g in pairs(f) do if type(g) == "function" then sweep("lab." .. k .. "." .. k2, g) end end
  end
end
for _, obj in ipairs{seq, net, tr, exp, base, chip, job} do
  local mt = debug.getmetatable(obj)
  local methods = type(mt.__index) == "table" and mt.__index or mt.__methods
  for k, f in pairs(methods) do sweep(mt.__name .. ":" .. k, f, obj) end
end
-- The objects still work after all that.
assert(net:sizes()[2] == 16 and chip:info().rows == 64 and #seq == 5)
print(string.format("misuse ok: %d calls, %d one-line errors", calls, errors))

-- Regressions from tests/fuzz/found (the luaopts target and a reading of the code):
-- integers beyond 32 bits are errors, never truncated; the caller's bytes in a message are
-- shown escaped.
local function fails(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok and tostring(err):find(pattern, 1, true), "expected '" .. pattern .. "', got " .. tostring(err))
end
fails("layer sizes must be positive and fit in 32 bits", lab.net, {sizes = {4294967297, 2}})
fails("option 'p' is out of range (4294967312 does not fit in 32 bits)", lab.ops, {192, 8, 10}, {p = 4294967312})
fails("block at (2147483647, 0) of 1 x 1 cells leaves the 64 x 64 array", chip.read, chip, "pos", 2147483647, 0)
fails("integer out of range", chip.read, chip, "pos", 2^32 + 3, 0)
fails("chip URI: a control byte (\\x1b) at offset 0", lab.chip.open, "\27[31msim")
fails("unknown option '\\x1b[31mred'", lab.net, {["\27[31mred"] = 1, sizes = {2, 2}})
fails("unknown data set '\\x1b[31mx'", lab.dataset, "\27[31mx")
print("regressions ok")
