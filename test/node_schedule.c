/*
 * test/node_schedule.c: scheduled tasks (ccoord_task_schedule, issue 13)
 * on several nodes in one process, on every configured backend.  Every
 * fire of every node goes into one log (task, slot, fence, node); the
 * checks: no slot fired twice anywhere, a task's slots only grow, fences
 * never go back, fires land on the trigger's slots, the misfire policies
 * (once: one late fire after an outage, skip: none, all: each missed slot
 * up to max_catchup), count-limited tasks fire exactly count times and
 * end COMPLETED, and the refusals.
 */
#include "cluster.h"

#include <time.h>

#define IV (100 * tc_time_scale)

typedef struct fire {
    char task[64];
    int64_t slot, at;
    uint64_t fence;
    int node;
} fire;

#define MAX_FIRES 20000
static fire fires[MAX_FIRES];
static size_t nfires;
static pthread_mutex_t fires_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* user_data: the node's index + 1 (a pointer-sized int) */
static void on_fire(ccoord_node *n, const char *task, uint64_t fence, int64_t slot, void *ud)
{
    uint64_t f = 0;
    (void)n;
    pthread_mutex_lock(&fires_mu);
    if (nfires < MAX_FIRES) {
        fire *x = &fires[nfires++];
        snprintf(x->task, sizeof x->task, "%s", task);
        x->slot = slot;
        x->at = wall_ms();
        x->fence = fence;
        x->node = (int)(intptr_t)ud - 1;
    }
    pthread_mutex_unlock(&fires_mu);
    /* the fence a fire gets is the one acquire says while it runs */
    if (ccoord_acquire_task(n, task, &f) == CCOORD_OK && f != fence)
        fail_msg("%s fired with fence %llu while acquire says %llu", task,
                 (unsigned long long)fence, (unsigned long long)f);
}

static void fires_reset(void)
{
    pthread_mutex_lock(&fires_mu);
    nfires = 0;
    pthread_mutex_unlock(&fires_mu);
}

static size_t fires_of(const char *task)
{
    size_t i, n = 0;
    pthread_mutex_lock(&fires_mu);
    for (i = 0; i < nfires; i++)
        n += strcmp(fires[i].task, task) == 0;
    pthread_mutex_unlock(&fires_mu);
    return n;
}

/* The safety of the fire log: per task, slots strictly grow in the order
 * they fired (so none twice), fences never go back, every slot on the
 * grid of interval_ms (0: not checked). */
static void check_fires(const char *task, int64_t interval_ms)
{
    size_t i, n = 0;
    int64_t last = -1;
    uint64_t fence = 0;
    pthread_mutex_lock(&fires_mu);
    for (i = 0; i < nfires; i++) {
        fire *x = &fires[i];
        if (strcmp(x->task, task) != 0)
            continue;
        n++;
        if (x->slot <= last)
            fail_msg("%s: slot %lld fired (node %d) after slot %lld: twice or backwards", task,
                     (long long)x->slot, x->node, (long long)last);
        if (x->fence < fence)
            fail_msg("%s: fence %llu after %llu", task, (unsigned long long)x->fence,
                     (unsigned long long)fence);
        if (interval_ms && x->slot % interval_ms != 0)
            fail_msg("%s: slot %lld is not on the grid of %lld ms", task, (long long)x->slot,
                     (long long)interval_ms);
        last = x->slot;
        fence = x->fence;
    }
    pthread_mutex_unlock(&fires_mu);
    print_message("      [%s] %s: %zu fires, each slot once, fences only grew\n", tc_backend,
                  task, n);
}

static void schedule_all(tc_cluster *c, const char *task, const char *trigger)
{
    int i;
    for (i = 0; i < c->count; i++)
        if (c->nodes[i].node) {
            int rc = ccoord_task_schedule(c->nodes[i].node, task, trigger, on_fire,
                                          (void *)(intptr_t)(i + 1));
            if (rc)
                fail_msg("schedule %s %s on %s: %s", task, trigger, c->nodes[i].id,
                         ccoord_errmsg(c->nodes[i].node));
        }
}

