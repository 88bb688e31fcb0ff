/* File buffer restart: path rules, td-agent directories, torn and damaged chunks. */
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

/* compat-formats.md (b): the example chunk content with two events, 62 bytes. */
static const unsigned char example_chunk[62] = {
    0x92, 0xd7, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x01, 0xf4, 0x82, 0xa6, 0x72, 0x65, 0x6d,
    0x6f, 0x74, 0x65, 0xa8, 0x31, 0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0xa6, 0x6d, 0x65, 0x74,
    0x68, 0x6f, 0x64, 0xa3, 0x47, 0x45, 0x54, 0x92, 0xce, 0x65, 0x53, 0xf1, 0x01, 0x81, 0xa6, 0x72,
    0x65, 0x6d, 0x6f, 0x74, 0x65, 0xa8, 0x31, 0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x32};

/* Ids as Fluent::UniqueId makes them: the first 13 hex digits are microseconds. */
#define ID_A "60a2418202240abc0123456789abcdef"
#define ID_B "60a2418202241abc0123456789abcdef"
#define ID_C "60a2418202242abc0123456789abcdef"
#define ID_D "60a2418202243abc0123456789abcdef"
#define ID_E "60a2418202244abc0123456789abcdef"
#define ID_F "60a2418202245abc0123456789abcdef"

enum meta_kind { META_NONE, META_V17, META_BARE };

static struct sk_chunk_opts plain_opts(void)
{
    struct sk_chunk_opts o = {.ops = NULL, .sync = SK_CHUNK_SYNC_NONE};

