/*
 * lib/batch.c: floor 5, what a resolution or rebalancing pass reads (the
 * batch, batch.h): the tasks, the live members in join order, their
 * loads, and who can run what.
 */
#include "batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
void ccoord__batch_free(ccoord__batch *p)
{
    size_t i;
    for (i = 0; i < p->task_count; i++) {
        free(p->tnames[i]);
        free(p->place[i].owner);
        free(p->place[i].move_to);
        if (p->can && p->can[i] != p->all_members)
            free(p->can[i]);
    }
    ccoord__members_free(p->rows, p->row_count);
    free(p->members);
    free(p->mids);
    free(p->tasks);
    free(p->tnames);
    free(p->place);
    free(p->can);
    free(p->can_count);
    free(p->can_cap);
    free(p->all_members);
    free(p->assign);
    ccoord__map_free(p->midx, NULL);
    ccoord__map_free(p->tidx, NULL);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- reading the batch -------------------------------------------------- */

/* A string column copied, or NULL for SQL NULL. */
static int dup_col(dbi_result r, unsigned idx, char **ret)
{
    const char *v = ccoord__res_null(r, idx) ? NULL : ccoord__res_str(r, idx);
    *ret = NULL;
    return !v || (*ret = ccoord__strdup(v)) ? CCOORD_OK : CCOORD_ENOMEM;
}

/* The tasks of the batch (the unassigned ACTIVE ones, or with placed the
 * ACTIVE ones placed on a node) and their index. */
static int read_tasks(ccoord__db *db, ccoord__batch *ps, int placed)
{
    dbi_result r;
    size_t cap = 0, pcap = 0, i;
    int rc = ccoord__row_tasks_active(db, placed, &r);
    if (rc)
        return rc;
    while (!rc && dbi_result_next_row(r)) {
        const char *name = ccoord__res_str(r, 1);
        size_t k = ps->task_count;
        ccoord__batch_place *pl;
        if (ccoord__grow(&ps->tnames, &cap, k, sizeof *ps->tnames, 64) != CCOORD_OK ||
            ccoord__grow(&ps->place, &pcap, k, sizeof *ps->place, 64) != CCOORD_OK) {
            rc = CCOORD_ENOMEM;
            break;
        }
        pl = &ps->place[k];
        memset(pl, 0, sizeof *pl);
        if (!(ps->tnames[k] = ccoord__strdup(name ? name : ""))) {
            rc = CCOORD_ENOMEM;
            break;
        }
        ps->task_count++;
        pl->epoch = ccoord__res_ll(r, 3);
        rc = dup_col(r, 4, &pl->move_to);
        if (!rc)
            rc = dup_col(r, 2, &pl->owner);
    }
    dbi_result_free(r);
    if (!rc && !(ps->tidx = ccoord__map_new()))
        rc = CCOORD_ENOMEM;
    for (i = 0; !rc && i < ps->task_count; i++)
        if (ccoord__map_put(ps->tidx, ps->tnames[i], (void *)(uintptr_t)(i + 1), NULL))
            rc = CCOORD_ENOMEM;
    return rc;
}

/* The live members in join order but exclude and the drained ones, their
 * batch entries and their index. */
static int read_members(ccoord__db *db, ccoord__batch *ps, const char *exclude)
{
    size_t i;
    int rc = ccoord__row_members_read(db, -1, &ps->rows, &ps->row_count);
    if (rc)
        return rc;
    ps->members = ccoord__calloc(ps->row_count + 1, sizeof *ps->members);
    ps->mids = ccoord__calloc(ps->row_count + 1, sizeof *ps->mids);
    ps->midx = ccoord__map_new();
    if (!ps->members || !ps->mids || !ps->midx)
        return CCOORD_ENOMEM;
    for (i = 0; i < ps->row_count; i++) {
        const ccoord__member *m = &ps->rows[i];
        size_t k = ps->member_count;
        if (m->drained || (exclude && strcmp(m->id, exclude) == 0))
            continue;
        ps->members[k].id = ps->mids[k] = m->id;
        ps->members[k].hostname = m->hostname;
        ps->members[k].metadata = m->metadata;
        if (ccoord__map_put(ps->midx, m->id, (void *)(uintptr_t)(k + 1), NULL))
            return CCOORD_ENOMEM;
        ps->member_count++;
    }
    return CCOORD_OK;
}

/* How many tasks each live member owns now. */
static int read_loads(ccoord__db *db, ccoord__batch *ps)
{
    dbi_result r;
    int rc = ccoord__row_task_loads(db, &r);
    if (rc)
        return rc;
    while (dbi_result_next_row(r)) {
        long m = ccoord__batch_member_index(ps, ccoord__res_str(r, 1));
        if (m >= 0)
            ps->members[m].load = (size_t)ccoord__res_ll(r, 2);
    }
    dbi_result_free(r);
    return CCOORD_OK;
}

/* Index of the task named by column 1 of r's row, or -1. */
static long task_of(const ccoord__batch *ps, dbi_result r)
{
    const char *tn = ccoord__res_str(r, 1);
    uintptr_t t = tn ? (uintptr_t)ccoord__map_get(ps->tidx, tn) : 0;
    return t ? (long)(t - 1) : -1;
}

/* A count row: a task every live member registered shares all_members;
 * one with a smaller non-zero count keeps it in can_cap for the pairs. */
static void take_count(ccoord__batch *ps, dbi_result r)
{
    long t = task_of(ps, r);
    long long c = ccoord__res_ll(r, 2);
    if (t < 0)
        return;
    if (c >= (long long)ps->member_count) {
        ps->can[t] = ps->all_members;
        ps->can_count[t] = ps->can_cap[t] = ps->member_count;
    } else if (c > 0) {
        ps->can_cap[t] = (size_t)c;
    }
}

/* A pair row (task, node): the node joins the task's list. */
static int take_pair(ccoord__batch *ps, dbi_result r)
{
    long t = task_of(ps, r), mi = ccoord__batch_member_index(ps, ccoord__res_str(r, 2));
    if (t < 0 || mi < 0 || ps->can[t] == ps->all_members)
        return CCOORD_OK;
    if (!ps->can[t] || ps->can_count[t] == ps->can_cap[t]) {
        /* the count is exact unless a registration came between the two
         * reads: then grow */
        size_t ncap = ps->can[t] ? ps->can_cap[t] * 2 : ps->can_cap[t];
        size_t *x = ccoord__realloc(ps->can[t], (ncap ? ncap : 1) * sizeof *x);
        if (!x)
            return CCOORD_ENOMEM;
        ps->can[t] = x;
        ps->can_cap[t] = ncap ? ncap : 1;
    }
    ps->can[t][ps->can_count[t]++] = (size_t)mi;
    return CCOORD_OK;
}

#define CAN_CHUNK 500

/* One kind of registration read, in chunks of CAN_CHUNK task names:
 * counts (every task) or pairs (the tasks some but not all live members
 * registered). */
static int read_can_run(ccoord__db *db, ccoord__batch *ps, int counts)
{
    const char **chunk = ccoord__calloc(CAN_CHUNK, sizeof *chunk);
    size_t i = 0;
    int rc = chunk ? CCOORD_OK : CCOORD_ENOMEM;
    while (!rc && i < ps->task_count) {
        size_t k = 0;
        dbi_result r;
        for (; i < ps->task_count && k < CAN_CHUNK; i++)
            if (counts || (!ps->can[i] && ps->can_cap[i] != 0))
                chunk[k++] = ps->tnames[i];
        if (k == 0)
            break;
        rc = counts ? ccoord__row_registration_counts(db, chunk, k, ps->mids, ps->member_count,
                                                      &r)
                    : ccoord__row_registration_pairs(db, chunk, k, &r);
        if (rc)
            break;
        while (!rc && dbi_result_next_row(r)) {
            if (counts)
                take_count(ps, r);
            else
                rc = take_pair(ps, r);
        }
        dbi_result_free(r);
    }
    free(chunk);
    return rc;
}

/* Who can run what.  First, per chunk of names, how many of the live
 * members registered each task (counted by the server): a task every
 * member registered shares one "all members" list, so the common case
 * (every node registers the same tasks) moves one row per task instead of
 * one per task and member.  The pairs are then read only for the tasks
 * some members did not register.  Both are lookups by the task_nodes
 * primary key (no join, so no plan that depends on table statistics). */
static int read_who_can_run(ccoord__db *db, ccoord__batch *ps)
{
    size_t i;
    int rc;
    ps->tasks = ccoord__calloc(ps->task_count, sizeof *ps->tasks);
    ps->can = ccoord__calloc(ps->task_count, sizeof *ps->can);
    ps->can_count = ccoord__calloc(ps->task_count, sizeof *ps->can_count);
    ps->can_cap = ccoord__calloc(ps->task_count, sizeof *ps->can_cap);
    ps->assign = ccoord__calloc(ps->task_count, sizeof *ps->assign);
    ps->all_members = ccoord__calloc(ps->member_count + 1, sizeof *ps->all_members);
    if (!ps->tasks || !ps->can || !ps->can_count || !ps->can_cap || !ps->assign ||
        !ps->all_members)
        return CCOORD_ENOMEM;
    for (i = 0; i < ps->member_count; i++)
        ps->all_members[i] = i;
    rc = ps->member_count ? read_can_run(db, ps, 1) : CCOORD_OK;
    if (!rc)
        rc = read_can_run(db, ps, 0);
    if (rc)
        return rc;
    for (i = 0; i < ps->task_count; i++) {
        if (ps->can_count[i] > 1 && ps->can[i] != ps->all_members)
            qsort(ps->can[i], ps->can_count[i], sizeof(size_t), cmp_size);
        ps->tasks[i].name = ps->tnames[i];
        ps->tasks[i].can_run = ps->can[i];
        ps->tasks[i].can_run_count = ps->can_count[i];
    }
    return CCOORD_OK;
}

int ccoord__batch_read(ccoord__db *db, ccoord__batch *ps, int placed, const char *exclude)
{
    size_t t;
    int rc = read_tasks(db, ps, placed);
    if (rc || ps->task_count == 0)
        return rc;
    rc = read_members(db, ps, exclude);
    if (!rc)
        rc = read_loads(db, ps);
    if (!rc)
        rc = read_who_can_run(db, ps);
    for (t = 0; !rc && t < ps->task_count; t++)
        ps->tasks[t].owner = ccoord__batch_member_index(ps, ps->place[t].owner);
    return rc;
}

long ccoord__batch_member_index(const ccoord__batch *ps, const char *id)
{
    uintptr_t m = id && ps->midx ? (uintptr_t)ccoord__map_get(ps->midx, id) : 0;
    return m ? (long)(m - 1) : -1;
}

int ccoord__batch_can_run(const ccoord__batch *ps, size_t t, long m)
{
    size_t i;
    if (m < 0 || t >= ps->task_count)
        return 0;
    if (ps->can[t] == ps->all_members)
        return (size_t)m < ps->member_count;
    for (i = 0; i < ps->can_count[t]; i++)
        if (ps->can[t][i] == (size_t)m)
            return 1;
    return 0;
}
