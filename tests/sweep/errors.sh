#!/usr/bin/env bash
# lab.sweep and errors. run() raising: the error recorded, the point retried (retries, and
# info.attempt counting), the sweep going on with the other points. Bad input: one line
# raised before any point runs (empty grid, a grid value not a list, run not a function,
# grid and points both or neither, a point value not a scalar, no or an unwritable DIR);
# a result holding a function, userdata or mixed keys: one line naming the point and the
# key path, fatal, not retried.
set -u
. "$(dirname "$0")/common.bash"

# A point failing on its first attempt, retries = 1: its second attempt (info.attempt 2) ok.
sweep once SWEEP_LOG=once.log SWEEP_FAIL_ONCE=0003 out=once workers=1 retries=1
check "fails once, retries=1: exit 0" test $? -eq 0
same "fails once: attempts 1 and 2 of 0003, the others once" "$(ran once.log)" \
    "0001:1 0002:1 0003:1 0003:2 0004:1 0005:1 0006:1 "
same "fails once: its record ok, 2 attempts" "$(rec once 0003)" "rec 0003 i3 ok i2"
same "fails once: the others 1 attempt" "$(grep -c '^rec .* ok i1 - ' "$dir/once.out")" 5
# retries defaults to 1
sweep default SWEEP_LOG=default.log SWEEP_FAIL_ONCE=0003 out=default workers=1
same "retries by default 1" "$(rec default 0003)" "rec 0003 i3 ok i2"
# retries = 0: the error stays
sweep zero SWEEP_LOG=zero.log SWEEP_FAIL_ONCE=0003 out=zero workers=1 retries=0
same "fails once, retries=0: one attempt" "$(ran zero.log)" "0001:1 0002:1 0003:1 0004:1 0005:1 0006:1 "
same "fails once, retries=0: its record an error" "$(rec zero 0003)" "rec 0003 i3 err i1"
check "fails once, retries=0: the message" grep -q '^rec 0003 .*flaky_point_0003' "$dir/zero.out"

# A point failing every time, retries = 2: 3 attempts, the last one's message recorded,
# the other points run and ok, the script goes on (exit 0).
sweep always SWEEP_LOG=always.log SWEEP_FAIL=0002 out=always workers=1 retries=2
check "fails always: the sweep and the script go on (exit 0)" test $? -eq 0
same "fails always: 3 attempts of 0002, the rest after it" "$(ran always.log)" \
    "0001:1 0002:1 0002:2 0002:3 0003:1 0004:1 0005:1 0006:1 "
same "fails always: its record" "$(rec always 0002)" "rec 0002 i2 err i3"
check "fails always: the last attempt's message" grep -q '^rec 0002 .*broken_point_0002_attempt_3 ' "$dir/always.out"
same "fails always: the other 5 ok" "$(grep -c '^rec .* ok i1 - {' "$dir/always.out")" 5
check "fails always: the run file: ok false, the error, attempts 3" \
    lua5.4 -e 'local r = require("cjson").decode(io.read("a"))
               assert(r.ok == false and r.attempts == 3 and r.result == nil and r.id == "0002", "fields")
               assert(r.error:find("broken point 0002 attempt 3", 1, true), r.error)' < "$dir/always/runs/0002.json"
check "fails always: results.json holds the error record" \
    lua5.4 -e 'local t = require("cjson").decode(io.read("a"))
               assert(#t == 6 and t[2].ok == false and t[2].error:find("attempt 3", 1, true) and t[1].ok == true)' \
    < "$dir/always/results.json"
check "fails always: the CSV's error column" \
    lua5.4 -e 'local h, r
               for l in io.lines() do if not h then h = l elseif l:match("^0002,") then r = l end end
               assert(h and r, "rows")
               local n = 0 for f in (h .. ","):gmatch("([^,]*),") do n = n + 1 if f == "error" then break end end
               local i = 0 for f in (r .. ","):gmatch("([^,]*),") do i = i + 1 if i == n then assert(f:find("broken point 0002 attempt 3"), f) return end end
               error("no error field")' < "$dir/always/results.csv"

# Bad input: bad.lua's cases, each in a directory of its own holding a regular file "file".
# bad CASE REGEX [LOG]: lab.sweep raised one line matching REGEX (case-insensitive, after
# "lab.sweep"); run() called as LOG says (default: never)
bad() {
    local c=$1 re=$2 want=${3:-} d=$dir/bad-$1
    mkdir -p "$d" && : > "$d/file"
    (cd "$d" && SWEEP_LOG=run.log "$bin" "$here/bad.lua" case="$c" retries=2 > out 2> err)
    local rc=$? line got
    line=$(grep '^raised: ' "$d/out")
    got=$( [ -f "$d/run.log" ] && tr '\n' ' ' < "$d/run.log")
    if [ $rc -eq 0 ] && [ -n "$line" ] && [ "$(grep -c . "$d/out")" -eq 1 ] &&
        [[ $line != *'\n'* ]] && grep -Eiq "lab\.sweep.*($re)" <<< "$line" && [ "$got" = "$want" ]; then
        echo "ok   bad input $c: ${line#raised: }"
    else
        echo "FAIL bad input $c: exit $rc, want one line matching 'lab.sweep.*($re)' and run() calls '$want'; got calls '$got', output: $(head -c 400 "$d/out") $(head -c 300 "$d/err")"
        fails=$((fails + 1))
    fi
}
bad empty_grid "grid.*empty|empty.*grid"
bad empty_value "seed"
bad grid_scalar "grid.*m|m.*list"
bad grid_map "grid.*m|m.*list"
bad grid_table_value "m|point"
bad no_run "run"
bad run_string "run"
bad both "grid.*points|points.*grid"
bad neither "grid.*points|points.*grid"
bad empty_points "point"
bad point_table "point 2|0002|m"
bad point_function "point 2|0002|m"
bad no_out "out"
bad out_under_file "file/sub"
bad out_is_file "file"
# A result that JSON cannot hold: fatal at point 2 (1 attempt though retries = 2).
bad result_function "(0002|point 2|m=2).*acc\.x|acc\.x.*(0002|point 2|m=2)" "0001 1 0002 1 "
bad result_mixed "(0002|point 2|m=2).*acc|acc.*(0002|point 2|m=2)" "0001 1 0002 1 "
bad result_userdata "(0002|point 2|m=2).*out|out.*(0002|point 2|m=2)" "0001 1 0002 1 "

# Uncaught, as a script meets them: exit status 1 and the message alone, one line on stderr.
for c in empty_grid out_under_file result_function; do
    d=$dir/direct-$c
    mkdir -p "$d" && : > "$d/file"
    (cd "$d" && "$bin" "$here/bad.lua" case="$c" direct=1 > out 2> err)
    rc=$?
    if [ $rc -eq 1 ] && [ ! -s "$d/out" ] && [ "$(wc -l < "$d/err")" -eq 1 ] && grep -Eq '^(mpcl: )?lab\.sweep: ' "$d/err"; then
        echo "ok   uncaught $c: exit 1, one line: $(cat "$d/err")"
    else
        echo "FAIL uncaught $c: exit $rc, stdout $(head -c 200 "$d/out"), stderr ($(wc -l < "$d/err") lines): $(head -c 400 "$d/err")"
        fails=$((fails + 1))
    fi
done

echo "$fails failed"
[ "$fails" -eq 0 ]
