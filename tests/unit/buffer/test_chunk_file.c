/* File chunks: Fluentd's names, meta bytes and content; write-ahead, faults, shrink. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer/chunk_file.h"
#include "buffer/chunk_recover.h"
#include "buffer/fileops.h"
#include "event/event.h"
#include "util/alloc.h"

/* compat-formats.md (b): the worked .meta example, 87 bytes. */
static const unsigned char worked_meta[87] = {
    0xc1, 0x00, 0x00, 0x00, 0x00, 0x51, 0x88, 0xa7, 0x74, 0x69, 0x6d, 0x65, 0x6b, 0x65, 0x79, 0xc0,
    0xa3, 0x74, 0x61, 0x67, 0xac, 0x6e, 0x67, 0x69, 0x6e, 0x78, 0x2e, 0x61, 0x63, 0x63, 0x65, 0x73,
    0x73, 0xa9, 0x76, 0x61, 0x72, 0x69, 0x61, 0x62, 0x6c, 0x65, 0x73, 0xc0, 0xa3, 0x73, 0x65, 0x71,
    0x00, 0xa2, 0x69, 0x64, 0xc4, 0x10, 0x60, 0xa2, 0x41, 0x82, 0x02, 0x24, 0x0a, 0xbc, 0x01, 0x23,
    0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xa1, 0x73, 0x02, 0xa1, 0x63, 0xce, 0x65, 0x53, 0xf1, 0x00,
    0xa1, 0x6d, 0xce, 0x65, 0x53, 0xf1, 0x05};

/* compat-formats.md (b): the example chunk content with two events, 62 bytes. */
static const unsigned char example_chunk[62] = {
    0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x01, 0xf4, 0x82, 0xa6, 0x72, 0x65, 0x6d,
    0x6f, 0x74, 0x65, 0xa8, 0x31, 0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0xa6, 0x6d, 0x65, 0x74,
    0x68, 0x6f, 0x64, 0xa3, 0x47, 0x45, 0x54, 0x92, 0xce, 0x65, 0x53, 0xf1, 0x01, 0x81, 0xa6, 0x72,
    0x65, 0x6d, 0x6f, 0x74, 0x65, 0xa8, 0x31, 0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x32};

static const uint8_t worked_id[SK_CHUNK_ID_SIZE] = {0x60, 0xa2, 0x41, 0x82, 0x02, 0x24,
                                                    0x0a, 0xbc, 0x01, 0x23, 0x45, 0x67,
                                                    0x89, 0xab, 0xcd, 0xef};

static int64_t fake_now = 1700000000;

static int64_t fake_clock(void)
{
    return fake_now;
}

static struct sk_chunk_opts opts_with(const struct sk_fileops *ops, enum sk_chunk_sync sync,
                                      bool gzip)
{
    struct sk_chunk_opts o = {.ops = ops, .sync = sync, .gzip = gzip, .clock = fake_clock};

    return o;
}

static char *pattern_in(const char *dir, const char *sub)
{
    static char p[512];

    snprintf(p, sizeof(p), "%s%s/buffer.*.log", dir, sub);
    return p;
}

