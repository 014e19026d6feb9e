/*
 * examples/host_server/host_server.c: a small server that embeds
 * libclustercoord the way WSO2 Micro Integrator embeds its RDBMS
 * coordination.
 *
 *   host_server [--task-interval-ms N] [--http-port N | --no-http]
 *               [--node-id ID] [--log-level LEVEL] CONFIG | --mi-config PATH
 *
 * - reads CONFIG, an INI file with the library's own sections only
 *   (clustercoord.conf(5)); the server's own settings are options, because
 *   the library refuses keys it does not know; or, with --mi-config, a WSO2
 *   Micro Integrator deployment.toml as it is (ccoord_config_load_mi(3));
 * - schedules the task "sample-task" every --task-interval-ms (default
 *   5000; ccoord_task_schedule(3): the library fires it on the node that
 *   owns it, each slot once in the cluster), joins the cluster and logs one
 *   line per run with the slot and the fencing token;
 * - serves GET / and GET /status on 127.0.0.1:--http-port (default 8081,
 *   0 picks a free port and logs it) as JSON for load-balancer health
 *   checks: this node, the leader, the members, the tasks it owns; and
 *   GET /metrics, the node's metrics for Prometheus (ccoord_metrics(3));
 * - leaves the cluster gracefully on SIGTERM or SIGINT and exits 0.
 *
 * One thread of its own: an epoll loop over a signalfd, a wake-up pipe
 * written by the library's task callback, the listening socket and the
 * HTTP connections; the fires run on the library's dispatcher thread.  No
 * dependency besides libclustercoord and libc.  (examples/host_loop shows
 * a host that asks ccoord_acquire_task() before each run of its own
 * timer instead.)
 *
 * Exit status: 0 after a graceful leave, 1 on a run-time failure (join,
 * socket, leave), 2 on a usage or configuration error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <clustercoord.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TASK_NAME "sample-task"
#define MAX_CONNS 64
#define REQ_MAX 8192
#define CONN_TIMEOUT_MS 5000

/* ---- logging ----------------------------------------------------------
 * One format for the library's lines and ours, the library's default:
 *   [2020-04-17 17:09:14,768]  INFO {clustercoord} [node-1] - message
 * (the reference's, with the node id).
 * Each line goes out in one write(2), so lines written from the library's
 * thread and from ours never interleave. */

static int log_level = CCOORD_LOG_INFO;

/* The node id in our own lines (set once the node exists). */
static char our_id[256] = "-";

