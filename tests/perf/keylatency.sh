#!/usr/bin/env bash
# Keystroke-to-echo latency of the REPL, idle and while a training job runs: build/mpcl in a
# private tmux server; each key goes in with send-keys and the time until capture-pane shows
# it is measured (the harness's own cost, two tmux commands per poll, is included in both).
# Prints median and 90th percentile in ms for both runs and their ratio.
set -u
cd "$(dirname "$0")/../.."
BIN=${MPCL_BIN:-build/mpcl}
N=${N:-40}
sock="mpcl-lat-$$"
state=$(mktemp -d)
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$state"' EXIT

screen() { tmux -L "$sock" capture-pane -p -t t; }
wait_for() {
    for _ in $(seq 1 600); do screen | grep -qF -- "$1" && return 0; sleep 0.05; done
    echo "keylatency: did not see '$1'" >&2; screen >&2; exit 1
}
now_ms() { date +%s%N | awk '{printf "%.3f", $1 / 1e6}'; }

# measure LABEL: type N letters one by one, each timed until the prompt line shows it.
measure() {
    local typed="" times=() letters=abcdefghijklmnopqrstuvwxyz
    for i in $(seq 1 "$N"); do
        local c=${letters:$(( (i - 1) % 26 )):1}
        typed="$typed$c"
        local t0; t0=$(now_ms)
        tmux -L "$sock" send-keys -t t -l -- "$c"
        until screen | grep -qF -- "mpcl> $typed"; do :; done
        local t1; t1=$(now_ms)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')")
    done
    tmux -L "$sock" send-keys -t t C-u
    printf '%s\n' "${times[@]}" | sort -g | awk -v label="$1" -v out="$state/$2" '
        { v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.9)];
        printf "%s: median %.1f ms, p90 %.1f ms, max %.1f ms (%d keys)\n", label, m, p, v[NR], NR;
        print m > out }'
}

# MODE=console (default): the full-screen console; MODE=plain: the bare readline REPL.
MODE=${MODE:-console}
flag=$([ "$MODE" = plain ] && echo --plain || echo "")
tmux -L "$sock" new-session -d -s t -x 160 -y 48 \
    "env XDG_STATE_HOME=$state TERM=xterm-256color $BIN --no-record $flag"
wait_for "$([ "$MODE" = plain ] && echo "Lua REPL" || echo "Type Lua below")"
measure "idle ($MODE)" idle
tmux -L "$sock" send-keys -t t -l -- 'big = lab.experiment{epochs = 100}; jb = big:step()'
tmux -L "$sock" send-keys -t t Enter
tmux -L "$sock" send-keys -t t -l -- "repeat until jb.state ~= 'queued'; return jb.state"
tmux -L "$sock" send-keys -t t Enter
wait_for '"running"'
sleep 1 # into the epochs
measure "while training ($MODE; exp:step, paper net, 2 threads)" busy
tmux -L "$sock" send-keys -t t -l -- '=jb.state'
tmux -L "$sock" send-keys -t t Enter
wait_for '"running"' # still training when the last key was measured
awk -v a="$(cat "$state/idle")" -v b="$(cat "$state/busy")" \
    -v mode="$MODE" 'BEGIN { printf "keystroke latency (%s) while training / idle: %.2fx\n", mode, b / a }'
