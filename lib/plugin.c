/*
 * lib/plugin.c: loading resolver plugins (dlopen) and running a batch.
 *
 * Rules (clustercoord-resolver(7)): only the plugin the configuration
 * names is loaded, never a directory scan; dlopen(RTLD_NOW | RTLD_LOCAL);
 * the descriptor is checked (entry symbol, ABI major and minor, size,
 * mandatory functions, name) and copied into a zeroed local so members
 * appended after the plugin was built read as NULL; files and directories
 * writable by group or others are refused; a failed init leaves nothing
 * loaded.
 */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* The stock resolvers, also built into the library (Makefile). */
const ccoord_resolver_ops *ccoord__builtin_random_entry(void);
const ccoord_resolver_ops *ccoord__builtin_roundrobin_entry(void);
const ccoord_resolver_ops *ccoord__builtin_tasknode_entry(void);

static const struct builtin {
    const char *name;
    ccoord_resolver_entry_fn entry;
} builtins[] = {
    {"random", ccoord__builtin_random_entry},
    {"roundrobin", ccoord__builtin_roundrobin_entry},
    {"tasknode", ccoord__builtin_tasknode_entry},
};

/* Size of the ABI 1.0 layout: a plugin's descriptor must reach fini. */
#define OPS_MIN_SIZE (offsetof(ccoord_resolver_ops, fini) + sizeof(void (*)(void *)))

struct ccoord_resolver_batch {
    const ccoord__batch_member *members;
    size_t member_count;
    const ccoord__batch_task *tasks;
    size_t task_count;
    long *assign;
};

struct ccoord__resolver {
    void *handle; /* NULL for a built-in */
    char *path;   /* file, or "built into libclustercoord" */
    ccoord_resolver_ops ops;
    void *state;
    ccoord__kvlist params; /* a copy: a plugin abandoned in resolve outlives the node */
    pthread_mutex_t log_mu; /* log_fn and log_ctx, cut by ccoord__resolver_orphan */
    ccoord__log_fn log_fn;
    void *log_ctx;
    ccoord_resolver_host host;
};

/* ---- host services ----------------------------------------------------- */

/* Through the library's allocator, so that allocation-failure tests reach
 * the plugin's error paths too (ccoord__fail_alloc_after). */
static void *h_alloc(size_t n)
{
    return ccoord__malloc(n ? n : 1);
}

static void h_free(void *p)
{
    ccoord__free_mem(p);
}

static void h_log(void *ctx, int level, const char *msg)
{
    ccoord__resolver *r = ctx;
    pthread_mutex_lock(&r->log_mu);
    if (r->log_fn && msg)
        r->log_fn(r->log_ctx, level, msg);
    pthread_mutex_unlock(&r->log_mu);
}

static int h_config_get(void *ctx, const char *key, const char **ret)
{
    ccoord__resolver *r = ctx;
    const ccoord__kv *kv;
    if (!key || !ret)
        return CCOORD_EINVAL;
    kv = ccoord__kvlist_find(&r->params, key);
    if (!kv)
        return CCOORD_ENOTFOUND;
    *ret = kv->value;
    return CCOORD_OK;
}

static size_t h_member_count(const ccoord_resolver_batch *b)
{
    return b->member_count;
}

static const char *h_member_id(const ccoord_resolver_batch *b, size_t m)
{
    return m < b->member_count ? b->members[m].id : NULL;
}

static const char *h_member_hostname(const ccoord_resolver_batch *b, size_t m)
{
    return m < b->member_count ? b->members[m].hostname : NULL;
}

static const char *h_member_metadata(const ccoord_resolver_batch *b, size_t m)
{
    return m < b->member_count ? b->members[m].metadata : NULL;
}

static size_t h_member_load(const ccoord_resolver_batch *b, size_t m)
{
    return m < b->member_count ? b->members[m].load : 0;
}

static size_t h_task_count(const ccoord_resolver_batch *b)
{
    return b->task_count;
}

