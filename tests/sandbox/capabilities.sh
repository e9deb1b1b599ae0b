#!/usr/bin/env bash
# The replay sandbox as an allow-list of capabilities (README: the trust model). Every lab
# function that takes a path or a chip URI is tried from a replay: each refusal is one line
# naming the capability and --trust, nothing outside is read, written, loaded or connected
# to, and the replay goes on. Then the C work that escaped the limits (a pattern match, C
# allocations) and the objects Lua could break (metatables, finalizers, re-entrant calls).
set -u
cd "$(dirname "$0")/../.."
bin=${MPCL_BIN:-build/mpcl}
bin=$(realpath "$bin")
dir=$(mktemp -d)
outside=$(mktemp -d)
trap 'rm -rf "$dir" "$outside"' EXIT
fails=0
check() { # check NAME CMD...: ok when CMD succeeds
    local name=$1; shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
has() { grep -qF -- "$2" "$1"; }
hasnt() { ! grep -qF -- "$2" "$1"; }
# journal FILE CHUNK...: a session journal of these chunks
journal() {
    local f=$1; shift
    { echo "-- MPCL Lab session journal, format 1"; echo "-- seed: 1"; echo
      local i=1
      for c in "$@"; do printf -- '-- [chunk %d] t\ndo\n%s\nend\n' "$i" "$c"; i=$((i + 1)); done
    } > "$f"
}

# A plugin whose constructor leaves a mark: a sandboxed replay must never dlopen it.
cat > "$dir/evil.c" <<EOF
#include <stdio.h>
__attribute__((constructor)) static void mark(void)
{
    FILE *f = fopen("$outside/constructor-ran", "w");
    if (f)
        fclose(f);
}
EOF
gcc -shared -fPIC -o "$dir/evil.so" "$dir/evil.c"
echo TOPSECRET-XYZ > "$outside/secret.txt"
printf '10 20\n30 40\n' > "$dir/map.txt"
mkdir "$dir/sub"
ln -s "$outside" "$dir/link"          # a symlink inside the directory that leads outside
ln -s "$outside/secret.txt" "$dir/secret-link.txt"

journal "$dir/caps.lua" \
    "lab.chip.open('plugin:$dir/evil.so')" \
    "lab.chip.open('tcp://127.0.0.1:9')" \
    "lab.chip.open('serial:/dev/tty')" \
    "lab.chip.open('sim:map=$outside/secret.txt')" \
    "lab.chip.open('sim', {map_neg = '../secret.txt'})" \
    "lab.load('$outside/secret.txt')" \
    "lab.load('$outside/no-such-file')" \
    "lab.load('secret-link.txt')" \
    "lab.write_json('$outside/w.json', {1})" \
    "lab.write_json('../w.json', {1})" \
    "lab.write_json('link/w.json', {1})" \
    "lab.net{sizes = {4, 3}}:save('link/n.net')" \
    "lab.net{sizes = {4, 3}}:save('sub/n.net'); print('saved inside', lab.load('sub/n.net'))" \
    "lab.write_json('sub/ok.json', {1}); print('json inside')" \
    "print('map inside', string.format('%.0f', lab.chip.open('sim', {map = 'map.txt', rows = 8, cols = 8}):read('pos', 0, 1)))" \
    "lab.ui.snapshot('map', '$outside/s.png')" \
    "lab.ui.snapshot('all', '$outside/snaps')" \
    "lab.ui.snapshot('map', 'link/s.png')" \
    "print('snapshot inside', lab.ui.snapshot('map', 'sub/s.png', {width = 400, height = 300}))" \
    "print('still here')"
(cd "$dir" && "$bin" --replay caps.lua) > "$dir/caps.out" 2>&1
check "refusals fail the replay (exit 1)" test $? -eq 1
cat "$dir/caps.out" | grep -v '^\s\|^stack traceback' | head -40
check "plugin: refused" has "$dir/caps.out" "lab.chip.open: sandbox: the capability 'plugin' (loading a native chip plugin runs its code) is not allowed in a replay (run with --trust to allow it)"
check "plugin: its constructor never ran" test ! -e "$outside/constructor-ran"
check "tcp: refused" has "$dir/caps.out" "sandbox: the capability 'link' (a chip over tcp: or serial:) is not allowed in a replay unless the user names the chip (--chip URI) or runs with --trust"
check "tcp: and serial: both refused" test "$(grep -c "capability 'link'" "$dir/caps.out")" -eq 2
check "sim map= outside refused" has "$dir/caps.out" "the capability 'read' of a replay reaches only below the current directory and the data directories, not '$outside/secret.txt'"
check "sim map_neg=../ refused" has "$dir/caps.out" "not '../secret.txt'"
check "lab.load outside refused" has "$dir/caps.out" "lab.load: sandbox: the capability 'read' of a replay reaches only below the current directory and the data directories, not '$outside/secret.txt'"
check "lab.load cannot probe: a missing file outside reads the same" has "$dir/caps.out" "not '$outside/no-such-file'"
check "lab.load through a symlink refused" has "$dir/caps.out" "not 'secret-link.txt'"
check "no byte of the secret echoed" hasnt "$dir/caps.out" "TOPSECRET"
check "write_json absolute refused" has "$dir/caps.out" "lab.write_json: sandbox: the capability 'write' of a replay reaches only below the current directory, not '$outside/w.json'"
check "write_json ../ refused" has "$dir/caps.out" "not '../w.json'"
check "write_json through a symlinked directory refused" has "$dir/caps.out" "not 'link/w.json'"
check "net:save through a symlinked directory refused" has "$dir/caps.out" "net:save: sandbox: the capability 'write'"
check "lab.ui.snapshot absolute refused" has "$dir/caps.out" "lab.ui.snapshot: sandbox: the capability 'write' of a replay reaches only below the current directory, not '$outside/s.png'"
check "lab.ui.snapshot all outside refused" has "$dir/caps.out" "not '$outside/snaps'"
check "lab.ui.snapshot through a symlinked directory refused" has "$dir/caps.out" "not 'link/s.png'"
check "lab.ui.snapshot inside works" has "$dir/caps.out" "snapshot inside	sub/s.png"
check "lab.ui.snapshot inside wrote a PNG" grep -aq "Title.conductance map" "$dir/sub/s.png"
check "nothing written outside" test -z "$(ls "$outside" | grep -v secret.txt)"
check "net:save and lab.load inside work" has "$dir/caps.out" "saved inside	net 4-3"
check "write_json inside works" has "$dir/caps.out" "json inside"
check "a map inside works" has "$dir/caps.out" "map inside	20"
check "the replay goes on" has "$dir/caps.out" "still here"
check "every refusal is one line" test "$(grep -c 'sandbox:' "$dir/caps.out")" -eq "$(grep -c 'sandbox: .*--trust' "$dir/caps.out")"

# --chip: the journal's hardware chip opens go to the chip the user names.
journal "$dir/bench.lua" "local c = lab.chip.open('tcp://10.0.0.1:7070', {retries = 8}); print('opened', c:info().backend, c:info().id)" \
    "local c = lab.chip.open('serial:/dev/ttyUSB0'); print('opened', c:info().id)" \
    "local c = lab.chip.open('sim:id=3'); print('sim stays', c:info().id)"
(cd "$dir" && "$bin" --replay bench.lua --chip sim:id=42) > "$dir/bench.out" 2>&1
check "--chip: replay passes" test $? -eq 0
check "--chip: tcp: redirected" has "$dir/bench.out" "opened	sim	42"
check "--chip: serial: redirected" test "$(grep -c 'opened.*42' "$dir/bench.out")" -eq 2
check "--chip: a sim stays the journal's" has "$dir/bench.out" "sim stays	3"
"$bin" --chip sim > "$dir/chiparg.out" 2>&1
check "--chip without --replay" has "$dir/chiparg.out" "go with --replay FILE"

# --trust: the user's own decision lifts it (the plugin loads: its constructor runs).
journal "$dir/trusted.lua" "print(pcall(lab.chip.open, 'plugin:$dir/evil.so'))"
(cd "$dir" && "$bin" --replay trusted.lua --trust) > "$dir/trusted.out" 2>&1
check "--trust: the plugin was loaded" test -e "$outside/constructor-ran"
rm -f "$outside/constructor-ran"

# Limits that C work escaped: a pattern match inside one C call, and C allocations.
journal "$dir/limits.lua" \
    "local s = string.rep('a', 30000); print(s:find('.-.-.-.-b'))" \
    "print('never')"
(cd "$dir" && timeout 60 "$bin" --replay limits.lua --max-instructions 100000000) > "$dir/limits.out" 2>&1
rc=$?
check "pattern match: stopped, not hung (exit 1)" test $rc -eq 1
check "pattern match: one line naming the limit" has "$dir/limits.out" "mpcl: sandbox: instruction limit of 100000000 exceeded inside string.find"
journal "$dir/gm.lua" "local s = string.rep('a', 20000) for m in s:gmatch('.-.-.-b') do end"
(cd "$dir" && timeout 60 "$bin" --replay gm.lua --max-instructions 100000000) > "$dir/gm.out" 2>&1
check "gmatch's iterator is timed too" has "$dir/gm.out" "exceeded inside string.gmatch"
journal "$dir/pcall.lua" \
    "while true do pcall(function() for i = 1, 1e6 do end end) end" \
    "while true do coroutine.resume(coroutine.create(function() while true do end end)) end" \
    "print('after the loops')"
(cd "$dir" && timeout 60 "$bin" --replay pcall.lua --max-instructions 10000000) > "$dir/pcall.out" 2>&1
check "a pcall loop cannot catch the limit forever" test "$(grep -c 'instruction limit of 10000000 exceeded' "$dir/pcall.out")" -eq 2
check "the chunk after the loops runs" has "$dir/pcall.out" "after the loops"
journal "$dir/quick.lua" "print(('key=value'):match('(%w+)=(%w+)'))" "print(('a,b,c'):gsub(',', ';'))"
(cd "$dir" && "$bin" --replay quick.lua --max-instructions 100000000) > "$dir/quick.out" 2>&1
check "ordinary patterns still work" has "$dir/quick.out" "key	value"

journal "$dir/mem.lua" \
    "nets = {} for i = 1, 40 do nets[i] = lab.net{sizes = {784, 4096, 4096, 10}} end" \
    "nets = nil collectgarbage() print('after', collectgarbage('count') < 64 * 1024)"
(cd "$dir" && timeout 120 "$bin" --replay mem.lua --max-memory 64) > "$dir/mem.out" 2>&1
check "C allocations count against --max-memory" has "$dir/mem.out" "sandbox: memory cap of 64 MiB reached"
check "the replay goes on after the cap" has "$dir/mem.out" "after	true"
# Training past the cap: the job fails with a message (it aborted the process once).
journal "$dir/train.lua" "exp = lab.experiment{dataset = 'mnist', hidden = 2048, epochs = 1, batch = 4096}; print(exp:step())" "print('after training')"
(cd "$dir" && timeout 300 "$bin" --replay train.lua --max-memory 220) > "$dir/train.out" 2>&1
rc=$?
check "a training job past the cap: no abort (exit $rc)" test $rc -le 1
check "a training job past the cap: its error says out of memory" has "$dir/train.out" "exp:step failed: train: out of memory"
check "a training job past the cap: the replay goes on" has "$dir/train.out" "after training"

# The high-water mark of the replay's resident memory, sampled from /proc while it runs.
"$bin" --replay "$dir/mem.lua" --max-memory 64 >/dev/null 2>&1 &
pid=$!
hwm=0
while kill -0 "$pid" 2>/dev/null; do
    h=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$h" ] && hwm=$h
    sleep 0.02
done
wait "$pid"
check "the process stays near the cap (peak RSS $hwm KiB < 300 MiB)" test "$hwm" -lt 307200

# Escape codes from a journal never reach the terminal raw (print, values, errors).
journal "$dir/esc.lua" 'print("a\27]0;retitled\7b", "±")' 'return "\27[2J"' 'lab.dataset("\27[31mx")'
(cd "$dir" && "$bin" --replay esc.lua) > "$dir/esc.out" 2>&1
check "no control byte in a replay's output" test "$(tr -d '\n\t' < "$dir/esc.out" | LC_ALL=C grep -c "$(printf '[\001-\037\177]')")" -eq 0
check "print's escapes shown as \\x1b" has "$dir/esc.out" 'a\x1b]0;retitled\x07b	±'
check "an error's escapes too" has "$dir/esc.out" "unknown data set '\x1b[31mx'"
check "a value's too" has "$dir/esc.out" '\x1b[2J'

# Objects Lua could break: protected metatables, finalized objects, re-entrant calls.
journal "$dir/objects.lua" \
    "n = lab.net{sizes = {4, 3}} print('mt', getmetatable(n))" \
    "print(pcall(function() return getmetatable(n).__gc(n) end))" \
    "print(pcall(setmetatable, n, {}))" \
    "print('net ok', n:sizes()[2])"
(cd "$dir" && "$bin" --replay objects.lua) > "$dir/objects.out" 2>&1
check "getmetatable gives the class name" has "$dir/objects.out" "mt	lab.net"
check "__gc unreachable from Lua" has "$dir/objects.out" "false	"
check "the net survives" has "$dir/objects.out" "net ok	3"
echo "$fails failed"
[ "$fails" -eq 0 ]
