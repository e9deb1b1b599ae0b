-- Reproducer (scripting/lab.c, lab_chip.c, lab_experiment.c; not fixed here): integer options
-- are read as lua_Integer and cast to int without a range check, so 2^32 + k passes as k.
-- Run: build/mpcl tests/fuzz/found/lab-int-truncation.lua  (each line should be an error)
print(pcall(function() return tostring(lab.net{sizes = {4294967297, 2}}) end))  -- a 1-input net
print(pcall(function() return lab.ops({192, 8, 10}, {p = 4294967312}).array_ops end))  -- p = 16