static const char *h_task_name(const ccoord_resolver_batch *b, size_t t)
{
    return t < b->task_count ? b->tasks[t].name : NULL;
}

static int h_task_can_run(const ccoord_resolver_batch *b, size_t t, size_t m)
{
    size_t lo = 0, hi;
    const size_t *v;
    if (t >= b->task_count || m >= b->member_count)
        return 0;
    v = b->tasks[t].can_run;
    hi = b->tasks[t].can_run_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == m)
            return 1;
        if (v[mid] < m)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int h_assign(ccoord_resolver_batch *b, size_t t, size_t m)
{
    if (!b || !h_task_can_run(b, t, m))
        return CCOORD_EINVAL;
    b->assign[t] = (long)m;
    return CCOORD_OK;
}

static long h_task_owner(const ccoord_resolver_batch *b, size_t t)
{
    return t < b->task_count ? b->tasks[t].owner : -1;
}

static void host_table(ccoord_resolver_host *h)
{
    memset(h, 0, sizeof *h);
    h->struct_size = sizeof *h;
    h->abi_major = CCOORD_RESOLVER_ABI_MAJOR;
    h->abi_minor = CCOORD_RESOLVER_ABI_MINOR;
    h->mem_alloc = h_alloc;
    h->mem_free = h_free;
    h->log_msg = h_log;
    h->config_get = h_config_get;
    h->member_count = h_member_count;
    h->member_id = h_member_id;
    h->member_hostname = h_member_hostname;
    h->member_metadata = h_member_metadata;
    h->member_load = h_member_load;
    h->task_count = h_task_count;
    h->task_name = h_task_name;
    h->task_can_run = h_task_can_run;
    h->assign = h_assign;
    h->task_owner = h_task_owner;
}

/* ---- loading ------------------------------------------------------------ */

/* Walks from the file in p (an absolute path, modified) up to /, refusing
 * anything writable by group or others.  A directory with the sticky bit
 * owned by root or by this process's user (such as /tmp) is accepted on
 * the way up, above the plugin's own directory: others may add entries
 * there but cannot replace or rename ours.  The plugin's own directory
 * gets no such exception: there another user could add <name>.so of their
 * own (even for a stock name, which would otherwise fall back to the
 * built-in). */
static int walk_up(const char *path, char *p, char *err, size_t errlen)
{
    struct stat st;
    char *slash;
    int depth = 0; /* 0: the file, 1: its directory, 2+: above */
    for (;;) {
        const char *what = p[0] ? p : "/";
        if (stat(what, &st) != 0) {
            ccoord__fmt(err, errlen, "cannot stat %s: %s", what, strerror(errno));
            return CCOORD_EPLUGIN;
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
            (depth < 2 || !(st.st_mode & S_ISVTX) || (st.st_uid != 0 && st.st_uid != geteuid()))) {
            ccoord__fmt(err, errlen,
                        "refusing %s: %s is writable by %s (mode %04o); allowed: a file and "
                        "directories writable only by their owner",
                        path, what, (st.st_mode & S_IWOTH) ? "others" : "its group",
                        (unsigned)(st.st_mode & 07777));
            return CCOORD_EPLUGIN;
        }
        depth++;
        if (!p[0] || strcmp(p, "/") == 0)
            return CCOORD_OK;
        slash = strrchr(p, '/');
        if (!slash)
            return CCOORD_OK;
        while (slash > p && slash[-1] == '/') /* "a//b" */
            slash--;
        if (slash == p)
            p[1] = '\0'; /* "/" last */
        else
            *slash = '\0';
    }
}

/* Refuses a plugin that another user could change or swap (walk_up): the
 * file and every directory on its real path, and also every directory on
 * the path as written, which holds any symbolic link on the way (a link
 * in a world-writable directory could be pointed elsewhere).  On
 * CCOORD_OK *ret_real is the checked real path (free()), which is what
 * gets opened, so a link cannot be switched between check and dlopen. */
