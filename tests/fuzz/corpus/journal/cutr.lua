-- MPCL Lab session journal, format 2
-- version: 0.3.0
-- date: 2026-12-05T00:00:54Z
-- seed: 3
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

-- [chunk 1] 2026-12-05T00:00:54Z code=64 results=0
do
exp = lab.experiment{dataset = "mnist", epochs = 1, hidden = 24}
end

-- [chunk 2] 2026-12-05T00:00:54Z code=14 results=1
do
j = exp:step()
end
--| step task=1 average=0.998109 acc=0.998109 switch_rate=0.133296 epochs=1

-- [chunk 3] 2026-12-05T00:00:54Z code=16 results=0
do
return j.average
end

-- [chunk 4] 2026-12-05T00:00:56Z code=32 results=2
do
for i = 1, 2 do
  exp:step()
end
end
--| step task=2 average=0.962473 acc=0.977778,0.946621 switch_rate=0.143805 epochs=1
--| step task=3 average=0.935002 acc=0.985816,0.901567,0.914088 switch_rate=0.072824 epochs=1

-- [chunk 5] 2026-12-05T00:00:56Z code=92 results=1
do
ev = lab.evaluate(exp:net(), lab.tasks(lab.dataset("mnist", {threshold = 0.2})), {upto = 3})
end
--| evaluate test av