/*
 * tools/ccoordctl.c: ccoordctl(1), an operator's view of a cluster and
 * its few levers, from the coordination database alone: it reads the same
 * configuration as the nodes and works while every node is down.
 *
 *   ccoordctl [-c FILE | --mi FILE] [--set SECTION.KEY=VALUE]... [--json]
 *             [--watch MS] [--wait MS] COMMAND [ARGUMENT]...
 *
 *   members   id, host, join order, heartbeat counter, whether the counter
 *             moved during a short watch, drained, the leader flag
 *   leader    the leader and its term
 *   tasks     name, owner, fence, state, where it is being moved, the last
 *             slot its schedule fired and how many, the nodes that
 *             registered it
 *   status    all of the above
 *   pause TASK | resume TASK | complete TASK   as ccoord_task_pause(3)...
 *   drain NODE | undrain NODE   the node gives its tasks up and gets no new
 *             ones / may get tasks again
 *   move TASK NODE   the task's owner gives it up, the leader places it on
 *             NODE
 *   (--wait MS: drain and move wait until the handover is done)
 *
 * Exit status: 0 done, 1 not found or refused, 2 usage or configuration,
 * 3 database error.  It links the library's internals (the static
 * archive), so its SQL is the library's own (lib/rows.c).
 */
#include "config.h"
#include "cron.h"
#include "db.h"
#include "rows.h"
#include "taskstate.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EX_DONE = 0, EX_REFUSED = 1, EX_USAGE = 2, EX_DB = 3 };

typedef struct opts {
    int json;
    long watch_ms; /* -1: one heartbeat interval and a half */
    long wait_ms;  /* drain, move: how long to wait for the handover; 0 not */
} opts;

