#!/usr/bin/env bash
# Does a change leave the paper's results as they were? Builds REV (any revision git knows)
# in a temporary worktree, runs `paper.lua quick=1` with it and then with build/mpcl (one
# after the other, one process each), and compares every CSV they wrote: byte for byte, and,
# where the bytes differ, column by column without the timing columns (a header naming
# "seconds").
#   tests/perf/same_report.sh REV [OUT_DIR]
# Ends with one line: "same_report: N CSVs, B byte-identical, T identical apart from timing
# columns, D different" and exits 1 when D > 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
rev=${1:?usage: tests/perf/same_report.sh REV [OUT_DIR]}
out=${2:-$(mktemp -d /tmp/mpcl-same-report.XXXXXX)}
git rev-parse --verify -q "$rev^{commit}" >/dev/null || { echo "same_report: $rev is not a revision of this repository" >&2; exit 2; }
[ -x build/mpcl ] || { echo "same_report: build/mpcl is missing (run make)" >&2; exit 2; }
tree="$out/tree"
git worktree add -f --detach "$tree" "$rev" >/dev/null 2>&1 || { echo "same_report: cannot check out $rev into $tree" >&2; exit 2; }
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
echo "same_report: building $rev ($(git rev-parse --short "$rev"))"
make -C "$tree" -j"$(nproc)" build/mpcl >/dev/null
for side in old new; do
    bin=build/mpcl; [ "$side" = old ] && bin="$tree/build/mpcl"
    start=$(date +%s)
    "$bin" assets/scripts/paper.lua out="$out/$side" quick=1 workers=1 >"$out/$side.log" 2>&1 \
        || { echo "same_report: the $side report failed (see $out/$side.log)" >&2; exit 1; }
    echo "same_report: $side report in $(( $(date +%s) - start )) s"
done
lua5.4 - "$out/old" "$out/new" <<'LUA'
-- CSV rows split on commas outside double quotes.
local function fields(line)
  local t, cur, q = {}, {}, false
  for c in line:gmatch(".") do
    if c == '"' then q = not q elseif c == "," and not q then t[#t + 1] = table.concat(cur); cur = {}
    else cur[#cur + 1] = c end
  end
  t[#t + 1] = table.concat(cur)
  return t
end
local function lines(path)
  local f = assert(io.open(path)); local all = f:read("a"); f:close()
  local t = {}
  for l in all:gmatch("[^\n]+") do t[#t + 1] = l end
  return t, all
end
local old, new = arg[1], arg[2]
local list = io.popen("cd '" .. old .. "' && find . -name '*.csv' | sort")
local n, same, timing, diff = 0, 0, 0, 0
for rel in list:lines() do
  n = n + 1
  local a, araw = lines(old .. "/" .. rel)
  local ok, b, braw = pcall(lines, new .. "/" .. rel)
  if not ok then print("  missing in the new report: " .. rel); diff = diff + 1
  elseif araw == braw then same = same + 1
  else
    local h = fields(a[1])
    local differs = #a ~= #b or a[1] ~= b[1]
    for r = 2, math.min(#a, #b) do
      local x, y = fields(a[r]), fields(b[r])
      for c = 1, math.max(#x, #y) do
        if not (h[c] or ""):find("seconds", 1, true) and x[c] ~= y[c] then
          if not differs then print(("  %s row %d, %s: %s -> %s"):format(rel, r, h[c] or c, x[c], y[c])) end
          differs = true
        end
      end
    end
    if differs then diff = diff + 1 else timing = timing + 1 end
  end
end
print(("same_report: %d CSVs, %d byte-identical, %d identical apart from timing columns, %d different")
      :format(n, same, timing, diff))
os.exit(diff == 0 and n > 0 and 0 or 1)
LUA
