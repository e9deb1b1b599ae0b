/* Doc strings of the lab and the global help(). See help.h. */
#include "help.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

typedef struct lab_doc {
    const char *owner; /* "lab" for lab.*, else the metatable name of the object */
    const char *name;  /* NULL: the object's own description */
    const char *text;  /* first line: the call and what it returns */
} lab_doc;

static const lab_doc docs[] = {
    {"lab", "dataset",
     "lab.dataset(name [, {input=, threshold=}]) -> dataset\n"
     "  name \"mnist\" or \"fmnist\"; input \"paper192\" (default: 2x2 pooling, corners dropped,\n"
     "  threshold -> 192 binary inputs), \"binary784\" or \"float784\"; threshold default 0.5."},
    {"lab", "tasks",
     "lab.tasks(ds [, {groups=, val=, seed=}]) -> task sequence\n"
     "  groups: list of class lists (default the 5 pairs); val: share of each task's training\n"
     "  images held out for validation (0.1); seed: of that shuffle."},
    {"lab", "net",
     "lab.net{sizes=, binary=, seed=, init=} -> net\n"
     "  A mixed-precision MLP: float hidden weights, binary weights sign(Wh), batch norm, sign.\n"
     "  sizes e.g. {192, 256, 256, 10}; binary=true for 0/1 inputs."},
    {"lab", "trainer",
     "lab.trainer(net, seq [, opts]) -> trainer\n"
     "  opts: rule (mpcl|laborieux|none), m (number or one per layer), lr, batch, epochs,\n"
     "  patience, restore, reset, scenario (task|domain|class), bn (task|shared),\n"
     "  mask (task|none), joint, seed."},
    {"lab", "baseline",
     "lab.baseline{method=, ...} -> baseline\n"
     "  method none|joint|ewc|si|gem|agem on a float MLP of the same shape; data as for\n"
     "  lab.experiment (ds=, dataset=, seq=, seed=); hidden, scenario, mask, optimizer, lr,\n"
     "  reset, batch, epochs (5); EWC lambda, online, gamma, fisher, fisher_n; SI c, xi;\n"
     "  GEM/A-GEM mem, ref. b:step(), b:run(), b:evaluate(), b:noise_sweep()."},
    {"lab", "evaluate",
     "lab.evaluate(net, seq [, {scenario=, upto=, bn=, confusion=, split=}]) -> results\n"
     "  {acc = {...}, counts = {...}, average = weighted multitask accuracy, confusion = 10x10}."},
    {"lab", "json", "lab.json(value) -> string\n  JSON text of a Lua value (lua-cjson)."},
    {"lab", "write_json",
     "lab.write_json(path, value)\n  Writes JSON atomically (temporary file, fsync, rename)."},
    {"lab", "threads", "lab.threads([n]) -> n\n  Gets or sets the number of worker threads."},
    {"lab", "blas", "lab.blas() -> string\n  The kernels in use: the instruction-set path, the float products (the lab's own,\n  in a fixed order), the popcount and byte-product paths. Same as lab.platform().kernels."},
    {"lab", "platform", "lab.platform() -> {cpu, isa, best, libraries, kernels, summary}\n  Where results are computed: the CPU, the instruction-set path in use (MPCL_ISA\n  lowers it) and the best this CPU has, the C and Lua libraries. Results are the same\n  bits on every path and x86-64 CPU; journals record these fields."},
    {"lab", "clock", "lab.clock() -> seconds\n  A monotonic clock, for timing."},
    {"lab", "chip.open",
     "lab.chip.open(uri [, {preset=, id=, noise=, stuck=, d2d=, adc_bits=, tia_gain=,\n"
     "  wire_ohm=, row_wire_ohm=, col_wire_ohm=, access_ohm=, driver_ohm=, map=, ...}]) -> chip\n"
     "  uri \"sim\" (the simulated chip: preset paper, the paper's board, by default; ideal;\n"
     "  worn; options as a table or \"sim:preset=ideal,id=42\"), \"tcp://HOST:PORT\",\n"
     "  \"serial:/dev/ttyX\" (a board over the link) or \"plugin:/path/lib.so[:options]\"."},
    {"lab", "finetune",
     "lab.finetune(chip, net, seq [, {p=16, epochs=5, lr=0.002, batch=100, replay=0, reads=1,\n"
     "  learnt=, scenario=, bn=, seed=}]) -> job\n"
     "  In situ fine-tuning: reads Wpara, simulates the chip (WL/WR, Int) and retrains the last\n"
     "  layer on the data of the tasks learnt (replay=N keeps N examples a task), then\n"
     "  re-programs it. Result: {examples, epochs, loss, train_acc, flipped, mapping, pulses}."},
    {"lab", "noise_sweep",
     "lab.noise_sweep(net, seq [, {step=0.05, draws=5, seed=, upto=, scenario=, bn=}]) -> job\n"
     "  Conductance noise rho from 0 to 1 on every weight; result {rho, acc, sd, tolerance,\n"
     "  reached}: tolerance is the rho at which accuracy falls to 90%."},
    {"lab", "energy",
     "lab.energy(net | sizes [, {p=16, chip=, v_read=, t_read=, r_lrs=, r_hrs=, e_add=,\n"
     "  e_adc=}]) -> {macs, float_cmos, binary_digital, rram, ratio, rram_read, rram_add, ...}\n"
     "  MAC energy per image in J (Table 1); chip= uses its measured LRS/HRS conductances."},
    {"lab", "ops",
     "lab.ops(net | sizes [, {p=16, adc_channels=2}]) -> {array_ops, adds, conversions}\n"
     "  Array operations, digital additions and ADC conversions per image at parallelism p."},
    {"lab.chip", NULL,
     "chip: an RRAM chip (two 512x512 arrays: positive and negative cells of each pair).\n"
     "  Methods program, infer, mapping, map, histogram, retention, info, params, get, set,\n"
     "  pulse, read, net, close."},
    {"lab.chip", "program",
     "chip:program(net [, {tol=0.1, max_pulses=20, learnt=}]) -> {cells, pulses, failed,\n"
     "  layers, mapping = {all, per layer}}: places the layers, write-verifies both arrays."},
    {"lab.chip", "infer",
     "chip:infer(seq [, {p=16, upto=, scenario=, bn=, simulate=false}]) -> job\n"
     "  Test accuracy on the chip at parallelism p: {acc, average, p, ops_per_image, seconds};\n"
     "  simulate=true: the software path (Wpara, WL/WR) instead of the chip."},
    {"lab.chip", "mapping", "chip:mapping() -> {all, per layer}\n  Weights whose pair reads back with the right sign."},
    {"lab.chip", "map",
     "chip:map([{layer=} | {row=, col=, rows=, cols=}]) -> {pos, neg, row, col}\n"
     "  Conductances (uS, one read each) of both arrays, rows of numbers."},
    {"lab.chip", "histogram",
     "chip:histogram([{bins=60, layer=, max=}]) -> {edges, lrs, hrs, lrs_mean, lrs_sd, hrs_mean,\n"
     "  hrs_sd}: the programmed cells' conductances, LRS and HRS apart."},
    {"lab.chip", "retention",
     "chip:retention(cells | n, reads [, {every=}]) -> {max_deviation, mean, trace, every}\n"
     "  Reads each cell ({array, row, col}, or the first n LRS cells) `reads` times;\n"
     "  max deviation (Gmax - Gmin) / Gmean."},
    {"lab.chip", "info", "chip:info() -> {backend, name, firmware, id, rows, cols, caps, layers}"},
    {"lab.chip", "params", "chip:params() -> {name = value}\n  The chip's parameters."},
    {"lab.chip", "get", "chip:get(name) -> value\n  One parameter (v_read, adc_bits, read_noise, time_s, ...)."},
    {"lab.chip", "set",
     "chip:set(name, value)\n  Sets a parameter; setting time_s advances the chip's clock (drift)."},
    {"lab.chip", "pulse",
     "chip:pulse(array, row, col, \"form\" | \"set\" | \"reset\" [, volts, seconds])\n"
     "  One pulse on one cell (array \"pos\" or \"neg\", 0-based row and column)."},
    {"lab.chip", "read", "chip:read(array, row, col) -> uS\n  One read of one cell, with read noise."},
    {"lab.chip", "net", "chip:net() -> net\n  A copy of the net programmed (fine-tuned, if it was)."},
    {"lab.chip", "close", "chip:close()\n  Closes the chip (also at garbage collection)."},
    {"lab", "ui.layout",
     "lab.ui.layout(name | {{panel, ...}, ...}) -> name\n"
     "  The console's layout: a preset (default, training, chip, repl) or columns of panels."},
    {"lab", "ui.show",
     "lab.ui.show(panel [, {mode=, task=, ...}])\n"
     "  Shows a panel (map, switch, matrix, confusion, curves, device), with its options:\n"
     "  the map's mode (weight, hidden, G+, G-), sample (nearest, sign, max, mean) and zoom,\n"
     "  the confusion matrix's task."},
    {"lab", "ui.pause",
     "lab.ui.pause([message]) -> key\n"
     "  In the console: waits for a key while the panels stay live (demos); nil headless."},
    {"lab", "ui.panels", "lab.ui.panels() -> {name, ...}\n  The console's panels."},
    {"lab", "ui.zoom",
     "lab.ui.zoom(panel | false) -> name | nil\n"
     "  One panel full screen (F4, or z on a focused panel, does it too); false: the layout\n"
     "  again; with no argument, the name of the panel full screen, or nil."},
    {"lab", "ui.snapshot",
     "lab.ui.snapshot(panel | \"all\" [, path [, {width=, height=, font=}]]) -> path | {paths}\n"
     "  What a panel shows as a PNG through gnuplot (2000 x 1250 by default), headless too;\n"
     "  \"all\": every panel into the directory path. path omitted: <panel>-YYYYmmdd-HHMMSS.png\n"
     "  (snapshots-YYYYmmdd-HHMMSS/ for all) in the current directory."},
    {"lab", "load",
     "lab.load(path) -> net\n  Reads a file written by net:save (version and checksum checked)."},
    {"lab", "sweep",
     "lab.sweep{grid= | points=, run=, out=, ...} -> records (or a handle with wait=false)\n"
     "  run(point, info) -> JSON result, for each point of grid (cross product, first key\n"
     "  slowest) or points; out: the result directory (resumed when run again). retries (1),\n"
     "  workers (cores/threads; 1 in-process), threads, cost(point), force, backend\n"
     "  (local|mpi|slurm), chunk, array_max, quiet, wait. Records: {id, index, point,\n"
     "  result | error, seconds, attempts}. Under mpirun rank 0 dispatches (README: Sweeps)."},
    {"lab", "rank",
     "lab.rank() -> rank, size\n  This process's MPI rank and the ranks (0, 1 without mpirun)."},
    {"lab.sweep", NULL,
     "a sweep running in worker processes (lab.sweep{..., wait = false})\n"
     "  s:progress(), s:wait(), s:cancel()."},
    {"lab.sweep", "progress",
     "s:progress() -> {total, done, resumed, failed, running, pending, elapsed, eta, state, last}"},
    {"lab.sweep", "wait", "s:wait() -> records\n  Waits for the sweep's end (Ctrl-C stops it)."},
    {"lab.sweep", "cancel", "s:cancel()\n  Stops the workers; the finished points stay in out."},
    {"lab", "seed",
     "lab.seed([n]) -> n\n"
     "  The seed of task splits, nets, trainers and experiments not given one (default 1;\n"
     "  mpcl --seed N); sets it when n is given. Sessions record it in their header."},
    {"lab", "background",
     "lab.background([on]) -> was\n"
     "  Whether long work (tr:learn, exp:step, exp:run) returns its job at once (the REPL's\n"
     "  default) or waits for it (headless scripts' default); sets it when on is given."},
    {"lab", "jobs", "lab.jobs() -> {job...}\n  The jobs queued or running, oldest first."},
    {"lab", "cancel",
     "lab.cancel() -> n\n  Asks every queued or running job to stop; returns how many."},
    {"lab.job", NULL,
     "job: work on the engine's worker thread. Fields id, name, state (queued, running,\n"
     "  done, failed, cancelled); any other field reads the result, waiting for it."},
    {"lab.job", "wait", "j:wait() -> result\n  Waits (Ctrl-C cancels the job); raises its error."},
    {"lab.job", "cancel", "j:cancel() -> boolean\n  Asks the job to stop; false if it had ended."},
    {"lab.job", "result", "j:result() -> result | nil, state\n  The result if it has finished."},
    {"lab.job", "progress",
     "j:progress() -> {state, fraction, status, seconds, eta, task, epoch, epochs, loss,\n"
     "  train_acc, val_acc, switch_rate, switch_any}"},
    {"lab.dataset", NULL,
     "dataset: a benchmark's training and test sets, preprocessed.\n"
     "  Fields: name, input, dim, binary, ntrain, ntest, threshold."},
    {"lab.tasks", NULL,
     "task sequence: class groups split into tasks, with validation splits.\n"
     "  #seq is the number of tasks."},
    {"lab.tasks", "task", "seq:task(i) -> {classes, ntrain, nval, ntest}"},
    {"lab.net", NULL, "net: a mixed-precision MLP (hidden float weights, binary forward weights)."},
    {"lab.net", "copy", "net:copy() -> net\n  An independent copy (weights, statistics, banks)."},
    {"lab.net", "sizes", "net:sizes() -> {in, hidden..., out}"},
    {"lab.net", "weights",
     "net:weights(layer [, \"hidden\" | \"binary\"]) -> {{...}, ...}\n"
     "  The layer's matrix, one row per output: hidden float weights or their signs."},
    {"lab.net", "save",
     "net:save(path)\n  Writes weights, statistics and banks (versioned, checksummed, atomic)."},
    {"lab.net", "hidden",
     "net:hidden(layer) -> {min, max, mean_abs}\n"
     "  Statistics of a layer's hidden weights (how consolidated its synapses are)."},
    {"lab", "experiment",
     "lab.experiment{dataset=, ds=, input=, threshold=, groups=, val=, seed=, hidden=, ...}\n"
     "  -> experiment: a task sequence to step through; takes lab.trainer's training options\n"
     "  (defaults: the paper preset of fmnist at threshold 0.2, mpcl m=0.005, 20 epochs)."},
    {"lab.experiment", NULL,
     "experiment: fields matrix (accuracy on task j after task i), history (each step's\n"
     "  result), average, learnt, ntasks; #exp is the number of tasks."},
    {"lab.experiment", "step",
     "exp:step([progress]) -> job\n"
     "  Learns the next task and evaluates every task so far (nil when all are learnt).\n"
     "  The job's result: {task, epochs, val_acc, switch_rate, switch_any, switch_layer, acc,\n"
     "  average}; j.average etc. read it (waiting). Headless scripts wait for the step."},
    {"lab.experiment", "run",
     "exp:run([progress]) -> job\n  Steps until every task is learnt; result: the last step's."},
    {"lab.experiment", "back",
     "exp:back() -> boolean\n  Undoes the last step (net, optimiser, statistics, results)."},
    {"lab.experiment", "net", "exp:net() -> net\n  A copy of the experiment's net as it is now."},
    {"lab.baseline", NULL,
     "baseline: a float continual-learning method on an MLP of the MPCL net's shape; fields\n"
     "  matrix, history, average, learnt, ntasks, method, scenario, params; #b tasks."},
    {"lab.baseline", "step",
     "b:step([progress]) -> job\n"
     "  Learns the next task and tests every task so far; a stopped step leaves the model as\n"
     "  it was. Result: {task, epochs, loss, train_acc, val_acc, steps, projected, seconds,\n"
     "  acc, average}."},
    {"lab.baseline", "run", "b:run([progress]) -> job\n  Steps until every task is learnt."},
    {"lab.baseline", "back",
     "b:back() -> boolean\n  Undoes the last step (weights, optimiser, EWC/SI/GEM state, results)."},
    {"lab.baseline", "evaluate",
     "b:evaluate([{upto=, confusion=, split=}]) -> {acc, counts, average, confusion}"},
    {"lab.baseline", "noise_sweep",
     "b:noise_sweep([{step=0.05, draws=5, seed=, upto=}]) -> job\n"
     "  {rho, acc, sd, tolerance, reached}; float weights mapped onto the conductance window."},
    {"lab.baseline", "sizes", "b:sizes() -> {inputs, hidden, hidden, outputs}"},
    {"lab.baseline", "weights", "b:weights(layer) -> rows (outputs) of input weights (floats)"},
    {"lab.trainer", NULL, "trainer: an optimiser and its settings, bound to a net and tasks."},
    {"lab.trainer", "learn",
     "tr:learn(i [, progress]) -> job\n"
     "  Learns task i (a job; headless scripts wait for it). progress(p) gets {task, epoch, epochs, loss, train_acc, val_acc,\n"
     "  switch_rate, switch_any} after each epoch; returning \"stop\" cancels. Result: {task,\n"
     "  epochs, best_epoch, val_acc, switch_rate, switch_layer, switch_any, cancelled, seconds}."},
};

