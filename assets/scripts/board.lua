-- board.lua: the paper's hardware figures on a chip, over seeds: chip.lua for each data set
-- and seed (seeds 1-3 on chip ids 42-44 by default), then the mean and the spread (sample
-- standard deviation) of each figure.
--   build/mpcl assets/scripts/board.lua [chip=sim] [datasets=fmnist,mnist] [seeds=1,2,3]
--       [epochs=20] [ps=1,4,16,64] [p=16] [out=FILE.json]
-- Prints, per data set: software average; mapping accuracy; chip accuracy at each p before
-- fine-tuning and after in situ fine-tuning at p; the gain at p.
local a = ... or {}
local function pick(k, default) if a[k] == nil then return default end return a[k] end
local function list(s, what, number)
  local t = {}
  for v in tostring(s):gmatch("[^,]+") do
    local x = v
    if number then x = math.tointeger(tonumber(v)) end
    if x == nil then error("board.lua: " .. what .. " must be a comma-separated list, got " .. s, 0) end
    t[#t + 1] = x
  end
  return t
end
local datasets = list(pick("datasets", "fmnist,mnist"), "datasets")
local seeds = list(pick("seeds", "1,2,3"), "seeds", true)
local ps = pick("ps", "1,4,16,64")
local p = math.tointeger(tonumber(pick("p", 16)))
-- chip.lua beside this script (the source tree's assets/scripts/ or an installed share/mpcl/scripts/)
local here = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
local chip_lua = assert(loadfile(here .. "chip.lua"))

local function stats(xs)
  local m = 0
  for _, x in ipairs(xs) do m = m + x end
  m = m / #xs
  local v = 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  return m, #xs > 1 and math.sqrt(v / (#xs - 1)) or 0
end
local function fmt(xs) local m, s = stats(xs) return string.format("%6.2f +- %4.2f%%", 100 * m, 100 * s) end

local all = {}
for _, d in ipairs(datasets) do
  local runs = {}
  for _, s in ipairs(seeds) do
    runs[#runs + 1] = chip_lua({dataset = d, seed = s, id = 41 + s, chip = pick("chip", "sim"),
                                epochs = pick("epochs", 20), ps = ps, p = p, noise = 0})
  end
  all[d] = runs
end
print(string.format("\n%s, seeds %s (chip ids %d-%d): mean +- sd over seeds", pick("chip", "sim"),
                    table.concat(seeds, ","), 41 + seeds[1], 41 + seeds[#seeds]))
local summary = {}
for _, d in ipairs(datasets) do
  local runs, col = all[d], {}
  local function gather(f) local t = {} for _, r in ipairs(runs) do t[#t + 1] = f(r) end return t end
  col.software = gather(function(r) return r.software_average end)
  col.mapping = gather(function(r) return r.mapping_accuracy end)
  print(string.format("%s: software %s, mapping %s", d, fmt(col.software), fmt(col.mapping)))
  summary[d] = {software = {stats(col.software)}, mapping = {stats(col.mapping)}, before = {},
                after = {}}
  for _, q in ipairs(list(ps, "ps", true)) do
    local b = gather(function(r) return r.chip_average[tostring(q)] end)
    local f = gather(function(r) return r.finetuned_average[tostring(q)] end)
    print(string.format("  p = %2d: before %s   after fine-tuning at p = %d %s", q, fmt(b), p, fmt(f)))
    summary[d].before[tostring(q)] = {stats(b)}
    summary[d].after[tostring(q)] = {stats(f)}
  end
  local gain = gather(function(r)
    return r.finetuned_average[tostring(p)] - r.chip_average[tostring(p)]
  end)
  print(string.format("  fine-tuning gain at p = %d: %s", p, fmt(gain)))
  summary[d].gain = {stats(gain)}
end
if a.out then lab.write_json(a.out, summary) print("wrote " .. a.out) end
