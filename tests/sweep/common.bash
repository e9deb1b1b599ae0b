# Sourced by the sweep tests (tests/sweep/*.sh): the repository as the cwd, mpcl as $bin,
# this folder as $here, a scratch $dir removed at exit (a test that starts processes sets
# its own trap, removing $dir too), and the checks, each printing "ok   NAME" or
# "FAIL NAME" and counting failures in $fails.
cd "$(dirname "$0")/../.." || exit 1
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
here=$(pwd)/tests/sweep
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
check() { # check NAME CMD...: ok when CMD succeeds
    local name=$1; shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
same() { # same NAME GOT WANT
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; fails=$((fails + 1)); fi
}
differ() { # differ A B: diff, its first lines shown (cut) when A and B differ
    diff "$1" "$2" > "$dir/diff.out" && return 0
    head -n 6 "$dir/diff.out" | cut -c1-200; return 1
}
# sweep NAME [SWEEP_X=V ...] ARGS...: $script (tests/sweep/sweep.lua unless a test sets it)
# in $dir with those variables in its environment, its output in $dir/NAME.out and .err
script=$here/sweep.lua
sweep() {
    local name=$1 x envs=() args=(); shift
    for x in "$@"; do case $x in SWEEP_*=*) envs+=("$x") ;; *) args+=("$x") ;; esac; done
    (cd "$dir" && env "${envs[@]}" "$bin" "$script" "${args[@]}" > "$name.out" 2> "$name.err")
}
ran() { [ -f "$dir/$1" ] && awk '{ printf "%s:%s ", $1, $2 }' "$dir/$1"; }   # ran LOG: ID:ATTEMPT ...
rec() { grep "^rec $2 " "$dir/$1.out" | cut -d' ' -f1-5; }                    # rec NAME ID
