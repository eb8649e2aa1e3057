"""Starting and stopping the servers under test, for bench/harness.py.

Every server runs pinned to one CPU (`taskset -c 1` on a 2-core machine), listens on 127.0.0.1
and is stopped by its own PID. Servers that can bind port 0 announce
`listening on 127.0.0.1:PORT`; nginx and `twist web` get a free port picked
here. nginx runs from a generated configuration in a temporary directory.
"""
import os
import re
import signal
import socket
import subprocess
import time

ANNOUNCE = re.compile(rb"127\.0\.0\.1:(\d+)")
# Servers on the last CPU this process may use, the load generator on the
# first (CPU 1 and CPU 0 on a 2-core machine; the same CPU on a 1-core one).
CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPU, LOAD_CPU = str(CPUS[-1]), str(CPUS[0])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_connectable(port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """One running server process; `pid` is the process doing the work."""

    def __init__(self, name, argv, port=None, cpu=SERVER_CPU, wrap=(), cwd=None, worker_child=False):
        self.name = name
        self.proc = subprocess.Popen(
            ["taskset", "-c", cpu, *wrap, *argv],
            stdout=subprocess.PIPE if port is None else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
        )
        deadline = time.monotonic() + 60
        if port is None:
            line = self.proc.stdout.readline()
            match = ANNOUNCE.search(line)
            if not match:
                self.stop()
                raise RuntimeError(f"{name} did not announce its port: {line!r}")
            port = int(match.group(1))
        if not wait_connectable(port, deadline):
            self.stop()
            raise RuntimeError(f"{name} is not accepting on port {port}")
        self.port = port
        self.addr = f"127.0.0.1:{port}"
        self.pid = self.proc.pid
        if worker_child:
            self.pid = self._only_child()

    def _only_child(self):
        path = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
        for _ in range(100):
            with open(path) as f:
                children = f.read().split()
            if children:
                return int(children[0])
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} started no worker")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


NGINX_CONF = """
user root root;
worker_processes 1;
{master}
daemon off;
error_log {tmp}/error.log crit;
pid {tmp}/nginx.pid;
worker_rlimit_nofile 65536;
events {{ worker_connections 20000; multi_accept on; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    types {{ application/octet-stream bin; }}
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = / {{ default_type "text/plain; charset=utf-8"; return 200 "hello\\n"; }}
    }}
}}
"""


class Layout:
    """Where the binaries are, and the temporary files servers need."""

    def __init__(self, root, profile, tmp):
        self.root = root
        self.gyre = os.path.join(root, "target", profile)
        self.peers = os.path.join(root, "bench", "peers", "target", "release")
        self.python = os.path.join(root, ".venv-peers", "bin", "python")
        self.twist = os.path.join(root, ".venv-peers", "bin", "twist")
        self.tmp = tmp
        self.files = os.path.join(tmp, "files")
        os.makedirs(self.files, exist_ok=True)
        for name, size in (("4k.bin", 4096), ("1m.bin", 1 << 20)):
            with open(os.path.join(self.files, name), "wb") as f:
                f.write(os.urandom(size))
        self.cert = os.path.join(tmp, "chain.pem")
        self.key = os.path.join(tmp, "key.pem")
        self.ca = os.path.join(tmp, "ca.pem")

    def make_certificates(self):
        """A test CA and a P-256 server certificate for localhost/127.0.0.1."""
        if os.path.exists(self.cert):
            return
        t = self.tmp
        run = lambda *a: subprocess.run(a, check=True, capture_output=True)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "2", "-subj", "/CN=bench CA", "-keyout", f"{t}/ca.key",
            "-out", self.ca, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=localhost", "-keyout", self.key, "-out", f"{t}/server.csr")
        with open(f"{t}/ext", "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        run("openssl", "x509", "-req", "-in", f"{t}/server.csr", "-CA", self.ca,
            "-CAkey", f"{t}/ca.key", "-CAcreateserial", "-days", "2", "-out", self.cert,
            "-extfile", f"{t}/ext")

    def nginx(self, wrap=()):
        port = free_port()
        conf = os.path.join(self.tmp, "nginx.conf")
        # Under valgrind nginx runs as one process (no master) so the
        # instruction count is the process serving the requests.
        master = "master_process off;" if wrap else ""
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(tmp=self.tmp, port=port, root=self.files, master=master))
        argv = ["nginx", "-p", self.tmp, "-c", conf]
        return Server("nginx", argv, port=port, wrap=wrap, worker_child=not wrap)

    def start(self, kind, name, wrap=()):
        """Starts server `name` of workload family `kind`."""
        g, p = self.gyre, self.peers
        local = "tcp:0:interface=127.0.0.1"
        tls = ["--cert", self.cert, "--key", self.key]
        table = {
            # Like nginx (access log off), gyre's command-line servers log
            # warnings only: no per-request or per-connection events.
            ("echo", "gyre"): [f"{g}/gyre", "--log-level", "warn", "echo", "--listen", local],
            ("echo", "mio"): [f"{p}/mio_echo"],
            ("echo", "tokio"): [f"{p}/tokio_echo"],
            ("echo", "Twisted"): [self.python, f"{self.root}/bench/twisted_servers.py", "echo"],
            ("hello", "gyre"): [f"{g}/examples/http_hello", "--listen", local],
            ("hello", "hyper"): [f"{p}/hyper_hello"],
            ("hello", "Twisted"): [self.python, f"{self.root}/bench/twisted_servers.py", "hello"],
            ("static", "gyre"): [f"{g}/gyre", "--log-level", "warn", "web", "--path", self.files,
                                 "--listen", local],
            ("tls", "gyre"): [f"{g}/examples/tls_echo_server", "--listen", "127.0.0.1:0", *tls],
            ("tls", "tokio-rustls"): [f"{p}/tokio_rustls_echo", *tls],
        }
        if name == "nginx":
            return self.nginx(wrap)
        if (kind, name) == ("static", "Twisted"):
            port = free_port()
            argv = [self.twist, "web", "--listen", f"tcp:{port}:interface=127.0.0.1",
                    "--path", self.files]
            return Server(name, argv, port=port, wrap=wrap)
        return Server(name, table[(kind, name)], wrap=wrap)