static int check_perms(const char *path, char **ret_real, char *err, size_t errlen)
{
    char *real = realpath(path, NULL), *copy = NULL, *lex = NULL;
    int rc;
    if (!real) {
        ccoord__fmt(err, errlen, "cannot resolve %s: %s", path, strerror(errno));
        return CCOORD_EPLUGIN;
    }
    copy = ccoord__strdup(real);
    if (path[0] == '/') {
        lex = ccoord__strdup(path);
    } else {
        char *cwd = getcwd(NULL, 0);
        size_t n = cwd ? strlen(cwd) + strlen(path) + 2 : 0;
        lex = cwd ? ccoord__malloc(n) : NULL;
        if (lex)
            snprintf(lex, n, "%s/%s", cwd, path);
        if (!cwd) {
            ccoord__fmt(err, errlen, "resolver %s: cannot read the working directory: %s", path,
                        strerror(errno));
            free(copy);
            free(real);
            return CCOORD_EPLUGIN;
        }
        free(cwd);
    }
    if (!copy || !lex) {
        rc = CCOORD_ENOMEM;
    } else {
        rc = walk_up(path, real, err, errlen);
        if (!rc)
            rc = walk_up(path, lex, err, errlen);
    }
    free(real);
    free(lex);
    if (rc)
        free(copy);
    else
        *ret_real = copy;
    return rc;
}

/* 1 when path does not exist (so a stock name may fall back to its
 * built-in copy); any other failure to look (EACCES...) is not absence. */
static int absent(const char *path)
{
    struct stat st;
    return lstat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

static const char *base_of(const char *path, char *out, size_t outlen)
{
    const char *b = strrchr(path, '/');
    size_t n;
    b = b ? b + 1 : path;
    n = strlen(b);
    if (n > 3 && strcmp(b + n - 3, ".so") == 0)
        n -= 3;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, b, n);
    out[n] = '\0';
    return out;
}

/* Checks and copies the descriptor. */
static int take_ops(ccoord__resolver *r, const ccoord_resolver_ops *ops, const char *want_name,
                    char *err, size_t errlen)
{
    if (!ops) {
        ccoord__fmt(err, errlen, "resolver %s: %s() returned NULL", r->path,
                    CCOORD_RESOLVER_ENTRY_SYMBOL);
        return CCOORD_EPLUGIN;
    }
    if (ops->abi_major != CCOORD_RESOLVER_ABI_MAJOR || ops->abi_minor > CCOORD_RESOLVER_ABI_MINOR) {
        /* "1.0" while there is one minor, "1.0 to 1.3" once there are more */
        char range[48];
        if (CCOORD_RESOLVER_ABI_MINOR == 0)
            ccoord__fmt(range, sizeof range, "%d.0", CCOORD_RESOLVER_ABI_MAJOR);
        else
            ccoord__fmt(range, sizeof range, "%d.0 to %d.%d", CCOORD_RESOLVER_ABI_MAJOR,
                        CCOORD_RESOLVER_ABI_MAJOR, CCOORD_RESOLVER_ABI_MINOR);
        ccoord__fmt(err, errlen,
                    "resolver %s was built for resolver ABI %u.%u; this library supports %s",
                    r->path, ops->abi_major, ops->abi_minor, range);
        return CCOORD_EABI;
    }
    if (ops->struct_size < OPS_MIN_SIZE) {
        ccoord__fmt(err, errlen,
                    "resolver %s: descriptor is %zu bytes, smaller than the ABI %d.0 layout "
                    "(%zu bytes)",
                    r->path, ops->struct_size, CCOORD_RESOLVER_ABI_MAJOR, (size_t)OPS_MIN_SIZE);
        return CCOORD_EABI;
    }
    memset(&r->ops, 0, sizeof r->ops);
    memcpy(&r->ops, ops, ops->struct_size < sizeof r->ops ? ops->struct_size : sizeof r->ops);
    if (!r->ops.init || !r->ops.resolve || !r->ops.fini) {
        ccoord__fmt(err, errlen, "resolver %s: mandatory function %s is NULL", r->path,
                    !r->ops.init ? "init" : !r->ops.resolve ? "resolve" : "fini");
        return CCOORD_EPLUGIN;
    }
    if (!r->ops.name || !ccoord__is_ident(r->ops.name) || strcmp(r->ops.name, want_name) != 0) {
        char shown[80];
        ccoord__printable(shown, sizeof shown, r->ops.name ? r->ops.name : "(null)", 60);
        ccoord__fmt(err, errlen,
                    "resolver %s: descriptor name \"%s\" does not match the file name \"%s\"",
                    r->path, shown, want_name);
        return CCOORD_EPLUGIN;
    }
    if (!r->ops.version)
        r->ops.version = "";
    return CCOORD_OK;
}

