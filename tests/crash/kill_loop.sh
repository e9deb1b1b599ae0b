# Sourced by the crash tests (not a test itself: not executable). kill_loop SCRIPT FILE WHAT
# VERB: in the current directory, which holds A.EXT and B.EXT (the two versions) and FILE (A
# to start with), runs `$bin SCRIPT mode=loop out=FILE` (writing A and B in turn, forever),
# kills it with SIGKILL after a random 0-0.4 s, and checks that FILE is A or B, that
# `mode=load` reads it back, and that the next `mode=once` write (of A) leaves no temporary
# file. At least 10 runs, then up to $runs within 25 s. Prints the counts; uses fail() and
# $bin of the caller; returns non-zero unless every run was checked.
kill_loop() {
    local script=$1 f=$2 what=$3 verb=$4 ext=${2##*.}
    local start=$SECONDS n=0 checked=0 temps=0 asb=0 pid left
    while [ "$n" -lt "$runs" ] && { [ "$n" -lt 10 ] || [ $((SECONDS - start)) -lt 25 ]; }; do
        "$bin" "$script" mode=loop out="$f" > loop.out 2>&1 &
        pid=$!
        sleep "0.$(printf %03d $((RANDOM % 400)))"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        n=$((n + 1))
        left=$(find . -maxdepth 1 -name "$f.tmp.*" | wc -l)
        temps=$((temps + left))
        if cmp -s "$f" "A.$ext" || cmp -s "$f" "B.$ext"; then
            checked=$((checked + 1))
            cmp -s "$f" "B.$ext" && asb=$((asb + 1))
        else
            fail "run $n: $f is neither version ($(wc -c < "$f") bytes)"
        fi
        "$bin" "$script" mode=load out="$f" > load.out 2>&1 ||
            fail "run $n: $f does not read back: $(head -n 1 load.out)"
        "$bin" "$script" mode=once out="$f" > once.out 2>&1 ||
            fail "run $n: the next $verb: $(head -n 1 once.out)"
        [ -z "$(find . -maxdepth 1 -name "$f.tmp.*")" ] ||
            fail "run $n: a temporary file survived the next $verb: $(ls "$f".tmp.*)"
        cmp -s "$f" "A.$ext" || fail "run $n: the next $verb did not write A"
    done
    echo "$what killed $n times: $checked files checked (old or new version, $asb of them the" \
         "second), $temps temporary files left by kills, all removed by the next $verb"
    [ "$checked" -eq "$n" ]
}
