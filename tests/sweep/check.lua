-- Checks of a sweep's directory for the tests in tests/sweep/ (not a test itself); run by
-- lua5.4 with lua-cjson, apart from the lab, so that the files are read as any reader would.
--   lua5.4 check.lua files DIR N         the files of a sweep of tests/sweep/sweep.lua with
--                                        N points, all run: one line per check, exit 1 if any failed
--   lua5.4 check.lua csv DIR [COL ...]   DIR/results.csv without the columns named (seconds
--                                        always: it is the one that differs between runs)
--   lua5.4 check.lua ids DIR             the ids of the good run files in DIR/runs, one a line
--   lua5.4 check.lua table DIR           DIR/results.json as "ID M SEED OK ATTEMPTS
--                                        RESULT.ISEED RESULT.LABSEED RESULT.DRAW ERROR" lines
local cjson = require("cjson")
local mode, dir = arg[1], arg[2]

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end
-- lua-cjson (2.1) decodes every number as a float: integral ones printed as integers.
local function num(x)
  if type(x) == "number" and x == math.floor(x) and math.abs(x) < 2^53 then return string.format("%d", math.tointeger(x)) end
  return tostring(x)
end
local function integral(x) return type(x) == "number" and x == math.floor(x) end
local function json(path)
  local s, err = read(path)
  if not s then return nil, err end
  local ok, v = pcall(cjson.decode, s)
  if not ok then return nil, path .. ": " .. tostring(v) end
  return v
end

