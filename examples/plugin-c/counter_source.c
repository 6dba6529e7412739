/*
 * A source connector written in C against ferry_plugin.h, with no Rust
 * involved: `com.example.c.CounterSourceConnector` writes the string
 * records "c-record-0" ... "c-record-<count - 1>" to `topic`, resuming
 * after the last committed one (source offset {"next": n} of partition
 * {"counter": "c"}).
 *
 *   cc -shared -fPIC -O2 -o libcounter_source.so counter_source.c
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "ferry_plugin.h"

static const char CLASS[] = "com.example.c.CounterSourceConnector";
static const char VERSION[] = "1.0-c";
static const char CONFIG_DEF[] =
    "[{\"name\":\"topic\",\"type\":\"STRING\",\"importance\":\"HIGH\","
    "\"documentation\":\"The topic to write to.\"},"
    "{\"name\":\"count\",\"type\":\"LONG\",\"default\":\"10\","
    "\"validator\":{\"range\":{\"min\":0}},\"documentation\":\"How many records.\"}]";

static FerryStr lit(const char *s) {
    FerryStr r = {(const uint8_t *)s, strlen(s)};
    return r;
}

/* Sets err's message (`len` bytes: a CONFIG message carries a NUL between
 * the key and the text) and returns `status`. */
static int32_t fail_n(FerryError *err, int32_t status, const char *message, size_t len) {
    if (err) {
        ferry_writer w = {0};
        fw_put(&w, message, len);
        err->message = fw_finish(&w);
    }
    return status;
}

static int32_t fail(FerryError *err, int32_t status, const char *message) {
    return fail_n(err, status, message, strlen(message));
}

static void free_buf(FerryBuf buf) { free(buf.ptr); }

/* Finds `key` in a props encoding; returns a NUL-terminated copy of its
 * value, or NULL. */
static char *prop(FerryStr props, const char *key) {
    ferry_reader r = fr_new(props);
    uint32_t n = fr_u32(&r);
    for (uint32_t i = 0; i < n && !r.failed; i++) {
        size_t kn, vn;
        const char *k = fr_str(&r, &kn);
        const char *v = fr_str(&r, &vn);
        if (!r.failed && kn == strlen(key) && memcmp(k, key, kn) == 0) {
            char *out = (char *)malloc(vn + 1);
            if (!out) return NULL;
            memcpy(out, v, vn);
            out[vn] = 0;
            return out;
        }
    }
    return NULL;
}

/* ---- the connector: hands its props to one task ---- */

typedef struct {
    uint8_t *props;
    size_t len;
} Connector;

static int32_t connector_create(const void *factory, void **out, FerryError *err) {
    (void)factory;
    Connector *c = (Connector *)calloc(1, sizeof *c);
    if (!c) return fail(err, FERRY_ERROR, "out of memory");
    *out = c;
    return FERRY_OK;
}

static void connector_destroy(void *self) {
    Connector *c = (Connector *)self;
    if (c) free(c->props);
    free(c);
}

static int32_t connector_validate(void *self, FerryStr props, FerryBuf *out, FerryError *err) {
    (void)self;
    (void)props;
    /* Nothing beyond the definition's own checks, which the worker applies. */
    ferry_writer w = {0};
    fw_put(&w, "[]", 2);
    *out = fw_finish(&w);
    return w.failed ? fail(err, FERRY_ERROR, "out of memory") : FERRY_OK;
}

static const char MISSING_TOPIC[] =
    "topic\0Missing required configuration \"topic\" which has no default value.";

static int32_t connector_start(void *self, FerryStr props, const FerryConnectorContext *ctx,
                               FerryError *err) {
    (void)ctx;
    Connector *c = (Connector *)self;
    char *topic = prop(props, "topic");
    int missing = !topic || !*topic;
    free(topic);
    if (missing) return fail_n(err, FERRY_CONFIG, MISSING_TOPIC, sizeof MISSING_TOPIC - 1);
    c->props = (uint8_t *)malloc(props.len ? props.len : 1);
    if (!c->props) return fail(err, FERRY_ERROR, "out of memory");
    memcpy(c->props, props.ptr, props.len);
    c->len = props.len;
    return FERRY_OK;
}

static int32_t connector_task_configs(void *self, uint32_t max_tasks, FerryBuf *out,
                                      FerryError *err) {
    (void)max_tasks;
    Connector *c = (Connector *)self;
    ferry_writer w = {0};
    fw_u32(&w, 1);
    fw_put(&w, c->props, c->len);
    *out = fw_finish(&w);
    return w.failed ? fail(err, FERRY_ERROR, "out of memory") : FERRY_OK;
}

static int32_t connector_stop(void *self, FerryError *err) {
    (void)self;
    (void)err;
    return FERRY_OK;
}

/* ---- the task ---- */

typedef struct {
    char *topic;
    int64_t count;
    int64_t next;
    atomic_int stopping; /* set by request_stop, from another thread */
} Task;

static int32_t task_create(const void *factory, void **out, FerryError *err) {
    (void)factory;
    Task *t = (Task *)calloc(1, sizeof *t);
    if (!t) return fail(err, FERRY_ERROR, "out of memory");
    *out = t;
    return FERRY_OK;
}

static void task_destroy(void *self) {
    Task *t = (Task *)self;
    if (t) free(t->topic);
    free(t);
}

/* The source partition, a map value {"counter": "c"}. */
static void write_partition(ferry_writer *w) {
    fw_u8(w, FERRY_TAG_MAP);
    fw_u32(w, 1);
    fw_u8(w, FERRY_TAG_STRING);
    fw_cstr(w, "counter");
    fw_u8(w, FERRY_TAG_STRING);
    fw_cstr(w, "c");
}

