#!/usr/bin/env bash
# The quick report: `paper.lua quick=1` writes every file it promises, every figure is a
# whole PNG with pixels drawn, every CSV is rectangular with a header, the Markdown links
# only files that exist; bad arguments and a missing gnuplot are one-line errors.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${MPCL_BIN:-build/mpcl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Bad input first (cheap): no out=, an out= that cannot be made, no gnuplot on PATH.
out=$("$bin" assets/scripts/paper.lua 2>&1) && fail "ran without out="
grep -q "paper.lua: give the output directory" <<<"$out" || fail "no out=: $out"
touch "$tmp/file"
out=$("$bin" assets/scripts/paper.lua out="$tmp/file/report" 2>&1) && fail "ran into a file"
grep -q "paper.lua: cannot create $tmp/file/report/gp" <<<"$out" || fail "unmakeable out=: $out"
out=$("$bin" assets/scripts/paper.lua out="$tmp/r" quick=1 seeds=0 2>&1) && fail "seeds=0 ran"
grep -q "seeds must be a positive integer" <<<"$out" || fail "seeds=0: $out"
mkdir -p "$tmp/bin"
ln -s "$(command -v mkdir)" "$tmp/bin/mkdir"
out=$(PATH="$tmp/bin" "$bin" assets/scripts/paper.lua out="$tmp/r" quick=1 2>&1) && fail "ran without gnuplot"
grep -q "paper.lua: gnuplot not found" <<<"$out" || fail "no gnuplot: $out"
[ "$(wc -l <<<"$out")" -le 3 ] || fail "the error is not short: $out"

# The quick report.
start=$(date +%s)
"$bin" assets/scripts/paper.lua out="$tmp/r" quick=1 >"$tmp/log" 2>&1 || { tail -5 "$tmp/log"; fail "paper.lua quick=1 failed"; }
echo "quick report: $(( $(date +%s) - start )) s"
[ "$(grep -c '^\[ *[0-9]*%\] ' "$tmp/log")" -ge 60 ] || fail "no progress lines"
tail -n1 "$tmp/log" | grep -q "^wrote $tmp/r/report.md" || fail "no closing line: $(tail -n1 "$tmp/log")"

figs="fig2b fig2c fig2d fig2e scenarios fig5a fig5b fig5c fig5d fig5e"
csvs="methods fig2b fig2c_m0 fig2c_best fig2d_mnist fig2d_fmnist scenarios_mnist scenarios_fmnist
      fig2e_mnist fig2e_fmnist tolerance fig5a_hist fig5b fig5b_deviation fig5c fig5e table1"
args=()
i=0
for f in $figs; do
    [ -s "$tmp/r/$f.png" ] || fail "missing $f.png"
    [ -s "$tmp/r/gp/$f.gp" ] || fail "missing gp/$f.gp"
    grep -q "($f.png)" "$tmp/r/report.md" || fail "report.md does not show $f.png"
    i=$((i + 1)); args+=("f$i=$tmp/r/$f.png")
done
i=0
for c in $csvs; do
    [ -s "$tmp/r/$c.csv" ] || fail "missing $c.csv"
    i=$((i + 1)); args+=("c$i=$tmp/r/$c.csv")
done
"$bin" tests/report/check_files.lua "${args[@]}" || fail "a figure or a CSV is not valid"
# The map is the whole array; the methods table has every method in every scenario.
"$bin" tests/report/check_files.lua m1="$tmp/r/fig5a_map.csv" rows=512 cols=512 || fail "fig5a_map.csv is not a 512 x 512 matrix"
[ "$(awk -F, 'NR > 1' "$tmp/r/methods.csv" | wc -l)" -eq 42 ] || fail "methods.csv: not 2 x 3 x 7 runs"
# Every file the report names exists; no number is missing from its tables.
grep -o '([a-z0-9_]*\.png)\|`[a-z0-9_*]*\.csv`' "$tmp/r/report.md" | tr -d '()`' | while read -r f; do
    case "$f" in *'*'*) continue ;; esac
    [ -s "$tmp/r/$f" ] || fail "report.md names $f, which is missing"
done
if grep -qiw 'nan\|inf' "$tmp/r/report.md"; then fail "a nan or inf in report.md"; fi
for s in "Fig. 2b" "Fig. 2c" "Fig. 2d" "Fig. 2e" "Fig. 5a" "Fig. 5b" "Fig. 5c" "Fig. 5d" "Fig. 5e" "Table 1"; do
    grep -q "^## $s" "$tmp/r/report.md" || fail "report.md has no section $s"
done
# The gnuplot scripts render again from the report directory alone.
(cd "$tmp/r" && rm fig2b.png && gnuplot gp/fig2b.gp) || fail "gp/fig2b.gp does not re-render"
"$bin" tests/report/check_files.lua f1="$tmp/r/fig2b.png" >/dev/null || fail "re-rendered fig2b.png"
echo "paper report ok"
