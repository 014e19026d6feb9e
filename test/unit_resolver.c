/*
 * test/unit_resolver.c: tests lib/plugin.c (the resolver loader and
 * ccoord__resolver_run) and the stock resolvers random, roundrobin and
 * tasknode (their built-in copies), against clustercoord-resolver(7).
 *
 * The test plugins (test/plugins/t_*.c) are found in
 * $CCOORD_TEST_PLUGINDIR (default build/test/plugins).  Temporary
 * directories: an empty one under $TMPDIR (plugin_dir for the built-ins)
 * and one under build/test for the permission tests (mkdtemp gives 0700,
 * and every directory above must itself pass the loader's check).
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

#define JAVA "org.wso2.micro.integrator.ntask.coordination.task.resolver."

static char plugindir[PATH_MAX]; /* as given (may be relative) */
static char plugindir_abs[PATH_MAX];
static char emptydir[PATH_MAX];   /* no *.so at all */

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

/* A batch: members "node-0".."node-<nm-1>", tasks "task-0".., every task
 * runnable on every member unless set_can_run() says otherwise. */
typedef struct batch {
    size_t nm, nt;
    ccoord__batch_member *m;
    ccoord__batch_task *t;
    char (*ids)[32];
    char (*names)[32];
    size_t *all; /* 0 .. nm - 1 */
    long *assign;
} batch;

static void batch_init(batch *b, size_t nm, size_t nt)
{
    size_t i;
    memset(b, 0, sizeof *b);
    b->nm = nm;
    b->nt = nt;
    b->m = calloc(nm ? nm : 1, sizeof *b->m);
    b->t = calloc(nt ? nt : 1, sizeof *b->t);
    b->ids = calloc(nm ? nm : 1, sizeof *b->ids);
    b->names = calloc(nt ? nt : 1, sizeof *b->names);
    b->all = calloc(nm ? nm : 1, sizeof *b->all);
    b->assign = calloc(nt ? nt : 1, sizeof *b->assign);
    assert_true(b->m && b->t && b->ids && b->names && b->all && b->assign);
    for (i = 0; i < nm; i++) {
        snprintf(b->ids[i], sizeof b->ids[i], "node-%zu", i);
        b->m[i].id = b->ids[i];
        b->m[i].hostname = "localhost";
        b->m[i].metadata = "";
        b->all[i] = i;
    }
    for (i = 0; i < nt; i++) {
        snprintf(b->names[i], sizeof b->names[i], "task-%05zu", i);
        b->t[i].name = b->names[i];
        b->t[i].can_run = b->all;
        b->t[i].can_run_count = nm;
        b->t[i].owner = -1; /* unassigned, as in a resolve() batch */
        b->assign[i] = -2; /* run must overwrite every entry */
    }
}

static void set_can_run(batch *b, size_t task, const size_t *members, size_t count)
{
    b->t[task].can_run = members;
    b->t[task].can_run_count = count;
}

static void batch_free(batch *b)
{
    free(b->m);
    free(b->t);
    free(b->ids);
    free(b->names);
    free(b->all);
    free(b->assign);
}

static int run(ccoord__resolver *r, batch *b, char *err, size_t errlen)
{
    return ccoord__resolver_run(r, b->m, b->nm, b->t, b->nt, b->assign, err, errlen);
}

/* Every placement is -1 or a member that can run the task. */
static void assert_placements_valid(const batch *b)
{
    size_t t, k;
    for (t = 0; t < b->nt; t++) {
        int ok = b->assign[t] == -1;
        for (k = 0; !ok && k < b->t[t].can_run_count; k++)
            ok = b->assign[t] == (long)b->t[t].can_run[k];
        if (!ok)
            fail_msg("task %zu placed on %ld, which cannot run it", t, b->assign[t]);
    }
}

static size_t count_on(const batch *b, long member)
{
    size_t t, n = 0;
    for (t = 0; t < b->nt; t++)
        n += b->assign[t] == member;
    return n;
}

static int load(const char *cls, const char *dir, const ccoord__kvlist *params, logcap *cap,
                ccoord__resolver **r, char *err, size_t errlen)
{
    err[0] = '\0';
    return ccoord__resolver_load(cls, dir, params, cap ? cap_log : NULL, cap, r, err, errlen);
}

#define assert_contains(hay, needle)                                                        \
    do {                                                                                    \
        const char *h_ = (hay), *n_ = (needle);                                             \
        if (!strstr(h_, n_))                                                                \
            fail_msg("\"%s\" does not contain \"%s\"", h_, n_);                             \
    } while (0)

/* Loads plugin name from plugindir expecting a refusal with status want;
 * the message must name the file. */
static void expect_refusal(const char *name, int want, char *err, size_t errlen)
{
    ccoord__resolver *r = NULL;
    char file[64];
    int rc = load(name, plugindir, NULL, NULL, &r, err, errlen);
    if (rc != want)
        fail_msg("%s: got %s, want %s (%s)", name, ccoord_errname(rc), ccoord_errname(want), err);
    assert_null(r);
    snprintf(file, sizeof file, "/%s.so", name);
    assert_contains(err, plugindir);
    assert_contains(err, file);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

static void rm_tree(const char *dir)
{
    chmod(dir, 0700);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* 1 when dir and every directory above it pass the loader's rule (not
 * writable by group or others, unless sticky and owned by root or us). */
static int path_is_safe(const char *dir)
{
    char *real = realpath(dir, NULL), *slash;
    struct stat st;
    int safe = real != NULL;
    while (safe) {
        if (stat(real[0] ? real : "/", &st) != 0)
            safe = 0;
        else if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
                 (!(st.st_mode & S_ISVTX) || (st.st_uid != 0 && st.st_uid != geteuid())))
            safe = 0;
        slash = strrchr(real, '/');
        if (!real[0] || !slash)
            break;
        *slash = '\0';
    }
    free(real);
    return safe;
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out;
    assert_true(in >= 0);
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(out >= 0);
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(fchmod(out, mode), 0);
    assert_int_equal(close(out), 0);
}

