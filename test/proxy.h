/*
 * test/proxy.h: a TCP proxy on loopback for the tests of faults between a
 * node and its database server (issue 17): one node's connections go
 * through it, the others' do not.
 *
 *   tp_proxy *p = tp_start("127.0.0.1", 5432);   listens on 127.0.0.1:tp_port(p)
 *   tp_delay(p, 0, 300);      client->server 0 ms, server->client 300 ms
 *   tp_delay_from(p, 1);      ... only on connections accepted after the first
 *   tp_hold(p, 1);            a partition: every byte is held, sockets stay
 *                             open, nobody hears of it (no FIN, no RST);
 *                             tp_hold(p, 0) delivers what was held, in order
 *   tp_stop(p);               closes everything, joins every thread
 *
 * Each accepted connection gets a reader and a writer thread per
 * direction: the reader stamps what it read with its delivery time (read
 * time + delay), the writer sends it when due and not held, so a delay
 * never adds up over pipelined messages.  Header-only, like cluster.h.
 */
#ifndef CCOORD_TEST_PROXY_H
#define CCOORD_TEST_PROXY_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct tp_chunk {
    struct tp_chunk *next;
    int64_t due_ms;
    size_t len;
    char data[];
} tp_chunk;

struct tp_conn;

typedef struct tp_dir {
    struct tp_conn *conn;
    int up; /* 1: client -> server */
    int from, to;
    tp_chunk *head, *tail;
    int eof;
    pthread_t rd, wr;
} tp_dir;

typedef struct tp_conn {
    struct tp_proxy *p;
    int cfd, sfd;
    tp_dir d[2];
    long idx; /* accepted as number idx (0: the first) */
    struct tp_conn *next;
} tp_conn;

typedef struct tp_proxy {
    int lfd, port, to_port;
    char to_host[64];
    pthread_t acc;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int delay_ms[2];   /* [0] server -> client, [1] client -> server */
    long delay_from;   /* connections accepted before this one: no delay */
    int hold, stop;
    tp_conn *conns;
    long accepted;
} tp_proxy;

