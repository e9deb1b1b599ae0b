#!/usr/bin/env bash
# lab.sweep resumes: the same command again reruns nothing (run() never called, every run
# file left as it was, the same results, read back with the same types); a missing run file
# and a failed point are rerun, nothing else. A directory holding another sweep (other
# points, or the script changed) is refused in one line without touching it; force = true
# moves the old files to DIR/superseded-N/ and runs the new sweep.
set -u
. "$(dirname "$0")/common.bash"
# state D: every file under D with its size and mtime (ns), then "CRC SIZE PATH" of each
state() { (cd "$dir/$1" && find . -type f -printf '%p %s %T@\n' | LC_ALL=C sort && find . -type f -exec cksum {} + | LC_ALL=C sort -k 3); }
sums() { grep -E "^[0-9]+ [0-9]+ \./$1\$"; }   # sums PATH < STATE: the checksum line of PATH

sweep first SWEEP_LOG=r1.log out=r workers=1
check "first run: exit 0" test $? -eq 0
same "first run: all 6 points ran" "$(ran r1.log)" "0001:1 0002:1 0003:1 0004:1 0005:1 0006:1 "
state r > "$dir/r.state"
sleep 0.05   # a rewrite now would show in the mtimes
sweep second SWEEP_LOG=r2.log out=r workers=1
check "second run: exit 0" test $? -eq 0
check "second run: run() never called" test ! -e "$dir/r2.log"
check "second run: every run file untouched (bytes and mtime)" \
    differ <(grep '^./runs/' "$dir/r.state") <(state r | grep '^./runs/')
check "second run: manifest.json the same" differ <(sums manifest.json < "$dir/r.state") <(state r | sums manifest.json)
check "second run: results.json the same" differ <(sums results.json < "$dir/r.state") <(state r | sums results.json)
check "second run: the script gets the same records, types and all (read back)" \
    differ "$dir/first.out" "$dir/second.out"
check "second run: results.csv the same but for seconds" \
    differ <(lua5.4 "$here/check.lua" csv "$dir/r") <(cd "$dir" && lua5.4 "$here/check.lua" csv r)

# A run file lost: only that point runs again.
rm "$dir/r/runs/0004.json"
state r > "$dir/r.state"
sleep 0.05
sweep third SWEEP_LOG=r3.log out=r workers=1
check "lost run file: exit 0" test $? -eq 0
same "lost run file: only 0004 ran" "$(ran r3.log)" "0004:1 "
check "lost run file: the other run files untouched" \
    differ <(grep '^./runs/' "$dir/r.state") <(state r | grep '^./runs/' | grep -v '^./runs/0004.json ')
check "lost run file: the same records" differ "$dir/first.out" "$dir/third.out"

# A failed point (retries = 0) is rerun by the next run, and only it.
sweep fail SWEEP_LOG=f1.log SWEEP_FAIL=0002 out=f workers=1 retries=0
check "failed point: the sweep still exits 0" test $? -eq 0
same "failed point: 6 points ran once" "$(ran f1.log)" "0001:1 0002:1 0003:1 0004:1 0005:1 0006:1 "
check "failed point: its record says so" grep -q '^rec 0002 i2 err i1 .*broken_point_0002' "$dir/fail.out"
check "failed point: its run file is ok=false" grep -q '"ok": *false' "$dir/f/runs/0002.json"
sweep refail SWEEP_LOG=f2.log out=f workers=1 retries=0
check "failed point rerun: exit 0" test $? -eq 0
same "failed point rerun: only 0002 ran" "$(ran f2.log)" "0002:1 "
check "failed point rerun: now ok" grep -q '^rec 0002 i2 ok i1 - ' "$dir/refail.out"
check "failed point rerun: all records as a clean run's" differ "$dir/first.out" "$dir/refail.out"

# Another sweep in the same directory: other points (n=2), refused in one line before
# anything runs, the directory untouched.
state r > "$dir/r.state"
sweep other SWEEP_LOG=o.log out=r workers=1 n=2 pcall=1
check "other points: refused (an error raised)" grep -q '^raised: ' "$dir/other.out"
msg=$(grep '^raised: ' "$dir/other.out")
echo "  $msg"
check "other points: one line" test "$(grep -c . "$dir/other.out")" -eq 1
check "other points: the message names the directory and force" \
    grep -q "raised: .*r.*force" "$dir/other.out"
check "other points: nothing ran" test ! -e "$dir/o.log"
check "other points: the directory untouched" differ "$dir/r.state" <(state r)
sweep other2 out=r workers=1 n=2
check "other points without pcall: exit 1" test $? -eq 1

# The script changed (a comment added): refused as well.
cp "$here/sweep.lua" "$dir/copy.lua"
script=$dir/copy.lua
sweep copy1 out=s workers=1 n=1
check "script copy: first run exit 0" test $? -eq 0
echo "-- changed" >> "$dir/copy.lua"
state s > "$dir/s.state"
sweep copy2 SWEEP_LOG=s.log out=s workers=1 n=1 pcall=1
check "script changed: refused" grep -q '^raised: .*force' "$dir/copy2.out"
check "script changed: nothing ran" test ! -e "$dir/s.log"
check "script changed: the directory untouched" differ "$dir/s.state" <(state s)
script=$here/sweep.lua

# force = true: the old sweep moves to DIR/superseded-1/, the new one runs in full.
sweep force SWEEP_LOG=o2.log out=r workers=1 n=2 force=1
check "force: exit 0" test $? -eq 0
same "force: the new sweep's 4 points ran" "$(ran o2.log)" "0001:1 0002:1 0003:1 0004:1 "
check "force: DIR/superseded-1/ holds the old manifest" \
    grep -q '"mpcl-sweep 1"' "$dir/r/superseded-1/manifest.json"
check "force: the old run files moved there" test -f "$dir/r/superseded-1/runs/0006.json"
check "force: no old run file left in runs/" test ! -e "$dir/r/runs/0005.json" -a ! -e "$dir/r/runs/0006.json"
lua5.4 "$here/check.lua" files "$dir/r" 4 > "$dir/force.files"
check "force: the new sweep's files" test $? -eq 0
grep '^FAIL' "$dir/force.files"
sweep force2 out=r workers=1 n=1 force=1
check "force again: DIR/superseded-2/" test -f "$dir/r/superseded-2/manifest.json"
sweep again SWEEP_LOG=o3.log out=r workers=1 n=1 force=1
check "force with the same sweep: nothing superseded, nothing rerun" \
    test ! -e "$dir/r/superseded-3" -a ! -e "$dir/o3.log"

echo "$fails failed"
[ "$fails" -eq 0 ]
