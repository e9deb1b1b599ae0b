/* sweep: points, result directories, resume, gathering, schedules (sweep.h). */
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "fileio.h"

struct sweep {
    cJSON *points;   /* array of point objects */
    int n;
    char (*ids)[16];
    cJSON **records; /* n: the run file's object, or NULL */
    char *dir;
};

static int is_scalar(const cJSON *v)
{
    return cJSON_IsNumber(v) || cJSON_IsString(v) || cJSON_IsBool(v);
}

/* ---- points ------------------------------------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

cJSON *sweep_grid_points(const cJSON *grid, char *err, size_t errlen)
{
    if (!cJSON_IsObject(grid) || !grid->child) {
        err_format(err, errlen, "grid is empty: give it key = {values...} pairs");
        return NULL;
    }
    int nk = cJSON_GetArraySize(grid);
    const cJSON **keys = malloc((size_t)nk * sizeof *keys);
    int *at = calloc((size_t)nk, sizeof *at);
    cJSON *out = cJSON_CreateArray();
    if (!keys || !at || !out)
        goto oom;
    int k = 0;
    double total = 1;
    for (const cJSON *c = grid->child; c; c = c->next) {
        if (cJSON_IsObject(c) && !c->child) {
            err_format(err, errlen, "grid: %s is an empty list", c->string);
            goto fail;
        }
        if (!cJSON_IsArray(c)) {
            err_format(err, errlen, "grid: %s must be a list of values", c->string);
            goto fail;
        }
        int len = cJSON_GetArraySize(c);
        if (len == 0) {
            err_format(err, errlen, "grid: %s is an empty list", c->string);
            goto fail;
        }
        for (const cJSON *v = c->child; v; v = v->next)
            if (!is_scalar(v)) {
                err_format(err, errlen, "grid: %s holds a value that is not a number, string or "
                                        "boolean", c->string);
                goto fail;
            }
        total *= len;
        keys[k++] = c;
    }
    if (total > SWEEP_MAX_POINTS) {
        err_format(err, errlen, "grid: %.0f points, more than %d", total, SWEEP_MAX_POINTS);
        goto fail;
    }
    qsort(keys, (size_t)nk, sizeof *keys, cmp_names);
    for (int p = 0; p < (int)total; p++) {
        cJSON *pt = cJSON_CreateObject();
        if (!pt || !cJSON_AddItemToArray(out, pt))
            goto oom;
        for (int j = 0; j < nk; j++) {
            cJSON *v = cJSON_Duplicate(cJSON_GetArrayItem(keys[j], at[j]), 1);
            if (!v || !cJSON_AddItemToObject(pt, keys[j]->string, v))
                goto oom;
        }
        for (int j = nk - 1; j >= 0; j--) { /* the last key varies fastest */
            if (++at[j] < cJSON_GetArraySize(keys[j]))
                break;
            at[j] = 0;
        }
    }
    free(keys);
    free(at);
    return out;
oom:
    err_format(err, errlen, "grid: out of memory");
fail:
    free(keys);
    free(at);
    cJSON_Delete(out);
    return NULL;
}

int sweep_check_points(const cJSON *points, char *err, size_t errlen)
{
    if ((!cJSON_IsArray(points) && !cJSON_IsObject(points)) || !points->child)
        return err_set(err, errlen, "points is empty: give at least one point");
    if (!cJSON_IsArray(points))
        return err_set(err, errlen, "points must be a list of tables");
    int i = 1;
    for (const cJSON *p = points->child; p; p = p->next, i++) {
        if (!cJSON_IsObject(p))
            return err_set(err, errlen, "point %d is not a table of key = value", i);
        for (const cJSON *v = p->child; v; v = v->next)
            if (!is_scalar(v))
                return err_set(err, errlen, "point %d: %s is not a number, string or boolean", i,
                               v->string);
    }
    if (i - 1 > SWEEP_MAX_POINTS)
        return err_set(err, errlen, "%d points, more than %d", i - 1, SWEEP_MAX_POINTS);
    return 0;
}

