/*
 * ferry_plugin.h: the C ABI between a Ferry worker and a native plugin
 * library, version 1. Mirrors crates/ferry-plugin-abi (the reference); the
 * byte encoding of records is documented in docs/design.md ("The plugin
 * ABI") and summarised below.
 *
 * A library exports ONE data symbol, `ferry_plugin_entry`, of type
 * FerryPluginEntry. The worker reads its first field, the ABI version,
 * before anything else and refuses the library when it differs from its own.
 *
 * Ownership: whoever allocates frees. Buffers the plugin returns (FerryBuf
 * results, FerryError messages) are freed by the worker through the
 * manifest's free_buf; buffers the worker returns to the plugin (offset
 * lookups) through the context's free_buf. FerryStr arguments are borrowed
 * for the duration of the call.
 *
 * Every function returns a FERRY_* status; on failure it may set
 * err->message to a UTF-8 text allocated by the plugin.
 *
 * Encoding: little-endian; str/bytes = u32 length + bytes.
 *   batch (source) := schemas, u32 n, map partition*, u32 n, source-record*
 *   batch (sink)   := schemas, u32 n, sink-record*
 *   schemas        := u32 n, schema*   (records refer to them 1-based, 0 = none)
 *   schema         := u8 type, u8 flags, [name], [version], [doc], [params],
 *                     children (struct fields / array items / map key+value),
 *                     [default value]
 *   value          := u8 tag, payload (see FERRY_TAG_*)
 *   source-record  := u32 partition index (0xFFFFFFFF none), map offset,
 *                     str topic, i32 partition (-1 any), u32 key schema,
 *                     value key, u32 value schema, value value,
 *                     u8 has_timestamp, i64 timestamp, headers
 *   headers        := u32 n, (str key, u32 schema, value)*
 *   props          := u32 n, (str key, str value)*
 *   task configs   := u32 n, props*
 */
#ifndef FERRY_PLUGIN_H
#define FERRY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FERRY_ABI_VERSION 3u

/* Statuses. */
#define FERRY_OK 0
#define FERRY_ERROR 1
#define FERRY_RETRIABLE 2
#define FERRY_CONFIG 3
#define FERRY_DATA 4
#define FERRY_ILLEGAL_ARGUMENT 5
#define FERRY_INDEX_OUT_OF_BOUNDS 6
#define FERRY_SCHEMA_BUILDER 7
#define FERRY_NULL_POINTER 8
#define FERRY_PANIC 9

/* Plugin kinds. */
#define FERRY_KIND_SOURCE 1u
#define FERRY_KIND_SINK 2u
#define FERRY_KIND_CONVERTER 3u
#define FERRY_KIND_HEADER_CONVERTER 4u
#define FERRY_KIND_TRANSFORMATION 5u
#define FERRY_KIND_PREDICATE 6u

/* Schema types and flags. */
#define FERRY_SCHEMA_INT8 1
#define FERRY_SCHEMA_INT16 2
#define FERRY_SCHEMA_INT32 3
#define FERRY_SCHEMA_INT64 4
#define FERRY_SCHEMA_FLOAT32 5
#define FERRY_SCHEMA_FLOAT64 6
#define FERRY_SCHEMA_BOOLEAN 7
#define FERRY_SCHEMA_STRING 8
#define FERRY_SCHEMA_BYTES 9
#define FERRY_SCHEMA_ARRAY 10
#define FERRY_SCHEMA_MAP 11
#define FERRY_SCHEMA_STRUCT 12
#define FERRY_FLAG_OPTIONAL 1
#define FERRY_FLAG_NAME 2
#define FERRY_FLAG_VERSION 4
#define FERRY_FLAG_DOC 8
#define FERRY_FLAG_PARAMETERS 16
#define FERRY_FLAG_DEFAULT 32

