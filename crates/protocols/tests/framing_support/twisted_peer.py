"""A Twisted peer for gyre's framing interop tests.

    twisted_peer.py client KIND PORT   Twisted client -> the gyre server on PORT
    twisted_peer.py server KIND        Twisted echo server; prints "PORT n", then serves one client

KIND is line, netstring, int32, int16 or int8: the matching receiver of
twisted.protocols.basic. Both roles exchange the frames of payloads() (2,000
small ones and one just at the receiving limit); the line kind also sends a
100,000-byte raw blob announced by "BLOB n" (raw mode, with the next line in
the same write), and the client checks that an over-long frame makes the
gyre server close. The client prints OK or FAIL with the reason.
"""

import sys

from twisted.internet import protocol, reactor
from twisted.protocols import basic

role, kind = sys.argv[1], sys.argv[2]
BASES = {
    "line": basic.LineReceiver,
    "netstring": basic.NetstringReceiver,
    "int32": basic.Int32StringReceiver,
    "int16": basic.Int16StringReceiver,
    "int8": basic.Int8StringReceiver,
}
# The largest frame each side accepts by default (Twisted's MAX_LENGTH, or the prefix).
LARGE = {"line": 16384, "netstring": 99999, "int32": 99999, "int16": 65535, "int8": 255}
# One byte over the receiving limit, where the prefix can say so.
OVER = {"line": 16385, "netstring": 100000, "int32": 100000}
BLOB = bytes((i * 7) % 256 for i in range(100000))


def fnv(data):
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def payloads():
    frames = [b"frame %d %s" % (i, b"x" * (i % 50)) for i in range(2000)]
    frames.insert(1000, b"L" * LARGE[kind])
    return [b""] + frames


class Framed(BASES[kind]):
    def send(self, data):
        if kind == "line":
            self.sendLine(data)
        else:
            self.sendString(data)

    def lineReceived(self, line):
        self.frame(line)

    def stringReceived(self, string):
        self.frame(string)


failures = []


def finish():
    print("FAIL " + "; ".join(failures) if failures else "OK", flush=True)
    reactor.stop()


class Client(Framed):
    """Sends every payload, expects each echoed, then tries an over-long frame."""

    def connectionMade(self):
        self.got = []
        self.expected = payloads()
        if self.factory.phase == "over":
            self.send(b"O" * OVER[kind])
            self.send(b"after the long one")
            self.expected = []
            return
        if kind == "line":
            self.transport.write(b"BLOB %d\r\n" % len(BLOB) + BLOB + b"after blob\r\n")
            self.expected = [b"BLOB %d %d" % (len(BLOB), fnv(BLOB)), b"after blob"] + self.expected
        for payload in payloads():
            self.send(payload)

    def frame(self, data):
        self.got.append(data)
        if len(self.got) == len(self.expected):
            self.transport.loseConnection()

    def connectionLost(self, reason):
        if self.got != self.expected:
            first = next((i for i, (a, b) in enumerate(zip(self.got, self.expected)) if a != b), None)
            failures.append(
                "%s phase: got %d of %d frames, first difference at %s"
                % (self.factory.phase, len(self.got), len(self.expected), first)
            )
        if self.factory.phase == "echo" and kind in OVER:
            connect("over")
        else:
            finish()


def connect(phase):
    factory = protocol.ClientFactory.forProtocol(Client)
    factory.phase = phase
    factory.clientConnectionFailed = lambda connector, reason: (failures.append(str(reason)), finish())
    reactor.connectTCP("127.0.0.1", int(sys.argv[3]), factory, timeout=10)


class Server(Framed):
    """Echoes every frame; handles BLOB in raw mode and OVERSIZE."""

    def frame(self, data):
        if kind == "line" and data.startswith(b"BLOB "):
            self.blob, self.left = b"", int(data[5:])
            self.setRawMode()
        elif data == b"OVERSIZE":
            self.send(b"O" * OVER[kind])
        else:
            self.send(data)

    def rawDataReceived(self, data):
        body, rest = data[: self.left], data[self.left :]
        self.blob += body
        self.left -= len(body)
        if self.left == 0:
            self.sendLine(b"BLOB %d %d" % (len(self.blob), fnv(self.blob)))
            self.setLineMode(rest)

    def connectionLost(self, reason):
        reactor.stop()


if role == "client":
    connect("echo")
else:
    port = reactor.listenTCP(0, protocol.ServerFactory.forProtocol(Server), interface="127.0.0.1")
    print("PORT %d" % port.getHost().port, flush=True)
reactor.callLater(60, lambda: (failures.append("timed out"), finish()))
reactor.run()
