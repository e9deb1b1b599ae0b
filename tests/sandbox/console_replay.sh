#!/usr/bin/env bash
# A replay in the console (`mpcl --replay F` in a terminal) gets the same sandbox as a
# headless one, from the same constructor: the capability refusals, the memory cap of
# --max-memory (C allocations included) and the instruction limit. Driven through tmux.
set -u
cd "$(dirname "$0")/../.."
BIN=$(realpath "${MPCL_BIN:-build/mpcl}")
sock="mpcl-sbx-console-$$"
dir=$(mktemp -d)
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$dir"' EXIT

screen() { tmux -L "$sock" capture-pane -p -J -S -200 -t t 2>/dev/null; }
fail() { echo "FAIL: $*"; echo "--- screen ---"; screen; exit 1; }
wait_for() { # wait_for TEXT [SECONDS]
    local n=$(( ${2:-${WAIT_S:-30}} * 20 ))
    for _ in $(seq 1 "$n"); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    fail "did not see '$1'"
}

{ echo "-- MPCL Lab session journal, format 1"; echo "-- seed: 1"; echo
  i=1
  for c in "print(os.getenv('HOME'))" \
           "lab.chip.open('plugin:$dir/none.so')" \
           "nets = {} for i = 1, 40 do nets[i] = lab.net{sizes = {784, 4096, 4096, 10}} end" \
           "nets = nil collectgarbage()" \
           "while true do end" \
           "print('console replay ' .. 'done')" \
           "exp = lab.experiment{dataset = 'mnist', hidden = 16, epochs = 3}; exp:step(function() while true do end end)"; do
      printf -- '-- [chunk %d] t\ndo\n%s\nend\n' "$i" "$c"; i=$((i + 1))
  done
} > "$dir/j.lua"

tmux -L "$sock" new-session -d -s t -x 200 -y 60 \
    "cd $dir && env XDG_STATE_HOME=$dir TERM=xterm-256color $BIN --replay j.lua --step --max-memory 64 --max-instructions 20000000; echo CONSOLE-EXITED-\$?; sleep 60" ||
    fail "tmux did not start"
# --step: each chunk waits for Enter, so each message is checked while it is on screen.
step() { # step N EXPECTED [SECONDS]
    wait_for "-- [chunk $1/7] next"
    tmux -L "$sock" send-keys -t t Enter
    wait_for "$2" "${3:-30}"
}
step 1 "sandbox: 'os' is not available in a replay"
step 2 "the capability 'plugin'"
step 3 "memory cap was reached" 120
wait_for "-- [chunk 4/7] next"
tmux -L "$sock" send-keys -t t Enter
step 5 "instruction limit of 20000000 exceeded"
step 6 "console replay done"
# A progress callback runs between chunks, when the console polls its job: it has the limit too.
step 7 "progress callback failed, job cancelled: sandbox: instruction limit of 20000000 exceeded" 120
tmux -L "$sock" send-keys -t t F10
wait_for "CONSOLE-EXITED-"
echo "console replay sandbox ok"