/* Appends `n` events (sec = base + i, one "k": "v<i>" pair) to eb. */
static void make_events(struct sk_evbuf *eb, int64_t base, int n)
{
    for (int i = 0; i < n; i++) {
        char v[16];

        snprintf(v, sizeof(v), "v%d", i);
        assert_int_equal(sk_evbuf_begin(eb, (struct sk_time){base + i, 7}), 0);
        assert_int_equal(msgpack_pack_map(&eb->pk, 1), 0);
        assert_int_equal(sk_pack_kv_str(&eb->pk, "k", 1, v, strlen(v)), 0);
        sk_evbuf_commit(eb);
    }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes a test directory and everything in it. */
static void rm_tree(const char *dir)
{
    assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static size_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

static bool exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    const struct dirent *e;

    if (d == NULL) {
        return 0;
    }
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void read_equals(struct sk_chunk *c, const void *want, size_t len)
{
    struct sk_buf b;

    sk_buf_init(&b, 1 << 24);
    assert_int_equal(sk_chunk_read(c, &b), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, want, len);
    sk_buf_cleanup(&b);
}

static void decode_meta_file(const char *path, struct sk_chunk_meta *m, unsigned int *have)
{
    size_t len;
    char *data = sk_test_read_file(path, &len);

    assert_non_null(data);
    memset(m, 0, sizeof(*m));
    assert_int_equal(sk_chunk_meta_decode(data, len, m, have), 0);
    free(data);
}

/* --- ids, names, meta bytes ---------------------------------------------------- */

static void test_id_layout(void **state)
{
    uint8_t id[SK_CHUNK_ID_SIZE];
    uint8_t back[SK_CHUNK_ID_SIZE];
    char hex[SK_CHUNK_ID_HEX_SIZE];
    uint64_t usec = 1700000000123456ull;

    (void)state;
    sk_chunk_id_make(id, usec, 0xabc, 0x01234567, 0x89abcdef);
    sk_chunk_id_hex(id, hex);
    /* u1 = usec << 12 | rand12, then two random words, all big-endian: the
     * id of compat-formats.md's examples. */
    assert_string_equal(hex, "60a2418202240abc0123456789abcdef");
    assert_int_equal(sk_chunk_id_usec(id), usec);
    assert_int_equal(sk_chunk_id_parse(hex, 32, back), 0);
    assert_memory_equal(id, back, sizeof(id));
    assert_int_equal(sk_chunk_id_parse(hex, 31, back), SK_EPARSE);
    assert_int_equal(sk_chunk_id_parse("60A2418F4BF40ABC0123456789ABCDEF", 32, back), SK_EPARSE);

    /* A generated id starts with the current time in microseconds. */
    sk_chunk_id_generate(id);
    {
        struct sk_time now = sk_time_now();
        uint64_t got = sk_chunk_id_usec(id) / 1000000u;

        assert_true(got + 2 >= (uint64_t)now.sec && got <= (uint64_t)now.sec);
    }
}

static void test_path_make(void **state)
{
    const char *hex = "60a2418202240abc0123456789abcdef";
    char *p = NULL;

    (void)state;
    assert_int_equal(sk_chunk_path_make("/var/buf/buffer.*.log", 'b', hex, &p), 0);
    assert_string_equal(p, "/var/buf/buffer.b60a2418202240abc0123456789abcdef.log");
    sk_free(p);
    assert_int_equal(sk_chunk_path_make("/var/log/td-agent/buffer/es.*.log", 'q', hex, &p), 0);
    assert_string_equal(p, "/var/log/td-agent/buffer/es.q60a2418202240abc0123456789abcdef.log");
    sk_free(p);
    assert_int_equal(sk_chunk_path_make("/var/buf/buffer.log", 'b', hex, &p), SK_EINVAL);
    assert_null(p);
    assert_int_equal(sk_chunk_path_make("/x.*.y/buffer.log", 'b', hex, &p), SK_EINVAL);
}

static void worked_example_meta(struct sk_chunk_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->timekey = -1;
    m->tag = sk_strdup("nginx.access");
    memcpy(m->id, worked_id, sizeof(worked_id));
    m->records = 2;
    m->created = 1700000000;
    m->modified = 1700000005;
}

static void test_meta_bytes_equal_worked_example(void **state)
{
    struct sk_chunk_meta m;
    struct sk_buf b;

    (void)state;
    worked_example_meta(&m);
    sk_buf_init(&b, 4096);
    assert_int_equal(sk_chunk_meta_encode(&m, &b), 0);
    assert_int_equal(b.len, sizeof(worked_meta));
    assert_memory_equal(b.data, worked_meta, sizeof(worked_meta));
    sk_buf_cleanup(&b);
    sk_chunk_meta_cleanup(&m);
}

static void test_meta_decode(void **state)
{
    struct sk_chunk_meta m;
    unsigned int have;
    const char *w = (const char *)worked_meta;

    (void)state;
    /* v1.7+ with the C1 00 header. */
    memset(&m, 0, sizeof(m));
    assert_int_equal(sk_chunk_meta_decode(w, sizeof(worked_meta), &m, &have), 0);
    assert_int_equal(have, SK_META_HAVE_ID | SK_META_HAVE_S | SK_META_HAVE_C | SK_META_HAVE_M);
    assert_string_equal(m.tag, "nginx.access");
    assert_int_equal(m.timekey, -1);
    assert_null(m.variables);
    assert_memory_equal(m.id, worked_id, sizeof(worked_id));
    assert_int_equal(m.records, 2);
    assert_int_equal(m.created, 1700000000);
    assert_int_equal(m.modified, 1700000005);
    sk_chunk_meta_cleanup(&m);

    /* Before v1.7: the bare map. */
    memset(&m, 0, sizeof(m));
    assert_int_equal(sk_chunk_meta_decode(w + 6, sizeof(worked_meta) - 6, &m, &have), 0);
    assert_string_equal(m.tag, "nginx.access");
    assert_int_equal(m.records, 2);
    sk_chunk_meta_cleanup(&m);

    /* Damaged: header longer than the file, truncated map, random bytes, not a map. */
    memset(&m, 0, sizeof(m));
    assert_int_equal(sk_chunk_meta_decode(w, 40, &m, &have), SK_EPARSE);
    assert_int_equal(sk_chunk_meta_decode(w + 6, 40, &m, &have), SK_EPARSE);
    assert_int_equal(sk_chunk_meta_decode("\xc1\x00", 2, &m, &have), SK_EPARSE);
    assert_int_equal(sk_chunk_meta_decode("\x05", 1, &m, &have), SK_EPARSE);
    assert_int_equal(sk_chunk_meta_decode("", 0, &m, &have), SK_EPARSE);
    assert_int_equal(sk_chunk_meta_decode("\xdf\xff\xff\xff\xff", 5, &m, &have), SK_EPARSE);
    assert_null(m.tag);
    assert_int_equal(have, 0);
}

static void test_meta_variables_timekey_round_trip(void **state)
{
    static const char vars[] = "\x81\xa4host\xa3web"; /* {"host": "web"} */
    struct sk_chunk_meta m;
    struct sk_chunk_meta back;
    unsigned int have;
    struct sk_buf b;

    (void)state;
    worked_example_meta(&m);
    m.timekey = 1699999200;
    m.seq = 3;
    m.variables = sk_malloc(sizeof(vars) - 1);
    memcpy(m.variables, vars, sizeof(vars) - 1);
    m.variables_len = sizeof(vars) - 1;
    sk_buf_init(&b, 4096);
    assert_int_equal(sk_chunk_meta_encode(&m, &b), 0);
    memset(&back, 0, sizeof(back));
    assert_int_equal(sk_chunk_meta_decode(b.data, b.len, &back, &have), 0);
    assert_int_equal(back.timekey, 1699999200);
    assert_int_equal(back.seq, 3);
    assert_int_equal(back.variables_len, m.variables_len);
    assert_memory_equal(back.variables, vars, m.variables_len);
    sk_chunk_meta_cleanup(&back);
    sk_chunk_meta_cleanup(&m);
    sk_buf_cleanup(&b);
}

/* --- content walk ------------------------------------------------------------------ */

static void test_scan_table(void **state)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
        size_t keep;
        uint64_t records;
        bool torn;
        bool garbage;
    } cases[] = {
        {"empty", "", 0, 0, 0, false, false},
        {"int time", "\x92\x05\x80", 3, 3, 1, false, false},
        {"float time", "\x92\xcb\x41\xd9\x54\xfc\x40\x00\x00\x00\x80", 11, 11, 1, false, false},
        {"ext8 time", "\x92\xc7\x08\x00\x65\x53\xf1\x00\x00\x00\x00\x00\x80", 13, 13, 1,
         false, false},
        {"fixext8 type 1", "\x92\xd7\x01\x65\x53\xf1\x00\x00\x00\x00\x00\x80", 12, 0, 0, false,
         true},
        {"str time", "\x92\xa1x\x80", 4, 0, 0, false, true},
        {"record not a map", "\x92\x05\x05", 3, 0, 0, false, true},
        {"three elements", "\x93\x05\x80\x80", 4, 0, 0, false, true},
        {"cut in the map", "\x92\x05\x81\xa1k", 5, 0, 0, true, false},
        {"cut after array", "\x92", 1, 0, 0, true, false},
        {"cut str32 length", "\x92\x05\x81\xdb\x00\x00", 6, 0, 0, true, false},
        {"0xc1 inside", "\x92\x05\x81\xc1\x05", 5, 0, 0, false, true},
        {"event then 0xc1", "\x92\x05\x80\xc1", 4, 3, 1, false, true},
        {"event then cut", "\x92\x05\x80\x92\x05", 5, 3, 1, true, false},
        {"json lines", "{\"a\":1}\n", 8, 0, 0, false, true},
        {"lone gzip byte", "\x1f", 1, 0, 0, true, false},
        {"gzip header cut", "\x1f\x8b\x08", 3, 0, 0, true, false},
        {"bad gzip", "\x1f\x8b\x07\x00\x00\x00\x00\x00\x00\x03\x00\x00", 12, 0, 0, false, true},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_chunk_scan sc;

        print_message("case %s\n", cases[i].name);
        assert_int_equal(sk_chunk_scan(cases[i].bytes, cases[i].len, 1 << 20, &sc), 0);
        assert_int_equal(sc.keep, cases[i].keep);
        assert_int_equal(sc.records, cases[i].records);
        assert_int_equal(sc.torn, cases[i].torn);
        assert_int_equal(sc.garbage, cases[i].garbage);
    }
}