sweep *sweep_new(cJSON *points, char *err, size_t errlen)
{
    if (sweep_check_points(points, err, errlen) < 0) {
        cJSON_Delete(points);
        return NULL;
    }
    sweep *s = calloc(1, sizeof *s);
    int n = cJSON_GetArraySize(points);
    if (s) {
        s->ids = calloc((size_t)n, sizeof *s->ids);
        s->records = calloc((size_t)n, sizeof *s->records);
    }
    if (!s || !s->ids || !s->records) {
        err_format(err, errlen, "out of memory for %d points", n);
        if (s) {
            free(s->ids);
            free(s->records);
        }
        free(s);
        cJSON_Delete(points);
        return NULL;
    }
    s->points = points;
    s->n = n;
    int width = n >= 10000 ? (n >= 100000 ? (n >= 1000000 ? 7 : 6) : 5) : 4;
    for (int i = 0; i < n; i++)
        snprintf(s->ids[i], sizeof s->ids[i], "%0*d", width, i + 1);
    return s;
}

void sweep_free(sweep *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        cJSON_Delete(s->records[i]);
    cJSON_Delete(s->points);
    free(s->records);
    free(s->ids);
    free(s->dir);
    free(s);
}

int sweep_count(const sweep *s) { return s->n; }
const cJSON *sweep_points(const sweep *s) { return s->points; }
const cJSON *sweep_point(const sweep *s, int i) { return cJSON_GetArrayItem(s->points, i); }
const char *sweep_id(const sweep *s, int i) { return s->ids[i]; }
const char *sweep_dir(const sweep *s) { return s->dir; }

int64_t sweep_seed(const sweep *s, int i)
{
    char *text = cJSON_PrintUnformatted(sweep_point(s, i));
    uLong crc = crc32(0L, Z_NULL, 0);
    if (text)
        crc = crc32(crc, (const Bytef *)text, (uInt)strlen(text));
    free(text);
    int64_t seed = (int64_t)(crc & 0x7fffffffu);
    return seed ? seed : 1;
}

const char *sweep_describe(const sweep *s, int i, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (const cJSON *v = sweep_point(s, i)->child; v && k + 1 < n; v = v->next) {
        char val[64];
        if (cJSON_IsString(v))
            snprintf(val, sizeof val, "%s", v->valuestring);
        else if (cJSON_IsBool(v))
            snprintf(val, sizeof val, "%s", cJSON_IsTrue(v) ? "true" : "false");
        else
            snprintf(val, sizeof val, "%.10g", v->valuedouble);
        int w = snprintf(buf + k, n - k, "%s%s=%s", k ? " " : "", v->string, val);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    if (k >= n && n > 4)
        memcpy(buf + n - 4, "...", 4);
    return buf;
}

/* ---- files ------------------------------------------------------------------------- */

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* The whole file at path (NUL-terminated) or NULL: *missing says whether it is absent. */
static char *slurp(const char *path, int *missing, char *err, size_t errlen)
{
    *missing = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *missing = errno == ENOENT;
        err_format(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1L << 30)) {
        err_format(err, errlen, "%s: not a regular file of at most 1 GiB", path);
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        err_format(err, errlen, "%s: cannot read", path);
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    return buf;
}

static int write_json_file(const char *path, const cJSON *v, int pretty, char *err,
                           size_t errlen)
{
    char *text = pretty ? cJSON_Print(v) : cJSON_PrintUnformatted(v);
    if (!text)
        return err_set(err, errlen, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: the buffer is written by length */
    int rc = fileio_write_atomic_buf(path, text, len + 1, err, errlen);
    free(text);
    return rc;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        return err_set(err, errlen, "%s: exists and is not a directory", path);
    }
    return err_set(err, errlen, "cannot create %s: %s", path, strerror(errno));
}

/* mkdir -p */
static int make_dirs(const char *path, char *err, size_t errlen)
{
    char *p = strdup(path);
    if (!p)
        return err_format(err, errlen, "out of memory"), -1;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            err_format(err, errlen, "cannot create %s: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *q = '/';
    }
    free(p);
    return make_dir(path, err, errlen);
}

/* ---- the manifest ------------------------------------------------------------------ */

static cJSON *manifest_of(const sweep *s, const cJSON *meta)
{
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return NULL;
    cJSON_AddStringToObject(m, "format", SWEEP_FORMAT);
    if (cJSON_IsObject(meta))
        for (const cJSON *c = meta->child; c; c = c->next)
            cJSON_AddItemToObject(m, c->string, cJSON_Duplicate(c, 1));
    cJSON_AddItemToObject(m, "points", cJSON_Duplicate(s->points, 1));
    return m;
}

/* The first difference between two manifests, for the refusal. */
static const char *manifest_diff(const cJSON *a, const cJSON *b)
{
    static const char *const parts[] = {"format", "lab", "script", "data", "points", NULL};
    static const char *const names[] = {"the formats", "the lab versions", "the scripts",
                                        "the data files", "the points"};
    for (int i = 0; parts[i]; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, parts[i]);
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, parts[i]);
        if ((x || y) && !cJSON_Compare(x, y, 1)) /* cJSON_Compare(NULL, NULL) is false */
            return names[i];
    }
    return cJSON_Compare(a, b, 1) ? NULL : "the manifests";
}

