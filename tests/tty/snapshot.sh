#!/usr/bin/env bash
# lab.ui.snapshot in the console: after a chip is programmed, the map becomes a PNG (signature,
# 2000 x 1250 in its IHDR, the panel's title and the chip in its tEXt chunks) drawn from the
# console's own model; an unknown panel name is a one-line error in the pane. Then the key:
# p on the focused map, zoomed in and full screen, writes map-YYYYmmdd-HHMMSS.png into the
# console's current directory with the window the terminal shows, and the pane says where.
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
tmux -L "$sock" kill-server 2>/dev/null

# The key, in a console whose current directory is a scratch one.
mkdir -p "$state/here"
case $BIN in /*) abs=$BIN ;; *) abs=$PWD/$BIN ;; esac
tty_start snapkey "cd '$state/here' && env XDG_STATE_HOME=$state TERM=xterm-256color $abs"
wait_for "Type Lua below"
keys "n = lab.net{sizes = {192, 64, 64, 10}, seed = 3}; c = lab.chip.open('sim:id=7'); c:program(n)"
key Enter
wait_for "per pixel, nearest" 60
key F4                                   # the map full screen, focused
wait_for "[full screen"
keys "+"                                 # zoomed in: the snapshot takes this window
wait_gone "rows 0-191 cols 0-137"
window=$(screen | grep -o "rows [0-9]*-[0-9]* cols [0-9]*-[0-9]*" | head -n 1)
[ "$window" != "rows 0-191 cols 0-137" ] || fail "+ did not zoom"
keys "p"
wait_for "snapshot of the map: $state/here/map-" 60
png=$(ls "$state"/here/map-*.png 2>/dev/null | head -n 1)
[ -n "$png" ] || fail "p wrote no map-*.png in the console's directory"
[[ "$(basename "$png")" =~ ^map-[0-9]{8}-[0-9]{6}\.png$ ]] || fail "odd name: $png"
head -c 8 "$png" | od -An -c | grep -q 'P   N   G' || fail "$png has no PNG signature"
grep -aq "Title.conductance map" "$png" || fail "no Title in $png"
grep -aq "$window" "$png" || fail "the snapshot's window is not the terminal's ($window)"
key F3                                   # the input line: p is a letter again
keys "p"
sleep 0.3
[ "$(ls "$state"/here/map-*.png | wc -l)" -eq 1 ] || fail "p on the input line wrote a file"

key F10
wait_for "CONSOLE-EXITED-0"
sanitizers_quiet
echo "snapshot ok ($window: $(stat -c %s "$png") bytes)"
