#!/usr/bin/env bash
# Every program the tests call is installed by tools/deps.sh or comes with any Debian (its
# package is Essential or Priority: required), so that `make test` passes on a fresh machine.
# Reads the commands in command position in tests/**/*.sh (and the files they source from
# their own folder), the Makefile's test and fuzz
# recipes and the os.execute / io.popen strings of the Lua the tests run (tests/**/*.lua,
# assets/scripts/*.lua); holds them to `tools/deps.sh --print-commands` (command package) and
# `--print-packages`; checks each declared command:package against dpkg -L when the package is
# installed. No network, no root, a second or two. One line per problem, exit status 1 if any.
#   -v: also list every command with where it comes from and where the tests call it.
set -u
cd "$(dirname "$0")/../.." || exit 1
deps=tools/deps.sh
verbose=0
[ "${1:-}" = -v ] && verbose=1
problems=0
problem() { echo "deps_check: $*"; problems=$((problems + 1)); }

# The extractor: prints "FILE LINE COMMAND", once per command and file (its first call).
# A small shell lexer (quotes, $(...), backticks, ${...}, $((...)), heredocs, comments,
# redirections), then a walk over the tokens that knows which words are commands: after
# separators and keywords, inside $(...) and (...), after env / timeout N / exec / command ...,
# in trap and bash -c strings, and after a script's own functions that run "$@" (run_one TAG
# NAME LOG CMD...: the words after `shift N` of them). Skipped: keywords and builtins
# (builtins=), the script's functions, assignments, expansions, paths (the repo's programs).
# Lua and Makefile recipes become shell text first (a non-literal piece of a Lua string: $X).
# Written for mawk (Debian's awk); no single quote in it (\047).
# shellcheck disable=SC2016
extract='
BEGIN {
    Q = "\047"
    n = split(builtins, a, " "); for (i = 1; i <= n; i++) skipw[a[i]] = 1
    split("if then else elif do while until ! { time", a, " "); for (i in a) kw_cmd[a[i]] = 1
    split("} fi done esac", a, " "); for (i in a) kw_end[a[i]] = 1
    # commands that run the command in their arguments, and their options that take a value
    split("env timeout exec command nohup nice setsid stdbuf xargs sudo builtin", a, " ")
    for (i in a) prefix[a[i]] = 1
    optarg["env"] = " -u -C -S --unset --chdir --split-string "
    optarg["timeout"] = " -s -k --signal --kill-after "
    optarg["nice"] = " -n --adjustment "
    optarg["sudo"] = " -u -g -C -D -h -p -U -r -t "
    optarg["xargs"] = " -a -d -E -I -L -n -P -s "
    optarg["stdbuf"] = " -i -o -e "
    ASSIGN = "^[A-Za-z_][A-Za-z0-9_]*(\\[[^]]*\\])?\\+?="
}
FNR == 1 && NR > 1 { scan(file, text); text = "" }
{ text = text $0 "\n"; file = FILENAME }
END { if (file != "") scan(file, text) }

function scan(f, s,    q, pass) {
    split("", funcs); split("", wrapper); nq = 0
    if (f ~ /\.lua$/) lua_code(s)
    else if (f ~ /(^|\/)Makefile$/) make_code(s)
    else { queue(s, 1); sourced(f, s) }
    # pass 1 finds the functions (and queues trap / bash -c strings), pass 2 the commands
    for (pass = 1; pass <= 2; pass++)
        for (q = 1; q <= nq; q++) { tokenize(qtext[q], qline[q]); parse(f, pass) }
}
function queue(code, line) { nq++; qtext[nq] = code; qline[nq] = line }
# A file the script sources from its own folder (. "$(dirname "$0")/NAME"): its functions
# are those of the script, and the commands it calls count as calls of the script.
function sourced(f, s,    n, i, L, dir, path, line, t) {
    dir = f; sub(/\/[^\/]*$/, "", dir)
    n = split(s, L, "\n")
    for (i = 1; i <= n; i++)
        if (L[i] ~ /^[ \t]*(\.|source)[ \t]+"\$\(dirname "\$0"\)\/[A-Za-z0-9_.-]+"/) {
            path = L[i]; sub(/^[^)]*\)\//, "", path); sub(/".*/, "", path)
            path = dir "/" path; t = ""
            while ((getline line < path) > 0) t = t line "\n"
            close(path)
            if (t != "") queue(t, 1)
        }
}

