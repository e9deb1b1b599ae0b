#include "platform.h"

#include <gnu/libc-version.h>
#include <stdio.h>
#include <string.h>
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