/* --- life cycle ------------------------------------------------------------------ */

static void test_round_trip_append_commit_enqueue_purge(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = opts_with(NULL, SK_CHUNK_SYNC_COMMIT, false);
    struct sk_chunk_key key = {.tag = "nginx.access", .timekey = -1};
    struct sk_chunk *c = NULL;
    struct sk_chunk_meta m;
    struct sk_evbuf eb;
    char sub[600];
    char bpath[700];
    char bmeta[800];
    unsigned int have;
    struct stat st;

    (void)state;
    fake_now = 1700000000;
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 5);
    /* The directory does not exist yet: it is created 0700, the files 0600. */
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, "/a/b"), &key, &c), 0);
    snprintf(sub, sizeof(sub), "%s/a/b", dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(c->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(c->state, SK_CHUNK_STAGED);
    assert_int_equal(strlen(c->id_hex), 32);
    snprintf(bpath, sizeof(bpath), "%s/buffer.b%s.log", sub, c->id_hex);
    snprintf(bmeta, sizeof(bmeta), "%s.meta", bpath);
    assert_string_equal(c->path, bpath);
    assert_string_equal(c->meta_path, bmeta);
    assert_true(exists(bmeta)); /* written at creation, s=0 */

    /* Write-ahead: once append returns, the bytes are in the file. */
    assert_int_equal(sk_chunk_append(c, eb.buf.data, 40, 0), 0);
    assert_int_equal(file_size(bpath), 40);
    assert_int_equal(sk_chunk_append(c, eb.buf.data + 40, eb.buf.len - 40, 5), 0);
    assert_int_equal(file_size(bpath), eb.buf.len);
    fake_now = 1700000009;
    assert_int_equal(sk_chunk_commit(c), 0);
    decode_meta_file(bmeta, &m, &have);
    assert_string_equal(m.tag, "nginx.access");
    assert_int_equal(m.records, 5);
    assert_int_equal(m.created, 1700000000);
    assert_int_equal(m.modified, 1700000009);
    assert_memory_equal(m.id, c->meta.id, SK_CHUNK_ID_SIZE);
    sk_chunk_meta_cleanup(&m);
    read_equals(c, eb.buf.data, eb.buf.len);

    /* Enqueue: .b -> .q for data and meta; no more appends. */
    assert_int_equal(sk_chunk_enqueue(c), 0);
    assert_int_equal(c->state, SK_CHUNK_QUEUED);
    assert_false(exists(bpath));
    assert_false(exists(bmeta));
    bpath[strlen(sub) + strlen("/buffer.")] = 'q';
    assert_string_equal(c->path, bpath);
    assert_true(exists(bpath));
    assert_true(exists(c->meta_path));
    assert_int_equal(sk_chunk_enqueue(c), 0);
    assert_int_equal(sk_chunk_append(c, "x", 1, 1), SK_EINVAL);
    read_equals(c, eb.buf.data, eb.buf.len);

    assert_int_equal(sk_chunk_purge(c), 0);
    assert_int_equal(c->state, SK_CHUNK_PURGED);
    assert_int_equal(count_entries(sub), 0);
    sk_chunk_destroy(c);
    sk_evbuf_cleanup(&eb);
    rm_tree(dir);
}

static void test_example_chunk_reads_back_two_events(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = opts_with(NULL, SK_CHUNK_SYNC_NONE, false);
    struct sk_chunk_key key = {.tag = "nginx.access", .timekey = -1};
    struct sk_chunk *c = NULL;
    struct sk_event_iter it;
    struct sk_time t;
    const msgpack_object *rec;
    struct sk_buf b;
    size_t len;
    char *onfile;

    (void)state;
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &c), 0);
    assert_int_equal(sk_chunk_append(c, (const char *)example_chunk, sizeof(example_chunk), 2), 0);
    assert_int_equal(sk_chunk_commit(c), 0);
    /* The file holds exactly Fluentd's bytes: no header, no framing. */
    onfile = sk_test_read_file(c->path, &len);
    assert_int_equal(len, 62);
    assert_memory_equal(onfile, example_chunk, 62);
    free(onfile);

    sk_buf_init(&b, 1 << 20);
    assert_int_equal(sk_chunk_read(c, &b), 0);
    sk_event_iter_init(&it, b.data, b.len);
    assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
    assert_int_equal(t.sec, 1700000000);
    assert_int_equal(t.nsec, 500);
    assert_int_equal(rec->via.map.size, 2);
    assert_int_equal(sk_event_iter_next(&it, &t, &rec), 1);
    assert_int_equal(t.sec, 1700000001);
    assert_int_equal(rec->via.map.size, 1);
    assert_int_equal(sk_event_iter_next(&it, &t, &rec), 0);
    sk_event_iter_cleanup(&it);
    sk_buf_cleanup(&b);
    sk_chunk_destroy(c);
    rm_tree(dir);
}

