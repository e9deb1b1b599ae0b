#!/usr/bin/env bash
# The bundled chip scripts run unchanged on the in-process sim, on mpcl-chipd over TCP and
# on mpcl-chipd over a pseudoterminal, with the same results: chip.lua's JSON is identical
# (but for the chip's URI), demo.lua runs to its end.
set -u
cd "$(dirname "$0")/../.."
BIN=${MPCL_BIN:-build/mpcl}
CHIPD=build/mpcl-chipd
case "$BIN" in *asan*) CHIPD=build/asan/mpcl-chipd ;; esac
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# a board on a free loopback port (the board prints where it listens)
"$CHIPD" --id 42 --listen 127.0.0.1:0 > "$dir/tcp.log" 2>&1 &
pids+=($!)
"$CHIPD" --id 42 --pty > "$dir/pty.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    grep -q "listening on" "$dir/tcp.log" 2>/dev/null && grep -q "/dev/pts" "$dir/pty.log" 2>/dev/null && break
    sleep 0.05
done
tcp=$(grep -o "127.0.0.1:[0-9]*" "$dir/tcp.log" | head -1)
pty=$(grep -o "/dev/pts/[0-9]*" "$dir/pty.log" | head -1)
[ -n "$tcp" ] && [ -n "$pty" ] || fail "the boards did not start: $(cat "$dir"/*.log)"

run_chip() { # run_chip NAME URI
    "$BIN" assets/scripts/chip.lua dataset=mnist epochs=1 ps=1,16 noise=0 chip="$2" \
        out="$dir/$1.json" > "$dir/$1.out" 2>&1 || fail "chip.lua on $2: $(tail -n 3 "$dir/$1.out")"
    lua5.4 -e "
        local c = require('cjson')
        local function canon(v)   -- JSON with sorted keys, so equal tables print equal
          if type(v) ~= 'table' then return c.encode(v) end
          if #v > 0 then local a = {} for i, x in ipairs(v) do a[i] = canon(x) end return '[' .. table.concat(a, ',') .. ']' end
          local keys = {} for k in pairs(v) do keys[#keys + 1] = tostring(k) end table.sort(keys)
          local a = {} for _, k in ipairs(keys) do a[#a + 1] = k .. ':' .. canon(v[k]) end
          return '{' .. table.concat(a, ',') .. '}'
        end
        local f = io.open('$dir/$1.json'); local t = c.decode(f:read('a')); f:close()
        t.chip = nil
        local out = io.open('$dir/$1.norm', 'w'); out:write(canon(t)); out:close()" || fail "reading $1.json"
}
run_chip sim sim
run_chip tcp "tcp://$tcp"
cmp -s "$dir/sim.norm" "$dir/tcp.norm" || fail "chip.lua over TCP differs from the sim"
case "$BIN" in *asan*) echo "scripts over the link ok (ASan: TCP only)"; exit 0 ;; esac
run_chip pty "serial:$pty"
cmp -s "$dir/sim.norm" "$dir/tcp.norm" || fail "chip.lua over TCP differs from the sim: $(diff "$dir/sim.norm" "$dir/tcp.norm" | head -5)"
cmp -s "$dir/sim.norm" "$dir/pty.norm" || fail "chip.lua over the pty differs from the sim: $(diff "$dir/sim.norm" "$dir/pty.norm" | head -5)"
echo "ok chip.lua: sim, tcp://$tcp and serial:$pty give the same results"
"$BIN" assets/scripts/demo.lua dataset=mnist epochs=1 chip="tcp://$tcp" snapshots="$dir/shots" \
    > "$dir/demo.out" 2>&1 || fail "demo.lua over TCP: $(tail -n 3 "$dir/demo.out")"
grep -q "The demo is over" "$dir/demo.out" || fail "demo.lua did not finish"
# It ends by writing every panel as a PNG (headless here), and names them.
for p in map switch matrix confusion curves device; do
    head -c 8 "$dir/shots/$p.png" 2>/dev/null | od -An -c | grep -q 'P   N   G' ||
        fail "demo.lua wrote no $p.png: $(grep snapshots "$dir/demo.out")"
done
grep -q "snapshots of every panel in $dir/shots/: map.png, switch.png" "$dir/demo.out" ||
    fail "the demo did not name its snapshots: $(grep snapshots "$dir/demo.out")"
echo "ok demo.lua over TCP, its six snapshots written"
echo "scripts over the link ok"