static void usage(FILE *f)
{
    fputs("usage: ccoordctl [-c FILE | --mi FILE] [--set SECTION.KEY=VALUE]... [--json]\n"
          "                 [--watch MS] [--wait MS] COMMAND [ARGUMENT]...\n"
          "commands: members, leader, tasks, status, pause TASK, resume TASK, complete TASK,\n"
          "          drain NODE, undrain NODE, move TASK NODE\n"
          "see ccoordctl(1)\n",
          f);
}

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("ccoordctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* ---- JSON and text output ----------------------------------------------- */

static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_str_or_null(const char *s)
{
    if (s && *s)
        json_str(s);
    else
        fputs("null", stdout);
}

/* ---- reading the cluster ------------------------------------------------ */

typedef struct view {
    ccoord__poll poll;
    ccoord__member *m;
    size_t count;
    signed char *moved; /* per member: 1 moved, 0 did not, -1 not watched */
    long watched_ms;
} view;

static int read_view(ccoord__db *db, long watch_ms, view *v)
{
    ccoord__member *again = NULL;
    size_t n2 = 0, i, k;
    int rc;
    memset(v, 0, sizeof *v);
    rc = ccoord__row_poll(db, &v->poll);
    if (!rc)
        rc = ccoord__row_members_read(db, -1, &v->m, &v->count);
    if (rc)
        return rc;
    v->moved = calloc(v->count + 1, 1);
    if (!v->moved)
        return CCOORD_ENOMEM;
    memset(v->moved, -1, v->count + 1);
    v->watched_ms = watch_ms;
    if (watch_ms <= 0 || !v->count)
        return CCOORD_OK;
    ccoord__sleep_ns((int64_t)watch_ms * 1000000);
    rc = ccoord__row_members_read(db, -1, &again, &n2);
    if (rc)
        return rc;
    for (i = 0; i < v->count; i++) {
        v->moved[i] = 0; /* gone meanwhile counts as not moved */
        for (k = 0; k < n2; k++)
            if (strcmp(again[k].id, v->m[i].id) == 0)
                v->moved[i] = again[k].incarnation != v->m[i].incarnation ||
                              again[k].heartbeat != v->m[i].heartbeat;
    }
    ccoord__members_free(again, n2);
    return CCOORD_OK;
}

static void view_free(view *v)
{
    ccoord__members_free(v->m, v->count);
    free(v->moved);
}

static const char *leader_of(const view *v)
{
    return v->poll.have_leader_row && v->poll.lnode[0] ? v->poll.lnode : NULL;
}

static void print_members(const view *v, int json)
{
    size_t i, w = 2, hw = 4;
    const char *lead = leader_of(v);
    if (json) {
        fputs("[", stdout);
        for (i = 0; i < v->count; i++) {
            const ccoord__member *m = &v->m[i];
            printf("%s{\"id\":", i ? "," : "");
            json_str(m->id);
            fputs(",\"host\":", stdout);
            json_str(m->hostname);
            printf(",\"joined_seq\":%lld,\"incarnation\":%lld,\"heartbeat\":%lld,\"moved\":%s,"
                   "\"watched_ms\":%ld,\"drained\":%s,\"leader\":%s}",
                   m->joined_seq, m->incarnation, m->heartbeat,
                   v->moved[i] < 0 ? "null" : v->moved[i] ? "true" : "false", v->watched_ms,
                   m->drained ? "true" : "false",
                   lead && strcmp(lead, m->id) == 0 ? "true" : "false");
        }
        fputs("]", stdout);
        return;
    }
    for (i = 0; i < v->count; i++) {
        if (strlen(v->m[i].id) > w)
            w = strlen(v->m[i].id);
        if (strlen(v->m[i].hostname) > hw)
            hw = strlen(v->m[i].hostname);
    }
    printf("%-*s  %-*s  %6s  %10s  %-22s  %-7s  %s\n", (int)w, "ID", (int)hw, "HOST", "JOINED",
           "HEARTBEAT", "MOVED", "DRAINED", "LEADER");
    for (i = 0; i < v->count; i++) {
        const ccoord__member *m = &v->m[i];
        char moved[48];
        if (v->moved[i] < 0)
            snprintf(moved, sizeof moved, "-");
        else
            snprintf(moved, sizeof moved, "%s in %ld ms", v->moved[i] ? "yes" : "NO",
                     v->watched_ms);
        printf("%-*s  %-*s  %6lld  %10lld  %-22s  %-7s  %s\n", (int)w, m->id, (int)hw,
               m->hostname, m->joined_seq, m->heartbeat, moved, m->drained ? "yes" : "",
               lead && strcmp(lead, m->id) == 0 ? "yes" : "");
    }
}

static void print_leader(const view *v, int json)
{
    const char *lead = leader_of(v);
    if (json) {
        fputs("{\"id\":", stdout);
        json_str_or_null(lead);
        printf(",\"term\":%lld,\"heartbeat\":%lld}", v->poll.lterm, v->poll.lhb);
    } else if (lead) {
        printf("%s (term %lld, leader heartbeat %lld)\n", lead, v->poll.lterm, v->poll.lhb);
    } else {
        printf("none (term %lld ended)\n", v->poll.lterm);
    }
}

typedef struct task_row {
    char *name, *owner, *state, *move_to; /* owner, move_to: "" for none */
    char **nodes; /* the nodes that registered it */
    size_t nnodes;
    long long epoch;
    long long last_slot, fires; /* its schedule: the last slot fired (-1 none), how many */
} task_row;

static void tasks_free(task_row *t, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].owner);
        free(t[i].state);
        free(t[i].move_to);
        ccoord_free_list(t[i].nodes, t[i].nnodes);
    }
    free(t);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* Appends node to t's registrations. */
static int add_node(task_row *t, const char *node)
{
    char **x = realloc(t->nodes, (t->nnodes + 1) * sizeof *x);
    if (!x)
        return CCOORD_ENOMEM;
    t->nodes = x;
    if (!(x[t->nnodes] = strdup(node)))
        return CCOORD_ENOMEM;
    t->nnodes++;
    return CCOORD_OK;
}

/* The tasks, by name as the database sorts them, each with the nodes
 * that registered it (matched by name through a map: the database's
 * collation need not sort as strcmp does). */