static void emit(int level, const char *component, const char *id, const char *msg)
{
    static const char *names[] = {"", "ERROR", " WARN", " INFO", "DEBUG"};
    char when[32], line[1600];
    struct timespec ts;
    struct tm tm;
    size_t off = 0;
    int len;
    if (level > log_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    len = snprintf(line, sizeof line, "[%s,%03ld] %s {%s} [%s] - %s\n", when,
                   ts.tv_nsec / 1000000, names[level >= 1 && level <= 4 ? level : 3], component,
                   id, msg);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof line) {
        len = sizeof line - 1;
        line[len - 1] = '\n';
    }
    while (off < (size_t)len) {
        ssize_t w = write(STDERR_FILENO, line + off, (size_t)len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static void logf_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int level, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, "host_server", our_id, msg);
}

/* Runs on whatever thread calls into the node, one call at a time. */
static void lib_log(ccoord_node *node, int level, const char *msg, void *user_data)
{
    (void)user_data;
    emit(level, "clustercoord", ccoord_node_id(node), msg);
}

/* ---- time ------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a growable string ------------------------------------------------ */

typedef struct sbuf {
    char *data;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = realloc(b->data, cap))) {
            b->oom = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        b->oom = 1; /* only used for short numeric fields */
    else
        sb_add(b, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (1 to 4), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

/* Appends s as a JSON string literal: quotes, backslashes and control
 * characters escaped, bytes that are not valid UTF-8 replaced by U+FFFD,
 * so the output is valid JSON whatever a node id contains. */
static void sb_json_str(sbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    sb_add(b, "\"", 1);
    while (*s) {
        size_t n;
        if (*s == '"' || *s == '\\') {
            char esc[2] = {'\\', (char)*s};
            sb_add(b, esc, 2);
            s++;
        } else if (*s < 0x20 || *s == 0x7f) {
            switch (*s) {
            case '\n': sb_add(b, "\\n", 2); break;
            case '\r': sb_add(b, "\\r", 2); break;
            case '\t': sb_add(b, "\\t", 2); break;
            case '\b': sb_add(b, "\\b", 2); break;
            case '\f': sb_add(b, "\\f", 2); break;
            default: sb_printf(b, "\\u%04x", *s); break;
            }
            s++;
        } else if ((n = utf8_len(s)) > 0) {
            sb_add(b, (const char *)s, n);
            s += n;
        } else {
            sb_add(b, "\\ufffd", 6);
            s++;
        }
    }
    sb_add(b, "\"", 1);
}

/* ---- the server's state ----------------------------------------------- */

typedef struct conn {
    int fd; /* -1: free slot */
    char in[REQ_MAX];
    size_t inlen;
    char *out;
    size_t outlen, outoff;
    int64_t deadline_ms;
} conn;

typedef struct server {
    ccoord_node *node;
    int ep, sigfd, listenfd;
    int wake[2];            /* the task callback writes, the loop reads */
    int port;
    long interval_ms;
    int scheduled;          /* this node runs the task now (loop thread) */
    _Atomic unsigned long long runs; /* fires (dispatcher thread) */
    conn conns[MAX_CONNS];
} server;

/* epoll tags: the fixed fds, then connection slots from TAG_CONN on. */
enum { TAG_SIGNAL = 1, TAG_WAKE, TAG_LISTEN, TAG_CONN = 16 };

/* Library thread: just wake the loop, which asks acquire_task itself. */
static void task_changed(ccoord_node *node, int event, const char *task, uint64_t fence,
                         void *user_data)
{
    server *s = user_data;
    char one = 1;
    (void)node;
    (void)event;
    (void)task;
    (void)fence;
    if (write(s->wake[1], &one, 1) < 0 && errno != EAGAIN)
        logf_(CCOORD_LOG_WARN, "cannot wake the main loop: %s", strerror(errno));
}

/* ---- the task ---------------------------------------------------------- */

/* The work itself, at each slot, on the owner only (library's dispatcher
 * thread).  A real server would pass fence on to whatever the task writes
 * to, so a late write of a former owner can be refused, and a long run
 * would check ccoord_acquire_task() with it as it goes. */
static void run_task(ccoord_node *node, const char *task, uint64_t fence, int64_t slot_ms,
                     void *user_data)
{
    server *s = user_data;
    unsigned long long run = atomic_fetch_add(&s->runs, 1) + 1;
    (void)node;
    logf_(CCOORD_LOG_INFO, "%s ran (fence %" PRIu64 ", slot %" PRId64 ", run %llu on this node)",
          task, fence, slot_ms, run);
}

/* Called on every loop turn: cheap, answered from the library's memory.
 * Only for the log lines; the library runs the task. */
static void drive_task(server *s)
{
    int rc = ccoord_acquire_task(s->node, TASK_NAME, NULL);
    if (rc != CCOORD_OK && s->scheduled)
        logf_(CCOORD_LOG_INFO, "%s stopped on this node: %s", TASK_NAME, ccoord_strerror(rc));
    s->scheduled = rc == CCOORD_OK;
}

/* ---- HTTP status --------------------------------------------------------- */

static int build_status(server *s, sbuf *b)
{
    char **members = NULL, **tasks = NULL, *leader = NULL;
    size_t nmembers = 0, ntasks = 0, i;
    int rc, lrc, first = 1;

    rc = ccoord_members(s->node, &members, &nmembers);
    if (rc != CCOORD_OK)
        return rc;
    rc = ccoord_owned_tasks(s->node, &tasks, &ntasks);
    if (rc != CCOORD_OK) {
        ccoord_free_list(members, nmembers);
        return rc;
    }
    lrc = ccoord_leader(s->node, &leader);

    sb_puts(b, "{\"node\":");
    sb_json_str(b, ccoord_node_id(s->node));
    sb_puts(b, ",\"leader\":");
    if (lrc == CCOORD_OK)
        sb_json_str(b, leader);
    else
        sb_puts(b, "null");
    sb_puts(b, ccoord_is_leader(s->node) ? ",\"is_leader\":true" : ",\"is_leader\":false");
    sb_puts(b, ",\"members\":[");
    for (i = 0; i < nmembers; i++) {
        if (i)
            sb_puts(b, ",");
        sb_json_str(b, members[i]);
    }
    sb_puts(b, "],\"tasks\":[");
    for (i = 0; i < ntasks; i++) {
        uint64_t fence;
        if (ccoord_acquire_task(s->node, tasks[i], &fence) != CCOORD_OK)
            continue; /* lost it between the two calls */
        if (!first)
            sb_puts(b, ",");
        first = 0;
        sb_puts(b, "{\"name\":");
        sb_json_str(b, tasks[i]);
        sb_printf(b, ",\"fence\":%" PRIu64 "}", fence);
    }
    sb_printf(b, "],\"task_runs\":%llu,\"library_version\":", atomic_load(&s->runs));
    sb_json_str(b, ccoord_version());
    sb_puts(b, "}\n");

    ccoord_free(leader);
    ccoord_free_list(tasks, ntasks);
    ccoord_free_list(members, nmembers);
    return b->oom ? CCOORD_ENOMEM : CCOORD_OK;
}

static void conn_close(server *s, conn *c)
{
    (void)s;
    if (c->fd >= 0)
        close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    free(c->out);
    c->out = NULL;
    c->inlen = c->outlen = c->outoff = 0;
}

/* Sends what is left of c->out; closes c when done or broken. */
static void conn_flush(server *s, conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* EPOLLOUT brings us back */
        if (w <= 0) {
            conn_close(s, c);
            return;
        }
        c->outoff += (size_t)w;
    }
    shutdown(c->fd, SHUT_WR);
    conn_close(s, c);
}

static void respond_typed(server *s, conn *c, int code, const char *reason, const char *type,
                          const char *extra_headers, const char *body, int head_only)
{
    sbuf r = {0};
    struct epoll_event ev;
    size_t blen = strlen(body);
    sb_printf(&r, "HTTP/1.1 %d ", code);
    sb_puts(&r, reason);
    sb_printf(&r,
              "\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n",
              type, blen);
    sb_puts(&r, extra_headers);
    sb_puts(&r, "\r\n");
    if (!head_only)
        sb_add(&r, body, blen);
    if (r.oom) {
        free(r.data);
        conn_close(s, c);
        return;
    }
    c->out = r.data;
    c->outlen = r.len;
    c->outoff = 0;
    ev.events = EPOLLOUT;
    ev.data.u64 = (uint64_t)(TAG_CONN + (c - s->conns));
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
    conn_flush(s, c);
}

static void respond(server *s, conn *c, int code, const char *reason, const char *extra_headers,
                    const char *body, int head_only)
{
    respond_typed(s, c, code, reason, "application/json", extra_headers, body, head_only);
}

/* A complete request head is in c->in: answer it. */
static void handle_request(server *s, conn *c)
{
    char method[16], target[1024], version[16];
    char *eol = memchr(c->in, '\n', c->inlen);
    size_t linelen = (size_t)(eol - c->in);
    int head_only;
    char line[REQ_MAX + 1];

    memcpy(line, c->in, linelen);
    line[linelen] = '\0';
    if (linelen && line[linelen - 1] == '\r')
        line[linelen - 1] = '\0';
    if (sscanf(line, "%15s %1023s %15s", method, target, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0) {
        respond(s, c, 400, "Bad Request", "", "{\"error\":\"bad request\"}\n", 0);
        return;
    }
    head_only = strcmp(method, "HEAD") == 0;
    if (!head_only && strcmp(method, "GET") != 0) {
        respond(s, c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n",
                "{\"error\":\"method not allowed\"}\n", 0);
        return;
    }
    target[strcspn(target, "?#")] = '\0';
    if (strcmp(target, "/") == 0 || strcmp(target, "/status") == 0) {
        sbuf b = {0};
        int rc = build_status(s, &b);
        if (rc == CCOORD_OK) {
            respond(s, c, 200, "OK", "", b.data, head_only);
        } else {
            sbuf e = {0};
            sb_puts(&e, "{\"error\":");
            sb_json_str(&e, ccoord_strerror(rc));
            sb_puts(&e, "}\n");
            respond(s, c, 503, "Service Unavailable", "",
                    e.oom ? "{\"error\":\"out of memory\"}\n" : e.data, head_only);
            free(e.data);
        }
        free(b.data);
        return;
    }
    if (strcmp(target, "/metrics") == 0) {
        /* the node's metrics for a Prometheus scraper (ccoord_metrics(3)) */
        char *text = NULL;
        int rc = ccoord_metrics(s->node, &text);
        if (rc == CCOORD_OK)
            respond_typed(s, c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", "", text,
                          head_only);
        else
            respond(s, c, 503, "Service Unavailable", "", "{\"error\":\"no metrics\"}\n",
                    head_only);
        ccoord_free(text);
        return;
    }
    respond(s, c, 404, "Not Found", "", "{\"error\":\"not found\"}\n", head_only);
}

static void conn_read(server *s, conn *c)
{
    for (;;) {
        ssize_t r;
        if (c->inlen == sizeof c->in) {
            respond(s, c, 431, "Request Header Fields Too Large", "",
                    "{\"error\":\"request too large\"}\n", 0);
            return;
        }
        r = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            conn_close(s, c);
            return;
        }
        c->inlen += (size_t)r;
        if (memmem(c->in, c->inlen, "\r\n\r\n", 4) || memmem(c->in, c->inlen, "\n\n", 2)) {
            handle_request(s, c);
            return;
        }
    }
}

static void accept_all(server *s)
{
    for (;;) {
        struct epoll_event ev;
        int i, fd = accept4(s->listenfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                logf_(CCOORD_LOG_WARN, "accept: %s", strerror(errno));
            return;
        }
        for (i = 0; i < MAX_CONNS && s->conns[i].fd >= 0; i++)
            ;
        if (i == MAX_CONNS) {
            close(fd); /* busy: the client retries */
            continue;
        }
        s->conns[i].fd = fd;
        s->conns[i].inlen = 0;
        s->conns[i].deadline_ms = now_ms() + CONN_TIMEOUT_MS;
        ev.events = EPOLLIN;
        ev.data.u64 = (uint64_t)(TAG_CONN + i);
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            logf_(CCOORD_LOG_WARN, "epoll_ctl: %s", strerror(errno));
            conn_close(s, &s->conns[i]);
        }
    }
}

