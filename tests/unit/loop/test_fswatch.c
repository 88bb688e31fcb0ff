/* Path watchers: appends, renames and re-creation of a watched path fire
 * the callback, and appends do not redo the inotify watch. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/loop.h"

#define DEADLINE_MS 5000

struct fx {
    struct sk_loop *loop;
    struct sk_timer *deadline;
    int fired;
    bool timed_out;
};

static void on_change(struct sk_fswatch *w, void *arg)
{
    struct fx *fx = arg;

    (void)w;
    fx->fired++;
    sk_loop_stop(fx->loop);
}

static void on_deadline(struct sk_timer *t, void *arg)
{
    struct fx *fx = arg;

    (void)t;
    fx->timed_out = true;
    sk_loop_stop(fx->loop);
}

/* Runs the loop until a callback fired (or the deadline passed). */
static void wait_fired(struct fx *fx)
{
    fx->fired = 0;
    sk_timer_start(fx->deadline, DEADLINE_MS, 0);
    sk_loop_run(fx->loop);
    sk_timer_stop(fx->deadline);
    assert_false(fx->timed_out);
    assert_true(fx->fired >= 1);
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void fx_init(struct fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->loop = sk_loop_create();
    assert_non_null(fx->loop);
    fx->deadline = sk_timer_create(fx->loop, on_deadline, fx);
    assert_non_null(fx->deadline);
}

static void fx_cleanup(struct fx *fx)
{
    sk_timer_destroy(fx->deadline);
    /* Nothing is left active: the loop returns at once. */
    sk_loop_run(fx->loop);
    sk_loop_destroy(fx->loop);
}

/* Rotation as logrotate's `create` does it, then a write to the new file. */
static void test_append_rename_create(void **state)
{
    const char *dir = sk_test_tmpdir();
    char path[512];
    char rotated[520];
    struct fx fx;
    struct sk_fswatch *w;

    (void)state;
    snprintf(path, sizeof(path), "%s/app.log", dir);
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    append(path, "one\n");
    fx_init(&fx);
    w = sk_fswatch_create(fx.loop, path, 0, on_change, &fx);
    assert_non_null(w);
    append(path, "two\n");
    wait_fired(&fx);
    assert_int_equal(rename(path, rotated), 0);
    wait_fired(&fx);
    append(path, "new\n");
    wait_fired(&fx);
    append(path, "more\n"); /* the watch follows the new file */
    wait_fired(&fx);
    assert_int_equal(unlink(path), 0);
    wait_fired(&fx);
    sk_fswatch_destroy(w);
    fx_cleanup(&fx);
}

/* A path that names nothing yet, and two paths in one directory: one
 * watcher going does not silence the other. */
static void test_missing_file_and_shared_directory(void **state)
{
    const char *dir = sk_test_tmpdir();
    char a[512];
    char b[512];
    struct fx fx;
    struct sk_fswatch *wa;
    struct sk_fswatch *wb;

    (void)state;
    snprintf(a, sizeof(a), "%s/a.log", dir);
    snprintf(b, sizeof(b), "%s/b.log", dir);
    append(b, "b\n");
    fx_init(&fx);
    wa = sk_fswatch_create(fx.loop, a, 0, on_change, &fx);
    wb = sk_fswatch_create(fx.loop, b, 0, on_change, &fx);
    assert_non_null(wa);
    assert_non_null(wb);
    append(a, "created\n");
    wait_fired(&fx);
    append(a, "appended\n");
    wait_fired(&fx);
    sk_fswatch_destroy(wa);
    append(b, "still watched\n");
    wait_fired(&fx);
    sk_fswatch_destroy(wb);
    fx_cleanup(&fx);
}

/* "inotify wd:<n> ..." lines of every inotify descriptor of this
 * process, concatenated: which watches exist. */
static char *inotify_watches(void)
{
    size_t size = 1;
    char *out = calloc(1, 1);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char link[256];
        char info[512];
        char line[512];
        ssize_t n;
        FILE *f;

        snprintf(info, sizeof(info), "/proc/self/fd/%s", de->d_name);
        n = readlink(info, link, sizeof(link) - 1);
        if (n < 0 || (link[n] = '\0', strcmp(link, "anon_inode:inotify") != 0)) {
            continue;
        }
        snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", de->d_name);
        f = fopen(info, "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f) != NULL) {
            if (strncmp(line, "inotify wd:", 11) == 0) {
                size += strlen(line);
                out = realloc(out, size);
                assert_non_null(out);
                strcat(out, line);
            }
        }
        fclose(f);
    }
    closedir(d);
    return out;
}

/* libev's ev_stat removes and re-adds its watch whenever the stat data
 * changed, i.e. after every append: the watches here stay as they are. */
static void test_appends_keep_the_watch(void **state)
{
    const char *dir = sk_test_tmpdir();
    char path[512];
    struct fx fx;
    struct sk_fswatch *w;
    char *before;
    char *after;

    (void)state;
    snprintf(path, sizeof(path), "%s/app.log", dir);
    append(path, "0\n");
    fx_init(&fx);
    w = sk_fswatch_create(fx.loop, path, 0, on_change, &fx);
    assert_non_null(w);
    before = inotify_watches();
    assert_non_null(strstr(before, "inotify wd:"));
    for (int i = 0; i < 20; i++) {
        append(path, "line\n");
        wait_fired(&fx);
    }
    after = inotify_watches();
    assert_string_equal(before, after);
    free(before);
    free(after);
    sk_fswatch_destroy(w);
    fx_cleanup(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_rename_create),
        cmocka_unit_test(test_missing_file_and_shared_directory),
        cmocka_unit_test(test_appends_keep_the_watch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
