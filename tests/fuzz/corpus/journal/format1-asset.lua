-- MPCL Lab session journal, format 1
-- version: 0.2.0
-- date: 2026-12-04T19:46:58Z
-- seed: 1
-- threads: 1
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

-- [chunk 1] 2026-12-04T19:46:58Z
do
return -- The paper's 5-split-FashionMNIST run, stepped task by task (as typed in the REPL).
end

-- [chunk 2] 2026-12-04T19:46:58Z
do
exp = lab.experiment{dataset = "fmnist", rule = "mpcl", m = 0.005, epochs = 20}
end

-- [chunk 3] 2026-12-04T19:47:03Z
do
for t = 1, #exp do
  local r = exp:step()
  print(string.format("after task %d: average %.2f%%, switch rate %.2f%%", t, 100 * r.average, 100 * r.switch_rate))
end
end
--| step task=1 average=0.977000 acc=0.977000 switch_rate=0.226997 epochs=20
--| step task=2 average=0.971250 acc=0.978000,0.964500 switch_rate=0.038687 epochs=20
--| step task=3 average=0.979833 acc=0.978000,0.964500,0.997000 switch_rate=0.001697 epochs=20
--| step task=4 average=0.984375 acc=0.978000,0.964500,0.997000,0.998000 switch_rate=0.001791 epochs=20
--| step task=5 average=0.986900 acc=0.978000,0.964500,0.997000,0.998000,0.997000 switch_rate=0.001578 epochs=20

-- [chunk 4] 2026-12-04T19:47:03Z
do
return exp.matrix
end

-- [chunk 5] 2026-12-04T19:47:03Z
do
ev = lab.evaluate(exp:net(), lab.tasks(lab.dataset("fmnist", {threshold = 0.2})), {confusion = true})
end
--| evaluate test average=0.986900 acc=0.978000,0.964500,0.997000,0.998000,0.997000

-- [chunk 6] 2026-12-04T19:47:03Z
do
return ev.average
end