static int open_listener(server *s, int port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        logf_(CCOORD_LOG_ERROR, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        logf_(CCOORD_LOG_ERROR, "cannot listen on 127.0.0.1:%d: %s%s", port, strerror(errno),
              errno == EADDRINUSE ? " (choose another --http-port, or 0 for any free port)"
                                  : "");
        close(fd);
        return -1;
    }
    if (listen(fd, 64) < 0 || getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        logf_(CCOORD_LOG_ERROR, "cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    s->listenfd = fd;
    s->port = ntohs(a.sin_port);
    return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: host_server [OPTION]... CONFIG\n"
            "       host_server [OPTION]... --mi-config PATH\n"
            "Joins the cluster described by CONFIG (clustercoord.conf(5)), runs the task\n"
            "'" TASK_NAME "' while this node owns it, serves a JSON status on 127.0.0.1.\n"
            "\n"
            "  --mi-config PATH      read a WSO2 Micro Integrator deployment.toml instead\n"
            "                        of CONFIG\n"
            "  --task-interval-ms N  run the task every N ms while owned (default 5000)\n"
            "  --http-port N         status port on 127.0.0.1 (default 8081; 0: any free\n"
            "                        port, logged at start)\n"
            "  --no-http             no status endpoint\n"
            "  --node-id ID          node id, overrides the file and $nodeId\n"
            "  --log-level LEVEL     error, warn, info (default) or debug\n"
            "  --help, --version\n"
            "\n"
            "SIGTERM or SIGINT: leave the cluster gracefully and exit 0.\n");
}

static int parse_long(const char *opt, const char *arg, long min, long max, long *ret)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "host_server: %s %s: expected an integer from %ld to %ld\n", opt, arg,
                min, max);
        return -1;
    }
    *ret = v;
    return 0;
}