/* One node, interval=100: fires on the grid, on time, each slot once;
 * the DEBUG line per fire; the metrics count them. */
static void test_schedule_interval_fires_on_the_grid(void **state)
{
    tc_cluster c;
    char *text = NULL;
    size_t n;
    (void)state;
    fires_reset();
    tc_init(&c, IV);
    tc_start_settled(&c, 1, 30 * IV);
    ccoord_set_log_level(c.nodes[0].node, CCOORD_LOG_DEBUG);
    schedule_all(&c, "grid", "interval=100");
    tu_sleep_ms(10 * IV);
    n = fires_of("grid");
    if (n < 5 * (size_t)(IV / 100))
        fail_msg("only %zu fires of interval=100 in %d ms", n, 10 * IV);
    check_fires("grid", 100);
    {
        /* on time: each started within the grace (100 ms) of its slot */
        size_t i, late = 0;
        pthread_mutex_lock(&fires_mu);
        for (i = 0; i < nfires; i++)
            late += fires[i].at - fires[i].slot > 100;
        pthread_mutex_unlock(&fires_mu);
        assert_true(late <= 1 + (size_t)tc_time_scale);
    }
    assert_true(tc_logged(&c.nodes[0], "Task fired: [ESB_TASK][grid] slot "));
    assert_true(tc_logged(&c.nodes[0], "Task scheduled: [ESB_TASK][grid]."));
    assert_int_equal(ccoord_metrics(c.nodes[0].node, &text), CCOORD_OK);
    assert_non_null(strstr(text, "ccoord_fires_total{node=\"node-1\",group=\"default\"} "));
    ccoord_free(text);
    assert_int_equal(ccoord_task_unschedule(c.nodes[0].node, "grid"), CCOORD_OK);
    n = fires_of("grid");
    tu_sleep_ms(3 * IV);
    assert_true(fires_of("grid") <= n + 1); /* at most one already queued */
    tc_free(&c);
}

/* Three nodes, four tasks at 100-200 ms; the owners leave and are freed
 * (a crash as far as the others can tell) in turn: no slot fires twice
 * anywhere, fences grow, every task keeps firing on a survivor. */
static void test_schedule_one_fire_per_slot_across_failover(void **state)
{
    static const char *const tasks[] = {"s-0", "s-1", "s-2", "s-3"};
    static const char *const trig[] = {"interval=100", "interval=150", "interval=200",
                                       "interval=100;misfire=all"};
    tc_cluster c;
    tc_sampler smp;
    int i, round;
    (void)state;
    fires_reset();
    tc_init(&c, IV);
    c.resolver = "roundrobin";
    tc_start_settled(&c, 3, 30 * IV);
    for (i = 0; i < 4; i++)
        schedule_all(&c, tasks[i], trig[i]);
    tc_sampler_start(&smp, &c, "s-", 4);
    for (round = 0; round < 2; round++) {
        int victim = -1;
        size_t before[4];
        tu_sleep_ms(6 * IV);
        for (i = 0; i < 4; i++)
            before[i] = fires_of(tasks[i]);
        victim = tc_owner(&c, "s-0", NULL, NULL);
        assert_true(victim >= 0);
        if (round == 0) {
            assert_int_equal(ccoord_leave(c.nodes[victim].node), CCOORD_OK);
        } else {
            /* no leave: the others find out after the timeout */
            ccoord__test_freeze(c.nodes[victim].node, 1);
        }
        tu_sleep_ms(round == 0 ? 6 * IV : 10 * IV);
        for (i = 0; i < 4; i++)
            if (fires_of(tasks[i]) <= before[i])
                fail_msg("%s did not fire again after %s %s", tasks[i],
                         round ? "freezing" : "the leave of", c.nodes[victim].id);
        if (round == 1)
            ccoord__test_freeze(c.nodes[victim].node, 0);
    }
    tc_sampler_stop(&smp);
    for (i = 0; i < 3; i++)
        if (c.nodes[i].node)
            ccoord_leave(c.nodes[i].node);
    check_fires("s-0", 100);
    check_fires("s-1", 150);
    check_fires("s-2", 200);
    check_fires("s-3", 100);
    tc_free(&c);
}

