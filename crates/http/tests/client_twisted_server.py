"""A Twisted web test peer: the files of a directory, each served by a
static File gzip-encoded for clients that accept it
(EncodingResourceWrapper), on 127.0.0.1.
Prints `PORT <n>` once listening.

usage: client_twisted_server.py DIR
"""
import os
import sys

from twisted.internet import reactor
from twisted.web.resource import EncodingResourceWrapper, Resource
from twisted.web.server import GzipEncoderFactory, Site
from twisted.web.static import File

# The wrapper applies to the resource it wraps, not to children a File
# finds itself, so every file gets its own.
root = Resource()
for name in os.listdir(sys.argv[1]):
    path = os.path.join(sys.argv[1], name)
    root.putChild(name.encode(), EncodingResourceWrapper(File(path), [GzipEncoderFactory()]))
port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
print("PORT %d" % port.getHost().port, flush=True)
reactor.run()