/* Move DIR's manifest, runs and results into DIR/superseded-N/ (a fresh N). */
static int supersede(const char *dir, char *err, size_t errlen)
{
    char old[4096];
    for (int n = 1; n < 10000; n++) {
        snprintf(old, sizeof old, "%s/superseded-%d", dir, n);
        if (mkdir(old, 0777) == 0)
            break;
        if (errno != EEXIST)
            return err_set(err, errlen, "cannot create %s: %s", old, strerror(errno));
    }
    static const char *const names[] = {"manifest.json", "runs", "results.json", "results.csv",
                                        "sweep.sbatch", "logs", NULL};
    for (int i = 0; names[i]; i++) {
        char from[4096], to[4200];
        snprintf(from, sizeof from, "%s/%s", dir, names[i]);
        snprintf(to, sizeof to, "%s/%s", old, names[i]);
        if (rename(from, to) < 0 && errno != ENOENT)
            return err_set(err, errlen, "cannot move %s to %s: %s", from, to, strerror(errno));
    }
    return 0;
}

static int check_manifest(sweep *s, const char *path, const cJSON *want, int force,
                          char *err, size_t errlen)
{
    int missing;
    char e2[300];
    char *text = slurp(path, &missing, e2, sizeof e2);
    if (!text && missing)
        return 0;
    cJSON *have = text ? cJSON_Parse(text) : NULL;
    free(text);
    const char *diff = have ? manifest_diff(have, want) : "its manifest.json is unreadable: they";
    cJSON_Delete(have);
    if (!diff)
        return 1;
    if (!force)
        return err_set(err, errlen,
                       "%s holds a different sweep (%s differ); force = true replaces it "
                       "(the old files move to %s/superseded-N/), or choose another "
                       "directory", s->dir, diff, s->dir);
    return supersede(s->dir, err, errlen) < 0 ? -1 : 0;
}

/* ---- run files --------------------------------------------------------------------- */

static char *run_path(const sweep *s, int i)
{
    char name[64];
    snprintf(name, sizeof name, "runs/%s.json", s->ids[i]);
    return path_join(s->dir, name);
}

/* Read point i's run file back: kept when it is a finished record of this very point. */
static void load_run(sweep *s, int i)
{
    char *path = run_path(s, i);
    int missing;
    char e2[300];
    char *text = path ? slurp(path, &missing, e2, sizeof e2) : NULL;
    cJSON *r = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (text && !r)
        fprintf(stderr, "lab.sweep: %s: not valid JSON; the point runs again\n", path);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
    if (r && (!cJSON_IsString(id) || strcmp(id->valuestring, s->ids[i]) ||
              !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(r, "point"), sweep_point(s, i),
                             1))) {
        fprintf(stderr, "lab.sweep: %s: a record of another point; the point runs again\n",
                path);
        cJSON_Delete(r);
        r = NULL;
    }
    free(path);
    cJSON_Delete(s->records[i]);
    s->records[i] = r;
}

