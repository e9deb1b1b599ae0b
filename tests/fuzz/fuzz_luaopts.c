/* Fuzz target for the Lua option tables the C side parses (scripting/lab*.c): lab
 * constructors and methods called with fuzzed arguments, option tables of fuzzed keys and
 * values of every type, in a fresh Lua state with the lab loaded. Nothing trains: no learn,
 * step, run or finetune is among the calls.
 *
 * The input is a program: up to 8 calls, each
 *   byte      the call: CALLS[b % NCALLS] (a lab function, or a method of a slot's object)
 *   byte      for a method: the slot of the object it is called on
 *   values    its arguments (CALLS[].nargs of them), then a byte: the slot (of 8) that keeps
 *             the result
 * A value is a tag byte, then its bytes: nil, a boolean, an integer (small, or one of the
 * edge values), a number (8 raw bytes, or an edge value), a string (from a dictionary of the
 * lab's keys and words, or up to 32 raw bytes), a table (up to 6 entries, keys from the
 * dictionary or values themselves, nested to depth 3), or a slot's object. Slots start with a
 * data set (fmnist, paper192), its task sequence and a net {192, 8, 8, 10} that fits them.
 *
 * Cost guards (each open or construction must be cheap, else the fuzzer learns nothing per
 * second): the data sets are tiny IDX files made at start-up (MPCL_FMNIST_DIR, MPCL_DATA);
 * whole numbers (integers, integral floats, numeric strings) whose low 32 bits read as an int
 * above 1024 are brought below (a 65536-wide layer is legal and takes 16 GB); a chip URI goes
 * through fuzz_sim_uri (no plugin, tcp or serial; rows=256,cols=64 first, rows and cols at
 * most 256; map paths replaced by a small valid map), and so do rows, cols and map in its
 * options table. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "lab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define NSLOTS 8
#define CHIP_CAP 256

typedef struct rd {
    const uint8_t *p;
    size_t n, i;
    unsigned last; /* the call being made */
} rd;

static unsigned byte(rd *r) { return r->i < r->n ? r->p[r->i++] : 0; }

static const struct {
    const char *fn; /* lab.FN, or a method when self */
    int self, nargs;
} CALLS[] = {
    {"net", 0, 1},       {"dataset", 0, 2},  {"tasks", 0, 2},     {"trainer", 0, 3},
    {"evaluate", 0, 3},  {"experiment", 0, 1}, {"baseline", 0, 1}, {"chip.open", 0, 2},
    {"energy", 0, 2},    {"ops", 0, 2},      {"program", 1, 2},   {"map", 1, 1},
    {"histogram", 1, 1}, {"infer", 1, 2},    {"set", 1, 2},       {"get", 1, 1},
    {"sizes", 1, 0},     {"task", 1, 1},     {"info", 1, 0},      {"mapping", 1, 0},
};
#define NCALLS (sizeof CALLS / sizeof CALLS[0])

static const char *const KEYS[] = {
    "sizes", "binary", "seed", "init", "input", "threshold", "groups", "val", "rule", "m",
    "lr", "batch", "epochs", "patience", "restore", "reset", "bn", "mask", "scenario", "joint",
    "ds", "dataset", "hidden", "method", "seq", "optimizer", "lambda", "online", "gamma",
    "fisher", "fisher_n", "c", "xi", "mem", "ref", "upto", "confusion", "split", "tol",
    "max_pulses", "learnt", "layer", "row", "col", "rows", "cols", "bins", "max", "p",
    "simulate", "chip", "v_read", "t_read", "r_lrs", "r_hrs", "e_add", "e_adc", "adc_channels",
    "id", "noise", "stuck", "d2d", "adc_bits", "map", "map_neg", "tia_gain", "adc_vfs",
    "adc_offset", "adc_inl", "adc_dnl", "int_frac_bits", "wire_ohm", "row_wire_ohm",
    "col_wire_ohm", "access_ohm", "driver_ohm", "line_solver", "preset", "read_noise",
    "time_s", "refresh", "every"};
static const char *const WORDS[] = {
    "mnist", "fmnist", "paper192", "float784", "binary784", "sim", "sim:preset=ideal", "task",
    "domain", "class", "shared", "mpcl", "sgd", "adam", "ewc", "si", "gem", "agem", "none",
    "joint", "exact", "fast", "auto", "paper", "ideal", "worn", "pos", "neg", "true",
    "empirical", "test", "train", "val", "", "1", "0.5", "-1", "nan", "inf", "0x10"};
static const long long EDGE_INTS[] = {0, 1, -1, 2, 3, 8, 10, 16, 28, 192, 255, 256, 784, 1024,
                                      2147483647LL, 2147483648LL, -2147483648LL,
                                      4294967296LL, 4294967297LL, 9007199254740993LL,
                                      9223372036854775807LL, -9223372036854775807LL - 1};
static const double EDGE_NUMS[] = {0.0, -0.0, 0.5, 1e-9, 1.5, -0.1, 0.999, 1.0, 2.5, 1e300,
                                   -1e300, 5e-324, 2147483648.5};

