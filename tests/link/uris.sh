#!/usr/bin/env bash
# The link client's URIs and devices: serial: opens only a terminal that is not the lab's own
# (not /dev/null, a file or a FIFO; not the controlling terminal, not the terminal of stdin),
# a board's pty still opens; tcp:// ports outside 1-65535 and overflowing numbers are refused;
# a connection to an address that does not answer gives up (no hang); a board that serves
# another client says it is busy, by name, and serves the next client once that one left.
# Each a one-line error. MPCL_BIN (and CHIPD_BIN) choose the binaries.
set -u
cd "$(dirname "$0")/../.."
MPCL=${MPCL_BIN:-build/mpcl}
CHIPD=${CHIPD_BIN:-$(dirname "$MPCL")/mpcl-chipd}
[ -x "$CHIPD" ] || CHIPD=build/mpcl-chipd
MPCL=$(realpath "$MPCL")
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
status=0

# open.lua: open $URI, one line: OPENED or ERR and the message; HOLD=s keeps the chip open
# that long after writing the file $MARK.
cat >"$tmp/open.lua" <<'LUA'
local ok, chip = pcall(lab.chip.open, os.getenv("URI"))
print(ok and "OPENED" or ("ERR " .. tostring(chip)))
if ok and os.getenv("MARK") then io.open(os.getenv("MARK"), "w"):close() end
if ok and os.getenv("HOLD") then os.execute("sleep " .. os.getenv("HOLD")) end
LUA
# expect NAME PATTERN CMD...: CMD's output matches PATTERN, within 20 s.
expect() {
    local name=$1 pattern=$2
    shift 2
    local out
    out=$(timeout 20 "$@" 2>&1 | tr -d '\r')
    if echo "$out" | grep -q -- "$pattern"; then
        echo "ok   $name: $(echo "$out" | grep -m1 -- "$pattern")"
    else
        echo "FAIL $name: wanted '$pattern', got: $(echo "$out" | tail -n 3)"
        status=1
    fi
}
O=("$MPCL" "$tmp/open.lua")

# start NAME ARGS...: a board; its address in $tmp/NAME.addr
start() {
    local name=$1
    shift
    "$CHIPD" --id 3 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    for _ in $(seq 200); do
        grep -q "listening on" "$tmp/$name.out" 2>/dev/null && break
        sleep 0.05
    done
    sed -n 's/^mpcl-chipd: listening on \([^ ]*\) .*/\1/p' "$tmp/$name.out" >"$tmp/$name.addr"
    [ -s "$tmp/$name.addr" ] || { echo "FAIL board $name did not start"; exit 1; }
}
start pty --pty
start tcp --listen 127.0.0.1:0 --idle-timeout 5
pty=$(cat "$tmp/pty.addr")
tcp=$(cat "$tmp/tcp.addr")
q="?retries=0&timeout_ms=500"

: >"$tmp/file"
mkfifo "$tmp/fifo"
expect "/dev/null" "/dev/null: not a terminal" env URI="serial:/dev/null$q" "${O[@]}"
expect "a file" "file: not a character device" env URI="serial:$tmp/file$q" "${O[@]}"
expect "a FIFO" "fifo: not a character device" env URI="serial:$tmp/fifo$q" "${O[@]}"
expect "no such device" "cannot open /dev/ttyNOPE" env URI="serial:/dev/ttyNOPE$q" "${O[@]}"
if command -v script >/dev/null; then
    # under script(1) the lab has a terminal of its own: stdin, stdout and controlling
    expect "/dev/tty" "/dev/tty: the lab's own controlling terminal" \
        script -qec "URI='serial:/dev/tty$q' '$MPCL' '$tmp/open.lua'" /dev/null
    expect "the lab's terminal" "the lab's own controlling terminal" \
        script -qec "URI=\"serial:\$(tty)$q\" '$MPCL' '$tmp/open.lua'" /dev/null
fi
if command -v setsid >/dev/null; then
    # no controlling terminal, stdin a terminal (the board's pty, of all things)
    expect "stdin's terminal" "the terminal of the lab's standard input" \
        setsid -w env URI="serial:$pty$q" "$MPCL" "$tmp/open.lua" <"$pty"
fi
expect "the board's pty" "^OPENED" env URI="serial:$pty" "${O[@]}"

expect "port 99999" "port 99999 is not 1-65535" env URI="tcp://127.0.0.1:99999$q" "${O[@]}"
expect "port 2^32 + 80" "port 4294967376 is not 1-65535" env URI="tcp://127.0.0.1:4294967376$q" "${O[@]}"
expect "port 0" "port 0 is not 1-65535" env URI="tcp://127.0.0.1:0$q" "${O[@]}"
expect "port -5" "is not HOST:PORT" env URI="tcp://127.0.0.1:-5$q" "${O[@]}"
expect "no host" "is not HOST:PORT" env URI="tcp://:7070$q" "${O[@]}"
expect "a huge timeout" "timeout_ms needs a whole number" \
    env URI="tcp://$tcp?timeout_ms=99999999999999999999" "${O[@]}"
# an address nobody answers (or an unreachable network, or a proxy that answers garbage):
# a one-line error within timeout_ms, no hang
expect "a silent address" "^ERR .*10.255.255.1:7070" \
    env URI="tcp://10.255.255.1:7070?retries=0&timeout_ms=300" "${O[@]}"

# a second client while one holds the board: busy, naming it; then served once it left
URI="tcp://$tcp" MARK="$tmp/held" HOLD=3 "$MPCL" "$tmp/open.lua" >"$tmp/holder.out" 2>&1 &
holder=$!
for _ in $(seq 200); do [ -e "$tmp/held" ] && break; sleep 0.05; done
expect "busy" "busy: the board is serving 127.0.0.1:[0-9]* since" env URI="tcp://$tcp$q" "${O[@]}"
wait "$holder"
expect "served after the holder left" "^OPENED" env URI="tcp://$tcp$q" "${O[@]}"

for name in pty tcp; do
    if grep -E -q "runtime error|AddressSanitizer" "$tmp/$name.err"; then
        echo "FAIL board $name: $(grep -E -m2 "runtime error|Sanitizer" "$tmp/$name.err")"
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "uris: all passed"
exit "$status"