/* Value tags. */
#define FERRY_TAG_NULL 0
#define FERRY_TAG_BOOLEAN 1
#define FERRY_TAG_INT8 2
#define FERRY_TAG_INT16 3
#define FERRY_TAG_INT32 4
#define FERRY_TAG_INT64 5
#define FERRY_TAG_FLOAT32 6
#define FERRY_TAG_FLOAT64 7
#define FERRY_TAG_STRING 8
#define FERRY_TAG_BYTES 9
#define FERRY_TAG_ARRAY 10
#define FERRY_TAG_MAP 11
#define FERRY_TAG_STRUCT 12
#define FERRY_TAG_DECIMAL 13
#define FERRY_TAG_DATE 14
#define FERRY_TAG_TIME 15
#define FERRY_TAG_TIMESTAMP 16

#define FERRY_NO_SCHEMA 0u
#define FERRY_NO_PARTITION 0xFFFFFFFFu
#define FERRY_ANY_PARTITION (-1)

typedef struct FerryStr { const uint8_t *ptr; size_t len; } FerryStr;
typedef struct FerryBuf { uint8_t *ptr; size_t len; size_t cap; } FerryBuf;
typedef struct FerryError { FerryBuf message; } FerryError;

typedef struct FerryManifest FerryManifest;

typedef struct FerryPluginEntry {
    uint32_t abi_version; /* always the first field */
    int32_t (*manifest)(const FerryManifest **out, FerryError *err);
} FerryPluginEntry;

typedef struct FerryPluginDesc {
    uint32_t kind;
    FerryStr class_name;
    FerryStr version;
    const FerryStr *aliases;
    size_t alias_count;
    FerryStr config_def; /* JSON, see docs/design.md */
    const void *factory; /* passed back to create */
    const void *vtable;  /* the kind's table */
    /* A connector's keys naming local files, bounded by the worker's
       file.connectors.allowed.paths; NULL and 0 for none. */
    const FerryStr *local_file_keys;
    size_t local_file_key_count;
} FerryPluginDesc;

struct FerryManifest {
    const FerryPluginDesc *plugins;
    size_t plugin_count;
    void (*free_buf)(FerryBuf buf);
};

typedef struct FerryConnectorContext {
    const void *host;
    void (*request_task_reconfiguration)(const void *host);
    void (*raise_error)(const void *host, int32_t status, FerryStr message);
} FerryConnectorContext;

typedef struct FerrySourceTaskContext {
    const void *host;
    FerryStr connector_name;
    uint32_t task_number;
    /* 1 and *out (a map value, host-allocated) when an offset exists. */
    int32_t (*offset)(const void *host, FerryStr partition, FerryBuf *out);
    void (*free_buf)(FerryBuf buf);
} FerrySourceTaskContext;

typedef struct FerryRecordMetadata {
    uint8_t written; /* 0: dropped by a transformation or skipped */
    int32_t partition;
    int64_t offset;
    int64_t timestamp; /* -1 when unknown */
    FerryStr topic;    /* after transformations; valid for the call */
} FerryRecordMetadata;

typedef struct FerrySinkTaskContext {
    const void *host;
    FerryStr connector_name;
    uint32_t task_number;
    void (*reset_offset)(const void *host, FerryStr topic, int32_t partition, int64_t offset);
    void (*pause_resume)(const void *host, FerryStr topic, int32_t partition, uint8_t resume);
    void (*request_commit)(const void *host);
    int32_t (*report_errant)(const void *host, FerryStr record, int32_t status,
                             FerryStr message, FerryError *err); /* may be NULL */
    void (*free_buf)(FerryBuf buf);
} FerrySinkTaskContext;

typedef struct FerrySourceTaskVTable {
    int32_t (*create)(const void *factory, void **out, FerryError *err);
    void (*destroy)(void *self);
    int32_t (*start)(void *self, FerryStr props, const FerrySourceTaskContext *ctx, FerryError *err);
    int32_t (*poll)(void *self, FerryBuf *out, FerryError *err);
    int32_t (*commit)(void *self, FerryError *err);
    int32_t (*commit_records)(void *self, FerryStr records, const FerryRecordMetadata *metadata,
                              FerryError *err); /* may be NULL */
    int32_t (*stop)(void *self, FerryError *err);
    /* The task is to stop: a waiting poll should return soon. Called once,
       from any thread, possibly during another call. May be NULL. */
    void (*request_stop)(void *self);
    /* 1 when this started instance wants commit_records. May be NULL:
       then it does when commit_records is set. */
    uint8_t (*wants_commit_records)(void *self);
} FerrySourceTaskVTable;