static char map_path[64], data_dir[200];
static int verbose;

/* A whole number made cheap (see the header): its low 32 bits as an int at most 1024. */
static long long cheap_int(long long v)
{
    uint32_t lo = (uint32_t)v;
    if (lo > 1024 && lo < 0x80000000u)
        v = (long long)((unsigned long long)v - lo + lo % 1024);
    return v;
}

static void push_number(lua_State *L, double d)
{
    if (d == floor(d) && fabs(d) < 0x1p63)
        d = (double)cheap_int((long long)d);
    lua_pushnumber(L, d);
}

/* A string; one that Lua would read as a whole number goes through cheap_int ("x" if not). */
static void push_string(lua_State *L, const char *s, size_t len)
{
    lua_pushlstring(L, s, len);
    if (lua_stringtonumber(L, lua_tostring(L, -1))) {
        int isint;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        double d = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if ((isint && cheap_int(v) != v) ||
            (!isint && d == floor(d) && fabs(d) < 0x1p63 && cheap_int((long long)d) != (long long)d) ||
            (!isint && d == floor(d) && fabs(d) >= 0x1p63)) {
            lua_pop(L, 1);
            lua_pushliteral(L, "x");
        }
    }
}

static void push_value(lua_State *L, rd *r, int depth);

static void push_table(lua_State *L, rd *r, int depth)
{
    int n = (int)(byte(r) % 7);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        unsigned k = byte(r);
        if (k & 1)
            push_value(L, r, depth + 1);
        else
            lua_pushstring(L, KEYS[(k >> 1) % (sizeof KEYS / sizeof KEYS[0])]);
        push_value(L, r, depth + 1);
        int kt = lua_type(L, -2);
        if (kt == LUA_TNIL || (kt == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2)))
            lua_pop(L, 2);
        else
            lua_rawset(L, -3);
    }
}

static void push_value(lua_State *L, rd *r, int depth)
{
    unsigned tag = byte(r);
    switch (tag % 11) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, tag & 16); break;
    case 2: lua_pushinteger(L, (int8_t)byte(r)); break;
    case 3:
        lua_pushinteger(L, cheap_int(EDGE_INTS[byte(r) % (sizeof EDGE_INTS / sizeof EDGE_INTS[0])]));
        break;
    case 4: {
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits |= (uint64_t)byte(r) << 8 * i;
        double d;
        memcpy(&d, &bits, sizeof d);
        push_number(L, d);
        break;
    }
    case 5: push_number(L, EDGE_NUMS[byte(r) % (sizeof EDGE_NUMS / sizeof EDGE_NUMS[0])]); break;
    case 6: {
        const char *w = WORDS[byte(r) % (sizeof WORDS / sizeof WORDS[0])];
        push_string(L, w, strlen(w));
        break;
    }
    case 7: {
        char s[32];
        size_t len = byte(r) % (sizeof s + 1);
        for (size_t i = 0; i < len; i++)
            s[i] = (char)byte(r);
        push_string(L, s, len);
        break;
    }
    case 8:
    case 9:
        if (depth < 3)
            push_table(L, r, depth);
        else
            lua_pushnil(L);
        break;
    default: /* a slot's object */
        lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.slots");
        lua_rawgeti(L, -1, 1 + byte(r) % NSLOTS);
        lua_remove(L, -2);
    }
}

/* rows, cols and map of an options table at idx made cheap (see the header). */
static void cheap_chip_table(lua_State *L, int idx)
{
    static const char *const dims[] = {"rows", "cols"};
    for (int i = 0; i < 2; i++) {
        lua_getfield(L, idx, dims[i]);
        int isnum;
        double d = lua_tonumberx(L, -1, &isnum);
        lua_pop(L, 1);
        if (isnum && d > CHIP_CAP) {
            lua_pushinteger(L, CHIP_CAP);
            lua_setfield(L, idx, dims[i]);
        }
    }
    static const char *const maps[] = {"map", "map_neg"};
    for (int i = 0; i < 2; i++) {
        lua_getfield(L, idx, maps[i]);
        int set = lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0;
        set |= lua_type(L, -1) == LUA_TNUMBER;
        lua_pop(L, 1);
        if (set) {
            lua_pushstring(L, map_path);
            lua_setfield(L, idx, maps[i]);
        }
    }
}

/* The arguments of lab.chip.open (at base, base + 1) made cheap; 0, or -1 to skip the call. */
static int cheap_chip_open(lua_State *L, int base)
{
    if (lua_type(L, base) == LUA_TSTRING) {
        char uri[8192];
        if (fuzz_sim_uri(lua_tostring(L, base), uri, sizeof uri, CHIP_CAP, 64, CHIP_CAP,
                         map_path) < 0)
            return -1;
        lua_pushstring(L, uri);
        lua_replace(L, base);
    }
    if (lua_type(L, base + 1) == LUA_TTABLE)
        cheap_chip_table(L, base + 1);
    return 0;
}

