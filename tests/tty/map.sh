#!/usr/bin/env bash
# The conductance map fills its panel (issue 17): after a small net is programmed on a chip,
# the map's drawn cells span at least 80% of the panel's inner width (the view is fitted to
# the rows and columns that hold layers, cells need not be square), the layers are named,
# the label says the scale and the sampling; 's' changes the sampling, lab.ui.show takes
# sample=, a bad one is a one-line error.
set -u
. "$(dirname "$0")/common.bash"
tty_start map
wait_for "Type Lua below"
wait_for "train a net or program a chip to see the array"

# The map panel's inner rows: between its top border and its bottom one, inside the │.
map_rows() {
    screen | awk '/┌─ conductance map/ {on = 1; next} on && /└/ {exit} on' |
        sed 's/^│//; s/││.*$//; s/│$//'
}
# The drawn span: the rightmost non-blank cell of the map's rows (the last row is the label)
# over the inner width, in percent.
span_pct() {
    map_rows | sed '$d' | awk '{ n = length($0); if (n > w) w = n; s = $0; sub(/ +$/, "", s)
        if (length(s) > m) m = length(s) } END { if (w) printf "%d\n", 100 * m / w; else print 0 }'
}

keys "n = lab.net{sizes = {192, 64, 64, 10}, seed = 3}; c = lab.chip.open('sim:id=7'); c:program(n)"
key Enter
wait_for "per pixel, nearest" 60
wait_for "L1"
wait_for "L3"
pct=$(span_pct)
[ "$pct" -ge 80 ] || fail "the map spans $pct% of its panel's width, want at least 80%"
echo "map span: $pct% of the panel's width"
map_rows | tail -n 1 | grep -q "rows 0-191 cols 0-137" || fail "the view is not fitted to the layers"

# Sampling: the key and lab.ui.show.
key F3                                   # focus: the map is the first panel
keys "s"
wait_for "per pixel, sign"
key Escape                               # back to the input line
keys "lab.ui.show('map', {sample = 'max'})"; key Enter
wait_for "per pixel, max"
keys "lab.ui.show('map', {sample = 'blur'})"; key Enter
wait_for "map sample must be mean, nearest, sign or max, got 'blur'"
keys "lab.ui.show('map', {sample = 'nearest'})"; key Enter
wait_for "per pixel, nearest"

key F10
wait_for "CONSOLE-EXITED-0"
sanitizers_quiet
echo "map ok"
