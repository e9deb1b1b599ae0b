-- MPCL Lab session journal, format 1

-- [chunk 1] t
do
print(os.getenv("HOME"))
end
-- [chunk 2] t
do
io.open("/tmp/x", "w")
end
-- [chunk 3] t
do
require("cjson")
end
-- [chunk 4] t
do
debug.sethook()
end
-- [chunk 5] t
do
dofile("/etc/passwd")
end
-- [chunk 6] t
do
load(string.dump(print))
end
-- [chunk 7] t
do
load("\27Lua\84\0")
end
-- [chunk 8] t
do
load("return 1", "x", "b")
end
-- [chunk 9] t
do
lab.write_json("/tmp/evil.json", {})
end
-- [chunk 10] t
do
lab.write_json("../evil.json", {})
end
-- [chunk 11] t
do
while true do end
end
-- [chunk 12] t
do
local t = {} for i = 1, 1e7 do t[i] = string.rep("x", 100) .. i end
end
-- [chunk 13] t
do
print("still here", load("return 6 * 7")())
end