static int read_tasks(ccoord__db *db, task_row **ret, size_t *ret_count)
{
    dbi_result r;
    task_row *t = NULL;
    ccoord__map *index = ccoord__map_new(); /* name -> row index + 1 */
    size_t n = 0, cap = 0;
    int rc = index ? ccoord__row_tasks_all(db, &r) : CCOORD_ENOMEM;
    if (rc) {
        ccoord__map_free(index, NULL);
        return rc;
    }
    while (!rc && dbi_result_next_row(r)) {
        task_row *x = t;
        if (n == cap && !(x = realloc(t, (cap = cap ? 2 * cap : 16) * sizeof *t))) {
            rc = CCOORD_ENOMEM;
            break;
        }
        t = x;
        memset(&t[n], 0, sizeof t[n]);
        t[n].name = dup_or_empty(ccoord__res_str(r, 1));
        t[n].owner = dup_or_empty(ccoord__res_str(r, 2));
        t[n].epoch = ccoord__res_ll(r, 3);
        t[n].state = dup_or_empty(ccoord__res_str(r, 4));
        t[n].move_to = dup_or_empty(ccoord__res_null(r, 5) ? NULL : ccoord__res_str(r, 5));
        t[n].last_slot = ccoord__res_null(r, 6) ? -1 : ccoord__res_ll(r, 6);
        t[n].fires = ccoord__res_ll(r, 7);
        n++;
        if (!t[n - 1].name || !t[n - 1].owner || !t[n - 1].state || !t[n - 1].move_to ||
            ccoord__map_put(index, t[n - 1].name, (void *)(uintptr_t)n, NULL))
            rc = CCOORD_ENOMEM;
    }
    dbi_result_free(r);
    if (!rc)
        rc = ccoord__row_registrations_all(db, &r);
    if (!rc) {
        while (!rc && dbi_result_next_row(r)) {
            const char *name = ccoord__res_str(r, 1), *node = ccoord__res_str(r, 2);
            uintptr_t k = name && node ? (uintptr_t)ccoord__map_get(index, name) : 0;
            if (k)
                rc = add_node(&t[k - 1], node);
        }
        dbi_result_free(r);
    }
    ccoord__map_free(index, NULL);
    if (rc) {
        tasks_free(t, n);
        return rc;
    }
    *ret = t;
    *ret_count = n;
    return CCOORD_OK;
}

static void print_tasks(const task_row *t, size_t n, int json)
{
    size_t i, k, w = 4, ow = 5, mw = 9;
    if (json) {
        fputs("[", stdout);
        for (i = 0; i < n; i++) {
            printf("%s{\"name\":", i ? "," : "");
            json_str(t[i].name);
            fputs(",\"owner\":", stdout);
            json_str_or_null(t[i].owner);
            printf(",\"fence\":%lld,\"state\":", t[i].epoch);
            json_str(t[i].state);
            fputs(",\"move_to\":", stdout);
            json_str_or_null(t[i].move_to);
            if (t[i].last_slot >= 0)
                printf(",\"last_slot\":%lld", t[i].last_slot);
            else
                fputs(",\"last_slot\":null", stdout);
            printf(",\"fires\":%lld", t[i].fires);
            fputs(",\"registered\":[", stdout);
            for (k = 0; k < t[i].nnodes; k++) {
                if (k)
                    putchar(',');
                json_str(t[i].nodes[k]);
            }
            fputs("]}", stdout);
        }
        fputs("]", stdout);
        return;
    }
    for (i = 0; i < n; i++) {
        if (strlen(t[i].name) > w)
            w = strlen(t[i].name);
        if (strlen(t[i].owner) > ow)
            ow = strlen(t[i].owner);
        if (strlen(t[i].move_to) > mw)
            mw = strlen(t[i].move_to);
    }
    printf("%-*s  %-*s  %8s  %-9s  %-*s  %-24s  %s\n", (int)w, "NAME", (int)ow, "OWNER",
           "FENCE", "STATE", (int)mw, "MOVING TO", "LAST SLOT (FIRES)", "REGISTERED");
    for (i = 0; i < n; i++) {
        char slot[64] = "-";
        if (t[i].last_slot >= 0) {
            ccoord__civil c;
            ccoord__utc_to_civil(t[i].last_slot / 1000, &c);
            snprintf(slot, sizeof slot, "%04d-%02d-%02dT%02d:%02d:%02dZ (%lld)", c.year % 10000,
                     c.month % 100, c.day % 100, c.hour % 100, c.min % 100, c.sec % 100,
                     t[i].fires);
        }
        printf("%-*s  %-*s  %8lld  %-9s  %-*s  %-24s  ", (int)w, t[i].name, (int)ow,
               *t[i].owner ? t[i].owner : "-", t[i].epoch, t[i].state, (int)mw,
               *t[i].move_to ? t[i].move_to : "-", slot);
        for (k = 0; k < t[i].nnodes; k++)
            printf("%s%s", k ? "," : "", t[i].nodes[k]);
        puts(t[i].nnodes ? "" : "-");
    }
}