typedef struct FerrySinkTaskVTable {
    int32_t (*create)(const void *factory, void **out, FerryError *err);
    void (*destroy)(void *self);
    int32_t (*start)(void *self, FerryStr props, const FerrySinkTaskContext *ctx, FerryError *err);
    int32_t (*open)(void *self, FerryStr partitions, FerryError *err);
    int32_t (*put)(void *self, FerryStr batch, FerryError *err);
    int32_t (*flush)(void *self, FerryStr offsets, FerryError *err);
    int32_t (*pre_commit)(void *self, FerryStr offsets, FerryBuf *out, FerryError *err);
    int32_t (*close)(void *self, FerryStr partitions, FerryError *err);
    int32_t (*stop)(void *self, FerryError *err);
    /* As the source task's; a waiting put may give up. May be NULL. */
    void (*request_stop)(void *self);
} FerrySinkTaskVTable;

typedef struct FerryConnectorVTable {
    int32_t (*create)(const void *factory, void **out, FerryError *err);
    void (*destroy)(void *self);
    int32_t (*validate)(void *self, FerryStr props, FerryBuf *out, FerryError *err);
    int32_t (*start)(void *self, FerryStr props, const FerryConnectorContext *ctx, FerryError *err);
    int32_t (*task_configs)(void *self, uint32_t max_tasks, FerryBuf *out, FerryError *err);
    int32_t (*stop)(void *self, FerryError *err);
    const FerrySourceTaskVTable *source_task; /* NULL for a sink */
    const FerrySinkTaskVTable *sink_task;     /* NULL for a source */
} FerryConnectorVTable;

typedef struct FerryConverterVTable {
    int32_t (*create)(const void *factory, void **out, FerryError *err);
    void (*destroy)(void *self);
    int32_t (*configure)(void *self, FerryStr props, uint8_t is_key, FerryError *err);
    int32_t (*from_connect)(void *self, FerryStr topic, FerryStr data, FerryBuf *out,
                            uint8_t *present, FerryError *err);
    int32_t (*to_connect)(void *self, FerryStr topic, FerryStr payload, uint8_t present,
                          FerryBuf *out, FerryError *err);
    void (*close)(void *self);
    /* Optional (NULL: the host converts item by item). Batches in the
       to-bytes / from-bytes item and result encodings; on a failure *out
       may hold the results of the items before the failing one. */
    int32_t (*from_connect_batch)(void *self, FerryStr items, FerryBuf *out, FerryError *err);
    int32_t (*to_connect_batch)(void *self, FerryStr items, FerryBuf *out, FerryError *err);
} FerryConverterVTable;

typedef struct FerryHeaderConverterVTable {
    int32_t (*create)(const void *factory, void **out, FerryError *err);
    void (*destroy)(void *self);
    int32_t (*configure)(void *self, FerryStr props, FerryError *err);
    int32_t (*from_connect)(void *self, FerryStr topic, FerryStr key, FerryStr data, FerryBuf *out,
                            uint8_t *present, FerryError *err);
    int32_t (*to_connect)(void *self, FerryStr topic, FerryStr key, FerryStr payload,
                          uint8_t present, FerryBuf *out, FerryError *err);
    void (*close)(void *self);
    /* Optional (NULL: the host converts item by item). Batches in the
       to-bytes / from-bytes item and result encodings; on a failure *out
       may hold the results of the items before the failing one. */
    int32_t (*from_connect_batch)(void *self, FerryStr items, FerryBuf *out, FerryError *err);
    int32_t (*to_connect_batch)(void *self, FerryStr items, FerryBuf *out, FerryError *err);
} FerryHeaderConverterVTable;

