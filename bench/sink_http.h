/*
 * HTTP/1.1 request framing for skiff-bench-sink: the header block (request
 * line, Content-Length, Transfer-Encoding, Content-Encoding, Connection,
 * Expect) and chunked bodies, decoded in place in the connection's buffer.
 *
 *   in: | request line + headers | body (or chunks) | next pipelined request...
 *       0                        hdr_len            req_end
 */
#ifndef SK_BENCH_SINK_HTTP_H
#define SK_BENCH_SINK_HTTP_H

#include <stddef.h>
#include <stdint.h>

enum sink_ck_state { SINK_CK_SIZE, SINK_CK_DATA, SINK_CK_DATA_END, SINK_CK_TRAILER, SINK_CK_DONE };

struct sink_req {
    size_t hdr_len;   /* 0 until the header block is complete */
    size_t method_len, target_off, target_len; /* request line parts */
    uint64_t content_length;
    int chunked, gzip, keep_alive, expect_continue;
    size_t req_end;   /* where the request ends; for chunked, known once complete */
    size_t ck_rd;     /* chunked: next raw byte to parse */
    size_t ck_wr;     /* chunked: end of the decoded body */
    uint64_t ck_left; /* chunked: data bytes left in the current chunk */
    enum sink_ck_state ck;
};

/* Parses data[0..hdr_len), which ends with the blank line, into r.
 * Returns 0, or -1 if the request line or a header is malformed. */
int sink_http_parse_headers(struct sink_req *r, const char *data, size_t hdr_len);

/* Decodes the chunked body in b[0..len) as far as it has arrived, moving
 * data down over the chunk-size lines (b[hdr_len..ck_wr) is the body so
 * far). Call again when more bytes arrive. Returns 1 when the last chunk
 * and trailers are in (req_end is then set), 0 for more, -1 if malformed. */
int sink_http_chunked_progress(struct sink_req *r, char *b, size_t len);

#endif
