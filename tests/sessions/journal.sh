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
check "header" has "$j" "-- MPCL Lab session journal, format 2"
check "markers give the code's length and the result count" grep -qE -- "^-- \[chunk 2\] [0-9T:Z-]+ code=14 results=1$" "$j"
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

# Any recorded text survives: long strings and comments holding journal-like lines ("--|",
# "-- [chunk 7]", "--[[", "end"), CR, invalid UTF-8, a 1 MB line, backslashes in an error.
# What the recording printed, the replay prints; the journal is still valid Lua.
{
    printf 'x = [[\n--| step task=1 average=1\n--! boom\n-- [chunk 7] 2026-01-01T00:00:00Z code=3 results=0\ndo\nend\n-- [after chunk 1] results=9\n]]\n'
    printf '=#x, x:sub(1, 3)\n'
    printf 'y = [[a\rb]] -- CR inside a line\r-- and a comment\n'
    printf '=#y\n'
    printf 'z = [==[\xff\xfe\xc3 not UTF-8 ]] --[[ ]==] --[[ a comment\n--| in a comment\n]]\n'
    printf '=#z\n'
    printf 'w = "%s"\n' "$(head -c 1000000 /dev/zero | tr '\0' 'w')"
    printf '=#w\n'
    printf 'error("back\\\\slash \\\\n")\n'
    printf '=#x + #y + #z + #w\n'
} > "$dir/hostile.txt"
"$bin" --record "$dir/h.lua" - < "$dir/hostile.txt" > "$dir/h-rec.out" 2>&1
"$bin" --replay "$dir/h.lua" --verify > "$dir/h-rep.out" 2>"$dir/h-rep.err"
check "hostile code: the fake markers inside chunk 1 are code" has "$dir/h.lua" "code=131 results=0"
check "hostile code: replay --verify passes" has "$dir/h-rep.err" "10 chunks replayed, 0 results compared, no divergence"
check "hostile code: the replay prints what the recording printed" \
    bash -c "grep -v '^mpcl: ' '$dir/h-rep.out' | diff - <(grep -v '^stdin:\|^stack\|^	' '$dir/h-rec.out')"
check "hostile code: lengths as recorded" has "$dir/h-rep.out" "1000000"
check "hostile code: the journal is valid Lua" luac5.4 -p "$dir/h.lua"

# A journal cut anywhere (kill -9 during an append): it reads up to its last complete chunk,
# with one warning naming the file, the line and the chunk cut.
m7=$(grep -n -- "^-- \[chunk 7\]" "$dir/h.lua" | cut -d: -f1 | tail -n 1)
off7=$(grep -b -- "^-- \[chunk 7\]" "$dir/h.lua" | cut -d: -f1 | tail -n 1)
off8=$(grep -b -- "^-- \[chunk 8\]" "$dir/h.lua" | cut -d: -f1 | tail -n 1)
cuts=0; cutok=0
for at in $((off7 + 1)) $((off7 + 30)) $((off7 + 50)) $((off7 + 60)) $((off7 + 5000)) \
          $((off7 + 999999)) $((off8 - 6)) $((off8 - 3)) $((off8 - 2)); do
    head -c "$at" "$dir/h.lua" > "$dir/cut.lua"
    "$bin" --replay "$dir/cut.lua" --verify > "$dir/cut.out" 2>&1
    rc=$?
    cuts=$((cuts + 1))
    if [ $rc -eq 0 ] && grep -qF "cut.lua:$m7: journal cut inside chunk 7 (the recording was interrupted): chunks 1-6 are read" "$dir/cut.out" &&
       grep -qF "6 chunks replayed" "$dir/cut.out" && [ "$(grep -c 'journal cut' "$dir/cut.out")" -eq 1 ]; then
        cutok=$((cutok + 1))
    else
        echo "cut at byte $at (status $rc):"; head -n 3 "$dir/cut.out"
    fi