typedef struct FerryTransformationVTable {
    int32_t (*create)(const void *factory, uint8_t for_sink, void **out, FerryError *err);
    void (*destroy)(void *self);
    int32_t (*configure)(void *self, FerryStr props, FerryError *err);
    /* On a failure, *out may hold the results of the records before the
       failing one; the host calls again for the records after it. */
    int32_t (*apply)(void *self, FerryStr batch, FerryBuf *out, FerryError *err);
    void (*close)(void *self);
} FerryTransformationVTable;

typedef struct FerryPredicateVTable {
    int32_t (*create)(const void *factory, uint8_t for_sink, void **out, FerryError *err);
    void (*destroy)(void *self);
    int32_t (*configure)(void *self, FerryStr props, FerryError *err);
    int32_t (*test)(void *self, FerryStr batch, uint8_t *results, size_t result_len, FerryError *err);
    void (*close)(void *self);
} FerryPredicateVTable;

/* ---- helpers: a growable buffer handed over as a FerryBuf (malloc'd, so
 * the plugin's free_buf is `free(buf.ptr)`), and a bounds-checked reader. */

typedef struct ferry_writer { uint8_t *ptr; size_t len; size_t cap; int failed; } ferry_writer;

static inline void fw_put(ferry_writer *w, const void *bytes, size_t n) {
    if (w->failed) return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        while (cap < w->len + n) cap *= 2;
        uint8_t *p = (uint8_t *)realloc(w->ptr, cap);
        if (!p) { w->failed = 1; return; }
        w->ptr = p;
        w->cap = cap;
    }
    memcpy(w->ptr + w->len, bytes, n);
    w->len += n;
}
static inline void fw_u8(ferry_writer *w, uint8_t v) { fw_put(w, &v, 1); }
static inline void fw_u32(ferry_writer *w, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fw_put(w, b, 4);
}
static inline void fw_i32(ferry_writer *w, int32_t v) { fw_u32(w, (uint32_t)v); }
static inline void fw_i64(ferry_writer *w, int64_t v) {
    fw_u32(w, (uint32_t)((uint64_t)v & 0xFFFFFFFFu));
    fw_u32(w, (uint32_t)((uint64_t)v >> 32));
}
static inline void fw_str(ferry_writer *w, const char *s, size_t n) { fw_u32(w, (uint32_t)n); fw_put(w, s, n); }
static inline void fw_cstr(ferry_writer *w, const char *s) { fw_str(w, s, strlen(s)); }
static inline FerryBuf fw_finish(ferry_writer *w) {
    FerryBuf b = {w->ptr, w->len, w->cap};
    return b;
}

typedef struct ferry_reader { const uint8_t *ptr; size_t len; size_t pos; int failed; } ferry_reader;

static inline ferry_reader fr_new(FerryStr s) { ferry_reader r = {s.ptr, s.len, 0, 0}; return r; }
static inline const uint8_t *fr_take(ferry_reader *r, size_t n) {
    if (r->failed || r->len - r->pos < n) { r->failed = 1; return NULL; }
    const uint8_t *p = r->ptr + r->pos;
    r->pos += n;
    return p;
}
static inline uint8_t fr_u8(ferry_reader *r) { const uint8_t *p = fr_take(r, 1); return p ? p[0] : 0; }
static inline uint32_t fr_u32(ferry_reader *r) {
    const uint8_t *p = fr_take(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}
static inline int64_t fr_i64(ferry_reader *r) {
    uint64_t lo = fr_u32(r), hi = fr_u32(r);
    return (int64_t)(lo | hi << 32);
}
/* A str: its bytes (not NUL-terminated) and length. */
static inline const char *fr_str(ferry_reader *r, size_t *n) {
    *n = fr_u32(r);
    return (const char *)fr_take(r, *n);
}

#endif /* FERRY_PLUGIN_H */
