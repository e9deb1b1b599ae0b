-- lab.ui.snapshot headless: after a short experiment and a chip programmed, a panel and
-- "all" panels become PNGs (signature, IHDR of the size asked, the panel's title in tEXt);
-- unknown panel, unwritable path, no gnuplot and bad options are one-line errors; a failed
-- snapshot leaves an older file of that name as it was and no temporary file.
local function check(cond, what) if not cond then error("check failed: " .. what, 2) end end
local function fails_with(pattern, f, ...)
  local ok, err = pcall(f, ...)
  check(not ok and tostring(err):find(pattern, 1, true) and not tostring(err):find("\n"),
        "expected a one-line error with " .. pattern .. ", got " .. tostring(err))
end
local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
-- A PNG's width, height and its tEXt chunks (keyword -> text), CRCs not checked here
-- (tests/unit/test_gnuplot.c does).
local function png(path)
  local s = slurp(path)
  check(s and s:sub(1, 8) == "\137PNG\r\n\26\n", path .. " has a PNG signature")
  check(s:sub(13, 16) == "IHDR", path .. " starts with IHDR")
  local w, h = string.unpack(">I4>I4", s, 17)
  local text, at = {}, 9
  while at < #s do
    local len, kind = string.unpack(">I4c4", s, at)
    if kind == "tEXt" then
      local k, v = s:sub(at + 8, at + 7 + len):match("^([^%z]+)%z(.*)$")
      text[k] = v
    end
    at = at + 12 + len
  end
  return w, h, text
end

local bin = io.popen("readlink /proc/$PPID/exe"):read("l") -- this mpcl (plain or ASan)
local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p '" .. tmp .. "'")

-- Nothing to show yet: a figure all the same, with the panel's title.
local p = lab.ui.snapshot("map", tmp .. "/empty.png", {width = 400, height = 300})
check(p == tmp .. "/empty.png", "returns the path")
local w, h, text = png(p)
check(w == 400 and h == 300, "size asked: " .. w .. "x" .. h)
check(text.Title == "conductance map" and text.Software:find("^MPCL Lab "), "empty map's title")

local ds = lab.dataset("mnist", {threshold = 0.2})
local exp = lab.experiment{ds = ds, epochs = 1, hidden = 16, seed = 3}
exp:step()
exp:step()
lab.evaluate(exp:net(), lab.tasks(ds, {seed = 3}), {confusion = true})
local chip = lab.chip.open("sim", {preset = "ideal", id = 7})
chip:program(exp:net())

p = lab.ui.snapshot("map", tmp .. "/map.png")
w, h, text = png(p)
check(w == 2000 and h == 1250, "default size: " .. w .. "x" .. h)
check(text.Title == "conductance map", "map title " .. tostring(text.Title))
check(text.Description == "conductance map: weight, chip sim id 7, rows 0-191 cols 0-41",
      "map description " .. tostring(text.Description))
lab.ui.show("map", {mode = "G+"})
w, h, text = png(lab.ui.snapshot("map", tmp .. "/gpos.png", {width = 640, height = 400, font = 9}))
check(w == 640 and h == 400 and text.Description:find("conductance map: G+, ", 1, true),
      "the map's mode: " .. tostring(text.Description))
lab.ui.show("map", {mode = "weight"})

local titles = {map = "conductance map", switch = "weight-switch rate per layer",
                matrix = "accuracy matrix", confusion = "confusion matrix",
                curves = "training curves", device = "device: LRS/HRS and retention"}
local paths = lab.ui.snapshot("all", tmp .. "/figs/a/")
check(#paths == #lab.ui.panels(), "one figure per panel")
for i, name in ipairs(lab.ui.panels()) do
  check(paths[i] == tmp .. "/figs/a/" .. name .. ".png", "path " .. tostring(paths[i]))
  w, h, text = png(paths[i])
  check(w == 2000 and h == 1250 and text.Title == titles[name], name .. "'s figure")
end
w, h, text = png(tmp .. "/figs/a/matrix.png")
check(text.Description == "accuracy matrix after 2 tasks", "matrix: " .. text.Description)
w, h, text = png(tmp .. "/figs/a/switch.png")
check(text.Description == "weight-switch rate per layer, 2 epochs", "switch: " .. text.Description)

-- Errors: one line each, nothing written.
fails_with("lab.ui.snapshot: no panel 'maps' (lab.ui.panels() lists them)",
           lab.ui.snapshot, "maps", tmp .. "/x.png")
fails_with("lab.ui.snapshot: cannot write '" .. tmp .. "/nodir/x.png': No such file or directory",
           lab.ui.snapshot, "map", tmp .. "/nodir/x.png")
fails_with("lab.ui.snapshot: unknown option 'depth' (width, height, font)",
           lab.ui.snapshot, "map", tmp .. "/x.png", {depth = 3})
fails_with("lab.ui.snapshot: width must be an integer from 200 to 10000, got 50",
           lab.ui.snapshot, "map", tmp .. "/x.png", {width = 50})
fails_with("lab.ui.snapshot: height must be an integer from 200 to 10000, got 1.5",
           lab.ui.snapshot, "map", tmp .. "/x.png", {height = 1.5})
fails_with("lab.ui.snapshot: options must be a table", lab.ui.snapshot, "map", tmp .. "/x.png", 7)
check(not slurp(tmp .. "/x.png"), "nothing written by a refused call")

-- In a child mpcl: gnuplot not on PATH; then a gnuplot that fails, and one that writes junk.
local function child(path_env, chunk)
  local cmd = string.format("cd '%s' && PATH='%s' '%s' - 2>&1 <<'EOF'\n%s\nEOF\n", tmp, path_env,
                            bin, chunk)
  local f = io.popen(cmd)
  local out = f:read("a")
  f:close()
  return out
end
local out = child("/nonexistent", "lab.ui.snapshot('map', 'nogp.png')")
check(out:find("lab.ui.snapshot: gnuplot not found on PATH (apt-get install gnuplot-nox)", 1,
               true), "no gnuplot: " .. out)
os.execute("mkdir -p '" .. tmp .. "/fake'")
local fake = io.open(tmp .. "/fake/gnuplot", "w")
fake:write("#!/bin/sh\nout=$(sed -n \"s/^set output '\\(.*\\)'$/\\1/p\" \"$1\")\n",
           "echo junk > \"$out\"\n",
           "[ -n \"$FAKE_OK\" ] && exit 0\n",
           "echo \"         plot x\" >&2\necho \"\\\"$1\\\" line 3: boom here\" >&2\nexit 1\n")
fake:close()
os.execute("chmod +x '" .. tmp .. "/fake/gnuplot'")
local keep = io.open(tmp .. "/keep.png", "w")
keep:write("older")
keep:close()
out = child(tmp .. "/fake:/usr/bin:/bin", "lab.ui.snapshot('map', 'keep.png')")
check(out:find("lab.ui.snapshot: gnuplot failed on the map: line 3: boom here", 1, true),
      "gnuplot's error line: " .. out)
out = io.popen("cd '" .. tmp .. "' && FAKE_OK=1 PATH='" .. tmp .. "/fake:/usr/bin:/bin' '" .. bin ..
               "' - 2>&1 <<'EOF'\nlab.ui.snapshot('matrix', 'keep.png')\nEOF\n"):read("a")
check(out:find("lab.ui.snapshot: gnuplot wrote no valid PNG for the matrix (too short or unreadable)",
               1, true), "junk refused: " .. out)
check(slurp(tmp .. "/keep.png") == "older", "the older file kept")
local left = io.popen("ls -A '" .. tmp .. "' | grep -c tmp-"):read("l")
check(left == "0", "no temporary file left: " .. left)

os.execute("rm -rf '" .. tmp .. "'")
print("snapshot ok")
