/*
 * test_leastloaded.c: tests the leastloaded plugin, built against the
 * installed library with pkg-config only (see the Makefile).
 *
 *   test_leastloaded PLUGIN_DIR DBDIR
 *
 * Part 1 loads PLUGIN_DIR/leastloaded.so with dlopen, as the library does,
 * and drives it through a hand-made host table and batch: exact placements
 * (least load, counting this pass's placements, ties by join order,
 * who-can-run-what, both settings, refused settings).
 *
 * Part 2 forms a three-node cluster in this process on a SQLite file in
 * DBDIR, with resolver_class = leastloaded from PLUGIN_DIR and
 * min_members = 3, and checks that tasks spread by least load:
 *   a1..a6 registered on every node        -> 2 / 2 / 2
 *   node-1 unregisters its two tasks       -> 0 / 2 / 2 (those two stay
 *                                             unassigned: 2 < min_members)
 *   c1..c3 registered on every node        -> 3 / 2 / 2, all c* on node-1
 *                                             (least loaded, then the tie
 *                                             at 2/2/2 goes to the first
 *                                             joined)
 * Whatever passes the leader splits the registrations into, greedy least
 * load gives these counts, so the test is deterministic.
 *
 * Exit status 0 when every check passed.
 */
#include <clustercoord.h>
#include <clustercoord/resolver.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "test_leastloaded:%d: FAILED: %s: ", __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fputc('\n', stderr);                                          \
            failures++;                                                   \
        }                                                                 \
    } while (0)

/* ---- part 1: the plugin through a hand-made host ------------------------ */

#define MAXN 8

struct ccoord_resolver_batch {
    size_t nm, nt;
    size_t load[MAXN];
    unsigned char can[MAXN][MAXN]; /* [task][member] */
    long assign[MAXN];
};

static const char *fake_keys[4], *fake_values[4];

static void *f_alloc(size_t n) { return malloc(n); }
static void f_free(void *p) { free(p); }
static void f_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    (void)msg;
}
static int f_config(void *ctx, const char *key, const char **ret)
{
    int i;
    (void)ctx;
    for (i = 0; fake_keys[i]; i++)
        if (!strcmp(fake_keys[i], key)) {
            *ret = fake_values[i];
            return CCOORD_OK;
        }
    return CCOORD_ENOTFOUND;
}
static size_t f_mcount(const ccoord_resolver_batch *b) { return b->nm; }
static const char *f_mid(const ccoord_resolver_batch *b, size_t m)
{
    static const char *ids[MAXN] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"};
    (void)b;
    return ids[m];
}
static const char *f_empty(const ccoord_resolver_batch *b, size_t m)
{
    (void)b;
    (void)m;
    return "";
}
static size_t f_load(const ccoord_resolver_batch *b, size_t m) { return b->load[m]; }
static size_t f_tcount(const ccoord_resolver_batch *b) { return b->nt; }
static const char *f_tname(const ccoord_resolver_batch *b, size_t t)
{
    static const char *names[MAXN] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};
    (void)b;
    return names[t];
}
static int f_can(const ccoord_resolver_batch *b, size_t t, size_t m)
{
    return t < b->nt && m < b->nm && b->can[t][m];
}
static int f_assign(ccoord_resolver_batch *b, size_t t, size_t m)
{
    if (!f_can(b, t, m))
        return CCOORD_EINVAL;
    b->assign[t] = (long)m;
    return CCOORD_OK;
}

/* every task of a resolve() batch is unassigned (ABI 1.1) */
static long f_owner(const ccoord_resolver_batch *b, size_t t)
{
    (void)b;
    (void)t;
    return -1;
}

/* Designated initializers: the host table grows at the end with each ABI
 * minor, and a positional list would miss the new members. */
static const ccoord_resolver_host fake_host = {
    .struct_size = sizeof fake_host,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .mem_alloc = f_alloc,
    .mem_free = f_free,
    .log_msg = f_log,
    .config_get = f_config,
    .member_count = f_mcount,
    .member_id = f_mid,
    .member_hostname = f_empty,
    .member_metadata = f_empty,
    .member_load = f_load,
    .task_count = f_tcount,
    .task_name = f_tname,
    .task_can_run = f_can,
    .assign = f_assign,
    .task_owner = f_owner,
};

/* batch of nm members with loads, nt tasks every member can run. */
static void batch_init(ccoord_resolver_batch *b, size_t nm, const size_t *loads, size_t nt)
{
    size_t t, m;
    memset(b, 0, sizeof *b);
    b->nm = nm;
    b->nt = nt;
    for (m = 0; m < nm; m++)
        b->load[m] = loads[m];
    for (t = 0; t < nt; t++) {
        b->assign[t] = -1;
        for (m = 0; m < nm; m++)
            b->can[t][m] = 1;
    }
}

