#!/usr/bin/env bash
# make install into a temporary DESTDIR (PREFIX=/usr): the installed mpcl runs a bundled
# script by name from an empty directory (no source tree), finds its MPI module under
# mpirun, each man page renders with man -l and names every long option its program's
# --help lists, and make uninstall leaves no file behind.
set -u
cd "$(dirname "$0")/../.."
dest=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$dest" "$work"' EXIT
fails=0
check() { # check NAME CMD...
    local name=$1; shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
make --no-print-directory install DESTDIR="$dest" PREFIX=/usr > "$work/install.log" 2>&1
check "make install" [ $? -eq 0 ]
bin=$dest/usr/bin
check "mpcl and mpcl-chipd in bin/" [ -x "$bin/mpcl" -a -x "$bin/mpcl-chipd" ]
check "the scripts in share/mpcl/scripts/" [ -f "$dest/usr/share/mpcl/scripts/paper.lua" ]
check "--version" bash -c "'$bin/mpcl' --version | grep -q '^mpcl [0-9]'"

# A bundled script by name, run from a directory without the source tree.
(cd "$work" && "$bin/mpcl" msweep.lua m=0 epochs=1 > msweep.out 2>&1)
check "mpcl msweep.lua (found by name)" grep -q "best two-task average" "$work/msweep.out"
(cd "$work" && "$bin/mpcl" no-such-script.lua > none.out 2>&1)
check "an unknown script is one line" bash -c "[ \$(wc -l < '$work/none.out') = 1 ] && grep -q no-such-script.lua '$work/none.out'"

# Under mpirun the installed mpcl loads PREFIX/lib/mpcl/mpcl-mpi.so.
if command -v mpirun > /dev/null && [ -f "$dest/usr/lib/mpcl/mpcl-mpi.so" ]; then
    root=$([ "$(id -u)" = 0 ] && echo --allow-run-as-root)
    cat > "$work/one.lua" <<'LUA'
local r = lab.sweep{points = {{a = 1}, {a = 2}}, out = "mpi", quiet = true,
  run = function(p) return {b = 2 * p.a} end}
local rank, size = lab.rank()
print("rank " .. rank .. " of " .. size .. ": " .. r[2].result.b)
LUA
    (cd "$work" && timeout 60 mpirun $root --oversubscribe --mca btl self,vader -np 2 \
        "$bin/mpcl" one.lua > mpi.out 2>&1)
    check "mpirun with the installed mpcl" grep -q "rank 0 of 2: 4" "$work/mpi.out"
fi

# The man pages: they render, and name every long option of --help.
for prog in mpcl mpcl-chipd; do
    page=$dest/usr/share/man/man1/$prog.1
    MANWIDTH=200 man -l "$page" > "$work/$prog.txt" 2> "$work/$prog.err"
    check "man -l $prog.1 renders" bash -c "[ -s '$work/$prog.txt' ] && ! grep -q . '$work/$prog.err'"
    missing=""
    for opt in $("$bin/$prog" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "$opt" "$work/$prog.txt" || missing="$missing $opt"
    done
    check "$prog.1 names every option of $prog --help${missing:+ (missing:$missing)}" [ -z "$missing" ]
done

make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr > "$work/uninstall.log" 2>&1
left=$(find "$dest" -type f | wc -l)
check "make uninstall leaves no file ($left left)" [ "$left" = 0 ]
echo "$fails failed"
[ "$fails" = 0 ]
