#!/usr/bin/env bash
# The test runner behind `make test`: cmocka unit tests (plain, under ASan+UBSan, and
# under valgrind), headless Lua tests, terminal tests through tmux, then one closing line
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
failures=()
log=build/test-logs
mkdir -p "$log"

# Counts from one cmocka binary's summary lines; a crash without a summary is a failure.
run_cmocka() {
    local label=$1; shift
    local out="$log/$label.log"
    mkdir -p "$(dirname "$out")"
    "$@" >"$out" 2>&1
    local rc=$?
    local p f
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failures+=("$label (see $out)")
        printf 'FAIL %-40s %d passed, %d failed\n' "$label" "$p" "$f"
    else
        printf 'ok   %-40s %d passed\n' "$label" "$p"
    fi
}

for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    run_cmocka "unit/$name" "$t"
    run_cmocka "asan/$name" env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "build/asan/tests/$name"
    if command -v valgrind >/dev/null; then
        run_cmocka "valgrind/$name" env MPCL_TEST_QUICK=1 OPENBLAS_NUM_THREADS=1 \
            valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t"
    fi
done

# run_one TAG NAME LOG CMD...: one scripted test, passed when CMD exits 0.
run_one() {
    local tag=$1 name=$2 out=$3
    shift 3
    if "$@" >"$out" 2>&1; then
        passed=$((passed + 1)); printf 'ok   %-40s\n' "$tag/$name"
    else
        failed=$((failed + 1)); failures+=("$tag/$name (see $out)")
        printf 'FAIL %-40s\n' "$tag/$name"
        # The test's own FAIL line, then the last lines that say something.
        grep -m1 '^FAIL' "$out"; grep -v '^[[:space:]]*$' "$out" | tail -n 5
    fi
}

# Lua tests (headless scripts), session tests (record, replay, verify, sandbox) and terminal tests (build/mpcl driven in a private tmux
# server), each with the plain and the ASan+UBSan build of mpcl.
for bin in build/mpcl build/asan/mpcl; do
    [ -x "$bin" ] || continue
    prefix=$([ "$bin" = build/mpcl ] && echo "" || echo "asan-")
    for s in tests/lua/*.lua; do
        [ -f "$s" ] || continue
        n=$(basename "$s")
        run_one "${prefix}lua" "$n" "$log/${prefix}lua-${n%.lua}.log" \
            env ASAN_OPTIONS=detect_leaks=1 "$bin" "$s"
    done
    for s in tests/tty/*.sh tests/sessions/*.sh tests/crash/*.sh tests/link/*.sh tests/sandbox/*.sh tests/sweep/*.sh; do
        [ -x "$s" ] || continue
        n=$(basename "$s")
        kind=$(basename "$(dirname "$s")")
        run_one "${prefix}$kind" "$n" "$log/${prefix}$kind-${n%.sh}.log" env MPCL_BIN="$bin" "$s"
    done
done

# Once, with the plain build: the commands the tests call are all installed by
# tools/deps.sh; the same results on every instruction-set path, thread count and CPU.
for s in tests/meta/*.sh tests/determinism/*.sh; do
    [ -x "$s" ] || continue
    n=$(basename "$s")
    kind=$(basename "$(dirname "$s")")
    run_one "$kind" "$n" "$log/$kind-${n%.sh}.log" env MPCL_BIN=build/mpcl "$s"
done

# The quick paper report (paper.lua quick=1, about 2 minutes): once, with the plain build.
for s in tests/report/*.sh; do
    [ -x "$s" ] || continue
    n=$(basename "$s")
    run_one report "$n" "$log/report-${n%.sh}.log" env MPCL_BIN=build/mpcl "$s"
done

# Every parser's fuzz target (tests/fuzz/corpus/NAME, build/fuzz-NAME) under libFuzzer for
# FUZZ_TEST_TIME seconds (5; make fuzz: longer) on a copy of its corpus in build/fuzz-test,
# then the committed corpus (seeds and regression inputs) replayed under gcc's ASan+UBSan.
for dir in tests/fuzz/corpus/*/; do
    name=$(basename "$dir")
    [ -x "build/fuzz-$name" ] && run_one fuzz "fuzz-$name" "$log/fuzz-$name.log" \
        env FUZZ_TIME="${FUZZ_TEST_TIME:-5}" FUZZ_WORK=build/fuzz-test tests/fuzz/fuzz.sh "$name"
    [ -x "build/fuzz-$name-replay" ] && run_one fuzz "fuzz-$name-replay" \
        "$log/fuzz-$name-replay.log" "build/fuzz-$name-replay" "$dir"
done

for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
