"""An upstream for the gyre proxy tests: Python's http.server over
127.0.0.1 (HTTP/1.1). Prints `PORT <n>` once listening.

GET  /big/N      N deterministic bytes (i % 251), Content-Length
GET  /headers... the request line and headers as text
POST /upload...  `LENGTH SHA256` of the body (Content-Length or chunked)
"""
import hashlib
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def read_chunked(rfile, digest):
    length = 0
    while True:
        size = int(rfile.readline().split(b";")[0], 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b""):
                pass
            return length
        while size:
            data = rfile.read(min(size, 65536))
            digest.update(data)
            length += len(data)
            size -= len(data)
        rfile.readline()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/big/"):
            size = int(self.path[len("/big/"):])
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            block = bytes(i % 251 for i in range(251 * 256))
            sent = 0
            while sent < size:
                piece = block[: min(len(block), size - sent)]
                self.wfile.write(piece)
                sent += len(piece)
        else:
            text = self.requestline + "\n" + str(self.headers)
            self.answer(text.encode())

    def do_POST(self):
        digest = hashlib.sha256()
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            length = read_chunked(self.rfile, digest)
        else:
            length = 0
            remaining = int(self.headers.get("Content-Length", "0"))
            while remaining:
                data = self.rfile.read(min(remaining, 65536))
                digest.update(data)
                length += len(data)
                remaining -= len(data)
        self.answer(f"{length} {digest.hexdigest()}".encode())


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("PORT", server.server_address[1], flush=True)
server.serve_forever()