/* Every [task_resolver] key must be one the plugin lists. */
static int check_keys(ccoord__resolver *r, char *err, size_t errlen)
{
    size_t i, k;
    if (!r->ops.config_keys)
        return CCOORD_OK;
    for (i = 0; i < r->params.count; i++) {
        const ccoord__kv *kv = &r->params.items[i];
        int known = 0;
        for (k = 0; r->ops.config_keys[k]; k++)
            if (strcmp(r->ops.config_keys[k], kv->key) == 0)
                known = 1;
        if (!known) {
            ccoord__buf allowed;
            ccoord__buf_init(&allowed);
            for (k = 0; r->ops.config_keys[k]; k++)
                ccoord__buf_addf(&allowed, "%s%s", k ? ", " : "", r->ops.config_keys[k]);
            if (allowed.oom) {
                ccoord__buf_free(&allowed);
                return CCOORD_ENOMEM;
            }
            ccoord__fmt(err, errlen,
                        "%s: task_resolver.%s = %s: resolver %s takes no such key; allowed: %s",
                        kv->origin && *kv->origin ? kv->origin : "config", kv->key, kv->value,
                        r->ops.name, allowed.len ? allowed.data : "(none)");
            ccoord__buf_free(&allowed);
            return CCOORD_ECONFIG;
        }
    }
    return CCOORD_OK;
}

/* Where the resolver named by name is: path (the .so file), want (the
 * name its descriptor must carry) and *bi (the built-in copy of a stock
 * resolver, or NULL). */
static int locate(const char *name, const char *plugin_dir, char *path, size_t pathlen,
                  char *want, size_t wantlen, const struct builtin **bi, char *err,
                  size_t errlen)
{
    size_t i, n = strlen(name);
    *bi = NULL;
    if (name[0] == '/') {
        if (n < 4 || strcmp(name + n - 3, ".so") != 0 || strstr(name, "/../") ||
            strstr(name, "/./")) {
            ccoord__fmt(err, errlen,
                        "resolver path %s: allowed: an absolute path to a .so file without "
                        "\"..\" or \".\" components",
                        name);
            return CCOORD_EPLUGIN;
        }
        ccoord__fmt(path, pathlen, "%s", name);
        base_of(name, want, wantlen);
        return CCOORD_OK;
    }
    if (!ccoord__is_ident(name)) {
        char shown[120];
        ccoord__printable(shown, sizeof shown, name, 100);
        ccoord__fmt(err, errlen,
                    "resolver name \"%s\" is not valid; allowed: a plain name of [a-z0-9_] "
                    "(looked up in plugin_dir), an absolute path to a .so file, or one of "
                    "the reference's resolver class names",
                    shown);
        return CCOORD_EPLUGIN;
    }
    ccoord__fmt(want, wantlen, "%s", name);
    ccoord__fmt(path, pathlen, "%s/%s.so", plugin_dir && *plugin_dir ? plugin_dir : ".", name);
    for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0)
            *bi = &builtins[i];
    return CCOORD_OK;
}