    return o;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static char *path_of(const char *dir, const char *name)
{
    static char p[4][600];
    static int next;
    char *out = p[next++ % 4];

    assert_true(snprintf(out, sizeof(p[0]), "%s/%s", dir, name) < (int)sizeof(p[0]));
    return out;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static bool exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static size_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
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

static void set_mtime(const char *path, int64_t sec)
{
    struct timespec ts[2] = {{.tv_sec = (time_t)sec}, {.tv_sec = (time_t)sec}};

    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void make_events(struct sk_evbuf *eb, int64_t base, int n, size_t value_len)
{
    char *v = malloc(value_len + (size_t)n + 1);

    assert_non_null(v);
    for (int i = 0; i < n; i++) {
        memset(v, 'a' + i % 26, value_len + (size_t)i);
        assert_int_equal(sk_evbuf_begin(eb, (struct sk_time){base + i, 7}), 0);
        assert_int_equal(msgpack_pack_map(&eb->pk, 1), 0);
        assert_int_equal(sk_pack_kv_str(&eb->pk, "k", 1, v, value_len + (size_t)i), 0);
        sk_evbuf_commit(eb);
    }
    free(v);
}

/* Writes "<dir>/buffer.<state><id>.log" and, as `mk` says, its meta. */
static void put_chunk(const char *dir, char state, const char *hex, const void *data, size_t len,
                      enum meta_kind mk, const char *tag, uint64_t s, int64_t m)
{
    char name[128];
    struct sk_chunk_meta meta;
    struct sk_buf b;

    snprintf(name, sizeof(name), "buffer.%c%s.log", state, hex);
    write_file(path_of(dir, name), data, len);
    if (mk == META_NONE) {
        return;
    }
    memset(&meta, 0, sizeof(meta));
    meta.timekey = -1;
    meta.tag = (char *)(uintptr_t)tag;
    assert_int_equal(sk_chunk_id_parse(hex, 32, meta.id), 0);
    meta.records = s;
    meta.created = 1700000000;
    meta.modified = m;
    sk_buf_init(&b, 4096);
    assert_int_equal(sk_chunk_meta_encode(&meta, &b), 0);
    snprintf(name, sizeof(name), "buffer.%c%s.log.meta", state, hex);
    if (mk == META_BARE) {
        write_file(path_of(dir, name), b.data + 6, b.len - 6); /* before Fluentd 1.7 */
    } else {
        write_file(path_of(dir, name), b.data, b.len);
    }
    sk_buf_cleanup(&b);
}

static char *chunk_path(const char *dir, char state, const char *hex, const char *ext)
{
    static char p[2][700];
    static int next;
    char *out = p[next++ % 2];

    snprintf(out, sizeof(p[0]), "%s/buffer.%c%s.log%s", dir, state, hex, ext);
    return out;
}

static int recover_dir(const char *dir, const struct sk_chunk_opts *o, struct sk_chunk_set *set,
                       struct sk_recover_report *rep)
{
    char pattern[600];
    struct sk_chunk_paths paths = {.pattern = pattern, .extra = NULL};

    assert_true(snprintf(pattern, sizeof(pattern), "%s/buffer.*.log", dir) < (int)sizeof(pattern));
    return sk_chunk_recover(o, &paths, NULL, set, rep);
}

static void content_equals(struct sk_chunk *c, const void *want, size_t len)
{
    struct sk_buf b;

    sk_buf_init(&b, 1 << 24);
    assert_int_equal(sk_chunk_read(c, &b), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, want, len);
    sk_buf_cleanup(&b);
}

/* --- path rules ------------------------------------------------------------------- */

static void expect_paths(const struct sk_chunk_path_conf *pc, const char *pattern,
                         const char *extra)
{
    struct sk_chunk_paths p;

    assert_int_equal(sk_chunk_paths_resolve(pc, &p), 0);
    assert_string_equal(p.pattern, pattern);
    if (extra == NULL) {
        assert_null(p.extra);
    } else {
        assert_string_equal(p.extra, extra);
    }
    sk_chunk_paths_cleanup(&p);
}

static void test_paths_resolve(void **state)
{
    const char *tmp = sk_test_tmpdir();
    char dir[256];
    char in[600];
    char want[700];
    char extra[700];
    struct sk_chunk_path_conf pc = {.path = in, .workers = 1};
    struct sk_chunk_paths p;

    (void)state;
    snprintf(dir, sizeof(dir), "%s", tmp);
    /* An existing directory, with or without a trailing slash. */
    snprintf(in, sizeof(in), "%s", dir);
    snprintf(want, sizeof(want), "%s/buffer.*.log", dir);
    expect_paths(&pc, want, NULL);
    snprintf(in, sizeof(in), "%s/", dir);
    expect_paths(&pc, want, NULL);
    pc.path_suffix = ".buf";
    snprintf(want, sizeof(want), "%s/buffer.*.buf", dir);
    expect_paths(&pc, want, NULL);
    pc.path_suffix = NULL;
    /* Missing, without ".*": a directory to be (the usual td-agent.conf). */
    snprintf(in, sizeof(in), "%s/es", dir);
    snprintf(want, sizeof(want), "%s/es/buffer.*.log", dir);
    expect_paths(&pc, want, NULL);
    /* File patterns. */
    snprintf(in, sizeof(in), "%s/es.*.log", dir);
    expect_paths(&pc, in, NULL);
    snprintf(in, sizeof(in), "%s/es.*", dir);
    snprintf(want, sizeof(want), "%s/es.*.log", dir);
    expect_paths(&pc, want, NULL);
    snprintf(in, sizeof(in), "%s/x.*y", dir);
    snprintf(want, sizeof(want), "%s/x.*y.*.log", dir);
    expect_paths(&pc, want, NULL);
    snprintf(in, sizeof(in), "%s/afile", dir);
    write_file(in, "x", 1);
    snprintf(want, sizeof(want), "%s/afile.*.log", dir);
    expect_paths(&pc, want, NULL);
    /* Several workers: a directory per worker; worker 0 also resumes the old place. */
    pc.workers = 4;
    snprintf(in, sizeof(in), "%s/es", dir);
    snprintf(want, sizeof(want), "%s/es/worker0/buffer.*.log", dir);
    snprintf(extra, sizeof(extra), "%s/es/buffer.*.log", dir);
    expect_paths(&pc, want, extra);
    pc.worker_id = 3;
    snprintf(want, sizeof(want), "%s/es/worker3/buffer.*.log", dir);
    expect_paths(&pc, want, NULL);
    snprintf(in, sizeof(in), "%s/es.*.log", dir);
    expect_paths(&pc, in, NULL); /* file patterns stay as they are */
    /* No path: <root_dir>/worker<N>/<@id>/buffer (already per worker). */
    pc.path = NULL;
    pc.root_dir = dir;
    pc.plugin_id = "out_es";
    snprintf(want, sizeof(want), "%s/worker3/out_es/buffer/buffer.*.log", dir);
    expect_paths(&pc, want, NULL);
    pc.worker_id = 0;
    snprintf(want, sizeof(want), "%s/worker0/out_es/buffer/buffer.*.log", dir);
    expect_paths(&pc, want, NULL);
    /* Errors. */
    pc.plugin_id = NULL;
    assert_int_equal(sk_chunk_paths_resolve(&pc, &p), SK_ECONFIG);
    assert_null(p.pattern);
    pc.path = in;
    pc.path_suffix = "log";
    assert_int_equal(sk_chunk_paths_resolve(&pc, &p), SK_ECONFIG);
    rm_tree(dir);
}

/* --- a directory td-agent left ------------------------------------------------------ */

/* Length of the first n events of a stream. */
static size_t events_len(const struct sk_evbuf *eb, int n)
{
    size_t off = 0;

    for (int i = 0; i < n; i++) {
        off += sk_mp_skip(eb->buf.data + off, eb->buf.len - off);
    }
    return off;
}

/* What td-agent leaves after a stop (flush_at_shutdown false) and some mishaps. */
static void build_td_agent_dir(const char *dir, bool extras)
{
    struct sk_evbuf eb;
    size_t first;

    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 5, 10);
    first = events_len(&eb, 1);
    /* A: staged, v1.7 meta, the example chunk. */
    put_chunk(dir, 'b', ID_A, example_chunk, 62, META_V17, "nginx.access", 2, 1700000100);
    /* B: queued, pre-1.7 meta, 3 events. */
    put_chunk(dir, 'q', ID_B, eb.buf.data, events_len(&eb, 3), META_BARE, "app.log", 3,
              1700000050);
    /* C: queued without meta. */
    put_chunk(dir, 'q', ID_C, eb.buf.data, first, META_NONE, NULL, 0, 0);
    set_mtime(chunk_path(dir, 'q', ID_C, ""), 1700000000);
    /* D: a v0.12 staged chunk (no meta): read-only, queued. */
    put_chunk(dir, 'b', ID_D, example_chunk, 62, META_NONE, NULL, 0, 0);
    set_mtime(chunk_path(dir, 'b', ID_D, ""), 1700000010);
    /* E: the meta lags (the process died between append and commit). */
    put_chunk(dir, 'q', ID_E, eb.buf.data, eb.buf.len, META_V17, "nginx.access", 4, 1700000200);
    /* Noise: unknown state, other files, an orphan meta, a stale shrink temp. */
    write_file(path_of(dir, "buffer.unknown.log"), "x", 1);
    write_file(path_of(dir, "notes.txt"), "x", 1);
    write_file(chunk_path(dir, 'q', ID_F, ".meta"), "\x80", 1);
    write_file(chunk_path(dir, 'q', ID_B, ".tmp"), "partial", 7);
    if (extras) {
        /* A torn staged chunk, a gzip chunk, and one with garbage in the middle. */
        char gz[512];
        struct sk_buf z;
        char bad[200];

        put_chunk(dir, 'b', "60a2418202246abc0123456789abcdef", eb.buf.data, first + 5,
                  META_V17, "torn", 2, 1700000300);
        sk_buf_init(&z, sizeof(gz));
        assert_int_equal(sk_chunk_gzip(eb.buf.data, first, &z), 0);
        assert_int_equal(sk_chunk_gzip(eb.buf.data + first, events_len(&eb, 2) - first, &z), 0);
        put_chunk(dir, 'q', "60a2418202247abc0123456789abcdef", z.data, z.len, META_V17, "gz", 2,
                  1700000400);
        sk_buf_cleanup(&z);
        memcpy(bad, eb.buf.data, first);
        memcpy(bad + first, "\xc1\xc1garbage", 9);
        put_chunk(dir, 'q', "60a2418202248abc0123456789abcdef", bad, first + 9, META_V17, "bad",
                  1, 1700000500);
    }
    sk_evbuf_cleanup(&eb);
}

static void test_td_agent_directory_loads(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    struct sk_chunk *c;

    (void)state;
    build_td_agent_dir(dir, false);
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(rep.staged, 1);
    assert_int_equal(rep.queued, 4);
    assert_int_equal(rep.records, 2 + 3 + 1 + 2 + 5);
    assert_int_equal(rep.legacy, 1);
    assert_int_equal(rep.meta_rebuilt, 1);
    assert_int_equal(rep.count_fixed, 1);
    assert_int_equal(rep.orphan_meta_removed, 1);
    assert_int_equal(rep.tmp_removed, 1);
    assert_int_equal(rep.unknown, 1);
    assert_int_equal(rep.torn + rep.corrupt + rep.backed_up + rep.failed + rep.empty_removed, 0);

    c = set.staged[0];
    assert_int_equal(c->state, SK_CHUNK_STAGED);
    assert_string_equal(c->meta.tag, "nginx.access");
    assert_int_equal(c->meta.records, 2);
    assert_int_equal(c->meta.modified, 1700000100);
    assert_string_equal(c->id_hex, ID_A);
    assert_int_equal(c->recovered, 0);
    content_equals(c, example_chunk, 62);

    /* The flush order: by modified time, oldest first. */
    assert_string_equal(set.queued[0]->id_hex, ID_C);
    assert_null(set.queued[0]->meta.tag);
    assert_int_equal(set.queued[0]->meta.records, 1);
    assert_int_equal(set.queued[0]->meta.created, 1700000000); /* from the id */
    assert_int_equal(set.queued[0]->meta.modified, 1700000000); /* the file's mtime */
    assert_int_equal(set.queued[0]->recovered, SK_CHUNK_REC_META_REBUILT);
    assert_string_equal(set.queued[1]->id_hex, ID_D);
    assert_int_equal(set.queued[1]->recovered, SK_CHUNK_REC_LEGACY);
    assert_int_equal(set.queued[1]->meta.records, 2);
    assert_string_equal(set.queued[2]->id_hex, ID_B);
    assert_string_equal(set.queued[2]->meta.tag, "app.log");
    assert_int_equal(set.queued[2]->meta.records, 3);
    assert_int_equal(set.queued[2]->recovered, 0);
    assert_string_equal(set.queued[3]->id_hex, ID_E);
    assert_int_equal(set.queued[3]->meta.records, 5);
    assert_int_equal(set.queued[3]->recovered, SK_CHUNK_REC_COUNT_FIXED);

    /* The orphan and the temp file are gone; everything else is untouched. */
    assert_false(exists(chunk_path(dir, 'q', ID_F, ".meta")));
    assert_false(exists(chunk_path(dir, 'q', ID_B, ".tmp")));
    assert_true(exists(path_of(dir, "notes.txt")));
    assert_true(exists(path_of(dir, "buffer.unknown.log")));

    /* The caller queues staged chunks at start: Fluentd's names follow. */
    c = set.staged[0];
    assert_int_equal(sk_chunk_enqueue(c), 0);
    assert_true(exists(chunk_path(dir, 'q', ID_A, "")));
    assert_true(exists(chunk_path(dir, 'q', ID_A, ".meta")));
    assert_false(exists(chunk_path(dir, 'b', ID_A, "")));
    /* Delivered chunks go, files and all. */
    assert_int_equal(sk_chunk_purge(set.queued[0]), 0);
    assert_false(exists(chunk_path(dir, 'q', ID_C, "")));
    sk_chunk_set_cleanup(&set);
    rm_tree(dir);
}

/* --- torn chunks: a cut at every byte -------------------------------------------------- */

/* Recovers one chunk holding data[0..cut) and checks only whole events survive. */
static void check_cut(const char *dir, char state, const char *data, size_t cut,
                      const size_t *ends, size_t n_ends, bool gzip)
{
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    size_t whole = 0;
    size_t keep;

    while (whole < n_ends && ends[whole] <= cut) {
        whole++;
    }
    keep = whole > 0 ? ends[whole - 1] : 0;
    put_chunk(dir, state, ID_A, data, cut, META_V17, "t", n_ends, 1700000000);
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(rep.backed_up + rep.corrupt + rep.failed, 0);
    if (whole == 0) {
        /* Nothing whole: the chunk (a cut-short first record or nothing) goes. */
        assert_int_equal(set.n_staged + set.n_queued, 0);
        assert_int_equal(rep.empty_removed, cut == 0 ? 1 : 0);
        assert_int_equal(rep.torn, cut == 0 ? 0 : 1);
        assert_int_equal(rep.torn_bytes, cut);
        assert_int_equal(count_entries(dir), 0);
    } else {
        struct sk_chunk *c = state == 'b' ? set.staged[0] : set.queued[0];

        assert_int_equal(set.n_staged + set.n_queued, 1);
        assert_int_equal(c->meta.records, whole);
        assert_string_equal(c->meta.tag, "t");
        assert_int_equal(c->bytes, keep);
        assert_int_equal(file_size(c->path), keep);
        assert_int_equal(c->gzip, gzip);
        assert_int_equal(rep.torn, cut != keep ? 1 : 0);
        assert_int_equal(rep.torn_bytes, cut - keep);
        assert_int_equal((c->recovered & SK_CHUNK_REC_TORN) != 0, cut != keep);
        assert_int_equal((c->recovered & SK_CHUNK_REC_COUNT_FIXED) != 0, whole != n_ends);
        sk_chunk_set_cleanup(&set);
        /* Loading again finds the same, now with nothing to cut. */
        assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
        assert_int_equal(rep.torn, 0);
        assert_int_equal(rep.records, whole);
    }
    sk_chunk_set_cleanup(&set);
    rm_tree(dir);
}

static void test_cut_at_every_offset(void **state)
{
    struct sk_evbuf eb;
    size_t ends[4];
    size_t off = 0;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 3, 3);
    /* The third event has an integer time (time_as_integer). */
    assert_int_equal(msgpack_pack_array(&eb.pk, 2), 0);
    assert_int_equal(msgpack_pack_uint32(&eb.pk, 1700000009), 0);
    assert_int_equal(msgpack_pack_map(&eb.pk, 0), 0);
    for (int i = 0; i < 4; i++) {
        off += sk_mp_skip(eb.buf.data + off, eb.buf.len - off);
        ends[i] = off;
    }
    assert_int_equal(off, eb.buf.len);
    for (int s = 0; s < 2; s++) {
        for (size_t cut = 0; cut <= eb.buf.len; cut++) {
            check_cut(sk_test_tmpdir(), s ? 'b' : 'q', eb.buf.data, cut, ends, 4, false);
        }
    }
    sk_evbuf_cleanup(&eb);
}

static void test_gzip_cut_at_every_offset(void **state)
{
    struct sk_evbuf eb;
    struct sk_buf z;
    size_t ends[3];
    size_t off = 0;

    (void)state;
    sk_evbuf_init(&eb, 1 << 20);
    make_events(&eb, 1700000000, 3, 5);
    sk_buf_init(&z, 1 << 20);
    /* One member per append, as "compress gzip" writes them. */
    for (int i = 0; i < 3; i++) {
        size_t n = sk_mp_skip(eb.buf.data + off, eb.buf.len - off);

        assert_int_equal(sk_chunk_gzip(eb.buf.data + off, n, &z), 0);
        off += n;
        ends[i] = z.len;
    }
    for (size_t cut = 0; cut <= z.len; cut++) {
        check_cut(sk_test_tmpdir(), 'q', z.data, cut, ends, 3, cut > 0 && cut >= ends[0]);
    }
    sk_buf_cleanup(&z);
    sk_evbuf_cleanup(&eb);
}

/* --- damaged meta, missing meta, empty files --------------------------------------------- */

static void load_with_meta_bytes(const void *meta, size_t len, char state, const char *tag,
                                 unsigned int flags)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    struct sk_chunk *c;

