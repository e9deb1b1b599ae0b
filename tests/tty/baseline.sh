#!/usr/bin/env bash
# A baseline in the console: while b:step() runs, the panels follow it as they follow an
# experiment (the map shows the float weights being trained, the curves its epochs, the
# matrix its row), Ctrl-C undoes the step, and b:back() takes the row off the matrix.
set -u
. "$(dirname "$0")/common.bash"
# The matrix panel's rows ("task 2  ...") on the screen now.
matrix_has() { screen | grep -qE "│task $1 +[0-9]+\.[0-9]"; }

tty_start baseline
wait_for "Type Lua below"
wait_for "train a net or program a chip to see the array"

# A long step: the panels fill while it runs.
keys "b = lab.baseline{dataset = 'mnist', method = 'ewc', epochs = 10000}"; key Enter
keys "j = b:step()"; key Enter
wait_for "baseline:step" 60
wait_for "ewc task 1 of 5, epoch" 60
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
sanitizers_quiet
echo "baseline console ok"