/* ---- commands ------------------------------------------------------------ */

static int db_failed(ccoord__db *db)
{
    return fail(EX_DB, "database: %s", db->err);
}

static int cmd_view(ccoord__db *db, const ccoord__settings *s, const char *cmd, const opts *o)
{
    view v;
    task_row *t = NULL;
    size_t nt = 0;
    int want_members = !strcmp(cmd, "members") || !strcmp(cmd, "status");
    int want_tasks = !strcmp(cmd, "tasks") || !strcmp(cmd, "status");
    long watch = want_members ? o->watch_ms : 0;
    int rc = read_view(db, watch, &v);
    if (!rc && want_tasks)
        rc = read_tasks(db, &t, &nt);
    if (rc) {
        view_free(&v);
        if (rc == CCOORD_ENOMEM)
            return fail(EX_DB, "out of memory");
        return fail(EX_DB, "database: %s (is this the cluster's database, with table_prefix %s? "
                    "nodes create the tables when they join)", db->err, s->table_prefix);
    }
    if (v.poll.group_missing && !strcmp(cmd, "status") && !o->json)
        printf("group %s has no row: no node of it has joined this database\n", s->group_id);
    if (!strcmp(cmd, "members")) {
        print_members(&v, o->json);
    } else if (!strcmp(cmd, "leader")) {
        print_leader(&v, o->json);
    } else if (!strcmp(cmd, "tasks")) {
        print_tasks(t, nt, o->json);
    } else if (o->json) {
        fputs("{\"group\":", stdout);
        json_str(s->group_id);
        printf(",\"version\":%lld,\"leader\":", v.poll.group_missing ? 0 : v.poll.version);
        print_leader(&v, 1);
        fputs(",\"members\":", stdout);
        print_members(&v, 1);
        fputs(",\"tasks\":", stdout);
        print_tasks(t, nt, 1);
        fputs("}", stdout);
    } else {
        printf("group %s, version %lld\nleader: ", s->group_id, v.poll.version);
        print_leader(&v, 0);
        printf("\nmembers (%zu):\n", v.count);
        print_members(&v, 0);
        printf("\ntasks (%zu):\n", nt);
        print_tasks(t, nt, 0);
    }
    if (o->json)
        putchar('\n');
    rc = !strcmp(cmd, "leader") && !leader_of(&v) ? EX_REFUSED : EX_DONE;
    view_free(&v);
    tasks_free(t, nt);
    return rc;
}

static int cmd_change(ccoord__db *db, const ccoord__settings *s, const char *cmd,
                      const char *task, const opts *o)
{
    int to = !strcmp(cmd, "pause") ? CCOORD_TASK_PAUSED
             : !strcmp(cmd, "resume") ? CCOORD_TASK_ACTIVE
                                      : CCOORD_TASK_COMPLETED;
    int found = 0, tries = 0, rc;
    do
        rc = ccoord__task_state_change(db, task, to, &found);
    while (rc == CCOORD_EDB && ccoord__db_again(db, &tries));
    if (rc == CCOORD_ENOTFOUND)
        return fail(EX_REFUSED, "%s: no task named %s", cmd, task);
    if (rc == CCOORD_ESTATE) /* only a completed task refuses a change */
        return fail(EX_REFUSED, "%s %s: refused: the task is %s (a completed task stays "
                    "completed)", cmd, task, ccoord__task_state_name(found));
    if (rc)
        return db_failed(db);
    if (o->json) {
        fputs("{\"task\":", stdout);
        json_str(task);
        fputs(",\"state\":", stdout);
        json_str(ccoord__task_state_name(to));
        printf(",\"changed\":%s}\n", found == -1 ? "false" : "true");
    } else {
        printf("%s: %s%s (group %s)\n", task, ccoord__task_state_name(to),
               found == -1 ? ", already" : "", s->group_id);
    }
    return EX_DONE;
}

