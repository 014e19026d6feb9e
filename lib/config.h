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
    char *host;     /* NULL: driver default */
    long port;      /* 0: driver default */
    char *username; /* NULL: driver default */
    char *password; /* NULL: none; resolved from password, password_file or password_env */
    long connect_timeout_s; /* >= 1 */
    long connect_retry_s;   /* >= 0: how long ccoord_join waits for the database */
    char *table_prefix;     /* [a-z0-9_]* */
    /* [task_handling] */
    char *resolver_class; /* as written: name, path or Java class alias */
    char *plugin_dir;     /* default CCOORD_RESOLVERDIR */
    long resolving_period_s;  /* >= 1 */
    long resolving_frequency; /* >= 1 */
    char *task_group;
    /* [task_resolver]: handed to the plugin */
    ccoord__kvlist resolver_params;
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