static int32_t task_start(void *self, FerryStr props, const FerrySourceTaskContext *ctx,
                          FerryError *err) {
    Task *t = (Task *)self;
    t->topic = prop(props, "topic");
    if (!t->topic) return fail_n(err, FERRY_CONFIG, MISSING_TOPIC, sizeof MISSING_TOPIC - 1);
    char *count = prop(props, "count");
    t->count = count ? atoll(count) : 10;
    free(count);
    /* Resume after the committed offset {"next": n}. */
    ferry_writer p = {0};
    write_partition(&p);
    FerryStr partition = {p.ptr, p.len};
    FerryBuf offset = {0};
    if (!p.failed && ctx->offset(ctx->host, partition, &offset) == 1) {
        FerryStr o = {offset.ptr, offset.len};
        ferry_reader r = fr_new(o);
        if (fr_u8(&r) == FERRY_TAG_MAP) {
            uint32_t n = fr_u32(&r);
            for (uint32_t i = 0; i < n && !r.failed; i++) {
                size_t kn;
                fr_u8(&r); /* FERRY_TAG_STRING */
                const char *k = fr_str(&r, &kn);
                uint8_t tag = fr_u8(&r);
                if (tag == FERRY_TAG_INT64 && kn == 4 && memcmp(k, "next", 4) == 0) {
                    t->next = fr_i64(&r);
                } else {
                    r.failed = 1; /* only {"next": int64} is written here */
                }
            }
        }
        ctx->free_buf(offset);
    }
    free(p.ptr);
    return FERRY_OK;
}

static int32_t task_poll(void *self, FerryBuf *out, FerryError *err) {
    Task *t = (Task *)self;
    int64_t end = t->next + 100 < t->count ? t->next + 100 : t->count;
    ferry_writer w = {0};
    /* The schema table: one STRING schema, not optional. */
    fw_u32(&w, 1);
    fw_u8(&w, FERRY_SCHEMA_STRING);
    fw_u8(&w, 0);
    /* The partition table: one source partition. */
    fw_u32(&w, 1);
    write_partition(&w);
    fw_u32(&w, (uint32_t)(end - t->next));
    for (int64_t i = t->next; i < end; i++) {
        char value[64];
        int n = snprintf(value, sizeof value, "c-record-%lld", (long long)i);
        fw_u32(&w, 0);            /* partition 0 of the table */
        fw_u8(&w, FERRY_TAG_MAP); /* offset {"next": i + 1} */
        fw_u32(&w, 1);
        fw_u8(&w, FERRY_TAG_STRING);
        fw_cstr(&w, "next");
        fw_u8(&w, FERRY_TAG_INT64);
        fw_i64(&w, i + 1);
        fw_cstr(&w, t->topic);
        fw_i32(&w, FERRY_ANY_PARTITION);
        fw_u32(&w, FERRY_NO_SCHEMA); /* key: null, no schema */
        fw_u8(&w, FERRY_TAG_NULL);
        fw_u32(&w, 1); /* value: schema 1, a string */
        fw_u8(&w, FERRY_TAG_STRING);
        fw_str(&w, value, (size_t)n);
        fw_u8(&w, 0); /* no timestamp */
        fw_i64(&w, 0);
        fw_u32(&w, 0); /* no headers */
    }
    if (w.failed) {
        free(w.ptr);
        return fail(err, FERRY_RETRIABLE, "out of memory");
    }
    t->next = end;
    /* Nothing left: wait a little, as a poll without data should, in
       short steps so that a stop request is seen at once. */
    for (int i = 0; end == t->count && i < 10 && !atomic_load(&t->stopping); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    *out = fw_finish(&w);
    return FERRY_OK;
}

static int32_t task_commit(void *self, FerryError *err) {
    (void)self;
    (void)err;
    return FERRY_OK;
}

static int32_t task_stop(void *self, FerryError *err) {
    (void)self;
    (void)err;
    return FERRY_OK;
}

static void task_request_stop(void *self) { atomic_store(&((Task *)self)->stopping, 1); }

static const FerrySourceTaskVTable SOURCE_TASK = {
    task_create, task_destroy, task_start,        task_poll, task_commit,
    NULL,        task_stop,    task_request_stop, NULL,
};

static const FerryConnectorVTable CONNECTOR = {
    connector_create,       connector_destroy, connector_validate, connector_start,
    connector_task_configs, connector_stop,    &SOURCE_TASK,       NULL,
};

static FerryPluginDesc PLUGINS[1];
static FerryManifest MANIFEST;

static int32_t manifest(const FerryManifest **out, FerryError *err) {
    (void)err;
    PLUGINS[0].kind = FERRY_KIND_SOURCE;
    PLUGINS[0].class_name = lit(CLASS);
    PLUGINS[0].version = lit(VERSION);
    PLUGINS[0].aliases = NULL;
    PLUGINS[0].alias_count = 0;
    PLUGINS[0].config_def = lit(CONFIG_DEF);
    PLUGINS[0].factory = NULL;
    PLUGINS[0].vtable = &CONNECTOR;
    PLUGINS[0].local_file_keys = NULL;
    PLUGINS[0].local_file_key_count = 0;
    MANIFEST.plugins = PLUGINS;
    MANIFEST.plugin_count = 1;
    MANIFEST.free_buf = free_buf;
    *out = &MANIFEST;
    return FERRY_OK;
}

const FerryPluginEntry ferry_plugin_entry = {FERRY_ABI_VERSION, manifest};
