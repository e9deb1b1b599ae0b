#!/usr/bin/env bash
# The same results on every machine: fingerprint.lua (training on binary and float inputs,
# the float baselines, a noise sweep, the simulated chip and fine-tuning) gives the same
# lines and the same net files' bytes
#   - on every instruction-set path this CPU has (MPCL_ISA=avx512, avx2, generic),
#   - at 1 and 2 threads,
#   - whatever OPENBLAS_CORETYPE says (the engine links no BLAS: checked with ldd),
#   - and as on the machine that made golden.txt (another CPU: the point of the test).
# When the lab's arithmetic changes on purpose, regenerate the golden file with
#   tests/determinism/paths.sh --update
set -u
cd "$(dirname "$0")/../.."
bin=$(realpath "${MPCL_BIN:-build/mpcl}")
here=tests/determinism
dir=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
fails=0
check() { # check WHAT CONDITION...
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

# lua CODE: what CODE prints, run by the lab.
lua() { echo "$1" >"$dir/snippet.lua" && "$bin" "$dir/snippet.lua"; }

# run NAME ENV...: the fingerprint under ENV, its lines and the nets' digests in NAME.txt.
run() {
    local name=$1; shift
    mkdir -p "$dir/$name"
    if ! env "$@" "$bin" "$here/fingerprint.lua" out="$dir/$name" >"$dir/$name.out" 2>&1; then
        echo "FAIL $name: fingerprint.lua failed: $(tail -n 3 "$dir/$name.out")"
        fails=$((fails + 1))
        return
    fi
    { cat "$dir/$name.out"; (cd "$dir/$name" && sha256sum ./*.net); } >"$dir/$name.txt"
}

# same A B: B's lines equal A's; on a difference, the first line that differs.
same() {
    if cmp -s "$dir/$1.txt" "$dir/$2.txt"; then return 0; fi
    diff "$dir/$1.txt" "$dir/$2.txt" | sed -n '2p;4p' | cut -c1-200
    return 1
}

if [ "${1:-}" = "--update" ]; then
    run golden
    { echo "# made by tests/determinism/paths.sh --update on: $(lua 'print(lab.platform().summary)')"
      cat "$dir/golden.txt"; } >"$here/golden.txt"
    echo "wrote $here/golden.txt ($(wc -l <"$here/golden.txt") lines)"
    exit 0
fi

check "the engine links no BLAS (its kernel could not move a result)" \
    bash -c "! ldd '$bin' | grep -qiE 'blas|lapack'"

out=$(MPCL_ISA=avx1024 "$bin" "$here/fingerprint.lua" out="$dir" 2>&1)
check "an unknown MPCL_ISA is a one-line error" \
    test $? -eq 2 -a "$out" = "mpcl: MPCL_ISA=avx1024: unknown path (avx512, avx2 or generic)"
best=$(lua 'print(lab.platform().best)')
paths=(avx512 avx2 generic)
case $best in avx2) paths=(avx2 generic) ;; generic) paths=(generic) ;; esac
echo "this machine: $(lua 'print(lab.platform().summary)')"

run ref MPCL_THREADS=1 MPCL_ISA="${paths[0]}"
for p in "${paths[@]}"; do
    for t in 1 2; do
        [ "$p/$t" = "${paths[0]}/1" ] && continue
        run "$p-$t" MPCL_THREADS=$t MPCL_ISA="$p"
        check "path $p, $t threads: the same results and net files as ${paths[0]}, 1 thread" same ref "$p-$t"
    done
done
for core in Haswell SkylakeX Zen Prescott; do
    run "blas-$core" MPCL_THREADS=2 OPENBLAS_CORETYPE=$core
    check "OPENBLAS_CORETYPE=$core: the same results" same ref "blas-$core"
done
grep -v '^#' "$here/golden.txt" >"$dir/golden.txt"
check "the same results as the machine that made golden.txt ($(sed -n '1s/^# made by .* on: //p' "$here/golden.txt"))" same golden ref
check "every kind of result is in the fingerprint" \
    bash -c "for k in binary.matrix3 float.matrix3 baseline.ewc.matrix3 baseline.gem.weights2 noise chip.infer16 chip.finetune chip.after16 finetuned.net; do grep -q \"\$k\" '$dir/ref.txt' || exit 1; done"

[ "$fails" -eq 0 ]
