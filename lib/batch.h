/*
 * lib/batch.h: floor 5, the batch a resolution or rebalancing pass reads
 * (lib/batch.c) and hands to the resolver plugin: the tasks, the live
 * members that may take tasks in join order (drained members and the one
 * excluded left out), their loads, and who can run what.  Calls rows.c
 * only; resolve.c runs the plugin over it and writes what it decided.
 */
#ifndef CCOORD_BATCH_H
#define CCOORD_BATCH_H

#include "plugin.h"
#include "rows.h"

/* Per task: where it is and where it is being moved, as read. */
typedef struct ccoord__batch_place {
    char *owner;   /* NULL: unassigned */
    char *move_to; /* NULL: no move asked for */
    long long epoch;
} ccoord__batch_place;

typedef struct ccoord__batch {
    ccoord__member *rows;          /* live members as read, join order */
    size_t row_count;
    ccoord__batch_member *members; /* the members handed to the plugin */
    const char **mids;
    size_t member_count;
    ccoord__batch_task *tasks;
    char **tnames;
    ccoord__batch_place *place;
    size_t task_count;
    size_t **can;        /* per task: member indexes (or all_members) */
    size_t *can_count, *can_cap;
    size_t *all_members; /* 0..member_count-1, shared by tasks every member registered */
    long *assign;        /* the plugin's answer: member index or -1 */
    ccoord__map *midx, *tidx; /* id -> index + 1 */
} ccoord__batch;

/* Reads a batch into *ps (zeroed by the caller): the unassigned ACTIVE
 * tasks, or with placed the ACTIVE tasks placed on a node (tasks[t].owner
 * is the owner's member index, -1 when the owner is drained, excluded or
 * gone).  Members, loads and who can run what are read only when there
 * is a task.  CCOORD_OK, CCOORD_EDB or CCOORD_ENOMEM. */
int ccoord__batch_read(ccoord__db *db, ccoord__batch *ps, int placed, const char *exclude);
void ccoord__batch_free(ccoord__batch *ps);
/* The batch index of member id, or -1 (not in the batch, or NULL). */
long ccoord__batch_member_index(const ccoord__batch *ps, const char *id);
/* 1 when member m of the batch registered task t. */
int ccoord__batch_can_run(const ccoord__batch *ps, size_t t, long m);

#endif
