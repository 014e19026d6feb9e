/*
 * lib/config.h: configuration (DESIGN.md section 5, clustercoord.conf(5)).
 */
#ifndef CCOORD_CONFIG_H
#define CCOORD_CONFIG_H

#include "internal.h"

/* Every setting, resolved and validated.  Strings are owned, never NULL
 * unless said. */
typedef struct ccoord__settings {
    /* [server] */
    char *hostname; /* NULL: gethostname() when the node is created */
    /* [cluster_config] */
    char *node_id; /* NULL: decided by ccoord__config_node_id() */
    char *group_id;
    long heartbeat_interval_ms; /* >= 10 */
    long heartbeat_max_retry;   /* >= 2 */
    /* [datasource] */
    char *driver; /* libdbi driver name */
    char *dbname;
    char *dbdir;    /* sqlite3 only */
    char *host;     /* NULL: driver default; pgsql: may be a list "a,b" */
    long port;      /* 0: driver default or a list in port_list */
    char *port_list; /* pgsql: "5432,5433" (one per host); NULL: port */
    char *username; /* NULL: driver default */
    char *password; /* NULL: none; resolved from password, password_file or password_env */
    long connect_timeout_s; /* >= 1 */
    long connect_retry_s;   /* >= 0: how long ccoord_join waits for the database */
    char *table_prefix;     /* [a-z0-9_]* */
    char *ssl_mode; /* NULL: the driver's default; disable prefer require verify-ca verify-full */
    char *ssl_ca, *ssl_cert, *ssl_key; /* readable files, or NULL */
    /* [task_handling] */
    char *resolver_class; /* as written: name, path or Java class alias */
    /* where it was set, for the plugin's errors: "file:line: key" (the key
     * as written), "ccoord_config_set: task_handling.resolver_class", or
     * NULL (the default) */
    char *resolver_class_where;
    char *plugin_dir;     /* default CCOORD_RESOLVERDIR */
    long resolving_period_s;  /* >= 1 */
    long resolving_frequency; /* >= 1 */
    long rebalance;           /* 0 off, 1 on: the leader moves placed tasks (resolve.c) */
    long rebalance_batch;     /* >= 1: moves in flight at most */
    char *task_group;
    /* [task_resolver]: handed to the plugin */
    ccoord__kvlist resolver_params;
    /* what a loader wants said once at INFO when the node joins (key: the
     * line; origin: where it comes from) */
    ccoord__kvlist notes;
} ccoord__settings;

struct ccoord_config {
    ccoord__settings s;
    /* node id sources, for the precedence host > env nodeId > file > UUID */
    char *node_id_host;
    char *node_id_file;
    /* keys ("section.key") set by the host program: the file does not
     * override them */
    ccoord__kvlist host_set;
    char error[1024];
};

/* Compiled-in default plugin directory (Makefile: -DCCOORD_RESOLVERDIR). */
#ifndef CCOORD_RESOLVERDIR
#define CCOORD_RESOLVERDIR "/usr/local/lib/clustercoord/resolvers"
#endif

/* Parses INI text as if read from a file named name (for messages).
 * Same semantics and errors as ccoord_config_load().  Unit tests and the
 * fuzzer use it. */
int ccoord__config_parse_string(ccoord_config *config, const char *text, const char *name);

/* One setting that does not come from an INI line (the MI loader's
 * mapping, an environment variable, a loader's default). */
typedef struct ccoord__config_entry {
    const char *section, *key, *value; /* this library's section and key */
    int line;                          /* its line in the file; 0: label */
    const char *label;  /* where, when line is 0 ("environment variable X") */
    const char *shown;  /* the key as the user wrote it ("datasource.url"), or NULL */
    const char *shown_value; /* the value as written (NULL: value) */
    int weak;           /* a loader's default: any other source wins */
} ccoord__config_entry;

/* Applies n entries read from file name, then the checks across keys, and
 * adds the notes; all or nothing, like ccoord_config_load().  Keys the
 * host program set win; a later entry replaces an earlier one. */
int ccoord__config_apply_entries(ccoord_config *config, const char *name,
                                 const ccoord__config_entry *e, size_t n,
                                 const ccoord__kvlist *notes);

/* Parses text[0..len) read from a file called name into config, all or
 * nothing; errors into config->error. */
typedef int (*ccoord__config_parser)(ccoord_config *config, const char *text, size_t len,
                                     const char *name);
/* Reads path (at most 1 MiB; wiped after parse ran) and parses it: the
 * body of ccoord_config_load() and ccoord_config_load_mi() (caller names
 * the function in the NULL-path message). */
int ccoord__config_load_file(ccoord_config *config, const char *path, const char *caller,
                             ccoord__config_parser parse);
/* parse on a NUL-terminated text (for tests and fuzzers). */
int ccoord__config_parse_text(ccoord_config *config, const char *text, const char *name,
                              ccoord__config_parser parse);

/* The checks across keys (a sqlite3 datasource with host or username, a
 * host list without pgsql, TLS without a server driver, ...), for a config
 * the host program changed after its last load.  CCOORD_ECONFIG with
 * config->error set. */
int ccoord__config_check(const ccoord_config *config);

/* 1 when libdbi on this machine has driver want (may be NULL); the names
 * of all its drivers, comma-separated, into avail. */
int ccoord__dbi_drivers(const char *want, char *avail, size_t len);

/* ccoord_config_load_mi() on text read as if from a file called name
 * (config_mi.c; unit tests and the fuzzer use it). */
int ccoord__config_parse_mi_string(ccoord_config *config, const char *text, const char *name);

/* Deep copy of settings (node_new keeps its own). CCOORD_OK or ENOMEM. */
int ccoord__settings_copy(ccoord__settings *dst, const ccoord__settings *src);
void ccoord__settings_free(ccoord__settings *s);

/* The node id by precedence: host setting, env "nodeId", file, random
 * UUID v4.  Writes a newly allocated string to *ret.  CCOORD_ECONFIG (with
 * config->error set) when env nodeId is invalid. */
int ccoord__config_node_id(const ccoord_config *config, char **ret);

/* Maps resolver_class to what the loader takes: the reference's Java class
 * names become "random", "roundrobin", "tasknode"; anything else is
 * returned unchanged. Static or borrowed string. */
const char *ccoord__resolver_alias(const char *resolver_class);

#endif
