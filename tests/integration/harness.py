"""Real processes for integration tests: nginx, skiff, and polling helpers.

Everything listens on 127.0.0.1 and lives in a temporary directory that the
test removes. No fixed sleeps: tests poll for the condition they need.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SKIFF_SRC", os.path.dirname(os.path.dirname(HERE)))
SHARED = os.environ.get("SKIFF_SHARED", os.path.join(SRC, "..", "shared"))


def skiff_bin():
    path = os.environ.get("SKIFF_BIN", os.path.join(SRC, "build", "skiff"))
    if not os.path.exists(path):
        raise RuntimeError("skiff binary not found at %s (set SKIFF_BIN)" % path)
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=30.0, interval=0.02, what="condition"):
    """Polls cond() until it returns a true value; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


class TempDir:
    def __init__(self, prefix="skiff-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


class Nginx:
    """A real nginx from Debian on a loopback port, logging to a temp dir."""

    def __init__(self, workdir, log_format=None):
        self.dir = workdir
        self.port = free_port()
        self.access_log = os.path.join(workdir, "access.log")
        os.makedirs(os.path.join(workdir, "html"), exist_ok=True)
        with open(os.path.join(workdir, "html", "index.html"), "w") as f:
            f.write("<h1>skiff test</h1>\n")
        fmt = log_format or ""
        log_line = "access_log %s%s;" % (self.access_log, " skiff" if fmt else " combined")
        conf = """
user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    {fmtdef}
    {log}
    server {{
        listen 127.0.0.1:{port};
        root {d}/html;
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
""".format(d=workdir, port=self.port, log=log_line,
           fmtdef=("log_format skiff '%s';" % fmt) if fmt else "")
        self.conf = os.path.join(workdir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["nginx", "-c", self.conf, "-p", self.dir, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(self._answers, timeout=20, what="nginx on port %d" % self.port)
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited: %s" % self.proc.stderr.read().decode())
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def get(self, path, agent="skiff-test/1.0", referer=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path))
        req.add_header("User-Agent", agent)
        if referer:
            req.add_header("Referer", referer)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def reopen_logs(self):
        os.kill(self.proc.pid, signal.SIGUSR1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Skiff:
    """The real skiff binary with a config file; stdout and log captured."""

    def __init__(self, workdir, config_text, name="skiff"):
        self.dir = workdir
        self.conf = os.path.join(workdir, name + ".conf")
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.log_path = os.path.join(workdir, name + ".log")
        with open(self.conf, "w") as f:
            f.write(config_text)
        self.proc = None

    def start(self, *extra):
        self.stdout = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen([skiff_bin(), "-c", self.conf, "--log", self.log_path] +
                                     list(extra), stdout=self.stdout, stderr=subprocess.STDOUT)
        wait_for(lambda: self._log_has("skiff") or self.proc.poll() is not None, timeout=20,
                 what="skiff to start")
        if self.proc.poll() is not None:
            raise RuntimeError("skiff exited at start (%d): %s" % (self.proc.returncode, self.log()))
        return self

    def _log_has(self, text):
        try:
            with open(self.log_path, errors="replace") as f:
                return text in f.read()
        except FileNotFoundError:
            return False

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def output_lines(self):
        with open(self.stdout_path, "rb") as f:
            return [l for l in f.read().decode("utf-8", "replace").split("\n") if l]

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=60):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("skiff did not stop within %ds; log:\n%s" % (timeout, self.log()))
        self.stdout.close()
        return code

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.stdout.close()


def run_skiff(*args, timeout=60):
    """Runs skiff to completion (e.g. --dry-run); returns (code, stdout, stderr)."""
    p = subprocess.run([skiff_bin()] + list(args), capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
