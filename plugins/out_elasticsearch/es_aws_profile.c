/*
 * The AWS shared credentials and config files, read as the AWS CLI
 * (Python configparser) reads them:
 *
 *   ~/.aws/credentials              ~/.aws/config
 *   +---------------------------+   +-----------------------------------+
 *   | [default]                 |   | [default]                         |
 *   | aws_access_key_id = AKIA… |   | region = eu-west-1                |
 *   | aws_secret_access_key = … |   | [profile shipper]                 |
 *   | # comment  ; comment      |   | role_arn = arn:aws:iam::1:role/x  |
 *   | [shipper]                 |   | source_profile = default          |
 *   | aws_session_token = …     |   | s3 =                              |
 *   +---------------------------+   |   max_concurrent_requests = 4     |
 *                                   +-----------------------------------+
 *
 * Only the keys of one profile are kept; nested (indented) settings are
 * skipped. Reading files is fine on the loop: they are small and local.
 */
#include "out_elasticsearch/es_aws_creds_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

void es_aws_profile_clear(struct es_aws_profile *p)
{
    if (p == NULL) {
        return;
    }
    es_aws_wipe_free(p->aws_access_key_id);
    es_aws_wipe_free(p->aws_secret_access_key);
    es_aws_wipe_free(p->aws_session_token);
    sk_free(p->role_arn);
    sk_free(p->source_profile);
    sk_free(p->credential_source);
    sk_free(p->web_identity_token_file);
    sk_free(p->role_session_name);
    sk_free(p->external_id);
    sk_free(p->region);
    memset(p, 0, sizeof(*p));
}

/* One parsed line, pointers into the text. */
struct ini_line {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
    size_t indent;
};

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1])) {
        (*n)--;
    }
}

/* Cuts an inline comment: '#' or ';' after a blank. */
static void cut_comment(const char *s, size_t *n)
{
    for (size_t i = 1; i < *n; i++) {
        if ((s[i] == '#' || s[i] == ';') && (s[i - 1] == ' ' || s[i - 1] == '\t')) {
            *n = i;
            return;
        }
    }
}

/* Whether section text [s, s+n) (inside the brackets) names profile `name`. */
static bool section_matches(const char *s, size_t n, const char *name, bool config_file)
{
    size_t nl = strlen(name);

    trim(&s, &n);
    if (config_file) {
        if (n == 7 && memcmp(s, "default", 7) == 0) {
            return strcmp(name, "default") == 0;
        }
        if (n < 8 || memcmp(s, "profile", 7) != 0 || !isspace((unsigned char)s[7])) {
            return false;
        }
        s += 8;
        n -= 8;
        trim(&s, &n);
        if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
            s++;
            n -= 2;
        }
    }
    return n == nl && memcmp(s, name, nl) == 0;
}

static int set_value(char **dst, const struct ini_line *l)
{
    char *v = sk_strndup(l->value, l->value_len);

    if (v == NULL) {
        return SK_ENOMEM;
    }
    es_aws_wipe_free(*dst);
    *dst = v;
    return 0;
}

static int take_key(struct es_aws_profile *out, const struct ini_line *l)
{
    static const struct {
        const char *key;
        size_t offset;
    } keys[] = {
        {"aws_access_key_id", offsetof(struct es_aws_profile, aws_access_key_id)},
        {"aws_secret_access_key", offsetof(struct es_aws_profile, aws_secret_access_key)},
        {"aws_session_token", offsetof(struct es_aws_profile, aws_session_token)},
        {"aws_security_token", offsetof(struct es_aws_profile, aws_session_token)},
        {"role_arn", offsetof(struct es_aws_profile, role_arn)},
        {"source_profile", offsetof(struct es_aws_profile, source_profile)},
        {"credential_source", offsetof(struct es_aws_profile, credential_source)},
        {"web_identity_token_file", offsetof(struct es_aws_profile, web_identity_token_file)},
        {"role_session_name", offsetof(struct es_aws_profile, role_session_name)},
        {"external_id", offsetof(struct es_aws_profile, external_id)},
        {"region", offsetof(struct es_aws_profile, region)},
    };

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strlen(keys[i].key) == l->key_len &&
            strncasecmp(keys[i].key, l->key, l->key_len) == 0) {
            return set_value((char **)((char *)out + keys[i].offset), l);
        }
    }
    if ((l->key_len == 18 && strncasecmp(l->key, "credential_process", 18) == 0) ||
        (l->key_len > 4 && strncasecmp(l->key, "sso_", 4) == 0)) {
        out->unsupported = true;
    }
    return 0;
}

