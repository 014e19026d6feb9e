/*
 * lib/config_mi.c: ccoord_config_load_mi(), a WSO2 Micro Integrator
 * deployment.toml read unchanged (floor 3: calls toml.c and config.c).
 *
 * The TOML is read by toml.c into one table per section this library
 * reads ([server], [cluster_config], the [[datasource]] elements,
 * [task_handling], the first [[task_resolver]]); everything else is listed
 * once at INFO as ignored.  The coordination datasource's JDBC URL and
 * Java driver class become this library's keys (datasource.driver, host,
 * port, dbname, ssl_mode, ...), which config.c then checks and applies like
 * any file: the same messages, all or nothing, the host program's keys
 * first.  Messages name the MI key as written ("datasource.url").
 */
#include "config.h"
#include "toml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char COORD_ID[] = "WSO2_COORDINATION_DB";
static const char SEE[] = "see clustercoord.conf(5), READING AN MI DEPLOYMENT.TOML";

/* ---- the document, as far as we read it ------------------------------ */

typedef struct mi_val {
    char *key; /* path inside its table, dotted: "pool_options.maxActive" */
    char *value;
    int kind, line;
} mi_val;

typedef struct mi_table {
    mi_val *v;
    size_t n, cap;
    int line; /* of its header, 0 when it had none */
} mi_table;

typedef struct mi_doc {
    const char *name;
    mi_table server, cluster, handling, resolver;
    mi_table *ds;
    size_t nds;
    int resolvers, resolver2_line; /* [[task_resolver]] tables; line of the 2nd */
    ccoord__buf ignored;           /* "[keystore.tls], [transport.http], ..." */
    ccoord__map *ignored_set;
    char *err;
    size_t errlen;
} mi_doc;

static void table_free(mi_table *t)
{
    size_t i;
    for (i = 0; i < t->n; i++) {
        ccoord__free_mem(t->v[i].key);
        if (t->v[i].value)
            explicit_bzero(t->v[i].value, strlen(t->v[i].value));
        ccoord__free_mem(t->v[i].value);
    }
    ccoord__free_mem(t->v);
    memset(t, 0, sizeof *t);
}

static void doc_free(mi_doc *d)
{
    size_t i;
    table_free(&d->server);
    table_free(&d->cluster);
    table_free(&d->handling);
    table_free(&d->resolver);
    for (i = 0; i < d->nds; i++)
        table_free(&d->ds[i]);
    ccoord__free_mem(d->ds);
    ccoord__buf_free(&d->ignored);
    ccoord__map_free(d->ignored_set, NULL);
}

