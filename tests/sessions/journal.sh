#!/usr/bin/env bash
# Sessions: record chunks into a journal, replay it with --verify, catch a tampered result,
# reject malformed journals with line numbers, keep replays in the sandbox.
set -u
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
dir=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
fails=0
check() { # check WHAT CONDITION...
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
has() { grep -qF -- "$2" "$1"; }

# Record: chunks piped through the evaluator, as typed in the REPL.
cat > "$dir/chunks.txt" <<'LUA'
exp = lab.experiment{dataset = "mnist", epochs = 1, hidden = 24}
j = exp:step()
=j.average
for i = 1, 2 do
  exp:step()
end
ev = lab.evaluate(exp:net(), lab.tasks(lab.dataset("mnist", {threshold = 0.2})), {upto = 3})
print(#exp.matrix)
nosuch.field = 1
LUA
"$bin" --seed 3 --record "$dir/s.lua" - < "$dir/chunks.txt" > "$dir/rec.out" 2>&1
check "recording reports the failing chunk" test $? -eq 1
j="$dir/s.lua"
check "header" has "$j" "-- MPCL Lab session journal, format 1"
check "seed in the header" has "$j" "-- seed: 3"
check "the platform in the header" grep -qE -- "^-- isa: (avx512|avx2|generic)$" "$j"
check "the CPU and libraries in the header" \
    bash -c "grep -qE -- '^-- cpu: .+' '$j' && grep -qE -- '^-- libraries: glibc [0-9.]+, zlib [0-9.]+, Lua 5\.4' '$j'"
check "data hashes in the header" grep -qE -- "-- data: mnist/train-images-idx3-ubyte(.gz)? crc32=[0-9a-f]{8}" "$j"
check "chunk markers with times" grep -qE -- "^-- \[chunk 4\] [0-9]{4}-[0-9]{2}-[0-9]{2}T" "$j"
check "=expr recorded as return" has "$j" "return j.average"
check "multi-line chunk verbatim" has "$j" "  exp:step()"
check "step results recorded" grep -qE -- "^--\| step task=3 average=0\.[0-9]{6} acc=" "$j"
check "evaluation recorded" grep -qE -- "^--\| evaluate test average=" "$j"
check "error recorded" has "$j" "--! stdin:1: attempt to index a nil value (global 'nosuch')"
check "a journal is valid Lua" luac5.4 -p "$j"

# Replay and verify: the same results, bit for bit.
"$bin" --replay "$j" --verify > "$dir/rep.out" 2>&1
check "replay --verify passes" test $? -eq 0
check "no divergence reported" has "$dir/rep.out" "no divergence"
check "replay prints what the REPL printed" has "$dir/rep.out" "3"

# A tampered result is the first divergence, with chunk, line, expected and got.
line=$(grep -n -- "--| step task=2" "$j" | cut -d: -f1)
sed "s/--| step task=2 average=0\.\([0-9]\)/--| step task=2 average=0.X/" "$j" > "$dir/t.lua"
"$bin" --replay "$dir/t.lua" --verify > "$dir/t.out" 2>&1
check "a divergence fails the replay" test $? -eq 1
check "divergence names chunk and line" grep -qE "first divergence at chunk 4 \(.*t.lua:$line\): expected 'step task=2 average=0.X" "$dir/t.out"
check "a divergence on the recording's platform says so" has "$dir/t.out" "the platform is the recording's"

# Recorded elsewhere: the divergence names what differs; an old journal says it cannot tell.
sed -e "s/^-- isa: .*/-- isa: avx9/" -e "s/^-- cpu: .*/-- cpu: Imaginary CPU/" "$dir/t.lua" > "$dir/t2.lua"
"$bin" --replay "$dir/t2.lua" --verify > "$dir/t2.out" 2>&1
check "a divergence names the platform that differs" \
    grep -qE "the platform differs \(cpu, isa\): recorded on Imaginary CPU \(avx9; " "$dir/t2.out"
sed -e "/^-- \(isa\|cpu\|libraries\): /d" -e "s/^-- version: .*/-- version: 0.1.0/" "$dir/t.lua" > "$dir/t3.lua"
"$bin" --replay "$dir/t3.lua" --verify > "$dir/t3.out" 2>&1
check "a journal without platform lines says it cannot tell" \
    has "$dir/t3.out" "the journal does not say where it was recorded"
check "a journal of another version says so" has "$dir/t3.out" "recorded with mpcl 0.1.0, replayed with"

# --step: Enter runs each chunk; q stops.
printf '\n\nq\n' | "$bin" --replay "$j" --step > "$dir/step.out" 2>&1
check "--step shows chunks and waits" has "$dir/step.out" "-- [chunk 3/7]"
check "--step stops at q" bash -c "! grep -qF -- '[chunk 4/7]' '$dir/step.out'"

# Malformed journals: one line-numbered error, exit status 2.
bad() { # bad NAME EXPECTED CONTENT
    printf '%b' "$3" > "$dir/$1.lua"
    "$bin" --replay "$dir/$1.lua" > "$dir/$1.out" 2>&1
    local rc=$?
    check "malformed: $1 (status 2)" test $rc -eq 2
    check "malformed: $1 (message)" has "$dir/$1.out" "$2"
}
H='-- MPCL Lab session journal, format 1\n'
bad notjournal "notjournal.lua:1: not a session journal" 'print(1)\n'
bad format "format.lua:1: journal format 7" '-- MPCL Lab session journal, format 7\n'
bad numbering "numbering.lua:7: chunk marker says 3, expected 2" "$H\n-- [chunk 1] t\ndo\nx = 1\nend\n-- [chunk 3] t\ndo\nx = 2\nend\n"
bad marker "marker.lua:3: malformed chunk marker" "$H\n-- [chunk one] t\nx = 1\n"
bad early "early.lua:2: code before the first chunk marker" "${H}x = 1\n"
bad empty "empty.lua:4: chunk 1 is empty" "$H\n-- [chunk 1] t\n-- [chunk 2] t\n"
bad nodo "nodo.lua:4: expected 'do' after the marker of chunk 1" "$H\n-- [chunk 1] t\nx = 1\nend\n"
bad noend "noend.lua:5: chunk 1 does not end with the line 'end'" "$H\n-- [chunk 1] t\ndo\nx = 1\n-- [chunk 2] t\ndo\nend\n"
bad after "after.lua:8: code after chunk 1's result lines" "$H\n-- [chunk 1] t\ndo\nx = 1\nend\n--| r a=1\ny = 2\n"
bad seed "seed.lua:2: seed must be an integer" "$H-- seed: abc\n"
rm -f "$dir/missing.lua"; "$bin" --replay "$dir/nosuch.lua" > "$dir/missing.out" 2>&1
check "missing journal" has "$dir/missing.out" "nosuch.lua: cannot open"

# The sandbox: each escape attempt is a clear error; the replay goes on.
cat > "$dir/esc.lua" <<'LUA'
-- MPCL Lab session journal, format 1

-- [chunk 1] t
do
print(os.getenv("HOME"))
end
-- [chunk 2] t
do
io.open("/tmp/x", "w")
end
-- [chunk 3] t
do
require("cjson")
end
-- [chunk 4] t
do
debug.sethook()
end
-- [chunk 5] t
do
dofile("/etc/passwd")
end
-- [chunk 6] t
do
load(string.dump(print))
end
-- [chunk 7] t
do
load("\27Lua\84\0")
end
-- [chunk 8] t
do
load("return 1", "x", "b")
end
-- [chunk 9] t
do
lab.write_json("/tmp/evil.json", {})
end
-- [chunk 10] t
do
lab.write_json("../evil.json", {})
end
-- [chunk 11] t
do
while true do end
end
-- [chunk 12] t
do
local t = {} for i = 1, 1e7 do t[i] = string.rep("x", 100) .. i end
end
-- [chunk 13] t
do
print("still here", load("return 6 * 7")())
end
LUA
(cd "$dir" && "$bin" --replay esc.lua --max-instructions 50000000 --max-memory 32) > "$dir/esc.out" 2>&1
check "escapes fail the replay" test $? -eq 1
for name in os io require debug dofile string.dump; do
    check "sandbox: $name" has "$dir/esc.out" "sandbox: '$name' is not available in a replay"
done
check "sandbox: bytecode by content" test "$(grep -c 'load of bytecode is not allowed' "$dir/esc.out")" -eq 2
check "sandbox: absolute write" has "$dir/esc.out" "not '/tmp/evil.json'"
check "sandbox: write above" has "$dir/esc.out" "not '../evil.json'"
check "sandbox: instruction limit" has "$dir/esc.out" "sandbox: instruction limit of 50000000 exceeded"
check "sandbox: memory cap" has "$dir/esc.out" "sandbox: memory cap of 32 MiB reached"
check "the replay goes on after escapes" has "$dir/esc.out" "still here	42"
check "nothing escaped" test ! -e /tmp/evil.json
printf '%s\n' '-- MPCL Lab session journal, format 1' '' '-- [chunk 1] t' 'do' 'print(type(io.open))' 'end' > "$dir/trust.lua"
"$bin" --replay "$dir/trust.lua" --trust > "$dir/trust.out" 2>&1
check "--trust lifts the sandbox" has "$dir/trust.out" "function"

# Wrong arguments.
"$bin" --verify > "$dir/args.out" 2>&1
check "--verify without --replay" has "$dir/args.out" "go with --replay FILE"
"$bin" --replay > "$dir/args2.out" 2>&1
check "--replay without a file" has "$dir/args2.out" "--replay needs a file name"

echo "$fails failed"
[ "$fails" -eq 0 ]
