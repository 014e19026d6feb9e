/*
 * test/unit_plugin.c: more tests of lib/plugin.c and the stock resolvers,
 * next to test/unit_resolver.c (which has the loader's refusals one by
 * one, built-ins, aliases and each resolver's basic rules).  This file
 * covers:
 *
 *  - the exact ABI refusal text ("built for resolver ABI 2.0; this library
 *    supports 1.0") and the dlerror text of a missing entry symbol;
 *  - the permission rule around /tmp: a plugin in a private directory
 *    under /tmp (world-writable, sticky, root's) loads; the plugin's own
 *    directory never gets the sticky exception; a sticky directory above
 *    it owned by another user is refused;
 *  - symbolic links: a link in a group/world-writable directory is
 *    refused even when it points at a safe file;
 *  - built-in fallback only when plugin_dir/<name>.so does not exist (a
 *    dangling link or another plugin under that name is not absence);
 *  - the stock resolvers loaded as files (build/drivers/<name>.so);
 *  - properties over random batches: no placement on a member that cannot
 *    run the task, every placeable task placed;
 *  - random across leader changes and its owner leaving; roundrobin over
 *    repeated passes; tasknode's exact warnings;
 *  - 10,000 tasks x 100 members for each stock resolver, timed.
 *
 * Environment: CCOORD_TEST_PLUGINDIR (default build/test/plugins),
 * CCOORD_TEST_DRIVERDIR (default build/drivers), CCOORD_TEST_SEED (the
 * random batches; default fixed, printed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "plugin.h"

static char plugindir[PATH_MAX];
static char driverdir[PATH_MAX];
static char tmpbase[256]; /* a private directory under /tmp, 0700 */
static char emptydir[PATH_MAX + 16];
static unsigned long long seed = 0x5eed1234abcdull;

/* ---- helpers ---------------------------------------------------------- */

typedef struct logcap {
    int n;
    int level[16];
    char line[16][512];
} logcap;

static void cap_log(void *ctx, int level, const char *msg)
{
    logcap *c = ctx;
    if (c->n < 16) {
        c->level[c->n] = level;
        snprintf(c->line[c->n], sizeof c->line[c->n], "%s", msg);
    }
    c->n++;
}

#define assert_ends_with(hay, tail)                                                         \
    do {                                                                                    \
        const char *h_ = (hay), *t_ = (tail);                                               \
        size_t hn_ = strlen(h_), tn_ = strlen(t_);                                          \
        if (hn_ < tn_ || strcmp(h_ + hn_ - tn_, t_) != 0)                                   \
            fail_msg("\"%s\" does not end with \"%s\"", h_, t_);                             \
    } while (0)

#define assert_contains(hay, needle)                                                        \
    do {                                                                                    \
        const char *h_ = (hay), *n_ = (needle);                                             \
        if (!strstr(h_, n_))                                                                \
            fail_msg("\"%s\" does not contain \"%s\"", h_, n_);                             \
    } while (0)

/* A batch of members "node-0".. and tasks "task-00000"..; can_run[t] is a
 * row of nm slots (ascending member indexes, can_run_count used). */
typedef struct batch {
    size_t nm, nt;
    ccoord__batch_member *m;
    ccoord__batch_task *t;
    char (*ids)[32];
    char (*names)[32];
    size_t *rows;
    long *assign;
} batch;

static void batch_init(batch *b, size_t nm, size_t nt)
{
    size_t i, k;
    memset(b, 0, sizeof *b);
    b->nm = nm;
    b->nt = nt;
    b->m = calloc(nm ? nm : 1, sizeof *b->m);
    b->t = calloc(nt ? nt : 1, sizeof *b->t);
    b->ids = calloc(nm ? nm : 1, sizeof *b->ids);
    b->names = calloc(nt ? nt : 1, sizeof *b->names);
    b->rows = calloc((nt ? nt : 1) * (nm ? nm : 1), sizeof *b->rows);
    b->assign = calloc(nt ? nt : 1, sizeof *b->assign);
    assert_true(b->m && b->t && b->ids && b->names && b->rows && b->assign);
    for (i = 0; i < nm; i++) {
        snprintf(b->ids[i], sizeof b->ids[i], "node-%zu", i);
        b->m[i].id = b->ids[i];
        b->m[i].hostname = "localhost";
        b->m[i].metadata = "";
    }
    for (i = 0; i < nt; i++) {
        size_t *row = b->rows + i * nm;
        snprintf(b->names[i], sizeof b->names[i], "task-%05zu", i);
        for (k = 0; k < nm; k++)
            row[k] = k;
        b->t[i].name = b->names[i];
        b->t[i].can_run = row;
        b->t[i].can_run_count = nm;
        b->assign[i] = -2; /* run must overwrite every entry */
    }
}