enum { NDOCS = sizeof docs / sizeof docs[0] };

static const char *const DOCS_KEY = "mpcl.docs"; /* registry: function -> doc index */

static const char *first_line(const char *text, char *buf, size_t n)
{
    size_t k = strcspn(text, "\n");
    if (k >= n)
        k = n - 1;
    memcpy(buf, text, k);
    buf[k] = '\0';
    return buf;
}

static void put(lua_State *L, const char *s)
{
    /* Through the global print, so that wherever print goes (a console, a journal), help
     * goes too. */
    lua_getglobal(L, "print");
    lua_pushstring(L, s);
    lua_call(L, 1, 0);
}

static void help_overview(lua_State *L)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "The lab (help(f) or help(\"name\") for more):");
    char line[160];
    const char *owner = "";
    for (int i = 0; i < NDOCS; i++) {
        if (strcmp(owner, docs[i].owner)) {
            owner = docs[i].owner;
            if (strcmp(owner, "lab")) {
                luaL_addstring(&b, "\n");
                luaL_addstring(&b, first_line(docs[i].text, line, sizeof line));
                continue;
            }
        }
        if (docs[i].name) {
            luaL_addstring(&b, "\n  ");
            luaL_addstring(&b, first_line(docs[i].text, line, sizeof line));
        }
    }
    luaL_pushresult(&b);
    put(L, lua_tostring(L, -1));
    lua_pop(L, 1);
}

