-- lab.sweep from a headless script: a sweep started with wait = false moves on while the
-- script polls s:progress() (no console drains it), s:wait() returns the records in point
-- order; lab.rank() without mpirun is 0, 1.
local function check(ok, what) if not ok then error("check failed: " .. what, 2) end end
local dir = os.tmpname()
os.remove(dir)
local rank, size = lab.rank()
check(rank == 0 and size == 1, "lab.rank() is 0, 1 without mpirun")
local s = lab.sweep{grid = {k = {1, 2, 3, 4}}, out = dir, workers = 2, wait = false, quiet = true,
  run = function(p) local t = lab.clock() while lab.clock() - t < 0.2 do end return {k2 = p.k * p.k} end}
check(tostring(s):find("lab.sweep"), "the handle says what it is")
local polls, t0 = 0, lab.clock()
while s:progress().state == "running" and lab.clock() - t0 < 60 do
  polls = polls + 1
  local t = lab.clock()
  while lab.clock() - t < 0.02 do end
end
local p = s:progress()
check(p.state == "finished", "the sweep finished while the script polled: " .. tostring(p.state))
check(p.done == 4 and p.total == 4 and p.failed == 0 and p.running == 0, "progress counts")
check(p.last and p.last.result and p.last.result.k2, "progress().last is a record")
check(polls > 3, "the script polled while workers ran")
local r = s:wait()
check(#r == 4, "four records")
for i, rec in ipairs(r) do
  check(rec.index == i and rec.point.k == i and rec.result.k2 == i * i, "record " .. i)
end
os.execute("rm -rf '" .. dir .. "'")
print("sweep.lua: ok")
