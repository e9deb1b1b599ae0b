#!/usr/bin/env bash
# lab.ui.snapshot in the console: after a chip is programmed, the map becomes a PNG (signature,
# 2000 x 1250 in its IHDR, the panel's title and the chip in its tEXt chunks) drawn from the
# console's own model; an unknown panel name is a one-line error in the pane.
set -u
. "$(dirname "$0")/common.bash"
tty_start snapshot
wait_for "Type Lua below"

keys "n = lab.net{sizes = {192, 64, 64, 10}, seed = 3}; c = lab.chip.open('sim:id=7'); c:program(n)"
key Enter
wait_for "per pixel, nearest" 60
keys "print('wrote ' .. lab.ui.snapshot('map', '$state/m.png'))"
key Enter
wait_for "wrote $state/m.png" 60
head -c 8 "$state/m.png" | od -An -c | grep -q 'P   N   G' || fail "m.png has no PNG signature"
size=$(od -An -tu1 -j16 -N8 "$state/m.png" | tr -s ' ')
[ "$size" = " 0 0 7 208 0 0 4 226" ] || fail "m.png is not 2000 x 1250: IHDR says$size"
grep -aq "Title.conductance map" "$state/m.png" || fail "no Title in m.png"
grep -aq "Description.conductance map: weight, chip sim id 7, rows 0-191 cols 0-137" \
    "$state/m.png" || fail "no Description with the chip and the window in m.png"

keys "lab.ui.snapshot('mapp', '$state/x.png')"
key Enter
wait_for "lab.ui.snapshot: no panel 'mapp' (lab.ui.panels() lists them)"
[ -e "$state/x.png" ] && fail "x.png was written"

key F10
wait_for "CONSOLE-EXITED-0"
sanitizers_quiet
echo "snapshot ok"
