#!/usr/bin/env bash
# Benchmark build/mpcl-bench against a PyTorch CPU peer (tests/perf/torch_peer.py) on the same
# binarized-MLP workload, at 1 thread and at $(nproc) threads.  `make bench` runs this after
# building build/mpcl-bench.
#
# Both sides run in the same environment. The engine links no BLAS (its float products are its
# own fixed-order kernels, core/gemm.h) and says which instruction-set path it ran. The peer
# gets OpenBLAS's libblas.so.3 first on LD_LIBRARY_PATH (Debian's python3-torch calls sgemm
# through libblas.so.3, which is the slow reference BLAS unless OpenBLAS is the one found),
# OPENBLAS_CORETYPE set from the CPU's ISA (SkylakeX with AVX-512, Haswell with AVX2; a value
# already set is kept), OPENBLAS_NUM_THREADS = the thread count of the run.
#
# Ends with two lines, both at $(nproc) threads:
#   train ratio vs torch: <x.x>x   (train_float784, ours / torch)
#   infer ratio vs torch: <x.x>x   (infer_binary784, ours / torch)
set -euo pipefail

cd "$(dirname "$0")/../.."
# MPCL_BENCH: another engine binary to time (for testing this script).
BIN=${MPCL_BENCH:-build/mpcl-bench}
PEER=tests/perf/torch_peer.py
# Debian's interpreter: python3-torch installs into it, and a python3 earlier on PATH
# (pyenv, venv) would not see it.
PY=/usr/bin/python3

# A run that has not finished after BENCH_TIMEOUT seconds (default 600) counts as failed.
TMO=${BENCH_TIMEOUT:-600}

die() { echo "bench: $*" >&2; exit 1; }

[ -x "$BIN" ] || die "$BIN is missing or not executable (make bench builds build/mpcl-bench)"