static void test_gzip_members(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = opts_with(NULL, SK_CHUNK_SYNC_NONE, true);
    struct sk_chunk_key key = {.tag = "t", .timekey = -1};
    struct sk_chunk *c = NULL;
    struct sk_evbuf eb;
    size_t len;
    char *raw;
    struct sk_buf one;
    size_t used;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 6);
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &c), 0);
    assert_int_equal(sk_chunk_append(c, eb.buf.data, 60, 0), 0);
    assert_int_equal(sk_chunk_append(c, eb.buf.data + 60, eb.buf.len - 60, 6), 0);
    raw = sk_test_read_file(c->path, &len);
    assert_int_equal(len, c->bytes);
    assert_int_equal((unsigned char)raw[0], 0x1f);
    assert_int_equal((unsigned char)raw[1], 0x8b);
    /* Two members, the first inflating to the first append. */
    sk_buf_init(&one, 1 << 20);
    assert_int_equal(sk_chunk_gunzip_member(raw, len, &one, &used), 0);
    assert_true(used < len);
    assert_int_equal(one.len, 60);
    assert_int_equal(sk_chunk_gunzip_member(raw, used - 1, &one, &used), SK_EAGAIN);
    assert_int_equal(one.len, 60);
    free(raw);
    sk_buf_cleanup(&one);
    read_equals(c, eb.buf.data, eb.buf.len);

    /* Shrink keeps the format. */
    assert_int_equal(sk_chunk_enqueue(c), 0);
    assert_int_equal(sk_chunk_shrink(c, eb.buf.data + 60, eb.buf.len - 60, 3), 0);
    read_equals(c, eb.buf.data + 60, eb.buf.len - 60);
    sk_chunk_destroy(c);
    sk_evbuf_cleanup(&eb);
    rm_tree(dir);
}

static void test_destroy_keeps_files_removes_empty(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = opts_with(NULL, SK_CHUNK_SYNC_NONE, false);
    struct sk_chunk_key key = {.tag = NULL, .timekey = 1699999200};
    struct sk_chunk *c = NULL;
    struct sk_chunk *empty = NULL;
    struct sk_chunk_meta m;
    unsigned int have;
    char path[600];

    (void)state;
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &c), 0);
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &empty), 0);
    assert_int_equal(count_entries(dir), 4);
    assert_int_equal(sk_chunk_append(c, (const char *)example_chunk, 62, 2), 0);
    assert_int_equal(sk_chunk_commit(c), 0);
    snprintf(path, sizeof(path), "%s", c->meta_path);
    sk_chunk_destroy(c);
    sk_chunk_destroy(empty); /* as Fluentd's close: an empty chunk goes */
    sk_chunk_destroy(NULL);
    assert_int_equal(count_entries(dir), 2);
    decode_meta_file(path, &m, &have);
    assert_null(m.tag);
    assert_int_equal(m.timekey, 1699999200);
    assert_int_equal(m.records, 2);
    sk_chunk_meta_cleanup(&m);
    rm_tree(dir);
}