# ---- the lexer: TK (w word, a ((arith)), o operator, r redirection wanting a word, R
# redirection), TV (value without quotes), TR (raw text), TX (has an expansion), TL (line)
function tok(k, v, r, x, l) { nt++; TK[nt] = k; TV[nt] = v; TR[nt] = r; TX[nt] = x; TL[nt] = l }
function clearw(w) { WV[w] = ""; WR[w] = ""; WI[w] = 0; WX[w] = 0 }
function addc(v, r,    w) { w = WD[D]; if (!WI[w]) { WI[w] = 1; WL[w] = LN } WV[w] = WV[w] v; WR[w] = WR[w] r }
function endword(   w) { w = WD[D]; if (WI[w]) tok("w", WV[w], WR[w], WX[w], WL[w]); clearw(w) }
function push(type) { D++; CT[D] = type; PD[D] = 0; WD[D] = (type == "dq") ? WD[D - 1] : D; if (type != "dq") clearw(D) }
function nl_count(t,    m) { m = gsub(/\n/, "", t); return m }
function match_end(s, i, op, cl, depth,    c) {   # index after the closing char
    for (; i <= length(s) && depth > 0; i++) {
        c = substr(s, i, 1)
        if (c == op) depth++; else if (c == cl) depth--
    }
    return i
}
function tokenize(s, ln,    n, i, j, c, c2, w) {
    nt = 0; LN = ln; D = 0; push("code"); nh = 0; n = length(s); i = 1
    while (i <= n) {
        c = substr(s, i, 1); c2 = substr(s, i + 1, 1)
        if (CT[D] == "dq") {
            if (c == "\"") { addc("", c); D--; i++ }
            else if (c == "\\") { LN += (c2 == "\n"); addc(index("$`\"\\\n", c2) ? c2 : c c2, c c2); i += 2 }
            else if (c == "$" || c == "`") i = dollar(s, i)
            else { LN += (c == "\n"); addc(c, c); i++ }
            continue
        }
        if (c == " " || c == "\t") { endword(); i++ }
        else if (c == "\n") { endword(); tok("o", "\n"); LN++; i++; if (nh) i = heredocs(s, i) }
        else if (c == "\\") { if (c2 == "\n") LN++; else addc(c2, c c2); i += 2 }
        else if (c == Q) {
            j = index(substr(s, i + 1), Q); if (!j) j = n - i + 1
            addc(substr(s, i + 1, j - 1), substr(s, i, j + 1)); LN += nl_count(substr(s, i + 1, j - 1)); i += j + 1
        }
        else if (c == "\"") { addc("", c); push("dq"); i++ }
        else if (c == "$") i = dollar(s, i)
        else if (c == "`") {
            if (CT[D] == "bq") { endword(); tok("o", "$)"); D--; i++ } else i = dollar(s, i)
        }
        else if (c == "#" && !WI[WD[D]]) { j = index(substr(s, i), "\n"); i = j ? i + j - 1 : n + 1 }
        else if (c == ";") {
            endword()
            if (substr(s, i, 3) == ";;&") { tok("o", ";;"); i += 3 }
            else if (c2 == ";" || c2 == "&") { tok("o", ";;"); i += 2 }
            else { tok("o", ";"); i++ }
        }
        else if (c == "&" && c2 == ">") { endword(); i = redir(s, i) }
        else if (c == "&") { endword(); if (c2 == "&") { tok("o", "&&"); i += 2 } else { tok("o", "&"); i++ } }
        else if (c == "|") {
            endword()
            if (c2 == "|") { tok("o", "||"); i += 2 } else { tok("o", "|"); i += 1 + (c2 == "&") }
        }
        else if ((c == "<" || c == ">") && c2 == "(") i = dollar(s, i)
        else if (c == "<" || c == ">") {
            w = WD[D]
            if (WI[w] && WR[w] ~ /^[0-9]+$/) clearw(w); else endword()   # 2>file: 2 is no word
            i = redir(s, i)
        }
        else if (c == "(") {
            w = WD[D]
            if (WI[w] && WR[w] ~ (ASSIGN "$")) { endword(); tok("o", "=("); PD[D]++; i++ }
            else if (!WI[w] && c2 == "(") {
                j = match_end(s, i + 2, "(", ")", 2); tok("a", "", substr(s, i, j - i), 1, LN)
                LN += nl_count(substr(s, i, j - i)); i = j
            }
            else { endword(); tok("o", "("); PD[D]++; i++ }
        }
        else if (c == ")") {
            endword(); i++
            if (PD[D] == 0 && CT[D] == "sub") { tok("o", "$)"); D-- }
            else { if (PD[D] > 0) PD[D]--; tok("o", ")") }
        }
        else { addc(c, c); i++ }
    }
    while (D > 1) { endword(); tok("o", "$)"); D-- }
    endword()
}
# $name, ${...}, $((...)), $(...), `...`, <(...), >(...): returns the index after it
function dollar(s, i,    c, c2, j, w) {
    c = substr(s, i, 1); c2 = substr(s, i + 1, 1); w = WD[D]
    if (c == "`" || (c2 == "(" && (c != "$" || substr(s, i + 2, 1) != "("))) {
        addc("", c == "`" ? c : c c2); WX[w] = 1; tok("o", "$(")
        push(c == "`" ? "bq" : "sub")
        return i + (c == "`" ? 1 : 2)
    }
    if (c2 == "(") j = match_end(s, i + 3, "(", ")", 2)
    else if (c2 == "{") j = match_end(s, i + 2, "{", "}", 1)
    else if (c2 ~ /[A-Za-z_]/) for (j = i + 2; substr(s, j, 1) ~ /[A-Za-z0-9_]/; j++) ;
    else if (c2 ~ /[0-9@*#?$!-]/) j = i + 2
    else if (c2 == Q) { j = index(substr(s, i + 2), Q); j = j ? i + 2 + j : length(s) + 1 }
    else { addc(c, c); return i + 1 }
    addc("", substr(s, i, j - i)); WX[w] = 1; LN += nl_count(substr(s, i, j - i))
    return j
}
function redir(s, i,    c, c2, j, delim, strip) {
    c = substr(s, i, 1); c2 = substr(s, i + 1, 1)
    if (substr(s, i, 3) == "<<<") { tok("r", "<<<"); return i + 3 }
    if (c == "<" && c2 == "<") {   # a heredoc: its body is skipped at the end of the line
        strip = (substr(s, i + 2, 1) == "-"); j = i + 2 + strip
        while (substr(s, j, 1) ~ /[ \t]/) j++
        for (delim = ""; substr(s, j, 1) != "" && substr(s, j, 1) !~ /[ \t\n;|&<>()]/; j++) delim = delim substr(s, j, 1)
        gsub(/["\047\\]/, "", delim)
        nh++; HD[nh] = delim; HS[nh] = strip
        tok("R", "<<"); return j
    }
    if (c == "&") { j = i + 2 + (substr(s, i + 2, 1) == ">"); tok("r", "&>"); return j }
    j = i + 1
    if (c2 == c || c2 == "|" || (c == "<" && c2 == ">")) j++
    else if (c2 == "&") {
        for (j = i + 2; substr(s, j, 1) ~ /[0-9-]/; j++) ;
        if (j > i + 2) { tok("R", ">&"); return j }
    }
    tok("r", c); return j
}
function heredocs(s, i,    h, j, line) {
    for (h = 1; h <= nh; h++)
        while (i <= length(s)) {
            j = index(substr(s, i), "\n"); line = j ? substr(s, i, j - 1) : substr(s, i)
            i = j ? i + j : length(s) + 1; LN++
            if (HS[h]) sub(/^\t+/, "", line)
            if (line == HD[h]) break
        }
    nh = 0; return i
}

# ---- the walk over the tokens
function spush(kind) {
    sd++; SK[sd] = kind; SS[sd] = state; SN[sd] = wrapn; SP[sd] = pfx; SC[sd] = curcmd; SR[sd] = redir_pending
    redir_pending = 0
}
function spop() {
    if (sd > 1) { state = SS[sd]; wrapn = SN[sd]; pfx = SP[sd]; curcmd = SC[sd]; redir_pending = SR[sd]; sd-- }
}
function define(name) { funcs[name] = 1; fname = name; fbrace = brace; shifts = 0 }
function parse(f, pass,    t, k, v) {
    sd = 1; state = "CMD"; redir_pending = 0; brace = 0; fname = ""; curcmd = ""; pfx = ""
    for (t = 1; t <= nt; t++) {
        k = TK[t]; v = TV[t]
        if (k == "o" && v == "$(") { spush("sub"); state = "CMD"; continue }
        if (k == "o" && v == "$)") { while (sd > 1 && SK[sd] != "sub") spop(); spop(); continue }
        if (state == "SKIP") { if (k == "w" && TR[t] == "]]") state = "AFTER"; continue }
        if (k == "o") {
            if (v == "=(") { spush("paren"); state = "IGN" }
            else if (v == "(") { if (state != "CASEPAT") { if (state == "CMD") state = "AFTER"; spush("paren"); state = "CMD" } }
            else if (v == ")") { if (state == "CASEPAT") state = "CMD"; else if (SK[sd] == "paren") spop() }
            else if (v == ";;") state = "CASEPAT"
            else if (state != "FORHEAD" && state != "CASEWORD" && state != "CASEPAT" && state != "IGN") {
                state = "CMD"; redir_pending = 0
            }
            continue
        }
        if (k == "r") { redir_pending = 1; continue }
        if (k == "R") continue
        if (redir_pending) { redir_pending = 0; continue }
        if (state == "IGN") continue
        if (state == "FORHEAD") { if (v == "do" && TR[t] == v) state = "CMD"; continue }
        if (state == "CASEWORD") { if (v == "in") state = "CASEPAT"; continue }
        if (state == "CASEPAT") { if (v == "esac" && TR[t] == v) state = "AFTER"; continue }
        if (state == "FUNCNAME") {
            define(v); state = "CMD"
            if (TV[t + 1] == "(" && TV[t + 2] == ")" && TK[t + 1] == "o") t += 2
            continue
        }
        if (state == "WRAP") { if (--wrapn <= 0) state = "CMD"; continue }
        if (state == "CODE") { if (pass == 1) queue(v, TL[t]); state = "ARG"; continue }
        if (state == "PREFIX") {
            if (pfx == "command" && (v == "-v" || v == "-V")) { state = "ARG"; continue }
            if (pfx_arg) { pfx_arg = 0; continue }
            if (v ~ /^-/ && !TX[t]) { if (index(optarg[pfx], " " v " ")) pfx_arg = 1; continue }
            if (pfx == "env" && TR[t] ~ ASSIGN) continue
            if (need_dur) { need_dur = 0; continue }
            state = "CMD"
        }
        if (state != "CMD") {
            if (state == "ARG" && curcmd ~ /^(ba|da)?sh$/ && v == "-c") state = "CODE"
            continue
        }
        if (k == "a") { state = "AFTER"; continue }
        if (TR[t] ~ ASSIGN) continue
        if (!TX[t] && TR[t] == v) {
            if (v in kw_cmd) { if (v == "{") brace++; continue }
            if (v in kw_end) {
                if (v == "}" && --brace == fbrace && fname != "") fname = ""
                state = "AFTER"; continue
            }
            if (v == "for" || v == "select") { state = "FORHEAD"; continue }
            if (v == "case") { state = "CASEWORD"; continue }
            if (v == "[[") { state = "SKIP"; continue }
            if (v == "function") { state = "FUNCNAME"; continue }
        }
        if (TK[t + 1] == "o" && TV[t + 1] == "(" && TK[t + 2] == "o" && TV[t + 2] == ")") {
            define(v); t += 2; continue
        }
        curcmd = ""; state = "ARG"
        if (TX[t]) {   # "$@" run by a function: it runs the words after its shifts
            if (fname != "" && (TR[t] == "\"$@\"" || TR[t] == "$@") && !(fname in wrapper)) wrapper[fname] = shifts
            continue
        }
        if (v ~ /\//) continue
        curcmd = v
        if (v in funcs) {
            if (v in wrapper) { if (wrapper[v] > 0) { state = "WRAP"; wrapn = wrapper[v] } else state = "CMD" }
            continue
        }
        if (v == "shift" && fname != "") shifts += (TK[t + 1] == "w" && TV[t + 1] ~ /^[0-9]+$/) ? TV[t + 1] : 1
        if (v == "trap") state = "CODE"
        if (v in prefix) { state = "PREFIX"; pfx = v; pfx_arg = 0; need_dur = (v == "timeout") }
        if (pass == 2 && !(v in skipw) && v ~ /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/ && !((f, v) in seen)) {
            seen[f, v] = 1; print f, TL[t], v
        }
    }
}

# ---- Lua: the string given to os.execute, io.popen or a local function that calls them
function lua_code(s,    n, L, i, j, name, body, names, m, p, rest, off, line, pre) {
    n = split(s, L, "\n"); names = " os.execute io.popen "
    for (i = 1; i <= n; i++) {
        if (!match(L[i], /function[ \t]+[A-Za-z_][A-Za-z0-9_.]*[ \t]*\(/)) continue
        name = substr(L[i], RSTART, RLENGTH); sub(/^function[ \t]+/, "", name); sub(/[ \t]*\($/, "", name)
        body = L[i]
        for (j = i + 1; j <= n && body !~ /(^|[^A-Za-z0-9_])end[ \t]*$/; j++) body = body "\n" L[j]
        if (body ~ /os\.execute|io\.popen/) names = names name " "
    }
    m = split(names, a, " ")
    for (p = 1; p <= m; p++) {
        rest = s; off = 0
        while ((j = index(rest, a[p] "(")) > 0) {
            pre = substr(rest, 1, j - 1); off += j + length(a[p]); rest = substr(rest, j + length(a[p]) + 1)
            if (pre ~ /[A-Za-z0-9_.:]$/ || pre ~ /function[ \t]+$/) continue
            line = nl_count(substr(s, 1, off)) + 1
            if (line_of(s, off) ~ /^[ \t]*--/) continue
            queue(lua_arg(rest), line)
        }
    }
}
function line_of(s, off,    b) { b = substr(s, 1, off); sub(/.*\n/, "", b); return b }
# the first argument as shell text: its literal pieces, with $X for what lies between them
function lua_arg(s,    i, c, d, depth, code, gap, lit) {
    depth = 1; code = ""; gap = 0
    for (i = 1; i <= length(s) && depth > 0; i++) {
        c = substr(s, i, 1)
        if (c == "\"" || c == Q) {
            for (lit = ""; (d = substr(s, ++i, 1)) != c && d != ""; ) {
                if (d == "\\") { d = substr(s, ++i, 1); if (d == "n") d = "\n"; else if (d == "t") d = "\t" }
                lit = lit d
            }
            if (depth == 1) { code = code (gap ? "$X" : "") lit; gap = 0 } else gap = 1
        }
        else if (c ~ /[({[]/) { depth++; gap = 1 }
        else if (c ~ /[]})]/) depth--
        else if (c == "," && depth == 1) break
        else if (c !~ /[ \t\n.]/) gap = 1
    }
    return code (gap ? "$X" : "")
}

# ---- the Makefile: recipes of test, fuzz and the fuzz targets; make variables become $X
function make_code(s,    n, L, i, j, on, line, first, tg) {
    n = split(s, L, "\n"); on = 0
    for (i = 1; i <= n; i++) {
        line = L[i]; first = i
        while (line ~ /\\$/ && i < n) { i++; sub(/\\$/, "", line); line = line " " L[i] }
        if (line ~ /^\t/) {
            if (!on) continue
            sub(/^\t[@+ \t-]*/, "", line)
            queue(make_vars(line), first)
        }
        else if (line ~ /^[^#=]*[^:=]:([^=]|$)/) {
            tg = line; sub(/:.*/, "", tg)
            on = (" " tg " ") ~ /[ \/](test|fuzz)[ ]|fuzz/
        }
        else if (line !~ /^[ \t]*(#|$)/) on = 0
    }
}
function make_vars(s,    out, i, c, c2, j) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1); c2 = substr(s, i + 1, 1)
        if (c != "$") { out = out c; continue }
        if (c2 == "$") { out = out "$"; i++ }
        else if (c2 == "(" || c2 == "{") { j = match_end(s, i + 2, c2, c2 == "(" ? ")" : "}", 1); out = out "$X"; i = j - 1 }
        else { out = out "$X"; i++ }
    }
    return out
}
'

cmds_out=$("$deps" --print-commands) || { problem "$deps --print-commands failed"; exit 1; }
pkgs_out=$("$deps" --print-packages) || { problem "$deps --print-packages failed"; exit 1; }
declare -A declared installs where
while read -r c p; do [ -n "$c" ] && declared[$c]=$p; done <<< "$cmds_out"
for p in $pkgs_out; do installs[$p]=1; done

mapfile -t shells < <(find tests -name '*.sh' | LC_ALL=C sort)
mapfile -t luas < <(find tests assets/scripts -name '*.lua' | LC_ALL=C sort)
files=(Makefile "${shells[@]}" "${luas[@]}")
uses=$(awk -v builtins="$(compgen -k -b | tr '\n' ' ')" "$extract" "${files[@]}") ||
    { problem "the extractor failed"; exit 1; }
order=()
while read -r f l c; do
    [ -n "$c" ] || continue
    [ -n "${where[$c]:-}" ] || order+=("$c")
    where[$c]+="${where[$c]:+ }$f:$l"
done <<< "$uses"

# Where the undeclared commands are and which packages own them. dpkg knows a file by the
# path it ships (/bin/cat under merged /usr, /usr/bin/mawk behind the alternative awk), so
# ask for the path, its target and their /bin <-> /usr/bin twins, all in one dpkg -S; for
# an alternative (awk), every program that can provide it (mawk is there whoever provides it).
declare -A path_of owner base
alt() { case "$1" in /usr/bin/* | /usr/sbin/*) echo "${1#/usr}" ;; /bin/* | /sbin/*) echo "/usr$1" ;; *) echo "$1" ;; esac; }
cands() {
    local r l
    r=$(readlink -f "$1")
    printf '%s\n' "$1" "$(alt "$1")" "$r" "$(alt "$r")"
    l=$(readlink "$1")
    case "$l" in /etc/alternatives/*) update-alternatives --list "${l#/etc/alternatives/}" 2>/dev/null ;; esac
}
paths=()
for c in "${order[@]}"; do
    [ -n "${declared[$c]:-}" ] && continue
    p=$(type -P "$c") || continue
    path_of[$c]=$p
    mapfile -t -O "${#paths[@]}" paths < <(cands "$p")
done
if [ ${#paths[@]} -gt 0 ]; then
    while IFS= read -r line; do
        case "$line" in diversion*) continue ;; esac
        owner[${line#*: }]=${line%%: /*}
    done < <(dpkg -S "${paths[@]}" 2>/dev/null)
fi
owned=$(printf '%s\n' "${owner[@]}" | tr ',' '\n' | sed 's/^ *//; s/:.*//' | sort -u)
if [ -n "$owned" ]; then
    # shellcheck disable=SC2086
    while IFS='|' read -r p e pr; do
        [ "$e" = yes ] || [ "$pr" = required ] && base[$p]=1
    done < <(dpkg-query -W -f='${Package}|${Essential}|${Priority}\n' $owned 2>/dev/null)
fi
# packages of command C: the owners of its path first, then of its target
pkgs_of() {
    local x o
    while read -r x; do
        o=${owner[$x]:-}
        [ -n "$o" ] && tr ',' '\n' <<< "$o" | sed 's/^ *//; s/:.*//'
    done < <(cands "${path_of[$1]}") | awk '!seen[$0]++'
}

n_deps=0 n_base=0 optional=()
for c in "${order[@]}"; do
    p=${declared[$c]:-}
    why=""
    if [ "$p" = - ]; then
        optional+=("$c"); from="optional (tools/deps.sh: the test does without)"
    elif [ -n "$p" ] && [ -n "${installs[$p]:-}" ]; then
        n_deps=$((n_deps + 1)); from="$p (tools/deps.sh)"
    elif [ -n "$p" ]; then
        why="Debian package $p: tools/deps.sh maps $c to it but does not install it"; from="$p, not installed"
    elif [ -n "${path_of[$c]:-}" ]; then
        mapfile -t ps < <(pkgs_of "$c")
        from="${ps[*]:-no package} (${path_of[$c]})"
        ok=0
        for q in "${ps[@]}"; do [ -n "${base[$q]:-}" ] && ok=1; done
        if [ $ok -eq 1 ]; then
            n_base=$((n_base + 1)); from="$from, in every Debian"
        elif [ ${#ps[@]} -gt 0 ]; then
            why="Debian package ${ps[0]}"
        else
            why="${path_of[$c]} is in no Debian package, so tools/deps.sh cannot install it"
        fi
    elif apt-cache show --no-all-versions "$c" 2>/dev/null | grep -q '^Package:'; then
        why="not on this machine; Debian package $c, probably"; from="not found; package $c?"
    else
        why="not on this machine, so its package is unknown here"; from="not found"
    fi
    [ $verbose -eq 1 ] && printf '  %-18s %-44s %s\n' "$c" "$from" "${where[$c]}"
    if [ -n "$why" ]; then
        for at in ${where[$c]}; do problem "$at calls $c, which tools/deps.sh does not install ($why)"; done
    fi
done

# The map itself: each package installed by deps.sh, and (where installed here) giving bin/C.
for c in $(printf '%s\n' "${!declared[@]}" | sort); do
    p=${declared[$c]}
    [ -n "${where[$c]:-}" ] || echo "deps_check: note: tools/deps.sh declares $c, which no test calls"
    [ "$p" = - ] && continue
    if [ -z "${installs[$p]:-}" ]; then
        [ -n "${where[$c]:-}" ] || problem "tools/deps.sh declares $c from $p, which is not in its package list"
        continue
    fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || continue
    real=""
    t=$(type -P "$c") && real=$(readlink -f "$t")
    if ! dpkg -L "$p" 2>/dev/null | grep -qxF -e "/usr/bin/$c" -e "/bin/$c" -e "/usr/sbin/$c" \
        -e "/sbin/$c" -e "${real:-/nonexistent}"; then
        problem "tools/deps.sh declares $c from $p, but $p installs no bin/$c"
    fi
done

summary="${#order[@]} commands in ${#files[@]} scripts"
if [ $problems -gt 0 ]; then
    echo "deps_check: $problems problem(s) ($summary)"
    exit 1
fi
echo "deps_check: $summary, all installed by tools/deps.sh ($n_deps) or in every Debian ($n_base)${optional[*]:+; optional: ${optional[*]}}"
