#!/usr/bin/env bash
# Benchmark (not a pass/fail test): how long `mpcl --replay` takes on a journal whose one
# chunk holds SIZE bytes of code (default 2.5 MB) in lines of WIDTH bytes (default 50), in
# format 1 (line-delimited) and format 2 (byte counts). The chunk is a long string and its
# length: running it costs next to nothing, so the time is the parse's.
#   tests/perf/journal_parse.sh [SIZE [WIDTH]]     MPCL_BIN=build/mpcl by default
set -eu
cd "$(dirname "$0")/../.."
bin=${MPCL_BIN:-build/mpcl}
size=${1:-2500000}
width=${2:-50}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The chunk's code: x = [[ LINES ]] on its own lines, then return #x.
awk -v size="$size" -v width="$width" 'BEGIN {
    line = sprintf("%*s", width - 1, ""); gsub(/ /, "y", line)
    print "x = [["
    for (n = 0; n < size; n += width) print line
    print "]]"
    printf "return #x"
}' > "$dir/code"
bytes=$(wc -c < "$dir/code")
lines=$(wc -l < "$dir/code")
{
    printf -- '-- MPCL Lab session journal, format 1\n-- seed: 1\n\n-- [chunk 1] t\ndo\n'
    cat "$dir/code"; printf '\nend\n'
} > "$dir/f1.lua"
{
    printf -- '-- MPCL Lab session journal, format 2\n-- seed: 1\n\n'
    printf -- '-- [chunk 1] t code=%d results=0\ndo\n' "$bytes"
    cat "$dir/code"; printf '\nend\n'
} > "$dir/f2.lua"
echo "journal with one chunk of $bytes bytes, $((lines + 1)) lines"
for f in f1 f2; do
    t0=$(date +%s.%N)
    if "$bin" --replay "$dir/$f.lua" > "$dir/$f.out" 2>&1; then rc=ok; else rc="failed: $(head -c 200 "$dir/$f.out")"; fi
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v f="$f" -v rc="$rc" \
        'BEGIN { printf "format %s: replay %.3f s (%s)\n", substr(f, 2), b - a, rc }'
done
