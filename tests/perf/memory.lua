-- Peak memory with both benchmark data sets loaded, from the kernel's high-water mark of
-- this process. input= chooses the form (default float784, the largest: bytes per pixel;
-- the paper preset packs 192 bits per image).
local a = ... or {}
local input = a.input or "float784"
local sets = {}
for _, name in ipairs{"fmnist", "mnist"} do
  sets[#sets + 1] = lab.dataset(name, {input = input})
end
local f = assert(io.open("/proc/self/status"))
local hwm
for line in f:lines() do
  local kb = line:match("^VmHWM:%s+(%d+) kB")
  if kb then hwm = tonumber(kb) end
end
f:close()
for _, ds in ipairs(sets) do print(tostring(ds)) end
print(string.format("peak_rss_mb: %.1f", hwm / 1024))