    put_chunk(dir, state, ID_A, example_chunk, 62, META_NONE, NULL, 0, 0);
    set_mtime(chunk_path(dir, state, ID_A, ""), 1700000033);
    write_file(chunk_path(dir, state, ID_A, ".meta"), meta, len);
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(set.n_staged + set.n_queued, 1);
    c = state == 'b' ? set.staged[0] : set.queued[0];
    assert_int_equal(c->meta.records, 2);
    assert_int_equal(c->recovered, flags);
    if (tag == NULL) {
        assert_null(c->meta.tag);
        assert_int_equal(c->meta.created, 1700000000);
        assert_int_equal(c->meta.modified, 1700000033);
        assert_int_equal(rep.meta_rebuilt, 1);
    } else {
        assert_string_equal(c->meta.tag, tag);
    }
    content_equals(c, example_chunk, 62);
    sk_chunk_set_cleanup(&set);
    rm_tree(dir);
}

static void test_damaged_meta(void **state)
{
    struct sk_chunk_meta m;
    struct sk_buf good;
    unsigned char noise[87];
    unsigned int seed = 12345;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.timekey = -1;
    m.tag = (char *)(uintptr_t) "nginx.access";
    assert_int_equal(sk_chunk_id_parse(ID_A, 32, m.id), 0);
    m.records = 2;
    m.created = 1600000000;
    m.modified = 1600000005;
    sk_buf_init(&good, 4096);
    assert_int_equal(sk_chunk_meta_encode(&m, &good), 0);
    for (size_t i = 0; i < sizeof(noise); i++) {
        seed = seed * 1103515245u + 12345u;
        noise[i] = (unsigned char)(seed >> 16);
    }
    noise[0] = 0xdf; /* a map32 claiming 4 billion entries, then noise */

    for (int s = 0; s < 2; s++) {
        char st = s ? 'b' : 'q';

        load_with_meta_bytes(good.data, good.len, st, "nginx.access", 0);
        /* Before v1.7: the bare map is fine. */
        load_with_meta_bytes(good.data + 6, good.len - 6, st, "nginx.access", 0);
        /* Random bytes, truncated, header lying about its length, empty. */
        load_with_meta_bytes(noise, sizeof(noise), st, NULL, SK_CHUNK_REC_META_REBUILT);
        load_with_meta_bytes(good.data, 40, st, NULL, SK_CHUNK_REC_META_REBUILT);
        load_with_meta_bytes(good.data + 6, 40, st, NULL, SK_CHUNK_REC_META_REBUILT);
        load_with_meta_bytes("\xc1\x00\x00\x00\x10\x00\x80", 7, st, NULL,
                             SK_CHUNK_REC_META_REBUILT);
        load_with_meta_bytes("", 0, st, NULL, SK_CHUNK_REC_META_REBUILT);
        /* A map without id: the tag is kept, the rest rebuilt. */
        load_with_meta_bytes("\x81\xa3tag\xa1x", 7, st, "x", SK_CHUNK_REC_META_REBUILT);
    }
    sk_buf_cleanup(&good);
}

