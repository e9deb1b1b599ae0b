#!/usr/bin/env bash
# Crash consistency of session journals: `mpcl --record F -` records chunks piped in (small
# ones, failing ones, 4 MB ones) until it is killed with SIGKILL at a random moment; the
# journal left must replay with --verify up to its last complete chunk, exactly the chunks
# the full recording has, in order, with one warning naming the file and the chunk that was
# cut when the kill came during an append. RUNS kills (default 30) or about 15 s; at least 10.
# Then 20 copies of the full journal cut at a random byte (what a power cut leaves), held to
# the same rule.
set -u
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
dir=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
cd "$dir" || exit 1
runs=${RUNS:-30}
total=24
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# Chunk k prints "chunk k", fails with "e k", or holds a 4 MB string (its length checked).
big=$(head -c 4000000 /dev/zero | tr '\0' 'x')
{
    echo 'n = 1 print("chunk", n)'
    for k in $(seq 2 "$total"); do
        case $((k % 3)) in
        0) echo "s = \"$big\" n = n + 1 assert(#s == 4000000 and n == $k) print(\"chunk\", n)" ;;
        1) echo "n = n + 1 print(\"chunk\", n)" ;;
        2) echo "n = n + 1 print(\"chunk\", n) error(\"e \" .. n)" ;;
        esac
    done
} > chunks.txt
"$bin" --record full.lua - < chunks.txt > /dev/null 2>&1
"$bin" --replay full.lua --verify > full.out 2> full.err
grep -qF "$total chunks replayed" full.err || { echo "FAIL the full recording: $(tail -n 1 full.err)"; exit 1; }

# check FILE LABEL: FILE replays with --verify, its chunks are the full recording's first
# ones, and a cut is one warning naming FILE and the chunk after the last one replayed.
check() {
    local f=$1 label=$2 rc got warn
    "$bin" --replay "$f" --verify > rep.out 2> rep.err
    rc=$?
    got=$(sed -n 's/^mpcl: verify: \([0-9]*\) chunks replayed, .* no divergence$/\1/p' rep.err)
    warn=$(grep -c 'journal cut' rep.err)
    if [ "$rc" -ne 0 ] || [ -z "$got" ]; then
        fail "$label: replay status $rc: $(grep -v '^stdin:\|^stack\|^	\|failed$' rep.err | head -n 2)"
        return
    fi
    head -n "$got" full.out | cmp -s - rep.out || fail "$label: the $got chunks replayed are not the recording's first $got"
    if [ "$warn" -gt 1 ]; then
        fail "$label: $warn warnings"
    elif [ "$warn" -eq 1 ]; then
        cut=$((cut + 1))
        grep -qE "^mpcl: warning: $f:[0-9]+: journal cut inside (chunk $((got + 1)) |its header)" rep.err ||
            fail "$label: the warning does not name chunk $((got + 1)): $(grep 'journal cut' rep.err)"
    fi
    checked=$((checked + 1))
}

# Kills of the recording process; then, as a power cut would leave it, the full journal cut
# at a random byte (kills rarely land inside an append's write: it is a few milliseconds).
size=$(wc -c < full.lua)
start=$SECONDS; n=0; checked=0; cut=0; nofile=0
while [ "$n" -lt "$runs" ] && { [ "$n" -lt 10 ] || [ $((SECONDS - start)) -lt 15 ]; }; do
    rm -f f.lua
    "$bin" --record f.lua - < chunks.txt > /dev/null 2>&1 &
    pid=$!
    sleep "0.$(printf %03d $((RANDOM % 300)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    n=$((n + 1))
    if [ -e f.lua ]; then check f.lua "kill $n"; else nofile=$((nofile + 1)); fi
done
# A journal is created whole (its header in a temporary file, linked into place): a kill in
# between leaves f.lua.tmp.PID.N, which the next recording to the path removes.
rm -f f.lua
"$bin" --record f.lua - < chunks.txt > /dev/null 2>&1
[ -z "$(find . -maxdepth 1 -name 'f.lua.tmp.*')" ] || fail "a temporary file survived the next recording: $(ls f.lua.tmp.*)"
kchecked=$checked; kcut=$cut; checked=0; cut=0
for t in $(seq 1 20); do
    head -c $(((RANDOM * 32768 + RANDOM) % size + 60)) full.lua > p.lua
    check p.lua "cut at a random byte ($t)"
done
echo "journal recording killed $n times: $kchecked journals checked ($kcut cut inside an append), $nofile killed before the journal existed; 20 random cuts: $checked checked ($cut inside an append); each replayed up to its last complete chunk, with one warning when cut"
echo "$fails failed"
[ "$fails" -eq 0 ]