/* count=5: five fires in the whole cluster, then COMPLETED, also when the
 * owner leaves half way. */
static void test_schedule_count_completes_once(void **state)
{
    tc_cluster c;
    int st = 0, owner;
    (void)state;
    fires_reset();
    tc_init(&c, IV);
    tc_start_settled(&c, 2, 30 * IV);
    schedule_all(&c, "five", "interval=100;count=5");
    if (TC_WAIT(30 * IV, fires_of("five") >= 2) < 0)
        fail_msg("five: %zu fires", fires_of("five"));
    owner = tc_owner(&c, "five", NULL, NULL);
    if (owner >= 0)
        assert_int_equal(ccoord_leave(c.nodes[owner].node), CCOORD_OK);
    if (TC_WAIT(60 * IV, fires_of("five") >= 5) < 0)
        fail_msg("five: %zu fires after the leave", fires_of("five"));
    {
        int other = owner == 0 ? 1 : 0;
        if (TC_WAIT(30 * IV, ccoord_task_state(c.nodes[other].node, "five", &st) == CCOORD_OK &&
                                 st == CCOORD_TASK_COMPLETED) < 0)
            fail_msg("five is not COMPLETED (state %d)", st);
        tu_sleep_ms(3 * IV);
        assert_int_equal(fires_of("five"), 5);
        assert_true(TC_WAIT(10 * IV, tc_logged(&c.nodes[other], "Task completed: "
                                                                 "[ESB_TASK][five]")) >= 0 ||
                    tc_logged(&c.nodes[owner < 0 ? 0 : owner], "Task completed: "));
    }
    check_fires("five", 100);
    tc_free(&c);
}

/* An outage of the task (paused for three slots, then resumed 200 ms
 * after a slot with a grace of 50 ms, so that the latest missed slot is a
 * misfire): misfire=once fires it late, skip does not, all fires each
 * missed slot up to max_catchup (2 of 3). */
static void test_schedule_misfire_policies(void **state)
{
    static const struct {
        const char *task, *policy;
        size_t late;
    } k[] = {{"m-once", "misfire=once", 1},
             {"m-skip", "misfire=skip", 0},
             {"m-all", "misfire=all;max_catchup=2", 2}};
    int64_t iv = 400 * tc_time_scale, resumed;
    tc_cluster c;
    size_t i;
    (void)state;
    fires_reset();
    tc_init(&c, IV);
    tc_start_settled(&c, 1, 30 * IV);
    for (i = 0; i < 3; i++) {
        char trig[128];
        snprintf(trig, sizeof trig, "interval=%lld;grace=%d;%s", (long long)iv,
                 50 * tc_time_scale, k[i].policy);
        schedule_all(&c, k[i].task, trig);
    }
    for (i = 0; i < 3; i++)
        if (TC_WAIT(30 * IV, fires_of(k[i].task) >= 1) < 0)
            fail_msg("%s never fired", k[i].task);
    for (i = 0; i < 3; i++)
        assert_int_equal(ccoord_task_pause(c.nodes[0].node, k[i].task), CCOORD_OK);
    /* three slots go by; resume half way between two */
    tu_sleep_ms(3 * iv);
    while (wall_ms() % iv != iv / 2)
        tu_sleep_ms(1);
    resumed = wall_ms();
    for (i = 0; i < 3; i++)
        assert_int_equal(ccoord_task_resume(c.nodes[0].node, k[i].task), CCOORD_OK);
    tu_sleep_ms(3 * iv);
    for (i = 0; i < 3; i++) {
        size_t j, late = 0, after = 0;
        pthread_mutex_lock(&fires_mu);
        for (j = 0; j < nfires; j++)
            if (strcmp(fires[j].task, k[i].task) == 0 && fires[j].at >= resumed) {
                after++;
                late += fires[j].slot < resumed; /* a slot of the pause */
            }
        pthread_mutex_unlock(&fires_mu);
        if (late != k[i].late || after <= late) {
            pthread_mutex_lock(&fires_mu);
            for (j = 0; j < nfires; j++)
                if (strcmp(fires[j].task, k[i].task) == 0)
                    print_message("      %s slot %lld at %+lld ms from the resume (%lld ms "
                                  "after the slot), fence %llu\n", fires[j].task,
                                  (long long)fires[j].slot, (long long)(fires[j].at - resumed),
                                  (long long)(fires[j].at - fires[j].slot),
                                  (unsigned long long)fires[j].fence);
            pthread_mutex_unlock(&fires_mu);
            fail_msg("%s: %zu late fire(s) after the pause (want %zu), %zu in all", k[i].task,
                     late, k[i].late, after);
        }
        print_message("      [%s] %s: %zu late fire(s) after a pause of three slots, then on "
                      "time\n", tc_backend, k[i].task, late);
        check_fires(k[i].task, iv);
    }
    tc_free(&c);
}