static void test_empty_and_missing(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    char missing[600];

    (void)state;
    put_chunk(dir, 'b', ID_A, "", 0, META_V17, "t", 0, 1700000000);
    put_chunk(dir, 'q', ID_B, "", 0, META_NONE, NULL, 0, 0);
    put_chunk(dir, 'q', ID_C, "", 0, META_BARE, "t", 0, 1700000000);
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(set.n_staged + set.n_queued, 0);
    assert_int_equal(rep.empty_removed, 3);
    assert_int_equal(count_entries(dir), 0);
    sk_chunk_set_cleanup(&set);
    /* A buffer directory that does not exist yet holds nothing. */
    snprintf(missing, sizeof(missing), "%s/none", dir);
    assert_int_equal(recover_dir(missing, &o, &set, &rep), 0);
    assert_int_equal(set.n_staged + set.n_queued, 0);
    sk_chunk_set_cleanup(&set);
    rm_tree(dir);
}

static void test_queued_adopts_staged_meta(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    char meta[700];

    (void)state;
    /* A crash between enqueue's two renames: ".q" data, ".b" meta. */
    put_chunk(dir, 'b', ID_A, example_chunk, 62, META_V17, "nginx.access", 2, 1700000000);
    snprintf(meta, sizeof(meta), "%s", chunk_path(dir, 'q', ID_A, ""));
    assert_int_equal(rename(chunk_path(dir, 'b', ID_A, ""), meta), 0);
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(set.n_queued, 1);
    assert_string_equal(set.queued[0]->meta.tag, "nginx.access");
    assert_int_equal(set.queued[0]->recovered, 0);
    assert_int_equal(rep.orphan_meta_removed, 0);
    assert_true(exists(chunk_path(dir, 'q', ID_A, ".meta")));
    assert_false(exists(chunk_path(dir, 'b', ID_A, ".meta")));
    sk_chunk_set_cleanup(&set);
    rm_tree(dir);
}