int sweep_open(sweep *s, const char *dir, const cJSON *meta, int force, char *err,
               size_t errlen)
{
    free(s->dir);
    s->dir = strdup(dir);
    cJSON *want = manifest_of(s, meta);
    char *mpath = path_join(dir, "manifest.json"), *runs = path_join(dir, "runs");
    int rc = -1;
    if (!s->dir || !want || !mpath || !runs) {
        err_format(err, errlen, "out of memory");
        goto done;
    }
    if (make_dirs(dir, err, errlen) < 0)
        goto done;
    if (access(dir, W_OK | X_OK) < 0) {
        err_format(err, errlen, "cannot write into %s: %s", dir, strerror(errno));
        goto done;
    }
    int same = check_manifest(s, mpath, want, force, err, errlen);
    if (same < 0 || make_dir(runs, err, errlen) < 0)
        goto done;
    if (!same && write_json_file(mpath, want, 1, err, errlen) < 0)
        goto done;
    for (int i = 0; i < s->n; i++)
        if (same)
            load_run(s, i);
    rc = 0;
done:
    cJSON_Delete(want);
    free(mpath);
    free(runs);
    return rc;
}

static int record_ok(const cJSON *r) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")); }

int sweep_done(const sweep *s, int i) { return s->records[i] && record_ok(s->records[i]); }
int sweep_failed(const sweep *s, int i) { return s->records[i] && !record_ok(s->records[i]); }
const cJSON *sweep_record_of(const sweep *s, int i) { return s->records[i]; }

int sweep_done_count(const sweep *s)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += sweep_done(s, i);
    return n;
}

int sweep_record(sweep *s, int i, int ok, cJSON *result, const char *error, int attempts,
                 double seconds, char *err, size_t errlen)
{
    cJSON *r = cJSON_CreateObject();
    if (!r) {
        cJSON_Delete(result);
        return err_format(err, errlen, "out of memory"), -1;
    }
    cJSON_AddStringToObject(r, "id", s->ids[i]);
    cJSON_AddNumberToObject(r, "index", i + 1);
    cJSON_AddItemToObject(r, "point", cJSON_Duplicate(sweep_point(s, i), 1));
    cJSON_AddBoolToObject(r, "ok", ok);
    if (ok)
        cJSON_AddItemToObject(r, "result", result ? result : cJSON_CreateNull());
    else {
        cJSON_Delete(result);
        cJSON_AddStringToObject(r, "error", error ? error : "failed");
    }
    cJSON_AddNumberToObject(r, "seconds", round(seconds * 1e6) / 1e6);
    cJSON_AddNumberToObject(r, "attempts", attempts);
    cJSON_Delete(s->records[i]);
    s->records[i] = r;
    char *path = run_path(s, i);
    if (!path)
        return err_format(err, errlen, "out of memory"), -1;
    int rc = write_json_file(path, r, 0, err, errlen);
    free(path);
    return rc;
}

/* ---- gathering ---------------------------------------------------------------------- */

#define CSV_MAX_LIST 32
#define CSV_MAX_COLS 2000

typedef struct columns {
    char **name;
    int n, cap;
} columns;

static int col_find(const columns *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->name[i], name))
            return i;
    return -1;
}

static void col_add(columns *c, const char *name)
{
    if (col_find(c, name) >= 0 || c->n >= CSV_MAX_COLS)
        return;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 32;
        char **p = realloc(c->name, (size_t)cap * sizeof *p);
        if (!p)
            return;
        c->name = p;
        c->cap = cap;
    }
    char *d = strdup(name);
    if (d)
        c->name[c->n++] = d;
}

/* The scalar leaves of v under prefix: lists of more than CSV_MAX_LIST items stay out. */
static void leaves(const cJSON *v, const char *prefix, columns *c)
{
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > CSV_MAX_LIST)
            return;
        int k = 1;
        for (const cJSON *e = v->child; e; e = e->next, k++) {
            char name[512];
            if (cJSON_IsArray(v))
                snprintf(name, sizeof name, "%s%s%d", prefix, *prefix ? "." : "", k);
            else
                snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", e->string);
            leaves(e, name, c);
        }
    } else if (*prefix) {
        col_add(c, prefix);
    }
}

