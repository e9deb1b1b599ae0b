#!/usr/bin/env bash
# Crash consistency of lab.write_json: a process writes two different JSON documents to one path in turn
# until it is killed with SIGKILL at a random moment; after each kill the file must be one
# of the two complete versions (byte for byte, and it parses as JSON), and the next write to
# the path must leave no temporary file behind (the killed writer's PATH.tmp.PID.N removed).
# RUNS kills (default 30) or about 25 s, whichever comes first; at least 10.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
dir=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
cd "$dir" || exit 1
runs=${RUNS:-30}
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# mode=ref: the two versions, complete; mode=loop: write them in turn to out= forever;
# mode=once: one write (of A) to out=; mode=load: out must parse (cjson, as the lab's JSON).
cat > writer.lua <<'LUA'
local args = ...
local function doc(k) -- an array: objects would list their keys in another order each run
  local v = {string.rep("x", 4000000)} -- a long string: writing, not encoding, takes the time
  for i = 2, 1000 do v[i] = i * k end
  return v
end
if args.mode == "load" then
  local f = assert(io.open(args.out)) local t = require("cjson").decode(f:read("a")) f:close()
  assert(#t == 1000 and #t[1] == 4000000, "1000 values") print("parsed") return
end
local A = doc(0.5)
if args.mode == "ref" then lab.write_json("A.json", A) lab.write_json("B.json", doc(0.25)) return end
if args.mode == "once" then lab.write_json(args.out, A) return end
local B = doc(0.25)
print("writing") io.stdout:flush()
while true do lab.write_json(args.out, A) lab.write_json(args.out, B) end
LUA
"$bin" writer.lua mode=ref || { echo "FAIL the reference writes"; exit 1; }
"$bin" writer.lua mode=load out=A.json > /dev/null && "$bin" writer.lua mode=load out=B.json > /dev/null || { echo "FAIL the references do not parse"; exit 1; }
cmp -s A.json B.json && { echo "FAIL the two versions are the same"; exit 1; }
cp A.json f.json
MPCL_BIN="$bin" RUNS="$runs" "$here/kill-loop" writer.lua f.json lab.write_json write
ok=$?
echo "$fails failed"
[ "$fails" -eq 0 ] && [ "$ok" -eq 0 ]
