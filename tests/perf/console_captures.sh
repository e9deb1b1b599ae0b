#!/usr/bin/env bash
# The console as a new user meets it (issue 17's figures): build/mpcl in a 200 x 55 tmux
# terminal, default layout, `e = lab.experiment{dataset = "fmnist"}; e:step()`; a capture
# mid-training (epoch 5 to 15 of task 1), one after the step, and one after the net is programmed
# on a simulated chip; then the map full screen (F4). Text captures into DIR (default
# build/captures), printed too. Not a test: a figure for people to look at.
#   tests/perf/console_captures.sh [DIR]
set -u
cd "$(dirname "$0")/../.." || exit 1
out=${1:-build/captures}
mkdir -p "$out"
BIN=${MPCL_BIN:-build/mpcl}
state=$(mktemp -d)
sock="mpcl-captures-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$state"' EXIT
screen() { tmux -L "$sock" capture-pane -p -t t; }
keys() { tmux -L "$sock" send-keys -t t -l -- "$1"; tmux -L "$sock" send-keys -t t Enter; }
wait_for() { # wait_for REGEX [SECONDS]: polled every 20 ms (a task trains in about 0.5 s)
    for _ in $(seq 1 $(( ${2:-60} * 50 ))); do
        screen | grep -qE -- "$1" && return 0
        sleep 0.02
    done
    echo "console_captures: did not see '$1'" >&2; screen >&2; exit 1
}
capture() { screen > "$out/$1.txt"; echo "=== $1 ($out/$1.txt)"; cat "$out/$1.txt"; }

tmux -L "$sock" new-session -d -s t -x 200 -y 55 \
    "env XDG_STATE_HOME=$state TERM=xterm-256color $BIN --no-record; sleep 60"
wait_for "Type Lua below" 30
keys 'e = lab.experiment{dataset = "fmnist"}; e:step()'
wait_for "exp:step .*epoch ([5-9]|1[0-5])/" 120
capture mid-training
wait_for "exp:step done" 600
capture after-step
keys 'c = lab.chip.open("sim"); c:program(e:net())'
wait_for "chip sim" 120
sleep 1
capture after-programming
tmux -L "$sock" send-keys -t t F4
wait_for "\[full screen" 10
capture map-full-screen
tmux -L "$sock" send-keys -t t F10