static void test_schedule_refusals(void **state)
{
    tc_cluster c;
    ccoord_node *n;
    (void)state;
    tc_init(&c, IV);
    n = tc_add(&c, NULL)->node;
    assert_int_equal(ccoord_task_schedule(n, "t", "interval=5", on_fire, NULL), CCOORD_EINVAL);
    assert_non_null(strstr(ccoord_errmsg(n), "ccoord_task_schedule(t): trigger \"interval=5\": "
                                             "interval=5: not a whole number of ms in range"));
    assert_int_equal(ccoord_task_schedule(n, "t", "cron=0 0 12 * * *", on_fire, NULL),
                     CCOORD_EINVAL);
    assert_non_null(strstr(ccoord_errmsg(n), "exactly one of them must be ?"));
    assert_int_equal(ccoord_task_schedule(n, "t", NULL, on_fire, NULL), CCOORD_EINVAL);
    assert_non_null(strstr(ccoord_errmsg(n), "trigger is NULL"));
    assert_int_equal(ccoord_task_schedule(n, "t", "interval=1000", NULL, NULL), CCOORD_EINVAL);
    assert_int_equal(ccoord_task_schedule(n, " t", "interval=1000", on_fire, NULL),
                     CCOORD_EINVAL);
    /* before join is fine; twice is not */
    assert_int_equal(ccoord_task_schedule(n, "t", "cron=0 0/5 * * * ?;tz=Europe/Berlin", on_fire,
                                          NULL),
                     CCOORD_OK);
    assert_int_equal(ccoord_task_schedule(n, "t", "interval=1000", on_fire, NULL), CCOORD_EMISUSE);
    assert_non_null(strstr(ccoord_errmsg(n), "scheduled already"));
    assert_int_equal(ccoord_task_unschedule(n, "t"), CCOORD_OK);
    assert_int_equal(ccoord_task_unschedule(n, "t"), CCOORD_ENOTFOUND);
    assert_int_equal(ccoord_task_unschedule(NULL, "t"), CCOORD_EINVAL);
    assert_int_equal(ccoord_task_schedule(NULL, "t", "interval=1000", on_fire, NULL),
                     CCOORD_EINVAL);
    tc_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_refusals),
        cmocka_unit_test(test_schedule_interval_fires_on_the_grid),
        cmocka_unit_test(test_schedule_count_completes_once),
        cmocka_unit_test(test_schedule_misfire_policies),
        cmocka_unit_test(test_schedule_one_fire_per_slot_across_failover),
    };
    return tc_run_all("schedule", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
