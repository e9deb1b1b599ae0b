/* The REPL evaluator. See repl.h. */
#include "repl.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lab.h"

enum { FORMAT_ITEMS = 24 }; /* table entries shown before "..." */

static void buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 64;
        while (*len + n + 1 > c)
            c *= 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return; /* out of memory: the text is cut short, nothing worse */
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

static void buf_adds(char **buf, size_t *len, size_t *cap, const char *s)
{
    buf_add(buf, len, cap, s, strlen(s));
}

static void format_string(const char *s, size_t n, char **buf, size_t *len, size_t *cap)
{
    buf_adds(buf, len, cap, "\"");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : NULL;
        if (esc)
            buf_adds(buf, len, cap, esc);
        else
            buf_add(buf, len, cap, &c, 1);
    }
    buf_adds(buf, len, cap, "\"");
}

static int is_identifier(const char *s)
{
    if (!*s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

void repl_format(lua_State *L, int idx, int depth, char **buf, size_t *len, size_t *cap)
{
    idx = lua_absindex(L, idx);
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        format_string(s, n, buf, len, cap);
        return;
    }
    if (t != LUA_TTABLE || depth <= 0 || luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
        if (t == LUA_TTABLE && depth > 0)
            lua_pop(L, 1); /* the __tostring found above */
        size_t n;
        const char *s = luaL_tolstring(L, idx, &n);
        buf_add(buf, len, cap, s, n);
        lua_pop(L, 1);
        return;
    }
    if (!lua_checkstack(L, 4)) {
        buf_adds(buf, len, cap, "{...}");
        return;
    }
    buf_adds(buf, len, cap, "{");
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    int shown = 0;
    for (lua_Integer i = 1; i <= n && shown < FORMAT_ITEMS; i++, shown++) {
        if (shown)
            buf_adds(buf, len, cap, ", ");
        lua_rawgeti(L, idx, i);
        repl_format(L, -1, depth - 1, buf, len, cap);
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int array_key = lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 &&
                        lua_tointeger(L, -2) <= n;
        if (!array_key) {
            if (shown == FORMAT_ITEMS) {
                lua_pop(L, 2);
                buf_adds(buf, len, cap, ", ...");
                break;
            }
            if (shown++)
                buf_adds(buf, len, cap, ", ");
            if (lua_type(L, -2) == LUA_TSTRING && is_identifier(lua_tostring(L, -2))) {
                buf_adds(buf, len, cap, lua_tostring(L, -2));
            } else {
                buf_adds(buf, len, cap, "[");
                repl_format(L, -2, 0, buf, len, cap);
                buf_adds(buf, len, cap, "]");
            }
            buf_adds(buf, len, cap, " = ");
            repl_format(L, -1, depth - 1, buf, len, cap);
        }
        lua_pop(L, 1);
    }
    buf_adds(buf, len, cap, "}");
}

void repl_init(repl *r, lua_State *L, repl_writer out, void *out_ud)
{
    memset(r, 0, sizeof *r);
    r->L = L;
    r->out = out;
    r->out_ud = out_ud;
}

void repl_free(repl *r)
{
    free(r->pending);
    memset(r, 0, sizeof *r);
}

void repl_reset(repl *r)
{
    r->len = 0;
    if (r->pending)
        r->pending[0] = '\0';
}

int repl_has_pending(const repl *r) { return r->len > 0; }

static void lstop(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

void repl_interrupt(lua_State *L)
{
    lab_cancel_request();
    /* As lua.c: a hook on the next call, return or instruction raises the error. */
    lua_sethook(L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

int repl_traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Run the function on top of the stack; print its results or its error. */
static repl_status run(repl *r)
{
    lua_State *L = r->L;
    int base = lua_gettop(L); /* the function */
    lua_pushcfunction(L, repl_traceback);
    lua_insert(L, base);
    lab_cancel_clear();
    int rc = lua_pcall(L, 0, LUA_MULTRET, base);
    lua_sethook(L, NULL, 0, 0); /* an interrupt that came too late to fire */
    lua_remove(L, base);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    r->last_error[0] = '\0';
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        const char *m = msg ? msg : rc == LUA_ERRMEM ? "not enough memory"
                                                     : "(error object is not a string)";
        size_t first = strcspn(m, "\n");
        if (first >= sizeof r->last_error)
            first = sizeof r->last_error - 1;
        memcpy(r->last_error, m, first);
        r->last_error[first] = '\0';
        buf_adds(&buf, &len, &cap, msg ? msg : "(error object is not a string)");
        buf_adds(&buf, &len, &cap, "\n");
        lua_settop(L, base - 1);
        if (buf)
            r->out(r->out_ud, buf, 1);
        free(buf);
        return REPL_ERROR;
    }
    int n = lua_gettop(L) - base + 1;
    for (int i = 0; i < n; i++) {
        if (i)
            buf_adds(&buf, &len, &cap, "\t");
        repl_format(L, base + i, 2, &buf, &len, &cap);
    }
    lua_settop(L, base - 1);
    if (n > 0 && buf) {
        buf_adds(&buf, &len, &cap, "\n");
        r->out(r->out_ud, buf, 0);
    }
    free(buf);
    return REPL_DONE;
}

/* Run the loaded chunk on top of the stack; code is its text, for the chunk hook. */
static repl_status run_code(repl *r, const char *code)
{
    char *copy = r->on_chunk ? strdup(code) : NULL;
    repl_status st = run(r);
    if (r->on_chunk && copy)
        r->on_chunk(r->chunk_ud, copy, r->last_error[0] ? r->last_error : NULL);
    free(copy);
    return st;
}

repl_status repl_run_chunk(repl *r, const char *code, const char *chunkname)
{
    lua_State *L = r->L;
    int st = luaL_loadbuffer(L, code, strlen(code), chunkname);
    if (st != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        snprintf(r->last_error, sizeof r->last_error, "%s", msg ? msg : "syntax error");
        char *buf = NULL;
        size_t len = 0, cap = 0;
        buf_adds(&buf, &len, &cap, r->last_error);
        buf_adds(&buf, &len, &cap, "\n");
        if (buf)
            r->out(r->out_ud, buf, 1);
        free(buf);
        lua_pop(L, 1);
        return REPL_ERROR;
    }
    return run_code(r, code);
}

/* A syntax error at the end of the input: the statement goes on on the next line. */
static int incomplete(lua_State *L, int status)
{
    if (status != LUA_ERRSYNTAX)
        return 0;
    size_t n;
    const char *msg = lua_tolstring(L, -1, &n);
    return n >= 5 && !strcmp(msg + n - 5, "<eof>");
}

repl_status repl_feed(repl *r, const char *line)
{
    lua_State *L = r->L;
    int fresh = r->len == 0;
    if (fresh && line[0] == '=') { /* "=expr" is "return expr", as in Lua 5.1 */
        buf_adds(&r->pending, &r->len, &r->cap, "return ");
        line++;
    } else if (!fresh) {
        buf_adds(&r->pending, &r->len, &r->cap, "\n");
    }
    buf_adds(&r->pending, &r->len, &r->cap, line);
    if (!r->pending)
        return REPL_ERROR;
    if (fresh) {
        /* A bare expression prints its value: try it as "return <line>" first. */
        char *ret = NULL;
        size_t rlen = 0, rcap = 0;
        buf_adds(&ret, &rlen, &rcap, "return ");
        buf_adds(&ret, &rlen, &rcap, r->pending);
        int st = ret ? luaL_loadbuffer(L, ret, rlen, "=stdin") : LUA_ERRMEM;
        if (st == LUA_OK) {
            repl_reset(r);
            repl_status rs = run_code(r, ret);
            free(ret);
            return rs;
        }
        free(ret);
        lua_pop(L, 1);
    }
    int st = luaL_loadbuffer(L, r->pending, r->len, "=stdin");
    if (st == LUA_OK) {
        char *code = strndup(r->pending, r->len);
        repl_reset(r);
        repl_status rs = run_code(r, code ? code : "");
        free(code);
        return rs;
    }
    if (incomplete(L, st)) {
        lua_pop(L, 1);
        return REPL_INCOMPLETE;
    }
    const char *msg = lua_tostring(L, -1);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    buf_adds(&buf, &len, &cap, msg ? msg : "syntax error");
    buf_adds(&buf, &len, &cap, "\n");
    if (buf)
        r->out(r->out_ud, buf, 1);
    free(buf);
    lua_pop(L, 1);
    repl_reset(r);
    return REPL_ERROR;
}

/* ---- completion ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the string keys of the table at idx that start with `part`, each as head + key. */
static void collect_keys(lua_State *L, int idx, const char *head, size_t headlen,
                         const char *part, char **out, size_t *count, size_t max)
{
    size_t plen = strlen(part);
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || *count >= max)
            continue;
        const char *k = lua_tostring(L, -1);
        if (strncmp(k, part, plen) || !is_identifier(k) || (k[0] == '_' && k[1] == '_'))
            continue;
        size_t klen = strlen(k);
        char *s = malloc(headlen + klen + 1);
        if (!s)
            continue;
        memcpy(s, head, headlen);
        memcpy(s + headlen, k, klen + 1);
        out[(*count)++] = s;
    }
}

/* The keys reachable from the value on top: a table's own keys, then those of the tables
 * its metatables' __index lead to (up to a few levels), without running any code. */
static void collect_all(lua_State *L, const char *head, size_t headlen, const char *part,
                        char **out, size_t *count, size_t max)
{
    int top = lua_gettop(L);
    for (int level = 0; level < 4; level++) {
        if (lua_type(L, -1) == LUA_TTABLE)
            collect_keys(L, -1, head, headlen, part, out, count, max);
        if (!lua_getmetatable(L, -1))
            break;
        /* Objects whose __index is a function list their methods in __methods. */
        lua_pushliteral(L, "__methods");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TTABLE)
            collect_keys(L, -1, head, headlen, part, out, count, max);
        lua_pop(L, 1);
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
        if (lua_type(L, -1) != LUA_TTABLE)
            break;
    }
    lua_settop(L, top);
}