/* --- what cannot be served goes to backup, never away ------------------------------------ */

static void test_garbage_and_foreign_content_go_to_backup(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    char backup[600];
    char bad[128];
    const char *json = "{\"a\":1}\n{\"a\":2}\n";
    size_t len;
    char *copy;

    (void)state;
    /* Events, then bytes that are no event, then an event again. */
    memcpy(bad, example_chunk, 62);
    memcpy(bad + 62, "\xc1junk", 5);
    memcpy(bad + 67, example_chunk, 39);
    put_chunk(dir, 'q', ID_A, bad, 106, META_V17, "a", 3, 1700000000);
    /* Another format altogether (out_file's JSON lines). */
    put_chunk(dir, 'q', ID_B, json, strlen(json), META_V17, "b", 2, 1700000000);
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(rep.corrupt, 1);
    assert_int_equal(rep.backed_up, 1);
    assert_int_equal(set.n_queued, 1);
    assert_string_equal(set.queued[0]->meta.tag, "a");
    assert_int_equal(set.queued[0]->recovered,
                     SK_CHUNK_REC_CORRUPT | SK_CHUNK_REC_COUNT_FIXED);
    content_equals(set.queued[0], example_chunk, 62);
    /* The original bytes of both are kept in <dir>/backup. */
    snprintf(backup, sizeof(backup), "%s/backup", dir);
    copy = sk_test_read_file(path_of(backup, "buffer.q" ID_A ".log"), &len);
    assert_non_null(copy);
    assert_int_equal(len, 106);
    assert_memory_equal(copy, bad, 106);
    free(copy);
    copy = sk_test_read_file(path_of(backup, "buffer.q" ID_B ".log"), &len);
    assert_non_null(copy);
    assert_string_equal(copy, json);
    free(copy);
    assert_true(exists(path_of(backup, "buffer.q" ID_B ".log.meta")));
    assert_false(exists(chunk_path(dir, 'q', ID_B, "")));
    sk_chunk_set_cleanup(&set);
    /* Nothing left to repair the second time. */
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(rep.corrupt + rep.backed_up, 0);
    assert_int_equal(rep.records, 2);
    sk_chunk_set_cleanup(&set);
    rm_tree(dir);
}

