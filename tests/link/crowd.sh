#!/usr/bin/env bash
# mpcl-chipd under a crowd (tests/link/chipd_crowd.c, run as chipd-abuse --crowd): an idle
# holder, a reconnection of its session, half frames then silence, a holder that never reads,
# a stranger that never reads, 200 idle sockets, 300 connections coming and going; after each
# a good client is served, and the board's descriptors come back to their count. Short
# timeouts (--idle-timeout 2 --frame-timeout 0.5 --max-clients 8) keep it to about 10 s. Then
# the board must be alive, have logged each drop on one line, show no sanitizer report, and
# leave with status 0 on SIGTERM.
#   MPCL_BIN, CHIPD_BIN, ABUSE_BIN override the binaries (build/asan/mpcl: the ASan board).
set -u
cd "$(dirname "$0")/../.."
MPCL=${MPCL_BIN:-build/mpcl}
CHIPD=${CHIPD_BIN:-$(dirname "$MPCL")/mpcl-chipd}
[ -x "$CHIPD" ] || CHIPD=build/mpcl-chipd
ABUSE=${ABUSE_BIN:-build/tests/chipd-abuse}
[ -x "$ABUSE" ] || { echo "FAIL $ABUSE is not built (make $ABUSE)"; exit 1; }
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
status=0

"$CHIPD" --id 7 --listen 127.0.0.1:0 --idle-timeout 2 --frame-timeout 0.5 --max-clients 8 \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 200); do
    grep -q "listening on" "$tmp/out" 2>/dev/null && break
    sleep 0.05
done
addr=$(sed -n 's/^mpcl-chipd: listening on \([^ ]*\) .*/\1/p' "$tmp/out")
[ -n "$addr" ] || { echo "FAIL the board did not start: $(cat "$tmp/err")"; exit 1; }

t0=$(date +%s%N)
"$ABUSE" --crowd "$addr" "$pid" 2 0.5 8 || status=1
echo "crowd: $((($(date +%s%N) - t0) / 1000000)) ms"

# one line for each kind of drop, naming the client
for what in "dropped: nothing moved for 2 s" "dropped: a frame begun" "refused, busy" \
    "replaced by" "connections open (--max-clients)"; do
    if grep -q -- "$what" "$tmp/err"; then
        echo "ok   logged: $(grep -m1 -- "$what" "$tmp/err")"
    else
        echo "FAIL no log line with '$what'"
        status=1
    fi
done
if grep -E -q "runtime error|AddressSanitizer|LeakSanitizer" "$tmp/err"; then
    echo "FAIL a sanitizer report: $(grep -E -m3 "runtime error|Sanitizer" "$tmp/err")"
    status=1
fi
if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" || { echo "FAIL the board exited with status $? on SIGTERM"; status=1; }
else
    echo "FAIL the board died: $(tail -n 3 "$tmp/err")"
    status=1
fi
pid=
[ "$status" -eq 0 ] && echo "crowd: all passed"
exit "$status"