static void batch_free(batch *b)
{
    free(b->m);
    free(b->t);
    free(b->ids);
    free(b->names);
    free(b->rows);
    free(b->assign);
}

static int run(ccoord__resolver *r, batch *b)
{
    char err[512];
    int rc = ccoord__resolver_run(r, b->m, b->nm, b->t, b->nt, b->assign, err, sizeof err);
    if (rc != CCOORD_OK)
        print_message("run: %s\n", err);
    return rc;
}

static int can_run(const batch *b, size_t t, long m)
{
    size_t k;
    for (k = 0; k < b->t[t].can_run_count; k++)
        if ((long)b->t[t].can_run[k] == m)
            return 1;
    return 0;
}

/* Every placement is -1 or a member that can run the task. */
static void assert_placements_valid(const batch *b)
{
    size_t t;
    for (t = 0; t < b->nt; t++)
        if (b->assign[t] != -1 && !can_run(b, t, b->assign[t]))
            fail_msg("task %zu placed on %ld, which cannot run it", t, b->assign[t]);
}

static size_t count_on(const batch *b, long member)
{
    size_t t, n = 0;
    for (t = 0; t < b->nt; t++)
        n += b->assign[t] == member;
    return n;
}

/* The loads a new leader would read after this pass. */
static void carry_loads(batch *b)
{
    size_t m;
    for (m = 0; m < b->nm; m++)
        b->m[m].load += count_on(b, (long)m);
}

static unsigned long long rnd(void)
{
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return seed * 2685821657736338717ull;
}

static int load(const char *cls, const char *dir, const ccoord__kvlist *params, logcap *cap,
                ccoord__resolver **r, char *err, size_t errlen)
{
    err[0] = '\0';
    *r = NULL;
    return ccoord__resolver_load(cls, dir, params, cap ? cap_log : NULL, cap, r, err, errlen);
}

static ccoord__resolver *load_ok(const char *cls, const char *dir, const ccoord__kvlist *params,
                                 logcap *cap)
{
    ccoord__resolver *r = NULL;
    char err[1024];
    int rc = load(cls, dir, params, cap, &r, err, sizeof err);
    if (rc != CCOORD_OK)
        fail_msg("load %s from %s: %s: %s", cls, dir ? dir : "(null)", ccoord_errname(rc), err);
    return r;
}

static void expect_refused(const char *cls, const char *dir, int want, char *err, size_t errlen)
{
    ccoord__resolver *r = NULL;
    int rc = load(cls, dir, NULL, NULL, &r, err, errlen);
    if (rc != want)
        fail_msg("%s in %s: got %s, want %s (%s)", cls, dir ? dir : "(null)",
                 ccoord_errname(rc), ccoord_errname(want), err);
    assert_null(r);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        chmod(path, 0700);
    return remove(path);
}

