#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"
#include "util/alloc.h"
#include "util/buf.h"

/*
 * The HTTP/1.1 response parser. Every table row is its own cmocka test and
 * runs three ways: the whole input in one feed, one byte per feed, and in
 * two pieces split at every position. All must give the row's result.
 */

#define S(s) s, sizeof(s) - 1
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define BIG (1u << 20)
#define HEADER_MAX (64 * 1024) /* the limit http_parse.h promises */
#define DONE SK_HTTP_PARSE_DONE

#define OK11 "HTTP/1.1 200 OK\r\n"
#define CHUNKED "Transfer-Encoding: chunked\r\n"
#define A10 "aaaaaaaaaa"
#define A50 A10 A10 A10 A10 A10
#define A127 A50 A50 A10 A10 "aaaaaaa"

struct parse_case {
    const char *name;
    const char *in;
    size_t len;
    bool head;          /* the request was HEAD */
    size_t max;         /* the body buffer's max; 0: BIG */
    bool eof;           /* the peer closes after the input */
    int rc;             /* the first error, else eof's result */
    bool incomplete;    /* no eof and no end: the parser waits in `state` */
    int state;
    int status;
    int minor;
    bool keep_alive;
    const char *body;   /* NULL: empty */
    size_t leftover;    /* bytes after the response, not consumed */
    const char *retry_after;
    const char *content_type;
};

