/* pos_file: td-agent's exact format, read, compacted and updated in place. */
#include "testutil.h"

#include <stdio.h>
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
    assert_int_equal(tail_pos_open(&pos, path), 0);
    assert_int_equal(pos.n, 1);
    e = tail_pos_find(&pos, "/var/log/nginx/access.log");
    assert_non_null(e);
    assert_int_equal(e->offset, 12345);
    assert_int_equal(e->inode, 1054721);
    assert_null(tail_pos_find(&pos, "/var/log/nginx/access.log.1"));
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
    assert_int_equal(tail_pos_open(&pos, path), 0);
    assert_int_equal(pos.n, 2);
    assert_int_equal(tail_pos_find(&pos, "/var/log/app.log")->offset, 8);
    tail_pos_close(&pos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_resume_and_compact_td_agent_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