/* 1 when the file starts with the ELF magic. */
static int is_elf(const char *path)
{
    unsigned char m[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(m, 1, sizeof m, f) : 0;
    if (f)
        fclose(f);
    return got == 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F';
}

/* Checks the file's permissions, dlopens it and calls its entry
 * function: *ret_ops is its descriptor. */
static int open_file(ccoord__resolver *r, const char *name, const char *path,
                     const ccoord_resolver_ops **ret_ops, char *err, size_t errlen)
{
    ccoord_resolver_entry_fn entry;
    char *real = NULL;
    const char *de;
    int rc;
    if (access(path, F_OK) != 0) {
        ccoord__fmt(err, errlen, "resolver %s: %s: %s", name, path, strerror(errno));
        return CCOORD_EPLUGIN;
    }
    if ((rc = check_perms(path, &real, err, errlen)))
        return rc;
    dlerror();
    r->handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    free(real);
    if (!r->handle) {
        de = dlerror();
        if (!is_elf(path))
            ccoord__fmt(err, errlen, "resolver %s: not a shared object (no ELF header; build "
                        "the plugin with cc -shared -fPIC)", path);
        else if (de && strstr(de, "cannot open shared object file"))
            ccoord__fmt(err, errlen, "resolver %s: dlopen failed: %s (a library it needs is "
                        "missing; check with: ldd %s)", path, de, path);
        else
            ccoord__fmt(err, errlen, "resolver %s: dlopen failed: %s", path,
                        de ? de : "unknown error");
        return CCOORD_EPLUGIN;
    }
    dlerror();
    *(void **)&entry = dlsym(r->handle, CCOORD_RESOLVER_ENTRY_SYMBOL);
    if (!entry) {
        de = dlerror();
        ccoord__fmt(err, errlen, "resolver %s exports no %s() (expected resolver ABI %d.%d): %s",
                    path, CCOORD_RESOLVER_ENTRY_SYMBOL, CCOORD_RESOLVER_ABI_MAJOR,
                    CCOORD_RESOLVER_ABI_MINOR, de ? de : "symbol not found");
        return CCOORD_EPLUGIN;
    }
    *ret_ops = entry();
    return CCOORD_OK;
}

/* The plugin's init; on failure its fini, and its message in err. */
static int init_plugin(ccoord__resolver *r, char *err, size_t errlen)
{
    char *perr = NULL, shown[600];
    int rc = r->ops.init(&r->host, r, &r->state, &perr);
    if (rc == CCOORD_OK) {
        free(perr);
        return CCOORD_OK;
    }
    ccoord__printable(shown, sizeof shown, perr ? perr : "no detail", 500);
    ccoord__fmt(err, errlen, "resolver %s (%s): init failed: %s", r->ops.name, r->path, shown);
    free(perr);
    r->ops.fini(r->state); /* it must accept NULL */
    r->state = NULL;
    /* only the statuses ccoord__resolver_load (and so ccoord_node_new)
     * documents pass through; anything else is the plugin's failure */
    return rc == CCOORD_ECONFIG || rc == CCOORD_ENOMEM || rc == CCOORD_EABI ? rc : CCOORD_EPLUGIN;
}

/* dlclose and free, no fini. */
static void resolver_destroy(ccoord__resolver *r)
{
    if (r->handle)
        dlclose(r->handle);
    ccoord__kvlist_free(&r->params);
    pthread_mutex_destroy(&r->log_mu);
    free(r->path);
    free(r);
}

int ccoord__resolver_load(const char *resolver_class, const char *plugin_dir,
                          const ccoord__kvlist *params, ccoord__log_fn log_fn, void *log_ctx,
                          ccoord__resolver **ret, char *err, size_t errlen)
{
    ccoord__resolver *r;
    const char *name = ccoord__resolver_alias(resolver_class ? resolver_class : "random");
    const ccoord_resolver_ops *ops = NULL;
    char want[128], path[4096];
    const struct builtin *bi;
    int builtin, rc = locate(name, plugin_dir, path, sizeof path, want, sizeof want, &bi, err,
                             errlen);
    if (rc)
        return rc;
    if (!(r = ccoord__calloc(1, sizeof *r)))
        return CCOORD_ENOMEM;
    pthread_mutex_init(&r->log_mu, NULL);
    r->log_fn = log_fn;
    r->log_ctx = log_ctx;
    host_table(&r->host);
    builtin = bi && absent(path);
    r->path = ccoord__strdup(builtin ? "built into libclustercoord" : path);
    if (!r->path || (params && ccoord__kvlist_copy(&r->params, params) != CCOORD_OK)) {
        resolver_destroy(r);
        return CCOORD_ENOMEM;
    }
    if (builtin)
        ops = bi->entry();
    else
        rc = open_file(r, name, path, &ops, err, errlen);
    if (!rc)
        rc = take_ops(r, ops, want, err, errlen);
    if (!rc)
        rc = check_keys(r, err, errlen);
    if (!rc)
        rc = init_plugin(r, err, errlen);
    if (!rc) {
        *ret = r;
        return CCOORD_OK;
    }
    resolver_destroy(r);
    return rc;
}

void ccoord__resolver_unload(ccoord__resolver *r)
{
    if (!r)
        return;
    r->ops.fini(r->state);
    resolver_destroy(r);
}

void ccoord__resolver_orphan(ccoord__resolver *r)
{
    pthread_mutex_lock(&r->log_mu);
    r->log_fn = NULL;
    r->log_ctx = NULL;
    pthread_mutex_unlock(&r->log_mu);
}

const char *ccoord__resolver_name(const ccoord__resolver *r)
{
    return r ? r->ops.name : "(none)";
}

const char *ccoord__resolver_path(const ccoord__resolver *r)
{
    return r ? r->path : "";
}

const char *ccoord__resolver_version(const ccoord__resolver *r)
{
    return r ? r->ops.version : "";
}

/* One call of resolve() or rebalance() over a batch. */
static int run_batch(ccoord__resolver *r, int (*fn)(void *, ccoord_resolver_batch *),
                     const char *fname, const ccoord__batch_member *members,
                     size_t member_count, const ccoord__batch_task *tasks, size_t task_count,
                     long *ret_assign, char *err, size_t errlen)
{
    ccoord_resolver_batch b;
    size_t t;
    int rc;
    for (t = 0; t < task_count; t++)
        ret_assign[t] = -1;
    b.members = members;
    b.member_count = member_count;
    b.tasks = tasks;
    b.task_count = task_count;
    b.assign = ret_assign;
    rc = fn(r->state, &b);
    if (rc != CCOORD_OK) {
        for (t = 0; t < task_count; t++)
            ret_assign[t] = -1;
        ccoord__fmt(err, errlen, "resolver %s (%s): %s returned %s", r->ops.name, r->path,
                    fname, ccoord_errname(rc));
        return CCOORD_EPLUGIN;
    }
    return CCOORD_OK;
}

int ccoord__resolver_run(ccoord__resolver *r, const ccoord__batch_member *members,
                         size_t member_count, const ccoord__batch_task *tasks, size_t task_count,
                         long *ret_assign, char *err, size_t errlen)
{
    return run_batch(r, r->ops.resolve, "resolve", members, member_count, tasks, task_count,
                     ret_assign, err, errlen);
}

int ccoord__resolver_can_rebalance(const ccoord__resolver *r)
{
    return r && r->ops.rebalance != NULL;
}

int ccoord__resolver_rebalance(ccoord__resolver *r, const ccoord__batch_member *members,
                               size_t member_count, const ccoord__batch_task *tasks,
                               size_t task_count, long *ret_assign, char *err, size_t errlen)
{
    size_t t;
    int rc;
    if (!r->ops.rebalance) {
        ccoord__fmt(err, errlen, "resolver %s (%s) has no rebalance function", r->ops.name,
                    r->path);
        return CCOORD_EPLUGIN;
    }
    rc = run_batch(r, r->ops.rebalance, "rebalance", members, member_count, tasks, task_count,
                   ret_assign, err, errlen);
    for (t = 0; !rc && t < task_count; t++)
        if (ret_assign[t] == tasks[t].owner)
            ret_assign[t] = -1;
    return rc;
}