static int event_loop(server *s)
{
    struct epoll_event evs[32];
    for (;;) {
        int64_t now = now_ms(), wait_ms = 1000;
        int n, i;

        drive_task(s);
        now = now_ms();
        for (i = 0; i < MAX_CONNS; i++) {
            if (s->conns[i].fd < 0)
                continue;
            if (s->conns[i].deadline_ms <= now)
                conn_close(s, &s->conns[i]); /* slow or idle client */
            else if (s->conns[i].deadline_ms - now < wait_ms)
                wait_ms = s->conns[i].deadline_ms - now;
        }

        n = epoll_wait(s->ep, evs, 32, (int)wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            logf_(CCOORD_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                    logf_(CCOORD_LOG_INFO, "Received %s; leaving the cluster",
                          si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                    return 0;
                }
            } else if (tag == TAG_WAKE) {
                char buf[64];
                while (read(s->wake[0], buf, sizeof buf) > 0)
                    ;
            } else if (tag == TAG_LISTEN) {
                accept_all(s);
            } else if (tag >= TAG_CONN && tag < TAG_CONN + MAX_CONNS) {
                conn *c = &s->conns[tag - TAG_CONN];
                if (c->fd < 0)
                    continue;
                if (c->out)
                    conn_flush(s, c);
                else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                    conn_read(s, c);
            }
        }
    }
}