/* ---- drain and move ------------------------------------------------------ */

/* Runs one write transaction (fn) with the retries of a conflict. */
static int write_tx(ccoord__db *db, int (*fn)(ccoord__db *, void *), void *arg)
{
    int tries = 0, rc;
    do {
        rc = ccoord__db_begin(db);
        if (!rc)
            rc = fn(db, arg);
        if (!rc)
            rc = ccoord__db_commit(db);
        else if (db->in_tx)
            ccoord__db_rollback(db);
    } while (rc == CCOORD_EDB && ccoord__db_again(db, &tries));
    return rc;
}

/* The member row of id in the list, or NULL. */
static const ccoord__member *member_of(const ccoord__member *m, size_t count, const char *id)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (strcmp(m[i].id, id) == 0)
            return &m[i];
    return NULL;
}

/* How many tasks node owns, and *ret_owner of task (into buf), as stored
 * now. */
static int owned_by(ccoord__db *db, const char *node, const char *task, size_t *ret_count,
                    char *owner, size_t ownerlen)
{
    task_row *t;
    size_t n, i;
    int rc = read_tasks(db, &t, &n);
    if (rc)
        return rc;
    *ret_count = 0;
    if (owner)
        owner[0] = '\0';
    for (i = 0; i < n; i++) {
        if (!strcmp(t[i].owner, node))
            (*ret_count)++;
        if (owner && task && !strcmp(t[i].name, task))
            snprintf(owner, ownerlen, "%s", t[i].owner);
    }
    tasks_free(t, n);
    return CCOORD_OK;
}

/* Waits up to o->wait_ms for the handover: node owns no task (task NULL)
 * or task is owned by node.  1 done, 0 not in time, <0 database. */
static int wait_handover(ccoord__db *db, const opts *o, const char *node, const char *task)
{
    int64_t until = ccoord__now_ns() + (int64_t)o->wait_ms * 1000000;
    for (;;) {
        char owner[CCOORD__MAX_KEY + 1];
        size_t count = 0;
        int rc = owned_by(db, node, task, &count, owner, sizeof owner);
        if (rc)
            return rc;
        if (task ? !strcmp(owner, node) : count == 0)
            return 1;
        if (ccoord__now_ns() >= until)
            return 0;
        ccoord__sleep_ns(50000000);
    }
}

struct drain_arg {
    const char *node;
    int drained;
    unsigned long long rows;
};

static int do_drain(ccoord__db *db, void *arg)
{
    struct drain_arg *d = arg;
    int rc = ccoord__row_member_drain(db, d->node, d->drained, &d->rows);
    /* a drain changes a member row: counted as a removal, so that every
     * node reads the member rows in full and the node sees its flag */
    if (!rc && d->rows)
        rc = ccoord__row_group_bump(db, 1);
    return rc;
}