static inline int64_t tp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void *tp_reader(void *arg)
{
    tp_dir *d = arg;
    tp_proxy *p = d->conn->p;
    char buf[65536];
    for (;;) {
        ssize_t k = read(d->from, buf, sizeof buf);
        tp_chunk *c;
        if (k < 0 && errno == EINTR)
            continue;
        pthread_mutex_lock(&p->mu);
        if (k <= 0 || p->stop || !(c = malloc(sizeof *c + (size_t)k))) {
            d->eof = 1;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        c->next = NULL;
        c->len = (size_t)k;
        c->due_ms = tp_now_ms() + (d->conn->idx >= p->delay_from ? p->delay_ms[d->up] : 0);
        memcpy(c->data, buf, (size_t)k);
        if (d->tail)
            d->tail->next = c;
        else
            d->head = c;
        d->tail = c;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static inline void *tp_writer(void *arg)
{
    tp_dir *d = arg;
    tp_proxy *p = d->conn->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        tp_chunk *c = d->head;
        int64_t now = tp_now_ms();
        size_t off = 0;
        if (p->stop || (!c && d->eof))
            break;
        if (!c || p->hold || now < c->due_ms) {
            struct timespec ts;
            int64_t until = c && !p->hold ? c->due_ms : now + 50;
            ts.tv_sec = (time_t)(until / 1000);
            ts.tv_nsec = (long)(until % 1000) * 1000000;
            if (c || d->eof || p->hold)
                pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            else
                pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        d->head = c->next;
        if (!d->head)
            d->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        while (off < c->len) {
            ssize_t k = write(d->to, c->data + off, c->len - off);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        free(c);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    shutdown(d->to, SHUT_WR);
    return NULL;
}

static inline int tp_connect(const char *host, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static inline void *tp_acceptor(void *arg)
{
    tp_proxy *p = arg;
    for (;;) {
        int one = 1, cfd = accept(p->lfd, NULL, NULL), sfd, i;
        tp_conn *c;
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* tp_stop shut the listener */
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sfd = tp_connect(p->to_host, p->to_port);
        c = calloc(1, sizeof *c);
        if (sfd < 0 || !c) {
            close(cfd);
            if (sfd >= 0)
                close(sfd);
            free(c);
            continue;
        }
        c->p = p;
        c->cfd = cfd;
        c->sfd = sfd;
        for (i = 0; i < 2; i++) {
            c->d[i].conn = c;
            c->d[i].up = i;
            c->d[i].from = i ? cfd : sfd;
            c->d[i].to = i ? sfd : cfd;
        }
        pthread_mutex_lock(&p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            close(cfd);
            close(sfd);
            free(c);
            return NULL;
        }
        c->next = p->conns;
        p->conns = c;
        c->idx = p->accepted++;
        for (i = 0; i < 2; i++) {
            pthread_create(&c->d[i].rd, NULL, tp_reader, &c->d[i]);
            pthread_create(&c->d[i].wr, NULL, tp_writer, &c->d[i]);
        }
        pthread_mutex_unlock(&p->mu);
    }
}

/* A proxy to to_host:to_port (IPv4) on 127.0.0.1, a free port; NULL when
 * it could not listen. */
static inline tp_proxy *tp_start(const char *to_host, int to_port)
{
    tp_proxy *p = calloc(1, sizeof *p);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    pthread_condattr_t ca;
    if (!p)
        return NULL;
    snprintf(p->to_host, sizeof p->to_host, "%s", to_host);
    p->to_port = to_port;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(p->lfd, 64) != 0 || getsockname(p->lfd, (struct sockaddr *)&a, &len) != 0) {
        if (p->lfd >= 0)
            close(p->lfd);
        free(p);
        return NULL;
    }
    p->port = ntohs(a.sin_port);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_create(&p->acc, NULL, tp_acceptor, p);
    return p;
}

static inline int tp_port(const tp_proxy *p)
{
    return p->port;
}

/* Delays from now on: up_ms client -> server, down_ms server -> client. */
static inline void tp_delay(tp_proxy *p, int up_ms, int down_ms)
{
    pthread_mutex_lock(&p->mu);
    p->delay_ms[1] = up_ms;
    p->delay_ms[0] = down_ms;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Delays apply only to connections accepted as number k (0: the first)
 * or later: a node opens its API connection at join and its background
 * connection after it, so k = 1 slows the background one alone. */
static inline void tp_delay_from(tp_proxy *p, long k)
{
    pthread_mutex_lock(&p->mu);
    p->delay_from = k;
    pthread_mutex_unlock(&p->mu);
}

/* 1: hold every byte both ways (a partition); 0: deliver again. */
static inline void tp_hold(tp_proxy *p, int on)
{
    pthread_mutex_lock(&p->mu);
    p->hold = on;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static inline long tp_accepted(tp_proxy *p)
{
    long k;
    pthread_mutex_lock(&p->mu);
    k = p->accepted;
    pthread_mutex_unlock(&p->mu);
    return k;
}

static inline void tp_stop(tp_proxy *p)
{
    tp_conn *c, *next;
    int i;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    shutdown(p->lfd, SHUT_RDWR);
    pthread_join(p->acc, NULL);
    close(p->lfd);
    /* the acceptor is gone: the list no longer changes */
    for (c = p->conns; c; c = c->next) {
        shutdown(c->cfd, SHUT_RDWR);
        shutdown(c->sfd, SHUT_RDWR);
    }
    for (c = p->conns; c; c = next) {
        next = c->next;
        for (i = 0; i < 2; i++) {
            pthread_join(c->d[i].rd, NULL);
            pthread_join(c->d[i].wr, NULL);
            while (c->d[i].head) {
                tp_chunk *k = c->d[i].head;
                c->d[i].head = k->next;
                free(k);
            }
        }
        close(c->cfd);
        close(c->sfd);
        free(c);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

#endif
