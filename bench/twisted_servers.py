"""The Python Twisted servers of bench/harness.py: `echo` and `hello`.

    python twisted_servers.py echo|hello

Listens on 127.0.0.1, port 0, and prints `listening on 127.0.0.1:PORT` like
every server in the harness. Static files are served by `twist web` itself.
"""
import sys

from twisted.internet import protocol, reactor
from twisted.web import resource, server


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"hello\n"


def main():
    kind = sys.argv[1]
    if kind == "echo":
        factory = protocol.Factory.forProtocol(Echo)
    elif kind == "hello":
        factory = server.Site(Hello())
        factory.log = lambda request: None  # no access log, like the other servers
    else:
        sys.exit(f"unknown server {kind}")
    port = reactor.listenTCP(0, factory, backlog=1024, interface="127.0.0.1")
    print(f"listening on 127.0.0.1:{port.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