static int cmd_drain(ccoord__db *db, const ccoord__settings *s, const char *cmd,
                     const char *node, const opts *o)
{
    struct drain_arg d = {node, !strcmp(cmd, "drain"), 0};
    size_t owns = 0;
    int rc = write_tx(db, do_drain, &d), done = -1;
    if (rc)
        return db_failed(db);
    if (!d.rows)
        return fail(EX_REFUSED, "%s %s: no member named %s in group %s (a node is drained "
                    "while it is a member; one that joins again starts undrained)",
                    cmd, node, node, s->group_id);
    if (d.drained && o->wait_ms > 0 && (done = wait_handover(db, o, node, NULL)) < 0)
        return db_failed(db);
    if (owned_by(db, node, NULL, &owns, NULL, 0))
        return db_failed(db);
    if (o->json) {
        fputs("{\"node\":", stdout);
        json_str(node);
        printf(",\"drained\":%s,\"owns\":%zu,\"done\":%s}\n", d.drained ? "true" : "false",
               owns, done < 0 ? "null" : done ? "true" : "false");
    } else if (d.drained) {
        printf("%s: drained (group %s); it owns %zu task(s)%s\n", node, s->group_id, owns,
               done == 1 ? ", handover done"
               : done == 0 ? ", handover not done in time"
               : owns ? "; it gives them up at its next poll" : "");
    } else {
        printf("%s: undrained (group %s); it may be given tasks again\n", node, s->group_id);
    }
    return done == 0 ? fail(EX_REFUSED, "%s %s: the node still owns %zu task(s) after %ld ms "
                            "(is it running? a stopped node's tasks move when it is evicted)",
                            cmd, node, owns, o->wait_ms)
                     : EX_DONE;
}

struct move_arg {
    const char *task, *node, *owner; /* owner NULL: unowned */
    long long epoch;
    unsigned long long rows;
};

static int do_move(ccoord__db *db, void *arg)
{
    struct move_arg *m = arg;
    int rc = ccoord__row_task_move(db, m->task, m->node, m->owner, m->epoch, &m->rows);
    if (!rc && m->rows)
        rc = ccoord__row_group_bump(db, 0);
    return rc;
}

/* Why task t may not move to node (members m), or NULL. */
static const char *move_refused(const task_row *t, const ccoord__member *m, size_t count,
                                const char *node, char *why, size_t len)
{
    const ccoord__member *to = member_of(m, count, node);
    size_t k;
    int registered = 0;
    for (k = 0; k < t->nnodes; k++)
        registered |= !strcmp(t->nodes[k], node);
    if (strcmp(t->state, "ACTIVE"))
        snprintf(why, len, "the task is %s; only an ACTIVE task moves", t->state);
    else if (!to)
        snprintf(why, len, "no member named %s", node);
    else if (to->drained)
        snprintf(why, len, "node %s is drained (undrain it first)", node);
    else if (!registered)
        snprintf(why, len, "node %s has not registered the task (registered: %zu node(s))",
                 node, t->nnodes);
    else
        return NULL;
    return why;
}

static int cmd_move(ccoord__db *db, const ccoord__settings *s, const char *task,
                    const char *node, const opts *o)
{
    task_row *t = NULL, *row = NULL;
    ccoord__member *m = NULL;
    size_t nt = 0, nm = 0, i;
    char why[512];
    const char *no;
    struct move_arg mv = {task, node, NULL, 0, 0};
    int rc = read_tasks(db, &t, &nt), code = EX_DONE, done = -1, already;
    if (!rc)
        rc = ccoord__row_members_read(db, -1, &m, &nm);
    if (rc) {
        tasks_free(t, nt);
        return db_failed(db);
    }
    for (i = 0; i < nt; i++)
        if (!strcmp(t[i].name, task))
            row = &t[i];
    already = row && !strcmp(row->owner, node);
    if (!row)
        code = fail(EX_REFUSED, "move %s %s: no task named %s in group %s", task, node, task,
                    s->group_id);
    else if (!already && (no = move_refused(row, m, nm, node, why, sizeof why)))
        code = fail(EX_REFUSED, "move %s %s: refused: %s", task, node, no);
    if (code || already)
        goto out;
    mv.owner = *row->owner ? row->owner : NULL;
    mv.epoch = row->epoch;
    if (write_tx(db, do_move, &mv)) {
        code = db_failed(db);
        goto out;
    }
    if (!mv.rows) {
        code = fail(EX_REFUSED, "move %s %s: the task changed while this command looked "
                    "(moved, paused or placed); run it again", task, node);
        goto out;
    }
    if (o->wait_ms > 0 && (done = wait_handover(db, o, node, task)) < 0)
        code = db_failed(db);
    else if (done == 0)
        code = fail(EX_REFUSED, "move %s %s: not owned by %s after %ld ms (the owner gives it "
                    "up at its next poll, then the leader places it)", task, node, node,
                    o->wait_ms);
out:
    if (!code) {
        if (o->json) {
            fputs("{\"task\":", stdout);
            json_str(task);
            fputs(",\"to\":", stdout);
            json_str(node);
            fputs(",\"from\":", stdout);
            json_str_or_null(already ? node : mv.owner);
            printf(",\"changed\":%s,\"done\":%s}\n", already ? "false" : "true",
                   already || done == 1 ? "true" : done == 0 ? "false" : "null");
        } else if (already) {
            printf("%s: already owned by %s (group %s)\n", task, node, s->group_id);
        } else {
            printf("%s: moving from %s to %s (group %s)%s\n", task, mv.owner ? mv.owner : "-",
                   node, s->group_id, done == 1 ? ", done" : "");
        }
    }
    tasks_free(t, nt);
    ccoord__members_free(m, nm);
    return code;
}