# --- the peer's dependencies: PyTorch, and OpenBLAS for its sgemm (the engine has its own) --
peer_missing=()
for p in python3-torch libopenblas0-pthread; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || peer_missing+=("$p")
done
if [ ${#peer_missing[@]} -gt 0 ]; then
    echo "bench: installing ${peer_missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${peer_missing[@]}" \
        || die "could not install ${peer_missing[*]}"
fi
"$PY" -c 'import torch' 2>/dev/null || die "$PY cannot import torch"

# --- BLAS: OpenBLAS first, kernel chosen from the CPU ---------------------------------------
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
obdir=""
for v in openblas-pthread openblas-openmp openblas-serial; do
    if [ -e "/usr/lib/$arch/$v/libblas.so.3" ]; then obdir="/usr/lib/$arch/$v"; break; fi
done
if [ -n "$obdir" ]; then
    export LD_LIBRARY_PATH="$obdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    blas_msg="OpenBLAS from $obdir (first on LD_LIBRARY_PATH)"
else
    blas_msg="no OpenBLAS libblas.so.3 found under /usr/lib/$arch: libblas.so.3 is whatever the alternatives system gives (maybe the reference BLAS)"
fi
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    core_msg="OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (already set, kept)"
elif grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
    core_msg="OPENBLAS_CORETYPE=SkylakeX (CPU has avx512f)"
elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
    core_msg="OPENBLAS_CORETYPE=Haswell (CPU has avx2, no avx512f)"
else
    core_msg="OPENBLAS_CORETYPE unset (no avx2: OpenBLAS detects the kernel itself)"
fi
echo "bench: peer BLAS: $blas_msg"
echo "bench: peer kernel: $core_msg"

# --- runs ----------------------------------------------------------------------------------
keys=(train_float784 infer_float784 infer_binary784)
ncpu=$(nproc)
threads=(1)
[ "$ncpu" -gt 1 ] && threads+=("$ncpu")

# value KEY TEXT: the value of the line `KEY: value` in TEXT.
value() { awk -v k="$1" 'index($0, k ": ") == 1 { print substr($0, length(k) + 3); exit }' <<< "$2"; }
failure() { if [ "$1" -eq 124 ]; then echo "timed out after ${TMO}s"; else echo "failed (exit $1)"; fi; }
isnum() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

declare -A ours theirs

# measure SIDE LABEL T CMD...: run CMD with T threads and store its keys in SIDE[key,T].
measure() {
    local -n into=$1
    local label=$2 t=$3 out v
    shift 3
    echo "bench: running $label --threads $t"
    out=$(OPENBLAS_NUM_THREADS=$t timeout "$TMO" "$@" --threads "$t" 2>&1) \
        || die "$label --threads $t $(failure $?): $(tail -n 1 <<< "$out")"
    [ "$t" = 1 ] && echo "bench: $label kernels: $(value blas "$out")"
    for k in "${keys[@]}"; do
        v=$(value "$k" "$out")
        isnum "$v" || die "$label --threads $t printed no numeric '$k: ...' line"
        into[$k,$t]=$v
    done
}

for t in "${threads[@]}"; do
    measure ours "$BIN" "$t" "$BIN"
    measure theirs "$PEER" "$t" "$PY" "$PEER"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }'; }

echo
printf '%-16s %7s %14s %14s %8s\n' metric threads "engine img/s" "torch img/s" ratio
for k in "${keys[@]}"; do
    for t in "${threads[@]}"; do
        printf '%-16s %7s %14.0f %14.0f %7sx\n' "$k" "$t" "${ours[$k,$t]}" "${theirs[$k,$t]}" \
            "$(ratio "${ours[$k,$t]}" "${theirs[$k,$t]}")"
    done
done
echo

# --- what the fixed summation order costs: the engine's float products against OpenBLAS's -----
# With the kernel set above, then with each other x86 kernel this CPU runs well, in turn.
cores=("${OPENBLAS_CORETYPE:-}")
grep -qw avx512f /proc/cpuinfo && [ "${OPENBLAS_CORETYPE:-}" != SkylakeX ] && cores+=(SkylakeX)
[ "${OPENBLAS_CORETYPE:-}" != Haswell ] && grep -qw avx2 /proc/cpuinfo && cores+=(Haswell)
for c in "${cores[@]}"; do
    g=$(OPENBLAS_CORETYPE=$c OPENBLAS_NUM_THREADS=1 timeout "$TMO" build/mpcl-bench-gemm 2>&1) \
        || die "build/mpcl-bench-gemm failed: $(tail -n 1 <<< "$g")"
    echo "$g"
    echo
done

# --- the cost of driving the engine from Lua --------------------------------------------
lua=$(timeout "$TMO" build/mpcl-bench-lua 2>&1) || die "build/mpcl-bench-lua failed: $(tail -n 1 <<< "$lua")"
grep -E '^(stepping|lua overhead)' <<< "$lua"

# --- the REPL's keystroke latency while a training job runs (tmux harness) ---------------
if command -v tmux >/dev/null; then
    for mode in console plain; do
        lat=$(MODE=$mode timeout "$TMO" tests/perf/keylatency.sh 2>&1) || die "tests/perf/keylatency.sh ($mode) failed: $(tail -n 1 <<< "$lat")"
        echo "$lat"
    done
fi

# --- the console: a full-layout frame with a 512x512 map, off screen -----------------------
frame=$(timeout "$TMO" build/mpcl-bench-frame 2>&1) || die "build/mpcl-bench-frame failed: $(tail -n 1 <<< "$frame")"
echo "$frame"

# --- the cost of the device simulation: chip inference against plain binary inference -----
chipb=$(timeout "$TMO" build/mpcl-bench-chip 2>&1) || die "build/mpcl-bench-chip failed: $(tail -n 1 <<< "$chipb")"
echo "$chipb"

# --- IR drop: the fast solver against the exact one on a 512-row layer (its summary line) ---
timeout "$TMO" build/mpcl-bench-irdrop | tail -n 1 || die "build/mpcl-bench-irdrop failed"

# --- a recorded 5-split session replays with --verify -------------------------------------
sv=$(timeout "$TMO" tests/perf/session_verify.sh 2>&1) || die "tests/perf/session_verify.sh failed: $(tail -n 1 <<< "$sv")"
grep -E '^(recorded|record|mpcl: verify)' <<< "$sv"

# --- memory: both data sets loaded in their largest form (float784) -----------------------
mem=$(build/mpcl tests/perf/memory.lua 2>&1) || die "tests/perf/memory.lua failed: $(tail -n 1 <<< "$mem")"
echo "peak memory with both data sets loaded (float784): $(value peak_rss_mb "$mem") MB (target: below 150 MB)"

T=${threads[-1]}
echo "float-input infer ratio vs torch: $(ratio "${ours[infer_float784,$T]}" "${theirs[infer_float784,$T]}")x"
echo "train ratio vs torch: $(ratio "${ours[train_float784,$T]}" "${theirs[train_float784,$T]}")x"
echo "infer ratio vs torch: $(ratio "${ours[infer_binary784,$T]}" "${theirs[infer_binary784,$T]}")x"
