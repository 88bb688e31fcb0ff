/* pos_file: td-agent's exact format, read, compacted and updated in place. */
#include "testutil.h"

#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "in_tail/tail_pos.h"

static char *write_file(const char *dir, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/tail.pos", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_parse_line(void **state)
{
    size_t plen;
    uint64_t off;
    uint64_t ino;
    const char *line = "/var/log/nginx/access.log\t0000000000003039\t0000000000101801";

    (void)state;
    assert_int_equal(tail_pos_parse_line(line, strlen(line), &plen, &off, &ino), 0);
    assert_int_equal(plen, strlen("/var/log/nginx/access.log"));
    assert_int_equal(off, 12345);
    assert_int_equal(ino, 1054721);
    /* The reader regex accepts any hex length and upper case. */
    line = "/x\tABC\t1F";
    assert_int_equal(tail_pos_parse_line(line, strlen(line), &plen, &off, &ino), 0);
    assert_int_equal(off, 0xabc);
    assert_int_equal(ino, 0x1f);
    line = "no tabs here";
    assert_int_equal(tail_pos_parse_line(line, strlen(line), &plen, &off, &ino), SK_EPARSE);
    line = "/x\tzz\t01";
    assert_int_equal(tail_pos_parse_line(line, strlen(line), &plen, &off, &ino), SK_EPARSE);
}

static void test_resume_and_compact_td_agent_file(void **state)
{
    const char *dir = sk_test_tmpdir();
    /* Written by td-agent: a stale duplicate, an unwatched entry, garbage. */
    char *path = write_file(dir,
        "/var/log/nginx/access.log\t0000000000000010\t0000000000101801\n"
        "/var/log/nginx/access.log.1\tffffffffffffffff\t0000000000101800\n"
        "garbage line\n"
        "/var/log/nginx/access.log\t0000000000003039\t0000000000101801\n");
    struct tail_pos pos;
    struct tail_pos_entry *e;
    char *text;

    (void)state;
    assert_int_equal(tail_pos_open(&pos, path, false), 0);
    assert_int_equal(pos.n, 1);
    e = tail_pos_find(&pos, "/var/log/nginx/access.log", 0);
    assert_non_null(e);
    assert_int_equal(e->offset, 12345);
    assert_int_equal(e->inode, 1054721);
    assert_null(tail_pos_find(&pos, "/var/log/nginx/access.log.1", 0));
    text = sk_test_read_file(path, NULL);
    assert_string_equal(text, "/var/log/nginx/access.log\t0000000000003039\t0000000000101801\n");
    free(text);

    /* In-place update keeps the fixed width; a new path is appended. */
    assert_int_equal(tail_pos_update(&pos, "/var/log/nginx/access.log", 0x10000, 1054721), 0);
    assert_int_equal(tail_pos_update(&pos, "/var/log/app.log", 7, 99), 0);
    assert_int_equal(tail_pos_update(&pos, "/var/log/app.log", 8, 99), 0);
    text = sk_test_read_file(path, NULL);
    assert_string_equal(text,
        "/var/log/nginx/access.log\t0000000000010000\t0000000000101801\n"
        "/var/log/app.log\t0000000000000008\t0000000000000063\n");
    free(text);
    tail_pos_close(&pos);

    /* And it reads back the same. */
    assert_int_equal(tail_pos_open(&pos, path, false), 0);
    assert_int_equal(pos.n, 2);
    assert_int_equal(tail_pos_find(&pos, "/var/log/app.log", 0)->offset, 8);
    tail_pos_close(&pos);
}

/* follow_inodes: one entry per inode, so a rotated file and its successor
 * both keep theirs although they name the same path. */
static void test_keyed_by_inode(void **state)
{
    const char *dir = sk_test_tmpdir();
    char *path = write_file(dir,
        "/l/access.log\t0000000000000100\t0000000000000011\n"
        "/l/access.log\t0000000000000200\t0000000000000022\n"
        "/l/access.log.1\t0000000000000150\t0000000000000011\n");
    struct tail_pos pos;
    char *text;

    (void)state;
    assert_int_equal(tail_pos_open(&pos, path, true), 0);
    assert_int_equal(pos.n, 2); /* inode 0x11: the later line (access.log.1) wins */
    assert_int_equal(tail_pos_find(&pos, "ignored", 0x11)->offset, 0x150);
    assert_string_equal(tail_pos_find(&pos, "ignored", 0x11)->path, "/l/access.log.1");
    assert_int_equal(tail_pos_find(&pos, "/l/access.log", 0x22)->offset, 0x200);
    assert_null(tail_pos_find(&pos, "/l/access.log", 0x33));
    /* A new inode under a known path is a new line, not an overwrite. */
    assert_int_equal(tail_pos_update(&pos, "/l/access.log", 0, 0x33), 0);
    assert_int_equal(tail_pos_update(&pos, "/l/access.log", 0x10, 0x33), 0);
    assert_int_equal(tail_pos_update(&pos, "/l/access.log", 0x210, 0x22), 0);
    text = sk_test_read_file(path, NULL);
    /* The key keeps its first place, as a Ruby hash does. */
    assert_string_equal(text,
        "/l/access.log.1\t0000000000000150\t0000000000000011\n"
        "/l/access.log\t0000000000000210\t0000000000000022\n"
        "/l/access.log\t0000000000000010\t0000000000000033\n");
    free(text);
    tail_pos_close(&pos);
}

/* Unwatched entries are marked as td-agent marks them; compaction drops
 * them by renaming a rewritten file over the old one (same mode), and
 * in-place updates go on at the right offsets afterwards. */
static void test_unwatch_and_compact(void **state)
{
    const char *dir = sk_test_tmpdir();
    char *path = write_file(dir,
        "/l/a.log\t0000000000000001\t0000000000000001\n"
        "/l/b.log\t0000000000000002\t0000000000000002\n"
        "/l/c.log\t0000000000000003\t0000000000000003\n");
    struct tail_pos pos;
    struct stat before;
    struct stat after;
    char *text;

    (void)state;
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(tail_pos_open(&pos, path, false), 0);
    assert_int_equal(pos.stale, 0);
    /* A path's entry that records another inode is a successor's: kept. */
    assert_int_equal(tail_pos_unwatch(&pos, "/l/b.log", 9), 0);
    assert_int_equal(pos.n, 3);
    assert_int_equal(tail_pos_unwatch(&pos, "/l/b.log", 2), 0);
    assert_int_equal(tail_pos_unwatch(&pos, "/l/nope.log", 2), 0);
    assert_int_equal(pos.n, 2);
    assert_int_equal(pos.stale, 1);
    text = sk_test_read_file(path, NULL);
    assert_string_equal(text,
        "/l/a.log\t0000000000000001\t0000000000000001\n"
        "/l/b.log\tffffffffffffffff\t0000000000000002\n"
        "/l/c.log\t0000000000000003\t0000000000000003\n");
    free(text);
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(tail_pos_compact(&pos), 0);
    assert_int_equal(pos.stale, 0);
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino); /* replaced, not rewritten in place */
    assert_int_equal(after.st_mode & 0777, 0600);
    assert_int_equal(tail_pos_update(&pos, "/l/c.log", 0xabc, 3), 0);
    assert_int_equal(tail_pos_update(&pos, "/l/d.log", 4, 4), 0);
    text = sk_test_read_file(path, NULL);
    assert_string_equal(text,
        "/l/a.log\t0000000000000001\t0000000000000001\n"
        "/l/c.log\t0000000000000abc\t0000000000000003\n"
        "/l/d.log\t0000000000000004\t0000000000000004\n");
    free(text);
    tail_pos_close(&pos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_resume_and_compact_td_agent_file),
        cmocka_unit_test(test_keyed_by_inode),
        cmocka_unit_test(test_unwatch_and_compact),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
