#include "platform.h"

#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "isa.h"

void platform_get(platform *p, const char *more)
{
    memset(p, 0, sizeof *p);
    snprintf(p->cpu, sizeof p->cpu, "%s", isa_cpu_model());
    snprintf(p->isa, sizeof p->isa, "%s", isa_name(isa_active()));
    snprintf(p->libraries, sizeof p->libraries, "glibc %s, zlib %s%s%s", gnu_get_libc_version(),
             zlibVersion(), more ? ", " : "", more ? more : "");
}

int platform_diff(const platform *a, const platform *b, char *out, size_t outlen)
{
    const struct {
        const char *name, *x, *y;
    } f[] = {{"cpu", a->cpu, b->cpu}, {"isa", a->isa, b->isa},
             {"libraries", a->libraries, b->libraries}};
    int n = 0;
    size_t len = 0;
    if (outlen)
        out[0] = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].x[0] && !strcmp(f[i].x, f[i].y))
            continue;
        if (len < outlen) {
            int w = snprintf(out + len, outlen - len, "%s%s", n ? ", " : "", f[i].name);
            len += w > 0 ? (size_t)w : 0;
        }
        n++;
    }
    return n;
}

/* mkdir -p dir (mode 0700): the parents' failures show in the last mkdir. */
static int make_dirs(char *dir)
{
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    return mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int platform_state_dir(const char *sub, char *buf, size_t len)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    const char *slash = sub && *sub ? "/" : "", *tail = sub ? sub : "";
    int n;
    if (!len)
        return -1;
    buf[0] = '\0';
    if (state && *state)
        n = snprintf(buf, len, "%s/mpcl%s%s", state, slash, tail);
    else if (home && *home)
        n = snprintf(buf, len, "%s/.local/state/mpcl%s%s", home, slash, tail);
    else
        return -1;
    if (n < 0 || (size_t)n >= len || make_dirs(buf) < 0) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}
