#!/usr/bin/env bash
# One panel full screen (issue 17, point 2): F4, or z on a focused panel, gives it the whole
# panel area and back; its keys stay live while it is full screen; lab.ui.zoom(name) does the
# same from Lua, lab.ui.zoom() names the panel full screen, lab.ui.zoom(false) returns; an
# unknown panel is a one-line error; a new layout ends full screen.
set -u
. "$(dirname "$0")/common.bash"
tty_start zoom
wait_for "Type Lua below"
keys "n = lab.net{sizes = {192, 64, 64, 10}, seed = 3}; c = lab.chip.open('sim:id=7'); c:program(n)"
key Enter
wait_for "per pixel, nearest" 60

# The frames on the screen's first line: the default layout shows three side by side.
top() { screen | head -n 1; }
full() { top | grep -q "conductance map  \[full screen" && ! top | grep -q "weight-switch rate"; }
top | grep -q "weight-switch rate" || fail "the default layout does not show three columns"

key F4                                     # nothing focused: the first panel, the map
wait_for "[full screen: z or F4 returns]"
full || fail "F4 did not give the map the whole panel area"
# The map's inner width is now the screen's, less its two borders: the label says it.
width=$(screen | grep -o "x [0-9.]* per pixel" | head -n 1)
keys "s"                                   # its keys are live: the sampling changes
wait_for "per pixel, sign"
keys "z"                                   # and z returns to the layout
wait_gone "[full screen"
top | grep -q "weight-switch rate" || fail "z did not return to the layout"
keys "s"                                   # the map still has the focus
wait_for "per pixel, max"
key Escape                                 # the input line

keys "lab.ui.zoom('confusion')"; key Enter   # from the input line: the focus stays there
wait_for "confusion matrix  [full screen"
keys "print('zoomed: ' .. tostring(lab.ui.zoom()))"; key Enter
wait_for "zoomed: confusion"
keys "lab.ui.zoom(false)"; key Enter
wait_gone "[full screen"
keys "print('now: ' .. tostring(lab.ui.zoom()))"; key Enter
wait_for "now: nil"
keys "lab.ui.zoom('nopanel')"; key Enter
wait_for "lab.ui.zoom: no panel 'nopanel' (lab.ui.panels() lists them)"

# A new layout ends full screen.
keys "lab.ui.zoom('map')"; key Enter
wait_for "conductance map  [full screen"
key F2
wait_gone "[full screen"

key F10
wait_for "CONSOLE-EXITED-0"
sanitizers_quiet
echo "zoom ok (full screen map: $width)"
