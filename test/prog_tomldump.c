/*
 * test/prog_tomldump.c: prints what lib/toml.c reports for a file, one
 * item per line, for test/check-toml.py (which compares it with Python's
 * tomllib).  Exit 0 and the items; or exit 1 and "error LINE: TEXT".
 *
 *   kind<TAB>path<TAB>value     path components joined by "\x1f", each
 *                               array-of-tables element as "[N]"; in keys and
 *                               values \n \t \r \\ stand for themselves
 */
#include "toml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = {"", "table", "aot", "string", "integer",
                                    "float", "bool", "datetime", "array"};

static void put_escaped(const char *v)
{
    for (; *v; v++) {
        if (*v == '\n' || *v == '\t' || *v == '\r' || *v == '\\')
            printf("\\%c", *v == '\n' ? 'n' : *v == '\t' ? 't' : *v == '\r' ? 'r' : '\\');
        else
            putchar(*v);
    }
}

static int print_item(void *user, const ccoord__toml_item *it)
{
    size_t i;
    (void)user;
    printf("%s\t", kinds[it->kind]);
    for (i = 0; i < it->depth; i++) {
        if (i)
            putchar('\x1f');
        put_escaped(it->keys[i]);
        if (it->index[i] >= 0)
            printf("[%ld]", it->index[i]);
    }
    putchar('\t');
    put_escaped(it->value ? it->value : "");
    putchar('\n');
    return 0;
}

int main(int argc, char **argv)
{
    static char buf[1 << 21];
    char err[512];
    size_t n;
    int line = 0, rc;
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    n = fread(buf, 1, sizeof buf, f);
    if (f != stdin)
        fclose(f);
    rc = ccoord__toml_parse(buf, n, print_item, NULL, err, sizeof err, &line);
    if (rc != 0) {
        printf("error %d: %s\n", line, err);
        return 1;
    }
    return 0;
}