static void rm_tree(const char *dir)
{
    chmod(dir, 0700);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out;
    if (in < 0)
        fail_msg("open %s: %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(out >= 0);
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(fchmod(out, mode), 0);
    assert_int_equal(close(out), 0);
}

/* A fresh directory under tmpbase with the given mode. */
static void make_dir(char *out, size_t outlen, const char *tag, mode_t mode)
{
    snprintf(out, outlen, "%s/%s.XXXXXX", tmpbase, tag);
    assert_non_null(mkdtemp(out));
    assert_int_equal(chmod(out, mode), 0);
}

static void plugin_file(char *out, size_t outlen, const char *dir, const char *name)
{
    snprintf(out, outlen, "%s/%s.so", dir, name);
}

static double seconds_since(const struct timespec *a)
{
    struct timespec z;
    clock_gettime(CLOCK_MONOTONIC, &z);
    return (double)(z.tv_sec - a->tv_sec) + (double)(z.tv_nsec - a->tv_nsec) / 1e9;
}

/* The time bound for the large batches: 2 s natively (they take a few
 * milliseconds), more under valgrind and the sanitizers. */
static double slow_factor(void)
{
    const char *pre = getenv("LD_PRELOAD");
    double f = 1.0;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    f = 20.0;
#endif
    if (pre && strstr(pre, "vgpreload"))
        f = 100.0;
    return f;
}

static int group_setup(void **state)
{
    const char *pd = getenv("CCOORD_TEST_PLUGINDIR"), *dd = getenv("CCOORD_TEST_DRIVERDIR");
    const char *sd = getenv("CCOORD_TEST_SEED");
    char probe[PATH_MAX + 16];
    (void)state;
    if (!realpath(pd && *pd ? pd : "build/test/plugins", plugindir)) {
        fprintf(stderr, "unit_plugin: plugin dir %s: %s (make tests; CCOORD_TEST_PLUGINDIR)\n",
                pd && *pd ? pd : "build/test/plugins", strerror(errno));
        return -1;
    }
    snprintf(probe, sizeof probe, "%s/t_good.so", plugindir);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "unit_plugin: %s missing (make tests)\n", probe);
        return -1;
    }
    if (!realpath(dd && *dd ? dd : "build/drivers", driverdir))
        driverdir[0] = '\0'; /* the file-loading test skips */
    if (sd && *sd)
        seed = strtoull(sd, NULL, 0);
    if (!seed)
        seed = 1;
    print_message("unit_plugin: CCOORD_TEST_SEED=%#llx\n", seed);
    /* /tmp itself, not $TMPDIR: the sticky rule is what is tested */
    snprintf(tmpbase, sizeof tmpbase, "/tmp/unit_plugin.XXXXXX");
    if (!mkdtemp(tmpbase))
        return -1;
    snprintf(emptydir, sizeof emptydir, "%s/empty", tmpbase);
    return mkdir(emptydir, 0700);
}

static int group_teardown(void **state)
{
    (void)state;
    ccoord__fail_alloc_after(-1);
    rm_tree(tmpbase);
    return 0;
}

/* ---- loader messages -------------------------------------------------- */

static void test_plugin_abi_refusal_names_file_and_both_versions(void **state)
{
    char err[1024], want[PATH_MAX + 160], ours[32];
    (void)state;
    if (CCOORD_RESOLVER_ABI_MINOR == 0)
        snprintf(ours, sizeof ours, "%d.0", CCOORD_RESOLVER_ABI_MAJOR);
    else
        snprintf(ours, sizeof ours, "%d.0 to %d.%d", CCOORD_RESOLVER_ABI_MAJOR,
                 CCOORD_RESOLVER_ABI_MAJOR, CCOORD_RESOLVER_ABI_MINOR);

    expect_refused("t_major2", plugindir, CCOORD_EABI, err, sizeof err);
    snprintf(want, sizeof want, "%s/t_major2.so was built for resolver ABI 2.0; "
             "this library supports %s", plugindir, ours);
    assert_ends_with(err, want);

    expect_refused("t_newminor", plugindir, CCOORD_EABI, err, sizeof err);
    snprintf(want, sizeof want, "%s/t_newminor.so was built for resolver ABI %d.%d; "
             "this library supports %s", plugindir, CCOORD_RESOLVER_ABI_MAJOR,
             CCOORD_RESOLVER_ABI_MINOR + 1, ours);
    assert_ends_with(err, want);

    /* the dynamic linker's own words come along */
    expect_refused("t_noentry", plugindir, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, "t_noentry.so");
    assert_contains(err, "ccoord_resolver_entry");
    assert_contains(err, "undefined symbol");
}

/* ---- permissions ------------------------------------------------------ */

/* Issue 15: a file that is not ELF was told "file too short (check its
 * dependencies with: ldd ...)"; a built-in's path was shown as
 * "((built into libclustercoord))". */
