-- check_files.lua: checks the files a report wrote.
--   build/mpcl tests/report/check_files.lua f1=a.png f2=b.png c1=t.csv [min_idat=2000]
-- f<N>: a whole, valid PNG: the signature, every chunk's length and CRC-32, IHDR first with
-- a non-zero size, at least one IDAT, IEND last with nothing after it; and enough compressed
-- pixels to hold a drawn figure (not an empty canvas).
-- c<N>: a CSV (RFC 4180 quoting): a header of distinct non-empty names, at least one row,
-- every row as long as the header, no empty, nan or inf field in a numeric column.
-- m<N>: a bare numeric matrix (no header) of rows x cols numbers (keys rows=, cols=).
-- Prints one line per file; errors name the file and the problem.
local a = ... or {}
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1) ~= 0 and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  crc_table[i] = c
end
local function crc32(s, c)
  c = c ~ 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end
local min_idat = math.tointeger(tonumber(a.min_idat or 2000))
local function check(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local data = f:read("a")
  f:close()
  if data:sub(1, 8) ~= "\137PNG\r\n\26\n" then return nil, "no PNG signature" end
  local pos, first, idat, w, h = 9, true, 0, nil, nil
  while true do
    if pos + 11 > #data then return nil, "truncated: no IEND" end
    local len, typ = string.unpack(">I4c4", data, pos)
    if len > #data - pos - 11 then return nil, "chunk " .. typ .. " runs past the end" end
    local body = data:sub(pos + 8, pos + 7 + len)
    local crc = string.unpack(">I4", data, pos + 8 + len)
    if crc32(typ .. body, 0) ~= crc then return nil, "bad CRC in chunk " .. typ end
    if first then
      if typ ~= "IHDR" or len ~= 13 then return nil, "IHDR is not the first chunk" end
      w, h = string.unpack(">I4I4", body)
      if w == 0 or h == 0 then return nil, "zero size" end
      first = false
    end
    if typ == "IDAT" then idat = idat + len end
    pos = pos + 12 + len
    if typ == "IEND" then
      if pos ~= #data + 1 then return nil, "data after IEND" end
      break
    end
  end
  if idat < min_idat then return nil, string.format("only %d bytes of pixels: blank?", idat) end
  return string.format("%dx%d, %d bytes of pixels", w, h, idat)
end
-- One CSV record from line (quoted fields may hold commas and doubled quotes).
local function fields(line)
  local out, pos = {}, 1
  while true do
    local v
    if line:sub(pos, pos) == '"' then
      local i, buf = pos + 1, {}
      while true do
        local q = line:find('"', i, true)
        if not q then return nil, "unterminated quote" end
        buf[#buf + 1] = line:sub(i, q - 1)
        if line:sub(q + 1, q + 1) == '"' then buf[#buf + 1] = '"'; i = q + 2 else pos = q + 1; break end
      end
      v = table.concat(buf)
    else
      local c = line:find(",", pos, true) or #line + 1
      v = line:sub(pos, c - 1)
      pos = c
    end
    out[#out + 1] = v
    if pos > #line then return out end
    if line:sub(pos, pos) ~= "," then return nil, "text after a closing quote" end
    pos = pos + 1
  end
end
local function check_csv(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local rows = {}
  for line in f:lines() do rows[#rows + 1] = line end
  f:close()
  if #rows < 2 then return nil, "no rows under the header" end
  local head, e = fields(rows[1])
  if not head then return nil, "header: " .. e end
  local seen = {}
  for _, h in ipairs(head) do
    if h == "" or seen[h] then return nil, "empty or repeated column name '" .. h .. "'" end
    seen[h] = true
  end
  local numeric = {}
  for i = 1, #head do numeric[i] = true end
  local parsed = {}
  for n = 2, #rows do
    local r, e2 = fields(rows[n])
    if not r then return nil, "line " .. n .. ": " .. e2 end
    if #r ~= #head then return nil, string.format("line %d: %d fields, header %d", n, #r, #head) end
    for i, v in ipairs(r) do if v ~= "" and not tonumber(v) then numeric[i] = false end end
    parsed[#parsed + 1] = r
  end
  for n, r in ipairs(parsed) do
    for i, v in ipairs(r) do
      local x = tonumber(v)
      if numeric[i] and (v == "" or x ~= x or x == math.huge or x == -math.huge) then
        return nil, string.format("line %d, column %s: '%s' in a numeric column", n + 1, head[i], v)
      end
    end
  end
  return string.format("%d rows of %d columns", #parsed, #head)
end
local function check_matrix(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local n, want_r, want_c = 0, math.tointeger(tonumber(a.rows)), math.tointeger(tonumber(a.cols))
  for line in f:lines() do
    n = n + 1
    local k = 0
    for v in (line .. ","):gmatch("([^,]*),") do
      k = k + 1
      local x = tonumber(v)
      if not x or x ~= x or x == math.huge or x == -math.huge then
        f:close()
        return nil, string.format("line %d, field %d: '%s' is not a number", n, k, v)
      end
    end
    if want_c and k ~= want_c then f:close() return nil, string.format("line %d: %d numbers, not %d", n, k, want_c) end
  end
  f:close()
  if n == 0 or (want_r and n ~= want_r) then return nil, string.format("%d rows, not %s", n, tostring(want_r)) end
  return string.format("a %d-row matrix", n)
end
local bad = 0
local names = {}
for k, v in pairs(a) do if k:match("^[fcm]%d+$") then names[#names + 1] = k:sub(1, 1) .. v end end
table.sort(names)
for _, kp in ipairs(names) do
  local p = kp:sub(2)
  local ok, err
  local kind = kp:sub(1, 1)
  if kind == "f" then ok, err = check(p)
  elseif kind == "c" then ok, err = check_csv(p)
  else ok, err = check_matrix(p) end
  if ok then print(p .. ": ok, " .. ok) else print(p .. ": " .. err); bad = bad + 1 end
end
if bad > 0 or #names == 0 then error(string.format("check_files: %d of %d files bad", bad, #names), 0) end