static const mi_val *table_get(const mi_table *t, const char *key)
{
    size_t i;
    for (i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return &t->v[i];
    return NULL;
}

/* "a.b.c" from components from..to of an item. */
static char *join(const ccoord__toml_item *it, size_t from)
{
    ccoord__buf b;
    size_t i;
    ccoord__buf_init(&b);
    for (i = from; i < it->depth; i++) {
        if (i > from)
            ccoord__buf_add(&b, ".");
        ccoord__buf_add(&b, it->keys[i]);
    }
    if (b.oom || !b.data) {
        ccoord__buf_free(&b);
        return b.oom ? NULL : ccoord__strdup("");
    }
    return b.data;
}

static int table_add(mi_table *t, const ccoord__toml_item *it)
{
    mi_val *v;
    if (ccoord__grow(&t->v, &t->cap, t->n, sizeof *t->v, 8) != CCOORD_OK)
        return CCOORD_ENOMEM;
    v = &t->v[t->n];
    memset(v, 0, sizeof *v);
    v->kind = it->kind;
    v->line = it->line;
    if (!(v->key = join(it, 1)) || (it->value && !(v->value = ccoord__strdup(it->value)))) {
        ccoord__free_mem(v->key);
        return CCOORD_ENOMEM;
    }
    t->n++;
    return CCOORD_OK;
}

/* Lists a header of an ignored section once ("[keystore.tls]"), and a
 * key outside any such header by its first name ("top" marks, in the
 * set, a first name that has been listed or has a header). */
static int note_ignored(mi_doc *d, const ccoord__toml_item *it, int header)
{
    char *name, shown[200], top[220];
    int rc = CCOORD_OK, listed;
    ccoord__fmt(top, sizeof top, "\x01%s", it->keys[0]);
    if (!header && ccoord__map_get(d->ignored_set, top))
        return CCOORD_OK;
    if (!(name = header ? join(it, 0) : ccoord__strdup(it->keys[0])))
        return CCOORD_ENOMEM;
    listed = ccoord__map_get(d->ignored_set, name) != NULL;
    if (!listed && (ccoord__map_put(d->ignored_set, name, d, NULL) != CCOORD_OK ||
                    ccoord__map_put(d->ignored_set, top, d, NULL) != CCOORD_OK))
        rc = CCOORD_ENOMEM;
    if (!listed && !rc) {
        ccoord__printable(shown, sizeof shown, name, 80);
        ccoord__buf_addf(&d->ignored, "%s%s%s%s", d->ignored.len ? ", " : "", header ? "[" : "",
                         shown, header ? "]" : "");
        if (d->ignored.oom)
            rc = CCOORD_ENOMEM;
    }
    ccoord__free_mem(name);
    return rc;
}

/* The datasource element an item belongs to. */
static int ds_table(mi_doc *d, const ccoord__toml_item *it, mi_table **ret)
{
    size_t i = it->index[0] >= 0 ? (size_t)it->index[0] : 0;
    if (i >= d->nds) {
        mi_table *n = ccoord__realloc(d->ds, (i + 1) * sizeof *n);
        if (!n)
            return CCOORD_ENOMEM;
        memset(n + d->nds, 0, (i + 1 - d->nds) * sizeof *n);
        d->ds = n;
        d->nds = i + 1;
    }
    *ret = &d->ds[i];
    return CCOORD_OK;
}

static int on_item(void *user, const ccoord__toml_item *it)
{
    mi_doc *d = user;
    const char *sec = it->keys[0];
    int header = it->kind == CCOORD__TOML_TABLE || it->kind == CCOORD__TOML_AOT;
    mi_table *t = NULL;
    int rc;
    if (strcmp(sec, "datasource") == 0) {
        if ((rc = ds_table(d, it, &t)) != CCOORD_OK)
            return rc;
    } else if (strcmp(sec, "task_resolver") == 0) {
        if (header && it->depth == 1 && it->kind == CCOORD__TOML_AOT && ++d->resolvers == 2)
            d->resolver2_line = it->line;
        if (it->index[0] > 0)
            return CCOORD_OK; /* MI reads the first table only */
        t = &d->resolver;
    } else if (strcmp(sec, "server") == 0) {
        t = &d->server;
    } else if (strcmp(sec, "cluster_config") == 0) {
        t = &d->cluster;
    } else if (strcmp(sec, "task_handling") == 0) {
        t = &d->handling;
    } else {
        return note_ignored(d, it, header);
    }
    if (header) {
        if (it->depth == 1)
            t->line = it->line;
        return CCOORD_OK;
    }
    if (it->depth == 1) {
        ccoord__fmt(d->err, d->errlen, "%s:%d: %s: a value where MI has a table [%s]; %s",
                    d->name, it->line, sec, sec, SEE);
        return CCOORD_ECONFIG;
    }
    return table_add(t, it);
}

/* ---- entries ---------------------------------------------------------- */

#define MAX_ENTRIES 96

typedef struct mi_out {
    mi_doc *doc;
    ccoord__config_entry e[MAX_ENTRIES];
    size_t n;
    char *owned[MAX_ENTRIES * 2]; /* strings the entries point into */
    size_t nowned;
    ccoord__kvlist notes;
    ccoord__buf pool; /* pool_options keys recorded */
} mi_out;

static void out_free(mi_out *o)
{
    size_t i;
    for (i = 0; i < o->nowned; i++) {
        explicit_bzero(o->owned[i], strlen(o->owned[i]));
        ccoord__free_mem(o->owned[i]);
    }
    ccoord__kvlist_free(&o->notes);
    ccoord__buf_free(&o->pool);
}

/* Keeps s (owned) alive until the entries are applied; NULL on ENOMEM. */
static const char *keep(mi_out *o, char *s)
{
    if (!s)
        return NULL;
    if (o->nowned == sizeof o->owned / sizeof o->owned[0]) {
        ccoord__free_mem(s);
        return NULL;
    }
    o->owned[o->nowned++] = s;
    return s;
}

static const char *keepf(mi_out *o, const char *fmt, const char *a, const char *b)
{
    ccoord__buf buf;
    ccoord__buf_init(&buf);
    ccoord__buf_addf(&buf, fmt, a, b ? b : "");
    if (buf.oom) {
        ccoord__buf_free(&buf);
        return NULL;
    }
    return keep(o, buf.data ? buf.data : ccoord__strdup(""));
}

/* Adds section.key = value as from line (shown as shown, written as
 * shown_value when the value was derived from it). */
static int add(mi_out *o, const char *section, const char *key, const char *value, int line,
               const char *label, const char *shown, const char *shown_value)
{
    ccoord__config_entry *e;
    if (!value)
        return CCOORD_ENOMEM;
    if (o->n == MAX_ENTRIES) {
        ccoord__fmt(o->doc->err, o->doc->errlen, "%s: too many settings", o->doc->name);
        return CCOORD_ECONFIG;
    }
    e = &o->e[o->n++];
    memset(e, 0, sizeof *e);
    e->section = section;
    e->key = key;
    e->value = value;
    e->line = line;
    e->label = label;
    e->shown = shown;
    e->shown_value = shown_value;
    return CCOORD_OK;
}

/* "file:line: section.key = value: why" for what the MI mapping refuses. */
static int refuse(mi_out *o, int line, const char *key, const char *value, int hide,
                  const char *why)
{
    char val[300], k[200];
    ccoord__printable(k, sizeof k, key, 96);
    if (hide)
        ccoord__fmt(val, sizeof val, "(hidden)");
    else
        ccoord__printable(val, sizeof val, value ? value : "", 120);
    if (line > 0)
        ccoord__fmt(o->doc->err, o->doc->errlen, "%s:%d: %s = %s: %s", o->doc->name, line, k, val,
                    why);
    else
        ccoord__fmt(o->doc->err, o->doc->errlen, "%s: %s = %s: %s", o->doc->name, k, val, why);
    return CCOORD_ECONFIG;
}

/* A scalar the way this library's keys take it: strings, integers and
 * booleans as text. */
static int scalar(mi_out *o, const char *section, const mi_val *v)
{
    char key[300], why[200];
    if (v->kind == CCOORD__TOML_STRING || v->kind == CCOORD__TOML_INTEGER ||
        v->kind == CCOORD__TOML_BOOL)
        return CCOORD_OK;
    ccoord__fmt(key, sizeof key, "%s.%s", section, v->key);
    ccoord__fmt(why, sizeof why, "%s; a string or an integer",
                v->kind == CCOORD__TOML_ARRAY ? "an array" : "not a string or integer");
    return refuse(o, v->line, key, v->value ? v->value : "[...]", 0, why);
}

/* Keys of one of our sections that this library takes as they are. */
static int copy_keys(mi_out *o, const mi_table *t, const char *section,
                     const char *const *names, const char *mi_section)
{
    size_t i, j;
    int rc;
    for (i = 0; i < t->n; i++) {
        const mi_val *v = &t->v[i];
        for (j = 0; names[j]; j++) {
            if (strcmp(v->key, names[j]) != 0)
                continue;
            if ((rc = scalar(o, mi_section, v)) != CCOORD_OK ||
                (rc = add(o, section, names[j], v->value, v->line, NULL, NULL, NULL)) !=
                    CCOORD_OK)
                return rc;
        }
    }
    return CCOORD_OK;
}

/* Keys of our sections that nothing reads: listed with the ignored ones. */
static int list_unread(mi_out *o, const mi_table *t, const char *mi_section,
                       const char *const *names)
{
    size_t i, j;
    for (i = 0; i < t->n; i++) {
        int known = 0;
        for (j = 0; names[j]; j++)
            if (strcmp(t->v[i].key, names[j]) == 0 ||
                (names[j][strlen(names[j]) - 1] == '.' &&
                 strncmp(t->v[i].key, names[j], strlen(names[j])) == 0))
                known = 1;
        if (!known) {
            ccoord__buf_addf(&o->doc->ignored, "%s%s.%s", o->doc->ignored.len ? ", " : "",
                             mi_section, t->v[i].key);
        }
    }
    return o->doc->ignored.oom ? CCOORD_ENOMEM : CCOORD_OK;
}

/* ---- JDBC URLs --------------------------------------------------------- */

typedef struct jdbc {
    const char *family; /* mysql, mariadb, postgresql, sqlserver, sqlite */
    char hosts[512];    /* "a,b" */
    char ports[128];    /* "1,2" or "" */
    char db[256];
    char dir[4096]; /* sqlite3 */
    char *params;   /* owned: "k=v&k=v" or "k=v;k=v" (sqlserver) */
    char sep;
} jdbc;

static int pct_decode(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s == '%') {
            int h = 0, i;
            for (i = 1; i <= 2; i++) {
                char c = s[i];
                int v = c >= '0' && c <= '9' ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (v < 0)
                    return -1;
                h = h * 16 + v;
            }
            if (h == 0)
                return -1;
            *w++ = (char)h;
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
    return 0;
}

/* "h1[:p1],h2[:p2]" (with [v6] addresses) into hosts and ports; default
 * fills a port missing where another is given. */
static int host_list(const char *s, size_t n, jdbc *j, const char *dflt, char *why, size_t len)
{
    size_t i = 0;
    int any_port = 0, count = 0;
    char hosts[512] = "", ports[128] = "";
    while (i <= n) {
        size_t start = i, hend, pstart = 0, pend = 0;
        if (i < n && s[i] == '[') {
            while (i < n && s[i] != ']')
                i++;
            if (i == n) {
                ccoord__fmt(why, len, "unclosed '[' in an IPv6 address");
                return -1;
            }
            i++;
            start++;
            hend = i - 1;
        } else {
            while (i < n && s[i] != ':' && s[i] != ',')
                i++;
            hend = i;
        }
        if (i < n && s[i] == ':') {
            pstart = ++i;
            while (i < n && s[i] != ',')
                i++;
            pend = i;
            any_port = 1;
        }
        if (hend == start) {
            ccoord__fmt(why, len, "empty host name");
            return -1;
        }
        ccoord__fmt(hosts + strlen(hosts), sizeof hosts - strlen(hosts), "%s%.*s",
                    count ? "," : "", (int)(hend - start), s + start);
        if (pend > pstart)
            ccoord__fmt(ports + strlen(ports), sizeof ports - strlen(ports), "%s%.*s",
                        count ? "," : "", (int)(pend - pstart), s + pstart);
        else
            ccoord__fmt(ports + strlen(ports), sizeof ports - strlen(ports), "%s%s",
                        count ? "," : "", dflt);
        count++;
        if (i >= n)
            break;
        i++; /* , */
    }
    ccoord__fmt(j->hosts, sizeof j->hosts, "%s", hosts);
    ccoord__fmt(j->ports, sizeof j->ports, "%s", any_port ? ports : "");
    return count;
}

static const char URL_FORMS[] =
    "jdbc:postgresql://host[:port][,host2[:port2]...]/db[?params], "
    "jdbc:mysql://host[:port]/db[?params], jdbc:mariadb://host[:port]/db[?params], "
    "jdbc:sqlserver://host[:port];databaseName=db[;...] or jdbc:sqlite:/path/file.db";

/* "//hosts/db?params" after "jdbc:family:". */
static int url_server(const char *rest, jdbc *j, const char *dflt_port, char *why, size_t len)
{
    const char *slash, *q;
    int hosts;
    if (strncmp(rest, "//", 2) != 0) {
        ccoord__fmt(why, len, "expected // after jdbc:%s:; the forms are %s", j->family,
                    URL_FORMS);
        return -1;
    }
    rest += 2;
    slash = strchr(rest, '/');
    if (!slash) {
        ccoord__fmt(why, len, "no /database after the host; the forms are %s", URL_FORMS);
        return -1;
    }
    if ((hosts = host_list(rest, (size_t)(slash - rest), j, dflt_port, why, len)) < 0)
        return -1;
    q = strchr(slash + 1, '?');
    ccoord__fmt(j->db, sizeof j->db, "%.*s", (int)(q ? (size_t)(q - slash - 1) : strlen(slash + 1)),
                slash + 1);
    if (!j->db[0] || pct_decode(j->db) < 0) {
        ccoord__fmt(why, len, "no database name after the host; the forms are %s", URL_FORMS);
        return -1;
    }
    j->sep = '&';
    if (q && q[1] && !(j->params = ccoord__strdup(q + 1)))
        return -2;
    return hosts;
}

/* "//host[\instance][:port];databaseName=db;k=v..." after jdbc:sqlserver: */
static int url_sqlserver(const char *rest, jdbc *j, char *why, size_t len)
{
    const char *semi;
    if (strncmp(rest, "//", 2) != 0) {
        ccoord__fmt(why, len, "expected // after jdbc:sqlserver:; the forms are %s", URL_FORMS);
        return -1;
    }
    rest += 2;
    semi = strchr(rest, ';');
    if (host_list(rest, semi ? (size_t)(semi - rest) : strlen(rest), j, "1433", why, len) != 1) {
        if (!why[0])
            ccoord__fmt(why, len, "one host only");
        return -1;
    }
    j->sep = ';';
    if (semi && semi[1] && !(j->params = ccoord__strdup(semi + 1)))
        return -2;
    return 1;
}

static int url_sqlite(const char *rest, jdbc *j, char *why, size_t len)
{
    const char *slash;
    if (strncmp(rest, "file:", 5) == 0)
        rest += 5;
    if (!rest[0] || strcmp(rest, ":memory:") == 0 || strchr(rest, '?')) {
        ccoord__fmt(why, len, "a SQLite coordination database is a file that every node opens "
                              "(jdbc:sqlite:/path/file.db), not %s",
                    rest[0] ? "an in-memory database or URL parameters" : "empty");
        return -1;
    }
    slash = strrchr(rest, '/');
    if (slash) {
        ccoord__fmt(j->dir, sizeof j->dir, "%.*s", (int)(slash - rest), rest);
        if (!j->dir[0])
            ccoord__fmt(j->dir, sizeof j->dir, "/");
        ccoord__fmt(j->db, sizeof j->db, "%s", slash + 1);
    } else {
        ccoord__fmt(j->dir, sizeof j->dir, ".");
        ccoord__fmt(j->db, sizeof j->db, "%s", rest);
    }
    if (!j->db[0]) {
        ccoord__fmt(why, len, "no file name after the directory");
        return -1;
    }
    return 1;
}

/* Parses a JDBC URL.  -1 with why; -2 on ENOMEM. */
static int jdbc_parse(const char *url, jdbc *j, char *why, size_t len)
{
    static const struct {
        const char *prefix, *family;
    } forms[] = {{"jdbc:postgresql:", "postgresql"}, {"jdbc:mysql:", "mysql"},
                 {"jdbc:mariadb:", "mariadb"},       {"jdbc:sqlserver:", "sqlserver"},
                 {"jdbc:sqlite:", "sqlite"},         {"jdbc:oracle:", "oracle"},
                 {"jdbc:db2:", "db2"}};
    size_t i;
    char avail[256];
    memset(j, 0, sizeof *j);
    why[0] = '\0';
    for (i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (strncmp(url, forms[i].prefix, strlen(forms[i].prefix)) == 0)
            j->family = forms[i].family;
    if (!j->family) {
        ccoord__fmt(why, len, "not a JDBC URL this library can use; the forms are %s", URL_FORMS);
        return -1;
    }
    url += strlen("jdbc:") + strlen(j->family) + 1;
    if (strcmp(j->family, "oracle") == 0 || strcmp(j->family, "db2") == 0) {
        ccoord__dbi_drivers(NULL, avail, sizeof avail);
        ccoord__fmt(why, len, "libdbi has no driver for %s, so this node cannot reach that "
                              "database; use PostgreSQL, MySQL/MariaDB or SQLite for "
                              "coordination (libdbi drivers installed here: %s)",
                    strcmp(j->family, "oracle") == 0 ? "Oracle" : "IBM Db2",
                    avail[0] ? avail : "none");
        return -1;
    }
    if (strcmp(j->family, "sqlite") == 0)
        return url_sqlite(url, j, why, len);
    if (strcmp(j->family, "sqlserver") == 0)
        return url_sqlserver(url, j, why, len);
    if (strcmp(j->family, "postgresql") == 0)
        return url_server(url, j, "5432", why, len);
    return url_server(url, j, "3306", why, len);
}

/* The Java class of the reference and the URL families it drives. */
static const char *driver_family(const char *cls)
{
    static const struct {
        const char *cls, *families;
    } classes[] = {
        {"com.mysql.jdbc.Driver", "mysql"},
        {"com.mysql.cj.jdbc.Driver", "mysql"},
        {"org.mariadb.jdbc.Driver", "mariadb mysql"},
        {"org.postgresql.Driver", "postgresql"},
        {"com.microsoft.sqlserver.jdbc.SQLServerDriver", "sqlserver"},
        {"oracle.jdbc.OracleDriver", "oracle"},
        {"oracle.jdbc.driver.OracleDriver", "oracle"},
        {"com.ibm.db2.jcc.DB2Driver", "db2"},
        {"org.sqlite.JDBC", "sqlite"},
    };
    size_t i;
    for (i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(cls, classes[i].cls) == 0)
            return classes[i].families;
    return NULL;
}

static int family_in(const char *families, const char *family)
{
    size_t n = strlen(family);
    const char *p = families;
    while ((p = strstr(p, family)) != NULL) {
        if ((p == families || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return 1;
        p += n;
    }
    return 0;
}

/* ---- URL parameters -------------------------------------------------- */

/* A parameter this library maps: to section.key with a value (NULL:
 * the parameter's own); or, with key NULL, one it accepts and ignores. */
typedef struct param_map {
    const char *family; /* "postgresql", "mysql" (also mariadb), "sqlserver" */
    const char *name;
    const char *key;
} param_map;

static const param_map params_known[] = {
    {"postgresql", "sslmode", "ssl_mode"},
    {"postgresql", "ssl", "ssl_mode"},
    {"postgresql", "sslrootcert", "ssl_ca"},
    {"postgresql", "sslcert", "ssl_cert"},
    {"postgresql", "sslkey", "ssl_key"},
    {"postgresql", "targetServerType", "(target)"},
    {"postgresql", "connectTimeout", "connect_timeout"},
    {"postgresql", "user", "username"},
    {"postgresql", "password", "password"},
    {"mysql", "sslMode", "ssl_mode"},
    {"mysql", "useSSL", "ssl_mode"},
    {"mysql", "requireSSL", "ssl_mode"},
    {"mysql", "connectTimeout", "connect_timeout_ms"},
    {"mysql", "user", "username"},
    {"mysql", "password", "password"},
    {"mysql", "characterEncoding", NULL},
    {"mysql", "useUnicode", NULL},
    {"mysql", "serverTimezone", NULL},
    {"mysql", "autoReconnect", NULL},
    {"mysql", "allowPublicKeyRetrieval", NULL},
    {"sqlserver", "databaseName", "dbname"},
    {"sqlserver", "database", "dbname"},
    {"sqlserver", "user", "username"},
    {"sqlserver", "password", "password"},
    {"sqlserver", "SendStringParametersAsUnicode", NULL},
};

static void params_allowed(const char *family, char *buf, size_t len)
{
    size_t i, used = 0;
    buf[0] = '\0';
    for (i = 0; i < sizeof params_known / sizeof params_known[0]; i++) {
        int w;
        if (strcmp(params_known[i].family, family) != 0)
            continue;
        w = snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? ", " : "",
                     params_known[i].name);
        if (w > 0)
            used += (size_t)w;
        if (used >= len)
            break;
    }
}

static int lower_eq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* The libpq/TLS meaning of one parameter value into *ret. */
static const char *ssl_value(const char *family, const char *name, const char *v)
{
    static const struct {
        const char *from, *to;
    } pg[] = {{"disable", "disable"},   {"prefer", "prefer"},         {"require", "require"},
              {"verify-ca", "verify-ca"}, {"verify-full", "verify-full"}},
      my[] = {{"DISABLED", "disable"},   {"PREFERRED", "prefer"},     {"REQUIRED", "require"},
              {"VERIFY_CA", "verify-ca"}, {"VERIFY_IDENTITY", "verify-full"}};
    size_t i;
    int t = lower_eq(v, "true"), f = lower_eq(v, "false");
    if (strcmp(family, "postgresql") == 0) {
        if (strcmp(name, "ssl") == 0) /* pgjdbc: ssl=true is verify-full */
            return t ? "verify-full" : f ? "disable" : NULL;
        for (i = 0; i < sizeof pg / sizeof pg[0]; i++)
            if (strcmp(v, pg[i].from) == 0)
                return pg[i].to;
        return NULL;
    }
    if (strcmp(name, "useSSL") == 0)
        return t ? "require" : f ? "disable" : NULL;
    if (strcmp(name, "requireSSL") == 0)
        return t ? "require" : f ? "prefer" : NULL;
    for (i = 0; i < sizeof my / sizeof my[0]; i++)
        if (lower_eq(v, my[i].from))
            return my[i].to;
    return NULL;
}

static const char *ssl_allowed(const char *family, const char *name)
{
    if (strcmp(family, "postgresql") == 0)
        return strcmp(name, "ssl") == 0 ? "true or false"
                                        : "disable, prefer, require, verify-ca or verify-full "
                                          "(allow is not offered: it prefers no encryption)";
    if (strcmp(name, "sslMode") == 0)
        return "DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY";
    return "true or false";
}

/* Maps one URL parameter name=value (both decoded). */
static int url_param(mi_out *o, const jdbc *j, int line, const char *url_shown, char *name,
                     char *value)
{
    const char *fam = strcmp(j->family, "mariadb") == 0 ? "mysql" : j->family;
    const param_map *m = NULL;
    char why[1024], allowed[600], ms[32];
    size_t i;
    for (i = 0; i < sizeof params_known / sizeof params_known[0]; i++)
        if (strcmp(params_known[i].family, fam) == 0 && strcmp(params_known[i].name, name) == 0)
            m = &params_known[i];
    if (!m) {
        params_allowed(fam, allowed, sizeof allowed);
        ccoord__fmt(why, sizeof why, "URL parameter %.64s has no equivalent here; the "
                                     "parameters read are %s",
                    name, allowed);
        return refuse(o, line, "datasource.url", url_shown, 0, why);
    }
    if (!m->key) {
        if (strcmp(name, "characterEncoding") == 0 && !lower_eq(value, "UTF-8") &&
            !lower_eq(value, "utf8")) {
            return refuse(o, line, "datasource.url", url_shown, 0,
                          "URL parameter characterEncoding: this library speaks UTF-8 only; "
                          "UTF-8 or leave it out");
        }
        return CCOORD_OK;
    }
    if (strcmp(m->key, "ssl_mode") == 0) {
        const char *v = ssl_value(fam, name, value);
        if (!v) {
            ccoord__fmt(why, sizeof why, "URL parameter %s = %.64s; %s", name, value,
                        ssl_allowed(fam, name));
            return refuse(o, line, "datasource.url", url_shown, 0, why);
        }
        return add(o, "datasource", "ssl_mode", v, line, NULL, "datasource.url", url_shown);
    }
    if (strcmp(m->key, "(target)") == 0) {
        if (lower_eq(value, "primary") || lower_eq(value, "master"))
            return CCOORD_OK; /* with several hosts the library asks for read-write anyway */
        if (lower_eq(value, "any") && !strchr(j->hosts, ','))
            return CCOORD_OK;
        ccoord__fmt(why, sizeof why, "URL parameter targetServerType = %.64s: a coordination "
                                     "node writes, so it needs the primary; primary (or master), "
                                     "or any with one host",
                    value);
        return refuse(o, line, "datasource.url", url_shown, 0, why);
    }
    if (strcmp(m->key, "connect_timeout_ms") == 0) {
        long ms_v;
        if (ccoord__parse_long(value, 1, 3600000, &ms_v) != CCOORD_OK)
            return refuse(o, line, "datasource.url", url_shown, 0,
                          "URL parameter connectTimeout: milliseconds from 1 to 3600000");
        ccoord__fmt(ms, sizeof ms, "%ld", (ms_v + 999) / 1000);
        return add(o, "datasource", "connect_timeout", keep(o, ccoord__strdup(ms)), line, NULL,
                   "datasource.url", url_shown);
    }
    if (strcmp(m->key, "connect_timeout") == 0 && strcmp(value, "0") == 0)
        return refuse(o, line, "datasource.url", url_shown, 0,
                      "URL parameter connectTimeout = 0 waits for ever; seconds from 1 to 3600");
    return add(o, "datasource", m->key, keep(o, ccoord__strdup(value)), line, NULL,
               "datasource.url", strcmp(m->key, "password") == 0 ? "(hidden)" : url_shown);
}

static int url_params(mi_out *o, const jdbc *j, int line, const char *url_shown)
{
    char *p = j->params, *next;
    int rc;
    for (; p && *p; p = next) {
        char *eq, *end = strchr(p, j->sep);
        next = end ? end + 1 : p + strlen(p);
        if (end)
            *end = '\0';
        if (!*p)
            continue;
        eq = strchr(p, '=');
        if (!eq || eq == p || pct_decode(eq + 1) < 0) {
            return refuse(o, line, "datasource.url", url_shown, 0,
                          "a URL parameter is not name=value");
        }
        *eq = '\0';
        if ((rc = url_param(o, j, line, url_shown, p, eq + 1)) != CCOORD_OK)
            return rc;
    }
    return CCOORD_OK;
}

/* The URL with the value of any password= parameter hidden. */
static char *redact(const char *url)
{
    ccoord__buf b;
    const char *p = url;
    ccoord__buf_init(&b);
    while (*p) {
        const char *hit = strstr(p, "password=");
        if (!hit || (hit != url && hit[-1] != '?' && hit[-1] != '&' && hit[-1] != ';')) {
            if (!hit) {
                ccoord__buf_add(&b, p);
                break;
            }
            ccoord__buf_addn(&b, p, (size_t)(hit - p) + 9);
            p = hit + 9;
            continue;
        }
        ccoord__buf_addn(&b, p, (size_t)(hit - p) + 9);
        ccoord__buf_add(&b, "(hidden)");
        p = hit + 9;
        while (*p && *p != '&' && *p != ';')
            p++;
    }
    if (b.oom) {
        ccoord__buf_free(&b);
        return NULL;
    }
    return b.data ? b.data : ccoord__strdup("");
}

/* ---- the coordination datasource -------------------------------------- */

static int map_url(mi_out *o, const mi_val *url, const mi_val *drv)
{
    jdbc j;
    char why[1024], avail[256];
    const char *shown = keep(o, redact(url->value)), *families;
    int rc;
    if (!shown)
        return CCOORD_ENOMEM;
    if (url->kind != CCOORD__TOML_STRING)
        return refuse(o, url->line, "datasource.url", shown, 0, "not a string; a JDBC URL");
    rc = jdbc_parse(url->value, &j, why, sizeof why);
    if (rc == -2)
        return CCOORD_ENOMEM;
    if (rc < 0) {
        ccoord__free_mem(j.params);
        return refuse(o, url->line, "datasource.url", shown, 0, why);
    }
    if (drv && (!(families = driver_family(drv->value)) || !family_in(families, j.family))) {
        ccoord__free_mem(j.params);
        if (!families)
            return refuse(o, drv->line, "datasource.driver", drv->value, 0,
                          "not a JDBC driver class of the reference; com.mysql.jdbc.Driver, "
                          "com.mysql.cj.jdbc.Driver, org.mariadb.jdbc.Driver, "
                          "org.postgresql.Driver, com.microsoft.sqlserver.jdbc.SQLServerDriver, "
                          "oracle.jdbc.OracleDriver, com.ibm.db2.jcc.DB2Driver or org.sqlite.JDBC");
        ccoord__fmt(why, sizeof why, "does not drive the url's database (jdbc:%s at line %d); "
                                     "give the driver class of that database",
                    j.family, url->line);
        return refuse(o, drv->line, "datasource.driver", drv->value, 0, why);
    }
    keep(o, j.params);
    if (strcmp(j.family, "sqlite") == 0) {
        rc = add(o, "datasource", "driver", "sqlite3", url->line, NULL, "datasource.url", shown);
        if (!rc)
            rc = add(o, "datasource", "dbdir", keep(o, ccoord__strdup(j.dir)), url->line, NULL,
                     "datasource.url", shown);
        if (!rc)
            rc = add(o, "datasource", "dbname", keep(o, ccoord__strdup(j.db)), url->line, NULL,
                     "datasource.url", shown);
        return rc;
    }
    if (strcmp(j.family, "sqlserver") == 0 && !ccoord__dbi_drivers("freetds", avail, sizeof avail))
        return refuse(o, url->line, "datasource.url", shown, 0,
                      "SQL Server is reached through libdbi's freetds driver, which is not "
                      "installed here; install the Debian package libdbd-freetds");
    rc = add(o, "datasource", "driver",
             strcmp(j.family, "postgresql") == 0  ? "pgsql"
             : strcmp(j.family, "sqlserver") == 0 ? "freetds"
                                                  : "mysql",
             url->line, NULL, "datasource.url", shown);
    if (!rc)
        rc = add(o, "datasource", "host", keep(o, ccoord__strdup(j.hosts)), url->line, NULL,
                 "datasource.url", shown);
    if (!rc && j.ports[0])
        rc = add(o, "datasource", "port", keep(o, ccoord__strdup(j.ports)), url->line, NULL,
                 "datasource.url", shown);
    if (!rc && j.db[0])
        rc = add(o, "datasource", "dbname", keep(o, ccoord__strdup(j.db)), url->line, NULL,
                 "datasource.url", shown);
    if (!rc)
        rc = url_params(o, &j, url->line, shown);
    return rc;
}

static const char *const pool_keys[] = {
    "maxActive", "maxIdle", "minIdle", "initialSize", "maxWait", "testOnBorrow", "testOnReturn",
    "testWhileIdle", "testOnConnect", "validationQuery", "validationQueryTimeout",
    "validatorClassName", "validationInterval", "timeBetweenEvictionRunsMillis",
    "numTestsPerEvictionRun", "minEvictableIdleTimeMillis", "removeAbandoned",
    "removeAbandonedTimeout", "logAbandoned", "abandonWhenPercentageFull", "suspectTimeout",
    "maxAge", "defaultAutoCommit", "defaultReadOnly", "defaultTransactionIsolation",
    "defaultCatalog", "connectionProperties", "initSQL", "jdbcInterceptors", "jmxEnabled",
    "fairQueue", "useEquals", "rollbackOnReturn", "commitOnReturn", "alternateUsernameAllowed",
    "useDisposableConnectionFacade", "logValidationErrors", "propagateInterruptState",
    "ignoreExceptionOnPreLoad", "useStatementFacade", "accessToUnderlyingConnectionAllowed",
    "poolPreparedStatements", "maxOpenPreparedStatements", "dataSourceClassName",
    "dataSourceProps", NULL};

static int map_pool(mi_out *o, const mi_val *v)
{
    const char *name = v->key + strlen("pool_options.");
    char why[1600], ms[32];
    size_t i;
    int known = 0;
    for (i = 0; pool_keys[i]; i++)
        if (strcmp(name, pool_keys[i]) == 0)
            known = 1;
    if (!known) {
        ccoord__buf b;
        ccoord__buf_init(&b);
        for (i = 0; pool_keys[i]; i++)
            ccoord__buf_addf(&b, "%s%s", i ? ", " : "", pool_keys[i]);
        ccoord__fmt(why, sizeof why, "not a connection pool option MI documents; one of %s",
                    b.data ? b.data : "");
        ccoord__buf_free(&b);
        return refuse(o, v->line, keepf(o, "datasource.%s", v->key, NULL), v->value, 0, why);
    }
    ccoord__buf_addf(&o->pool, "%s%s", o->pool.len ? ", " : "", name);
    if (strcmp(name, "maxWait") == 0) {
        long w;
        if (v->kind != CCOORD__TOML_INTEGER && v->kind != CCOORD__TOML_STRING)
            return scalar(o, "datasource", v);
        if (ccoord__parse_long(v->value, 1, 3600000, &w) != CCOORD_OK)
            return refuse(o, v->line, "datasource.pool_options.maxWait", v->value, 0,
                          "milliseconds from 1 to 3600000 (it becomes the connect timeout)");
        ccoord__fmt(ms, sizeof ms, "%ld", (w + 999) / 1000);
        return add(o, "datasource", "connect_timeout", keep(o, ccoord__strdup(ms)), v->line,
                   NULL, "datasource.pool_options.maxWait", v->value);
    }
    return CCOORD_OK;
}

/* Keys of the datasource besides url and driver. */
static int map_ds_keys(mi_out *o, const mi_table *t)
{
    static const char *const own[] = {"password_file", "password_env", "connect_timeout",
                                      "connect_retry", "table_prefix", "ssl_mode", "ssl_ca",
                                      "ssl_cert", "ssl_key", "dbdir", NULL};
    size_t i, j;
    int rc = CCOORD_OK, pw = 0;
    for (i = 0; i < t->n && rc == CCOORD_OK; i++) {
        const mi_val *v = &t->v[i];
        if (strncmp(v->key, "pool_options.", 13) == 0) {
            rc = map_pool(o, v);
            continue;
        }
        if (strcmp(v->key, "username") == 0) {
            if (!(rc = scalar(o, "datasource", v)))
                rc = add(o, "datasource", "username", v->value, v->line, NULL, NULL, NULL);
            continue;
        }
        if (strcmp(v->key, "password") == 0 || strcmp(v->key, "password_file") == 0 ||
            strcmp(v->key, "password_env") == 0)
            pw++;
        if (strcmp(v->key, "password") == 0) {
            if (v->kind != CCOORD__TOML_STRING)
                rc = refuse(o, v->line, "datasource.password", "", 1, "not a string");
            else if (strncmp(v->value, "$secret{", 8) == 0)
                rc = refuse(o, v->line, "datasource.password", v->value, 0,
                            "MI's secure vault ($secret{alias}) is not supported here; put the "
                            "password in a file readable by this node only and name it with "
                            "password_file, or use password_env");
            else
                rc = add(o, "datasource", "password", v->value, v->line, NULL, NULL, NULL);
            continue;
        }
        for (j = 0; own[j]; j++)
            if (strcmp(v->key, own[j]) == 0) {
                if (!(rc = scalar(o, "datasource", v)))
                    rc = add(o, "datasource", own[j], v->value, v->line, NULL, NULL, NULL);
            }
    }
    if (!rc && pw > 1)
        return refuse(o, t->line, "datasource", COORD_ID, 0,
                      "more than one of password, password_file, password_env; give one");
    return rc;
}

/* The [[datasource]] with id = "WSO2_COORDINATION_DB". */
static int find_coord_ds(mi_out *o, const mi_table **ret)
{
    const mi_doc *d = o->doc;
    const mi_table *found = NULL;
    ccoord__buf ids;
    size_t i;
    for (i = 0; i < d->nds; i++) {
        const mi_val *id = table_get(&d->ds[i], "id");
        if (!id || !id->value || strcmp(id->value, COORD_ID) != 0)
            continue;
        if (found) {
            char why[300];
            ccoord__fmt(why, sizeof why, "a second [[datasource]] with this id (the first at "
                                         "line %d); keep one",
                        found->line);
            return refuse(o, id->line, "datasource.id", COORD_ID, 0, why);
        }
        found = &d->ds[i];
    }
    if (found) {
        *ret = found;
        return CCOORD_OK;
    }
    ccoord__buf_init(&ids);
    for (i = 0; i < d->nds; i++) {
        const mi_val *id = table_get(&d->ds[i], "id");
        ccoord__buf_addf(&ids, "%s\"%.64s\"", ids.len ? ", " : "",
                         id && id->value ? id->value : "(none)");
    }
    ccoord__fmt(d->err, d->errlen,
                "%s: no [[datasource]] with id = \"%s\" (%s%s): MI runs without coordination "
                "then, and a node must not fall back to a local database; add the coordination "
                "datasource (%s)",
                d->name, COORD_ID, ids.len ? "the ids here are " : "there is no [[datasource]]",
                ids.len ? ids.data : "", SEE);
    ccoord__buf_free(&ids);
    return CCOORD_ECONFIG;
}

static int map_datasource(mi_out *o)
{
    const mi_table *t = NULL;
    const mi_val *url, *drv;
    int rc = find_coord_ds(o, &t);
    static const char *const read[] = {"id",           "url",         "driver",
                                       "username",     "password",    "pool_options.",
                                       "password_file", "password_env", "connect_timeout",
                                       "connect_retry", "table_prefix", "ssl_mode",
                                       "ssl_ca",       "ssl_cert",    "ssl_key",
                                       "dbdir",        NULL};
    if (rc)
        return rc;
    url = table_get(t, "url");
    drv = table_get(t, "driver");
    if (!url)
        return refuse(o, t->line, "datasource.id", COORD_ID, 0,
                      "this datasource has no url; give its JDBC URL");
    if (drv && drv->kind != CCOORD__TOML_STRING)
        return refuse(o, drv->line, "datasource.driver", "", 0, "not a string");
    if ((rc = map_url(o, url, drv)) != CCOORD_OK || (rc = map_ds_keys(o, t)) != CCOORD_OK)
        return rc;
    return list_unread(o, t, "datasource", read);
}

/* ---- the other sections ---------------------------------------------- */

static int map_sections(mi_out *o)
{
    static const char *const server[] = {"hostname", NULL};
    static const char *const cluster[] = {"node_id", "group_id", "heartbeat_interval",
                                          "heartbeat_max_retry", NULL};
    static const char *const handling[] = {"resolver_class", "resolving_period",
                                           "resolving_frequency", "plugin_dir", "task_group",
                                           "rebalance", "rebalance_batch", NULL};
    const mi_doc *d = o->doc;
    size_t i;
    int rc;
    if ((rc = copy_keys(o, &d->server, "server", server, "server")) ||
        (rc = copy_keys(o, &d->cluster, "cluster_config", cluster, "cluster_config")) ||
        (rc = copy_keys(o, &d->handling, "task_handling", handling, "task_handling")) ||
        (rc = list_unread(o, &d->server, "server", server)) ||
        (rc = list_unread(o, &d->cluster, "cluster_config", cluster)) ||
        (rc = list_unread(o, &d->handling, "task_handling", handling)))
        return rc;
    for (i = 0; i < d->resolver.n; i++) {
        const mi_val *v = &d->resolver.v[i];
        if ((rc = scalar(o, "task_resolver", v)) ||
            (rc = add(o, "task_resolver", v->key, v->value, v->line, NULL, NULL, NULL)))
            return rc;
    }
    return CCOORD_OK;
}

/* MI's own default interval, so an unchanged deployment keeps its timing
 * (this library's INI default is 1000 ms); any other source wins. */
static int map_mi_defaults(mi_out *o)
{
    return add(o, "cluster_config", "heartbeat_interval", "5000", 0,
               "MI's default heartBeatInterval", "heartBeatInterval", NULL);
}

/* MI reads these as system properties or environment variables: they
 * win over the file. */
static int map_env(mi_out *o)
{
    static const struct {
        const char *env, *key;
    } vars[] = {{"heartBeatInterval", "heartbeat_interval"},
                {"heartbeatMaxRetry", "heartbeat_max_retry"},
                {"localGroupId", "group_id"}};
    size_t i;
    int rc;
    for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i].env);
        if (!v || !*v)
            continue;
        if ((rc = add(o, "cluster_config", vars[i].key, v, 0,
                      keepf(o, "environment variable %s", vars[i].env, NULL), vars[i].env,
                      NULL)))
            return rc;
    }
    return CCOORD_OK;
}