/* Natural order of dotted names: segments compared as numbers when both are. */
static int cmp_natural(const void *pa, const void *pb)
{
    const char *a = *(char *const *)pa, *b = *(char *const *)pb;
    while (*a && *b) {
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        char *ea, *eb;
        long na = strtol(a, &ea, 10), nb = strtol(b, &eb, 10);
        int c;
        if (ea == a + la && eb == b + lb && la && lb)
            c = na < nb ? -1 : na > nb;
        else {
            c = strncmp(a, b, la < lb ? la : lb);
            if (!c)
                c = la < lb ? -1 : la > lb;
        }
        if (c)
            return c;
        a += la + (a[la] == '.');
        b += lb + (b[lb] == '.');
    }
    return *a ? 1 : *b ? -1 : 0;
}

static const cJSON *leaf_at(const cJSON *v, const char *path)
{
    while (v && *path) {
        size_t l = strcspn(path, ".");
        char seg[256];
        snprintf(seg, sizeof seg, "%.*s", (int)(l < 255 ? l : 255), path);
        if (cJSON_IsArray(v))
            v = cJSON_GetArrayItem(v, atoi(seg) - 1);
        else
            v = cJSON_GetObjectItemCaseSensitive(v, seg);
        path += l + (path[l] == '.');
    }
    return v;
}

