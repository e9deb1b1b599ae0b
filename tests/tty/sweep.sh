#!/usr/bin/env bash
# A sweep in the console (a private tmux server, as console.sh): lab.sweep{..., wait = false}
# returns a handle at once; the job bar shows the sweep (points done, failed, running, ETA)
# while two worker processes run it and the input line stays live; s:progress() agrees; the
# console says when it has finished, s:wait() returns the records; a blocking lab.sweep then
# keeps the job bar up while it runs, and Ctrl-C stops it (the same call resumes).
set -u
. "$(dirname "$0")/common.bash"
tty_start sweep "cd $state && env XDG_STATE_HOME=$state TERM=xterm-256color $(realpath "$BIN")"
wait_for "no job running"

# Points of 1 s of busy Lua each, six of them on two workers.
keys 'busy = function(p) local t = lab.clock() while lab.clock() - t < 1 do end return {k = p.k, average = 0.5 + p.k / 100, acc = {0.5, 0.6}} end'
key Enter
keys 's = lab.sweep{grid = {k = {1, 2, 3, 4, 5, 6}}, out = "bg", workers = 2, wait = false, run = busy}'
key Enter
wait_for "sweep bg "
wait_for "running"
screen | grep -q "sweep bg [0-9]/6 done, 0 failed, [0-2] running" || fail "the job bar does not show the sweep"
keys '=s:progress().total, s:progress().state'; key Enter
wait_for '6 "running"'
wait_for "sweep bg finished: 6 of 6 points done, 0 failed" 20
keys 'r = s:wait()'; key Enter
keys '=#r, r[6].result.k, r[6].error'; key Enter
wait_for "6 6 nil"
[ -f "$state/bg/results.csv" ] || fail "no results.csv"
[ "$(wc -l < "$state/bg/results.csv")" = 7 ] || fail "results.csv has not 6 rows"

# A blocking sweep: the job bar while it runs, Ctrl-C stops it, the same call resumes.
keys 'r2 = lab.sweep{grid = {k = {1, 2, 3, 4, 5, 6, 7, 8}}, out = "fg", workers = 2, run = busy}'
key Enter
wait_for "sweep fg "
wait_for "running"
key C-c
wait_for "cancelled with"
n=$(ls "$state/fg/runs" 2>/dev/null | wc -l)
[ "$n" -lt 8 ] || fail "Ctrl-C did not stop the sweep ($n run files)"
keys 'r2 = lab.sweep{grid = {k = {1, 2, 3, 4, 5, 6, 7, 8}}, out = "fg", workers = 2, run = busy}'
key Enter
keys '=#r2, r2[8].result.k'; key Enter
wait_for "8 8" 30
key F10
wait_for "CONSOLE-EXITED-0"
echo "ok: sweep in the console (job bar, progress, finished line, wait, Ctrl-C, resume)"
