#!/usr/bin/env bash
# The console in a real terminal: a private tmux server runs build/mpcl; keys go in with
# send-keys and the screen comes back with capture-pane, polled until the expected text
# appears. Checks start-up, a command and its output, Tab completion, a job updating the
# panels and the job bar, the help overlay, focus, resize and a too-small terminal, Ctrl-C
# cancelling a job, and leaving with the terminal restored.
set -u
. "$(dirname "$0")/common.bash"
tty_start console
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
