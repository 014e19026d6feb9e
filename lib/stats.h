/*
 * lib/stats.h: floor 1, the counters and latency histograms a node keeps
 * for ccoord_metrics() (metrics.c formats them).  Lock-free: the threads
 * that count (background, watchdog, resolution, API callers) add with
 * relaxed atomics, and a reader sees each value whole (a scrape may see
 * one histogram's count before its sum is added: Prometheus tolerates
 * that).
 */
#ifndef CCOORD_STATS_H
#define CCOORD_STATS_H

#include "internal.h"

#include <stdatomic.h>

/* Upper bounds, in seconds, of the histogram buckets (+Inf after them):
 * from a local SQLite write to a statement that waits out a stall. */
#define CCOORD__HIST_BUCKETS 13
extern const double ccoord__hist_bounds[CCOORD__HIST_BUCKETS];

typedef struct ccoord__hist {
    _Atomic unsigned long long bucket[CCOORD__HIST_BUCKETS + 1]; /* not cumulative; last: +Inf */
    _Atomic unsigned long long count;
    _Atomic unsigned long long sum_ns;
} ccoord__hist;

/* Adds one observation of ns nanoseconds (negative: 0). */
void ccoord__hist_observe(ccoord__hist *h, int64_t ns);

/* A node's counters (core.h: ccoord_node.stats). */
typedef struct ccoord__stats {
    _Atomic unsigned long long heartbeats;         /* heartbeat statements sent */
    _Atomic unsigned long long heartbeat_failures; /* ... that failed */
    _Atomic unsigned long long lease_lapses;       /* leases found lapsed */
    _Atomic unsigned long long evictions;          /* members this node evicted */
    _Atomic unsigned long long self_evictions;     /* this node found itself evicted */
    _Atomic unsigned long long fires;              /* schedule slots fired here */
    _Atomic unsigned long long late_fires;         /* ... more than the grace after the slot */
    _Atomic unsigned long long skipped_slots;      /* slots the misfire policy did not fire */
    ccoord__hist heartbeat;                        /* successful heartbeats' round trip */
    ccoord__hist resolution;                       /* resolution passes, read to write */
} ccoord__stats;

static inline void ccoord__count(_Atomic unsigned long long *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline unsigned long long ccoord__counted(_Atomic unsigned long long *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

#endif
