#!/usr/bin/env bash
# A baseline in the console: while b:step() runs, the panels follow it as they follow an
# experiment (the map shows the float weights being trained, the curves its epochs, the
# matrix its row), Ctrl-C undoes the step, and b:back() takes the row off the matrix.
set -u
cd "$(dirname "$0")/../.."
BIN=${MPCL_BIN:-build/mpcl}
sock="mpcl-baseline-$$"
state=$(mktemp -d)
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$state"' EXIT

screen() { tmux -L "$sock" capture-pane -p -t t 2>/dev/null; }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$state/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$state/ubsan:print_stacktrace=1"
fail() {
    echo "FAIL: $*"; echo "--- screen ---"; screen
    for f in "$state"/asan* "$state"/ubsan*; do [ -f "$f" ] && { echo "--- $f ---"; cat "$f"; }; done
    exit 1
}
wait_for() { # wait_for TEXT [SECONDS]
    local n=$(( ${2:-30} * 20 ))
    for _ in $(seq 1 "$n"); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    fail "did not see '$1'"
}
keys() { tmux -L "$sock" send-keys -t t -l -- "$1"; }
key() { tmux -L "$sock" send-keys -t t "$@"; }
# The matrix panel's rows ("task 2  ...") on the screen now.
matrix_has() { screen | grep -qE "│task $1 +[0-9]+\.[0-9]"; }

tmux -L "$sock" new-session -d -s t -x 160 -y 48 \
    "env XDG_STATE_HOME=$state TERM=xterm-256color $BIN; echo CONSOLE-EXITED-\$?; sleep 60" ||
    fail "tmux did not start"
wait_for "Type Lua below"
wait_for "train a net or program a chip to see the array"

# A long step: the panels fill while it runs.
keys "b = lab.baseline{dataset = 'mnist', method = 'ewc', epochs = 10000}"; key Enter
keys "j = b:step()"; key Enter
wait_for "baseline:step" 60
wait_for "ewc task 1 of 1, epoch" 60
wait_for "weight rows 0-511 cols 0-511" 60      # the map: the baseline's weights
screen | grep -qF "train a net or program a chip" && fail "the map stayed empty during the step"
wait_for "accuracy %" 30                         # the curves: its epochs
screen | grep -qF "no job running" && fail "the step ended before the panels were looked at"
key C-c
wait_for "cancelled in" 60
keys "=b.learnt"; key Enter
wait_for "mpcl> =b.learnt"
screen | grep -A1 -F "mpcl> =b.learnt" | grep -qE '^0$' || fail "a cancelled step was kept"

# Steps fill the matrix; back() takes the last row off it.
keys "b2 = lab.baseline{dataset = 'mnist', method = 'si', hidden = 32, epochs = 1}"; key Enter
keys "b2:step():wait(); b2:step():wait()"; key Enter
for _ in $(seq 1 1200); do matrix_has 2 && break; sleep 0.05; done
matrix_has 2 || fail "the second step's row is not in the matrix"
keys "=b2:back()"; key Enter
wait_for "mpcl> =b2:back()"
for _ in $(seq 1 200); do matrix_has 2 || break; sleep 0.05; done
matrix_has 2 && fail "back() left the undone row in the matrix"
matrix_has 1 || fail "back() took the first row too"
keys "b2:step():wait()"; key Enter
for _ in $(seq 1 1200); do matrix_has 2 && break; sleep 0.05; done
matrix_has 2 || fail "the step after back() is not in the matrix"

key F10
wait_for "CONSOLE-EXITED-0"
for f in "$state"/asan* "$state"/ubsan*; do [ -f "$f" ] && fail "sanitizer report"; done
echo "baseline console ok"
