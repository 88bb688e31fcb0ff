#include "testutil.h"

/*
 * AWS credentials provider, the pure parts (plugins/out_elasticsearch/
 * es_aws_parse.c, es_aws_profile.c, es_aws_plan.c) and the provider with
 * sources that need no network (keys in <endpoint>, the environment, the
 * shared files). The network sources run against tests/awsdouble in
 * test_es_aws_creds_e2e.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "http/http.h"
#include "loop/loop.h"
#include "out_elasticsearch/es_aws_creds.h"
#include "out_elasticsearch/es_aws_creds_int.h"
#include "out_elasticsearch/es_sigv4.h"
#include "param/param.h"
#include "util/alloc.h"
#include "util/buf.h"

#define T_2026 1795460400 /* 2026-11-23T19:00:00Z */

/* ------------------------------------------------------------------ */
/* Times                                                               */
/* ------------------------------------------------------------------ */

static void test_parse_time_table(void **state)
{
    static const struct {
        const char *name;
        const char *text;
        int rc;
        int64_t want;
    } cases[] = {
        {"sts form", "2026-11-23T19:00:00Z", 0, T_2026},
        {"epoch", "1970-01-01T00:00:00Z", 0, 0},
        {"leap day", "2024-02-29T12:00:00Z", 0, 1709208000},
        {"millis", "2026-11-23T19:00:00.123Z", 0, T_2026},
        {"micros no zone", "2026-11-23T19:00:00.123456", 0, T_2026},
        {"offset colon", "2026-11-23T21:00:00+02:00", 0, T_2026},
        {"offset no colon", "2026-11-23T17:30:00-0130", 0, T_2026},
        {"offset hours", "2026-11-23T20:00:00+01", 0, T_2026},
        {"lower case", "2026-11-23t19:00:00z", 0, T_2026},
        {"space sep", "2026-11-23 19:00:00Z", 0, T_2026},
        {"blanks around", "  2026-11-23T19:00:00Z\n", 0, T_2026},
        {"last second", "9999-12-31T23:59:59Z", 0, 253402300799LL},
        {"date only", "2026-11-23", SK_EPARSE, 0},
        {"no seconds", "2026-11-23T19:00Z", SK_EPARSE, 0},
        {"month 13", "2026-13-01T00:00:00Z", SK_EPARSE, 0},
        {"feb 29 non leap", "2023-02-29T00:00:00Z", SK_EPARSE, 0},
        {"april 31", "2026-04-31T00:00:00Z", SK_EPARSE, 0},
        {"hour 24", "2026-11-23T24:00:00Z", SK_EPARSE, 0},
        {"before epoch", "1969-12-31T23:59:59Z", SK_EPARSE, 0},
        {"garbage after", "2026-11-23T19:00:00Zx", SK_EPARSE, 0},
        {"empty fraction", "2026-11-23T19:00:00.Z", SK_EPARSE, 0},
        {"bad zone", "2026-11-23T19:00:00+2", SK_EPARSE, 0},
        {"empty", "", SK_EPARSE, 0},
        {"epoch number", "1795460400", SK_EPARSE, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = -1;
        int rc = es_aws_parse_time(cases[i].text, strlen(cases[i].text), &got);

        if (rc != cases[i].rc || (rc == 0 && got != cases[i].want)) {
            fail_msg("%s: '%s' -> rc %d, %lld", cases[i].name, cases[i].text, rc,
                     (long long)got);
        }
    }
}

static void test_refresh_delay(void **state)
{
    (void)state;
    /* One hour credentials: 5 minutes before expiry. */
    assert_int_equal(es_aws_refresh_delay_ms(1000, 1000 + 3600, 300000), 3300000);
    /* Short-lived: halfway, never past expiry. */
    assert_int_equal(es_aws_refresh_delay_ms(1000, 1003, 300000), 1500);
    assert_int_equal(es_aws_refresh_delay_ms(1000, 1000 + 400, 300000), 200000);
    /* Already expired or about to: soon, not in a loop. */
    assert_int_equal(es_aws_refresh_delay_ms(1000, 999, 300000), 100);
    assert_int_equal(es_aws_refresh_delay_ms(1000, 1000, 300000), 100);
    /* Never expires. */
    assert_int_equal(es_aws_refresh_delay_ms(1000, 0, 300000), -1);
}

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(es_aws_backoff_ms(1, 1000, 60000), 1000);
    assert_int_equal(es_aws_backoff_ms(2, 1000, 60000), 2000);
    assert_int_equal(es_aws_backoff_ms(4, 1000, 60000), 8000);
    assert_int_equal(es_aws_backoff_ms(7, 1000, 60000), 60000);
    assert_int_equal(es_aws_backoff_ms(4000000000u, 1000, 60000), 60000);
    assert_int_equal(es_aws_backoff_ms(3, 50, 120), 120);
}

/* ------------------------------------------------------------------ */
/* STS XML                                                             */
/* ------------------------------------------------------------------ */