/* --- faults ------------------------------------------------------------------------ */

static void test_enospc_leaves_chunk_readable(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_fault f;
    struct sk_chunk_opts o;
    struct sk_chunk_key key = {.tag = "t", .timekey = -1};
    struct sk_chunk *c = NULL;
    struct sk_evbuf eb;

    (void)state;
    sk_fault_init(&f);
    o = opts_with(&f.ops, SK_CHUNK_SYNC_NONE, false);
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 8);
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &c), 0);
    assert_int_equal(sk_chunk_append(c, (const char *)example_chunk, 62, 2), 0);
    /* The disk fills in the middle of the next append. */
    f.write_budget = 10;
    f.budget_errno = ENOSPC;
    assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 8), SK_ENOSPC);
    assert_int_equal(file_size(c->path), 62);
    assert_int_equal(c->bytes, 62);
    assert_int_equal(c->meta.records, 2);
    assert_false(c->torn);
    read_equals(c, example_chunk, 62);
    /* Space again: the chunk goes on as if nothing happened. */
    f.write_budget = -1;
    assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 8), 0);
    assert_int_equal(c->meta.records, 10);
    assert_int_equal(file_size(c->path), 62 + eb.buf.len);
    assert_int_equal(sk_chunk_commit(c), 0);
    /* EIO: the same guarantee. */
    f.eio_mask = SK_FAULT_PWRITE;
    assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 8), SK_EIO);
    assert_int_equal(file_size(c->path), 62 + eb.buf.len);
    f.eio_mask = 0;
    sk_chunk_destroy(c);
    sk_evbuf_cleanup(&eb);
    rm_tree(dir);
}

static void test_short_writes_and_eintr(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_fault f;
    struct sk_chunk_opts o;
    struct sk_chunk_key key = {.tag = "t", .timekey = -1};
    struct sk_chunk *c = NULL;
    struct sk_evbuf eb;

    (void)state;
    sk_fault_init(&f);
    f.max_write = 3;
    f.eintr_every = 2;
    o = opts_with(&f.ops, SK_CHUNK_SYNC_APPEND, false);
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 20);
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &c), 0);
    assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 20), 0);
    assert_int_equal(sk_chunk_commit(c), 0);
    assert_int_equal(sk_chunk_enqueue(c), 0);
    assert_int_equal(sk_chunk_shrink(c, eb.buf.data, 100, 3), 0);
    f.max_write = 0;
    f.eintr_every = 0;
    read_equals(c, eb.buf.data, 100);
    assert_true(f.calls > 100);
    sk_chunk_destroy(c);
    sk_evbuf_cleanup(&eb);
    rm_tree(dir);
}

static void test_failed_cut_refuses_appends_until_repaired(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_fault f;
    struct sk_chunk_opts o;
    struct sk_chunk_key key = {.tag = "t", .timekey = -1};
    struct sk_chunk *c = NULL;
    struct sk_evbuf eb;
    char *want;

    (void)state;
    sk_fault_init(&f);
    o = opts_with(&f.ops, SK_CHUNK_SYNC_NONE, false);
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 4);
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &c), 0);
    assert_int_equal(sk_chunk_append(c, (const char *)example_chunk, 62, 2), 0);
    f.write_budget = 5;
    f.budget_errno = EIO;
    f.eio_mask = SK_FAULT_FTRUNCATE;
    assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 4), SK_EIO);
    assert_true(c->torn);
    assert_int_equal(file_size(c->path), 67); /* the torn part is still there */
    f.write_budget = -1;
    assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 4), SK_EIO);
    f.eio_mask = 0;
    assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 4), 0);
    assert_false(c->torn);
    want = malloc(62 + eb.buf.len);
    memcpy(want, example_chunk, 62);
    memcpy(want + 62, eb.buf.data, eb.buf.len);
    read_equals(c, want, 62 + eb.buf.len);
    assert_int_equal(file_size(c->path), 62 + eb.buf.len);
    free(want);
    sk_chunk_destroy(c);
    sk_evbuf_cleanup(&eb);
    rm_tree(dir);
}

/* Counts the fsyncs each policy makes. */
static long fsyncs(enum sk_chunk_sync sync, int appends)
{
    const char *dir = sk_test_tmpdir();
    struct sk_fault f;
    struct sk_chunk_opts o;
    struct sk_chunk_key key = {.tag = "t", .timekey = -1};
    struct sk_chunk *c = NULL;
    long n;

    sk_fault_init(&f);
    f.fail_mask = SK_FAULT_FSYNC; /* count only fsyncs; fail_at 0 never fails */
    o = opts_with(&f.ops, sync, false);
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &c), 0);
    n = f.changes;
    for (int i = 0; i < appends; i++) {
        assert_int_equal(sk_chunk_append(c, (const char *)example_chunk, 62, 2), 0);
    }
    assert_int_equal(sk_chunk_commit(c), 0);
    n = f.changes - n;
    sk_chunk_destroy(c);
    rm_tree(dir);
    return n;
}