static int group_setup(void **state)
{
    const char *pd = getenv("CCOORD_TEST_PLUGINDIR");
    char probe[PATH_MAX + 16];
    (void)state;
    snprintf(plugindir, sizeof plugindir, "%s", pd && *pd ? pd : "build/test/plugins");
    if (!realpath(plugindir, plugindir_abs)) {
        fprintf(stderr, "unit_resolver: plugin dir %s: %s (build with make tests; set "
                "CCOORD_TEST_PLUGINDIR)\n", plugindir, strerror(errno));
        return -1;
    }
    snprintf(probe, sizeof probe, "%s/t_good.so", plugindir);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr, "unit_resolver: %s missing (make tests)\n", probe);
        return -1;
    }
    snprintf(emptydir, sizeof emptydir, "%s/unit_resolver.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(emptydir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    ccoord__fail_alloc_after(-1);
    rm_tree(emptydir);
    return 0;
}

/* ---- the loader ------------------------------------------------------- */

static void test_resolver_good_loads_runs_unloads(void **state)
{
    ccoord__resolver *r = NULL;
    logcap cap = {0};
    char err[1024];
    static const size_t only12[] = {1, 2};
    batch b;
    (void)state;
    assert_int_equal(load("t_good", plugindir, NULL, &cap, &r, err, sizeof err), CCOORD_OK);
    assert_non_null(r);
    assert_string_equal(ccoord__resolver_name(r), "t_good");
    assert_string_equal(ccoord__resolver_version(r), "0.1");

    batch_init(&b, 3, 4);
    set_can_run(&b, 2, only12, 2);
    set_can_run(&b, 3, NULL, 0);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(b.assign[0], 0);
    assert_int_equal(b.assign[1], 0);
    assert_int_equal(b.assign[2], -1);
    assert_int_equal(b.assign[3], -1);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.level[0], CCOORD_LOG_INFO);
    assert_string_equal(cap.line[0], "t_good: placed 2 of 4 task(s)");

    /* an empty batch and a second pass on the same instance */
    assert_int_equal(ccoord__resolver_run(r, b.m, 0, b.t, 0, b.assign, err, sizeof err),
                     CCOORD_OK);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(b.assign[0], 0);
    assert_int_equal(cap.n, 3);
    batch_free(&b);
    ccoord__resolver_unload(r);
    ccoord__resolver_unload(NULL);
}

/* A plugin built for ABI 1.0 (its descriptor ends before rebalance)
 * loads and resolves under ABI 1.1, and the member past its size reads
 * as NULL: no rebalance, however the bytes after it look. */