static void set_config(const char *k1, const char *v1, const char *k2, const char *v2)
{
    memset(fake_keys, 0, sizeof fake_keys);
    fake_keys[0] = k1, fake_values[0] = v1;
    fake_keys[1] = k2, fake_values[1] = v2;
}

/* init + resolve + fini; compares the placements with want[]. */
static void run_case(const ccoord_resolver_ops *ops, const char *what, ccoord_resolver_batch *b,
                     const long *want)
{
    void *state = NULL;
    char *err = NULL, got[64] = "", exp[64] = "";
    size_t t;
    int rc = ops->init(&fake_host, NULL, &state, &err);
    CHECK(rc == CCOORD_OK, "%s: init: %d %s", what, rc, err ? err : "");
    free(err);
    if (rc != CCOORD_OK)
        return;
    rc = ops->resolve(state, b);
    CHECK(rc == CCOORD_OK, "%s: resolve returned %d", what, rc);
    for (t = 0; t < b->nt; t++) {
        snprintf(got + strlen(got), sizeof got - strlen(got), " %ld", b->assign[t]);
        snprintf(exp + strlen(exp), sizeof exp - strlen(exp), " %ld", want[t]);
    }
    CHECK(strcmp(got, exp) == 0, "%s: placements%s, expected%s", what, got, exp);
    printf("  %-58s ->%s\n", what, got);
    ops->fini(state);
}

static void refused(const ccoord_resolver_ops *ops, const char *key, const char *value)
{
    void *state = NULL;
    char *err = NULL;
    int rc;
    set_config(key, value, NULL, NULL);
    rc = ops->init(&fake_host, NULL, &state, &err);
    CHECK(rc == CCOORD_ECONFIG, "%s = '%s' accepted (rc %d)", key, value, rc);
    CHECK(err && strstr(err, key), "%s = '%s': message '%s' does not name the key", key, value,
          err ? err : "(none)");
    if (rc == CCOORD_ECONFIG)
        printf("  refused: %s\n", err ? err : "(no message)");
    free(err);
    if (rc == CCOORD_OK)
        ops->fini(state);
}

static int part1(const char *plugin_dir)
{
    char path[4096];
    void *dl;
    ccoord_resolver_entry_fn entry;
    const ccoord_resolver_ops *ops;
    ccoord_resolver_batch b;
    int keys = 0;

    snprintf(path, sizeof path, "%s/leastloaded.so", plugin_dir);
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "test_leastloaded: dlopen: %s\n", dlerror());
        return -1;
    }
    entry = (ccoord_resolver_entry_fn)(void (*)(void))dlsym(dl, CCOORD_RESOLVER_ENTRY_SYMBOL);
    CHECK(entry != NULL, "%s exports no %s", path, CCOORD_RESOLVER_ENTRY_SYMBOL);
    if (!entry) {
        dlclose(dl);
        return -1;
    }
    ops = entry();
    printf("part 1: %s: %s %s, ABI %u.%u\n", path, ops->name, ops->version, ops->abi_major,
           ops->abi_minor);
    CHECK(!strcmp(ops->name, "leastloaded"), "name %s", ops->name);
    CHECK(ops->abi_major == CCOORD_RESOLVER_ABI_MAJOR, "ABI major %u", ops->abi_major);
    CHECK(ops->struct_size >= sizeof *ops, "struct_size %zu", ops->struct_size);
    CHECK(ops->init && ops->resolve && ops->fini, "a mandatory function is NULL");
    for (; ops->config_keys && ops->config_keys[keys]; keys++)
        ;
    CHECK(keys == 2, "%d config keys", keys);

    {
        static const size_t loads[] = {1, 0, 0};
        static const long want[] = {1, 2, 0, 1, 2};
        set_config(NULL, NULL, NULL, NULL);
        batch_init(&b, 3, loads, 5);
        run_case(ops, "loads 1/0/0, 5 tasks: least load, this pass counted", &b, want);
    }
    {
        static const size_t loads[] = {0, 0, 0};
        static const long want[] = {0, 2, 1};
        batch_init(&b, 3, loads, 3);
        b.can[0][1] = 0;                 /* t0: m0 or m2 */
        b.can[1][0] = b.can[1][1] = 0;   /* t1: m2 only */
        run_case(ops, "ties by join order, only members that can run it", &b, want);
    }
    {
        static const size_t loads[] = {5, 0, 0};
        static const long want[] = {-1, 0};
        set_config("min_members", "2", NULL, NULL);
        batch_init(&b, 3, loads, 2);
        b.can[0][0] = b.can[0][2] = 0; /* t0: m1 only: 1 < min_members */
        b.can[1][2] = 0;               /* t1: m0, m1 */
        b.can[1][1] = 1;
        b.load[1] = 7;
        run_case(ops, "min_members = 2", &b, want);
    }
    {
        static const size_t loads[] = {1, 0, 0};
        static const long want[] = {1, 2, -1};
        set_config("max_tasks_per_node", "1", "min_members", "1");
        batch_init(&b, 3, loads, 3);
        run_case(ops, "max_tasks_per_node = 1", &b, want);
    }
    refused(ops, "min_members", "0");
    refused(ops, "min_members", "three");
    refused(ops, "max_tasks_per_node", "-1");
    refused(ops, "max_tasks_per_node", "");
    dlclose(dl);
    return 0;
}