/* ---- main ----------------------------------------------------------------- */

/* SQLite would create a missing file: this command only looks. */
static int sqlite_file_exists(const ccoord__settings *s)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", s->dbdir, s->dbname);
    return access(path, F_OK) == 0;
}

static int apply_set(ccoord_config *cfg, const char *arg)
{
    char buf[1200], *dot, *eq;
    snprintf(buf, sizeof buf, "%s", arg);
    eq = strchr(buf, '=');
    dot = eq ? memchr(buf, '.', (size_t)(eq - buf)) : NULL;
    if (!eq || !dot)
        return fail(EX_USAGE, "--set %s: want SECTION.KEY=VALUE", arg);
    *dot = *eq = '\0';
    if (ccoord_config_set(cfg, buf, dot + 1, eq + 1) != CCOORD_OK)
        return fail(EX_USAGE, "--set %s: %s", arg, ccoord_config_error(cfg));
    return 0;
}

/* A task or node id argument: what the library accepts as a key. */
static int check_id(const char *cmd, const char *what, const char *v)
{
    if (ccoord__valid_key(v))
        return 0;
    return fail(EX_USAGE, "%s: \"%s\" is not a %s (1 to 190 bytes of UTF-8 without control "
                "characters or leading/trailing spaces)", cmd, v, what);
}

