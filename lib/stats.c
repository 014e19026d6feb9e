/*
 * lib/stats.c: floor 1, latency histograms (stats.h).
 */
#include "stats.h"

const double ccoord__hist_bounds[CCOORD__HIST_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};

void ccoord__hist_observe(ccoord__hist *h, int64_t ns)
{
    size_t i = 0;
    double s;
    if (ns < 0)
        ns = 0;
    s = (double)ns / 1e9;
    while (i < CCOORD__HIST_BUCKETS && s > ccoord__hist_bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}
