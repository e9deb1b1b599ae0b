-- Reproducer (plugins/chip.c, scripting/lab.c; not fixed here): messages copy bytes from the
-- caller's strings to the terminal as they are (here an ANSI escape that turns the text red).
-- Run: build/mpcl tests/fuzz/found/lab-raw-bytes-in-errors.lua | cat -v
print(pcall(lab.chip.open, "\27[31msim"))            -- chip.c: "chip '%s': unknown kind"
print(pcall(lab.chip.open, "sim:bogus\27[31m=1"))   -- chip.c: "chip %s: ..." (sim's part is escaped)
print(pcall(lab.net, {["\27[31mred"] = 1, sizes = {2, 2}}))  -- lab_check_options: "unknown option '%s'"
print(pcall(lab.dataset, "\27[31mx"))               -- l_dataset: "unknown data set '%s'"