/* The command's arguments: TASK, NODE or TASK NODE. */
static int parse_args(const char *cmd, int argc, char **argv, const char **task,
                      const char **node)
{
    static const struct {
        const char *name, *args; /* "t": TASK, "n": NODE */
    } cmds[] = {{"members", ""},  {"leader", ""},  {"tasks", ""},    {"status", ""},
                {"pause", "t"},   {"resume", "t"}, {"complete", "t"}, {"drain", "n"},
                {"undrain", "n"}, {"move", "tn"}};
    size_t i, k;
    for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name))
            break;
    if (i == sizeof cmds / sizeof cmds[0])
        return fail(EX_USAGE, "unknown command \"%s\" (members, leader, tasks, status, pause, "
                    "resume, complete, drain, undrain, move)", cmd);
    if ((size_t)argc != strlen(cmds[i].args)) {
        if (!cmds[i].args[0])
            return fail(EX_USAGE, "%s takes no argument, not \"%s\"", cmd, argv[0]);
        return fail(EX_USAGE, "%s takes %s", cmd,
                    !strcmp(cmds[i].args, "t")   ? "one task name"
                    : !strcmp(cmds[i].args, "n") ? "one node id"
                                                 : "a task name and a node id");
    }
    for (k = 0; cmds[i].args[k]; k++) {
        int t = cmds[i].args[k] == 't';
        if (check_id(cmd, t ? "task name" : "node id", argv[k]))
            return EX_USAGE;
        *(t ? task : node) = argv[k];
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'}, {"mi", required_argument, NULL, 'm'},
        {"set", required_argument, NULL, 's'},    {"json", no_argument, NULL, 'j'},
        {"watch", required_argument, NULL, 'w'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {"wait", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    opts o = {0, -1, 0};
    ccoord_config *cfg = NULL;
    ccoord__db db;
    const char *cmd, *task = NULL, *node = NULL;
    long schema = 0;
    int c, rc, code, loaded = 0;
    if (ccoord_config_new(&cfg) != CCOORD_OK)
        return fail(EX_DB, "out of memory");
    while ((c = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
        switch (c) {
        case 'c':
        case 'm':
            if (loaded++) {
                ccoord_config_free(cfg);
                return fail(EX_USAGE, "one configuration file (-c or --mi), not two");
            }
            rc = c == 'c' ? ccoord_config_load(cfg, optarg) : ccoord_config_load_mi(cfg, optarg);
            if (rc != CCOORD_OK) {
                code = fail(EX_USAGE, "%s: %s", optarg, ccoord_config_error(cfg));
                ccoord_config_free(cfg);
                return code;
            }
            break;
        case 's':
            if ((code = apply_set(cfg, optarg)) != 0) {
                ccoord_config_free(cfg);
                return code;
            }
            break;
        case 'j':
            o.json = 1;
            break;
        case 'w':
        case 'W': {
            char *end;
            long *ms = c == 'w' ? &o.watch_ms : &o.wait_ms;
            *ms = strtol(optarg, &end, 10);
            if (*end || end == optarg || *ms < 0 || *ms > 600000) {
                ccoord_config_free(cfg);
                return fail(EX_USAGE, "--%s %s: want milliseconds from 0 to 600000",
                            c == 'w' ? "watch" : "wait", optarg);
            }
            break;
        }
        case 'h':
            usage(stdout);
            ccoord_config_free(cfg);
            return EX_DONE;
        case 'V':
            printf("ccoordctl (libclustercoord %s)\n", ccoord_version());
            ccoord_config_free(cfg);
            return EX_DONE;
        default:
            usage(stderr);
            ccoord_config_free(cfg);
            return EX_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        ccoord_config_free(cfg);
        return EX_USAGE;
    }
    cmd = argv[optind++];
    if ((code = parse_args(cmd, argc - optind, argv + optind, &task, &node)) != 0) {
        ccoord_config_free(cfg);
        return code;
    }
    if (ccoord__config_check(cfg) != CCOORD_OK) {
        code = fail(EX_USAGE, "configuration: %s", ccoord_config_error(cfg));
        ccoord_config_free(cfg);
        return code;
    }
    if (o.watch_ms < 0)
        o.watch_ms = (long)(cfg->s.heartbeat_interval_ms * 3 / 2);
    if (ccoord__db_init(&db, &cfg->s, cfg->s.connect_timeout_s * 1000000000LL) != CCOORD_OK) {
        code = fail(EX_DB, "database: %s", db.err);
        ccoord_config_free(cfg);
        return code;
    }
    if (!strcmp(cfg->s.driver, "sqlite3") && !sqlite_file_exists(&cfg->s))
        code = fail(EX_DB, "database: no SQLite file %s/%s (datasource.dbdir, dbname); nodes "
                    "create it when they join", cfg->s.dbdir, cfg->s.dbname);
    else if (ccoord__db_connect(&db, 1) != CCOORD_OK)
        code = db_failed(&db);
    else if (ccoord__db_schema_version(&db, &schema) == CCOORD_OK && schema > 0 &&
             schema != CCOORD__SCHEMA_VERSION)
        code = fail(EX_DB, "database: schema version %ld (tables %s*), this ccoordctl reads %d%s",
                    schema, cfg->s.table_prefix, CCOORD__SCHEMA_VERSION,
                    schema < CCOORD__SCHEMA_VERSION
                        ? "; a node of this library version migrates it when it joins"
                        : "; use the ccoordctl of the nodes' library version");
    else if (!strcmp(cmd, "move"))
        code = cmd_move(&db, &cfg->s, task, node, &o);
    else if (node)
        code = cmd_drain(&db, &cfg->s, cmd, node, &o);
    else if (task)
        code = cmd_change(&db, &cfg->s, cmd, task, &o);
    else
        code = cmd_view(&db, &cfg->s, cmd, &o);
    ccoord__db_destroy(&db);
    ccoord_config_free(cfg);
    return code;
}