static void test_plugin_not_elf_and_builtin_texts(void **state)
{
    char err[1024], dir[PATH_MAX], file[PATH_MAX + 16];
    ccoord__resolver *r = NULL;
    FILE *f;
    (void)state;
    snprintf(dir, sizeof dir, "%s/notelf", tmpbase);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(file, sizeof file, "%s/t_good.so", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho not a plugin\n", f);
    fclose(f);
    expect_refused("t_good", dir, CCOORD_EPLUGIN, err, sizeof err);
    assert_non_null(strstr(err, "t_good.so: not a shared object (no ELF header"));
    assert_null(strstr(err, "ldd"));
    assert_int_equal(ccoord__resolver_load("roundrobin", emptydir, NULL, NULL, NULL, &r, err,
                                           sizeof err),
                     CCOORD_OK);
    assert_string_equal(ccoord__resolver_path(r), "built into libclustercoord");
    ccoord__resolver_unload(r);
}

static void test_plugin_private_dir_under_tmp_loads(void **state)
{
    struct stat st;
    ccoord__resolver *r;
    char dir[PATH_MAX], file[PATH_MAX + 16], src[PATH_MAX + 16], err[2048];
    (void)state;
    if (stat("/tmp", &st) != 0 || !(st.st_mode & S_ISVTX) || st.st_uid != 0) {
        print_message("skipped: /tmp is not root's sticky directory\n");
        skip();
    }
    plugin_file(src, sizeof src, plugindir, "t_good");
    make_dir(dir, sizeof dir, "private", 0700);
    plugin_file(file, sizeof file, dir, "t_good");
    copy_file(src, file, 0755);

    /* /tmp (01777, root) and tmpbase (0700) above a 0700 directory */
    r = load_ok("t_good", dir, NULL, NULL);
    ccoord__resolver_unload(r);
    assert_int_equal(chmod(dir, 0755), 0);
    r = load_ok(file, NULL, NULL, NULL);
    ccoord__resolver_unload(r);

    /* group-writable file: named with its mode */
    assert_int_equal(chmod(file, 0775), 0);
    expect_refused("t_good", dir, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, file);
    assert_contains(err, "0775");
    assert_contains(err, "group");

    /* o+w on the plugin's directory */
    assert_int_equal(chmod(file, 0755), 0);
    assert_int_equal(chmod(dir, 0757), 0);
    expect_refused("t_good", dir, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, dir);
    assert_contains(err, "0757");
    assert_contains(err, "others");

    /* the plugin's own directory sticky like /tmp: still refused, since
     * anybody may add <name>.so there */
    assert_int_equal(chmod(dir, 01777), 0);
    expect_refused("t_good", dir, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, "1777");

    /* back to 0755: loads again */
    assert_int_equal(chmod(dir, 0755), 0);
    r = load_ok("t_good", dir, NULL, NULL);
    assert_string_equal(ccoord__resolver_name(r), "t_good");
    ccoord__resolver_unload(r);
}

static void test_plugin_sticky_dir_above_depends_on_owner(void **state)
{
    ccoord__resolver *r;
    char top[PATH_MAX], sub[PATH_MAX + 16], file[PATH_MAX + 32], src[PATH_MAX + 16];
    char err[2048];
    (void)state;
    plugin_file(src, sizeof src, plugindir, "t_good");
    make_dir(top, sizeof top, "sticky", 01777);
    snprintf(sub, sizeof sub, "%s/sub", top);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(chmod(sub, 0755), 0);
    plugin_file(file, sizeof file, sub, "t_good");
    copy_file(src, file, 0644);

    /* sticky, world-writable, ours, above the plugin's directory: accepted
     * (others can add entries to top but not replace sub) */
    r = load_ok("t_good", sub, NULL, NULL);
    ccoord__resolver_unload(r);

    /* not sticky: anybody could rename sub away and put their own there */
    assert_int_equal(chmod(top, 0777), 0);
    expect_refused("t_good", sub, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, top);
    assert_contains(err, "0777");

    /* sticky but owned by somebody else (root only can arrange that):
     * that owner could replace sub */
    assert_int_equal(chmod(top, 01777), 0);
    if (geteuid() == 0 && chown(top, 4242, 4242) == 0) {
        expect_refused("t_good", sub, CCOORD_EPLUGIN, err, sizeof err);
        assert_contains(err, top);
        assert_contains(err, "1777");
        assert_int_equal(chown(top, 0, 0), 0);
        assert_int_equal(chmod(top, 01777), 0);
    } else {
        print_message("cannot chown: the other-owner case is not checked\n");
    }
    r = load_ok(file, NULL, NULL, NULL);
    ccoord__resolver_unload(r);
}

static void test_plugin_symlink_in_writable_dir_refused(void **state)
{
    ccoord__resolver *r;
    char safe[PATH_MAX], open_dir[PATH_MAX], file[PATH_MAX + 16], link[PATH_MAX + 16];
    char src[PATH_MAX + 16], err[2048], via[PATH_MAX + 16];
    (void)state;
    plugin_file(src, sizeof src, plugindir, "t_good");
    make_dir(safe, sizeof safe, "safe", 0755);
    plugin_file(file, sizeof file, safe, "t_good");
    copy_file(src, file, 0755);

    /* a link to the safe file, in a world-writable (not sticky) directory:
     * whoever can write there can point the link at their own plugin */
    make_dir(open_dir, sizeof open_dir, "open", 0777);
    plugin_file(link, sizeof link, open_dir, "t_good");
    assert_int_equal(symlink(file, link), 0);
    expect_refused("t_good", open_dir, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, open_dir);
    assert_contains(err, "0777");
    expect_refused(link, NULL, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, open_dir);

    /* a directory link in that directory, used as plugin_dir */
    snprintf(via, sizeof via, "%s/dirlink", open_dir);
    assert_int_equal(symlink(safe, via), 0);
    expect_refused("t_good", via, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, "0777");

    /* the same links in a directory only its owner writes: fine */
    assert_int_equal(chmod(open_dir, 0755), 0);
    r = load_ok("t_good", open_dir, NULL, NULL);
    ccoord__resolver_unload(r);
    r = load_ok(link, NULL, NULL, NULL);
    ccoord__resolver_unload(r);
    r = load_ok("t_good", via, NULL, NULL);
    ccoord__resolver_unload(r);

    /* and the target's own directory still counts */
    assert_int_equal(chmod(safe, 0775), 0);
    expect_refused("t_good", open_dir, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, safe);
    assert_contains(err, "0775");
    assert_int_equal(chmod(safe, 0755), 0);
}

/* ---- built-ins -------------------------------------------------------- */

static void test_plugin_builtin_only_when_file_absent(void **state)
{
    ccoord__resolver *r;
    char dir[PATH_MAX], file[PATH_MAX + 16], src[PATH_MAX + 16], err[2048];
    char missing[PATH_MAX + 16];
    (void)state;
    /* plugin_dir that does not exist at all: the built-in */
    snprintf(missing, sizeof missing, "%s/no/such/dir", tmpbase);
    r = load_ok("random", missing, NULL, NULL);
    assert_string_equal(ccoord__resolver_name(r), "random");
    ccoord__resolver_unload(r);

    /* a file of that name replaces the built-in, and is checked like any
     * plugin: t_good copied to roundrobin.so is refused for its name */
    make_dir(dir, sizeof dir, "stock", 0755);
    plugin_file(src, sizeof src, plugindir, "t_good");
    plugin_file(file, sizeof file, dir, "roundrobin");
    copy_file(src, file, 0755);
    expect_refused("roundrobin", dir, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, file);
    assert_contains(err, "\"t_good\"");
    assert_contains(err, "\"roundrobin\"");
    unlink(file);
    r = load_ok("roundrobin", dir, NULL, NULL);
    ccoord__resolver_unload(r);

    /* a dangling link is not absence */
    assert_int_equal(symlink("/nonexistent/roundrobin.so", file), 0);
    expect_refused("roundrobin", dir, CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, file);
}

static void test_plugin_stock_resolvers_load_as_files(void **state)
{
    static const char *const names[] = {"random", "roundrobin", "tasknode"};
    ccoord__kvlist params = {0};
    size_t i;
    (void)state;
    if (!driverdir[0]) {
        print_message("skipped: no driver directory (CCOORD_TEST_DRIVERDIR, build/drivers)\n");
        skip();
    }
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", "node-1,node-2", "t"), CCOORD_OK);
    for (i = 0; i < 3; i++) {
        char path[PATH_MAX + 32], err[1024];
        ccoord__resolver *r = NULL;
        batch b;
        int rc;
        snprintf(path, sizeof path, "%s/%s.so", driverdir, names[i]);
        if (access(path, R_OK) != 0) {
            print_message("skipped: %s missing\n", path);
            skip();
        }
        rc = load(path, NULL, i == 2 ? &params : NULL, NULL, &r, err, sizeof err);
        if (rc == CCOORD_EPLUGIN && strstr(err, "writable")) {
            print_message("skipped: %s\n", err);
            skip();
        }
        if (rc != CCOORD_OK)
            fail_msg("%s: %s: %s", path, ccoord_errname(rc), err);
        assert_string_equal(ccoord__resolver_name(r), names[i]);
        batch_init(&b, 3, 30);
        assert_int_equal(run(r, &b), CCOORD_OK);
        assert_placements_valid(&b);
        assert_int_equal(count_on(&b, -1), 0);
        if (i == 0)
            assert_int_equal(count_on(&b, b.assign[0]), 30);
        else if (i == 1)
            assert_int_equal(count_on(&b, 2), 10);
        else
            assert_int_equal(count_on(&b, 1) + count_on(&b, 2), 30);
        batch_free(&b);
        ccoord__resolver_unload(r);
    }
    ccoord__kvlist_free(&params);
}

/* ---- properties over random batches ----------------------------------- */

/* Random can_run rows (some empty), loads and sizes. */
static void random_batch(batch *b)
{
    size_t nm = 1 + (size_t)(rnd() % 8), nt = (size_t)(rnd() % 200), t, m;
    batch_init(b, nm, nt);
    for (m = 0; m < nm; m++)
        b->m[m].load = rnd() % 3 == 0 ? (size_t)(rnd() % 20) : 0;
    for (t = 0; t < nt; t++) {
        size_t *row = b->rows + t * nm, n = 0;
        unsigned long long mode = rnd() % 4;
        for (m = 0; m < nm; m++)
            if (mode == 0 || (mode != 1 && rnd() % 2))
                row[n++] = m;
        b->t[t].can_run_count = n; /* mode 1: nobody */
    }
}

static void test_plugin_stock_resolvers_never_misplace(void **state)
{
    static const char *const names[] = {"random", "roundrobin", "tasknode"};
    ccoord__kvlist params = {0};
    size_t i;
    int trial;
    (void)state;
    /* every member of every batch is a task node */
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes",
                                        "node-0,node-1,node-2,node-3,node-4,node-5,node-6,node-7",
                                        "t"),
                     CCOORD_OK);
    for (i = 0; i < 3; i++) {
        logcap cap = {0};
        ccoord__resolver *r = load_ok(names[i], emptydir, i == 2 ? &params : NULL, &cap);
        for (trial = 0; trial < 200; trial++) {
            batch b;
            size_t t;
            random_batch(&b);
            assert_int_equal(run(r, &b), CCOORD_OK);
            assert_placements_valid(&b);
            /* and nothing placeable is left behind */
            for (t = 0; t < b.nt; t++)
                if (b.assign[t] == -1 && b.t[t].can_run_count > 0)
                    fail_msg("%s: task %zu left unassigned (trial %d)", names[i], t, trial);
            batch_free(&b);
        }
        ccoord__resolver_unload(r);
    }
    ccoord__kvlist_free(&params);
}

