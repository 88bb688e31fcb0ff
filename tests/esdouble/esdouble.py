#!/usr/bin/env python3
"""esdouble — an Elasticsearch / OpenSearch test double for skiff.

No Elasticsearch can be installed on the test machines, so skiff's tests
talk to this: a real HTTP/1.1 server (keep-alive, gzip, TLS, basic auth,
SigV4) that is strict about the bulk format, answers like the chosen product
version (es-api.md), stores what it receives, and can be told to fail in the
ways production clusters fail.  Standard library only.

As a process:
  python3 esdouble.py --port 0 --port-file /tmp/p --flavor es8 [--tls-cert F --tls-key F]
      [--data-dir D] [--user U --password P] [--fault status=503 ...]
  (the bound port is written to --port-file, atomically, once it accepts.)

As a library (in Python tests):
  from esdouble import EsDouble
  with EsDouble(flavor="opensearch2") as d:
      ... http://127.0.0.1:%d % d.port ...

Module map (package esd/): double (EsDouble) -> httpd (HTTP layer) -> router
-> api_* (REST endpoints) -> bulk / indices / templates / rollover / ilm /
ism / datastreams -> store; faults (injection), control (/_double/ API),
reqlog, responses, flavors, sigv4; testing (helpers for tests).
"""

import argparse
import json
import os
import signal
import sys
import threading

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from esd.double import EsDouble  # noqa: E402,F401  (re-exported for `from esdouble import EsDouble`)

__all__ = ["EsDouble", "main"]


# ---------------------------------------------------------------------------
# CLI

def _parse_fault_kv(items):
    spec = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit("--fault expects KEY=VALUE, got %r" % item)
        try:
            spec[key] = json.loads(value)
        except ValueError:
            spec[key] = value
    return spec


def _write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description="Elasticsearch/OpenSearch test double")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    p.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--flavor", default="es8", choices=["es8", "es7", "opensearch2", "opensearch1"])
    p.add_argument("--version", help="override version.number (e.g. 8.7.1)")
    p.add_argument("--aws", action="store_true", help="Amazon managed-service front end persona")
    p.add_argument("--compat", action="store_true", help="OpenSearch compatibility mode (7.10.2)")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    p.add_argument("--data-dir", help="persist documents and metadata here")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--api-key", help="accept Authorization: ApiKey base64(ID:KEY)")
    p.add_argument("--sigv4", help="verify SigV4: ACCESS_KEY:SECRET[:REGION[:SERVICE[:TOKEN]]]")
    p.add_argument("--seed", type=int, help="seed for generated ids/uuids")
    p.add_argument("--refresh-interval-ms", type=int, default=1000,
                   help="default index.refresh_interval (-1 = only on request)")
    p.add_argument("--max-body-bytes", type=int,
                   help="413 above this size (default 100 MiB, 10 MiB with --aws)")
    p.add_argument("--log-size", type=int, default=1000, help="request log entries kept")
    p.add_argument("--no-compression", action="store_true", help="never gzip responses")
    p.add_argument("--no-builtin-templates", action="store_true",
                   help="do not install ES's logs-*-*/metrics-*-* data stream templates")
    p.add_argument("--faults", help="initial fault spec: JSON or @file")
    p.add_argument("--fault", action="append", metavar="KEY=VALUE",
                   help="one fault key (value parsed as JSON when possible); repeatable")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)

    spec = None
    if args.faults:
        text = open(args.faults[1:]).read() if args.faults.startswith("@") else args.faults
        spec = json.loads(text)
    kv = _parse_fault_kv(args.fault)
    if kv:
        spec = dict(spec or {}, **kv) if not isinstance(spec, list) else spec + [kv]
    sig = None
    if args.sigv4:
        parts = args.sigv4.split(":")
        sig = {"access_key": parts[0], "secret": parts[1],
               "region": parts[2] if len(parts) > 2 and parts[2] else "us-east-1",
               "service": parts[3] if len(parts) > 3 and parts[3] else "es",
               "token": parts[4] if len(parts) > 4 and parts[4] else None}
    try:
        d = EsDouble(flavor=args.flavor, host=args.host, port=args.port, tls_cert=args.tls_cert,
                     tls_key=args.tls_key, tls_client_ca=args.tls_client_ca,
                     data_dir=args.data_dir, user=args.user, password=args.password,
                     api_key=args.api_key, aws=args.aws, compat=args.compat,
                     version=args.version, seed=args.seed,
                     refresh_interval_ms=args.refresh_interval_ms, log_size=args.log_size,
                     compression=not args.no_compression,
                     builtin_templates=not args.no_builtin_templates, faults=spec,
                     max_body_bytes=args.max_body_bytes, sigv4=sig, verbose=args.verbose)
        d.start()
    except (ValueError, OSError) as e:
        sys.stderr.write("esdouble: %s\n" % e)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.port_file:
        _write_port_file(args.port_file, d.port)
    sys.stderr.write("esdouble: %s %s listening on %s\n" % (d.flavor.key, d.flavor.number, d.url))
    sys.stderr.flush()
    while not done.wait(0.5):
        pass
    d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