static const struct parse_case cases[] = {
    /* ---- framing -------------------------------------------------------- */
    { .name = "length", .in = S(OK11 "Content-Length: 5\r\n\r\nhello"), .status = 200,
      .minor = 1, .keep_alive = true, .body = "hello" },
    { .name = "length_zero", .in = S(OK11 "Content-Length: 0\r\n\r\n"), .status = 200,
      .minor = 1, .keep_alive = true },
    { .name = "length_leftover", .in = S(OK11 "Content-Length: 2\r\n\r\nhiEXTRA"), .status = 200,
      .minor = 1, .keep_alive = true, .body = "hi", .leftover = 5 },
    { .name = "length_leftover_next_response",
      .in = S(OK11 "Content-Length: 0\r\n\r\n" OK11 "Content-Length: 0\r\n\r\n"), .status = 200,
      .minor = 1, .keep_alive = true, .leftover = 38 },
    { .name = "length_repeated_equal",
      .in = S(OK11 "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"), .status = 200,
      .minor = 1, .keep_alive = true, .body = "abc" },
    { .name = "length_list_equal", .in = S(OK11 "Content-Length: 3, 3\r\n\r\nabc"), .status = 200,
      .minor = 1, .keep_alive = true, .body = "abc" },
    { .name = "length_at_max", .in = S(OK11 "Content-Length: 5\r\n\r\nhello"), .max = 5,
      .status = 200, .minor = 1, .keep_alive = true, .body = "hello" },
    { .name = "chunked", .in = S(OK11 CHUNKED "\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "hello world" },
    { .name = "chunked_ext_and_trailers",
      .in = S(OK11 CHUNKED "\r\nA;name=\"v;x\"\r\n0123456789\r\n00a \t; x\r\nabcdefghij\r\n"
                           "0;last\r\nX-Trailer: 1\r\nContent-Length: 99\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "0123456789abcdefghij" },
    { .name = "chunked_upper_hex",
      .in = S(OK11 CHUNKED "\r\n1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "0123456789abcdef0123456789abcde" },
    { .name = "chunked_leading_zeros",
      .in = S(OK11 CHUNKED "\r\n00000000000000000000003\r\nabc\r\n000\r\n\r\n"), .status = 200,
      .minor = 1, .keep_alive = true, .body = "abc" },
    { .name = "chunked_crlf_in_data", .in = S(OK11 CHUNKED "\r\n4\r\n\r\n\r\n\r\n0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "\r\n\r\n" },
    { .name = "chunked_leftover", .in = S(OK11 CHUNKED "\r\n1\r\nx\r\n0\r\n\r\nNEXT"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "x", .leftover = 4 },
    { .name = "chunked_empty", .in = S(OK11 CHUNKED "\r\n0\r\n\r\n"), .status = 200, .minor = 1,
      .keep_alive = true },
    { .name = "chunked_last_of_list",
      .in = S(OK11 "Transfer-Encoding: gzip, Chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "zz" },
    { .name = "chunked_with_params",
      .in = S(OK11 "Transfer-Encoding: chunked ; x=1\r\n\r\n2\r\nzz\r\n0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "zz" },
    { .name = "chunked_in_second_field",
      .in = S(OK11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "zz" },
    { .name = "chunked_wins_over_length",
      .in = S(OK11 "Content-Length: 100\r\n" CHUNKED "\r\n2\r\nzz\r\n0\r\n\r\n"), .status = 200,
      .minor = 1, .keep_alive = false, .body = "zz" },
    { .name = "te_not_chunked_last_reads_to_close",
      .in = S(OK11 "Transfer-Encoding: chunked, gzip\r\n\r\n2\r\nzz"), .eof = true, .status = 200,
      .minor = 1, .keep_alive = false, .body = "2\r\nzz" },
    { .name = "te_gzip_beats_length",
      .in = S(OK11 "Transfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcd"), .eof = true,
      .status = 200, .minor = 1, .keep_alive = false, .body = "abcd" },
    { .name = "close_delimited", .in = S(OK11 "Content-Type: text/plain\r\n\r\nall of it"),
      .eof = true, .status = 200, .minor = 1, .keep_alive = false, .body = "all of it",
      .content_type = "text/plain" },
    { .name = "close_delimited_keep_alive_ignored",
      .in = S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nxyz"), .eof = true, .status = 200,
      .keep_alive = false, .body = "xyz" },
    { .name = "close_delimited_empty", .in = S(OK11 "\r\n"), .eof = true, .status = 200,
      .minor = 1, .keep_alive = false },
    { .name = "close_delimited_waits", .in = S(OK11 "\r\nsome"), .incomplete = true,
      .state = SK_HTTP_PARSE_BODY, .status = 200, .minor = 1, .keep_alive = false,
      .body = "some" },
    { .name = "length_waits", .in = S(OK11 "Content-Length: 9\r\n\r\nsome"), .incomplete = true,
      .state = SK_HTTP_PARSE_BODY, .status = 200, .minor = 1, .keep_alive = true,
      .body = "some" },
    { .name = "headers_wait", .in = S(OK11 "Content-Length: 9\r\n"), .incomplete = true,
      .state = SK_HTTP_PARSE_HEADERS, .status = 200, .minor = 1 },
    { .name = "nothing_yet", .in = S(""), .incomplete = true, .state = SK_HTTP_PARSE_STATUS },

    /* ---- no body ---------------------------------------------------------- */
    { .name = "head_ignores_length", .in = S(OK11 "Content-Length: 5\r\n\r\n"), .head = true,
      .status = 200, .minor = 1, .keep_alive = true },
    { .name = "head_leaves_the_rest", .in = S(OK11 "Content-Length: 5\r\n\r\nhello"),
      .head = true, .status = 200, .minor = 1, .keep_alive = true, .leftover = 5 },
    { .name = "head_chunked", .in = S(OK11 CHUNKED "\r\n"), .head = true, .status = 200,
      .minor = 1, .keep_alive = true },
    { .name = "head_close_delimited_keeps_alive", .in = S(OK11 "\r\n"), .head = true,
      .status = 200, .minor = 1, .keep_alive = true },
    { .name = "no_content_204",
      .in = S("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"), .status = 204,
      .minor = 1, .keep_alive = true, .leftover = 5 },
    { .name = "no_content_204_chunked", .in = S("HTTP/1.1 204 No Content\r\n" CHUNKED "\r\n"),
      .status = 204, .minor = 1, .keep_alive = true },
    { .name = "not_modified_304", .in = S("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
      .status = 304, .minor = 1, .keep_alive = true },
    { .name = "not_modified_304_eof_after", .in = S("HTTP/1.1 304 Not Modified\r\n\r\n"),
      .eof = true, .status = 304, .minor = 1, .keep_alive = true },

    /* ---- interim responses -------------------------------------------------- */
    { .name = "continue_100",
      .in = S("HTTP/1.1 100 Continue\r\n\r\n" OK11 "Content-Length: 2\r\n\r\nok"), .status = 200,
      .minor = 1, .keep_alive = true, .body = "ok" },
    { .name = "early_hints_103_forgotten",
      .in = S("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nContent-Type: x/y\r\n"
              "Retry-After: 5\r\nContent-Length: 99\r\nConnection: close\r\n" CHUNKED "\r\n"
              OK11 "Content-Length: 2\r\n\r\nok"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "ok" },
    { .name = "several_interim",
      .in = S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
              "HTTP/1.1 103 Early Hints\r\nLink: </b>\r\n\r\n"
              "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!"),
      .status = 201, .minor = 1, .keep_alive = true, .body = "!" },
    { .name = "interim_then_http10",
      .in = S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n!"),
      .status = 200, .minor = 0, .keep_alive = false, .body = "!" },
    { .name = "interim_then_head",
      .in = S("HTTP/1.1 100 Continue\r\n\r\n" OK11 "Content-Length: 5\r\n\r\n"), .head = true,
      .status = 200, .minor = 1, .keep_alive = true },
    { .name = "interim_bare_lf", .in = S("HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\n\nrest"),
      .eof = true, .status = 200, .minor = 1, .keep_alive = false, .body = "rest" },
    { .name = "interim_only_waits", .in = S("HTTP/1.1 100 Continue\r\n\r\n"), .incomplete = true,
      .state = SK_HTTP_PARSE_STATUS },
    { .name = "switching_protocols_101",
      .in = S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"), .rc = SK_EPROTO },

    /* ---- keep-alive ----------------------------------------------------------- */
    { .name = "http10_closes_by_default", .in = S("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
      .status = 200, .minor = 0, .keep_alive = false, .body = "ok" },
    { .name = "http10_keep_alive",
      .in = S("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok"),
      .status = 200, .minor = 0, .keep_alive = true, .body = "ok" },
    { .name = "http10_keep_alive_and_close",
      .in = S("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok"),
      .status = 200, .minor = 0, .keep_alive = false, .body = "ok" },
    { .name = "http10_chunked_closes",
      .in = S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n" CHUNKED "\r\n2\r\nok\r\n0\r\n\r\n"),
      .status = 200, .minor = 0, .keep_alive = false, .body = "ok" },
    { .name = "http11_keeps_alive", .in = S(OK11 "Content-Length: 0\r\n\r\n"), .status = 200,
      .minor = 1, .keep_alive = true },
    { .name = "http11_close", .in = S(OK11 "Connection: close\r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = false },
    { .name = "http11_close_in_list",
      .in = S(OK11 "Connection: Upgrade ,\tCLOSE\r\nContent-Length: 0\r\n\r\n"), .status = 200,
      .minor = 1, .keep_alive = false },
    { .name = "http11_close_in_second_field",
      .in = S(OK11 "Connection: foo\r\nconnection: close\r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = false },
    { .name = "http11_closed_is_not_close",
      .in = S(OK11 "Connection: closed, xclose\r\nContent-Length: 0\r\n\r\n"), .status = 200,
      .minor = 1, .keep_alive = true },
    { .name = "http11_keep_alive_header",
      .in = S(OK11 "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true },

    /* ---- status line ----------------------------------------------------------- */
    { .name = "status_no_reason_no_space", .in = S("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true },
    { .name = "status_empty_reason", .in = S("HTTP/1.1 429 \r\nContent-Length: 0\r\n\r\n"),
      .status = 429, .minor = 1, .keep_alive = true },
    { .name = "status_long_reason",
      .in = S("HTTP/1.1 404 Not Found, at all\t!\r\nContent-Length: 0\r\n\r\n"), .status = 404,
      .minor = 1, .keep_alive = true },
    { .name = "status_999", .in = S("HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n"),
      .status = 999, .minor = 1, .keep_alive = true },
    { .name = "bad_version_1_2", .in = S("HTTP/1.2 200 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_version_2", .in = S("HTTP/2 200 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_version_2_0", .in = S("HTTP/2.0 200 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_version_case", .in = S("http/1.1 200 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_protocol", .in = S("ICY 200 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_short", .in = S("HTTP/1.1 20 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_long", .in = S("HTTP/1.1 2000 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_zero", .in = S("HTTP/1.1 099 Low\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_letters", .in = S("HTTP/1.1 abc OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_glued_reason", .in = S("HTTP/1.1 200OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_two_spaces", .in = S("HTTP/1.1  200 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_truncated", .in = S("HTTP/1.1\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_empty_line", .in = S("\r\nHTTP/1.1 200 OK\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_nul", .in = S("HTTP/1.1 200 O\0K\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "bad_status_cr", .in = S("HTTP/1.1 200 O\rK\r\n\r\n"), .rc = SK_EPROTO },

    /* ---- bare LF --------------------------------------------------------------- */
    { .name = "bare_lf_length", .in = S("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "ok" },
    { .name = "bare_lf_chunked",
      .in = S("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n3;x\n!!!\n0\nT: 1\n\n"),
      .status = 200, .minor = 1, .keep_alive = true, .body = "hello!!!" },
    { .name = "bare_lf_mixed",
      .in = S("HTTP/1.1 200 OK\r\nA: b\nContent-Length: 2\r\n\nok"), .status = 200, .minor = 1,
      .keep_alive = true, .body = "ok" },

    /* ---- headers --------------------------------------------------------------- */
    { .name = "retry_after_trimmed",
      .in = S("HTTP/1.1 429 Too Many\r\nRetry-After: \t 120 \t\r\nContent-Length: 0\r\n\r\n"),
      .status = 429, .minor = 1, .keep_alive = true, .retry_after = "120" },
    { .name = "retry_after_date",
      .in = S("HTTP/1.1 503 Busy\r\nretry-after:Wed, 21 Oct 2015 07:28:00 GMT\r\n"
              "Content-Length: 0\r\n\r\n"),
      .status = 503, .minor = 1, .keep_alive = true,
      .retry_after = "Wed, 21 Oct 2015 07:28:00 GMT" },
    { .name = "content_type_trimmed",
      .in = S(OK11 "CONTENT-TYPE:application/json; charset=UTF-8  \r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true,
      .content_type = "application/json; charset=UTF-8" },
    { .name = "content_type_truncated",
      .in = S(OK11 "Content-Type: " A127 "bbbbbbbbbbbbbbbbbbbbbbbbb\r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .content_type = A127 },
    { .name = "content_type_blank",
      .in = S(OK11 "Content-Type:  \t \r\nContent-Length: 0\r\n\r\n"), .status = 200, .minor = 1,
      .keep_alive = true },
    { .name = "content_type_last_wins",
      .in = S(OK11 "Content-Type: a/b\r\nContent-Type: c/d\r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true, .content_type = "c/d" },
    { .name = "names_case_insensitive",
      .in = S(OK11 "cOnTeNt-LeNgTh: 2\r\nCONNECTION: CLOSE\r\n\r\nok"), .status = 200, .minor = 1,
      .keep_alive = false, .body = "ok" },
    { .name = "other_headers_ignored",
      .in = S(OK11 "X-Elastic-Product: Elasticsearch\r\nX-Empty:\r\nX-Odd: a:b:c\r\n"
                   "Content-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .keep_alive = true },
    { .name = "obs_fold", .in = S(OK11 "X-A: one\r\n  two\r\nContent-Length: 0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "obs_fold_tab", .in = S(OK11 "X-A: one\r\n\ttwo\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "space_first_header", .in = S(OK11 " X-A: one\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "no_colon", .in = S(OK11 "Broken header\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "space_before_colon", .in = S(OK11 "Content-Length : 5\r\n\r\nhello"),
      .rc = SK_EPROTO },
    { .name = "empty_name", .in = S(OK11 ": x\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "nul_in_value", .in = S(OK11 "X-A: a\0b\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "cr_in_value", .in = S(OK11 "X-A: a\rb\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "cr_cr_lf", .in = S(OK11 "X-A: ab\r\r\n\r\n"), .rc = SK_EPROTO },

    /* ---- Content-Length errors ----------------------------------------------------- */
    { .name = "length_conflict",
      .in = S(OK11 "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"), .rc = SK_EPROTO },
    { .name = "length_list_conflict", .in = S(OK11 "Content-Length: 3, 4\r\n\r\nabcd"),
      .rc = SK_EPROTO },
    { .name = "length_conflict_even_for_head",
      .in = S(OK11 "Content-Length: 3\r\nContent-Length: 4\r\n\r\n"), .head = true,
      .rc = SK_EPROTO },
    { .name = "length_negative", .in = S(OK11 "Content-Length: -1\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "length_plus", .in = S(OK11 "Content-Length: +5\r\n\r\nhello"), .rc = SK_EPROTO },
    { .name = "length_hex", .in = S(OK11 "Content-Length: 0x10\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "length_inner_space", .in = S(OK11 "Content-Length: 1 0\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "length_decimal_point", .in = S(OK11 "Content-Length: 1.0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "length_empty", .in = S(OK11 "Content-Length:\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "length_overflow", .in = S(OK11 "Content-Length: 18446744073709551616\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "length_over_max", .in = S(OK11 "Content-Length: 10\r\n\r\n0123456789"), .max = 5,
      .rc = SK_ETOOBIG },
    { .name = "length_huge_over_max", .in = S(OK11 "Content-Length: 18446744073709551615\r\n\r\n"),
      .rc = SK_ETOOBIG },

    /* ---- chunk errors ---------------------------------------------------------------- */
    { .name = "chunk_size_not_hex", .in = S(OK11 CHUNKED "\r\nzz\r\n"), .rc = SK_EPROTO },
    { .name = "chunk_size_empty", .in = S(OK11 CHUNKED "\r\n\r\n"), .rc = SK_EPROTO },
    { .name = "chunk_size_leading_space", .in = S(OK11 CHUNKED "\r\n 5\r\nhello\r\n0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_size_trailing_junk", .in = S(OK11 CHUNKED "\r\n5x\r\nhello\r\n0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_size_space_junk", .in = S(OK11 CHUNKED "\r\n5 x\r\nhello\r\n0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_size_negative", .in = S(OK11 CHUNKED "\r\n-5\r\nhello\r\n0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_size_0x", .in = S(OK11 CHUNKED "\r\n0x5\r\nhello\r\n0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_size_overflow", .in = S(OK11 CHUNKED "\r\n10000000000000000\r\nx\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_size_max_over_body_max", .in = S(OK11 CHUNKED "\r\nffffffffffffffff\r\nx"),
      .rc = SK_ETOOBIG },
    { .name = "chunk_data_no_crlf", .in = S(OK11 CHUNKED "\r\n5\r\nhelloX\r\n0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_data_cr_no_lf", .in = S(OK11 CHUNKED "\r\n5\r\nhello\rX\n0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_data_too_long", .in = S(OK11 CHUNKED "\r\n2\r\nhello\r\n0\r\n\r\n"),
      .rc = SK_EPROTO },
    { .name = "chunk_over_max", .in = S(OK11 CHUNKED "\r\na\r\n0123456789\r\n0\r\n\r\n"),
      .max = 5, .rc = SK_ETOOBIG },
    { .name = "chunks_sum_over_max", .in = S(OK11 CHUNKED "\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"),
      .max = 5, .rc = SK_ETOOBIG },
    { .name = "chunks_sum_at_max", .in = S(OK11 CHUNKED "\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
      .max = 5, .status = 200, .minor = 1, .keep_alive = true, .body = "abcde" },
    { .name = "close_delimited_over_max", .in = S(OK11 "\r\n0123456789"), .max = 5, .eof = true,
      .rc = SK_ETOOBIG },
    { .name = "close_delimited_at_max", .in = S(OK11 "\r\n01234"), .max = 5, .eof = true,
      .status = 200, .minor = 1, .keep_alive = false, .body = "01234" },

    /* ---- end of connection ------------------------------------------------------------ */
    { .name = "eof_after_complete", .in = S(OK11 "Content-Length: 2\r\n\r\nok"), .eof = true,
      .status = 200, .minor = 1, .keep_alive = true, .body = "ok" },
    { .name = "eof_cuts_length", .in = S(OK11 "Content-Length: 5\r\n\r\nhel"), .eof = true,
      .rc = SK_EPROTO },
    { .name = "eof_cuts_chunk_data", .in = S(OK11 CHUNKED "\r\n5\r\nhel"), .eof = true,
      .rc = SK_EPROTO },
    { .name = "eof_cuts_chunk_crlf", .in = S(OK11 CHUNKED "\r\n5\r\nhello\r"), .eof = true,
      .rc = SK_EPROTO },
    { .name = "eof_before_trailer_end", .in = S(OK11 CHUNKED "\r\n0\r\n"), .eof = true,
      .rc = SK_EPROTO },
    { .name = "eof_in_headers", .in = S(OK11 "Content-Type: x"), .eof = true, .rc = SK_EPROTO },
    { .name = "eof_in_status", .in = S("HTTP/1.1 20"), .eof = true, .rc = SK_EPROTO },
    { .name = "eof_before_anything", .in = S(""), .eof = true, .rc = SK_EPROTO },
    { .name = "eof_after_interim", .in = S("HTTP/1.1 100 Continue\r\n\r\n"), .eof = true,
      .rc = SK_EPROTO },
    { .name = "eof_after_headers_no_body_204", .in = S("HTTP/1.1 204 No Content\r\n\r\n"),
      .eof = true, .status = 204, .minor = 1, .keep_alive = true },
};

/* ---- running a case ----------------------------------------------------------- */

struct outcome {
    int rc;
    size_t used;
    int state;
    int status;
    int minor;
    bool keep_alive;
    char retry_after[64];
    char content_type[128];
    struct sk_buf body;
};

/* Feeds c->in in pieces of the given sizes (summing to c->len), as a
 * connection would: it stops at an error or once the parser has left
 * input unconsumed. */
static void run_pieces(const struct parse_case *c, const size_t *pieces, size_t npieces,
                       struct outcome *o)
{
    struct sk_http_parser p;
    size_t off = 0;
    size_t i;

    memset(o, 0, sizeof(*o));
    sk_buf_init(&o->body, c->max != 0 ? c->max : BIG);
    sk_http_parser_init(&p, &o->body, c->head);
    for (i = 0; i < npieces; i++) {
        ssize_t k = sk_http_parser_feed(&p, c->in + off, pieces[i]);

        if (k < 0) {
            o->rc = (int)k;
            break;
        }
        assert_true((size_t)k <= pieces[i]);
        o->used += (size_t)k;
        off += pieces[i];
        if ((size_t)k < pieces[i]) {
            assert_int_equal(p.state, DONE);
            break;
        }
    }
    if (o->rc == 0 && c->eof) {
        o->rc = sk_http_parser_eof(&p);
    }
    o->state = p.state;
    o->status = p.status;
    o->minor = p.minor;
    o->keep_alive = p.keep_alive;
    memcpy(o->retry_after, p.retry_after, sizeof(o->retry_after));
    memcpy(o->content_type, p.content_type, sizeof(o->content_type));
    sk_http_parser_cleanup(&p);
}

static void check_outcome(const struct parse_case *c, const struct outcome *o, const char *how)
{
    const char *body = c->body != NULL ? c->body : "";
    const char *got_body = o->body.len > 0 ? o->body.data : "";

    if (o->rc != c->rc) {
        fail_msg("%s: rc %d (%s), want %d", how, o->rc, sk_strerror(o->rc), c->rc);
    }
    if (c->rc != 0) {
        return; /* what an error leaves behind depends on where it was seen */
    }
    if (o->state != (c->incomplete ? c->state : DONE)) {
        fail_msg("%s: state %d", how, o->state);
    }
    if (!c->incomplete && o->used != c->len - c->leftover) {
        fail_msg("%s: used %zu, want %zu", how, o->used, c->len - c->leftover);
    }
    if (o->status != c->status || o->minor != c->minor || o->keep_alive != c->keep_alive) {
        fail_msg("%s: status %d minor %d keep_alive %d, want %d %d %d", how, o->status, o->minor,
                 o->keep_alive, c->status, c->minor, c->keep_alive);
    }
    if (o->body.len != strlen(body) || memcmp(got_body, body, o->body.len) != 0) {
        fail_msg("%s: body \"%s\" (%zu bytes), want \"%s\"", how, got_body, o->body.len, body);
    }
    if (strcmp(o->retry_after, c->retry_after != NULL ? c->retry_after : "") != 0 ||
        strcmp(o->content_type, c->content_type != NULL ? c->content_type : "") != 0) {
        fail_msg("%s: retry_after \"%s\" content_type \"%s\"", how, o->retry_after,
                 o->content_type);
    }
}

static void run_and_check(const struct parse_case *c, const size_t *pieces, size_t npieces,
                          const char *how)
{
    struct outcome o;

    run_pieces(c, pieces, npieces, &o);
    check_outcome(c, &o, how);
    sk_buf_cleanup(&o.body);
}

static void run_case(void **state)
{
    const struct parse_case *c = *state;
    size_t *ones = calloc(c->len + 1, sizeof(*ones));
    size_t two[2];
    char how[64];
    size_t i;

    assert_non_null(ones);
    two[0] = c->len;
    run_and_check(c, two, 1, "whole");
    for (i = 0; i < c->len; i++) {
        ones[i] = 1;
    }
    run_and_check(c, ones, c->len, "byte by byte");
    for (i = 0; i <= c->len; i++) {
        two[0] = i;
        two[1] = c->len - i;
        snprintf(how, sizeof(how), "split at %zu", i);
        run_and_check(c, two, 2, how);
    }
    free(ones);
}

/* ---- fixed tests ------------------------------------------------------------- */

/* Feeds `in` whole and byte by byte; both must end in `want` (when 0: a
 * 200 keep-alive response with `body`). */
static void expect_rc(const char *in, size_t len, int want, const char *body)
{
    struct parse_case c = { .name = "fixed", .in = in, .len = len, .rc = want, .status = 200,
                            .minor = 1, .keep_alive = true, .body = body };
    size_t whole = len;
    size_t *ones = calloc(len + 1, sizeof(*ones));
    size_t i;

    assert_non_null(ones);
    for (i = 0; i < len; i++) {
        ones[i] = 1;
    }
    run_and_check(&c, &whole, 1, "whole");
    run_and_check(&c, ones, len, "byte by byte");
    free(ones);
}

/* A header section of exactly `total` bytes (status line, a padding
 * header, Content-Length: 0 and the empty line). */
static char *header_section(size_t total, size_t *len)
{
    static const char head[] = OK11 "X-Pad: ";
    static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";
    size_t pad = total - (sizeof(head) - 1) - (sizeof(tail) - 1);
    char *s = malloc(total + 1);

    assert_non_null(s);
    memcpy(s, head, sizeof(head) - 1);
    memset(s + sizeof(head) - 1, 'p', pad);
    memcpy(s + sizeof(head) - 1 + pad, tail, sizeof(tail));
    *len = total;
    return s;
}

static void test_header_limit(void **state)
{
    size_t len;
    char *s;

    (void)state;
    s = header_section(HEADER_MAX, &len);
    expect_rc(s, len, 0, NULL);
    free(s);
    s = header_section(HEADER_MAX + 1, &len);
    expect_rc(s, len, SK_ETOOBIG, NULL);
    free(s);
}

/* Interim responses share the budget, so endless 100s cannot go on. */
static void test_header_limit_spans_interim(void **state)
{
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
    size_t n = HEADER_MAX / (sizeof(interim) - 1) + 1;
    char *s = malloc(n * (sizeof(interim) - 1) + 1);
    size_t i;

    (void)state;
    assert_non_null(s);
    for (i = 0; i < n; i++) {
        memcpy(s + i * (sizeof(interim) - 1), interim, sizeof(interim) - 1);
    }
    expect_rc(s, n * (sizeof(interim) - 1), SK_ETOOBIG, NULL);
    free(s);
}

static void test_endless_status_line(void **state)
{
    size_t len = HEADER_MAX + 10;
    char *s = malloc(len);

    (void)state;
    assert_non_null(s);
    memcpy(s, "HTTP/1.1 200 ", 13);
    memset(s + 13, 'r', len - 13);
    expect_rc(s, len, SK_ETOOBIG, NULL);
    free(s);
}

/* A chunk-size line and the trailers each have their own 64 KiB. */
static void test_chunk_line_and_trailer_limits(void **state)
{
    static const char head[] = OK11 CHUNKED "\r\n";
    size_t big = HEADER_MAX - 100;
    struct sk_buf in;

    (void)state;
    sk_buf_init(&in, 4 * HEADER_MAX);
    /* Near-limit extension, near-limit trailer: fine. */
    assert_int_equal(sk_buf_append_str(&in, head), 0);
    assert_int_equal(sk_buf_append_str(&in, "3;x="), 0);
    for (size_t i = 0; i < big; i++) {
        assert_int_equal(sk_buf_putc(&in, 'e'), 0);
    }
    assert_int_equal(sk_buf_append_str(&in, "\r\nabc\r\n0\r\nT: "), 0);
    for (size_t i = 0; i < big; i++) {
        assert_int_equal(sk_buf_putc(&in, 't'), 0);
    }
    assert_int_equal(sk_buf_append_str(&in, "\r\n\r\n"), 0);
    expect_rc(in.data, in.len, 0, "abc");
    /* An extension over the limit. */
    sk_buf_reset(&in);
    assert_int_equal(sk_buf_append_str(&in, head), 0);
    assert_int_equal(sk_buf_append_str(&in, "3;x="), 0);
    for (size_t i = 0; i < HEADER_MAX; i++) {
        assert_int_equal(sk_buf_putc(&in, 'e'), 0);
    }
    expect_rc(in.data, in.len, SK_ETOOBIG, NULL);
    /* Trailers over the limit. */
    sk_buf_reset(&in);
    assert_int_equal(sk_buf_append_str(&in, head), 0);
    assert_int_equal(sk_buf_append_str(&in, "0\r\n"), 0);
    for (size_t i = 0; i < HEADER_MAX / 8; i++) {
        assert_int_equal(sk_buf_append_str(&in, "T: 123\r\n"), 0);
    }
    assert_int_equal(sk_buf_append_str(&in, "\r\n"), 0);
    expect_rc(in.data, in.len, SK_ETOOBIG, NULL);
    sk_buf_cleanup(&in);
}

/* The first error sticks; feeding after DONE consumes nothing. */
static void test_error_sticks_and_done_stops(void **state)
{
    static const char bad[] = "HTTP/9.9 200 OK\r\n";
    static const char good[] = OK11 "Content-Length: 1\r\n\r\nx";
    struct sk_http_parser p;
    struct sk_buf body;

    (void)state;
    sk_buf_init(&body, BIG);
    sk_http_parser_init(&p, &body, false);
    assert_int_equal(sk_http_parser_feed(&p, bad, sizeof(bad) - 1), SK_EPROTO);
    assert_int_equal(sk_http_parser_feed(&p, good, sizeof(good) - 1), SK_EPROTO);
    assert_int_equal(sk_http_parser_eof(&p), SK_EPROTO);
    sk_http_parser_cleanup(&p);

    sk_http_parser_init(&p, &body, false);
    assert_int_equal(sk_http_parser_feed(&p, good, sizeof(good) - 1), sizeof(good) - 1);
    assert_int_equal(p.state, DONE);
    assert_int_equal(sk_http_parser_feed(&p, good, sizeof(good) - 1), 0);
    assert_int_equal(sk_http_parser_feed(&p, good, 0), 0);
    assert_int_equal(sk_http_parser_eof(&p), 0);
    assert_int_equal(body.len, 1);
    sk_http_parser_cleanup(&p);
    sk_buf_cleanup(&body);
}

/* A body over the max leaves the status and headers readable. */
static void test_body_error_keeps_results(void **state)
{
    static const char in[] = "HTTP/1.1 413 Too Large\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 100\r\n\r\n";
    struct sk_http_parser p;
    struct sk_buf body;

    (void)state;
    sk_buf_init(&body, 10);
    sk_http_parser_init(&p, &body, false);
    assert_int_equal(sk_http_parser_feed(&p, in, sizeof(in) - 1), SK_ETOOBIG);
    assert_int_equal(p.state, SK_HTTP_PARSE_BODY);
    assert_int_equal(p.status, 413);
    assert_string_equal(p.content_type, "text/plain");
    sk_http_parser_cleanup(&p);
    sk_buf_cleanup(&body);
}

/* The body is appended after what the buffer holds; its max counts both. */
static void test_body_appends_to_existing(void **state)
{
    static const char five[] = OK11 "Content-Length: 5\r\n\r\nhello";
    static const char six[] = OK11 "Content-Length: 6\r\n\r\nhello!";
    struct sk_http_parser p;
    struct sk_buf body;

    (void)state;
    sk_buf_init(&body, 6);
    assert_int_equal(sk_buf_putc(&body, 'X'), 0);
    sk_http_parser_init(&p, &body, false);
    assert_int_equal(sk_http_parser_feed(&p, five, sizeof(five) - 1), sizeof(five) - 1);
    assert_string_equal(body.data, "Xhello");
    sk_http_parser_cleanup(&p);
    sk_buf_reset(&body);
    assert_int_equal(sk_buf_putc(&body, 'X'), 0);
    sk_http_parser_init(&p, &body, false);
    assert_int_equal(sk_http_parser_feed(&p, six, sizeof(six) - 1), SK_ETOOBIG);
    sk_http_parser_cleanup(&p);
    sk_buf_cleanup(&body);
}

/* Feeds a big body in 64 KiB reads; returns the allocations it took. */
static long allocations_for(const char *head, const char *tail, size_t body_len)
{
    struct sk_http_parser p;
    struct sk_buf body;
    struct sk_buf in;
    size_t off;
    long before;

    sk_buf_init(&in, body_len + 1024);
    assert_int_equal(sk_buf_append_str(&in, head), 0);
    assert_int_equal(sk_buf_reserve(&in, body_len), 0);
    memset(in.data + in.len, 'b', body_len);
    in.len += body_len;
    assert_int_equal(sk_buf_append_str(&in, tail), 0);
    sk_buf_init(&body, BIG);
    before = sk_alloc_count();
    sk_http_parser_init(&p, &body, false);
    for (off = 0; off < in.len; off += 65536) {
        size_t n = in.len - off < 65536 ? in.len - off : 65536;

        assert_int_equal(sk_http_parser_feed(&p, in.data + off, n), n);
    }
    assert_int_equal(p.state, DONE);
    assert_int_equal(body.len, body_len);
    sk_http_parser_cleanup(&p);
    before = sk_alloc_count() - before;
    sk_buf_cleanup(&body);
    sk_buf_cleanup(&in);
    return before;
}

/* Bulk responses are megabytes: the body must grow in one step when its
 * size is announced, not byte by byte. */
static void test_body_allocations(void **state)
{
    (void)state;
    assert_int_equal(allocations_for(OK11 "Content-Length: 1000000\r\n\r\n", "", 1000000), 1);
    assert_int_equal(allocations_for(OK11 CHUNKED "\r\nf4240\r\n", "\r\n0\r\n\r\n", 1000000), 1);
}

/* Step the failing allocation through a response fed in small pieces (so
 * the line buffer is used too): a clean SK_ENOMEM each time, no leak. */
static void test_alloc_failure_stepping(void **state)
{
    static const char in[] = "HTTP/1.1 100 Continue\r\n\r\n" OK11 CHUNKED
                             "Content-Type: application/json\r\n\r\n"
                             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    struct sk_http_parser p;
    struct sk_buf body;
    ssize_t rc = SK_ENOMEM;
    long n;
    size_t off;

    (void)state;
    for (n = 1; rc == SK_ENOMEM && n < 100; n++) {
        sk_buf_init(&body, BIG);
        sk_http_parser_init(&p, &body, false);
        sk_alloc_fail_after(n, 0);
        for (off = 0, rc = 0; off < sizeof(in) - 1 && rc >= 0; off += 7) {
            size_t len = sizeof(in) - 1 - off < 7 ? sizeof(in) - 1 - off : 7;

            rc = sk_http_parser_feed(&p, in + off, len);
        }
        sk_alloc_fail_after(0, 0);
        if (rc >= 0) {
            assert_int_equal(p.state, DONE);
            assert_string_equal(body.data, "hello world");
            rc = 0;
        } else {
            assert_int_equal(rc, SK_ENOMEM);
        }
        sk_http_parser_cleanup(&p);
        sk_buf_cleanup(&body);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 2); /* some allocation did fail on the way */
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_header_limit_spans_interim),
        cmocka_unit_test(test_endless_status_line),
        cmocka_unit_test(test_chunk_line_and_trailer_limits),
        cmocka_unit_test(test_error_sticks_and_done_stops),
        cmocka_unit_test(test_body_error_keeps_results),
        cmocka_unit_test(test_body_appends_to_existing),
        cmocka_unit_test(test_body_allocations),
        cmocka_unit_test(test_alloc_failure_stepping),
    };
    size_t total = NELEM(cases) + NELEM(fixed);
    struct CMUnitTest *t = calloc(total, sizeof(*t));
    size_t n = 0;
    size_t i;
    int failed;

    assert_non_null(t);
    for (i = 0; i < NELEM(cases); i++) {
        t[n++] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
    }
    for (i = 0; i < NELEM(fixed); i++) {
        t[n++] = fixed[i];
    }
    failed = _cmocka_run_group_tests("http_parse", t, n, NULL, NULL);
    free(t);
    return failed;
}