/* ---- random ----------------------------------------------------------- */

static void test_plugin_random_survives_leader_changes_and_owner_leaving(void **state)
{
    int trial;
    (void)state;
    for (trial = 0; trial < 10; trial++) {
        ccoord__resolver *r = load_ok("random", emptydir, NULL, NULL);
        batch b, c;
        long owner, second;
        size_t m, k;
        batch_init(&b, 4, 20);
        assert_int_equal(run(r, &b), CCOORD_OK);
        owner = b.assign[0];
        assert_true(owner >= 0);
        assert_int_equal(count_on(&b, owner), 20);
        ccoord__resolver_unload(r);

        /* new leader, new tasks: they join the owner */
        carry_loads(&b);
        r = load_ok("random", emptydir, NULL, NULL);
        assert_int_equal(run(r, &b), CCOORD_OK);
        assert_int_equal(count_on(&b, owner), 20);
        ccoord__resolver_unload(r);

        /* the owner leaves: its 40 tasks come back unassigned, the other
         * three own nothing; one of them takes all, and keeps them after
         * another leader change */
        batch_init(&c, 3, 40);
        for (m = 0, k = 0; m < 4; m++)
            if ((long)m != owner) {
                memcpy(c.ids[k], b.ids[m], sizeof c.ids[k]);
                c.m[k].load = 0;
                k++;
            }
        r = load_ok("random", emptydir, NULL, NULL);
        assert_int_equal(run(r, &c), CCOORD_OK);
        second = c.assign[0];
        assert_true(second >= 0);
        assert_int_equal(count_on(&c, second), 40);
        ccoord__resolver_unload(r);
        carry_loads(&c);
        r = load_ok("random", emptydir, NULL, NULL);
        assert_int_equal(run(r, &c), CCOORD_OK);
        assert_int_equal(count_on(&c, second), 40);
        ccoord__resolver_unload(r);
        batch_free(&b);
        batch_free(&c);
    }
}