static void test_big_torn_tail_is_copied_first(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    struct sk_evbuf eb;
    size_t first;
    char backup_dir[600];

    (void)state;
    sk_evbuf_init(&eb, 1 << 22);
    make_events(&eb, 1700000000, 1, 10);
    first = eb.buf.len;
    make_events(&eb, 1700000001, 1, 200000);
    put_chunk(dir, 'q', ID_A, eb.buf.data, eb.buf.len - 1000, META_V17, "t", 2, 1700000000);
    snprintf(backup_dir, sizeof(backup_dir), "%s/elsewhere/backup", dir);
    {
        char pattern[600];
        struct sk_chunk_paths paths = {.pattern = pattern, .extra = NULL};

        snprintf(pattern, sizeof(pattern), "%s/buffer.*.log", dir);
        assert_int_equal(sk_chunk_recover(&o, &paths, backup_dir, &set, &rep), 0);
    }
    assert_int_equal(rep.torn, 1);
    assert_int_equal(rep.torn_bytes, eb.buf.len - 1000 - first);
    assert_int_equal(set.queued[0]->bytes, first);
    assert_int_equal(file_size(path_of(backup_dir, "buffer.q" ID_A ".log")), eb.buf.len - 1000);
    sk_chunk_set_cleanup(&set);
    sk_evbuf_cleanup(&eb);
    rm_tree(dir);
}