/* Print an object's description and its methods' first lines. */
static int help_object(lua_State *L, const char *owner)
{
    int found = 0;
    char line[160];
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; i < NDOCS; i++) {
        if (strcmp(docs[i].owner, owner))
            continue;
        if (found++)
            luaL_addstring(&b, "\n  ");
        luaL_addstring(&b, docs[i].name ? first_line(docs[i].text, line, sizeof line)
                                        : docs[i].text);
    }
    luaL_pushresult(&b);
    if (found)
        put(L, lua_tostring(L, -1));
    lua_pop(L, 1);
    return found;
}

static int help_name(lua_State *L, const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *colon = strrchr(name, ':');
    const char *last = colon ? colon + 1 : dot ? dot + 1 : name;
    char owner[64];
    snprintf(owner, sizeof owner, "lab.%s", last);
    if (help_object(L, owner) || help_object(L, name))
        return 1;
    for (int i = 0; i < NDOCS; i++)
        if (docs[i].name && !strcmp(docs[i].name, last)) {
            put(L, docs[i].text);
            return 1;
        }
    return 0;
}

static int l_help(lua_State *L)
{
    if (lua_isnone(L, 1)) {
        help_overview(L);
        return 0;
    }
    if (lua_type(L, 1) == LUA_TSTRING) {
        if (!help_name(L, lua_tostring(L, 1)))
            put(L, lua_pushfstring(L, "help: nothing is called '%s'", lua_tostring(L, 1)));
        return 0;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, DOCS_KEY);
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    if (lua_isinteger(L, -1)) {
        put(L, docs[lua_tointeger(L, -1)].text);
        return 0;
    }
    if (luaL_getmetafield(L, 1, "__name") == LUA_TSTRING && help_object(L, lua_tostring(L, -1)))
        return 0;
    put(L, lua_pushfstring(L, "help: no help for this %s (help() lists the lab)",
                           luaL_typename(L, 1)));
    return 0;
}

