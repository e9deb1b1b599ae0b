-- The sweep the tests in tests/sweep/ run (not a test itself): cheap points whose results
-- depend on the point and on the seeds lab.sweep sets, nothing else.
--   build/mpcl tests/sweep/sweep.lua out=DIR [n=3] [list=1] [workers=1] [retries=R]
--       [backend=B] [chunk=C] [array_max=A] [threads=T] [force=1] [cost=1] [wait=0]
--       [quiet=0] [pcall=1] [second=DIR2]
-- Points: the grid {B = {true}, m = {0, 0.005, 2, ...} (n values), seed = {1, 2}}: keys in
-- byte order B, m, seed, so seed varies fastest; list=1: the same points as an explicit
-- list, reversed. The knobs that change between the runs of one sweep are in the
-- environment (a manifest could hold the script's arguments):
--   SWEEP_LOG=FILE     every call of run() appends "ID ATTEMPT PID RANK THREADS" (the tests'
--                      counter; RANK from Open MPI's environment or -, THREADS lab.threads())
--   SWEEP_MASTER=FILE  the script's process appends "PID RANK" before the sweep
--   SWEEP_AFTER=FILE   after the sweep, "after N" appended (only by a process that goes on)
--   SWEEP_SLEEP=S      run() busy-waits S seconds
--   SWEEP_FAIL_ONCE=ID run() of that point raises on its first attempt
--   SWEEP_FAIL=ID      ... on every attempt
--   SWEEP_PRINT=1      run() prints a line (to the worker's log when in a worker)
-- After the sweep: one line per record on stdout ("rec ID INDEX ok|err ATTEMPTS ERROR
-- RESULT", the result in canonical text). pcall=1: lab.sweep's error is printed as
-- "raised: MESSAGE" (newlines as \n) and the script ends with exit status 0. second=DIR2:
-- then the same sweep again into DIR2 (run() logging to SWEEP_LOG2), "second N" printed.
local a = ... or {}
local n = math.tointeger(a.n or 3)
local function env(k) -- an empty variable is an unset one
  local v = os.getenv(k)
  if v == "" then return nil end
  return v
end
local log, after = env("SWEEP_LOG"), env("SWEEP_AFTER")
local sleep = tonumber(env("SWEEP_SLEEP") or "0")
local failonce, failalways = env("SWEEP_FAIL_ONCE"), env("SWEEP_FAIL")

local ms = {}
for i = 1, n do ms[i] = ({0, 0.005, 2, 0.25, 7, 1e-3, 3, 0.5, 11, 13})[(i - 1) % 10 + 1] + (i > 10 and i or 0) end

-- A canonical text of a value: sorted keys, integers and floats told apart.
local function canon(v)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. "=" .. canon(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "number" then
    return (math.type(v) == "integer" and "i" or "f") .. string.format("%.17g", v)
  end
  return t:sub(1, 1) .. tostring(v)
end

local function pid()
  local f = io.open("/proc/self/stat")
  if not f then return "?" end
  local p = f:read("n")
  f:close()
  return p
end

local function append(file, line)
  local f = assert(io.open(file, "a"))
  f:write(line, "\n")
  f:close() -- one short write in append mode: lines of concurrent processes do not mix
end

if env("SWEEP_MASTER") then
  append(env("SWEEP_MASTER"), pid() .. " " .. (env("OMPI_COMM_WORLD_RANK") or "-"))
end

local spec = {
  out = a.out,
  retries = a.retries,
  workers = a.workers or 1, -- workers=default: lab.sweep's default
  backend = a.backend,
  chunk = a.chunk,
  array_max = a.array_max,
  threads = a.threads,
  force = a.force == 1 or a.force == "true",
  quiet = a.quiet ~= 0,
  wait = a.wait ~= 0,
}
if spec.workers == "default" then spec.workers = nil end
if a.list == 1 then
  spec.points = {}
  for i = n, 1, -1 do
    for s = 2, 1, -1 do spec.points[#spec.points + 1] = {B = true, m = ms[i], seed = s} end
  end
else
  spec.grid = {seed = {1, 2}, m = ms, B = {true}}
end
if a.cost == 1 then spec.cost = function(p) return p.m end end

spec.run = function(p, info)
  if log then
    append(log, string.format("%s %d %s %s %s", info.id, info.attempt, pid(),
      env("OMPI_COMM_WORLD_RANK") or "-", tostring(lab.threads())))
  end
  if env("SWEEP_PRINT") == "1" then print("point " .. info.id .. " says hello") end
  if sleep > 0 then
    local t = lab.clock() + sleep
    while lab.clock() < t do end
  end
  if info.id == failonce and info.attempt == 1 then error("flaky point " .. info.id) end
  if info.id == failalways then error("broken point " .. info.id .. " attempt " .. info.attempt) end
  assert(info.id == string.format("%04d", info.index), "info.id " .. tostring(info.id))
  local big = {}
  for i = 1, 40 do big[i] = i end
  return {
    sum = p.m * 10 + p.seed,          -- an integer for m = 0 and 2, a float otherwise
    third = p.m / 3,                  -- a float that must round-trip exactly
    name = "p" .. info.id,
    flag = p.B,
    acc = {0.5, p.seed, 1 / 3},       -- a list: acc.1 acc.2 acc.3 in the CSV
    nested = {x = {y = p.seed}},
    big = big,                        -- longer than 32: not in the CSV
    gone = 0 / 0,                     -- NaN becomes null (nil)
    iseed = info.seed,
    labseed = lab.seed(),
    draw = math.random(1, 1000000000),
  }
end

local res
if a.pcall == 1 then
  local ok, e = pcall(lab.sweep, spec)
  if not ok then print("raised: " .. tostring(e):gsub("\n", "\\n")) return end
  res = e
else
  res = lab.sweep(spec)
end
if spec.wait == false then
  local s = res
  local pr = s:progress()
  print("progress total " .. pr.total)
  res = s:wait()
end
for _, r in ipairs(res) do
  print(string.format("rec %s %s %s %s %s %s", r.id, canon(r.index), r.error and "err" or "ok",
    canon(r.attempts), r.error and r.error:gsub("%s+", "_") or "-", canon(r.result)))
end
if after then append(after, "after " .. #res) end
if a.second then
  log = env("SWEEP_LOG2")
  spec.out = a.second
  print("second " .. #lab.sweep(spec))
end