static void test_unreadable_chunk(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_fault f;
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    char backup[600];

    (void)state;
    sk_fault_init(&f);
    o.ops = &f.ops;
    put_chunk(dir, 'q', ID_A, example_chunk, 62, META_V17, "t", 2, 1700000000);
    /* Cannot read, cannot move: left exactly as it was for the next start. */
    f.eio_mask = SK_FAULT_READ | SK_FAULT_RENAME | SK_FAULT_MKDIR;
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(set.n_queued, 0);
    assert_int_equal(rep.failed, 1);
    assert_true(exists(chunk_path(dir, 'q', ID_A, "")));
    assert_true(exists(chunk_path(dir, 'q', ID_A, ".meta")));
    sk_chunk_set_cleanup(&set);
    /* Cannot read, can move: out of the way, in backup. */
    f.eio_mask = SK_FAULT_READ;
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(rep.backed_up, 1);
    snprintf(backup, sizeof(backup), "%s/backup", dir);
    assert_int_equal(file_size(path_of(backup, "buffer.q" ID_A ".log")), 62);
    assert_true(exists(path_of(backup, "buffer.q" ID_A ".log.meta")));
    sk_chunk_set_cleanup(&set);
    rm_tree(dir);
}

/* --- going on from a recovered staged chunk ------------------------------------------------ */

static void test_resumed_staged_chunk_takes_appends(void **state)
{
    const char *dir = sk_test_tmpdir();
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;
    struct sk_chunk *c;
    unsigned char want[62 + 39];

    (void)state;
    /* The example chunk with its second event torn after 10 bytes. */
    put_chunk(dir, 'b', ID_A, example_chunk, 49, META_V17, "t", 1, 1700000000);
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(set.n_staged, 1);
    c = set.staged[0];
    set.staged[0] = NULL; /* taken */
    sk_chunk_set_cleanup(&set);
    assert_int_equal(c->recovered, SK_CHUNK_REC_TORN);
    assert_int_equal(sk_chunk_append(c, (const char *)example_chunk + 39, 23, 1), 0);
    assert_int_equal(sk_chunk_append(c, (const char *)example_chunk, 39, 1), 0);
    assert_int_equal(sk_chunk_commit(c), 0);
    memcpy(want, example_chunk, 62);
    memcpy(want + 62, example_chunk, 39);
    content_equals(c, want, sizeof(want));
    assert_int_equal(sk_chunk_enqueue(c), 0);
    sk_chunk_destroy(c);
    assert_int_equal(recover_dir(dir, &o, &set, &rep), 0);
    assert_int_equal(set.n_queued, 1);
    assert_int_equal(set.queued[0]->meta.records, 3);
    assert_int_equal(set.queued[0]->recovered, 0);
    sk_chunk_set_cleanup(&set);
    rm_tree(dir);
}