static void test_sync_policies(void **state)
{
    (void)state;
    /* After create (which made the meta durable): the meta's later
     * rewrites are not fsynced, recovery rebuilds its count. */
    assert_int_equal(fsyncs(SK_CHUNK_SYNC_NONE, 3), 0);
    assert_int_equal(fsyncs(SK_CHUNK_SYNC_COMMIT, 3), 1);  /* data */
    assert_int_equal(fsyncs(SK_CHUNK_SYNC_APPEND, 3), 3);  /* 3 appends */
}

/* kill -9 in the middle of an append, at every byte: a restart finds the
 * events of earlier appends and the whole events of this one, no more, no
 * less, and can go on appending. Plain and gzip. */
static void test_append_crash_at_every_byte(void **state)
{
    struct sk_chunk_key key = {.tag = "t", .timekey = -1};
    struct sk_evbuf eb;
    size_t ends[3];
    size_t off = 0;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 3);
    for (int i = 0; i < 3; i++) {
        off += sk_mp_skip(eb.buf.data + off, eb.buf.len - off);
        ends[i] = off;
    }
    for (int gzip = 0; gzip < 2; gzip++) {
        bool done = false;

        for (int64_t n = 0; !done; n++) {
            const char *dir = sk_test_tmpdir();
            struct sk_fault f;
            struct sk_chunk_opts o;
            struct sk_chunk_opts plain = opts_with(NULL, SK_CHUNK_SYNC_NONE, gzip != 0);
            struct sk_chunk_paths paths = {.pattern = pattern_in(dir, ""), .extra = NULL};
            struct sk_chunk_set set;
            struct sk_recover_report rep;
            struct sk_chunk *c = NULL;
            size_t whole = 0;
            uint64_t before;
            int rc;

            sk_fault_init(&f);
            o = opts_with(&f.ops, SK_CHUNK_SYNC_NONE, gzip != 0);
            assert_int_equal(sk_chunk_create(&o, paths.pattern, &key, &c), 0);
            /* One append per event with gzip (a member each), one for all otherwise. */
            assert_int_equal(sk_chunk_append(c, (const char *)example_chunk, 62, 2), 0);
            assert_int_equal(sk_chunk_commit(c), 0);
            before = c->bytes;
            f.write_budget = n;
            f.budget_errno = 0; /* crash */
            rc = 0;
            for (int i = 0; i < 3 && rc == 0; i++) {
                size_t from = i == 0 ? 0 : ends[i - 1];

                rc = gzip ? sk_chunk_append(c, eb.buf.data + from, ends[i] - from, 1)
                          : (i == 0 ? sk_chunk_append(c, eb.buf.data, eb.buf.len, 3) : 0);
                whole += rc == 0 && gzip ? 1 : 0;
            }
            whole = gzip ? whole : (rc == 0 ? 3 : 0);
            done = rc == 0;
            c->opts = &plain;
            sk_chunk_destroy(c);
            /* The restart. */
            assert_int_equal(sk_chunk_recover(&plain, &paths, NULL, &set, &rep), 0);
            assert_int_equal(set.n_staged, 1);
            if (!gzip && !done) {
                /* Whole events of the torn append are in the file: kept. */
                while (whole < 3 && before + ends[whole] <= before + (uint64_t)n) {
                    whole++;
                }
            }
            assert_int_equal(set.staged[0]->meta.records, 2 + whole);
            assert_int_equal(rep.torn, set.staged[0]->bytes < before + (uint64_t)n ? 1 : 0);
            assert_int_equal(rep.backed_up + rep.corrupt + rep.failed, 0);
            assert_string_equal(set.staged[0]->meta.tag, "t");
            /* And it goes on. */
            assert_int_equal(sk_chunk_append(set.staged[0], (const char *)example_chunk, 62, 2), 0);
            assert_int_equal(sk_chunk_commit(set.staged[0]), 0);
            sk_chunk_set_cleanup(&set);
            assert_int_equal(sk_chunk_recover(&plain, &paths, NULL, &set, &rep), 0);
            assert_int_equal(set.staged[0]->meta.records, 4 + whole);
            assert_int_equal(rep.torn, 0);
            sk_chunk_set_cleanup(&set);
            rm_tree(dir);
        }
    }
    sk_evbuf_cleanup(&eb);
}

/* Every failing step of create leaves nothing behind. */
static void test_create_fails_cleanly_at_each_step(void **state)
{
    struct sk_chunk_key key = {.tag = "t", .timekey = -1};
    bool done = false;

    (void)state;
    for (long k = 1; !done && k < 50; k++) {
        const char *dir = sk_test_tmpdir();
        struct sk_fault f;
        struct sk_chunk_opts o;
        struct sk_chunk *c = NULL;
        char sub[600];
        int rc;

        sk_fault_init(&f);
        f.fail_at = k;
        f.fail_errno = ENOSPC;
        o = opts_with(&f.ops, SK_CHUNK_SYNC_COMMIT, false);
        rc = sk_chunk_create(&o, pattern_in(dir, "/new"), &key, &c);
        snprintf(sub, sizeof(sub), "%s/new", dir);
        if (rc == 0) {
            done = true;
            assert_int_equal(count_entries(sub), 2);
            sk_chunk_destroy(c);
        } else {
            assert_int_equal(rc, SK_ENOSPC);
            assert_null(c);
            assert_int_equal(count_entries(sub), 0);
        }
        rm_tree(dir);
    }
    assert_true(done);
}

/* --- shrink-to-remaining ---------------------------------------------------------------- */