static int add_fd(server *s, int fd, uint64_t tag)
{
    struct epoll_event ev;
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        logf_(CCOORD_LOG_ERROR, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"task-interval-ms", required_argument, NULL, 'i'},
        {"http-port", required_argument, NULL, 'p'},
        {"no-http", no_argument, NULL, 'n'},
        {"node-id", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'l'},
        {"mi-config", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static server srv; /* large (connection buffers): not on the stack */
    server *s = &srv;
    const char *config_path, *node_id = NULL, *mi_path = NULL;
    long interval = 5000, port = 8081;
    int http = 1, c, i, rc, status = 0;
    ccoord_config *cfg = NULL;
    sigset_t sigs;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        long v;
        switch (c) {
        case 'i':
            if (parse_long("--task-interval-ms", optarg, 10, 86400000L, &interval) < 0)
                return 2;
            break;
        case 'p':
            if (parse_long("--http-port", optarg, 0, 65535, &port) < 0)
                return 2;
            break;
        case 'n':
            http = 0;
            break;
        case 'd':
            node_id = optarg;
            break;
        case 'm':
            mi_path = optarg;
            break;
        case 'l':
            if (!strcmp(optarg, "error"))
                v = CCOORD_LOG_ERROR;
            else if (!strcmp(optarg, "warn"))
                v = CCOORD_LOG_WARN;
            else if (!strcmp(optarg, "info"))
                v = CCOORD_LOG_INFO;
            else if (!strcmp(optarg, "debug"))
                v = CCOORD_LOG_DEBUG;
            else {
                fprintf(stderr,
                        "host_server: --log-level %s: expected error, warn, info or debug\n",
                        optarg);
                return 2;
            }
            log_level = (int)v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("host_server (libclustercoord %s)\n", ccoord_version());
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - (mi_path ? 0 : 1)) {
        fprintf(stderr, "host_server: %s\n",
                mi_path           ? "--mi-config and a CONFIG argument: give one of them"
                : optind == argc ? "missing CONFIG argument (or --mi-config PATH)"
                                 : "more than one CONFIG argument");
        usage(stderr);
        return 2;
    }
    config_path = mi_path ? mi_path : argv[optind];

    memset(s, 0, sizeof *s);
    s->ep = s->sigfd = s->listenfd = s->wake[0] = s->wake[1] = -1;
    s->interval_ms = interval;
    for (i = 0; i < MAX_CONNS; i++)
        s->conns[i].fd = -1;

    /* Block the signals before the library starts its threads, so they
     * inherit the mask and only our signalfd sees SIGTERM and SIGINT.
     * Undo an inherited "ignore" (a background job of a shell ignores
     * SIGINT), or the signalfd would never hear of it. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
        (s->sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "host_server: signalfd: %s\n", strerror(errno));
        return 1;
    }

    /* Configuration: the library's own file and checks. */
    rc = ccoord_config_new(&cfg);
    if (rc != CCOORD_OK) {
        fprintf(stderr, "host_server: ccoord_config_new: %s\n", ccoord_strerror(rc));
        return 1;
    }
    {
        const char *what = config_path;
        rc = mi_path ? ccoord_config_load_mi(cfg, config_path)
                     : ccoord_config_load(cfg, config_path);
        if (rc == CCOORD_OK && node_id) {
            what = "--node-id";
            rc = ccoord_config_set(cfg, "cluster_config", "node_id", node_id);
        }
        if (rc == CCOORD_OK) {
            what = config_path;
            rc = ccoord_node_new(cfg, &s->node);
        }
        if (rc != CCOORD_OK) {
            /* The detail names file:line, section.key, the value and what
             * is allowed. */
            fprintf(stderr, "host_server: %s: %s: %s\n", what, ccoord_strerror(rc),
                    ccoord_config_error(cfg));
            ccoord_config_free(cfg);
            return 2;
        }
        ccoord_config_free(cfg);
    }

    snprintf(our_id, sizeof our_id, "%s", ccoord_node_id(s->node));
    ccoord_on_log(s->node, lib_log, NULL);
    ccoord_set_log_level(s->node, log_level);

    if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        logf_(CCOORD_LOG_ERROR, "pipe: %s", strerror(errno));
        status = 1;
        goto out;
    }
    if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        logf_(CCOORD_LOG_ERROR, "epoll_create1: %s", strerror(errno));
        status = 1;
        goto out;
    }
    /* Listen before joining: a port conflict fails before the cluster
     * ever sees this node. */
    if ((http && open_listener(s, (int)port) < 0) || add_fd(s, s->sigfd, TAG_SIGNAL) < 0 ||
        add_fd(s, s->wake[0], TAG_WAKE) < 0 ||
        (s->listenfd >= 0 && add_fd(s, s->listenfd, TAG_LISTEN) < 0)) {
        status = 1;
        goto out;
    }

    ccoord_on_task_change(s->node, task_changed, s);
    {
        char trigger[64];
        snprintf(trigger, sizeof trigger, "interval=%ld", s->interval_ms);
        rc = ccoord_task_schedule(s->node, TASK_NAME, trigger, run_task, s);
    }
    if (rc != CCOORD_OK) {
        logf_(CCOORD_LOG_ERROR, "cannot schedule task %s: %s: %s", TASK_NAME,
              ccoord_strerror(rc), ccoord_errmsg(s->node));
        status = 1;
        goto out;
    }
    logf_(CCOORD_LOG_INFO, "Starting node [%s] (libclustercoord %s), task %s every %ld ms",
          ccoord_node_id(s->node), ccoord_version(), TASK_NAME, s->interval_ms);
    rc = ccoord_join(s->node);
    if (rc != CCOORD_OK) {
        logf_(CCOORD_LOG_ERROR, "cannot join the cluster: %s: %s", ccoord_strerror(rc),
              ccoord_errmsg(s->node));
        status = 1;
        goto out;
    }
    if (s->listenfd >= 0)
        logf_(CCOORD_LOG_INFO, "HTTP status endpoint: http://127.0.0.1:%d/status", s->port);

    if (event_loop(s) < 0)
        status = 1;

    rc = ccoord_leave(s->node);
    if (rc != CCOORD_OK) {
        logf_(CCOORD_LOG_ERROR, "graceful leave failed: %s: %s", ccoord_strerror(rc),
              ccoord_errmsg(s->node));
        status = 1;
    }
    if (s->scheduled)
        logf_(CCOORD_LOG_INFO, "%s stopped on this node: left the cluster", TASK_NAME);
    s->scheduled = 0;
out:
    ccoord_node_free(s->node); /* stops the library's threads first */
    for (i = 0; i < MAX_CONNS; i++)
        conn_close(s, &s->conns[i]);
    if (s->listenfd >= 0)
        close(s->listenfd);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    if (s->ep >= 0)
        close(s->ep);
    close(s->sigfd);
    if (status == 0)
        logf_(CCOORD_LOG_INFO, "Stopped");
    return status;
}