/* The INFO lines said once at join. */
static int make_notes(mi_out *o)
{
    const mi_doc *d = o->doc;
    ccoord__buf b;
    int rc = CCOORD_OK;
    ccoord__buf_init(&b);
    if (d->ignored.len) {
        ccoord__buf_addf(&b, "MI configuration: ignored, not part of RDBMS coordination: %s",
                         d->ignored.data);
        if (!b.oom)
            rc = ccoord__kvlist_set(&o->notes, b.data, "", d->name);
        ccoord__buf_reset(&b);
    }
    if (!rc && o->pool.len) {
        ccoord__buf_addf(&b, "MI configuration: pool_options %s recorded (maxWait is the "
                             "connect timeout); this library keeps its own two connections per "
                             "node, not a pool",
                         o->pool.data);
        if (!b.oom)
            rc = ccoord__kvlist_set(&o->notes, b.data, "", d->name);
        ccoord__buf_reset(&b);
    }
    if (!rc && d->resolver2_line) {
        ccoord__buf_addf(&b, "MI configuration: only the first [[task_resolver]] is read, as "
                             "MI does; the one at line %d and later ones are ignored",
                         d->resolver2_line);
        if (!b.oom)
            rc = ccoord__kvlist_set(&o->notes, b.data, "", d->name);
    }
    if (b.oom)
        rc = CCOORD_ENOMEM;
    ccoord__buf_free(&b);
    return rc;
}