static void test_shrink_to_remaining(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = opts_with(NULL, SK_CHUNK_SYNC_COMMIT, false);
    struct sk_chunk_key key = {.tag = "es", .timekey = -1};
    struct sk_chunk *c = NULL;
    struct sk_chunk_meta m;
    unsigned int have;
    struct sk_evbuf eb;
    size_t second;
    char path[600];

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 3);
    second = sk_mp_skip(eb.buf.data, eb.buf.len);
    assert_int_equal(sk_chunk_create(&o, pattern_in(dir, ""), &key, &c), 0);
    assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 3), 0);
    assert_int_equal(sk_chunk_commit(c), 0);
    assert_int_equal(sk_chunk_enqueue(c), 0);
    fake_now = 1700000100;
    /* Events 2 and 3 are still owed. */
    assert_int_equal(sk_chunk_shrink(c, eb.buf.data + second, eb.buf.len - second, 2), 0);
    read_equals(c, eb.buf.data + second, eb.buf.len - second);
    assert_int_equal(file_size(c->path), eb.buf.len - second);
    assert_int_equal(c->meta.records, 2);
    decode_meta_file(c->meta_path, &m, &have);
    assert_int_equal(m.records, 2);
    assert_int_equal(m.modified, 1700000100);
    assert_string_equal(m.tag, "es");
    sk_chunk_meta_cleanup(&m);
    assert_int_equal(count_entries(dir), 2); /* no temp file left */
    /* Nothing owed: the chunk goes. */
    snprintf(path, sizeof(path), "%s", c->path);
    assert_int_equal(sk_chunk_shrink(c, NULL, 0, 0), 0);
    assert_int_equal(c->state, SK_CHUNK_PURGED);
    assert_int_equal(count_entries(dir), 0);
    sk_chunk_destroy(c);
    sk_evbuf_cleanup(&eb);
    rm_tree(dir);
}

/* Builds a queued chunk of `n` events under `dir` with the C library. */
static struct sk_chunk *queued_chunk(const struct sk_chunk_opts *o, const char *dir,
                                     const struct sk_evbuf *eb, int n)
{
    struct sk_chunk_key key = {.tag = "es", .timekey = -1};
    struct sk_chunk *c = NULL;

    assert_int_equal(sk_chunk_create(o, pattern_in(dir, ""), &key, &c), 0);
    assert_int_equal(sk_chunk_append(c, eb->buf.data, eb->buf.len, (size_t)n), 0);
    assert_int_equal(sk_chunk_commit(c), 0);
    assert_int_equal(sk_chunk_enqueue(c), 0);
    return c;
}

/* What a restart finds: the one chunk's content, its tag, and the dir count. */
static void restart_finds(const char *dir, const void *a, size_t alen, const void *b, size_t blen,
                          bool *got_b)
{
    struct sk_chunk_opts o = opts_with(NULL, SK_CHUNK_SYNC_NONE, false);
    struct sk_chunk_paths paths = {.pattern = pattern_in(dir, ""), .extra = NULL};
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    struct sk_buf content;

    assert_int_equal(sk_chunk_recover(&o, &paths, NULL, &set, &rep), 0);
    assert_int_equal(set.n_staged + set.n_queued, 1);
    assert_int_equal(rep.torn + rep.corrupt + rep.failed + rep.backed_up, 0);
    sk_buf_init(&content, 1 << 20);
    if (set.n_queued == 1) {
        assert_int_equal(sk_chunk_read(set.queued[0], &content), 0);
        assert_string_equal(set.queued[0]->meta.tag, "es");
    } else {
        assert_int_equal(sk_chunk_read(set.staged[0], &content), 0);
        assert_string_equal(set.staged[0]->meta.tag, "es");
    }
    *got_b = content.len == blen && memcmp(content.data, b, blen) == 0;
    if (!*got_b) {
        assert_int_equal(content.len, alen);
        assert_memory_equal(content.data, a, alen);
    }
    assert_int_equal(count_entries(dir), 2); /* data and meta: no temp, no orphan */
    sk_buf_cleanup(&content);
    sk_chunk_set_cleanup(&set);
}

/* A crash (or a plain failure) at every step of shrink: a restart finds either
 * all the events or only the owed ones, never less, never a damaged chunk. */
static void test_shrink_survives_crash_at_each_step(void **state)
{
    struct sk_evbuf eb;
    size_t first;
    int outcomes[2] = {0, 0};

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 3);
    first = sk_mp_skip(eb.buf.data, eb.buf.len);
    for (int crash = 0; crash < 2; crash++) {
        bool done = false;

        for (long k = 1; !done && k < 50; k++) {
            const char *dir = sk_test_tmpdir();
            struct sk_chunk_opts plain = opts_with(NULL, SK_CHUNK_SYNC_COMMIT, false);
            struct sk_fault f;
            struct sk_chunk *c = queued_chunk(&plain, dir, &eb, 3);
            struct sk_chunk_opts faulty;
            bool got_b;
            int rc;

            sk_fault_init(&f);
            f.fail_at = k;
            f.fail_errno = crash ? 0 : EIO;
            faulty = opts_with(&f.ops, SK_CHUNK_SYNC_COMMIT, false);
            c->opts = &faulty;
            rc = sk_chunk_shrink(c, eb.buf.data + first, eb.buf.len - first, 2);
            done = rc == 0 && f.changes < k; /* no fault was reached */
            if (!crash && rc != 0) {
                /* A reported failure leaves the chunk as it was, usable. */
                c->opts = &plain;
                read_equals(c, eb.buf.data, eb.buf.len);
                assert_int_equal(c->meta.records, 3);
            }
            c->opts = &plain;
            sk_chunk_destroy(c);
            restart_finds(dir, eb.buf.data, eb.buf.len, eb.buf.data + first, eb.buf.len - first,
                          &got_b);
            if (rc == 0) {
                assert_true(got_b); /* success means only the owed events remain */
            }
            outcomes[got_b]++;
            rm_tree(dir);
        }
        assert_true(done);
    }
    assert_true(outcomes[0] > 0 && outcomes[1] > 0);
    sk_evbuf_cleanup(&eb);
}