static void test_plugin_random_ties_go_to_earliest_joined(void **state)
{
    ccoord__resolver *r = load_ok("random", emptydir, NULL, NULL);
    batch b;
    (void)state;
    batch_init(&b, 4, 6);
    b.m[1].load = 3;
    b.m[3].load = 3;
    assert_int_equal(run(r, &b), CCOORD_OK);
    assert_int_equal(count_on(&b, 1), 6);
    batch_free(&b);
    ccoord__resolver_unload(r);
}

/* ---- roundrobin ------------------------------------------------------- */

static void test_plugin_roundrobin_stays_balanced_over_passes(void **state)
{
    ccoord__resolver *r = load_ok("roundrobin", emptydir, NULL, NULL);
    size_t total[6] = {0}, m, lo, hi;
    int pass;
    (void)state;
    for (pass = 0; pass < 10; pass++) {
        /* a sixth member joins before pass 5 and catches up first */
        size_t nm = pass < 5 ? 5 : 6;
        batch b;
        batch_init(&b, nm, 7);
        for (m = 0; m < nm; m++)
            b.m[m].load = total[m];
        assert_int_equal(run(r, &b), CCOORD_OK);
        if (pass == 5)
            assert_int_equal(count_on(&b, 5), 7); /* 0 < every other load */
        for (m = 0; m < nm; m++)
            total[m] += count_on(&b, (long)m);
        batch_free(&b);
    }
    for (lo = total[0], hi = total[0], m = 1; m < 6; m++) {
        lo = total[m] < lo ? total[m] : lo;
        hi = total[m] > hi ? total[m] : hi;
    }
    /* 35 tasks over five members, then 35 over six */
    assert_true(hi - lo <= 1);
    ccoord__resolver_unload(r);
}