/* ---- entry points ----------------------------------------------------- */

static int load_mi(ccoord_config *config, const char *text, size_t len, const char *name)
{
    mi_doc d;
    mi_out *o;
    char why[512];
    int line = 0, rc;
    memset(&d, 0, sizeof d);
    d.name = name;
    d.err = config->error;
    d.errlen = sizeof config->error;
    ccoord__buf_init(&d.ignored);
    if (!(d.ignored_set = ccoord__map_new()) || !(o = ccoord__calloc(1, sizeof *o))) {
        doc_free(&d);
        ccoord__fmt(config->error, sizeof config->error, "%s: out of memory", name);
        return CCOORD_ENOMEM;
    }
    o->doc = &d;
    ccoord__buf_init(&o->pool);
    rc = ccoord__toml_parse(text, len, on_item, &d, why, sizeof why, &line);
    if (rc == CCOORD_ECONFIG && line > 0)
        ccoord__fmt(config->error, sizeof config->error, "%s:%d: %s (TOML 1.0)", name, line, why);
    if (!rc)
        rc = map_mi_defaults(o);
    if (!rc)
        rc = map_sections(o);
    if (!rc)
        rc = map_datasource(o);
    if (!rc)
        rc = map_env(o);
    if (!rc)
        rc = make_notes(o);
    if (!rc)
        rc = ccoord__config_apply_entries(config, name, o->e, o->n, &o->notes);
    if (rc == CCOORD_ENOMEM)
        ccoord__fmt(config->error, sizeof config->error, "%s: out of memory", name);
    out_free(o);
    ccoord__free_mem(o);
    doc_free(&d);
    return rc;
}

int ccoord__config_parse_mi_string(ccoord_config *config, const char *text, const char *name)
{
    return ccoord__config_parse_text(config, text, name, load_mi);
}

int ccoord_config_load_mi(ccoord_config *config, const char *path)
{
    return ccoord__config_load_file(config, path, "ccoord_config_load_mi", load_mi);
}