static void csv_text(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

static void csv_value(FILE *f, const cJSON *v)
{
    if (!v || cJSON_IsNull(v) || cJSON_IsArray(v) || cJSON_IsObject(v))
        return;
    if (cJSON_IsString(v)) {
        csv_text(f, v->valuestring);
        return;
    }
    char *t = cJSON_PrintUnformatted(v);
    if (t)
        fputs(t, f);
    free(t);
}

typedef struct csv_job {
    const sweep *s;
    columns pk, rk;
} csv_job;

static void csv_row(FILE *f, const csv_job *cj, int i)
{
    const sweep *s = cj->s;
    const cJSON *r = s->records[i];
    fputs(s->ids[i], f);
    for (int k = 0; k < cj->pk.n; k++) {
        fputc(',', f);
        csv_value(f, cJSON_GetObjectItemCaseSensitive(sweep_point(s, i), cj->pk.name[k]));
    }
    fputc(',', f);
    if (r)
        fputs(record_ok(r) ? "true" : "false", f);
    static const char *const meta[] = {"seconds", "attempts", "error"};
    for (int k = 0; k < 3; k++) {
        fputc(',', f);
        csv_value(f, cJSON_GetObjectItemCaseSensitive(r, meta[k]));
    }
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
    for (int k = 0; k < cj->rk.n; k++) {
        fputc(',', f);
        csv_value(f, leaf_at(res, cj->rk.name[k]));
    }
    fputc('\n', f);
}

static int csv_write(int fd, void *ud)
{
    csv_job *cj = ud;
    FILE *f = fdopen(dup(fd), "w");
    if (!f)
        return -1;
    static const char *const meta[] = {"id", "ok", "seconds", "attempts", "error", NULL};
    fputs("id", f);
    for (int k = 0; k < cj->pk.n; k++) {
        int clash = 0;
        for (int m = 0; meta[m]; m++)
            clash |= !strcmp(meta[m], cj->pk.name[k]);
        fputs(clash ? ",point." : ",", f); /* a point key named like a column of ours */
        csv_text(f, cj->pk.name[k]);
    }
    fputs(",ok,seconds,attempts,error", f);
    for (int k = 0; k < cj->rk.n; k++) {
        const char *name = cj->rk.name[k];
        int clash = col_find(&cj->pk, name) >= 0;
        for (int m = 0; meta[m]; m++)
            clash |= !strcmp(meta[m], name);
        fputs(clash ? ",result." : ",", f); /* a result key named like a point key */
        csv_text(f, name);
    }
    fputc('\n', f);
    for (int i = 0; i < cj->s->n; i++)
        csv_row(f, cj, i);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

static void columns_free(columns *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->name[i]);
    free(c->name);
}

static int gather_csv(sweep *s, char *err, size_t errlen)
{
    csv_job cj = {.s = s};
    for (int i = 0; i < s->n; i++) {
        for (const cJSON *v = sweep_point(s, i)->child; v; v = v->next)
            col_add(&cj.pk, v->string);
        if (s->records[i])
            leaves(cJSON_GetObjectItemCaseSensitive(s->records[i], "result"), "", &cj.rk);
    }
    qsort(cj.pk.name, (size_t)cj.pk.n, sizeof *cj.pk.name, cmp_natural);
    qsort(cj.rk.name, (size_t)cj.rk.n, sizeof *cj.rk.name, cmp_natural);
    char *path = path_join(s->dir, "results.csv");
    int rc = path ? fileio_write_atomic(path, csv_write, &cj, err, errlen) : -1;
    free(path);
    columns_free(&cj.pk);
    columns_free(&cj.rk);
    return rc;
}

int sweep_gather(sweep *s, char *err, size_t errlen)
{
    cJSON *all = cJSON_CreateArray();
    if (!all)
        return err_format(err, errlen, "out of memory"), -1;
    for (int i = 0; i < s->n; i++) {
        cJSON *r = s->records[i] ? cJSON_Duplicate(s->records[i], 1) : cJSON_CreateObject();
        if (r && !s->records[i]) {
            cJSON_AddStringToObject(r, "id", s->ids[i]);
            cJSON_AddNumberToObject(r, "index", i + 1);
            cJSON_AddItemToObject(r, "point", cJSON_Duplicate(sweep_point(s, i), 1));
        }
        cJSON_AddItemToArray(all, r);
    }
    char *path = path_join(s->dir, "results.json");
    int rc = path ? write_json_file(path, all, 0, err, errlen) : -1;
    free(path);
    cJSON_Delete(all);
    return rc < 0 ? -1 : gather_csv(s, err, errlen);
}

/* ---- schedules --------------------------------------------------------------------- */

static const double *sort_cost;
static int cmp_cost(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    double ci = sort_cost ? sort_cost[i] : -1, cj = sort_cost ? sort_cost[j] : -1;
    int ki = ci >= 0, kj = cj >= 0;
    if (ki != kj)
        return kj - ki; /* known costs first */
    if (ki && ci != cj)
        return ci < cj ? 1 : -1;
    return (i > j) - (i < j);
}

void sweep_order(const sweep *s, const double *cost, int *order)
{
    for (int i = 0; i < s->n; i++)
        order[i] = i;
    sort_cost = cost;
    qsort(order, (size_t)s->n, sizeof *order, cmp_cost);
    sort_cost = NULL;
}

double sweep_makespan(const double *cost, const int *order, int n, int workers,
                      double overhead)
{
    if (workers < 1)
        workers = 1;
    double *free_at = calloc((size_t)workers, sizeof *free_at);
    if (!free_at)
        return NAN;
    double end = 0;
    for (int k = 0; k < n; k++) {
        int w = 0; /* the worker free first takes the next point */
        for (int j = 1; j < workers; j++)
            if (free_at[j] < free_at[w])
                w = j;
        double c = cost[order ? order[k] : k];
        free_at[w] += (c > 0 ? c : 0) + overhead;
        if (free_at[w] > end)
            end = free_at[w];
    }
    free(free_at);
    return end;
}

int sweep_file_crc(const char *path, uint32_t *crc, char *err, size_t errlen)
{
    int fd = fileio_open_regular(path, err, errlen);
    if (fd < 0)
        return -1;
    uLong c = crc32(0L, Z_NULL, 0);
    unsigned char buf[1 << 14];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            c = crc32(c, buf, (uInt)r);
    int bad = r < 0;
    close(fd);
    if (bad)
        return err_format(err, errlen, "%s: cannot read: %s", path, strerror(errno)), -1;
    *crc = (uint32_t)c;
    return 0;
}