/* ---- tasknode --------------------------------------------------------- */

static void test_plugin_tasknode_exact_warnings(void **state)
{
    static const size_t only0[] = {0};
    ccoord__kvlist params = {0};
    ccoord__resolver *r;
    logcap cap = {0};
    batch b;
    (void)state;
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", "node-8, node-9", "t"), CCOORD_OK);
    r = load_ok("tasknode", emptydir, &params, &cap);
    batch_init(&b, 3, 4);
    assert_int_equal(run(r, &b), CCOORD_OK);
    assert_int_equal(count_on(&b, -1), 4);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.level[0], CCOORD_LOG_WARN);
    assert_string_equal(cap.line[0],
                        "No task node of [node-8, node-9] is live; 4 task(s) left unassigned");
    batch_free(&b);
    ccoord__resolver_unload(r);

    /* a live task node that cannot run one task */
    cap.n = 0;
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", " node-1 ", "t"), CCOORD_OK);
    r = load_ok("tasknode", emptydir, &params, &cap);
    batch_init(&b, 3, 3);
    b.t[2].can_run = only0;
    b.t[2].can_run_count = 1;
    assert_int_equal(run(r, &b), CCOORD_OK);
    assert_int_equal(b.assign[0], 1);
    assert_int_equal(b.assign[1], 1);
    assert_int_equal(b.assign[2], -1);
    assert_int_equal(cap.n, 1);
    assert_string_equal(cap.line[0],
                        "No live task node of [ node-1 ] can run 1 task(s); left unassigned");
    /* nothing left behind: no line */
    b.t[2].can_run = b.rows + 2 * b.nm;
    b.t[2].can_run_count = 3;
    assert_int_equal(run(r, &b), CCOORD_OK);
    assert_int_equal(count_on(&b, 1), 3);
    assert_int_equal(cap.n, 1);
    batch_free(&b);
    ccoord__resolver_unload(r);
    ccoord__kvlist_free(&params);
}

/* ---- scale ------------------------------------------------------------ */

