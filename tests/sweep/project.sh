#!/usr/bin/env bash
# tools/sweep-project on results.json files with known answers: the master's schedule
# (workers = ranks - 1, longest first, each point to the first worker free), the per-point
# overhead, the lower bound, the default rank counts, points not yet measured; then bad
# input: each a one-line error and exit status 2.
set -u
. "$(dirname "$0")/common.bash"
tool=$(pwd)/tools/sweep-project
# results DIR SECONDS...: a results.json whose records take these seconds ("-": not run yet)
results() {
    local d=$1 i=0 s sep=""; shift
    mkdir -p "$d"
    { printf '['
      for s in "$@"; do
          i=$((i + 1))
          if [ "$s" = - ]; then
              printf '%s{"id":"%04d","index":%d,"point":{"k":%d}}' "$sep" "$i" "$i" "$i"
          else
              printf '%s{"attempts":1,"id":"%04d","index":%d,"ok":true,"point":{"k":%d},"result":{"v":1},"seconds":%s}' \
                  "$sep" "$i" "$i" "$i" "$s"
          fi
          sep=","
      done
      printf ']\n'; } > "$d/results.json"
}
# row FILE RANKS: "workers makespan sum efficiency bound" of that rank count's line
row() { awk -v r="$2" '$1 == r && NF == 6 { print $2, $3, $4, $5, $6 }' "$1"; }
# expect NAME FILE RANKS "WORKERS MAKESPAN SUM EFFICIENCY BOUND"
expect() {
    local got; got=$(row "$2" "$3")
    if [ "$got" = "$4" ]; then echo "ok   $1"; else echo "FAIL $1: got '$got', want '$4'"; fails=$((fails + 1)); fi
}

# 5 4 3 3 3 on 2 workers: LPT gives 5+3 and 4+3+3 = 10, where the best split (5+4 | 3+3+3)
# takes 9: the bound says so.
results "$dir/a" 5 4 3 3 3
"$tool" --overhead 0 "$dir/a" 3 2 1 6 > "$dir/a.out" 2>&1
check "a good run exits 0" test $? -eq 0
cat "$dir/a.out"
expect "5,4,3,3,3 on 3 ranks: 2 workers, makespan 10, bound 9" "$dir/a.out" 3 "2 10.000 18.000 0.900 9.000"
expect "2 ranks: 1 worker runs it all" "$dir/a.out" 2 "1 18.000 18.000 1.000 18.000"
expect "1 rank: the one process runs it all" "$dir/a.out" 1 "1 18.000 18.000 1.000 18.000"
expect "6 ranks: 5 workers, the longest point is the makespan" "$dir/a.out" 6 "5 5.000 18.000 0.720 5.000"
check "the header counts the points" grep -q '^sweep-project: 5 points measured' "$dir/a.out"

# Dispatch order is by cost, not point order: 1 2 3 4 5 6 7 8 on 3 workers takes
# 8+3+2 | 7+4+1 | 6+5 = 13 (point order would give 1+4+7 | 2+5+8 | 3+6 = 15).
results "$dir/b" 1 2 3 4 5 6 7 8
"$tool" --overhead=0 "$dir/b" 4 > "$dir/b.out" 2>&1
expect "1..8 on 3 workers, longest first: 13" "$dir/b.out" 4 "3 13.000 36.000 0.923 12.000"

# The overhead is added to every point: 5.5 4.5 3.5 3.5 3.5 -> 5.5+3.5 | 4.5+3.5+3.5 = 11.5;
# the efficiency counts only the measured seconds: 18 / (2 * 11.5); the bound (18 + 2.5) / 2.
"$tool" --overhead 0.5 "$dir/a" 3 > "$dir/o.out" 2>&1
expect "overhead 0.5 s per point: makespan 11.5" "$dir/o.out" 3 "2 11.500 18.000 0.783 10.250"

# The default: 8 32 128 ranks, overhead 0.005 s.
"$tool" "$dir/a" > "$dir/d.out" 2>&1
expect "default overhead: 8 ranks, 7 workers" "$dir/d.out" 8 "7 5.005 18.000 0.514 5.005"
check "default rank counts 8 32 128" test "$(awk 'NF == 6 && $1 ~ /^[0-9]+$/ { printf "%s ", $1 }' "$dir/d.out")" = "8 32 128 "

# A partial sweep: the points without seconds are counted and left out.
results "$dir/p" 2 - 2 -
"$tool" --overhead 0 "$dir/p" 2 3 > "$dir/p.out" 2>&1
check "partial: exit 0" test $? -eq 0
check "partial: says 2 of 4 not yet" grep -q '2 points measured (2 of 4 not yet)' "$dir/p.out"
expect "partial: the measured points scheduled" "$dir/p.out" 3 "2 2.000 4.000 1.000 2.000"

# Bad input: one line on stderr, nothing on stdout, exit status 2.
# bad NAME PATTERN ARGS...
bad() {
    local name=$1 pat=$2; shift 2
    "$tool" "$@" > "$dir/bad.out" 2> "$dir/bad.err"
    local rc=$?
    if [ $rc -eq 2 ] && [ ! -s "$dir/bad.out" ] && [ "$(wc -l < "$dir/bad.err")" -eq 1 ] &&
        grep -q -- "^sweep-project: .*$pat" "$dir/bad.err"; then
        echo "ok   $name: $(cat "$dir/bad.err")"
    else
        echo "FAIL $name: exit $rc, stdout $(wc -c < "$dir/bad.out") bytes, stderr: $(head -c 300 "$dir/bad.err")"
        fails=$((fails + 1))
    fi
}
bad "a missing directory" "no directory $dir/none" "$dir/none"
mkdir "$dir/empty"
bad "a directory without results.json" "cannot read $dir/empty/results.json" "$dir/empty"
mkdir "$dir/trunc"; printf '[{"seconds": 1, "point": {' > "$dir/trunc/results.json"
bad "truncated JSON" "results.json: not JSON" "$dir/trunc"
mkdir "$dir/obj"; printf '{"seconds": 1}' > "$dir/obj/results.json"
bad "an object, not an array" "not an array of records" "$dir/obj"
mkdir "$dir/str"; printf '[{"seconds": "fast"}]' > "$dir/str/results.json"
bad "seconds not a number" "record 1: seconds is not a number" "$dir/str"
mkdir "$dir/none2"; printf '[{"point": {}}]' > "$dir/none2/results.json"
bad "nothing measured" "no record has seconds" "$dir/none2"
bad "ranks 0" "ranks must be whole numbers >= 1, not 0" "$dir/a" 0
bad "ranks 2.5" "not 2.5" "$dir/a" 2.5
bad "a negative overhead" "overhead needs seconds >= 0" --overhead -1 "$dir/a"
bad "no directory given" "usage" --overhead 0
bad "an unknown option" "unknown option --fast" --fast "$dir/a"

echo "$fails failed"
[ "$fails" -eq 0 ]