/* ---- part 2: a three-node cluster through the library ------------------- */

#define NODES 3

static ccoord_node *nodes[NODES];

static void quiet_log(ccoord_node *n, int level, const char *msg, void *ud)
{
    (void)ud;
    if (level <= CCOORD_LOG_WARN || strstr(msg, "resolver") || strstr(msg, "leastloaded"))
        fprintf(stderr, "  [%s] %s\n", ccoord_node_id(n), msg);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Which node owns task now (-1 none, -2 more than one). */
static int owner_of(const char *task)
{
    int i, who = -1;
    for (i = 0; i < NODES; i++)
        if (nodes[i] && ccoord_acquire_task(nodes[i], task, NULL) == CCOORD_OK)
            who = who == -1 ? i : -2;
    return who;
}

static size_t owned_count(int i)
{
    char **names;
    size_t n = 0;
    if (ccoord_owned_tasks(nodes[i], &names, &n) != CCOORD_OK)
        return (size_t)-1;
    ccoord_free_list(names, n);
    return n;
}

/* Waits (at most 20 s) until every task in names has exactly one owner. */
static int wait_owned(const char *const *names, size_t count)
{
    long long deadline = now_ms() + 20000;
    for (;;) {
        size_t k, ok = 0;
        for (k = 0; k < count; k++)
            ok += owner_of(names[k]) >= 0;
        if (ok == count)
            return 0;
        if (now_ms() > deadline) {
            for (k = 0; k < count; k++)
                fprintf(stderr, "  %s: owner %d\n", names[k], owner_of(names[k]));
            return -1;
        }
        sleep_ms(20);
    }
}

static int set(ccoord_config *cfg, const char *section, const char *key, const char *value)
{
    int rc = ccoord_config_set(cfg, section, key, value);
    if (rc != CCOORD_OK)
        fprintf(stderr, "test_leastloaded: %s\n", ccoord_config_error(cfg));
    return rc;
}

static int make_node(int i, const char *plugin_dir, const char *dbdir)
{
    ccoord_config *cfg;
    char id[16];
    int rc;
    snprintf(id, sizeof id, "node-%d", i + 1);
    if (ccoord_config_new(&cfg) != CCOORD_OK)
        return -1;
    rc = set(cfg, "cluster_config", "node_id", id);
    if (!rc)
        rc = set(cfg, "cluster_config", "heartbeat_interval", "100");
    if (!rc)
        rc = set(cfg, "datasource", "dbdir", dbdir);
    if (!rc)
        rc = set(cfg, "datasource", "dbname", "leastloaded.db");
    if (!rc)
        rc = set(cfg, "task_handling", "resolver_class", "leastloaded");
    if (!rc)
        rc = set(cfg, "task_handling", "plugin_dir", plugin_dir);
    if (!rc)
        rc = set(cfg, "task_handling", "resolving_period", "1");
    if (!rc)
        rc = set(cfg, "task_resolver", "min_members", "3");
    if (!rc) {
        rc = ccoord_node_new(cfg, &nodes[i]);
        if (rc)
            fprintf(stderr, "test_leastloaded: ccoord_node_new: %s: %s\n", ccoord_strerror(rc),
                    ccoord_config_error(cfg));
    }
    ccoord_config_free(cfg);
    if (rc)
        return -1;
    ccoord_on_log(nodes[i], quiet_log, NULL);
    return 0;
}

static void print_loads(const char *what)
{
    printf("  %-44s node-1=%zu node-2=%zu node-3=%zu\n", what, owned_count(0), owned_count(1),
           owned_count(2));
}

static int part2(const char *plugin_dir, const char *dbdir)
{
    static const char *const a[] = {"a1", "a2", "a3", "a4", "a5", "a6"};
    static const char *const c[] = {"c1", "c2", "c3"};
    char **mine = NULL;
    size_t nmine = 0, k;
    long long deadline;
    int i, rc;

    printf("part 2: three nodes, resolver_class = leastloaded, plugin_dir = %s\n", plugin_dir);
    for (i = 0; i < NODES; i++)
        if (make_node(i, plugin_dir, dbdir) < 0)
            return -1;
    for (i = 0; i < NODES; i++) {
        rc = ccoord_join(nodes[i]);
        if (rc != CCOORD_OK) {
            fprintf(stderr, "test_leastloaded: join node-%d: %s: %s\n", i + 1,
                    ccoord_strerror(rc), ccoord_errmsg(nodes[i]));
            return -1;
        }
    }
    deadline = now_ms() + 20000;
    for (i = 0; i < NODES; i++) {
        char **ids;
        size_t n = 0;
        while (ccoord_members(nodes[i], &ids, &n) == CCOORD_OK) {
            ccoord_free_list(ids, n);
            if (n == NODES || now_ms() > deadline)
                break;
            sleep_ms(20);
        }
        CHECK(n == NODES, "node-%d sees %zu members", i + 1, n);
    }
    if (failures)
        return -1;

    /* a1..a6 on every node: nothing is placed before all three can run it. */
    for (k = 0; k < 6; k++)
        for (i = 0; i < NODES; i++)
            if (ccoord_task_register(nodes[i], a[k]) != CCOORD_OK)
                return -1;
    CHECK(wait_owned(a, 6) == 0, "a1..a6 not all owned within 20 s");
    print_loads("a1..a6 registered on all nodes:");
    for (i = 0; i < NODES; i++)
        CHECK(owned_count(i) == 2, "node-%d owns %zu of a1..a6, expected 2", i + 1,
              owned_count(i));

    /* node-1 gives its two tasks up; two capable members < min_members. */
    if (ccoord_owned_tasks(nodes[0], &mine, &nmine) != CCOORD_OK)
        return -1;
    for (k = 0; k < nmine; k++)
        CHECK(ccoord_task_unregister(nodes[0], mine[k]) == CCOORD_OK, "unregister %s", mine[k]);
    deadline = now_ms() + 20000;
    while (owned_count(0) != 0 && now_ms() < deadline)
        sleep_ms(20);
    sleep_ms(1500); /* more than one resolving_period: give it a chance to misplace */
    print_loads("node-1 unregistered its tasks:");
    CHECK(owned_count(0) == 0, "node-1 still owns %zu tasks", owned_count(0));
    for (k = 0; k < nmine; k++)
        CHECK(owner_of(mine[k]) == -1, "%s (only 2 capable < min_members 3) is owned by node %d",
              mine[k], owner_of(mine[k]) + 1);

    /* c1..c3 on every node: 0/2/2 -> all three go to node-1. */
    for (k = 0; k < 3; k++)
        for (i = 0; i < NODES; i++)
            if (ccoord_task_register(nodes[i], c[k]) != CCOORD_OK)
                return -1;
    CHECK(wait_owned(c, 3) == 0, "c1..c3 not all owned within 20 s");
    print_loads("c1..c3 registered on all nodes:");
    for (k = 0; k < 3; k++)
        CHECK(owner_of(c[k]) == 0, "%s is on node %d, expected node-1 (least loaded, first "
              "joined on the tie)", c[k], owner_of(c[k]) + 1);
    CHECK(owned_count(0) == 3 && owned_count(1) == 2 && owned_count(2) == 2,
          "loads %zu/%zu/%zu, expected 3/2/2", owned_count(0), owned_count(1), owned_count(2));
    ccoord_free_list(mine, nmine);
    return 0;
}

int main(int argc, char **argv)
{
    int i, rc;
    if (argc != 3) {
        fprintf(stderr, "usage: test_leastloaded PLUGIN_DIR DBDIR\n");
        return 2;
    }
    printf("test_leastloaded: libclustercoord %s (headers %s)\n", ccoord_version(),
           CCOORD_VERSION_STRING);
    rc = part1(argv[1]);
    if (rc == 0 && !failures)
        rc = part2(argv[1], argv[2]);
    for (i = NODES - 1; i >= 0; i--)
        ccoord_node_free(nodes[i]);
    if (rc < 0 && !failures)
        failures++;
    printf("test_leastloaded: %s\n", failures ? "FAILED" : "PASS");
    return failures ? 1 : 0;
}