/* A crash at every step of enqueue: the chunk is found, staged or queued,
 * with its tag, whole. */
static void test_enqueue_survives_crash_at_each_step(void **state)
{
    struct sk_evbuf eb;
    bool done = false;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 3);
    for (long k = 1; !done && k < 50; k++) {
        const char *dir = sk_test_tmpdir();
        struct sk_chunk_opts plain = opts_with(NULL, SK_CHUNK_SYNC_COMMIT, false);
        struct sk_chunk_key key = {.tag = "es", .timekey = -1};
        struct sk_chunk_opts faulty;
        struct sk_chunk *c = NULL;
        struct sk_fault f;
        bool got_b;

        assert_int_equal(sk_chunk_create(&plain, pattern_in(dir, ""), &key, &c), 0);
        assert_int_equal(sk_chunk_append(c, eb.buf.data, eb.buf.len, 3), 0);
        assert_int_equal(sk_chunk_commit(c), 0);
        sk_fault_init(&f);
        f.fail_at = k;
        faulty = opts_with(&f.ops, SK_CHUNK_SYNC_COMMIT, false);
        c->opts = &faulty;
        done = sk_chunk_enqueue(c) == 0 && f.changes < k;
        c->opts = &plain;
        sk_chunk_destroy(c);
        restart_finds(dir, eb.buf.data, eb.buf.len, eb.buf.data, eb.buf.len, &got_b);
        rm_tree(dir);
    }
    assert_true(done);
    sk_evbuf_cleanup(&eb);
}

/* Allocation failure at every step of a chunk's whole life: a clean error
 * each time, no leak (run under valgrind). */
static void test_alloc_failure_stepping(void **state)
{
    struct sk_chunk_key key = {.tag = "t", .timekey = -1, .variables = "\x80", .variables_len = 1};

    (void)state;
    for (int gzip = 0; gzip < 2; gzip++) {
        bool done = false;

        for (long n = 1; !done && n < 500; n++) {
            const char *dir = sk_test_tmpdir();
            struct sk_chunk_opts o = opts_with(NULL, SK_CHUNK_SYNC_COMMIT, gzip != 0);
            struct sk_chunk *c = NULL;
            struct sk_buf b;
            int rc;

            sk_buf_init(&b, 1 << 20);
            sk_alloc_fail_after(n, 1);
            rc = sk_chunk_create(&o, pattern_in(dir, ""), &key, &c);
            rc = rc != 0 ? rc : sk_chunk_append(c, (const char *)example_chunk, 62, 2);
            rc = rc != 0 ? rc : sk_chunk_commit(c);
            rc = rc != 0 ? rc : sk_chunk_enqueue(c);
            rc = rc != 0 ? rc : sk_chunk_read(c, &b);
            rc = rc != 0 ? rc : sk_chunk_shrink(c, (const char *)example_chunk, 39, 1);
            sk_alloc_fail_after(0, 0);
            if (rc == 0) {
                done = true;
                assert_int_equal(b.len, 62);
                read_equals(c, example_chunk, 39);
            } else {
                assert_int_equal(rc, SK_ENOMEM);
            }
            sk_buf_cleanup(&b);
            if (c != NULL) {
                assert_int_equal(sk_chunk_purge(c), 0);
            }
            sk_chunk_destroy(c);
            assert_int_equal(count_entries(dir), 0);
            rm_tree(dir);
        }
        assert_true(done);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_layout),
        cmocka_unit_test(test_path_make),
        cmocka_unit_test(test_meta_bytes_equal_worked_example),
        cmocka_unit_test(test_meta_decode),
        cmocka_unit_test(test_meta_variables_timekey_round_trip),
        cmocka_unit_test(test_scan_table),
        cmocka_unit_test(test_round_trip_append_commit_enqueue_purge),
        cmocka_unit_test(test_example_chunk_reads_back_two_events),
        cmocka_unit_test(test_gzip_members),
        cmocka_unit_test(test_destroy_keeps_files_removes_empty),
        cmocka_unit_test(test_enospc_leaves_chunk_readable),
        cmocka_unit_test(test_short_writes_and_eintr),
        cmocka_unit_test(test_failed_cut_refuses_appends_until_repaired),
        cmocka_unit_test(test_sync_policies),
        cmocka_unit_test(test_append_crash_at_every_byte),
        cmocka_unit_test(test_create_fails_cleanly_at_each_step),
        cmocka_unit_test(test_shrink_to_remaining),
        cmocka_unit_test(test_shrink_survives_crash_at_each_step),
        cmocka_unit_test(test_enqueue_survives_crash_at_each_step),
        cmocka_unit_test(test_alloc_failure_stepping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
