#!/usr/bin/env bash
# The REPL in a real terminal: a private tmux server runs build/mpcl; keys go in with
# send-keys, the screen comes back with capture-pane, polled until the expected text
# appears (never sleep-and-hope). Checks a multi-line chunk, =expr, Tab completion,
# Ctrl-C interrupting a running chunk, Ctrl-C dropping a half-typed line, the history file,
# and Ctrl-D leaving.
set -u
cd "$(dirname "$0")/../.."
BIN=${MPCL_BIN:-build/mpcl}
sock="mpcl-test-$$"
state=$(mktemp -d)
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$state"' EXIT

fail() { echo "FAIL: $*"; echo "--- screen ---"; tmux -L "$sock" capture-pane -p -t t 2>/dev/null; exit 1; }

# Polls give up after WAIT_S seconds (30 by default: the ASan build on a loaded machine is
# slow, and a passing test never waits that long).
ticks=$(( ${WAIT_S:-30} * 20 ))

# wait_for TEXT: poll the screen until TEXT appears.
wait_for() {
    for _ in $(seq 1 "$ticks"); do
        tmux -L "$sock" capture-pane -p -t t 2>/dev/null | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    fail "did not see '$1'"
}

# wait_line TEXT: the same for a whole line equal to TEXT, counted: it must appear N times.
wait_lines() {
    for _ in $(seq 1 "$ticks"); do
        [ "$(tmux -L "$sock" capture-pane -p -t t 2>/dev/null | grep -cxF -- "$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    fail "did not see the line '$1' $2 times"
}

keys() { tmux -L "$sock" send-keys -t t -l -- "$1"; }
key() { tmux -L "$sock" send-keys -t t "$@"; }

tmux -L "$sock" new-session -d -s t -x 100 -y 40 \
    "env XDG_STATE_HOME=$state $BIN --plain; echo REPL-EXITED-\$?; sleep 30" || fail "tmux did not start"
wait_for "Lua REPL"

keys "for i = 1, 3 do"; key Enter
wait_for "  >>"
keys "io.write(i * 11, ' ')"; key Enter
keys "end"; key Enter
wait_for "11 22 33"

keys "=6 * 7"; key Enter
wait_lines "42" 1

keys "answer = lab.wri"; key Tab
wait_for "answer = lab.write_json"
key C-u
keys "tbl = {alpha = 1}"; key Enter
keys "=tbl.al"; key Tab
wait_for "=tbl.alpha"
key Enter
wait_lines "1" 1

keys "e = lab.experiment{epochs = 1, hidden = 16}"; key Enter
keys "e:st"; key Tab
wait_for "e:step"
key C-u

# Jobs run in the background: the prompt comes back, a line says when the job ends.
keys "j = e:step()"; key Enter
wait_for "job 1 exp:step done in"
keys "=j.task"; key Enter
wait_lines "1" 2
keys "big = lab.experiment{epochs = 200, hidden = 128}"; key Enter
keys "jb = big:step()"; key Enter
# The worker may not have taken the job yet ("queued"): wait until it has.
keys "repeat until jb.state ~= 'queued'"; key Enter
keys "=jb.state"; key Enter
wait_for '"running"'
key C-c
wait_for "^C: cancelling 1 job"
wait_for "job 2 exp:step cancelled in"
keys "=big.learnt"; key Enter
wait_lines "0" 1

keys "while true do end"; key Enter
sleep 0.2
key C-c
wait_for "interrupted!"
keys "=1 + 1"; key Enter
wait_lines "2" 1

keys "half typed line"
key C-c
wait_for "^C"
keys "='still here'"; key Enter
wait_for '"still here"'

key C-d
wait_for "REPL-EXITED-0"
grep -qF "=6 * 7" "$state/mpcl/history" || fail "history file lacks the typed lines"
journal=$(ls "$state"/mpcl/sessions/*.lua 2>/dev/null | head -1)
[ -n "$journal" ] || fail "no session journal"
grep -qF "return 6 * 7" "$journal" || fail "the journal lacks a chunk"
grep -qE -- "^--\| step task=1 average=" "$journal" || fail "the journal lacks the step's result"
echo "repl tty ok"
