#!/usr/bin/env python3
"""skiff benchmark runner (issue 8). Python 3 standard library only.

Runs the baselines (`cat file > /dev/null`: the read limit; skiff-bench-replay
into skiff-bench-sink: the sink limit) and the skiff workloads P1-P5 several
times each, checks after every skiff run that each daily index received
exactly the documents the generator wrote, and reports the median and min-max
of: events/s (wall), events per CPU-second (skiff user+sys), peak RSS, bytes
read, requests made. Results go to bench/results/<date>-<commit>.json and
bench/results/latest.md; per-run logs and configs to bench/results/raw/.

skiff is $SKIFF_BIN, --skiff, or build/skiff. When it is missing or a run
fails, the skiff workloads are skipped with the reason and the baselines are
still reported. Every wait has a deadline; the default plan takes about five
minutes on the 2-core reference machine and is cut at --budget (480 s) so that
`make bench`, build included, stays within ten; --quick takes about two.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, "work")
RESULTS = os.path.join(BENCH, "results")
CONFIGS = os.path.join(BENCH, "configs")
START_DATE = "2018-07-19"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Skip(Exception):
    """A workload cannot run (skiff missing, failed to start, ...)."""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def wait_until(pred, timeout, interval=0.05):
    """Polls pred() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def summarize(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


# ---- tools -----------------------------------------------------------------

COMMON_SOURCES = ["bench_util.c", "bench_util.h"]
TOOL_SOURCES = {
    "skiff-bench-gen": ["gen_nginx.c", "nginx_model.c", "nginx_model.h"] + COMMON_SOURCES,
    "skiff-bench-sink": ["sink.c", "sink_bulk.c", "sink_bulk.h", "sink_http.c", "sink_http.h"]
    + COMMON_SOURCES,
    "skiff-bench-replay": ["replay.c", "nginx_model.c", "nginx_model.h"] + COMMON_SOURCES,
}


def find_tools(bin_dir, skiff):
    """--bin-dir, else next to skiff's build (<build>/bench), else the usual
    build directories; builds them standalone when none has them."""
    names = ["skiff-bench-gen", "skiff-bench-sink", "skiff-bench-replay"]
    if bin_dir:
        return {n: os.path.join(bin_dir, n) for n in names}  # explicit: trust it
    dirs = []
    if skiff:
        dirs.append(os.path.join(os.path.dirname(skiff), "bench"))
    dirs += [os.path.join(ROOT, "build", "bench"), os.path.join(ROOT, "build-bench")]
    for d in dirs:
        if all(os.access(os.path.join(d, n), os.X_OK) for n in names):
            tools = {n: os.path.join(d, n) for n in names}
            # Each tool against its own sources: make relinks only what changed.
            stale = [n for n, t in tools.items()
                     if os.path.getmtime(t) < max(os.path.getmtime(os.path.join(BENCH, f))
                                                  for f in TOOL_SOURCES[n])]
            if not stale:
                return tools
            log(f"{', '.join(stale)} in {d} older than its sources; not using {d}")
    # None built, or all stale: build them as the standalone CMake project.
    build = os.path.join(WORK, "build")
    log(f"building the bench tools in {build}")
    subprocess.run(["cmake", "-S", BENCH, "-B", build, "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, stdout=subprocess.DEVNULL, timeout=300)
    subprocess.run(["cmake", "--build", build, "-j2"], check=True, stdout=subprocess.DEVNULL,
                   timeout=300)
    return {n: os.path.join(build, n) for n in names}


def find_skiff(arg):
    for cand in (arg, os.environ.get("SKIFF_BIN"), os.path.join(ROOT, "build", "skiff")):
        if cand and os.access(cand, os.X_OK):
            return os.path.abspath(cand)
    return None


class Sink:
    """skiff-bench-sink as a child process, driven over its control API."""

    def __init__(self, binary, latency, raw_dir):
        self.port_file = os.path.join(WORK, "sink.port")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        args = [binary, "--port", "0", "--port-file", self.port_file]
        if latency:
            args.append("--latency")
        self.errf = open(os.path.join(raw_dir, "sink.log"), "ab")
        self.proc = subprocess.Popen(args, stderr=self.errf)
        if not wait_until(lambda: os.path.exists(self.port_file), 10):
            self.stop()
            raise RuntimeError("skiff-bench-sink did not start")
        with open(self.port_file) as f:
            self.port = int(f.read())

    def request(self, method, path, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def stats(self):
        """The sink's counters, or None while it is unreachable (outage)."""
        try:
            st, body = self.request("GET", "/_sink/stats")
        except OSError:
            return None
        return json.loads(body) if st == 200 else None

    def reset(self):
        self.request("POST", "/_sink/reset")

    def down(self, seconds, mode):
        self.request("POST", f"/_sink/down?seconds={seconds}&mode={mode}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errf.close()


def ensure_dataset(tools, lines, days, seed):
    """The benchmark log, generated once and cached under bench/work/."""
    path = os.path.join(WORK, f"nginx-{lines}-{days}d-seed{seed}.log")
    counts = path + ".counts"
    gen = tools["skiff-bench-gen"]
    fresh = (os.path.exists(path) and os.path.exists(counts)
             and os.path.getmtime(path) >= os.path.getmtime(gen))
    if not fresh:
        log(f"generating {lines} lines over {days} days -> {path}")
        t0 = time.monotonic()
        subprocess.run([gen, "--lines", str(lines), "--days", str(days), "--seed", str(seed),
                        "--start", START_DATE, "--out", path], check=True, timeout=600)
        log(f"generated in {time.monotonic() - t0:.2f} s")
    with open(counts) as f:
        return path, json.load(f)


# ---- process measurement ------------------------------------------------------

def proc_cpu(pid):
    """user+sys seconds of a live process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_io(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            return {k: int(v) for k, v in (line.split(": ") for line in f)}
    except OSError:
        return {}


def snapshot(pid):
    """What the issue asks for, taken the moment the last document arrived."""
    st = proc_status(pid)
    io = proc_io(pid)
    return {"cpu_s": proc_cpu(pid),
            "peak_rss_kib": int(st.get("VmHWM", "0 kB").split()[0]),
            "rchar": io.get("rchar"), "wchar": io.get("wchar"),
            "read_bytes": io.get("read_bytes"), "write_bytes": io.get("write_bytes"),
            "ctx_switches": int(st.get("voluntary_ctxt_switches", 0))
            + int(st.get("nonvoluntary_ctxt_switches", 0))}


class Skiff:
    """One skiff process with a rendered config in a fresh work directory."""

    def __init__(self, binary, conf_name, subst, run_dir):
        self.run_dir = run_dir
        with open(os.path.join(CONFIGS, conf_name)) as f:
            text = f.read()
        for k, v in subst.items():
            text = text.replace(k, str(v))
        self.conf = os.path.join(run_dir, conf_name)
        with open(self.conf, "w") as f:
            f.write(text)
        self.log_path = os.path.join(run_dir, "skiff.log")
        self.logf = open(self.log_path, "wb")
        self.t0_ns = time.time_ns()
        self.proc = subprocess.Popen([binary, "-c", self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd=run_dir)
        self.rusage = None
        self.hwm_kib = 0

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, n=8):
        try:
            with open(self.log_path, errors="replace") as f:
                return " | ".join(f.read().strip().splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL; returns wait4's rusage (None if already reaped)."""
        if self.proc.returncode is None:
            try:
                # wait4's ru_maxrss would include the runner's own pages from
                # before exec, so the peak comes from the process's VmHWM.
                hwm = proc_status(self.proc.pid).get("VmHWM", "0 kB")
                self.hwm_kib = max(self.hwm_kib, int(hwm.split()[0]))
            except OSError:
                pass
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while True:
                pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
                if pid:
                    self.proc.returncode = os.waitstatus_to_exitcode(status)
                    self.rusage = ru
                    break
                if time.monotonic() > deadline:
                    self.proc.kill()
                    _, status, ru = os.wait4(self.proc.pid, 0)
                    self.proc.returncode = os.waitstatus_to_exitcode(status)
                    self.rusage = ru
                    break
                time.sleep(0.05)
        self.logf.close()
        return self.rusage


def dir_bytes(path):
    """Bytes of the regular files under path (the buffer's chunks and metadata)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def check_indices(stats, expected):
    """Exact per-index match, ignoring indices the sink saw with zero docs."""
    got = {k: v for k, v in stats.get("indices", {}).items() if v}
    if got == expected:
        return True, ""
    diff = {k: (got.get(k, 0), expected.get(k, 0))
            for k in set(got) | set(expected) if got.get(k, 0) != expected.get(k, 0)}
    return False, f"index counts differ (got, expected): {diff}"


def wait_for_docs(sink, skiff, total, timeout):
    """Polls the sink until total documents arrived; returns (stats, snap)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = sink.stats()
        if st is not None and st["docs"] >= total:
            return st, snapshot(skiff.proc.pid)
        if not skiff.alive():
            raise Skip(f"skiff exited (code {skiff.proc.returncode}) with "
                       f"{st['docs'] if st else '?'} of {total} docs: {skiff.log_tail()}")
        time.sleep(0.05)
    st = sink.stats()
    raise Skip(f"timeout after {timeout:.0f} s: {st['docs'] if st else '?'} of {total} docs "
               f"delivered: {skiff.log_tail()}")


def finish_run(sink, skiff, expected, stats, snap, total):
    """Stops skiff, then checks the final sink state and builds the metrics."""
    ru = skiff.stop()
    final = sink.stats() or stats
    ok, why = check_indices(final, expected)
    if final["docs"] > total:
        ok, why = False, f"{final['docs'] - total} duplicate documents"
    wall = (stats["last_bulk_ns"] - skiff.t0_ns) / 1e9
    m = {"docs": final["docs"], "verified": ok, "wall_s": wall,
         "events_per_s": total / wall if wall > 0 else None,
         "cpu_s": snap["cpu_s"],
         "events_per_cpu_s": total / snap["cpu_s"] if snap["cpu_s"] > 0 else None,
         "peak_rss_mib": max(snap["peak_rss_kib"], skiff.hwm_kib) / 1024,
         # rchar: bytes through read()/pread()/readv(): the log plus chunk
         # files read back. Socket recv() (what the HTTP client uses) is not in it,
         # nor are chunk pages skiff reads through mmap.
         "bytes_read": snap["rchar"], "bytes_written": snap["wchar"],
         "http_response_bytes": final.get("resp_bytes"),
         "disk_read_bytes": snap["read_bytes"], "disk_write_bytes": snap["write_bytes"],
         "requests": final["requests"], "rejected_requests": final["rejected"],
         "bulk_bytes": final["bytes"], "wire_bytes": final["wire_bytes"],
         "gzip_requests": final["gzip_requests"],
         "cpu_total_s": (ru.ru_utime + ru.ru_stime) if ru else None,
         "exit_code": skiff.proc.returncode}
    if not ok:
        m["error"] = why
    return m


# ---- the benchmark ------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.t_start = time.monotonic()
        self.skiff = None if args.no_skiff else find_skiff(args.skiff)
        self.tools = find_tools(args.bin_dir, self.skiff)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.stamp = stamp
        self.raw = os.path.join(RESULTS, "raw", stamp)
        os.makedirs(self.raw, exist_ok=True)
        # Per-run work directories (logs, buffers, pos files) of earlier
        # invocations: what is worth keeping was copied to results/raw.
        shutil.rmtree(os.path.join(WORK, "runs"), ignore_errors=True)
        self.results = {"baselines": {}, "workloads": {}, "skipped": {}}
        self.sink = None
        self.sink_latency = None
        self.run_no = 0

    def remaining(self):
        return self.args.budget - (time.monotonic() - self.t_start)

    def run_timeout(self, wanted):
        """A wait never runs past the overall budget (but gets at least 10 s)."""
        return max(10.0, min(wanted, self.remaining() - 5))

    def use_sink(self, latency):
        """(Re)starts the sink; latency scanning costs sink speed, so P1 runs without it."""
        if self.sink is not None and self.sink.proc.poll() is not None:
            log(f"skiff-bench-sink exited (code {self.sink.proc.returncode}); restarting it")
            self.sink.stop()
            self.sink = None
        if self.sink is not None and self.sink_latency == latency:
            return self.sink
        if self.sink is not None:
            self.sink.stop()
        self.sink = Sink(self.tools["skiff-bench-sink"], latency, self.raw)
        self.sink_latency = latency
        return self.sink

    def run_dir(self, name):
        self.run_no += 1
        d = os.path.join(WORK, "runs", f"{self.run_no:02d}-{name}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def keep_raw(self, d):
        """Copies the rendered config and skiff's log next to the results."""
        dst = os.path.join(self.raw, os.path.basename(d))
        os.makedirs(dst, exist_ok=True)
        for name in os.listdir(d):
            p = os.path.join(d, name)
            if os.path.isfile(p) and (name.endswith(".conf") or name.endswith(".log")) \
                    and os.path.getsize(p) < (16 << 20):
                shutil.copy(p, dst)

    # -- baselines --

    def baseline_cat(self, path, counts):
        runs = []
        for _ in range(self.args.repeats):
            t0 = time.monotonic()
            p = subprocess.Popen(["cat", path], stdout=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - t0
            cpu = ru.ru_utime + ru.ru_stime
            runs.append({"wall_s": wall, "cpu_s": cpu, "events_per_s": counts["lines"] / wall,
                         "events_per_cpu_s": counts["lines"] / cpu if cpu > 0 else None,
                         "mb_per_s": counts["bytes"] / 1e6 / wall,
                         "bytes_read": counts["bytes"],
                         "verified": p.returncode == 0})
        return runs

    def baseline_replay(self, counts, gzip):
        sink = self.use_sink(False)
        args = [self.tools["skiff-bench-replay"], "--port", str(sink.port),
                "--docs", str(counts["lines"]), "--days", str(self.args.days),
                "--seed", str(self.args.seed), "--start", START_DATE,
                "--rounds", str(self.args.repeats), "--reset", "--distinct", "1g"]
        if gzip:
            args.append("--gzip")
        try:
            p = subprocess.run(args, capture_output=True, text=True,
                               timeout=self.run_timeout(300))
        except subprocess.TimeoutExpired as e:
            log(f"replay timed out after {e.timeout:.0f} s")
            return [{"verified": False, "error": "replay timed out"}]
        runs = []
        for line in p.stdout.splitlines():
            r = json.loads(line)
            runs.append({"wall_s": r["seconds"], "events_per_s": r["docs_per_s"],
                         "mb_per_s": r["mb_per_s"], "requests": r["requests"],
                         "bulk_bytes": r["bytes"], "wire_bytes": r["wire_bytes"],
                         "client_cpu_s": r["client_cpu_s"], "verified": r["verified"]})
        if p.returncode != 0:
            log(f"replay failed: {p.stderr.strip()[-500:]}")
        return runs

    # -- skiff workloads --

    def need_skiff(self):
        if self.args.no_skiff:
            raise Skip("--no-skiff")
        if self.skiff is None:
            raise Skip("skiff is not built (set SKIFF_BIN, pass --skiff, or build build/skiff)")

    def p1(self, conf, path, counts, label, gzip=False):
        """The whole log from its head; wall clock from launch to last document."""
        self.need_skiff()
        sink = self.use_sink(False)
        sink.reset()
        d = self.run_dir(label)
        sk = Skiff(self.skiff, conf, {"@LOG@": path, "@WORK@": d, "@PORT@": sink.port}, d)
        try:
            stats, snap = wait_for_docs(sink, sk, counts["lines"],
                                        self.run_timeout(self.args.timeout))
            m = finish_run(sink, sk, counts["indices"], stats, snap, counts["lines"])
            if gzip:
                m.update({"gzip_ratio": m["wire_bytes"] / m["bulk_bytes"] if m["bulk_bytes"]
                          else None,
                          "wire_mb": m["wire_bytes"] / 1e6, "ndjson_mb": m["bulk_bytes"] / 1e6})
                if m["gzip_requests"] != m["requests"] and m["verified"]:
                    m["verified"] = False
                    m["error"] = (f"{m['requests'] - m['gzip_requests']} of {m['requests']} "
                                  "requests were not gzip-compressed")
            return m
        finally:
            sk.stop()
            self.keep_raw(d)

    def p2(self, rate, duration):
        """Live tailing at a steady rate: CPU per event and line-to-document delay."""
        self.need_skiff()
        sink = self.use_sink(True)
        sink.reset()
        d = self.run_dir(f"p2-{rate}")
        logf = os.path.join(d, "access.log")
        open(logf, "w").close()
        sk = Skiff(self.skiff, "p2_tail.conf", {"@LOG@": logf, "@WORK@": d, "@PORT@": sink.port}, d)
        try:
            time.sleep(self.args.settle)  # let skiff start watching before lines arrive
            if not sk.alive():
                raise Skip(f"skiff exited at start: {sk.log_tail()}")
            cpu0 = proc_cpu(sk.proc.pid)
            t_gen_ns = time.time_ns()
            gen = subprocess.run([self.tools["skiff-bench-gen"], "--rate", str(rate),
                                  "--duration", str(duration), "--seed", str(self.args.seed),
                                  "--out", logf], capture_output=True, timeout=duration + 30)
            if gen.returncode != 0:
                raise Skip(f"generator failed: {gen.stderr.decode()[-300:]}")
            with open(logf + ".counts") as f:
                counts = json.load(f)
            stats, snap = wait_for_docs(sink, sk, counts["lines"], self.run_timeout(60))
            m = finish_run(sink, sk, counts["indices"], stats, snap, counts["lines"])
            # Wall figures are set by the generator here; what matters is
            # the CPU spent per event while keeping up, and the delay.
            cpu = snap["cpu_s"] - cpu0
            window = (stats["last_bulk_ns"] - t_gen_ns) / 1e9
            m.update({"rate": rate, "lines": counts["lines"], "cpu_s": cpu,
                      "events_per_cpu_s": counts["lines"] / cpu if cpu > 0 else None,
                      "events_per_s": None,
                      # CPU share from the first line written to the last document in.
                      "cpu_pct": 100 * cpu / window if window > 0 else None,
                      "window_s": window,
                      "delay_p50_ms": stats["latency_us"]["p50"] / 1000,
                      "delay_p99_ms": stats["latency_us"]["p99"] / 1000,
                      "delay_max_ms": stats["latency_us"]["max"] / 1000,
                      "delay_samples": stats["latency_us"]["count"]})
            # Every marked line must have given one delay sample, exactly once.
            if m["verified"] and (stats["latency_us"]["count"] != counts["marked"]
                                  or stats["seq"]["dups"]):
                m["verified"] = False
                m["error"] = (f"{stats['latency_us']['count']} delay samples for "
                              f"{counts['marked']} marked lines, {stats['seq']['dups']} dups")
            return m
        finally:
            sk.stop()
            self.keep_raw(d)

    def p3(self, outage, rate):
        """Sink unreachable while lines arrive for `outage` s; then time the drain.

        The sink stays down one second longer than the generator runs, so the
        whole backlog is written (and, with flush_interval 1s, in chunks on
        disk) before it comes back; RSS and the buffer's size on disk are taken
        at that moment."""
        self.need_skiff()
        sink = self.use_sink(True)
        sink.reset()
        d = self.run_dir("p3-outage")
        logf = os.path.join(d, "access.log")
        open(logf, "w").close()
        sk = Skiff(self.skiff, "p3_outage.conf", {"@LOG@": logf, "@WORK@": d, "@PORT@": sink.port},
                   d)
        try:
            time.sleep(self.args.settle)
            if not sk.alive():
                raise Skip(f"skiff exited at start: {sk.log_tail()}")
            down_s = outage + 1
            t_down_ns = time.time_ns()
            sink.down(down_s, self.args.outage_mode)
            # The sink's deadline starts when it reads the request, and it
            # checks it every 50 ms: up within [t_up_ns, t_up_ns + ~60 ms).
            t_up_ns = t_down_ns + down_s * 1_000_000_000
            gen = subprocess.run([self.tools["skiff-bench-gen"], "--rate", str(rate),
                                  "--duration", str(outage), "--seed", str(self.args.seed),
                                  "--out", logf], capture_output=True, timeout=outage + 30)
            if gen.returncode != 0:
                raise Skip(f"generator failed: {gen.stderr.decode()[-300:]}")
            with open(logf + ".counts") as f:
                counts = json.load(f)
            wait_until(lambda: time.time_ns() >= t_up_ns - 150_000_000, down_s + 5, 0.01)
            st_out = proc_status(sk.proc.pid)
            outage_end = {"rss_mib": int(st_out.get("VmRSS", "0 kB").split()[0]) / 1024,
                          "peak_rss_mib": int(st_out.get("VmHWM", "0 kB").split()[0]) / 1024,
                          "buffer_bytes": dir_bytes(os.path.join(d, "buffer")),
                          "cpu_s": proc_cpu(sk.proc.pid)}
            late = time.time_ns() > t_up_ns  # the generator overran: figures taken late
            wait_until(lambda: sink.stats() is not None, 15, 0.05)
            stats, snap = wait_for_docs(sink, sk, counts["lines"],
                                        self.run_timeout(self.args.timeout))
            m = finish_run(sink, sk, counts["indices"], stats, snap, counts["lines"])
            drain = (stats["last_bulk_ns"] - t_up_ns) / 1e9
            m.update({"outage_s": down_s, "backlog_lines": counts["lines"], "drain_s": drain,
                      "events_per_s": counts["lines"] / drain if drain > 0 else None,
                      # From the sink being back to the first document in:
                      # the retry backoff still running then.
                      "first_doc_after_s": (stats["first_bulk_ns"] - t_up_ns) / 1e9,
                      "outage_rss_mib": outage_end["rss_mib"],
                      "outage_peak_rss_mib": outage_end["peak_rss_mib"],
                      "outage_buffer_mib": outage_end["buffer_bytes"] / (1 << 20),
                      "outage_cpu_s": outage_end["cpu_s"], "outage_snapshot_late": late,
                      "drain_cpu_s": snap["cpu_s"] - outage_end["cpu_s"],
                      "seq_dups": stats["seq"]["dups"]})
            if stats["first_bulk_ns"] and stats["first_bulk_ns"] < t_up_ns - 200_000_000:
                m["verified"] = False
                m["error"] = "documents arrived during the outage"
            return m
        finally:
            sk.stop()
            self.keep_raw(d)

    def p4(self, files, idle):
        """CPU used while watching idle files."""
        self.need_skiff()
        sink = self.use_sink(False)
        sink.reset()
        d = self.run_dir("p4-idle")
        idle_dir = os.path.join(d, "idle")
        os.makedirs(idle_dir)
        expected, total = {}, 0
        for i in range(files):
            p = os.path.join(idle_dir, f"site{i:03d}.log")
            subprocess.run([self.tools["skiff-bench-gen"], "--lines", "10", "--days", "1",
                            "--seed", str(i + 1), "--start", START_DATE, "--out", p],
                           check=True, capture_output=True, timeout=30)
            with open(p + ".counts") as f:
                c = json.load(f)
            os.unlink(p + ".counts")  # not a *.log, but keep the directory to logs only
            for k, v in c["indices"].items():
                expected[k] = expected.get(k, 0) + v
            total += c["lines"]
        sk = Skiff(self.skiff, "p4_idle.conf", {"@WORK@": d, "@PORT@": sink.port}, d)
        try:
            stats, snap = wait_for_docs(sink, sk, total, self.run_timeout(60))
            time.sleep(2)  # let the last flush and pos-file writes settle
            s0 = snapshot(sk.proc.pid)
            time.sleep(idle)
            s1 = snapshot(sk.proc.pid)
            m = finish_run(sink, sk, expected, stats, snap, total)
            m.update({"files": files, "idle_s": idle, "idle_cpu_s": s1["cpu_s"] - s0["cpu_s"],
                      "idle_ctx_switches_per_s": (s1["ctx_switches"] - s0["ctx_switches"]) / idle,
                      "events_per_s": None, "events_per_cpu_s": None})
            return m
        finally:
            sk.stop()
            self.keep_raw(d)

    # -- driver --

    def run_plan(self, plan):
        """plan: [(name, fn, times, est_s)]. Every workload runs once before
        any runs again, so a budget cut costs repeats, not whole workloads.
        A workload stops at its first Skip, or when the budget left is less
        than est_s (the usual length of one run)."""
        runs = {name: [] for name, _, _, _ in plan}
        stopped = set()
        for i in range(max((p[2] for p in plan), default=0)):
            for name, fn, times, est_s in plan:
                if i >= times or name in stopped:
                    continue
                if self.remaining() < est_s:
                    self.results["skipped"].setdefault(
                        name, f"time budget ({self.args.budget:.0f} s) left room for {i} of "
                              f"{times} runs")
                    stopped.add(name)
                    continue
                log(f"{name}: run {i + 1}/{times}")
                try:
                    m = fn()
                except (Skip, OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
                    # Not only Skip: a skiff that died mid-run (its /proc entry
                    # gone), a hung generator or an unreachable sink must cost
                    # this workload, not the whole report.
                    why = str(e) if isinstance(e, Skip) else f"{type(e).__name__}: {e}"
                    log(f"{name}: skipped: {why}")
                    self.results["skipped"][name] = why
                    stopped.add(name)
                    continue
                if not m.get("verified"):
                    log(f"{name}: VERIFICATION FAILED: {m.get('error')}")
                runs[name].append(m)
                self.results["workloads"][name] = {"runs": runs[name],
                                                   "summary": summary_of(runs[name])}

    def run(self):
        a = self.args
        path, counts = ensure_dataset(self.tools, a.lines, a.days, a.seed)
        self.results["dataset"] = {"path": os.path.relpath(path, ROOT), **counts}
        log("baseline: cat")
        runs = self.baseline_cat(path, counts)
        self.results["baselines"]["cat"] = {"runs": runs, "summary": summary_of(runs)}
        for gz in (False, True):
            name = "replay-gzip" if gz else "replay"
            log(f"baseline: {name}")
            runs = self.baseline_replay(counts, gz)
            self.results["baselines"][name] = {"runs": runs, "summary": summary_of(runs)}
        if self.skiff is None:
            log("skiff not found: skipping P1-P5 (set SKIFF_BIN or build build/skiff)")
        else:
            log(f"skiff: {self.skiff}")
        only = set(a.only.split(",")) if a.only else None

        def want(n):
            return only is None or n in only

        plan = []
        if want("P1"):
            plan += [("P1-file", lambda: self.p1("p1_file.conf", path, counts, "p1-file"),
                      a.repeats, 20),
                     ("P1-memory", lambda: self.p1("p1_memory.conf", path, counts, "p1-memory"),
                      a.repeats, 20)]
        if want("P2"):
            plan += [(f"P2-{rate // 1000}k", lambda r=rate: self.p2(r, a.live_seconds),
                      a.repeats, a.live_seconds + 10) for rate in (10000, 100000)]
        if want("P3"):
            plan.append(("P3-outage", lambda: self.p3(a.outage, a.outage_rate), a.p3_repeats,
                         a.outage + 20))
        if want("P4"):
            plan.append(("P4-idle", lambda: self.p4(100, a.idle), 1, a.idle + 10))
        if want("P5"):
            plan.append(("P5-gzip",
                         lambda: self.p1("p5_gzip.conf", path, counts, "p5-gzip", True),
                         a.repeats, 25))
        self.run_plan(plan)  # without skiff, each workload records why it was skipped
        if self.sink is not None:
            self.sink.stop()
            self.sink = None

    def write(self):
        commit = git_commit()
        self.results.update({
            "date": self.stamp, "commit": commit, "skiff": self.skiff,
            "host": host_info(), "settings": vars(self.args),
            "elapsed_s": time.monotonic() - self.t_start})
        os.makedirs(RESULTS, exist_ok=True)
        jpath = os.path.join(RESULTS, f"{self.stamp}-{commit}.json")
        with open(jpath, "w") as f:
            json.dump(self.results, f, indent=1, sort_keys=True)
        md = markdown(self.results)
        with open(os.path.join(RESULTS, "latest.md"), "w") as f:
            f.write(md)
        print(md)
        log(f"wrote {os.path.relpath(jpath, ROOT)} and bench/results/latest.md")


METRICS = ["events_per_s", "events_per_cpu_s", "cpu_s", "peak_rss_mib", "bytes_read",
           "requests", "mb_per_s", "wall_s", "delay_p50_ms", "delay_p99_ms", "delay_max_ms",
           "drain_s", "idle_cpu_s", "idle_ctx_switches_per_s", "cpu_pct", "backlog_lines",
           "first_doc_after_s", "outage_peak_rss_mib", "outage_rss_mib", "outage_buffer_mib",
           "gzip_ratio", "wire_mb", "ndjson_mb", "http_response_bytes", "idle_s"]


def summary_of(runs):
    out = {}
    for k in METRICS:
        s = summarize([r.get(k) for r in runs])
        if s is not None:
            out[k] = s
    out["verified"] = all(r.get("verified") for r in runs)
    return out


def git_commit():
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=10)
        commit = c.stdout.strip() if c.returncode == 0 else "nocommit"
        d = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10)
        return commit + ("-dirty" if d.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "nogit"


def host_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version()}


def fmt(s, key, scale=1.0, digits=0):
    if not s or key not in s:
        return "-"
    v = s[key]

    def f(x):
        return f"{x * scale:,.{digits}f}"
    if v["n"] == 1 or v["min"] == v["max"]:
        return f(v["median"])
    return f"{f(v['median'])} ({f(v['min'])}–{f(v['max'])})"


def markdown(res):
    ds = res.get("dataset") or {"lines": 0, "bytes": 0}
    lines = [f"# skiff benchmark {res['date']} ({res['commit']})", "",
             f"Host: {res['host']['cpu']}, {res['host']['cpus']} CPUs, Linux "
             f"{res['host']['kernel']}. Dataset: {ds['lines']:,} lines, "
             f"{ds['bytes'] / 1e6:,.0f} MB. Median (min–max) over "
             f"{res['settings']['repeats']} runs.", "",
             "Target (issue 8): ≥ 1,000,000 events per CPU-second with the file buffer, "
             "peak RSS ≤ 16 MiB. Fluent Bit 5.1.1: ~143,000 events/s on P1.", "",
             "Bytes read: `rchar` of /proc/<pid>/io, i.e. read()/pread() bytes: the log "
             "plus buffer chunks read back with read() (not socket recv(), not chunks mapped "
             "with mmap). P2 events/CPU-s "
             "counts only the CPU used from the first line written. The sink answers _bulk as "
             "Elasticsearch 8.11 does, honouring the filter_path skiff sends; the replay "
             "baseline sends the same one.", "",
             "| workload | events/s (wall) | events/CPU-s | peak RSS MiB | bytes read | "
             "requests | other | verified |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    rows = [("baseline: cat", res["baselines"].get("cat")),
            ("baseline: replay → sink", res["baselines"].get("replay")),
            ("baseline: replay → sink (gzip)", res["baselines"].get("replay-gzip"))]
    # A fixed order (the JSON is written with sorted keys, so P2-100k < P2-10k there).
    order = ["P1-file", "P1-memory", "P2-10k", "P2-100k", "P3-outage", "P4-idle", "P5-gzip"]
    rows += sorted(res["workloads"].items(),
                   key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
    for name, w in rows:
        if not w:
            continue
        s = w["summary"]
        other = []
        if "mb_per_s" in s:
            other.append(f"{fmt(s, 'mb_per_s')} MB/s")
        if "delay_p50_ms" in s:
            other.append(f"delay p50 {fmt(s, 'delay_p50_ms')} ms, p99 {fmt(s, 'delay_p99_ms')} ms, "
                         f"max {fmt(s, 'delay_max_ms')} ms")
        if "cpu_pct" in s:
            other.append(f"CPU {fmt(s, 'cpu_pct', digits=1)} %")
        if "drain_s" in s:
            other.append(f"backlog {fmt(s, 'backlog_lines')} lines, "
                         f"{fmt(s, 'outage_buffer_mib', digits=1)} MiB on disk, RSS "
                         f"{fmt(s, 'outage_rss_mib', digits=1)} MiB (peak "
                         f"{fmt(s, 'outage_peak_rss_mib', digits=1)}) at the end of the outage; "
                         f"first document {fmt(s, 'first_doc_after_s', digits=1)} s and last "
                         f"{fmt(s, 'drain_s', digits=1)} s after the sink was back "
                         f"(events/s = backlog / that)")
        if "gzip_ratio" in s:
            other.append(f"gzip: {fmt(s, 'ndjson_mb')} MB NDJSON sent as {fmt(s, 'wire_mb')} MB "
                         f"({fmt(s, 'gzip_ratio', scale=100, digits=1)} %)")
        if "idle_cpu_s" in s:
            other.append(f"idle CPU {fmt(s, 'idle_cpu_s', digits=2)} s over "
                         f"{fmt(s, 'idle_s')} s, "
                         f"{fmt(s, 'idle_ctx_switches_per_s', digits=1)} wakeups/s")
        lines.append(f"| {name} | {fmt(s, 'events_per_s')} | {fmt(s, 'events_per_cpu_s')} | "
                     f"{fmt(s, 'peak_rss_mib', digits=1)} | {fmt(s, 'bytes_read')} | "
                     f"{fmt(s, 'requests')} | {'; '.join(other)} | "
                     f"{'yes' if s['verified'] else '**NO**'} |")
    if res["skipped"]:
        lines += ["", "Skipped:", ""]
        lines += [f"- {k}: {v}" for k, v in res["skipped"].items()]
    return "\n".join(lines) + "\n"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 run each, shorter live phases")
    ap.add_argument("--repeats", type=int, help="runs per workload (default 3, quick 1)")
    ap.add_argument("--only", help="comma list of P1,P2,P3,P4,P5 (baselines always run)")
    ap.add_argument("--skiff", help="skiff binary (default $SKIFF_BIN, then build/skiff)")
    ap.add_argument("--no-skiff", action="store_true", help="baselines only")
    ap.add_argument("--bin-dir", help="directory holding the skiff-bench-* tools")
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120, help="per skiff run, seconds")
    ap.add_argument("--budget", type=float, help="total seconds (default 480, quick 240)")
    ap.add_argument("--live-seconds", type=int, help="P2 generator run (default 15, quick 8)")
    ap.add_argument("--outage", type=int, help="P3 outage seconds (default 60, quick 10)")
    ap.add_argument("--outage-mode", choices=["close", "503"], default="close")
    ap.add_argument("--outage-rate", type=int, default=10000, help="P3 lines/s during outage")
    ap.add_argument("--idle", type=int, help="P4 idle seconds (default 60, quick 10)")
    ap.add_argument("--settle", type=float, default=1.5,
                    help="seconds between skiff start and the first live line")
    a = ap.parse_args()
    q = a.quick
    a.repeats = a.repeats or (1 if q else 3)
    a.p3_repeats = 1
    # `make bench` must finish in 10 minutes including its Release build
    # (about 30-90 s on 2 busy cores); the default plan itself takes about
    # 300 s there, so the budget only bites on a machine that is much slower.
    a.budget = a.budget or (240 if q else 480)
    a.live_seconds = a.live_seconds or (8 if q else 15)
    a.outage = a.outage or (10 if q else 60)
    a.idle = a.idle or (10 if q else 60)
    return a


def main():
    args = parse_args()
    os.makedirs(WORK, exist_ok=True)
    b = Bench(args)
    crashed = False
    try:
        b.run()
    except KeyboardInterrupt:
        log("interrupted; writing what was measured")
    except Exception:  # a runner bug: still report what was measured
        crashed = True
        log("runner error; writing what was measured:\n" + traceback.format_exc())
    finally:
        if b.sink is not None:
            b.sink.stop()
    b.write()
    if crashed:
        return 2
    # Skipped workloads are reported, not fatal; a wrong delivery is.
    failed = [n for n, w in {**b.results["baselines"], **b.results["workloads"]}.items()
              if not w["summary"]["verified"]]
    if failed:
        log(f"verification failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