static void test_plugin_stock_resolvers_10000_tasks_100_members(void **state)
{
    static const char *const names[] = {"random", "roundrobin", "tasknode"};
    ccoord__kvlist params = {0};
    ccoord__buf list;
    double bound = 2.0 * slow_factor();
    size_t i, m, t;
    (void)state;
    ccoord__buf_init(&list);
    for (m = 0; m < 100; m += 2) /* every other member is a task node */
        ccoord__buf_addf(&list, "%snode-%zu", m ? "," : "", m);
    assert_false(list.oom);
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", list.data, "t"), CCOORD_OK);
    ccoord__buf_free(&list);
    for (i = 0; i < 3; i++) {
        ccoord__resolver *r = load_ok(names[i], emptydir, i == 2 ? &params : NULL, NULL);
        struct timespec a;
        double secs;
        batch b;
        batch_init(&b, 100, 10000);
        /* task t runs on members t % 3, t % 3 + 3, ... (a third of them) */
        for (t = 0; t < b.nt; t++) {
            size_t *row = b.rows + t * b.nm, n = 0;
            for (m = t % 3; m < b.nm; m += 3)
                row[n++] = m;
            b.t[t].can_run_count = n;
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(run(r, &b), CCOORD_OK);
        secs = seconds_since(&a);
        print_message("%s: 10000 tasks x 100 members in %.4f s (bound %.0f s)\n", names[i], secs,
                      bound);
        assert_placements_valid(&b);
        assert_int_equal(count_on(&b, -1), 0);
        if (i == 1) /* 3334, 3333, 3333 tasks over 34, 33, 33 members */
            for (m = 0; m < b.nm; m++)
                assert_in_range(count_on(&b, (long)m), m % 3 ? 101 : 98, m % 3 ? 101 : 99);
        if (i == 2)
            for (m = 1; m < b.nm; m += 2)
                assert_int_equal(count_on(&b, (long)m), 0);
        assert_true(secs < bound);
        batch_free(&b);
        ccoord__resolver_unload(r);
    }
    ccoord__kvlist_free(&params);
}

/* ---- allocation failures ---------------------------------------------- */

static void test_plugin_alloc_failures_in_load_and_run(void **state)
{
    static const char *const names[] = {"tasknode", "t_initfail"};
    size_t i;
    (void)state;
    /* the tasknode built-in and a plugin whose init fails: every allocation
     * failure ends in CCOORD_ENOMEM (or the normal outcome), never a
     * crash or a half-loaded resolver */
    for (i = 0; i < 2; i++) {
        long n;
        int done = 0;
        for (n = 0; n < 2000 && !done; n++) {
            ccoord__kvlist params = {0};
            ccoord__resolver *r = NULL;
            char err[1024];
            const char *dir = i == 0 ? emptydir : plugindir;
            int rc;
            assert_int_equal(ccoord__kvlist_set(&params, i == 0 ? "task_nodes" : "status",
                                                i == 0 ? "node-0, node-1" : "-3", "t"),
                             CCOORD_OK);
            ccoord__fail_alloc_after(n);
            rc = load(names[i], dir, &params, NULL, &r, err, sizeof err);
            ccoord__fail_alloc_after(-1);
            if (i == 1) {
                assert_null(r);
                if (rc == CCOORD_ECONFIG && strstr(err, "t_initfail always fails"))
                    done = 1;
                else if (rc != CCOORD_ENOMEM && rc != CCOORD_ECONFIG)
                    fail_msg("after %ld: %s (%s)", n, ccoord_errname(rc), err);
            } else if (rc == CCOORD_OK) {
                batch b;
                batch_init(&b, 3, 10);
                assert_int_equal(run(r, &b), CCOORD_OK);
                assert_int_equal(count_on(&b, 0) + count_on(&b, 1), 10);
                batch_free(&b);
                ccoord__resolver_unload(r);
                done = 1;
            } else if (rc != CCOORD_ENOMEM) {
                fail_msg("after %ld: %s (%s)", n, ccoord_errname(rc), err);
            }
            ccoord__kvlist_free(&params);
        }
        assert_true(done);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_abi_refusal_names_file_and_both_versions),
        cmocka_unit_test(test_plugin_not_elf_and_builtin_texts),
        cmocka_unit_test(test_plugin_private_dir_under_tmp_loads),
        cmocka_unit_test(test_plugin_sticky_dir_above_depends_on_owner),
        cmocka_unit_test(test_plugin_symlink_in_writable_dir_refused),
        cmocka_unit_test(test_plugin_builtin_only_when_file_absent),
        cmocka_unit_test(test_plugin_stock_resolvers_load_as_files),
        cmocka_unit_test(test_plugin_stock_resolvers_never_misplace),
        cmocka_unit_test(test_plugin_random_survives_leader_changes_and_owner_leaving),
        cmocka_unit_test(test_plugin_random_ties_go_to_earliest_joined),
        cmocka_unit_test(test_plugin_roundrobin_stays_balanced_over_passes),
        cmocka_unit_test(test_plugin_tasknode_exact_warnings),
        cmocka_unit_test(test_plugin_stock_resolvers_10000_tasks_100_members),
        cmocka_unit_test(test_plugin_alloc_failures_in_load_and_run),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
