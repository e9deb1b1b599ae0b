#!/usr/bin/env bash
# The console in a real terminal: a private tmux server runs build/mpcl; keys go in with
# send-keys and the screen comes back with capture-pane, polled until the expected text
# appears. Checks start-up, a command and its output, Tab completion, a job updating the
# panels and the job bar, the help overlay, focus, resize and a too-small terminal, Ctrl-C
# cancelling a job, and leaving with the terminal restored.
set -u
cd "$(dirname "$0")/../.."
BIN=${MPCL_BIN:-build/mpcl}
sock="mpcl-console-$$"
state=$(mktemp -d)
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$state"' EXIT

screen() { tmux -L "$sock" capture-pane -p -t t 2>/dev/null; }
# The console captures stderr into its pane: a sanitizer's report would die with the process,
# so the ASan build writes it to a file that a failure prints.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$state/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$state/ubsan:print_stacktrace=1"
fail() {
    echo "FAIL: $*"; echo "--- screen ---"; screen
    for f in "$state"/asan* "$state"/ubsan*; do [ -f "$f" ] && { echo "--- $f ---"; cat "$f"; }; done
    exit 1
}
wait_for() { # wait_for TEXT [SECONDS]
    local n=$(( ${2:-${WAIT_S:-30}} * 20 ))
    for _ in $(seq 1 "$n"); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    fail "did not see '$1'"
}
wait_gone() {
    for _ in $(seq 1 300); do
        screen | grep -qF -- "$1" || return 0
        sleep 0.05
    done
    fail "'$1' did not go away"
}
keys() { tmux -L "$sock" send-keys -t t -l -- "$1"; }
key() { tmux -L "$sock" send-keys -t t "$@"; }

tmux -L "$sock" new-session -d -s t -x 160 -y 48 \
    "env XDG_STATE_HOME=$state TERM=xterm-256color $BIN; echo CONSOLE-EXITED-\$?; sleep 60" ||
    fail "tmux did not start"
wait_for "Type Lua below"
wait_for "conductance map"
wait_for "accuracy matrix"
wait_for "no job running"

# A command and its output; print goes to the output pane.
keys "=6 * 7"; key Enter
wait_for "42"
keys "print('hello from Lua')"; key Enter
wait_for "hello from Lua"
keys "error('on purpose')"; key Enter
wait_for "on purpose"

# Tab completion.
keys "lab.experi"; key Tab
wait_for "mpcl> lab.experiment"
key C-u

# A job: the prompt stays, the job bar and the panels follow it.
keys "e = lab.experiment{dataset = 'mnist', epochs = 30, hidden = 64}"; key Enter
keys "j = e:step()"; key Enter
wait_for "exp:step" 30
wait_for "Ctrl-C cancels"
wait_for "% switched" 30
keys "=1 + 1"; key Enter       # typing while the job runs
wait_for "mpcl> =1 + 1"
key C-c
wait_for "cancelling 1 job"
wait_for "cancelled in"
keys "j2 = e:step(); j2:wait()"; key Enter
keys "e2 = lab.experiment{dataset = 'mnist', epochs = 1, hidden = 32}; e2:run():wait()"; key Enter
wait_for "task 5" 60

# Help overlay, focus, layouts.
key F1
wait_for "help (Esc or F1 closes)"
key Escape
wait_gone "help (Esc or F1 closes)"
key F2
wait_for "training curves"
keys "lab.ui.layout('chip')"; key Enter
wait_for "device: LRS/HRS"
keys "lab.ui.show('matrix')"; key Enter
wait_for "accuracy matrix"

# Resize, then too small, then back.
tmux -L "$sock" resize-window -t t -x 100 -y 32
wait_for "mpcl>"
tmux -L "$sock" resize-window -t t -x 40 -y 10
wait_for "terminal too small"
tmux -L "$sock" resize-window -t t -x 160 -y 48
wait_gone "terminal too small"

# Leave: the console exits 0 and the terminal is the shell's again.
key F10
wait_for "CONSOLE-EXITED-0"
screen | grep -qF "conductance map" && fail "the console's screen was left behind"
journal=$(ls "$state"/mpcl/sessions/*.lua 2>/dev/null | head -1)
[ -n "$journal" ] && grep -qF "return 6 * 7" "$journal" || fail "the session was not recorded"
echo "console tty ok"
