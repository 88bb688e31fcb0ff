"""Response bodies: the error envelope and the per-status fault bodies.

Why in one place: the wording and shape of error bodies differ by product
(Elasticsearch, OpenSearch, the Amazon front end) and shippers branch on
them (`error.type`, `Message` vs `message`).  Keeping all of them here makes
it easy to compare against es-api.md §2, §3.8 and §12.5.

`Response` is what every API handler returns; `EsError` lets deep code
abort a request with a ready response.
"""

import json


class Response:
    """An HTTP answer: status, JSON object (or raw bytes) and headers.

    `obj` is kept unserialised until the end so that `filter_path` and
    `pretty` can be applied uniformly by the HTTP layer.
    """

    def __init__(self, status=200, obj=None, raw=None, headers=None,
                 content_type="application/json; charset=UTF-8", close=False):
        self.status = status
        self.obj = obj
        self.raw = raw
        self.headers = list(headers or [])
        self.content_type = content_type
        self.close = close

    def body_bytes(self, pretty=False):
        if self.raw is not None:
            return self.raw
        if self.obj is None:
            return b""
        return dumps(self.obj, pretty).encode("utf-8")


class EsError(Exception):
    """Raise to abort request handling with `response`."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def dumps(obj, pretty=False):
    if pretty:
        return json.dumps(obj, ensure_ascii=False, indent=2, separators=(",", " : ")) + "\n"
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def error_obj(type_, reason, caused_by=None, **fields):
    """The inner `error` object of the envelope (also used for bulk items)."""
    e = {"type": type_, "reason": reason}
    e.update(fields)
    if caused_by:
        e["caused_by"] = caused_by
    return e


def es_error(status, type_, reason, caused_by=None, headers=None, **fields):
    """Elasticsearch error envelope {"error":{root_cause,type,reason,...},"status":N}."""
    root = {"type": type_, "reason": reason}
    root.update(fields)
    err = error_obj(type_, reason, caused_by, **fields)
    err = dict([("root_cause", [root])] + list(err.items()))
    return Response(status, {"error": err, "status": status}, headers=headers)


def bad_request(reason, type_="illegal_argument_exception", **fields):
    return EsError(es_error(400, type_, reason, **fields))


def no_handler(method, uri):
    """Unknown endpoint: both products answer 400 with a string `error`."""
    return Response(400, {"error": "no handler found for uri [%s] and method [%s]" % (uri, method)})


def method_not_allowed(method, uri, allowed):
    return Response(405, {
        "error": "Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]"
                 % (uri, method, ", ".join(sorted(allowed))),
        "status": 405}, headers=[("Allow", ",".join(sorted(allowed)))])


def index_not_found(name, reason=None):
    return es_error(404, "index_not_found_exception", reason or "no such index [%s]" % name,
                    **{"resource.type": "index_or_alias", "resource.id": name,
                       "index_uuid": "_na_", "index": name})


# ---------------------------------------------------------------------------
# Authentication failures (es-api.md §3.8, §12.5)

ES_WWW_AUTH = ['Basic realm="security" charset="UTF-8"', "ApiKey"]


def es_unauthorized(uri, user=None):
    if user is None:
        reason = "missing authentication credentials for REST request [%s]" % uri
    else:
        reason = "unable to authenticate user [%s] for REST request [%s]" % (user, uri)
    hdr = {"WWW-Authenticate": list(ES_WWW_AUTH)}
    r = es_error(401, "security_exception", reason, header=hdr)
    r.headers += [("WWW-Authenticate", v) for v in ES_WWW_AUTH]
    return r


def opensearch_unauthorized():
    return Response(401, raw=b"Unauthorized", content_type="text/plain; charset=UTF-8",
                    headers=[("WWW-Authenticate", 'Basic realm="OpenSearch Security"')])


def amazon(status, message, key="Message"):
    return Response(status, {key: message})


_AWS_ACTIONS = {"GET": "ESHttpGet", "POST": "ESHttpPost", "PUT": "ESHttpPut",
                "DELETE": "ESHttpDelete", "HEAD": "ESHttpHead", "PATCH": "ESHttpPatch"}


def aws_action(method):
    return "es:" + _AWS_ACTIONS.get(method, "ESHttpGet")


# ---------------------------------------------------------------------------
# Whole-request fault bodies, per status and style

_HTML = ("<html>\r\n<head><title>{code} {text}</title></head>\r\n<body>\r\n"
         "<center><h1>{code} {text}</h1></center>\r\n<hr><center>nginx</center>\r\n"
         "</body>\r\n</html>\r\n")

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            408: "Request Timeout", 409: "Conflict", 413: "Request Entity Too Large",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Time-out"}

FAULT_STYLES = ("es", "opensearch", "amazon", "amazon_token_invalid", "amazon_token_expired",
                "amazon_signature", "circuit_breaking", "html")


def rejected_type(flavor):
    return "rejected_execution_exception" if flavor.is_opensearch else "es_rejected_execution_exception"


def coordinating_rejection(flavor):
    if flavor.is_opensearch:
        return ("rejected execution of coordinating operation [shard_detail=[logs][0][C], "
                "shard_coordinating_and_primary_bytes=0, shard_operation_bytes=98615, "
                "shard_max_coordinating_and_primary_bytes=10240] OR [node_coordinating_and_primary_bytes=0, "
                "node_replica_bytes=0, node_all_bytes=0, node_operation_bytes=98615, "
                "node_max_coordinating_and_primary_bytes=10240]")
    return ("rejected execution of coordinating operation [coordinating_and_primary_bytes=95396333, "
            "replica_bytes=0, all_bytes=95396333, coordinating_operation_bytes=22949230, "
            "max_coordinating_and_primary_bytes=107374182]")


def write_queue_rejection(flavor):
    """The per-item 429 reason (write thread pool queue full)."""
    if flavor.is_opensearch:
        return ("rejected execution of org.opensearch.action.support.replication."
                "TransportWriteAction$1@6b3cf4f2 on OpenSearchThreadPoolExecutor[name = "
                "esdouble-node1/write, queue capacity = 10000, org.opensearch.common.util."
                "concurrent.OpenSearchThreadPoolExecutor@3cd7b9ce[Running, pool size = 8, "
                "active threads = 8, queued tasks = 10000, completed tasks = 123]]")
    return ("rejected execution of org.elasticsearch.action.support.replication."
            "TransportWriteAction$1@6b3cf4f2 on EsThreadPoolExecutor[name = esdouble-node1/write, "
            "queue capacity = 10000, org.elasticsearch.common.util.concurrent."
            "EsThreadPoolExecutor@3cd7b9ce[Running, pool size = 8, active threads = 8, "
            "queued tasks = 10000, completed tasks = 123]]")


def default_style(flavor, status):
    if flavor.aws and status in (401, 403, 413):
        return "amazon"
    if status in (502, 504):
        return "html"
    return "opensearch" if flavor.is_opensearch else "es"


def fault_response(flavor, status, style, method, uri, max_bytes=None, user="esdouble"):
    """The body a real server (or the front end in front of it) sends for `status`."""
    style = style or default_style(flavor, status)
    if style == "html":
        text = _REASONS.get(status, "Error")
        return Response(status, raw=_HTML.format(code=status, text=text).encode(),
                        content_type="text/html")
    if style.startswith("amazon"):
        return _amazon_fault(status, style, method, uri, max_bytes)
    if status == 429:
        if style == "circuit_breaking":
            reason = ("[parent] Data too large, data for [<http_request>] would be [1031883878/984mb], "
                      "which is larger than the limit of [1020054732/972.7mb], real usage: "
                      "[1031883744/984mb], new bytes reserved: [134/134b]")
            return es_error(429, "circuit_breaking_exception", reason,
                            bytes_wanted=1031883878, bytes_limit=1020054732, durability="TRANSIENT")
        return es_error(429, rejected_type(flavor), coordinating_rejection(flavor))
    if status == 401:
        if style == "opensearch":
            return opensearch_unauthorized()
        return es_unauthorized(uri)
    if status == 403:
        if style == "opensearch":
            reason = ("no permissions for [indices:data/write/bulk] and User [name=%s, "
                      "backend_roles=[], requestedTenant=null]" % user)
        else:
            reason = ("action [indices:data/write/bulk] is unauthorized for user [%s] with roles "
                      "[viewer], this action is granted by the index privileges "
                      "[create_doc,create,index,write,all]" % user)
        return es_error(403, "security_exception", reason)
    if status == 413:
        return Response(413, raw=b"")
    if status == 503:
        return es_error(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];")
    if status == 500:
        return es_error(500, "illegal_state_exception", "esdouble injected internal error")
    if status == 404:
        return Response(404, raw=b"")
    return es_error(status, "esdouble_injected_exception",
                    "esdouble injected status [%d]" % status)


def _amazon_fault(status, style, method, uri, max_bytes):
    if style == "amazon_token_invalid":
        return amazon(403, "The security token included in the request is invalid.", "message")
    if style == "amazon_token_expired":
        return amazon(403, "The security token included in the request is expired", "message")
    if style == "amazon_signature":
        return amazon(403, "The request signature we calculated does not match the signature you "
                           "provided. Check your AWS Secret Access Key and signing method. Consult "
                           "the service documentation for details.", "message")
    if status == 413:
        return amazon(413, "Request size exceeded %d bytes" % (max_bytes or 10485760))
    if status == 403:
        return amazon(403, "User: anonymous is not authorized to perform: %s" % aws_action(method))
    if status == 401:
        return amazon(401, "Your request: '%s' is not allowed." % uri.split("?")[0])
    if status == 429:
        return amazon(429, "Too Many Requests")
    return amazon(status, _REASONS.get(status, "Error"))