void lab_help_open(lua_State *L, int lab)
{
    lab = lua_absindex(L, lab);
    lua_newtable(L);
    for (int i = 0; i < NDOCS; i++) {
        if (!docs[i].name)
            continue;
        if (!strcmp(docs[i].owner, "lab")) {
            /* "chip.open": a function in a table of the lab */
            const char *dot = strchr(docs[i].name, '.');
            if (dot) {
                char head[32];
                snprintf(head, sizeof head, "%.*s", (int)(dot - docs[i].name), docs[i].name);
                if (lua_getfield(L, lab, head) == LUA_TTABLE)
                    lua_getfield(L, -1, dot + 1);
                else
                    lua_pushnil(L);
                lua_remove(L, -2);
            } else {
                lua_getfield(L, lab, docs[i].name);
            }
        } else {
            luaL_getmetatable(L, docs[i].owner);
            if (lua_getfield(L, -1, "__index") != LUA_TTABLE) {
                lua_pop(L, 1);
                lua_getfield(L, -1, "__methods"); /* objects with an __index function */
            }
            if (lua_type(L, -1) == LUA_TTABLE)
                lua_getfield(L, -1, docs[i].name);
            else
                lua_pushnil(L);
            lua_replace(L, -3);
            lua_pop(L, 1);
        }
        if (lua_isfunction(L, -1)) {
            lua_pushinteger(L, i);
            lua_rawset(L, -3);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_setfield(L, LUA_REGISTRYINDEX, DOCS_KEY);
    lua_pushcfunction(L, l_help);
    lua_setglobal(L, "help");
}
