/* include/clustercoord/version.h: compile-time version of libclustercoord.
 * Literals only, so preprocessors and FFI generators can read them. */
#ifndef CLUSTERCOORD_VERSION_H
#define CLUSTERCOORD_VERSION_H

#define CCOORD_VERSION_MAJOR 1
#define CCOORD_VERSION_MINOR 1
#define CCOORD_VERSION_PATCH 0
#define CCOORD_VERSION_STRING "1.1.0"
/* 0xMMmmpp, comparable with ccoord_version_num() of the loaded library. */
#define CCOORD_VERSION_NUM 0x010100

/* True when the headers are at least version maj.min.pat. */
#define CCOORD_VERSION_AT_LEAST(maj, min, pat) \
    (CCOORD_VERSION_NUM >= (((maj) << 16) | ((min) << 8) | (pat)))

#endif