/* Replace the value on top with its field `name`, found by raw reads through tables and
 * __index tables (no code runs). Returns 0 when there is none. */
static int raw_field(lua_State *L, const char *name, size_t n)
{
    for (int level = 0; level < 4; level++) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushlstring(L, name, n);
            lua_rawget(L, -2);
            if (!lua_isnil(L, -1)) {
                lua_remove(L, -2);
                return 1;
            }
            lua_pop(L, 1);
        }
        if (!lua_getmetatable(L, -1))
            return 0;
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
        if (lua_type(L, -1) != LUA_TTABLE) { /* a function: its methods are in __methods */
            lua_pop(L, 1);
            lua_pushliteral(L, "__methods");
            lua_rawget(L, -2);
        }
        lua_remove(L, -2); /* the metatable */
        lua_remove(L, -2); /* the value: look in its __index now */
        if (lua_type(L, -1) != LUA_TTABLE)
            return 0;
    }
    return 0;
}

size_t repl_complete(lua_State *L, const char *word, char **out, size_t max)
{
    int top = lua_gettop(L);
    size_t count = 0;
    const char *sep = NULL;
    for (const char *p = word; *p; p++)
        if (*p == '.' || *p == ':')
            sep = p;
    lua_pushglobaltable(L);
    const char *p = word;
    while (sep && p < sep) { /* walk the chain of names before the last separator */
        const char *q = p;
        while (q < sep && *q != '.' && *q != ':')
            q++;
        if (!raw_field(L, p, (size_t)(q - p))) {
            lua_settop(L, top);
            return 0;
        }
        p = q + 1;
    }
    if (sep)
        collect_all(L, word, (size_t)(sep - word + 1), sep + 1, out, &count, max);
    else
        collect_all(L, "", 0, word, out, &count, max);
    lua_settop(L, top);
    qsort(out, count, sizeof *out, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (k && !strcmp(out[k - 1], out[i]))
            free(out[i]);
        else
            out[k++] = out[i];
    }
    return k;
}
