/*
 * lib/metrics.c: floor 5, ccoord_metrics(): the node's counters, gauges
 * and histograms (stats.h, counted where things happen) in the Prometheus
 * text exposition format, version 0.0.4.  Reads memory only, never the
 * database: a scrape costs the cluster nothing, and works while the
 * database is away (which is when it matters).
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* The labels every sample carries: node="<id>",group="<group>", escaped as
 * the format wants (backslash, double quote, newline). */
static void add_label_value(ccoord__buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            ccoord__buf_addf(b, "\\%c", *v);
        else if (*v == '\n')
            ccoord__buf_add(b, "\\n");
        else
            ccoord__buf_addn(b, v, 1);
    }
}

typedef struct scrape {
    ccoord__buf b;
    ccoord__buf labels; /* node="...",group="..." */
} scrape;

static void head(scrape *s, const char *name, const char *type, const char *help)
{
    ccoord__buf_addf(&s->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample; extra: more labels ("" none, else `k="v"`). */
static void sample(scrape *s, const char *name, const char *extra, const char *value)
{
    ccoord__buf_addf(&s->b, "%s{%s%s%s} %s\n", name, s->labels.data, *extra ? "," : "", extra,
                     value);
}

static void metric_u(scrape *s, const char *name, const char *type, const char *help,
                     unsigned long long v)
{
    char num[32];
    head(s, name, type, help);
    ccoord__fmt(num, sizeof num, "%llu", v);
    sample(s, name, "", num);
}

static void metric_d(scrape *s, const char *name, const char *help, double v)
{
    char num[40];
    head(s, name, "gauge", help);
    ccoord__fmt(num, sizeof num, "%.6f", v);
    sample(s, name, "", num);
}

/* The buckets cumulative; _count is the +Inf bucket, so the two always
 * agree even when an observation lands during the scrape. */
static void histogram(scrape *s, const char *name, const char *help, ccoord__hist *h)
{
    char key[80], le[48], num[40];
    unsigned long long cum = 0;
    size_t i;
    head(s, name, "histogram", help);
    ccoord__fmt(key, sizeof key, "%s_bucket", name);
    for (i = 0; i <= CCOORD__HIST_BUCKETS; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        if (i < CCOORD__HIST_BUCKETS)
            ccoord__fmt(le, sizeof le, "le=\"%g\"", ccoord__hist_bounds[i]);
        else
            ccoord__fmt(le, sizeof le, "le=\"+Inf\"");
        ccoord__fmt(num, sizeof num, "%llu", cum);
        sample(s, key, le, num);
    }
    ccoord__fmt(key, sizeof key, "%s_sum", name);
    ccoord__fmt(num, sizeof num, "%.9f",
                (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
    sample(s, key, "", num);
    ccoord__fmt(key, sizeof key, "%s_count", name);
    ccoord__fmt(num, sizeof num, "%llu", cum);
    sample(s, key, "", num);
}

/* What is read under the state lock, copied out at once. */
typedef struct snapshot {
    size_t members, registered, owned;
    size_t placed[3]; /* active, paused, completed */
    long long term;
    int joined;
} snapshot;

/* leased: the lease is valid now (ccoord_owned_tasks lists nothing else). */
static void take_snapshot(ccoord_node *n, int leased, snapshot *sn)
{
    size_t i = 0;
    const char *name;
    void *v;
    memset(sn, 0, sizeof *sn);
    ccoord__lock(n);
    sn->joined = n->joined;
    sn->members = n->member_count;
    sn->registered = ccoord__map_count(n->registered);
    while (ccoord__map_iter(n->owned, &i, &name, &v)) {
        const ccoord__owned *o = v;
        if (leased && o->granted && o->state == CCOORD_TASK_ACTIVE)
            sn->owned++; /* as ccoord_owned_tasks counts */
        if (o->state == CCOORD_TASK_ACTIVE)
            sn->placed[0]++;
        else if (o->state == CCOORD_TASK_PAUSED)
            sn->placed[1]++;
        else if (o->state == CCOORD_TASK_COMPLETED)
            sn->placed[2]++;
    }
    sn->term = atomic_load(&n->leader_until) ? n->leader_term : n->seen_leader_term;
    ccoord__unlock(n);
}

static void placed(scrape *s, const snapshot *sn)
{
    static const char *const names[3] = {"active", "paused", "completed"};
    char lab[32], num[32];
    size_t k;
    head(s, "ccoord_tasks_placed", "gauge",
         "Tasks whose row names this node as owner, by state, as last read.");
    for (k = 0; k < 3; k++) {
        ccoord__fmt(lab, sizeof lab, "state=\"%s\"", names[k]);
        ccoord__fmt(num, sizeof num, "%zu", sn->placed[k]);
        sample(s, "ccoord_tasks_placed", lab, num);
    }
}

int ccoord_metrics(ccoord_node *node, char **ret_text)
{
    scrape s;
    snapshot sn;
    int64_t now, until;
    unsigned long long waiting;
    ccoord__stats *st;
    if (!node || !ret_text)
        return ccoord__null_arg(node, "ccoord_metrics", "ret_text");
    *ret_text = NULL;
    if (ccoord__check_process(node, "ccoord_metrics"))
        return CCOORD_EFORKED;
    st = &node->stats;
    now = ccoord__now_ns();
    until = atomic_load(&node->lease_until);
    take_snapshot(node, now < until, &sn);
    pthread_mutex_lock(&node->ev_mu);
    waiting = node->ev_queued - node->ev_done;
    pthread_mutex_unlock(&node->ev_mu);

    ccoord__buf_init(&s.b);
    ccoord__buf_init(&s.labels);
    ccoord__buf_add(&s.labels, "node=\"");
    add_label_value(&s.labels, node->id);
    ccoord__buf_add(&s.labels, "\",group=\"");
    add_label_value(&s.labels, node->s.group_id);
    ccoord__buf_add(&s.labels, "\"");
    if (s.labels.oom) {
        ccoord__buf_free(&s.labels);
        return ccoord__fail(node, CCOORD_ENOMEM, "ccoord_metrics: out of memory");
    }

    metric_u(&s, "ccoord_joined", "gauge", "1 while the node is joined.", sn.joined ? 1 : 0);
    metric_u(&s, "ccoord_heartbeats_total", "counter", "Heartbeat statements sent.",
             ccoord__counted(&st->heartbeats));
    metric_u(&s, "ccoord_heartbeat_failures_total", "counter",
             "Heartbeat statements that failed (database error or timeout).",
             ccoord__counted(&st->heartbeat_failures));
    histogram(&s, "ccoord_heartbeat_duration_seconds",
              "Round trip of the successful heartbeats (CLOCK_BOOTTIME).", &st->heartbeat);
    metric_d(&s, "ccoord_lease_remaining_seconds",
             "How long the node may still own its tasks without another successful "
             "heartbeat (0: not owning).",
             now < until ? (double)(until - now) / 1e9 : 0.0);
    metric_u(&s, "ccoord_lease_lapses_total", "counter",
             "Times the lease lapsed and the node stopped owning its tasks.",
             ccoord__counted(&st->lease_lapses));
    metric_u(&s, "ccoord_is_leader", "gauge", "1 while this node is the leader.",
             ccoord__is_leader_now(node) ? 1 : 0); /* this process's: checked above */
    metric_u(&s, "ccoord_leader_term", "gauge",
             "The leader's term: this node's while it leads, else as last read.",
             sn.term > 0 ? (unsigned long long)sn.term : 0);
    metric_u(&s, "ccoord_members", "gauge", "Members in this node's view of the group.",
             sn.members);
    metric_u(&s, "ccoord_tasks_registered", "gauge", "Tasks this node registered.",
             sn.registered);
    metric_u(&s, "ccoord_tasks_owned", "gauge",
             "Tasks this node owns now (those ccoord_owned_tasks lists).", sn.owned);
    placed(&s, &sn);
    metric_u(&s, "ccoord_resolution_passes_total", "counter",
             "Resolution passes this node ran as leader.",
             (unsigned long long)atomic_load(&node->passes));
    histogram(&s, "ccoord_resolution_duration_seconds",
              "Resolution passes, from reading the unassigned tasks to the last placement.",
              &st->resolution);
    metric_u(&s, "ccoord_evictions_total", "counter",
             "Members this node evicted as leader (missed heartbeats).",
             ccoord__counted(&st->evictions));
    metric_u(&s, "ccoord_self_evictions_total", "counter",
             "Times this node found its own member row evicted (it rejoined).",
             ccoord__counted(&st->self_evictions));
    metric_u(&s, "ccoord_fires_total", "counter",
             "Schedule slots this node fired (ccoord_task_schedule), each recorded once in "
             "the cluster.", ccoord__counted(&st->fires));
    metric_u(&s, "ccoord_late_fires_total", "counter",
             "Fires that started more than the grace after their slot (an outage, a failover, "
             "a fire that overran the next slot).", ccoord__counted(&st->late_fires));
    metric_u(&s, "ccoord_skipped_slots_total", "counter",
             "Slots the misfire policy did not fire.", ccoord__counted(&st->skipped_slots));
    metric_u(&s, "ccoord_db_connects_total", "counter",
             "Database connections made, both of the node's (more than two: reconnects).",
             (unsigned long long)atomic_load(&node->bg_db.connects) +
                 atomic_load(&node->api_db.connects));
    metric_u(&s, "ccoord_db_statements_total", "counter", "SQL statements sent.",
             (unsigned long long)atomic_load(&node->bg_db.statements) +
                 atomic_load(&node->api_db.statements));
    metric_u(&s, "ccoord_events_waiting", "gauge",
             "Member, task and log events queued for the host's callbacks.", waiting);
    ccoord__buf_free(&s.labels);
    if (s.b.oom) {
        ccoord__buf_free(&s.b);
        return ccoord__fail(node, CCOORD_ENOMEM, "ccoord_metrics: out of memory");
    }
    *ret_text = s.b.data; /* the caller frees it with ccoord_free */
    return CCOORD_OK;
}
