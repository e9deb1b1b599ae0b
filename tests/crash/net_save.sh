#!/usr/bin/env bash
# Crash consistency of net:save: a process saves two different nets to one path in turn
# until it is killed with SIGKILL at a random moment; after each kill the file must be one
# of the two complete versions (byte for byte, and lab.load reads it), and the next save to
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

# mode=ref: the two versions, complete; mode=loop: save them in turn to out= forever;
# mode=once: one save (of A) to out=; mode=load: lab.load(out) must succeed.
cat > saver.lua <<'LUA'
local args = ...
local A = lab.net{sizes = {784, 1024, 1024, 10}, seed = 1}
if args.mode == "load" then lab.load(args.out) print("loaded") return end
if args.mode == "ref" then A:save("A.net") lab.net{sizes = {784, 1024, 1024, 10}, seed = 2}:save("B.net") return end
if args.mode == "once" then A:save(args.out) return end
local B = lab.net{sizes = {784, 1024, 1024, 10}, seed = 2}
print("saving") io.stdout:flush()
while true do A:save(args.out) B:save(args.out) end
LUA
"$bin" saver.lua mode=ref || { echo "FAIL the reference saves"; exit 1; }
cmp -s A.net B.net && { echo "FAIL the two versions are the same"; exit 1; }
cp A.net f.net
MPCL_BIN="$bin" RUNS="$runs" "$here/kill-loop" saver.lua f.net net:save save
ok=$?
echo "$fails failed"
[ "$fails" -eq 0 ] && [ "$ok" -eq 0 ]
