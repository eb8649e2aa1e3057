"""A Twisted web upstream for the gyre proxy tests, on 127.0.0.1.
Prints `PORT <n>` once listening.

/headers  the method, the path and the request headers as text,
          gzip-encoded for clients that accept it
/upload   POST: `LENGTH SHA256` of the body
"""
import hashlib

from twisted.internet import reactor
from twisted.web.resource import EncodingResourceWrapper, Resource
from twisted.web.server import GzipEncoderFactory, Site


class Headers(Resource):
    isLeaf = True

    def render(self, request):
        lines = [b"%s %s" % (request.method, request.uri)]
        for name, values in request.requestHeaders.getAllRawHeaders():
            for value in values:
                lines.append(name + b": " + value)
        request.setHeader(b"content-type", b"text/plain")
        return b"\n".join(lines) + b"\n"


class Upload(Resource):
    isLeaf = True

    def render_POST(self, request):
        body = request.content.read()
        return b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode())


root = Resource()
root.putChild(b"headers", EncodingResourceWrapper(Headers(), [GzipEncoderFactory()]))
root.putChild(b"upload", Upload())
port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
print("PORT %d" % port.getHost().port, flush=True)
reactor.run()
