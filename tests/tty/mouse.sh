#!/usr/bin/env bash
# The mouse (issue 17, point 4), through tmux: the console asks the terminal for button
# events in SGR form (tmux's pane flags say so), and gives them back at exit; a click focuses
# the panel under it (its keys then work) and a click on the output pane gives the input line
# the keys again; the wheel zooms the map at the pointer, a drag pans it, the wheel over the
# output pane scrolls it. With --no-mouse the console asks for nothing and events do nothing.
set -u
. "$(dirname "$0")/common.bash"
tty_start mouse
wait_for "Type Lua below"
flags() { tmux -L "$sock" display -p -t t '#{mouse_button_flag}#{mouse_sgr_flag}'; }
[ "$(flags)" = "11" ] || fail "the console did not ask for button events in SGR form: $(flags)"

# SGR mouse reports, 1-based cells: press, move with the button held, release, wheel.
sgr() { tmux -L "$sock" send-keys -t t -l $'\e'"[<$1;$2;$3$4"; }
press() { sgr 0 "$1" "$2" M; }
move() { sgr 32 "$1" "$2" M; }
release() { sgr 0 "$1" "$2" m; }
wheel_up() { sgr 64 "$1" "$2" M; }
wheel_down() { sgr 65 "$1" "$2" M; }
window() { screen | grep -o "weight rows [0-9]*-[0-9]* cols [0-9]*-[0-9]*" | head -n 1; }

keys "n = lab.net{sizes = {192, 64, 64, 10}, seed = 3}; c = lab.chip.open('sim:id=7'); c:program(n)"
key Enter
wait_for "weight rows 0-191 cols 0-137" 60

# A click on the map focuses it: 's' is then its key, not a letter on the input line.
press 20 8; release 20 8
keys "s"
wait_for "per pixel, sign"
screen | tail -n 1 | grep -q "mpcl> s" && fail "the key went to the input line"

# The wheel zooms in at the pointer: rows near the pointer stay, the window shrinks.
wheel_up 20 8
wait_gone "weight rows 0-191 cols 0-137"
w1=$(window)
echo "after the wheel: $w1"
[[ "$w1" =~ rows\ ([0-9]+)-([0-9]+)\ cols\ ([0-9]+)-([0-9]+) ]] || fail "no window: $w1"
r0=${BASH_REMATCH[1]} r1=${BASH_REMATCH[2]} c0=${BASH_REMATCH[3]}
[ $((r1 - r0 + 1)) -eq 128 ] || fail "the wheel did not zoom by 1.5: $w1"
[ "$r0" -gt 0 ] && [ "$r0" -lt 64 ] || fail "the wheel did not zoom at the pointer: $w1"
# A drag to the left and up moves the view right and down (the array follows the pointer).
press 40 12; move 35 11; move 30 10; release 30 10
wait_gone "$w1"
w2=$(window)
echo "after the drag: $w2"
[[ "$w2" =~ rows\ ([0-9]+)-[0-9]+\ cols\ ([0-9]+)- ]] || fail "no window: $w2"
[ "${BASH_REMATCH[1]}" -gt "$r0" ] && [ "${BASH_REMATCH[2]}" -gt "$c0" ] ||
    fail "the drag did not pan the view with the pointer: $w1 -> $w2"
wheel_down 20 8; wheel_down 20 8         # out again: the whole layer region at most
keys "0"                                 # the map's own key: back to the layers
wait_for "weight rows 0-191 cols 0-137"

# A click on the output pane: the keys go to the input line again.
press 10 40; release 10 40
keys "print('typed ' .. 6 * 7)"; key Enter
wait_for "typed 42"
# The wheel over the output pane scrolls it.
for i in $(seq 1 30); do keys "print('line $i')"; key Enter; done
wait_for "line 30"
wheel_up 10 40
wait_for "scrolled back"

key F10
wait_for "CONSOLE-EXITED-0"
[ "$(flags)" = "00" ] || fail "the terminal's mouse modes were left on at exit: $(flags)"
sanitizers_quiet
tmux -L "$sock" kill-server 2>/dev/null

# --no-mouse: nothing asked for; a wheel report changes nothing.
tty_start nomouse "env XDG_STATE_HOME=$state TERM=xterm-256color $BIN --no-mouse"
wait_for "Type Lua below"
[ "$(flags)" = "00" ] || fail "--no-mouse still asked for mouse events: $(flags)"
keys "n = lab.net{sizes = {192, 64, 64, 10}, seed = 3}; c = lab.chip.open('sim:id=7'); c:program(n)"
key Enter
wait_for "weight rows 0-191 cols 0-137" 60
wheel_up 20 8
sleep 0.5
[ "$(window)" = "weight rows 0-191 cols 0-137" ] || fail "--no-mouse: the wheel zoomed"
key F10
wait_for "CONSOLE-EXITED-0"
sanitizers_quiet
echo "mouse ok"