/* One call of the program (under lua_pcall): upvalue 1 is the reader. */
static int one_call(lua_State *L)
{
    rd *r = lua_touserdata(L, lua_upvalueindex(1));
    unsigned c = r->last = byte(r) % NCALLS;
    int base = lua_gettop(L) + 1;
    if (CALLS[c].self) {
        lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.slots");
        lua_rawgeti(L, -1, 1 + byte(r) % NSLOTS);
        lua_remove(L, -2);
        lua_getfield(L, -1, CALLS[c].fn); /* may raise: a number has no fields */
        lua_insert(L, -2);
    } else {
        lua_getglobal(L, "lab");
        if (!strcmp(CALLS[c].fn, "chip.open")) {
            lua_getfield(L, -1, "chip");
            lua_getfield(L, -1, "open");
            lua_remove(L, -2);
        } else {
            lua_getfield(L, -1, CALLS[c].fn);
        }
        lua_remove(L, -2);
    }
    for (int i = 0; i < CALLS[c].nargs; i++)
        push_value(L, r, 0);
    int nargs = lua_gettop(L) - base;
    if (!strcmp(CALLS[c].fn, "chip.open") && cheap_chip_open(L, base + 1) < 0)
        return 0;
    int slot = 1 + (int)(byte(r) % NSLOTS); /* read first: the call may raise */
    lua_call(L, nargs, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.slots");
    lua_insert(L, -2);
    lua_rawseti(L, -2, slot);
    return 0;
}

/* The state: the lab as lab, and the slots (a data set, its tasks, a net that fits). */
static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return NULL;
    luaL_openlibs(L);
    luaL_requiref(L, "lab", luaopen_lab, 1);
    lua_pop(L, 1);
    static const char setup[] =
        "local ds = lab.dataset('fmnist', {input = 'paper192'})\n"
        "return {ds, lab.tasks(ds), lab.net{sizes = {192, 8, 8, 10}, binary = true}}\n";
    if (luaL_dostring(L, setup) != LUA_OK) {
        fprintf(stderr, "fuzz-luaopts: setup: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.slots");
    return L;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    lua_State *L = new_state();
    if (!L)
        return 0;
    rd r = {data, size, 0, 0};
    for (int k = 0; k < 8 && r.i < r.n; k++) {
        lua_pushlightuserdata(L, &r);
        lua_pushcclosure(L, one_call, 1);
        int rc = lua_pcall(L, 0, 0, 0);
        if (verbose) /* FUZZ_VERBOSE=1: what each call did, to check what a corpus reaches */
            fprintf(stderr, "call %d (%s): %s\n", k, CALLS[r.last].fn,
                    rc == LUA_OK ? "ok" : lua_tostring(L, -1));
        lua_settop(L, 0);
    }
    lab_jobs_shutdown(L);
    lua_close(L);
    return 0;
}

/* ---- start-up: tiny data sets, a map ------------------------------------------------- */

static void write_idx(const char *dir, const char *name, int n, int image)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    unsigned char head[16] = {0, 0, 8, (unsigned char)(image ? 3 : 1), 0, 0, 0,
                              (unsigned char)n, 0, 0, 0, 28, 0, 0, 0, 28};
    fwrite(head, 1, image ? 16 : 8, f);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < (image ? 784 : 1); k++)
            fputc(image ? (i * 37 + k * 11) % 256 : i % 10, f);
    fclose(f);
}

static void remove_data(void)
{
    static const char *const sub[] = {"fmnist", "mnist/mnist", "mnist"};
    static const char *const files[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[512];
    for (int d = 0; d < 3; d++) {
        for (int k = 0; d < 2 && k < 4; k++) {
            snprintf(path, sizeof path, "%s/%s/%s", data_dir, sub[d], files[k]);
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/%s", data_dir, sub[d]);
        rmdir(path);
    }
    rmdir(data_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
    const char *tmp = getenv("TMPDIR");
    snprintf(data_dir, sizeof data_dir, "%s/mpcl-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(data_dir))
        abort();
    atexit(remove_data);
    char dir[256];
    static const char *const sub[] = {"fmnist", "mnist", "mnist/mnist"};
    for (int d = 0; d < 3; d++) {
        snprintf(dir, sizeof dir, "%s/%s", data_dir, sub[d]);
        mkdir(dir, 0700);
        if (d == 1)
            continue;
        write_idx(dir, "train-images-idx3-ubyte", 20, 1);
        write_idx(dir, "train-labels-idx1-ubyte", 20, 0);
        write_idx(dir, "t10k-images-idx3-ubyte", 10, 1);
        write_idx(dir, "t10k-labels-idx1-ubyte", 10, 0);
    }
    snprintf(dir, sizeof dir, "%s/fmnist", data_dir);
    setenv("MPCL_FMNIST_DIR", dir, 1);
    snprintf(dir, sizeof dir, "%s/mnist", data_dir);
    setenv("MPCL_DATA", dir, 1);
    static const char map[] = "50 5\n5 50\n";
    if (fuzz_memfile(map, sizeof map - 1, map_path, sizeof map_path) < 0)
        abort();
    return 0;
}