static const char sts_ok[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "    <SourceIdentity>Alice</SourceIdentity>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>\n"
    "      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <SessionToken>\n       AQoDYXdzEPT//////////wEXAMPLEtc764=\n      </SessionToken>\n"
    "      <Expiration>2026-11-23T19:00:00Z</Expiration>\n"
    "    </Credentials>\n"
    "    <PackedPolicySize>8</PackedPolicySize>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>"
    "</ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static void test_sts_assume_role(void **state)
{
    struct es_aws_key k = {0};
    struct sk_buf err;

    (void)state;
    sk_buf_init(&err, 512);
    assert_int_equal(es_aws_parse_sts(sts_ok, strlen(sts_ok), &k, &err), 0);
    assert_string_equal(k.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(k.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    assert_string_equal(k.session_token, "AQoDYXdzEPT//////////wEXAMPLEtc764=");
    assert_int_equal(k.expiration, T_2026);
    assert_int_equal(err.len, 0);
    es_aws_key_clear(&k);
    sk_buf_cleanup(&err);
}

static void test_sts_web_identity_and_entities(void **state)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?><AssumeRoleWithWebIdentityResponse>"
        "<AssumeRoleWithWebIdentityResult>"
        "<SubjectFromWebIdentityToken>system:serviceaccount:a:b</SubjectFromWebIdentityToken>"
        "<Credentials xmlns:x=\"y\">"
        "<SessionToken>tok&amp;en&#43;/&#x3D;&lt;&gt;&quot;&apos;&bogus;</SessionToken>"
        "<SecretAccessKey>s&#x2F;k</SecretAccessKey>"
        "<Expiration>2026-11-23T19:00:00.000Z</Expiration>"
        "<AccessKeyId attr=\"1\">ASIAWEBIDENTITY00001</AccessKeyId>"
        "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    struct es_aws_key k = {0};

    (void)state;
    assert_int_equal(es_aws_parse_sts(xml, strlen(xml), &k, NULL), 0);
    assert_string_equal(k.access_key_id, "ASIAWEBIDENTITY00001");
    assert_string_equal(k.secret_access_key, "s/k");
    assert_string_equal(k.session_token, "tok&en+/=<>\"'&bogus;");
    assert_int_equal(k.expiration, T_2026);
    es_aws_key_clear(&k);
}

static void test_sts_errors(void **state)
{
    static const struct {
        const char *name;
        const char *xml;
        int rc;
        const char *err;
    } cases[] = {
        {"expired token",
         "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
         "<Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included "
         "in the request is expired</Message></Error><RequestId>1</RequestId></ErrorResponse>",
         SK_EPROTO, "ExpiredToken: The security token included in the request is expired"},
        {"access denied, escaped",
         "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: a is not authorized "
         "to perform: sts:AssumeRole on resource: b &amp; c</Message></Error></ErrorResponse>",
         SK_EPROTO,
         "AccessDenied: User: a is not authorized to perform: sts:AssumeRole on resource: b & c"},
        {"error without message", "<ErrorResponse><Error><Code>Throttling</Code></Error>"
                                  "</ErrorResponse>",
         SK_EPROTO, "Throttling"},
        {"html", "<html><body>502 Bad Gateway</body></html>", SK_EPARSE,
         "no Credentials element in the answer"},
        {"no session token",
         "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
         "<Expiration>2026-11-23T19:00:00Z</Expiration></Credentials>",
         SK_EPARSE, "incomplete Credentials element"},
        {"bad expiration",
         "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
         "<SessionToken>T</SessionToken><Expiration>tomorrow</Expiration></Credentials>",
         SK_EPARSE, "bad Expiration in Credentials"},
        {"empty key",
         "<Credentials><AccessKeyId/><SecretAccessKey>S</SecretAccessKey>"
         "<SessionToken>T</SessionToken><Expiration>2026-11-23T19:00:00Z</Expiration>"
         "</Credentials>",
         SK_EPARSE, "empty key in Credentials"},
        {"truncated", "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S", SK_EPARSE,
         "no Credentials element in the answer"},
        {"empty", "", SK_EPARSE, "no Credentials element in the answer"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct es_aws_key k = {0};
        struct sk_buf err;
        int rc;

        sk_buf_init(&err, 512);
        rc = es_aws_parse_sts(cases[i].xml, strlen(cases[i].xml), &k, &err);
        if (rc != cases[i].rc || strcmp(err.data != NULL ? err.data : "", cases[i].err) != 0) {
            fail_msg("%s: rc %d err '%s'", cases[i].name, rc, err.data ? err.data : "");
        }
        assert_null(k.access_key_id);
        sk_buf_cleanup(&err);
    }
}

static void test_xml_find(void **state)
{
    static const char xml[] =
        "<a><Credentials2>x</Credentials2><b:Credentials>y</b:Credentials>"
        "<Credentials\n kind=\"1\">z<Credentials>n</Credentials></Credentials><Empty/></a>";
    const char *v;
    size_t n;

    (void)state;
    assert_int_equal(es_aws_xml_find(xml, strlen(xml), "Credentials", &v, &n), 0);
    /* The first close tag ends it: the tolerant extractor does not nest. */
    assert_int_equal(n, 1 + strlen("<Credentials>n"));
    assert_memory_equal(v, "z<Credentials>n", n);
    assert_int_equal(es_aws_xml_find(xml, strlen(xml), "Empty", &v, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(es_aws_xml_find(xml, strlen(xml), "Missing", &v, &n), SK_ENOENT);
    assert_int_equal(es_aws_xml_find("<a>open", 7, "a", &v, &n), SK_ENOENT);
}

/* ------------------------------------------------------------------ */
/* Metadata / container JSON                                           */
/* ------------------------------------------------------------------ */

static void test_json_imds(void **state)
{
    static const char imds[] =
        "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-11-23T13:00:00Z\",\n"
        "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAIMDSEXAMPLE00001\",\n"
        "  \"SecretAccessKey\" : \"secret\\/key\",\n  \"Token\" : \"token\\u002b=\",\n"
        "  \"Expiration\" : \"2026-11-23T19:00:00Z\"\n}";
    static const char ecs[] =
        "{\"RoleArn\":\"arn:aws:iam::1:role/t\",\"AccessKeyId\":\"ASIAECSEXAMPLE000001\","
        "\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"2026-11-23T19:00:00.5Z\"}";
    static const char longterm[] =
        "{\"AccessKeyId\":\"AKIAECSEXAMPLE000001\",\"SecretAccessKey\":\"s\","
        "\"Expiration\":\"2026-11-23T19:00:00Z\"}";
    struct es_aws_key k = {0};

    (void)state;
    assert_int_equal(es_aws_parse_json_creds(imds, strlen(imds), &k, NULL), 0);
    assert_string_equal(k.access_key_id, "ASIAIMDSEXAMPLE00001");
    assert_string_equal(k.secret_access_key, "secret/key");
    assert_string_equal(k.session_token, "token+=");
    assert_int_equal(k.expiration, T_2026);
    assert_int_equal(es_aws_parse_json_creds(ecs, strlen(ecs), &k, NULL), 0);
    assert_string_equal(k.access_key_id, "ASIAECSEXAMPLE000001");
    assert_int_equal(k.expiration, T_2026);
    assert_int_equal(es_aws_parse_json_creds(longterm, strlen(longterm), &k, NULL), 0);
    assert_null(k.session_token);
    es_aws_key_clear(&k);
}

static void test_json_errors(void **state)
{
    static const struct {
        const char *name;
        const char *json;
        int rc;
        const char *err;
    } cases[] = {
        {"failure code",
         "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"EC2 cannot assume the role\","
         "\"LastUpdated\":\"2026-11-23T13:00:00Z\"}",
         SK_EPROTO, "AssumeRoleUnauthorizedAccess: EC2 cannot assume the role"},
        {"not json", "<html>404</html>", SK_EPARSE, "the answer is not a JSON object"},
        {"array", "[1,2]", SK_EPARSE, "the answer is not a JSON object"},
        {"missing secret", "{\"AccessKeyId\":\"A\",\"Token\":\"t\",\"Expiration\":"
                           "\"2026-11-23T19:00:00Z\"}",
         SK_EPARSE, "AccessKeyId, SecretAccessKey or Expiration missing"},
        {"number key", "{\"AccessKeyId\":1,\"SecretAccessKey\":\"s\",\"Expiration\":"
                       "\"2026-11-23T19:00:00Z\"}",
         SK_EPARSE, "AccessKeyId, SecretAccessKey or Expiration missing"},
        {"bad expiration", "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":"
                           "\"soon\"}",
         SK_EPARSE, "bad Expiration in the answer"},
        {"empty key", "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s\",\"Expiration\":"
                      "\"2026-11-23T19:00:00Z\"}",
         SK_EPARSE, "empty key in the answer"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct es_aws_key k = {0};
        struct sk_buf err;
        int rc;

        sk_buf_init(&err, 512);
        rc = es_aws_parse_json_creds(cases[i].json, strlen(cases[i].json), &k, &err);
        if (rc != cases[i].rc || strcmp(err.data != NULL ? err.data : "", cases[i].err) != 0) {
            fail_msg("%s: rc %d err '%s'", cases[i].name, rc, err.data ? err.data : "");
        }
        assert_null(k.access_key_id);
        sk_buf_cleanup(&err);
    }
}

static void test_imds_role(void **state)
{
    static const struct {
        const char *text;
        int rc;
        const char *want;
    } cases[] = {
        {"skiff-role", 0, "skiff-role"},
        {"  web+role=1,a.b@c_d-e\nsecond\n", 0, "web+role=1,a.b@c_d-e"},
        {"role\r\n", 0, "role"},
        {"", SK_EPARSE, NULL},
        {"\n\n", SK_EPARSE, NULL},
        {"../etc", SK_EPARSE, NULL},
        {"has space", SK_EPARSE, NULL},
        {"r?x=1", SK_EPARSE, NULL},
    };
    char big[200];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_buf out;
        int rc;

        sk_buf_init(&out, 256);
        rc = es_aws_parse_imds_role(cases[i].text, strlen(cases[i].text), &out);
        if (rc != cases[i].rc || (rc == 0 && strcmp(out.data, cases[i].want) != 0)) {
            fail_msg("'%s': rc %d '%s'", cases[i].text, rc, out.data ? out.data : "");
        }
        sk_buf_cleanup(&out);
    }
    memset(big, 'r', sizeof(big));
    {
        struct sk_buf out;

        sk_buf_init(&out, 256);
        assert_int_equal(es_aws_parse_imds_role(big, sizeof(big), &out), SK_EPARSE);
        sk_buf_cleanup(&out);
    }
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void test_url_split(void **state)
{
    const char *host, *path;
    size_t n;
    bool https;

    (void)state;
    assert_int_equal(es_aws_url_split("http://127.0.0.1:8080", &https, &host, &n, &path), 0);
    assert_false(https);
    assert_int_equal(n, 14);
    assert_memory_equal(host, "127.0.0.1:8080", n);
    assert_string_equal(path, "");
    assert_int_equal(es_aws_url_split("HTTPS://u:p@sts.amazonaws.com/x/", &https, &host, &n,
                                      &path),
                     0);
    assert_true(https);
    assert_memory_equal(host, "sts.amazonaws.com", n);
    assert_string_equal(path, "/x/");
    assert_int_equal(es_aws_url_split("http://[::1]:80/", &https, &host, &n, &path), 0);
    assert_memory_equal(host, "[::1]:80", n);
    assert_int_equal(es_aws_url_split("ftp://a/", &https, &host, &n, &path), SK_EINVAL);
    assert_int_equal(es_aws_url_split("http:///x", &https, &host, &n, &path), SK_EINVAL);
    assert_int_equal(es_aws_url_split("http://a/?q=1", &https, &host, &n, &path), SK_EINVAL);
    assert_int_equal(es_aws_url_split("http://a b/", &https, &host, &n, &path), SK_EINVAL);
    assert_int_equal(es_aws_url_split(NULL, &https, &host, &n, &path), SK_EINVAL);
}

static void test_ecs_url_allowed(void **state)
{
    (void)state;
    assert_true(es_aws_ecs_url_allowed("http://127.0.0.1:51679/creds"));
    assert_true(es_aws_ecs_url_allowed("http://127.1.2.3/creds"));
    assert_true(es_aws_ecs_url_allowed("http://localhost:80/creds"));
    assert_true(es_aws_ecs_url_allowed("http://[::1]:80/creds"));
    assert_true(es_aws_ecs_url_allowed("http://169.254.170.2/v2/credentials/x"));
    assert_true(es_aws_ecs_url_allowed("http://169.254.170.23/v1/credentials"));
    assert_true(es_aws_ecs_url_allowed("http://[fd00:ec2::23]/v1/credentials"));
    assert_true(es_aws_ecs_url_allowed("https://creds.example.com/x"));
    assert_false(es_aws_ecs_url_allowed("http://creds.example.com/x"));
    assert_false(es_aws_ecs_url_allowed("http://127.example.com/x"));
    assert_false(es_aws_ecs_url_allowed("http://169.254.170.22/x"));
    assert_false(es_aws_ecs_url_allowed("http://localhost.evil/x"));
    assert_false(es_aws_ecs_url_allowed("file:///etc/passwd"));
}

static void test_form_escape_and_mask(void **state)
{
    struct sk_buf b;
    char m[16];

    (void)state;
    sk_buf_init(&b, 256);
    assert_int_equal(es_aws_form_escape(&b, "arn:aws:iam::1:role/a b+c=~._-"), 0);
    assert_string_equal(b.data, "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b%2Bc%3D~._-");
    sk_buf_cleanup(&b);
    es_aws_key_mask("ASIAIOSFODNN7EXAMPLE", m);
    assert_string_equal(m, "ASIA****MPLE");
    es_aws_key_mask("short", m);
    assert_string_equal(m, "****");
    es_aws_key_mask(NULL, m);
    assert_string_equal(m, "****");
}

static void test_token_expired(void **state)
{
    static const char es[] =
        "{\"message\":\"The security token included in the request is expired\"}";
    static const char sts[] = "<Code>ExpiredTokenException</Code>";
    static const char invalid[] =
        "{\"message\":\"The security token included in the request is invalid.\"}";

    (void)state;
    assert_true(es_aws_token_expired(403, es, strlen(es)));
    assert_true(es_aws_token_expired(400, sts, strlen(sts)));
    assert_true(es_aws_token_expired(401, "THE SECURITY TOKEN INCLUDED IN THE REQUEST IS EXPIRED",
                                     53));
    assert_false(es_aws_token_expired(403, invalid, strlen(invalid)));
    assert_false(es_aws_token_expired(200, es, strlen(es)));
    assert_false(es_aws_token_expired(500, es, strlen(es)));
    assert_false(es_aws_token_expired(403, NULL, 0));
    assert_false(es_aws_token_expired(403, es, 10)); /* only what len covers */
}

/* ------------------------------------------------------------------ */
/* Profile files                                                       */
/* ------------------------------------------------------------------ */

static const char creds_file[] =
    "# AWS CLI credentials\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT000000001\n"
    "aws_secret_access_key=default/secret+key\n"
    "\n"
    "; another comment\n"
    "[shipper]\r\n"
    "AWS_ACCESS_KEY_ID\t=\tAKIASHIPPER000000001   # inline comment\r\n"
    "aws_secret_access_key: shipper-secret ; inline\r\n"
    "aws_security_token = legacy-token\r\n"
    "s3 =\n"
    "  aws_access_key_id = NESTED-NOT-A-KEY\n"
    "  max_concurrent_requests = 4\n"
    "[  spaced  ]\n"
    "  aws_access_key_id = AKIAINDENTED00000001\n"
    "  aws_secret_access_key = indented-secret\n"
    "[shipper]\n"
    "region = eu-west-1\n";

static const char config_file[] =
    "[default]\n"
    "region = us-west-2\n"
    "[profile dev]\n"
    "role_arn = arn:aws:iam::123456789012:role/dev\n"
    "source_profile = shipper\n"
    "role_session_name = dev-session\n"
    "external_id = ext-1\n"
    "[dev]\n"
    "role_arn = arn:aws:iam::123456789012:role/WRONG\n"
    "[profile   \"quoted\"  ]\n"
    "credential_source = Ec2InstanceMetadata\n"
    "role_arn = arn:aws:iam::123456789012:role/q\n"
    "[profile sso]\n"
    "sso_start_url = https://example.awsapps.com/start\n"
    "[profile proc]\n"
    "credential_process = /bin/creds\n"
    "[profile web]\n"
    "role_arn = arn:aws:iam::123456789012:role/web\n"
    "web_identity_token_file = /var/run/token\n";

static void parse_profile(const char *text, const char *name, bool config,
                          struct es_aws_profile *p)
{
    memset(p, 0, sizeof(*p));
    assert_int_equal(es_aws_profile_parse(text, strlen(text), name, config, p), 0);
}

static void test_profile_credentials_file(void **state)
{
    struct es_aws_profile p;

    (void)state;
    parse_profile(creds_file, "default", false, &p);
    assert_true(p.found);
    assert_string_equal(p.aws_access_key_id, "AKIADEFAULT000000001");
    assert_string_equal(p.aws_secret_access_key, "default/secret+key");
    assert_null(p.aws_session_token);
    es_aws_profile_clear(&p);

    parse_profile(creds_file, "shipper", false, &p);
    assert_true(p.found);
    assert_string_equal(p.aws_access_key_id, "AKIASHIPPER000000001");
    assert_string_equal(p.aws_secret_access_key, "shipper-secret");
    assert_string_equal(p.aws_session_token, "legacy-token");
    assert_string_equal(p.region, "eu-west-1"); /* a repeated section adds keys */
    es_aws_profile_clear(&p);

    parse_profile(creds_file, "spaced", false, &p);
    assert_true(p.found);
    assert_string_equal(p.aws_access_key_id, "AKIAINDENTED00000001");
    es_aws_profile_clear(&p);

    parse_profile(creds_file, "nope", false, &p);
    assert_false(p.found);
    assert_null(p.aws_access_key_id);
    es_aws_profile_clear(&p);

    /* "[profile x]" means nothing in the credentials file. */
    parse_profile("[profile x]\naws_access_key_id = A\n", "x", false, &p);
    assert_false(p.found);
    es_aws_profile_clear(&p);
}

static void test_profile_config_file(void **state)
{
    struct es_aws_profile p;

    (void)state;
    parse_profile(config_file, "dev", true, &p);
    assert_true(p.found);
    assert_string_equal(p.role_arn, "arn:aws:iam::123456789012:role/dev");
    assert_string_equal(p.source_profile, "shipper");
    assert_string_equal(p.role_session_name, "dev-session");
    assert_string_equal(p.external_id, "ext-1");
    es_aws_profile_clear(&p);

    parse_profile(config_file, "default", true, &p);
    assert_true(p.found);
    assert_string_equal(p.region, "us-west-2");
    es_aws_profile_clear(&p);

    parse_profile(config_file, "quoted", true, &p);
    assert_true(p.found);
    assert_string_equal(p.credential_source, "Ec2InstanceMetadata");
    es_aws_profile_clear(&p);

    parse_profile(config_file, "sso", true, &p);
    assert_true(p.found && p.unsupported);
    es_aws_profile_clear(&p);
    parse_profile(config_file, "proc", true, &p);
    assert_true(p.found && p.unsupported);
    es_aws_profile_clear(&p);

    parse_profile(config_file, "web", true, &p);
    assert_string_equal(p.web_identity_token_file, "/var/run/token");
    es_aws_profile_clear(&p);

    parse_profile("[profile default]\nregion = r\n", "default", true, &p);
    assert_true(p.found);
    assert_string_equal(p.region, "r");
    es_aws_profile_clear(&p);

    parse_profile("no section = x\n[broken\naws_access_key_id = A\n", "broken", true, &p);
    assert_false(p.found);
    es_aws_profile_clear(&p);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

static void test_profile_load_merges(void **state)
{
    const char *dir = sk_test_tmpdir();
    char cred[512], cfg[512], none[512];
    struct es_aws_profile p = {0};

    (void)state;
    snprintf(cred, sizeof(cred), "%s/credentials", dir);
    snprintf(cfg, sizeof(cfg), "%s/config", dir);
    snprintf(none, sizeof(none), "%s/missing", dir);
    write_file(cred, "[dev]\naws_access_key_id = FROMCREDS\naws_secret_access_key = S\n");
    write_file(cfg, "[profile dev]\naws_access_key_id = FROMCONFIG\nregion = eu-west-3\n");
    assert_int_equal(es_aws_profile_load(cred, cfg, "dev", &p), 0);
    assert_true(p.found);
    assert_string_equal(p.aws_access_key_id, "FROMCREDS");
    assert_string_equal(p.region, "eu-west-3");
    es_aws_profile_clear(&p);
    assert_int_equal(es_aws_profile_load(none, NULL, "dev", &p), 0);
    assert_false(p.found);
    assert_int_equal(es_aws_profile_load(dir, NULL, "dev", &p), SK_EIO); /* a directory */
    es_aws_profile_clear(&p);
    remove(cred);
    remove(cfg);
    remove(dir);
}

/* ------------------------------------------------------------------ */
/* The chain                                                           */
/* ------------------------------------------------------------------ */

struct chain_case {
    const char *name;
    struct es_aws_creds_conf conf;
    struct es_aws_env env;
    struct es_aws_profile prof;
    struct es_aws_profile source;
    int rc;
    enum es_aws_source want;
    const char *detail; /* key id, role arn, ECS URL or IMDS endpoint */
    size_t nroles;
    const char *role0;
    const char *role1;
};

#define WEB_ARN "arn:aws:iam::1:role/web"
#define CONF_ARN "arn:aws:iam::1:role/conf"
#define PROF_ARN "arn:aws:iam::1:role/prof"

static const char *detail_of(const struct es_aws_plan *p)
{
    switch (p->source) {
    case ES_AWS_SRC_CONFIG:
    case ES_AWS_SRC_ENV:
    case ES_AWS_SRC_PROFILE:
        return p->access_key_id;
    case ES_AWS_SRC_WEB_IDENTITY:
        return p->wi_role_arn;
    case ES_AWS_SRC_ECS:
        return p->ecs_base != NULL ? p->ecs_base : p->ecs_uri;
    case ES_AWS_SRC_IMDS:
        return p->imds_endpoint;
    default:
        return NULL;
    }
}

static void test_chain_order(void **state)
{
    static const struct es_aws_profile keys = {.found = true, .aws_access_key_id = "PROFKEY",
                                               .aws_secret_access_key = "ps"};
    static const struct chain_case cases[] = {
        {"nothing: instance metadata", .want = ES_AWS_SRC_IMDS,
         .detail = "http://169.254.169.254"},
        {"conf keys", .conf = {.access_key_id = "CONFKEY", .secret_access_key = "cs"},
         .env = {.access_key_id = "ENVKEY", .secret_access_key = "es"}, .prof = keys,
         .want = ES_AWS_SRC_CONFIG, .detail = "CONFKEY"},
        {"conf half key", .conf = {.access_key_id = "CONFKEY"}, .rc = SK_ECONFIG},
        {"conf empty keys are unset", .conf = {.access_key_id = "", .secret_access_key = ""},
         .want = ES_AWS_SRC_IMDS, .detail = "http://169.254.169.254"},
        {"conf web identity beats env keys",
         .conf = {.assume_role_arn = WEB_ARN, .assume_role_web_identity_token_file = "/t"},
         .env = {.access_key_id = "ENVKEY", .secret_access_key = "es"},
         .want = ES_AWS_SRC_WEB_IDENTITY, .detail = WEB_ARN},
        {"conf web identity needs the arn", .conf = {.assume_role_web_identity_token_file = "/t"},
         .rc = SK_ECONFIG},
        {"conf ecs uri", .conf = {.ecs_container_credentials_relative_uri = "/v2/c"},
         .env = {.access_key_id = "ENVKEY", .secret_access_key = "es"},
         .want = ES_AWS_SRC_ECS, .detail = "http://169.254.170.2"},
        {"env keys beat the profile", .env = {.access_key_id = "ENVKEY", .secret_access_key = "es"},
         .prof = keys, .want = ES_AWS_SRC_ENV, .detail = "ENVKEY"},
        {"env half key", .env = {.secret_access_key = "es"}, .rc = SK_ECONFIG},
        {"conf profile beats env keys", .conf = {.profile = "default"},
         .env = {.access_key_id = "ENVKEY", .secret_access_key = "es"}, .prof = keys,
         .want = ES_AWS_SRC_PROFILE, .detail = "PROFKEY"},
        {"profile keys", .prof = keys, .env = {.role_arn = WEB_ARN,
                                               .web_identity_token_file = "/t"},
         .want = ES_AWS_SRC_PROFILE, .detail = "PROFKEY"},
        {"named profile missing (conf)", .conf = {.profile = "x"}, .rc = SK_ECONFIG},
        {"named profile missing (env)", .env = {.profile = "x"}, .rc = SK_ECONFIG},
        {"profile with settings only", .prof = {.found = true, .region = "eu-west-1"},
         .want = ES_AWS_SRC_IMDS, .detail = "http://169.254.169.254"},
        {"profile half key", .prof = {.found = true, .aws_access_key_id = "A"}, .rc = SK_ECONFIG},
        {"profile sso only", .prof = {.found = true, .unsupported = true}, .rc = SK_ECONFIG},
        {"profile role with source_profile",
         .prof = {.found = true, .role_arn = PROF_ARN, .source_profile = "base",
                  .role_session_name = "ps"},
         .source = {.found = true, .aws_access_key_id = "SRCKEY", .aws_secret_access_key = "s"},
         .want = ES_AWS_SRC_PROFILE, .detail = "SRCKEY", .nroles = 1, .role0 = PROF_ARN},
        {"profile role, source without keys",
         .prof = {.found = true, .role_arn = PROF_ARN, .source_profile = "base"},
         .source = {.found = true, .role_arn = "arn:aws:iam::1:role/chained"},
         .rc = SK_ECONFIG},
        {"profile role on instance metadata",
         .prof = {.found = true, .role_arn = PROF_ARN,
                  .credential_source = "Ec2InstanceMetadata"},
         .want = ES_AWS_SRC_IMDS, .detail = "http://169.254.169.254", .nroles = 1,
         .role0 = PROF_ARN},
        {"profile role on environment", .conf = {.profile = "p"},
         .prof = {.found = true, .role_arn = PROF_ARN, .credential_source = "Environment"},
         .env = {.access_key_id = "ENVKEY", .secret_access_key = "es"},
         .want = ES_AWS_SRC_ENV, .detail = "ENVKEY", .nroles = 1, .role0 = PROF_ARN},
        {"profile role on environment without keys", .conf = {.profile = "p"},
         .prof = {.found = true, .role_arn = PROF_ARN, .credential_source = "Environment"},
         .rc = SK_ECONFIG},
        {"profile role on ecs",
         .prof = {.found = true, .role_arn = PROF_ARN, .credential_source = "EcsContainer"},
         .env = {.ecs_full_uri = "http://127.0.0.1:9/c"}, .want = ES_AWS_SRC_ECS,
         .detail = "http://127.0.0.1:9/c", .nroles = 1, .role0 = PROF_ARN},
        {"profile role with web identity",
         .prof = {.found = true, .role_arn = PROF_ARN, .web_identity_token_file = "/t"},
         .want = ES_AWS_SRC_WEB_IDENTITY, .detail = PROF_ARN},
        {"profile role without a base", .prof = {.found = true, .role_arn = PROF_ARN},
         .rc = SK_ECONFIG},
        {"profile role and conf role",
         .conf = {.assume_role_arn = CONF_ARN, .assume_role_session_name = "fluentd"},
         .prof = {.found = true, .role_arn = PROF_ARN, .source_profile = "base"},
         .source = {.found = true, .aws_access_key_id = "SRCKEY", .aws_secret_access_key = "s"},
         .want = ES_AWS_SRC_PROFILE, .detail = "SRCKEY", .nroles = 2, .role0 = PROF_ARN,
         .role1 = CONF_ARN},
        {"env web identity", .env = {.role_arn = WEB_ARN, .web_identity_token_file = "/t",
                                     .ecs_relative_uri = "/v2/c"},
         .want = ES_AWS_SRC_WEB_IDENTITY, .detail = WEB_ARN},
        {"env web identity needs both", .env = {.web_identity_token_file = "/t"},
         .want = ES_AWS_SRC_IMDS, .detail = "http://169.254.169.254"},
        {"env ecs relative, conf base", .conf = {.ecs_endpoint = "http://127.0.0.1:1"},
         .env = {.ecs_relative_uri = "/v2/c", .ecs_full_uri = "http://127.0.0.1:2/x"},
         .want = ES_AWS_SRC_ECS, .detail = "http://127.0.0.1:1"},
        {"env ecs full uri", .env = {.ecs_full_uri = "https://creds.example/x"},
         .want = ES_AWS_SRC_ECS, .detail = "https://creds.example/x"},
        {"env ecs full uri not local", .env = {.ecs_full_uri = "http://creds.example/x"},
         .rc = SK_ECONFIG},
        {"imds endpoint from env", .env = {.imds_endpoint = "http://127.0.0.1:3"},
         .want = ES_AWS_SRC_IMDS, .detail = "http://127.0.0.1:3"},
        {"imds endpoint from conf", .conf = {.imds_endpoint = "http://127.0.0.1:4"},
         .env = {.imds_endpoint = "http://127.0.0.1:3"}, .want = ES_AWS_SRC_IMDS,
         .detail = "http://127.0.0.1:4"},
        {"imds over IPv6", .env = {.imds_endpoint_mode = "IPv6"}, .want = ES_AWS_SRC_IMDS,
         .detail = "http://[fd00:ec2::254]"},
        {"imds disabled", .env = {.imds_disabled = "true"}, .rc = SK_ENOENT},
        {"conf role on env keys", .conf = {.assume_role_arn = CONF_ARN},
         .env = {.access_key_id = "ENVKEY", .secret_access_key = "es"}, .want = ES_AWS_SRC_ENV,
         .detail = "ENVKEY", .nroles = 1, .role0 = CONF_ARN},
        {"conf role on imds", .conf = {.assume_role_arn = CONF_ARN}, .want = ES_AWS_SRC_IMDS,
         .detail = "http://169.254.169.254", .nroles = 1, .role0 = CONF_ARN},
        {"conf role on conf keys",
         .conf = {.assume_role_arn = CONF_ARN, .access_key_id = "K", .secret_access_key = "S"},
         .want = ES_AWS_SRC_CONFIG, .detail = "K", .nroles = 1, .role0 = CONF_ARN},
        {"conf role on env web identity", .conf = {.assume_role_arn = CONF_ARN},
         .env = {.role_arn = WEB_ARN, .web_identity_token_file = "/t"},
         .want = ES_AWS_SRC_WEB_IDENTITY, .detail = WEB_ARN, .nroles = 1, .role0 = CONF_ARN},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct chain_case *c = &cases[i];
        struct es_aws_plan plan;
        const char *why = NULL;
        const char *detail;
        int rc = es_aws_plan_make(&c->conf, &c->env, &c->prof, &c->source, &plan, &why);

        if (rc != c->rc) {
            fail_msg("%s: rc %d (%s), want %d", c->name, rc, why ? why : "", c->rc);
        }
        if (rc != 0) {
            if (why == NULL) {
                fail_msg("%s: no reason given", c->name);
            }
            continue;
        }
        detail = detail_of(&plan);
        if (plan.source != c->want || detail == NULL || strcmp(detail, c->detail) != 0 ||
            plan.nroles != c->nroles) {
            fail_msg("%s: got %s '%s' roles %zu", c->name, es_aws_source_name(plan.source),
                     detail ? detail : "(null)", plan.nroles);
        }
        if ((c->role0 != NULL && strcmp(plan.roles[0].arn, c->role0) != 0) ||
            (c->role1 != NULL && strcmp(plan.roles[1].arn, c->role1) != 0)) {
            fail_msg("%s: wrong roles", c->name);
        }
    }
}

static void test_chain_details(void **state)
{
    struct es_aws_creds_conf conf = {.assume_role_arn = CONF_ARN};
    struct es_aws_env env = {.access_key_id = "K", .secret_access_key = "S",
                             .session_token = "T", .imds_v1_disabled = "true"};
    struct es_aws_profile none = {0};
    struct es_aws_plan plan;
    const char *why;

    (void)state;
    assert_int_equal(es_aws_plan_make(&conf, &env, &none, &none, &plan, &why), 0);
    assert_string_equal(plan.session_token, "T");
    assert_string_equal(plan.roles[0].session_name, "skiff"); /* none configured */
    assert_null(plan.roles[0].external_id);

    conf.assume_role_session_name = "fluentd";
    conf.assume_role_external_id = "ext";
    assert_int_equal(es_aws_plan_make(&conf, &env, &none, &none, &plan, &why), 0);
    assert_string_equal(plan.roles[0].session_name, "fluentd");
    assert_string_equal(plan.roles[0].external_id, "ext");

    memset(&env, 0, sizeof(env));
    env.imds_v1_disabled = "true";
    assert_int_equal(es_aws_plan_make(&conf, &env, &none, &none, &plan, &why), 0);
    assert_false(plan.imds_v1_fallback);
    env.imds_v1_disabled = NULL;
    assert_int_equal(es_aws_plan_make(&conf, &env, &none, &none, &plan, &why), 0);
    assert_true(plan.imds_v1_fallback);

    env.ecs_relative_uri = "/v2/credentials/x";
    env.ecs_auth_token = "tok";
    env.ecs_auth_token_file = "/f";
    assert_int_equal(es_aws_plan_make(&conf, &env, &none, &none, &plan, &why), 0);
    assert_int_equal(plan.source, ES_AWS_SRC_ECS);
    assert_string_equal(plan.ecs_uri, "/v2/credentials/x");
    assert_string_equal(plan.ecs_auth_token, "tok");
    assert_string_equal(plan.ecs_auth_token_file, "/f");

    memset(&env, 0, sizeof(env));
    env.role_arn = WEB_ARN;
    env.web_identity_token_file = "/t";
    env.role_session_name = "pod-1";
    conf.assume_role_arn = NULL;
    assert_int_equal(es_aws_plan_make(&conf, &env, &none, &none, &plan, &why), 0);
    assert_string_equal(plan.wi_session_name, "pod-1");
    assert_string_equal(plan.wi_token_file, "/t");
}

static void test_sts_target(void **state)
{
    struct es_aws_creds_conf conf = {0};
    struct es_aws_env env = {0};
    struct es_aws_profile prof = {.found = true, .region = "ap-south-1"};
    struct sk_buf url;
    const char *region;

    (void)state;
    sk_buf_init(&url, 1024);
    assert_int_equal(es_aws_sts_target(&conf, &env, NULL, &url, &region), 0);
    assert_string_equal(url.data, "https://sts.amazonaws.com");
    assert_string_equal(region, "us-east-1");
    assert_int_equal(es_aws_sts_target(&conf, &env, &prof, &url, &region), 0);
    assert_string_equal(url.data, "https://sts.ap-south-1.amazonaws.com");
    env.default_region = "eu-north-1";
    assert_int_equal(es_aws_sts_target(&conf, &env, &prof, &url, &region), 0);
    assert_string_equal(url.data, "https://sts.eu-north-1.amazonaws.com");
    env.region = "eu-west-2";
    assert_int_equal(es_aws_sts_target(&conf, &env, &prof, &url, &region), 0);
    assert_string_equal(region, "eu-west-2");
    conf.region = "eu-west-1";
    assert_int_equal(es_aws_sts_target(&conf, &env, &prof, &url, &region), 0);
    assert_string_equal(url.data, "https://sts.eu-west-1.amazonaws.com");
    conf.sts_credentials_region = "cn-north-1";
    assert_int_equal(es_aws_sts_target(&conf, &env, &prof, &url, &region), 0);
    assert_string_equal(url.data, "https://sts.cn-north-1.amazonaws.com.cn");
    assert_string_equal(region, "cn-north-1");
    env.sts_endpoint = "http://127.0.0.1:1";
    assert_int_equal(es_aws_sts_target(&conf, &env, &prof, &url, &region), 0);
    assert_string_equal(url.data, "http://127.0.0.1:1");
    assert_string_equal(region, "cn-north-1");
    env.sts_endpoint_url = "http://127.0.0.1:2";
    assert_int_equal(es_aws_sts_target(&conf, &env, &prof, &url, &region), 0);
    assert_string_equal(url.data, "http://127.0.0.1:2");
    conf.sts_endpoint = "http://127.0.0.1:3/";
    conf.sts_credentials_region = NULL;
    conf.region = NULL;
    env.region = NULL;
    env.default_region = NULL;
    assert_int_equal(es_aws_sts_target(&conf, &env, NULL, &url, &region), 0);
    assert_string_equal(url.data, "http://127.0.0.1:3/");
    assert_string_equal(region, "us-east-1");
    sk_buf_cleanup(&url);
}

static void test_profile_paths(void **state)
{
    struct es_aws_env env = {.home = "/home/u"};
    struct sk_buf a, b;

    (void)state;
    sk_buf_init(&a, 256);
    sk_buf_init(&b, 256);
    assert_int_equal(es_aws_profile_paths(&env, &a, &b), 0);
    assert_string_equal(a.data, "/home/u/.aws/credentials");
    assert_string_equal(b.data, "/home/u/.aws/config");
    env.shared_credentials_file = "/etc/c";
    env.config_file = "/etc/f";
    assert_int_equal(es_aws_profile_paths(&env, &a, &b), 0);
    assert_string_equal(a.data, "/etc/c");
    assert_string_equal(b.data, "/etc/f");
    memset(&env, 0, sizeof(env));
    assert_int_equal(es_aws_profile_paths(&env, &a, &b), 0);
    assert_int_equal(a.len + b.len, 0);
    sk_buf_cleanup(&a);
    sk_buf_cleanup(&b);
}

/* ------------------------------------------------------------------ */
/* The <endpoint> table                                                */
/* ------------------------------------------------------------------ */

struct conf_fx {
    struct sk_conf *tree;
    struct sk_diag d;
    struct es_aws_creds_conf conf;
};

static int conf_load(struct conf_fx *fx, const char *endpoint_body)
{
    char text[4096];
    struct sk_conf_section *ep;
    int rc;

    memset(fx, 0, sizeof(*fx));
    snprintf(text, sizeof(text),
             "<match a>\n  @type aws-elasticsearch-service\n  <endpoint>\n%s  </endpoint>\n"
             "</match>\n",
             endpoint_body);
    sk_diag_init(&fx->d);
    fx->tree = sk_conf_load_string("test.conf", text, strlen(text), &fx->d);
    assert_non_null(fx->tree);
    ep = fx->tree->root->children[0]->children[0];
    assert_string_equal(ep->name, "endpoint");
    rc = sk_param_apply(es_aws_endpoint_params, ep, &fx->conf, &fx->d);
    if (rc == 0) {
        rc = es_aws_creds_conf_validate(&fx->conf, ep, &fx->d);
    }
    return rc;
}

static void conf_free(struct conf_fx *fx)
{
    sk_param_release(es_aws_endpoint_params, &fx->conf);
    sk_conf_destroy(fx->tree);
    sk_diag_cleanup(&fx->d);
}

static void test_endpoint_params(void **state)
{
    struct conf_fx fx;
    struct sk_buf dump;

    (void)state;
    assert_int_equal(conf_load(&fx, "    url https://search-x.eu-west-1.es.amazonaws.com\n"
                                    "    region eu-west-1\n"
                                    "    access_key_id AKIACONFIG0000000001\n"
                                    "    secret_access_key \"very/secret+key\"\n"
                                    "    assume_role_arn arn:aws:iam::1:role/r\n"
                                    "    sts_credentials_region us-east-2\n"),
                     0);
    assert_string_equal(fx.conf.url, "https://search-x.eu-west-1.es.amazonaws.com");
    assert_string_equal(fx.conf.secret_access_key, "very/secret+key");
    assert_string_equal(fx.conf.assume_role_session_name, "fluentd");
    assert_int_equal(fx.conf.aws_service_name, ES_AWS_SERVICE_ES);
    assert_string_equal(es_aws_conf_service(&fx.conf), "es");
    assert_string_equal(es_aws_conf_region(&fx.conf), "eu-west-1");
    assert_int_equal(fx.conf.credentials_timeout_ms, 5000);
    assert_int_equal(fx.conf.credentials_refresh_before_ms, 300000);
    assert_int_equal(fx.conf.credentials_retry_wait_ms, 1000);
    assert_int_equal(fx.conf.credentials_retry_max_wait_ms, 60000);
    assert_int_equal(fx.d.errors, 0);
    sk_buf_init(&dump, 1 << 16);
    assert_int_equal(sk_param_dump(es_aws_endpoint_params, &fx.conf, 4, &dump), 0);
    assert_null(strstr(dump.data, "very/secret+key"));
    assert_null(strstr(dump.data, "AKIACONFIG0000000001"));
    assert_non_null(strstr(dump.data, "assume_role_arn"));
    sk_buf_cleanup(&dump);
    conf_free(&fx);

    assert_int_equal(conf_load(&fx, "    aws_service_name aoss\n    credentials_timeout 1s\n"), 0);
    assert_string_equal(es_aws_conf_service(&fx.conf), "aoss");
    assert_int_equal(fx.conf.credentials_timeout_ms, 1000);
    conf_free(&fx);
}

static void test_endpoint_refusals(void **state)
{
    static const struct {
        const char *body;
        const char *msg;
    } cases[] = {
        {"    access_key_id A\n", "must be given together"},
        {"    secret_access_key S\n", "must be given together"},
        {"    assume_role_web_identity_token_file /t\n", "needs assume_role_arn"},
        {"    ecs_container_credentials_relative_uri v2/x\n", "must start with '/'"},
        {"    assume_role_session_name \"a b\"\n", "assume_role_session_name must be"},
        {"    sts_endpoint ftp://x\n", "sts_endpoint 'ftp://x' is not"},
        {"    imds_endpoint http://a/?x\n", "imds_endpoint"},
        {"    credentials_retry_wait 10s\n    credentials_retry_max_wait 1s\n", "shorter"},
        {"    credentials_timeout 1ms\n", "out of range"},
        {"    aws_service_name s3\n", "aws_service_name"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conf_fx fx;

        if (conf_load(&fx, cases[i].body) != SK_ECONFIG || !sk_diag_contains(&fx.d, cases[i].msg)) {
            fail_msg("'%s' not refused with '%s'", cases[i].body, cases[i].msg);
        }
        /* Secrets stay out of the messages. */
        assert_false(sk_diag_contains(&fx.d, "S\n"));
        conf_free(&fx);
    }
}

/* ------------------------------------------------------------------ */
/* The provider with local sources                                     */
/* ------------------------------------------------------------------ */

static const char *const aws_vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_V1_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_ENDPOINT_URL_STS", "AWS_STS_ENDPOINT",
    "AWS_REGION", "AWS_DEFAULT_REGION"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++) {
        unsetenv(aws_vars[i]);
    }
    setenv("HOME", "/nonexistent-skiff-home", 1);
    return 0;
}

struct prov_fx {
    struct sk_loop *loop;
    struct sk_http *http;
    struct es_aws_creds *p;
    int ready;
};

static void on_ready(void *arg)
{
    ((struct prov_fx *)arg)->ready++;
}

static void prov_fini(struct prov_fx *fx)
{
    es_aws_creds_destroy(fx->p);
    sk_http_destroy(fx->http);
    sk_loop_destroy(fx->loop);
}

static void test_provider_static_keys(void **state)
{
    struct es_aws_creds_conf conf = {.access_key_id = "AKIACONFIG0000000001",
                                     .secret_access_key = "cs", .credentials_retry_wait_ms = 10};
    struct prov_fx fx = {0};
    struct es_sigv4_creds c = {0};

    (void)state;
    fx.loop = sk_loop_create();
    fx.http = sk_http_create(fx.loop, 4);
    fx.p = es_aws_creds_create(fx.loop, fx.http, &conf);
    assert_non_null(fx.p);
    es_aws_creds_on_ready(fx.p, on_ready, &fx);
    assert_int_equal(es_aws_creds_get(fx.p, &c), 0);
    assert_string_equal(c.access_key_id, "AKIACONFIG0000000001");
    assert_string_equal(c.secret_access_key, "cs");
    assert_null(c.session_token);
    assert_int_equal(es_aws_creds_generation(fx.p), 1);
    assert_string_equal(es_aws_creds_source(fx.p), "config");
    {
        struct es_sigv4_config cfg = {.region = "eu-west-1", .service = "es"};
        struct es_sigv4_header h[1] = {{"Host", "search-x.eu-west-1.es.amazonaws.com"}};
        struct es_sigv4_request rq = {.method = "GET", .path = "/", .headers = h,
                                      .nheaders = 1};
        struct es_sigv4_result r;
        uint64_t gen = 0;

        es_sigv4_result_init(&r);
        assert_int_equal(es_aws_creds_sign(fx.p, &cfg, &rq, T_2026, NULL, &r, &gen), 0);
        assert_int_equal(gen, 1);
        assert_int_equal(r.nheaders, 2); /* X-Amz-Date, Authorization */
        assert_non_null(strstr(r.authorization.data,
                               "Credential=AKIACONFIG0000000001/20261123/eu-west-1/es/"));
        es_sigv4_result_cleanup(&r);
    }
    /* Keys that never expire are not dropped by an "expired" answer. */
    es_aws_creds_invalidate(fx.p);
    sk_loop_run(fx.loop); /* the re-read runs from a timer, then nothing is left */
    assert_int_equal(es_aws_creds_get(fx.p, &c), 0);
    assert_int_equal(es_aws_creds_generation(fx.p), 1);
    assert_int_equal(fx.ready, 0);
    prov_fini(&fx);
}

static void test_provider_env_and_profile(void **state)
{
    const char *dir = sk_test_tmpdir();
    char cred[512];
    struct es_aws_creds_conf conf = {.credentials_retry_wait_ms = 10};
    struct prov_fx fx = {0};
    struct es_sigv4_creds c = {0};

    (void)state;
    snprintf(cred, sizeof(cred), "%s/credentials", dir);
    write_file(cred, "[ops]\naws_access_key_id = AKIAPROFILE000000001\n"
                     "aws_secret_access_key = ps\naws_session_token = pt\n");
    setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "es", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    setenv("AWS_PROFILE", "ops", 1);
    fx.loop = sk_loop_create();
    fx.http = sk_http_create(fx.loop, 4);
    fx.p = es_aws_creds_create(fx.loop, fx.http, &conf);
    assert_int_equal(es_aws_creds_get(fx.p, &c), 0);
    assert_string_equal(c.access_key_id, "AKIAENVIRONMENT00001");
    assert_string_equal(es_aws_creds_source(fx.p), "environment");
    es_aws_creds_destroy(fx.p);

    /* Without the environment keys: the profile, rotated on invalidation. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    fx.p = es_aws_creds_create(fx.loop, fx.http, &conf);
    es_aws_creds_on_ready(fx.p, on_ready, &fx);
    assert_int_equal(es_aws_creds_get(fx.p, &c), 0);
    assert_string_equal(c.access_key_id, "AKIAPROFILE000000001");
    assert_string_equal(c.session_token, "pt");
    assert_string_equal(es_aws_creds_source(fx.p), "profile ops");
    write_file(cred, "[ops]\naws_access_key_id = AKIAPROFILE000000002\n"
                     "aws_secret_access_key = ps2\n");
    es_aws_creds_invalidate(fx.p);
    sk_loop_run(fx.loop);
    assert_int_equal(es_aws_creds_get(fx.p, &c), 0);
    assert_string_equal(c.access_key_id, "AKIAPROFILE000000002");
    assert_null(c.session_token);
    assert_int_equal(es_aws_creds_generation(fx.p), 2);
    assert_int_equal(fx.ready, 1);
    prov_fini(&fx);
    clear_env(NULL);
    remove(cred);
    remove(dir);
}

static void test_provider_failure_keeps_retrying(void **state)
{
    struct es_aws_creds_conf conf = {.profile = "missing", .credentials_retry_wait_ms = 20,
                                     .credentials_retry_max_wait_ms = 40};
    struct prov_fx fx = {0};
    struct es_sigv4_creds c = {0};

    (void)state;
    fx.loop = sk_loop_create();
    fx.http = sk_http_create(fx.loop, 4);
    fx.p = es_aws_creds_create(fx.loop, fx.http, &conf);
    assert_non_null(fx.p);
    assert_int_equal(es_aws_creds_get(fx.p, &c), SK_EAGAIN);
    assert_int_equal(es_aws_creds_generation(fx.p), 0);
    {
        struct es_sigv4_config cfg = {.region = "eu-west-1", .service = "es"};
        struct es_sigv4_header h[1] = {{"Host", "h"}};
        struct es_sigv4_request rq = {.method = "GET", .path = "/", .headers = h,
                                      .nheaders = 1};
        struct es_sigv4_result r;

        es_sigv4_result_init(&r);
        assert_int_equal(es_aws_creds_sign(fx.p, &cfg, &rq, T_2026, NULL, &r, NULL), SK_EAGAIN);
        assert_int_equal(r.nheaders, 0);
        es_sigv4_result_cleanup(&r);
    }
    assert_true(fx.p->failures >= 1);
    assert_string_equal(es_aws_creds_source(fx.p), "none");
    es_aws_creds_invalidate(fx.p); /* nothing to invalidate: no effect */
    prov_fini(&fx);
}

static void test_provider_without_http_client(void **state)
{
    struct es_aws_creds_conf conf = {.imds_endpoint = "http://127.0.0.1:9"};
    struct sk_loop *loop = sk_loop_create();
    struct es_aws_creds *p;
    struct es_sigv4_creds c;

    (void)state;
    p = es_aws_creds_create(loop, NULL, &conf); /* a network source, no client */
    assert_non_null(p);
    assert_int_equal(es_aws_creds_get(p, &c), SK_EAGAIN);
    assert_int_equal(p->failures, 1);
    es_aws_creds_destroy(p);
    sk_loop_destroy(loop);
}

static void test_provider_alloc_failures(void **state)
{
    struct es_aws_creds_conf conf = {.access_key_id = "AKIACONFIG0000000001",
                                     .secret_access_key = "cs",
                                     .assume_role_session_name = "fluentd"};
    struct sk_loop *loop = sk_loop_create();
    struct sk_http *http = sk_http_create(loop, 4);
    bool done = false;

    (void)state;
    for (long n = 1; n < 1000 && !done; n++) {
        struct es_aws_creds *p;
        struct es_sigv4_creds c;

        sk_alloc_fail_after(n, 0);
        p = es_aws_creds_create(loop, http, &conf);
        sk_alloc_fail_after(0, 0);
        if (p != NULL) {
            /* Either ready or retrying after a failed fetch, never broken. */
            if (es_aws_creds_get(p, &c) == 0) {
                assert_string_equal(c.access_key_id, "AKIACONFIG0000000001");
                done = true;
            } else {
                assert_true(p->failures == 1);
            }
        }
        es_aws_creds_destroy(p);
    }
    assert_true(done);
    sk_http_destroy(http);
    sk_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time_table),
        cmocka_unit_test(test_refresh_delay),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_sts_assume_role),
        cmocka_unit_test(test_sts_web_identity_and_entities),
        cmocka_unit_test(test_sts_errors),
        cmocka_unit_test(test_xml_find),
        cmocka_unit_test(test_json_imds),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_imds_role),
        cmocka_unit_test(test_url_split),
        cmocka_unit_test(test_ecs_url_allowed),
        cmocka_unit_test(test_form_escape_and_mask),
        cmocka_unit_test(test_token_expired),
        cmocka_unit_test(test_profile_credentials_file),
        cmocka_unit_test(test_profile_config_file),
        cmocka_unit_test(test_profile_load_merges),
        cmocka_unit_test(test_chain_order),
        cmocka_unit_test(test_chain_details),
        cmocka_unit_test(test_sts_target),
        cmocka_unit_test(test_profile_paths),
        cmocka_unit_test(test_endpoint_params),
        cmocka_unit_test(test_endpoint_refusals),
        cmocka_unit_test_setup(test_provider_static_keys, clear_env),
        cmocka_unit_test_setup(test_provider_env_and_profile, clear_env),
        cmocka_unit_test_setup(test_provider_failure_keeps_retrying, clear_env),
        cmocka_unit_test_setup(test_provider_without_http_client, clear_env),
        cmocka_unit_test_setup(test_provider_alloc_failures, clear_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