-- RFC 4180 rows: a list of lists of fields.
local function csv_rows(text)
  local rows, row, field, i, n = {}, {}, {}, 1, #text
  local quoted = false
  while i <= n do
    local c = text:sub(i, i)
    if quoted then
      if c == '"' and text:sub(i + 1, i + 1) == '"' then field[#field + 1] = '"'; i = i + 1
      elseif c == '"' then quoted = false
      else field[#field + 1] = c end
    elseif c == '"' then quoted = true
    elseif c == "," then row[#row + 1] = table.concat(field); field = {}
    elseif c == "\n" or c == "\r" then
      if c == "\r" and text:sub(i + 1, i + 1) == "\n" then i = i + 1 end
      row[#row + 1] = table.concat(field); field = {}
      rows[#rows + 1] = row; row = {}
    else field[#field + 1] = c end
    i = i + 1
  end
  if #field > 0 or #row > 0 then row[#row + 1] = table.concat(field); rows[#rows + 1] = row end
  return rows
end
local function csv_field(s)
  if s:find('[",\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

if mode == "csv" then
  local text, err = read(dir .. "/results.csv")
  if not text then io.stderr:write("check.lua: ", err, "\n") os.exit(1) end
  local drop = {seconds = true}
  for i = 3, #arg do drop[arg[i]] = true end
  local rows = csv_rows(text)
  local keep = {}
  for j, name in ipairs(rows[1] or {}) do if not drop[name] then keep[#keep + 1] = j end end
  for _, r in ipairs(rows) do
    local out = {}
    for _, j in ipairs(keep) do out[#out + 1] = csv_field(r[j] or "") end
    print(table.concat(out, ","))
  end
  os.exit(0)
end

if mode == "ids" then
  -- ls in Lua: the run files are %04d.json; try the ids in order up to the first gap of 1000
  local miss = 0
  for i = 1, 1000000 do
    local id = string.format("%04d", i)
    local r = json(dir .. "/runs/" .. id .. ".json")
    if r then
      miss = 0
      if r.ok == true then print(id) end
    else
      miss = miss + 1
      if miss > 1000 then break end
    end
  end
  os.exit(0)
end

if mode == "table" then
  local res, err = json(dir .. "/results.json")
  if not res then io.stderr:write("check.lua: ", tostring(err), "\n") os.exit(1) end
  for _, r in ipairs(res) do
    local p, x = r.point or {}, r.result or {}
    if type(x) ~= "table" then x = {} end
    print(string.format("%s %g %s %s %s %s %s %s %s", tostring(r.id), p.m or -1, num(p.seed),
      tostring(r.ok), num(r.attempts), num(x.iseed), num(x.labseed), num(x.draw),
      r.error and tostring(r.error):gsub("%s+", "_") or "-"))
  end
  os.exit(0)
end

if mode ~= "files" then io.stderr:write("check.lua: mode files, csv or ids\n") os.exit(2) end
local n = math.tointeger(tonumber(arg[3]))
local fails = 0
local function check(name, ok, why)
  if ok then print("ok   " .. name) else print("FAIL " .. name .. (why and (": " .. why) or "")) fails = fails + 1 end
end
local function same(a, b) -- deep equality of decoded JSON
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local man, err = json(dir .. "/manifest.json")
check("manifest.json parses", man, err)
man = man or {}
check("manifest: format \"mpcl-sweep 1\"", man.format == "mpcl-sweep 1", tostring(man.format))
check("manifest: lab version", type(man.lab) == "string" and #man.lab > 0, tostring(man.lab))
-- the spec says {path, crc32}; the lab writes the script's file name (name): either names it
check("manifest: the script's path or name and crc32", type(man.script) == "table" and
  type(man.script.path or man.script.name) == "string" and type(man.script.crc32) == "number",
  man.script and cjson.encode(man.script) or "no script")
check("manifest: " .. n .. " points", type(man.points) == "table" and #man.points == n,
  type(man.points) == "table" and tostring(#man.points) or "no points")

local res
res, err = json(dir .. "/results.json")
check("results.json parses", res, err)
res = res or {}
check("results.json: " .. n .. " records", #res == n, tostring(#res))
for i = 1, n do
  local id = string.format("%04d", i)
  local r = res[i] or {}
  local run, rerr = json(dir .. "/runs/" .. id .. ".json")
  local problems = {}
  if r.id ~= id then problems[#problems + 1] = "id " .. tostring(r.id) end
  if not integral(r.index) or r.index ~= i then problems[#problems + 1] = "index " .. tostring(r.index) end
  if man.points and not same(r.point, man.points[i]) then problems[#problems + 1] = "point differs from the manifest's" end
  if r.ok ~= true then problems[#problems + 1] = "ok " .. tostring(r.ok) end
  if type(r.seconds) ~= "number" or r.seconds < 0 then problems[#problems + 1] = "seconds " .. tostring(r.seconds) end
  if not integral(r.attempts) or r.attempts < 1 then problems[#problems + 1] = "attempts " .. tostring(r.attempts) end
  if type(r.result) ~= "table" then problems[#problems + 1] = "no result"
  else
    local x = r.result
    if x.name ~= "p" .. id then problems[#problems + 1] = "result.name " .. tostring(x.name) end
    if x.gone ~= nil and x.gone ~= cjson.null then problems[#problems + 1] = "NaN stored as " .. tostring(x.gone) .. ", not null" end
    if type(x.big) ~= "table" or #x.big ~= 40 then problems[#problems + 1] = "result.big is not the 40-list" end
    if type(r.point) == "table" and type(r.point.m) == "number" and x.third ~= r.point.m / 3 then
      problems[#problems + 1] = "third " .. string.format("%.17g", x.third or 0) .. " is not m/3 exactly"
    end
  end
  if not run then problems[#problems + 1] = "runs/" .. id .. ".json: " .. tostring(rerr)
  elseif not same(run, r) then problems[#problems + 1] = "runs/" .. id .. ".json differs from its record" end
  check("record " .. id, #problems == 0, table.concat(problems, "; "))
end

local text
text, err = read(dir .. "/results.csv")
check("results.csv exists", text, err)
local rows = csv_rows(text or "")
local head = rows[1] or {}
local want = {"id", "B", "m", "seed", "ok", "seconds", "attempts", "error"}
local lead = {}
for j = 1, #want do lead[j] = head[j] or "" end
check("csv: id, the point keys sorted, ok, seconds, attempts, error first",
  table.concat(lead, ",") == table.concat(want, ","), table.concat(lead, ","))
local has = {}
for _, h in ipairs(head) do has[h] = (has[h] or 0) + 1 end
local dup = {}
for h, c in pairs(has) do if c > 1 then dup[#dup + 1] = h end end
check("csv: column names distinct", #dup == 0, table.concat(dup, " "))
for _, c in ipairs({"sum", "third", "name", "flag", "acc.1", "acc.2", "acc.3", "nested.x.y", "iseed", "draw"}) do
  check("csv: column " .. c, has[c], nil)
end
local bigcols = {}
for h in pairs(has) do if h:match("^big") then bigcols[#bigcols + 1] = h end end
check("csv: no column of the 40-list", #bigcols == 0, table.concat(bigcols, " "))
check("csv: " .. n .. " rows", #rows == n + 1, tostring(#rows - 1))
local short = 0
for i = 2, #rows do if #rows[i] ~= #head then short = short + 1 end end
check("csv: every row as long as the header", short == 0, short .. " rows differ")
for i = 2, #rows do
  if rows[i][1] ~= string.format("%04d", i - 1) then
    check("csv: rows in point order", false, "row " .. (i - 1) .. " is " .. tostring(rows[i][1]))
    break
  end
end
os.exit(fails == 0 and 0 or 1)
