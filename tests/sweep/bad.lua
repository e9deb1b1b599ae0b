-- Bad input to lab.sweep for tests/sweep/errors.sh (not a test itself).
--   build/mpcl tests/sweep/bad.lua case=NAME [retries=R] [direct=1]
-- Calls lab.sweep with the case's spec under pcall and prints "raised: MESSAGE" (newlines
-- as \n) or "returned N records"; every call of run() appends "ID ATTEMPT" to SWEEP_LOG.
-- direct=1: no pcall, the script ends with lab.sweep's error.
local a = ... or {}
local log = os.getenv("SWEEP_LOG")
local function run(p, info)
  if log then
    local f = assert(io.open(log, "a"))
    f:write(info.id, " ", info.attempt, "\n")
    f:close()
  end
  if p.ret == "function" and info.index == 2 then return {acc = {x = {function() end}}} end
  if p.ret == "mixed" and info.index == 2 then return {acc = {1, 2, x = 3}} end
  if p.ret == "userdata" and info.index == 2 then return {out = {io.stdout}} end
  return {v = info.index}
end
local good = {m = {1, 2, 3}}
local cases = {
  empty_grid = {grid = {}, run = run, out = "o"},
  empty_value = {grid = {m = {1}, seed = {}}, run = run, out = "o"},
  grid_scalar = {grid = {m = 3}, run = run, out = "o"},
  grid_map = {grid = {m = {a = 1, b = 2}}, run = run, out = "o"},
  grid_table_value = {grid = {m = {1, {2}}}, run = run, out = "o"},
  no_run = {grid = good, out = "o"},
  run_string = {grid = good, run = "run", out = "o"},
  both = {grid = good, points = {{m = 1}}, run = run, out = "o"},
  neither = {run = run, out = "o"},
  empty_points = {points = {}, run = run, out = "o"},
  point_table = {points = {{m = 1}, {m = {2}}}, run = run, out = "o"},
  point_function = {points = {{m = 1}, {m = print}}, run = run, out = "o"},
  no_out = {grid = good, run = run},
  out_under_file = {grid = good, run = run, out = "file/sub"},
  out_is_file = {grid = good, run = run, out = "file"},
  result_function = {grid = {ret = {"function"}, m = {1, 2, 3}}, run = run, out = "o"},
  result_mixed = {grid = {ret = {"mixed"}, m = {1, 2, 3}}, run = run, out = "o"},
  result_userdata = {grid = {ret = {"userdata"}, m = {1, 2, 3}}, run = run, out = "o"},
}
local spec = cases[a.case]
if not spec then error("bad.lua: no case " .. tostring(a.case), 0) end
spec.workers = 1
spec.quiet = true
spec.retries = a.retries
if a.direct == 1 then lab.sweep(spec) print("returned") return end -- the error as the lab prints it
local ok, res = pcall(lab.sweep, spec)
if ok then print("returned " .. #res .. " records")
else print("raised: " .. tostring(res):gsub("\n", "\\n")) end
