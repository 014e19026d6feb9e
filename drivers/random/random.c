/*
 * drivers/random/random.c: the default resolver ("ActivePassiveResolver"
 * of the reference).  One live member, chosen at random, gets every task
 * and keeps them until it leaves: the member that already owns tasks (the
 * most, earliest in join order on a tie) is the cluster's node; only when
 * nobody owns any is one drawn at random among those that can run a task
 * of the batch.  A task the chosen node cannot run goes to the capable
 * member owning the most tasks, or a random capable one.  The choice lives in the database (who
 * owns what), so it survives a change of leader.  No settings.
 */
#include <sys/random.h>

#include "../resolver_util.h"

typedef struct rnd_state {
    const ccoord_resolver_host *host;
    void *ctx;
    unsigned long long seed;
} rnd_state;

static const char *const rnd_keys[] = {NULL};

static int rnd_init(const ccoord_resolver_host *host, void *ctx, void **ret_state, char **err)
{
    rnd_state *s = calloc(1, sizeof *s);
    (void)err;
    if (!s)
        return CCOORD_ENOMEM;
    s->host = host;
    s->ctx = ctx;
    if (getrandom(&s->seed, sizeof s->seed, 0) != (ssize_t)sizeof s->seed)
        s->seed = (unsigned long long)(size_t)s ^ 0x9e3779b97f4a7c15ull;
    *ret_state = s;
    return CCOORD_OK;
}

static unsigned long long rnd_next(rnd_state *s)
{
    /* xorshift64* */
    s->seed ^= s->seed >> 12;
    s->seed ^= s->seed << 25;
    s->seed ^= s->seed >> 27;
    return s->seed * 2685821657736338717ull;
}

/* Among the members that can run task t, the one owning the most tasks
 * (earliest in join order on a tie), or a random one when none owns any;
 * -1 when no member can run it. */
static long rnd_pick(rnd_state *s, const ccoord_resolver_batch *b, size_t t, const rs_load *l)
{
    const ccoord_resolver_host *h = s->host;
    size_t m, capable = 0, pick;
    long best = -1;
    for (m = 0; m < l->count; m++) {
        if (!h->task_can_run(b, t, m))
            continue;
        capable++;
        if (l->n[m] > 0 && (best < 0 || l->n[m] > l->n[best]))
            best = (long)m;
    }
    if (best >= 0 || !capable)
        return best;
    pick = (size_t)(rnd_next(s) % capable);
    for (m = 0; m < l->count; m++)
        if (h->task_can_run(b, t, m) && pick-- == 0)
            return (long)m;
    return -1;
}

static int rnd_resolve(void *state, ccoord_resolver_batch *b)
{
    rnd_state *s = state;
    const ccoord_resolver_host *h = s->host;
    size_t t, m, tasks = h->task_count(b);
    long chosen = -1;
    rs_load l;
    if (rs_load_init(&l, h, b))
        return CCOORD_ENOMEM;
    /* The cluster's node: the member that holds tasks already (the most,
     * earliest in join order), else one drawn at random among those that
     * can run any task of this batch. */
    for (m = 0; m < l.count; m++)
        if (l.n[m] > 0 && (chosen < 0 || l.n[m] > l.n[chosen]))
            chosen = (long)m;
    if (chosen < 0) {
        size_t capable = 0, pick;
        unsigned char *can = calloc(l.count ? l.count : 1, 1);
        if (!can) {
            rs_load_free(&l);
            return CCOORD_ENOMEM;
        }
        for (m = 0; m < l.count; m++)
            for (t = 0; t < tasks && !can[m]; t++)
                if (h->task_can_run(b, t, m))
                    can[m] = 1, capable++;
        if (capable) {
            pick = (size_t)(rnd_next(s) % capable);
            for (m = 0; m < l.count && chosen < 0; m++)
                if (can[m] && pick-- == 0)
                    chosen = (long)m;
        }
        free(can);
    }
    for (t = 0; t < tasks; t++) {
        /* a task the chosen node cannot run goes where such tasks went */
        long m2 = chosen >= 0 && h->task_can_run(b, t, (size_t)chosen) ? chosen
                                                                         : rnd_pick(s, b, t, &l);
        if (m2 >= 0 && h->assign(b, t, (size_t)m2) == CCOORD_OK)
            l.n[m2]++;
    }
    rs_load_free(&l);
    return CCOORD_OK;
}

static void rnd_fini(void *state)
{
    free(state);
}

static const ccoord_resolver_ops rnd_ops = {
    .struct_size = sizeof rnd_ops,
    .abi_major = CCOORD_RESOLVER_ABI_MAJOR,
    .abi_minor = CCOORD_RESOLVER_ABI_MINOR,
    .name = "random",
    .version = "1.0.0",
    .config_keys = rnd_keys,
    .init = rnd_init,
    .resolve = rnd_resolve,
    .fini = rnd_fini,
};

CCOORD_RESOLVER_DEFINE(rnd_ops)