static void test_multi_worker_resumes_old_place(void **state)
{
    const char *tmp = sk_test_tmpdir();
    char dir[300];
    char w0[400];
    struct sk_chunk_path_conf pc = {.path = dir, .workers = 2, .worker_id = 0};
    struct sk_chunk_paths paths;
    struct sk_chunk_opts o = plain_opts();
    struct sk_chunk_set set;
    struct sk_recover_report rep;

    (void)state;
    snprintf(dir, sizeof(dir), "%s", tmp);
    snprintf(w0, sizeof(w0), "%s/worker0", dir);
    assert_int_equal(mkdir(w0, 0700), 0);
    put_chunk(dir, 'q', ID_A, example_chunk, 62, META_V17, "old", 2, 1700000009);
    put_chunk(w0, 'q', ID_B, example_chunk, 62, META_V17, "new", 2, 1700000001);
    assert_int_equal(sk_chunk_paths_resolve(&pc, &paths), 0);
    assert_int_equal(sk_chunk_recover(&o, &paths, NULL, &set, &rep), 0);
    assert_int_equal(set.n_queued, 2);
    assert_string_equal(set.queued[0]->meta.tag, "new");
    assert_string_equal(set.queued[1]->meta.tag, "old");
    sk_chunk_set_cleanup(&set);
    sk_chunk_paths_cleanup(&paths);
    rm_tree(dir);
}

/* Every allocation of a recovery fails in turn: a clean SK_ENOMEM and an
 * empty set each time, no leak (valgrind), then the same result as a run
 * that never failed. */
static void test_alloc_failure_stepping(void **state)
{
    struct sk_chunk_opts o = plain_opts();
    struct sk_recover_report ref;
    struct sk_chunk_set set;
    bool done = false;

    (void)state;
    {
        const char *dir = sk_test_tmpdir();

        build_td_agent_dir(dir, true);
        assert_int_equal(recover_dir(dir, &o, &set, &ref), 0);
        assert_int_equal(ref.torn, 1);
        assert_int_equal(ref.corrupt, 1);
        assert_int_equal(ref.queued, 6);
        sk_chunk_set_cleanup(&set);
        rm_tree(dir);
    }
    for (long n = 1; !done && n < 2000; n++) {
        const char *dir = sk_test_tmpdir();
        struct sk_recover_report rep;
        int rc;

        build_td_agent_dir(dir, true);
        sk_alloc_fail_after(n, 1);
        rc = recover_dir(dir, &o, &set, &rep);
        sk_alloc_fail_after(0, 0);
        if (rc == 0) {
            done = true;
            assert_memory_equal(&rep, &ref, sizeof(rep));
            assert_string_equal(set.queued[0]->id_hex, ID_C);
        } else {
            assert_int_equal(rc, SK_ENOMEM);
            assert_null(set.staged);
            assert_null(set.queued);
            assert_int_equal(set.n_staged + set.n_queued, 0);
        }
        sk_chunk_set_cleanup(&set);
        rm_tree(dir);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_resolve),
        cmocka_unit_test(test_td_agent_directory_loads),
        cmocka_unit_test(test_cut_at_every_offset),
        cmocka_unit_test(test_gzip_cut_at_every_offset),
        cmocka_unit_test(test_damaged_meta),
        cmocka_unit_test(test_empty_and_missing),
        cmocka_unit_test(test_queued_adopts_staged_meta),
        cmocka_unit_test(test_garbage_and_foreign_content_go_to_backup),
        cmocka_unit_test(test_big_torn_tail_is_copied_first),
        cmocka_unit_test(test_unreadable_chunk),
        cmocka_unit_test(test_resumed_staged_chunk_takes_appends),
        cmocka_unit_test(test_multi_worker_resumes_old_place),
        cmocka_unit_test(test_alloc_failure_stepping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