/* Splits "key = value" (or "key: value"); false for anything else. */
static bool split_line(const char *s, size_t n, size_t indent, struct ini_line *l)
{
    size_t eq = 0;

    while (eq < n && s[eq] != '=' && s[eq] != ':') {
        eq++;
    }
    if (eq >= n) {
        return false;
    }
    l->indent = indent;
    l->key = s;
    l->key_len = eq;
    trim(&l->key, &l->key_len);
    l->value = s + eq + 1;
    l->value_len = n - eq - 1;
    cut_comment(l->value, &l->value_len);
    trim(&l->value, &l->value_len);
    return l->key_len > 0;
}

int es_aws_profile_parse(const char *text, size_t len, const char *name, bool config_file,
                         struct es_aws_profile *out)
{
    bool in = false, have_key = false;
    size_t key_indent = 0, i = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        const char *s = text + i;
        size_t n = end - i, indent = 0;
        struct ini_line l;

        i = end + 1;
        while (indent < n && (s[indent] == ' ' || s[indent] == '\t')) {
            indent++;
        }
        s += indent;
        n -= indent;
        while (n > 0 && isspace((unsigned char)s[n - 1])) {
            n--;
        }
        if (n == 0 || s[0] == '#' || s[0] == ';') {
            continue;
        }
        if (s[0] == '[' && indent == 0) {
            const char *close = memchr(s, ']', n);

            in = close != NULL && section_matches(s + 1, (size_t)(close - s) - 1, name,
                                                  config_file);
            out->found = out->found || in;
            have_key = false;
            continue;
        }
        if (have_key && indent > key_indent) {
            continue; /* continuation or nested setting */
        }
        if (!split_line(s, n, indent, &l)) {
            continue;
        }
        have_key = true;
        key_indent = indent;
        if (in) {
            rc = take_key(out, &l);
        }
    }
    return rc;
}

/* Reads a whole small file into buf (initialised here, always to be
 * cleaned up). SK_ENOENT when it does not exist. */
static int read_small_file(const char *path, size_t max, struct sk_buf *buf)
{
    char chunk[4096];
    int fd, rc = 0;

    sk_buf_init(buf, max);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT || errno == ENOTDIR ? SK_ENOENT : SK_EIO;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? SK_EIO : 0;
            break;
        }
        rc = sk_buf_append(buf, chunk, (size_t)n);
        if (rc < 0) {
            break;
        }
    }
    explicit_bzero(chunk, sizeof(chunk));
    close(fd);
    return rc;
}

static int load_one(const char *path, const char *name, bool config_file,
                    struct es_aws_profile *out)
{
    struct sk_buf text;
    int rc;

    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    rc = read_small_file(path, ES_AWS_FILE_MAX, &text);
    if (rc == SK_ENOENT) {
        rc = 0; /* a missing file is an empty one */
    } else if (rc == 0) {
        rc = es_aws_profile_parse(text.data != NULL ? text.data : "", text.len, name, config_file,
                                  out);
    }
    if (text.data != NULL) {
        explicit_bzero(text.data, text.len);
    }
    sk_buf_cleanup(&text);
    return rc;
}

int es_aws_profile_load(const char *credentials_path, const char *config_path, const char *name,
                        struct es_aws_profile *out)
{
    int rc = load_one(config_path, name, true, out);

    if (rc == 0) {
        rc = load_one(credentials_path, name, false, out);
    }
    return rc;
}

int es_aws_read_token_file(const char *path, struct sk_buf *buf)
{
    int rc = read_small_file(path, ES_AWS_TOKEN_FILE_MAX, buf);
    size_t start = 0;

    if (rc < 0) {
        return rc;
    }
    while (buf->len > 0 && isspace((unsigned char)buf->data[buf->len - 1])) {
        buf->data[--buf->len] = '\0';
    }
    while (start < buf->len && isspace((unsigned char)buf->data[start])) {
        start++;
    }
    sk_buf_consume(buf, start);
    return buf->len > 0 ? 0 : SK_EPARSE;
}