done
check "a journal cut inside chunk 7 replays chunks 1-6 with one warning ($cutok/$cuts cuts)" test "$cutok" -eq "$cuts"
head -c "$((off7 - 1))" "$dir/h.lua" > "$dir/cut.lua"
"$bin" --replay "$dir/cut.lua" --verify > "$dir/cut.out" 2>&1
check "a journal cut between chunks replays them all, no warning" \
    bash -c "grep -qF '6 chunks replayed' '$dir/cut.out' && ! grep -q 'journal cut' '$dir/cut.out'"
# Cut inside a result line: that chunk is dropped (its results are not all there).
r4=$(grep -b -- "^--| evaluate" "$j" | cut -d: -f1)
read -r me ce < <(awk '/^-- \[chunk /{m = NR; c = $3} /^--\| evaluate/{sub(/\]/, "", c); print m, c; exit}' "$j")
head -c "$((r4 + 20))" "$j" > "$dir/cutr.lua"
"$bin" --replay "$dir/cutr.lua" --verify > "$dir/cutr.out" 2>&1
check "cut in a result line: verify passes up to the chunk before" test $? -eq 0
check "cut in a result line: the warning names the chunk" \
    has "$dir/cutr.out" "cutr.lua:$me: journal cut inside chunk $ce (the recording was interrupted): chunks 1-$((ce - 1)) are read"
printf -- '-- MPCL Lab session journal, format 2\n-- seed: 4\n-- thr' > "$dir/cuth.lua"
"$bin" --replay "$dir/cuth.lua" > "$dir/cuth.out" 2>&1
check "cut in the header: nothing to replay, a warning" has "$dir/cuth.out" "cuth.lua:3: journal cut inside its header"
# Format 1 (journals before 0.3.0): cut inside the last chunk's code, or its last line.
printf -- '-- MPCL Lab session journal, format 1\n\n-- [chunk 1] t\ndo\nx = 1\nend\n--| r a=1\n\n-- [chunk 2] t\ndo\nprint(x' > "$dir/cut1.lua"
"$bin" --replay "$dir/cut1.lua" > "$dir/cut1.out" 2>&1
check "format 1 cut: status 0" test $? -eq 0
check "format 1 cut: warning" has "$dir/cut1.out" "cut1.lua:9: journal cut inside chunk 2 (the recording was interrupted): chunks 1-1 are read"
printf -- '-- MPCL Lab session journal, format 1\n\n-- [chunk 1] t\ndo\nprint("whole")\nend' > "$dir/nonl.lua"
"$bin" --replay "$dir/nonl.lua" > "$dir/nonl.out" 2>&1
check "format 1 without a last newline after 'end': whole, no warning" \
    bash -c "grep -qx whole '$dir/nonl.out' && ! grep -q 'journal cut' '$dir/nonl.out'"
check "old journals still replay (format 1 asset parses)" bash -c "'$bin' --replay assets/sessions/fmnist-5split.lua --step < /dev/null 2>&1 | grep -qF -- '-- [chunk 1/6]'"

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
H2='-- MPCL Lab session journal, format 2\n'
bad length "length.lua:5: chunk 1: no line 'end' after its 4 bytes of code" "$H2\n-- [chunk 1] t code=4 results=0\ndo\nx = 12\nend\n"
bad marker2 "marker2.lua:3: malformed chunk marker (expected '-- [chunk N] TIME code=BYTES results=K')" "$H2\n-- [chunk 1] t code=-4 results=0\ndo\nx\nend\n"
bad results2 "results2.lua:8: 2 result lines announced, this is not one" "$H2\n-- [chunk 1] t code=1 results=2\ndo\nx\nend\n--| a\nprint(1)\n"
bad escape "escape.lua:7: bad escape in a result line" "$H2\n-- [chunk 1] t code=1 results=1\ndo\nx\nend\n--| a\\q\n"
bad between "between.lua:7: unexpected text after chunk 1" "$H2\n-- [chunk 1] t code=1 results=0\ndo\nx\nend\ny = 1\n"
bad late "late.lua:7: results after chunk 2, but chunk 1 is the last" "$H2\n-- [chunk 1] t code=1 results=0\ndo\nx\nend\n-- [after chunk 2] results=1\n--| a\n"
bad nul "nul.lua:5: chunk 1's code holds a NUL byte" "$H2\n-- [chunk 1] t code=3 results=0\ndo\nx\0y\nend\n"
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
