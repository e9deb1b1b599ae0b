#!/usr/bin/env bash
# lab.sweep in-process (workers = 1): the grid's points (keys in byte order, the first key
# varying slowest), an explicit list kept in its order, the records and files in point
# order, the values run() returned as decoded JSON (integers, exact floats, NaN as nil,
# lists), the seeds (info.seed from the point alone; lab.seed and math.randomseed set to
# it), the dispatch order given by cost, and quiet.
set -u
. "$(dirname "$0")/common.bash"

sweep grid out=g SWEEP_LOG=g.log workers=1
check "grid: exit 0" test $? -eq 0
head -n 3 "$dir/grid.err"
lua5.4 "$here/check.lua" files "$dir/g" 6 > "$dir/files.out"
check "grid: the files (manifest, runs, results.json, results.csv)" test $? -eq 0
grep '^FAIL' "$dir/files.out"
# grid {seed = {1, 2}, m = {0, 0.005, 2}, B = {true}}: byte order B, m, seed; seed fastest
same "grid: point order (m slowest, seed fastest)" \
    "$(lua5.4 "$here/check.lua" table "$dir/g" | awk '{ printf "%s:%s:%s ", $1, $2, $3 }')" \
    "0001:0:1 0002:0:2 0003:0.005:1 0004:0.005:2 0005:2:1 0006:2:2 "
same "grid: the script's records in point order" \
    "$(awk '$1 == "rec" { printf "%s:%s ", $2, $3 }' "$dir/grid.out")" \
    "0001:i1 0002:i2 0003:i3 0004:i4 0005:i5 0006:i6 "
same "grid: run() called once per point, in point order, attempt 1, in this process" \
    "$(awk '{ printf "%s:%s ", $1, $2; p[$3] = 1 } END { n = 0; for (k in p) n++; printf "pids:%d", n }' "$dir/g.log")" \
    "0001:1 0002:1 0003:1 0004:1 0005:1 0006:1 pids:1"
check "grid: every record ok" test "$(grep -c '^rec .* ok i1 - {' "$dir/grid.out")" -eq 6

# The values the script gets back are the decoded JSON: 0 * 10 + 1 an integer, 0 / 3 an
# integral float (an integer), 1 / 3 and 0.005 / 3 exact, NaN gone, lists as lists.
r1=$(grep '^rec 0001 ' "$dir/grid.out")
r3=$(grep '^rec 0003 ' "$dir/grid.out")
r5=$(grep '^rec 0005 ' "$dir/grid.out")
# has LINE KEY=VALUE: the canonical text holds that key with that value
has() { case "$1" in *"{$2,"* | *",$2,"* | *",$2}"* | *"{$2}"*) return 0 ;; esac; return 1; }
check "json: an integer stays an integer (sum=i1)" has "$r1" "sum=i1"
check "json: an integral float comes back an integer (third=i0)" has "$r1" "third=i0"
check "json: a list stays a list, floats exact (acc)" has "$r1" "acc={1=f0.5,2=i1,3=f0.33333333333333331}"
check "json: 0.005 * 10 + 1 exact" has "$r3" "sum=f1.05"
check "json: 0.005 / 3 exact" has "$r3" "third=f0.0016666666666666668"
check "json: 2 / 3 exact" has "$r5" "third=f0.66666666666666663"
check "json: NaN comes back nil" test -z "$(grep '^rec' "$dir/grid.out" | grep gone)"
check "json: a nested table" has "$r5" "nested={x={y=i1}}"
check "json: a boolean" has "$r5" "flag=btrue"
check "json: a 40-list whole in the result" has "$r5" "big={1=i1,10=i10,11=i11,12=i12,13=i13,14=i14,15=i15,16=i16,17=i17,18=i18,19=i19,2=i2,20=i20,21=i21,22=i22,23=i23,24=i24,25=i25,26=i26,27=i27,28=i28,29=i29,3=i3,30=i30,31=i31,32=i32,33=i33,34=i34,35=i35,36=i36,37=i37,38=i38,39=i39,4=i4,40=i40,5=i5,6=i6,7=i7,8=i8,9=i9}"

# Seeds: info.seed in 1..2^31-1, distinct per point, lab.seed() and math.random as seeded.
lua5.4 "$here/check.lua" table "$dir/g" > "$dir/g.table"
bad=$(lua5.4 -e '
  local seen, bad = {}, {}
  for line in io.lines() do
    local id, m, s, ok, att, seed, labseed, draw = line:match("^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)")
    seed, labseed, draw = math.tointeger(tonumber(seed)), math.tointeger(tonumber(labseed)), math.tointeger(tonumber(draw))
    if not seed or seed < 1 or seed > 2147483647 then bad[#bad + 1] = id .. " seed " .. tostring(seed)
    else
      if seen[seed] then bad[#bad + 1] = id .. " seed as " .. seen[seed] end
      seen[seed] = id
      if labseed ~= seed then bad[#bad + 1] = id .. " lab.seed() " .. tostring(labseed) end
      math.randomseed(seed)
      if draw ~= math.random(1, 1000000000) then bad[#bad + 1] = id .. " math.random not seeded with info.seed" end
    end
  end
  print(table.concat(bad, "; "))' < "$dir/g.table")
same "seeds: info.seed in 1..2^31-1, distinct, lab.seed() and math.randomseed set to it" "$bad" ""

# The same points as an explicit list, reversed: kept in that order; each point the same
# seed and draws as in the grid (the seed comes from the point, not its place).
sweep list out=l SWEEP_LOG=l.log workers=1 list=1
check "list: exit 0" test $? -eq 0
lua5.4 "$here/check.lua" table "$dir/l" > "$dir/l.table"
same "list: kept in its order" "$(awk '{ printf "%s:%s:%s ", $1, $2, $3 }' "$dir/l.table")" \
    "0001:2:2 0002:2:1 0003:0.005:2 0004:0.005:1 0005:0:2 0006:0:1 "
same "list: the same seed and draw per point as the grid" \
    "$(awk '{ print $2, $3, $6, $8 }' "$dir/l.table" | sort)" "$(awk '{ print $2, $3, $6, $8 }' "$dir/g.table" | sort)"

# cost: longest expected first (cost = m): 0005 0006, 0003 0004, 0001 0002; the records
# still in point order.
sweep cost out=c SWEEP_LOG=c.log workers=1 cost=1
check "cost: exit 0" test $? -eq 0
same "cost: run() called longest expected first" "$(awk '{ printf "%s ", $1 }' "$dir/c.log")" \
    "0005 0006 0003 0004 0001 0002 "
same "cost: records in point order" "$(awk '$1 == "rec" { printf "%s ", $2 }' "$dir/cost.out")" \
    "0001 0002 0003 0004 0005 0006 "

# quiet = true: nothing on stderr; quiet = false (headless): a line per finished point.
check "quiet: nothing on stderr" test ! -s "$dir/grid.err"
sweep loud out=q workers=1 quiet=0
check "not quiet: exit 0" test $? -eq 0
check "not quiet: at least a line per point on stderr" test "$(wc -l < "$dir/loud.err")" -ge 6
head -n 2 "$dir/loud.err"

echo "$fails failed"
[ "$fails" -eq 0 ]
