# Sourced by the console tests (tests/tty/*.sh): mpcl in a private tmux server, keys in with
# send-keys, the screen back with capture-pane, polled until the expected text appears.
#   . "$(dirname "$0")/common.bash"; tty_start NAME [COMMAND]   (then the cwd is the repository)
# tty_start starts COMMAND (default: $BIN, i.e. $MPCL_BIN or build/mpcl, with
# XDG_STATE_HOME=$state) in a 160 x 48 terminal; it prints CONSOLE-EXITED-<status> when
# mpcl ends. The console captures stderr into its pane: a sanitizer's report would die with
# the process, so ASan and UBSan write theirs to $state, and fail prints them.
cd "$(dirname "$0")/../.." || exit 1
BIN=${MPCL_BIN:-build/mpcl}
state=$(mktemp -d)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$state/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$state/ubsan:print_stacktrace=1"

screen() { tmux -L "$sock" capture-pane -p -t t 2>/dev/null; }
fail() {
    echo "FAIL: $*"; echo "--- screen ---"; screen
    for f in "$state"/asan* "$state"/ubsan*; do [ -f "$f" ] && { echo "--- $f ---"; cat "$f"; }; done
    exit 1
}
wait_for() { # wait_for TEXT [SECONDS]
    local n=$(( ${2:-${WAIT_S:-30}} * 20 ))
    for _ in $(seq 1 "$n"); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    fail "did not see '$1'"
}
wait_gone() {
    for _ in $(seq 1 300); do
        screen | grep -qF -- "$1" || return 0
        sleep 0.05
    done
    fail "'$1' did not go away"
}
keys() { tmux -L "$sock" send-keys -t t -l -- "$1"; }
key() { tmux -L "$sock" send-keys -t t "$@"; }
# No sanitizer report was written.
sanitizers_quiet() {
    for f in "$state"/asan* "$state"/ubsan*; do [ -f "$f" ] && fail "sanitizer report"; done
    return 0
}
tty_start() { # tty_start NAME [COMMAND]
    sock="mpcl-$1-$$"
    trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$state"' EXIT
    local cmd=${2:-"env XDG_STATE_HOME=$state TERM=xterm-256color $BIN"}
    tmux -L "$sock" new-session -d -s t -x 160 -y 48 \
        "$cmd; echo CONSOLE-EXITED-\$?; sleep 60" || fail "tmux did not start"
}
