"""A test peer for the gyre HTTP client: Python's http.server over
127.0.0.1 (HTTP/1.1, keep-alive), optionally over TLS. It counts the
connections it accepted so tests can prove reuse, and prints
`PORT <n>` once listening.

usage: client_peer_server.py [CERT KEY]
"""
import gzip
import ssl
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

connections = 0
lock = threading.Lock()


def read_chunked(rfile):
    body = b""
    while True:
        size = int(rfile.readline().split(b";")[0], 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b""):
                pass
            return body
        body += rfile.read(size)
        rfile.readline()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        global connections
        with lock:
            connections += 1
        super().setup()

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.route(b"")

    def do_HEAD(self):
        self.route(b"")

    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.route(body)

    do_PUT = do_POST

    def route(self, body):
        path = self.path
        if path == "/count":
            self.answer(200, str(connections).encode())
        elif path == "/gzip":
            self.answer(200, gzip.compress(b"gzipped " * 1000), [("Content-Encoding", "gzip")])
        elif path == "/deflate":
            self.answer(200, zlib.compress(b"deflated " * 1000), [("Content-Encoding", "deflate")])
        elif path.startswith("/redirect/"):
            left = int(path.split("/")[2])
            target = "/redirect/%d" % (left - 1) if left > 1 else "/echo"
            self.answer(302, b"moved", [("Location", target)])
        elif path == "/see-other":
            self.answer(303, b"", [("Location", "http://127.0.0.1:%d/echo" % self.server.server_port)])
        elif path == "/set-cookie":
            self.answer(200, b"ok", [("Set-Cookie", "flavour=oat; Path=/; Max-Age=60")])
        elif path == "/show-cookie":
            self.answer(200, (self.headers.get("Cookie") or "none").encode())
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"abc", b"defg", b"h" * 5000):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/echo":
            self.answer(200, ("%s %d %s" % (self.command, len(body), body[:16].decode("latin-1"))).encode())
        elif path == "/big":
            self.answer(200, b"x" * 1_000_000)
        else:
            self.answer(200, b"hello")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if len(sys.argv) == 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print("PORT %d" % server.server_port, flush=True)
server.serve_forever()
