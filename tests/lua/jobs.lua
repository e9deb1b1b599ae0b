-- Jobs (background work on the worker thread), busy objects, net files.
local function check(cond, what) if not cond then error("check failed: " .. what, 2) end end
local function fails_with(pattern, f, ...)
  local ok, err = pcall(f, ...)
  check(not ok and tostring(err):find(pattern, 1, true), "expected an error with " .. pattern ..
        ", got " .. tostring(err))
end

local ds = lab.dataset("mnist", {threshold = 0.2})

-- Headless default: the call waits; the handle is done and reads its result.
check(lab.background() == false, "headless scripts wait by default")
local exp = lab.experiment{ds = ds, epochs = 2, hidden = 32, seed = 5}
local j = exp:step()
check(tostring(j):find("^job %d+ exp:step done"), "a finished handle: " .. tostring(j))
check(j.state == "done" and j.task == 1 and j.average > 0.9, "fields read through the result")
check(j:result().task == 1 and j:wait().task == 1, "result and wait agree")

-- Background: the call returns at once; the object is busy until the job is seen to end.
lab.background(true)
local epochs = {}
local j2 = exp:step(function(p) epochs[#epochs + 1] = p.epoch end)
check(j2.id == j.id + 1 and j2.name == "exp:step", "ids count up")
local st = j2.state
check(st == "queued" or st == "running" or st == "done", "a live state: " .. st)
fails_with("busy with job " .. j2.id, exp.back, exp)
fails_with("busy with job " .. j2.id, function() return exp.matrix end)
local p = j2:progress()
check(p.state and p.fraction >= 0 and p.fraction <= 1 and p.seconds >= 0, "progress fields")
local jobs = lab.jobs()
check(#jobs <= 1, "at most this job is active")
local r = j2:wait()
check(r.task == 2 and #r.acc == 2 and #epochs == 2, "waited: task 2, both epochs reported")
check(j2:progress().fraction == 1 and j2.state == "done", "finished progress")
check(#exp.matrix == 2 and exp:back() == true and exp.learnt == 1, "idle again after the wait")
check(#lab.jobs() == 0, "no active jobs")

-- Cancelling: a queued step behind a running one, and the running one.
local ja = exp:step()
local jb = exp:step()
check(jb:cancel() == true and ja:cancel() == true, "both could be cancelled")
check(ja:wait() == nil and jb:wait() == nil, "cancelled steps have no result")
check(ja.state == "cancelled" and jb.state == "cancelled", "states say cancelled: " .. ja.state .. " " .. jb.state)
check(exp.learnt == 1, "a cancelled step is undone")
check(ja:cancel() == false, "cancelling a finished job says so")
local jc = exp:step()
check(lab.cancel() == 1 and jc:wait() == nil, "lab.cancel stops every job")

-- A trainer's learn is a job too; its net is busy meanwhile.
local net = lab.net{sizes = {ds.dim, 24, 24, 10}, binary = true, seed = 2}
local seq = lab.tasks(ds, {seed = 2})
local tr = lab.trainer(net, seq, {epochs = 1, patience = 0})
local jl = tr:learn(1)
fails_with("busy with job " .. jl.id, lab.evaluate, net, seq)
fails_with("busy", net.copy, net)
check(jl.epochs == 1 and not jl.cancelled, "learn's result through the handle")
check(lab.evaluate(net, seq, {upto = 1}).acc[1] > 0.85, "net idle and trained")
lab.background(false)

-- A progress callback that fails cancels its job; the error is reported, the lab goes on.
local tr3 = lab.trainer(net, seq, {epochs = 3, patience = 0})
local jf = tr3:learn(2, function() error("boom") end)
check(jf.state == "cancelled" and jf.cancelled == true and jf.epochs == 1, "a failing callback cancels")

-- Weights and net files.
local w = net:weights(1)
check(#w == 24 and #w[1] == ds.dim and math.type(w[1][1]) == "float", "hidden weights")
local b = net:weights(1, "binary")
check(b[3][7] == (w[3][7] >= 0 and 1 or -1), "binary weights are the signs")
fails_with("layer 4 out of range 1-3", net.weights, net, 4)
fails_with("invalid option 'float'", net.weights, net, 1, "float")
local path = os.tmpname()
net:save(path)
local back = lab.load(path)
check(tostring(back) == tostring(net), "same shape")
local e1, e2 = lab.evaluate(net, seq, {upto = 2}), lab.evaluate(back, seq, {upto = 2})
check(e1.acc[1] == e2.acc[1] and e1.acc[2] == e2.acc[2], "a loaded net predicts the same")
check(back:weights(2)[5][9] == net:weights(2)[5][9], "weights bit for bit")

-- Damaged files are clear errors.
local f = assert(io.open(path, "rb")); local bytes = f:read("a"); f:close()
local function write(s) local g = assert(io.open(path, "wb")); g:write(s); g:close() end
write(bytes:sub(1, #bytes - 10))
fails_with("truncated", lab.load, path)
write(bytes:sub(1, 60) .. string.char((bytes:byte(61) + 1) % 256) .. bytes:sub(62))
fails_with("checksum mismatch", lab.load, path)
write("hello")
fails_with("not an MPCL Lab file", lab.load, path)
os.remove(path)
fails_with("cannot open", lab.load, path)
fails_with("cannot create", net.save, net, "/nonexistent-dir/x.net")
print("jobs ok")
