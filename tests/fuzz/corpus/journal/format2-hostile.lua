-- MPCL Lab session journal, format 2
-- version: 0.3.0
-- date: 2026-12-05T00:01:12Z
-- seed: 1
-- threads: 2
-- cpu: AMD EPYC
-- isa: avx512
-- libraries: glibc 2.36, zlib 1.2.13, Lua 5.4.4
-- data: mnist/train-images-idx3-ubyte crc32=e9f4d8b3
-- data: mnist/train-labels-idx1-ubyte crc32=e0cb4ad2
-- data: mnist/t10k-images-idx3-ubyte crc32=91373bdf
-- data: mnist/t10k-labels-idx1-ubyte crc32=4ab9eff9
-- data: fmnist/train-images-idx3-ubyte.gz crc32=39b5f967
-- data: fmnist/train-labels-idx1-ubyte.gz crc32=11c7bd79
-- data: fmnist/t10k-images-idx3-ubyte.gz crc32=f3050a72
-- data: fmnist/t10k-labels-idx1-ubyte.gz crc32=8f874fbb
-- chip: none
-- Replay: mpcl --replay FILE [--step] [--verify] [--trust]

-- [chunk 1] 2026-12-05T00:01:12Z code=131 results=0
do
x = [[
--| step task=1 average=1
--! boom
-- [chunk 7] 2026-01-01T00:00:00Z code=3 results=0
do
end
-- [after chunk 1] results=9
]]
end

-- [chunk 2] 2026-12-05T00:01:12Z code=22 results=0
do
return #x, x:sub(1, 3)
end

-- [chunk 3] 2026-12-05T00:01:12Z code=48 results=0
do
y = [[ab]] -- CR inside a line-- and a comment
end

-- [chunk 4] 2026-12-05T00:01:12Z code=9 results=0
do
return #y
end

-- [chunk 5] 2026-12-05T00:01:12Z code=69 results=0
do
z = [==[ÿşÃ not UTF-8 ]] --[[ ]==] --[[ a comment
--| in a comment
]]
end

-- [chunk 6] 2026-12-05T00:01:12Z code=9 results=0
do
return #z
end

-- [chunk 7] 2026-12-05T00:01:12Z code=31 results=1
do
return error("back\\slash \\n")
end
--! stdin:1: back\\slash \\n

-- [chunk 8] 2026-12-05T00:01:12Z code=24 results=1
do
return #x + #y + #z + #w
end
--! stdin:1: attempt to get length of a nil value (global 'w')
