#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

static const char *env_path(const char *var, const char *name)
{
    static char path[4096];
    const char *base = getenv(var);

    if (base == NULL) {
        fail_msg("%s is not set (run the test through ctest)", var);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%s", base, name);
    return path;
}

const char *sk_test_data(const char *name)
{
    return env_path("SKIFF_TEST_DATA", name);
}

const char *sk_test_shared(const char *name)
{
    return env_path("SKIFF_SHARED", name);
}

char *sk_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long size;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size + 1);
        if (data != NULL && fread(data, 1, (size_t)size, f) == (size_t)size) {
            data[size] = '\0';
            if (len != NULL) {
                *len = (size_t)size;
            }
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    return data;
}

const char *sk_test_tmpdir(void)
{
    static char path[256];

    snprintf(path, sizeof(path), "/tmp/skiff-test-XXXXXX");
    if (mkdtemp(path) == NULL) {
        fail_msg("mkdtemp failed");
    }
    return path;
}