static void test_resolver_abi_10_plugin_still_loads(void **state)
{
    ccoord__resolver *r = NULL;
    char err[1024];
    batch b;
    (void)state;
    assert_int_equal(load("t_abi10", plugindir, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
    assert_false(ccoord__resolver_can_rebalance(r));
    batch_init(&b, 2, 3);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(count_on(&b, 0), 3);
    b.t[0].owner = 0;
    assert_int_equal(ccoord__resolver_rebalance(r, b.m, b.nm, b.t, b.nt, b.assign, err,
                                                sizeof err), CCOORD_EPLUGIN);
    assert_contains(err, "no rebalance function");
    batch_free(&b);
    ccoord__resolver_unload(r);
}

static void test_resolver_good_loads_by_absolute_path(void **state)
{
    ccoord__resolver *r = NULL;
    char err[1024], path[PATH_MAX + 32];
    (void)state;
    snprintf(path, sizeof path, "%s/t_good.so", plugindir_abs);
    /* plugin_dir does not matter for a path */
    assert_int_equal(load(path, emptydir, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
    assert_string_equal(ccoord__resolver_name(r), "t_good");
    ccoord__resolver_unload(r);
}

static void test_resolver_refuses_abi_major(void **state)
{
    char err[1024];
    (void)state;
    expect_refusal("t_major2", CCOORD_EABI, err, sizeof err);
    assert_contains(err, "2.0");
    assert_contains(err, "1.0");
}

static void test_resolver_refuses_newer_minor(void **state)
{
    char err[1024], theirs[32], ours[32];
    (void)state;
    expect_refusal("t_newminor", CCOORD_EABI, err, sizeof err);
    snprintf(theirs, sizeof theirs, "%d.%d", CCOORD_RESOLVER_ABI_MAJOR,
             CCOORD_RESOLVER_ABI_MINOR + 1);
    snprintf(ours, sizeof ours, "%d.%d", CCOORD_RESOLVER_ABI_MAJOR, CCOORD_RESOLVER_ABI_MINOR);
    assert_contains(err, theirs);
    assert_contains(err, ours);
    assert_contains(err, "1.0");
}

static void test_resolver_refuses_small_descriptor(void **state)
{
    char err[1024];
    (void)state;
    expect_refusal("t_small", CCOORD_EABI, err, sizeof err);
    assert_contains(err, "1.0");
    assert_contains(err, "smaller");
}

static void test_resolver_refuses_missing_entry(void **state)
{
    char err[1024], abi[32];
    (void)state;
    expect_refusal("t_noentry", CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, CCOORD_RESOLVER_ENTRY_SYMBOL);
    snprintf(abi, sizeof abi, "ABI %d.%d", CCOORD_RESOLVER_ABI_MAJOR, CCOORD_RESOLVER_ABI_MINOR);
    assert_contains(err, abi);
}

static void test_resolver_refuses_null_resolve(void **state)
{
    char err[1024];
    (void)state;
    expect_refusal("t_nullresolve", CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, "resolve");
    assert_contains(err, "NULL");
}

static void test_resolver_refuses_name_mismatch(void **state)
{
    char err[1024];
    (void)state;
    expect_refusal("t_badname", CCOORD_EPLUGIN, err, sizeof err);
    assert_contains(err, "\"other\"");
    assert_contains(err, "\"t_badname\"");
}

static void test_resolver_refuses_missing_file(void **state)
{
    ccoord__resolver *r = NULL;
    char err[1024], path[PATH_MAX + 32];
    (void)state;
    expect_refusal("t_absent", CCOORD_EPLUGIN, err, sizeof err);
    /* the same by absolute path */
    snprintf(path, sizeof path, "%s/t_absent.so", plugindir_abs);
    assert_int_equal(load(path, NULL, NULL, NULL, &r, err, sizeof err), CCOORD_EPLUGIN);
    assert_null(r);
    assert_contains(err, path);
}

static void test_resolver_refuses_bad_names(void **state)
{
    static const char *const bad[] = {
        "",
        "t/good",
        "../t_good",
        "..",
        "./t_good",
        "T_good",
        "t-good",
        "t_good.so",
        "t_good\n",
        "build/test/plugins/t_good.so", /* relative path */
        "t_good/",
        JAVA "NoSuchResolver",
    };
    ccoord__resolver *r = NULL;
    char err[1024], path[PATH_MAX + 64];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = load(bad[i], plugindir, NULL, NULL, &r, err, sizeof err);
        if (rc != CCOORD_EPLUGIN)
            fail_msg("name \"%s\": got %s (%s)", bad[i], ccoord_errname(rc), err);
        assert_null(r);
        assert_contains(err, "allowed");
    }
    /* absolute paths: must end in .so and have no "." or ".." part */
    {
        const char *fmt[] = {"%s/t_good", "%s/t_good.sox", "%s/t_good.so.1", "%s/../plugins/t_good.so",
                             "%s/./t_good.so", "%s/.so"};
        for (i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
            int rc;
            snprintf(path, sizeof path, fmt[i], plugindir_abs);
            rc = load(path, plugindir, NULL, NULL, &r, err, sizeof err);
            if (rc != CCOORD_EPLUGIN)
                fail_msg("path \"%s\": got %s (%s)", path, ccoord_errname(rc), err);
            assert_null(r);
        }
    }
}

static void test_resolver_failed_init_leaves_nothing_loaded(void **state)
{
    ccoord__kvlist params = {0};
    ccoord__resolver *r = NULL;
    char err[1024], marker[PATH_MAX + 32];
    struct stat st;
    batch b;
    (void)state;
    snprintf(marker, sizeof marker, "%s/initfail.marker", emptydir);
    unlink(marker);
    assert_int_equal(ccoord__kvlist_set(&params, "marker", marker, "test.conf:3"), CCOORD_OK);
    assert_int_equal(load("t_initfail", plugindir, &params, NULL, &r, err, sizeof err),
                     CCOORD_ECONFIG);
    assert_null(r);
    assert_contains(err, "t_initfail.so");
    assert_contains(err, "init failed");
    assert_contains(err, "t_initfail always fails"); /* the plugin's own message */
    /* fini ran on the state init handed back */
    assert_int_equal(stat(marker, &st), 0);
    unlink(marker);

    /* init's status passes through only where the loader documents it;
     * anything else (CCOORD_EDB, CCOORD_ENOTFOUND, a positive value...) is
     * the plugin's failure */
    {
        static const struct {
            const char *status;
            int want;
        } map[] = {{"-2", CCOORD_ENOMEM}, {"-6", CCOORD_EABI}, {"-5", CCOORD_EPLUGIN},
                   {"-4", CCOORD_EPLUGIN}, {"-7", CCOORD_EPLUGIN}, {"-1", CCOORD_EPLUGIN},
                   {"1", CCOORD_EPLUGIN}, {"-999", CCOORD_EPLUGIN}};
        size_t i;
        for (i = 0; i < sizeof map / sizeof map[0]; i++) {
            int rc;
            assert_int_equal(ccoord__kvlist_set(&params, "status", map[i].status, "t"),
                             CCOORD_OK);
            rc = load("t_initfail", plugindir, &params, NULL, &r, err, sizeof err);
            if (rc != map[i].want)
                fail_msg("init returning %s: load gave %s, want %s", map[i].status,
                         ccoord_errname(rc), ccoord_errname(map[i].want));
            assert_null(r);
            assert_int_equal(stat(marker, &st), 0);
            unlink(marker);
        }
    }
    ccoord__kvlist_free(&params);

    /* the loader is usable afterwards */
    assert_int_equal(load("t_good", plugindir, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
    batch_init(&b, 2, 3);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(count_on(&b, 0), 3);
    batch_free(&b);
    ccoord__resolver_unload(r);
}

static void test_resolver_refuses_unlisted_key(void **state)
{
    ccoord__kvlist params = {0};
    ccoord__resolver *r = NULL;
    char err[1024];
    (void)state;
    assert_int_equal(ccoord__kvlist_set(&params, "alpha", "1", "test.conf:6"), CCOORD_OK);
    assert_int_equal(load("t_keys", plugindir, &params, NULL, &r, err, sizeof err), CCOORD_OK);
    ccoord__resolver_unload(r);
    r = NULL;

    assert_int_equal(ccoord__kvlist_set(&params, "beta", "2", "test.conf:7"), CCOORD_OK);
    assert_int_equal(load("t_keys", plugindir, &params, NULL, &r, err, sizeof err),
                     CCOORD_ECONFIG);
    assert_null(r);
    assert_contains(err, "beta");
    assert_contains(err, "test.conf:7");
    assert_contains(err, "allowed: alpha");
    ccoord__kvlist_free(&params);

    /* random takes no key at all */
    memset(&params, 0, sizeof params);
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", "a", "ccoord_config_set"),
                     CCOORD_OK);
    assert_int_equal(load("random", emptydir, &params, NULL, &r, err, sizeof err),
                     CCOORD_ECONFIG);
    assert_null(r);
    assert_contains(err, "task_nodes");
    assert_contains(err, "ccoord_config_set");
    ccoord__kvlist_free(&params);
}

static void test_resolver_refuses_placements_on_incapable_members(void **state)
{
    ccoord__resolver *r = NULL;
    logcap cap = {0};
    char err[1024], want[128];
    static const size_t on2[] = {2}, on13[] = {1, 3};
    batch b;
    size_t refused;
    (void)state;
    assert_int_equal(load("t_liar", plugindir, NULL, &cap, &r, err, sizeof err), CCOORD_OK);
    batch_init(&b, 4, 4);
    set_can_run(&b, 1, on2, 1);
    set_can_run(&b, 2, on13, 2);
    set_can_run(&b, 3, NULL, 0);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_placements_valid(&b);
    /* the valid first placement survived every refused attempt */
    assert_int_equal(b.assign[0], 0);
    assert_int_equal(b.assign[1], 2);
    assert_int_equal(b.assign[2], 1);
    assert_int_equal(b.assign[3], -1);
    /* 0+3+2+4 incapable members, 2 out-of-range per task, 1 bad task index */
    refused = (0 + 3 + 2 + 4) + 2 * 4 + 1;
    snprintf(want, sizeof want, "t_liar: refused %zu accepted 0", refused);
    assert_int_equal(cap.n, 1);
    assert_string_equal(cap.line[0], want);
    batch_free(&b);
    ccoord__resolver_unload(r);
}

static void test_resolver_failing_resolve_drops_placements(void **state)
{
    ccoord__resolver *r = NULL;
    char err[1024];
    batch b;
    size_t t;
    (void)state;
    assert_int_equal(load("t_fail", plugindir, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
    batch_init(&b, 3, 5);
    assert_int_not_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    for (t = 0; t < b.nt; t++)
        assert_int_equal(b.assign[t], -1);
    assert_contains(err, "t_fail");
    assert_contains(err, "CCOORD_EPLUGIN");
    batch_free(&b);
    ccoord__resolver_unload(r);
}

static void test_resolver_builtin_fallback(void **state)
{
    static const char *const stock[] = {"random", "roundrobin"};
    ccoord__resolver *r = NULL;
    char err[1024];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof stock / sizeof stock[0]; i++) {
        /* neither dir has <name>.so: the copy built into the library */
        assert_int_equal(load(stock[i], emptydir, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
        assert_string_equal(ccoord__resolver_name(r), stock[i]);
        ccoord__resolver_unload(r);
        assert_int_equal(load(stock[i], plugindir, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
        assert_string_equal(ccoord__resolver_name(r), stock[i]);
        ccoord__resolver_unload(r);
    }
    /* NULL resolver_class: the default, random */
    assert_int_equal(load(NULL, emptydir, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
    assert_string_equal(ccoord__resolver_name(r), "random");
    ccoord__resolver_unload(r);
}

static void test_resolver_java_aliases(void **state)
{
    static const char *const map[][2] = {
        {JAVA "ActivePassiveResolver", "random"},
        {JAVA "RoundRobinResolver", "roundrobin"},
        {JAVA "TaskNodeResolver", "tasknode"},
    };
    ccoord__kvlist params = {0};
    ccoord__resolver *r = NULL;
    char err[1024];
    size_t i;
    (void)state;
    for (i = 0; i < 3; i++) {
        const ccoord__kvlist *p = NULL;
        if (strcmp(map[i][1], "tasknode") == 0) {
            assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", "node-1", "t"), CCOORD_OK);
            p = &params;
        }
        assert_string_equal(ccoord__resolver_alias(map[i][0]), map[i][1]);
        assert_int_equal(load(map[i][0], emptydir, p, NULL, &r, err, sizeof err), CCOORD_OK);
        assert_string_equal(ccoord__resolver_name(r), map[i][1]);
        ccoord__resolver_unload(r);
    }
    ccoord__kvlist_free(&params);
}

static void test_resolver_refuses_writable_file_or_dir(void **state)
{
    ccoord__resolver *r = NULL;
    char up[PATH_MAX + 16], base[PATH_MAX], dir[PATH_MAX + 64], file[PATH_MAX + 96];
    char src[PATH_MAX + 32], err[2048], mode[16];
    (void)state;
    /* build/test: the parent of build/test/plugins */
    snprintf(up, sizeof up, "%s/..", plugindir_abs);
    assert_non_null(realpath(up, base));
    if (!path_is_safe(base)) {
        print_message("skipped: %s or a directory above it is writable by group or others\n",
                      base);
        skip();
    }
    snprintf(dir, sizeof dir, "%s/t_perm.XXXXXX", base);
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/t_good.so", dir);
    snprintf(src, sizeof src, "%s/t_good.so", plugindir_abs);

    /* file 0666 in an owner-only directory */
    copy_file(src, file, 0666);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(load("t_good", dir, NULL, NULL, &r, err, sizeof err), CCOORD_EPLUGIN);
    assert_null(r);
    assert_contains(err, file);
    assert_contains(err, "0666");
    assert_contains(err, "others");

    /* group-writable file */
    assert_int_equal(chmod(file, 0664), 0);
    assert_int_equal(load(file, NULL, NULL, NULL, &r, err, sizeof err), CCOORD_EPLUGIN);
    assert_contains(err, "0664");
    assert_contains(err, "group");

    /* a safe file in a world-writable directory */
    assert_int_equal(chmod(file, 0755), 0);
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(load("t_good", dir, NULL, NULL, &r, err, sizeof err), CCOORD_EPLUGIN);
    assert_null(r);
    assert_contains(err, dir);
    assert_contains(err, "0777");

    /* a sticky world-writable plugin directory (like /tmp) is still one
     * anybody can add <name>.so to: refused for the plugin's own directory */
    assert_int_equal(chmod(dir, 01777), 0);
    assert_int_equal(load("t_good", dir, NULL, NULL, &r, err, sizeof err), CCOORD_EPLUGIN);
    assert_null(r);
    snprintf(mode, sizeof mode, "%04o", 01777);
    assert_contains(err, mode);

    /* owner-only file and directory */
    assert_int_equal(chmod(file, 0700), 0);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(load("t_good", dir, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
    assert_string_equal(ccoord__resolver_name(r), "t_good");
    ccoord__resolver_unload(r);
    /* and the usual installed modes */
    assert_int_equal(chmod(file, 0644), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(load(file, NULL, NULL, NULL, &r, err, sizeof err), CCOORD_OK);
    ccoord__resolver_unload(r);
    rm_tree(dir);
}

/* ---- random ----------------------------------------------------------- */

static ccoord__resolver *load_ok(const char *name, const ccoord__kvlist *params, logcap *cap)
{
    ccoord__resolver *r = NULL;
    char err[1024];
    int rc = load(name, emptydir, params, cap, &r, err, sizeof err);
    if (rc != CCOORD_OK)
        fail_msg("load %s: %s: %s", name, ccoord_errname(rc), err);
    return r;
}

/* The member holding every placed task, or -1 when they are spread. */
static long single_member(const batch *b)
{
    size_t t;
    long m = -1;
    for (t = 0; t < b->nt; t++) {
        if (b->assign[t] < 0)
            return -1;
        if (m >= 0 && b->assign[t] != m)
            return -1;
        m = b->assign[t];
    }
    return m;
}

static void test_resolver_random_puts_all_tasks_on_one_member(void **state)
{
    char err[256];
    int trial, seen[4] = {0};
    (void)state;
    for (trial = 0; trial < 40; trial++) {
        ccoord__resolver *r = load_ok("random", NULL, NULL);
        batch b;
        long m;
        batch_init(&b, 4, 25);
        assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
        m = single_member(&b);
        assert_true(m >= 0 && m < 4);
        seen[m] = 1;
        batch_free(&b);
        ccoord__resolver_unload(r);
    }
    /* drawn at random: over 40 fresh instances more than one member wins
     * (fails with probability 4 * (1/4)^40) */
    assert_true(seen[0] + seen[1] + seen[2] + seen[3] > 1);
}

static void test_resolver_random_sticks_with_holder(void **state)
{
    char err[256];
    int trial;
    (void)state;
    for (trial = 0; trial < 10; trial++) {
        ccoord__resolver *r = load_ok("random", NULL, NULL);
        batch b;
        long first;
        size_t m;
        batch_init(&b, 5, 10);
        assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
        first = single_member(&b);
        assert_true(first >= 0);
        ccoord__resolver_unload(r);

        /* a new leader: a fresh instance, loads from the previous pass */
        r = load_ok("random", NULL, NULL);
        for (m = 0; m < b.nm; m++)
            b.m[m].load = count_on(&b, (long)m);
        assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
        assert_int_equal(single_member(&b), first);
        batch_free(&b);
        ccoord__resolver_unload(r);
    }
}

static void test_resolver_random_sends_incapable_task_elsewhere(void **state)
{
    static const size_t not1[] = {0, 2}, only2[] = {2};
    char err[256];
    ccoord__resolver *r = load_ok("random", NULL, NULL);
    batch b;
    (void)state;
    batch_init(&b, 3, 5);
    b.m[1].load = 7; /* member 1 is the cluster's node */
    set_can_run(&b, 1, not1, 2);
    set_can_run(&b, 2, not1, 2);
    set_can_run(&b, 3, only2, 1);
    set_can_run(&b, 4, NULL, 0);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_placements_valid(&b);
    assert_int_equal(b.assign[0], 1);
    assert_true(b.assign[1] == 0 || b.assign[1] == 2);
    assert_int_equal(b.assign[2], b.assign[1]); /* grouped on one other member */
    assert_int_equal(b.assign[3], 2);
    assert_int_equal(b.assign[4], -1);
    batch_free(&b);
    ccoord__resolver_unload(r);
}

/* ---- roundrobin ------------------------------------------------------- */

static void test_resolver_roundrobin_spreads_evenly(void **state)
{
    char err[256];
    ccoord__resolver *r = load_ok("roundrobin", NULL, NULL);
    batch b;
    long m;
    (void)state;
    batch_init(&b, 5, 1000);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    for (m = 0; m < 5; m++)
        assert_int_equal(count_on(&b, m), 200);
    batch_free(&b);
    ccoord__resolver_unload(r);
}

static void test_resolver_roundrobin_balances_given_loads(void **state)
{
    static const size_t only0[] = {0};
    char err[256];
    ccoord__resolver *r = load_ok("roundrobin", NULL, NULL);
    batch b;
    (void)state;
    batch_init(&b, 3, 15);
    b.m[0].load = 10;
    b.m[1].load = 0;
    b.m[2].load = 5;
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(count_on(&b, 0), 0);
    assert_int_equal(count_on(&b, 1), 10);
    assert_int_equal(count_on(&b, 2), 5);
    /* a task only the busiest member can run still goes there */
    batch_free(&b);
    batch_init(&b, 3, 1);
    b.m[0].load = 10;
    set_can_run(&b, 0, only0, 1);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(b.assign[0], 0);
    batch_free(&b);
    ccoord__resolver_unload(r);
}

static void test_resolver_roundrobin_waits_for_server_count(void **state)
{
    ccoord__kvlist params = {0};
    ccoord__resolver *r;
    logcap cap = {0};
    char err[256];
    batch b;
    (void)state;
    assert_int_equal(ccoord__kvlist_set(&params, "task_server_count", "3", "t"), CCOORD_OK);
    r = load_ok("roundrobin", &params, &cap);
    batch_init(&b, 2, 4);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(count_on(&b, -1), 4);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.level[0], CCOORD_LOG_INFO);
    assert_string_equal(cap.line[0],
                        "Waiting for 3 nodes to resolve the tasks. Only 2 node(s) available");
    batch_free(&b);

    batch_init(&b, 3, 6);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(count_on(&b, 0), 2);
    assert_int_equal(count_on(&b, 1), 2);
    assert_int_equal(count_on(&b, 2), 2);
    assert_int_equal(cap.n, 1);
    batch_free(&b);
    ccoord__resolver_unload(r);
    ccoord__kvlist_free(&params);
}

static void test_resolver_roundrobin_refuses_bad_server_count(void **state)
{
    static const char *const bad[] = {"abc", "0", "-1", "", " 3", "\t3", "3 ", "+3", "3x",
                                      "1000001", "99999999999999999999999"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccoord__kvlist params = {0};
        ccoord__resolver *r = NULL;
        char err[1024];
        int rc;
        assert_int_equal(ccoord__kvlist_set(&params, "task_server_count", bad[i], "t"),
                         CCOORD_OK);
        rc = load("roundrobin", emptydir, &params, NULL, &r, err, sizeof err);
        if (rc != CCOORD_ECONFIG)
            fail_msg("task_server_count = \"%s\": got %s", bad[i], ccoord_errname(rc));
        assert_null(r);
        assert_contains(err, "task_server_count");
        ccoord__kvlist_free(&params);
    }
}

static void test_resolver_roundrobin_large_batch(void **state)
{
    char err[256];
    ccoord__resolver *r = load_ok("roundrobin", NULL, NULL);
    struct timespec a, z;
    double secs;
    batch b;
    long m;
    (void)state;
    batch_init(&b, 100, 10000);
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    clock_gettime(CLOCK_MONOTONIC, &z);
    secs = (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9;
    print_message("roundrobin: 10000 tasks x 100 members in %.3f s\n", secs);
    for (m = 0; m < 100; m++)
        assert_int_equal(count_on(&b, m), 100);
    /* generous: valgrind included (natively a few milliseconds) */
    assert_true(secs < 60.0);
    batch_free(&b);
    ccoord__resolver_unload(r);
}

/* ---- tasknode --------------------------------------------------------- */

static void test_resolver_tasknode_uses_listed_live_members(void **state)
{
    static const size_t not12[] = {0, 3};
    ccoord__kvlist params = {0};
    ccoord__resolver *r;
    logcap cap = {0};
    char err[256];
    batch b;
    (void)state;
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", "node-1, node-2 ,node-7", "t"),
                     CCOORD_OK);
    r = load_ok("tasknode", &params, &cap);
    batch_init(&b, 4, 10);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(count_on(&b, 0), 0);
    assert_int_equal(count_on(&b, 1), 5);
    assert_int_equal(count_on(&b, 2), 5);
    assert_int_equal(count_on(&b, 3), 0);
    assert_int_equal(cap.n, 0);
    batch_free(&b);

    /* a task no listed node can run stays unassigned, with a warning */
    batch_init(&b, 4, 2);
    set_can_run(&b, 1, not12, 2);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_true(b.assign[0] == 1 || b.assign[0] == 2);
    assert_int_equal(b.assign[1], -1);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.level[0], CCOORD_LOG_WARN);
    batch_free(&b);
    ccoord__resolver_unload(r);
    ccoord__kvlist_free(&params);
}

static void test_resolver_tasknode_none_live_warns(void **state)
{
    ccoord__kvlist params = {0};
    ccoord__resolver *r;
    logcap cap = {0};
    char err[256];
    batch b;
    (void)state;
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", "node-8,node-9", "t"), CCOORD_OK);
    r = load_ok("tasknode", &params, &cap);
    batch_init(&b, 3, 4);
    assert_int_equal(run(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(count_on(&b, -1), 4);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.level[0], CCOORD_LOG_WARN);
    assert_contains(cap.line[0], "node-8,node-9");
    assert_contains(cap.line[0], "4 task(s)");
    batch_free(&b);
    ccoord__resolver_unload(r);
    ccoord__kvlist_free(&params);
}

static void test_resolver_tasknode_refuses_bad_lists(void **state)
{
    static const char *const bad[] = {"", " ", "node-1,,node-2", "node-1,", ",node-1", " , "};
    ccoord__resolver *r = NULL;
    char err[1024];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ccoord__kvlist params = {0};
        int rc;
        assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", bad[i], "t"), CCOORD_OK);
        rc = load("tasknode", emptydir, &params, NULL, &r, err, sizeof err);
        if (rc != CCOORD_ECONFIG)
            fail_msg("task_nodes = \"%s\": got %s", bad[i], ccoord_errname(rc));
        assert_null(r);
        assert_contains(err, "task_nodes");
        ccoord__kvlist_free(&params);
    }
    /* missing: mandatory */
    assert_int_equal(load("tasknode", emptydir, NULL, NULL, &r, err, sizeof err), CCOORD_ECONFIG);
    assert_null(r);
    assert_contains(err, "task_nodes");
}

/* ---- allocation failures ---------------------------------------------- */

/* ---- rebalancing (ABI 1.1) ------------------------------------------------ */

static int rebalance(ccoord__resolver *r, batch *b, char *err, size_t errlen)
{
    return ccoord__resolver_rebalance(r, b->m, b->nm, b->t, b->nt, b->assign, err, errlen);
}

/* Where each task is after the moves the plugin asked for. */
static size_t count_after(const batch *b, long member)
{
    size_t t, n = 0;
    for (t = 0; t < b->nt; t++)
        n += (b->assign[t] >= 0 ? b->assign[t] : b->t[t].owner) == member;
    return n;
}

static size_t moves(const batch *b)
{
    size_t t, n = 0;
    for (t = 0; t < b->nt; t++)
        n += b->assign[t] >= 0;
    return n;
}

/* 12 tasks on the first of 3 members: 8 move, counts end 4/4/4; a
 * balanced cluster moves nothing; a task only its owner registered
 * stays; random has no rebalance(). */
static void test_resolver_roundrobin_rebalances_to_even_counts(void **state)
{
    static const size_t only0[] = {0};
    char err[256];
    ccoord__resolver *r = load_ok("roundrobin", NULL, NULL), *rnd;
    batch b;
    size_t t;
    (void)state;
    assert_true(ccoord__resolver_can_rebalance(r));
    batch_init(&b, 3, 12);
    for (t = 0; t < 12; t++)
        b.t[t].owner = 0;
    assert_int_equal(rebalance(r, &b, err, sizeof err), CCOORD_OK);
    assert_placements_valid(&b);
    assert_int_equal(moves(&b), 8);
    assert_int_equal(count_after(&b, 0), 4);
    assert_int_equal(count_after(&b, 1), 4);
    assert_int_equal(count_after(&b, 2), 4);
    /* as it ends: nothing more to move */
    for (t = 0; t < 12; t++)
        b.t[t].owner = b.assign[t] >= 0 ? b.assign[t] : b.t[t].owner;
    assert_int_equal(rebalance(r, &b, err, sizeof err), CCOORD_OK);
    assert_int_equal(moves(&b), 0);
    batch_free(&b);

    /* 7 tasks: counts differ by one at most (3/2/2); tasks only member 0
     * registered stay there */
    batch_init(&b, 3, 7);
    for (t = 0; t < 7; t++)
        b.t[t].owner = 0;
    set_can_run(&b, 0, only0, 1);
    set_can_run(&b, 1, only0, 1);
    assert_int_equal(rebalance(r, &b, err, sizeof err), CCOORD_OK);
    assert_placements_valid(&b);
    assert_int_equal(b.assign[0], -1);
    assert_int_equal(b.assign[1], -1);
    assert_int_equal(count_after(&b, 0), 3);
    assert_int_equal(count_after(&b, 1), 2);
    assert_int_equal(count_after(&b, 2), 2);
    batch_free(&b);
    ccoord__resolver_unload(r);

    rnd = load_ok("random", NULL, NULL);
    assert_false(ccoord__resolver_can_rebalance(rnd));
    batch_init(&b, 2, 1);
    b.t[0].owner = 0;
    assert_int_equal(rebalance(rnd, &b, err, sizeof err), CCOORD_EPLUGIN);
    assert_contains(err, "no rebalance function");
    batch_free(&b);
    ccoord__resolver_unload(rnd);
}

/* tasknode: a task on a member that is not a task node moves to one;
 * the task nodes end even. */
static void test_resolver_tasknode_rebalances_onto_task_nodes(void **state)
{
    ccoord__kvlist params = {0};
    ccoord__resolver *r;
    char err[256];
    batch b;
    size_t t;
    (void)state;
    assert_int_equal(ccoord__kvlist_set(&params, "task_nodes", "node-1,node-2", "t"), CCOORD_OK);
    r = load_ok("tasknode", &params, NULL);
    batch_init(&b, 3, 6);
    for (t = 0; t < 6; t++)
        b.t[t].owner = t < 2 ? 0 : 1; /* two on node-0, not a task node */
    assert_int_equal(rebalance(r, &b, err, sizeof err), CCOORD_OK);
    assert_placements_valid(&b);
    assert_int_equal(count_after(&b, 0), 0);
    assert_int_equal(count_after(&b, 1), 3);
    assert_int_equal(count_after(&b, 2), 3);
    batch_free(&b);
    ccoord__resolver_unload(r);
    ccoord__kvlist_free(&params);
}

static void test_resolver_alloc_failures(void **state)
{
    long n;
    int done = 0;
    (void)state;
    for (n = 0; n < 1000 && !done; n++) {
        ccoord__resolver *r = NULL;
        logcap cap = {0};
        char err[1024];
        batch b;
        size_t t;
        int rc;
        batch_init(&b, 2, 3);
        ccoord__fail_alloc_after(n);
        rc = load("t_good", plugindir, NULL, &cap, &r, err, sizeof err);
        if (rc != CCOORD_OK) {
            ccoord__fail_alloc_after(-1);
            if (rc != CCOORD_ENOMEM)
                fail_msg("after %ld allocations: load gave %s (%s)", n, ccoord_errname(rc), err);
            assert_null(r);
            batch_free(&b);
            continue;
        }
        rc = run(r, &b, err, sizeof err);
        ccoord__fail_alloc_after(-1);
        if (rc != CCOORD_OK) {
            /* the plugin's CCOORD_ENOMEM, reported as a plugin failure */
            assert_int_equal(rc, CCOORD_EPLUGIN);
            assert_contains(err, "CCOORD_ENOMEM");
            for (t = 0; t < b.nt; t++)
                assert_int_equal(b.assign[t], -1);
        } else {
            assert_int_equal(count_on(&b, 0), 3);
            done = 1;
        }
        ccoord__resolver_unload(r);
        batch_free(&b);
    }
    assert_true(done);
    /* it took failures in the loader and in the plugin (mem_alloc) */
    assert_true(n > 3);

    /* the key refusal's message under allocation failure */
    for (n = 0, done = 0; n < 1000 && !done; n++) {
        ccoord__kvlist params = {0};
        ccoord__resolver *r = NULL;
        char err[1024];
        int rc;
        assert_int_equal(ccoord__kvlist_set(&params, "beta", "2", "test.conf:7"), CCOORD_OK);
        ccoord__fail_alloc_after(n);
        rc = load("t_keys", plugindir, &params, NULL, &r, err, sizeof err);
        ccoord__fail_alloc_after(-1);
        assert_null(r);
        if (rc == CCOORD_ECONFIG) {
            assert_contains(err, "allowed: alpha");
            done = 1;
        } else if (rc != CCOORD_ENOMEM) {
            fail_msg("after %ld allocations: load gave %s (%s)", n, ccoord_errname(rc), err);
        }
        ccoord__kvlist_free(&params);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolver_good_loads_runs_unloads),
        cmocka_unit_test(test_resolver_good_loads_by_absolute_path),
        cmocka_unit_test(test_resolver_abi_10_plugin_still_loads),
        cmocka_unit_test(test_resolver_refuses_abi_major),
        cmocka_unit_test(test_resolver_refuses_newer_minor),
        cmocka_unit_test(test_resolver_refuses_small_descriptor),
        cmocka_unit_test(test_resolver_refuses_missing_entry),
        cmocka_unit_test(test_resolver_refuses_null_resolve),
        cmocka_unit_test(test_resolver_refuses_name_mismatch),
        cmocka_unit_test(test_resolver_refuses_missing_file),
        cmocka_unit_test(test_resolver_refuses_bad_names),
        cmocka_unit_test(test_resolver_failed_init_leaves_nothing_loaded),
        cmocka_unit_test(test_resolver_refuses_unlisted_key),
        cmocka_unit_test(test_resolver_refuses_placements_on_incapable_members),
        cmocka_unit_test(test_resolver_failing_resolve_drops_placements),
        cmocka_unit_test(test_resolver_builtin_fallback),
        cmocka_unit_test(test_resolver_java_aliases),
        cmocka_unit_test(test_resolver_refuses_writable_file_or_dir),
        cmocka_unit_test(test_resolver_random_puts_all_tasks_on_one_member),
        cmocka_unit_test(test_resolver_random_sticks_with_holder),
        cmocka_unit_test(test_resolver_random_sends_incapable_task_elsewhere),
        cmocka_unit_test(test_resolver_roundrobin_spreads_evenly),
        cmocka_unit_test(test_resolver_roundrobin_balances_given_loads),
        cmocka_unit_test(test_resolver_roundrobin_waits_for_server_count),
        cmocka_unit_test(test_resolver_roundrobin_refuses_bad_server_count),
        cmocka_unit_test(test_resolver_roundrobin_large_batch),
        cmocka_unit_test(test_resolver_tasknode_uses_listed_live_members),
        cmocka_unit_test(test_resolver_tasknode_none_live_warns),
        cmocka_unit_test(test_resolver_tasknode_refuses_bad_lists),
        cmocka_unit_test(test_resolver_roundrobin_rebalances_to_even_counts),
        cmocka_unit_test(test_resolver_tasknode_rebalances_onto_task_nodes),
        cmocka_unit_test(test_resolver_alloc_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
