"""A Python Twisted AMP peer for gyre's interop tests (amp_interop_twisted.rs).

The test writes this file into a temporary directory and runs it with the
Twisted of .venv-peers:

    twisted_peer.py server tcp            listen on 127.0.0.1, print "listening on PORT"
    twisted_peer.py server unix PATH      listen on a Unix socket, print "listening on PATH"
    twisted_peer.py client tcp PORT       call a gyre server with every argument type and error case
    twisted_peer.py client unix PATH      pass file descriptors both ways with a gyre server
    twisted_peer.py calculator PORT       call the amp_calculator example (Sum, Divide)

Clients print "ok <check>" per check and "all checks passed" at the end;
any mismatch raises, so the process exits non-zero.
"""

import datetime
import decimal
import os
import struct
import sys

from twisted.internet import defer, endpoints, protocol, reactor, task
from twisted.protocols import amp
from twisted.python.filepath import FilePath


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Divide(amp.Command):
    arguments = [(b"numerator", amp.Integer()), (b"denominator", amp.Integer())]
    response = [(b"result", amp.Float())]
    errors = {ZeroDivisionError: b"ZERO_DIVISION"}


ROW = [(b"a", amp.Integer()), (b"b", amp.Unicode())]
EVERYTHING = [
    (b"i", amp.Integer()),
    (b"big", amp.Integer()),
    (b"s", amp.String()),
    (b"u", amp.Unicode()),
    (b"x", amp.Float()),
    (b"b", amp.Boolean()),
    (b"d", amp.Decimal()),
    (b"t", amp.DateTime()),
    (b"l", amp.ListOf(amp.Integer())),
    (b"rows", amp.AmpList(ROW)),
    (b"maybe", amp.Integer(optional=True)),
    (b"maybe_set", amp.Integer(optional=True)),
    (b"first-name", amp.Unicode()),
    (b"path", amp.Path()),
    (b"floats", amp.ListOf(amp.Float())),
    (b"decimals", amp.ListOf(amp.Decimal())),
    (b"times", amp.ListOf(amp.DateTime())),
    (b"flags", amp.ListOf(amp.Boolean())),
    (b"blobs", amp.ListOf(amp.String())),
]


class Echo(amp.Command):
    """Answers its arguments back, and whether they were the expected ones."""

    arguments = EVERYTHING
    response = EVERYTHING + [(b"matches", amp.Boolean())]


class Fail(amp.Command):
    """The responder fails with an error the command does not declare."""

    arguments = [(b"why", amp.Unicode())]


class Nope(amp.Command):
    """Nobody answers this one."""


class Log(amp.Command):
    arguments = [(b"message", amp.Unicode())]
    requiresAnswer = False


class Heard(amp.Command):
    response = [(b"messages", amp.ListOf(amp.Unicode()))]


class Greet(amp.Command):
    """The responder writes the label into the passed descriptor."""

    arguments = [(b"label", amp.Unicode()), (b"fd", amp.Descriptor())]


class Pipe(amp.Command):
    """The responder answers with the read end of a pipe holding the text."""

    arguments = [(b"text", amp.Unicode())]
    response = [(b"fd", amp.Descriptor())]


def tz(minutes):
    return datetime.timezone(datetime.timedelta(minutes=minutes))


EXPECTED = {
    "i": -(2**63),
    "big": 2**127 - 1,
    "s": b"\x00\xffbin\r\n",
    "u": "h\u00e9llo \u2603 \U0001F600",
    "x": 0.1,
    "b": True,
    "d": decimal.Decimal("-1.50"),
    "t": datetime.datetime(2012, 1, 23, 12, 34, 56, 54321, tzinfo=tz(-330)),
    "l": [1, -2, 3],
    "rows": [{"a": 7, "b": "x"}, {"a": -1, "b": ""}],
    "maybe": None,
    "maybe_set": 5,
    "first_name": "Ada",
    "path": FilePath("/tmp/h\u00e9llo"),
    "floats": [float("nan"), float("inf"), float("-inf"), 1e-05, 1e16, -0.0, 5e-324],
    "decimals": [decimal.Decimal(x) for x in ["1E+2", "NaN", "-Infinity", "sNaN12", "0E-7", "12345678901234567890.123"]],
    "times": [
        datetime.datetime(1, 1, 1, tzinfo=tz(0)),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=tz(1439)),
    ],
    "flags": [True, False],
    "blobs": [b"", b"\x00"],
}


def canon(value):
    """A comparable form: exact float bits, Decimal text, datetime with offset."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, decimal.Decimal):
        return ("decimal", str(value))
    if isinstance(value, datetime.datetime):
        return ("datetime", value.isoformat())
    if isinstance(value, FilePath):
        return ("path", value.path)
    if isinstance(value, list):
        return [canon(v) for v in value]
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    return value


def check(name, condition, detail=""):
    if not condition:
        raise AssertionError("check failed: %s %s" % (name, detail))
    print("ok", name, flush=True)


class Peer(amp.AMP):
    heard = None

    def connectionMade(self):
        super().connectionMade()
        self.heard = []

    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}

    @Divide.responder
    def divide(self, numerator, denominator):
        return {"result": numerator / denominator}

    @Echo.responder
    def echo(self, **arguments):
        matches = canon(arguments) == canon(EXPECTED)
        if not matches:
            print("echo mismatch:", arguments, file=sys.stderr, flush=True)
        return dict(arguments, matches=matches)

    @Fail.responder
    def fail(self, why):
        raise RuntimeError(why)

    @Log.responder
    def log(self, message):
        self.heard.append(message)
        return {}

    @Heard.responder
    def heard_messages(self):
        return {"messages": self.heard}

    @Greet.responder
    def greet(self, label, fd):
        os.write(fd, label.encode("utf-8"))
        os.close(fd)
        return {}

    @Pipe.responder
    def pipe(self, text):
        read_end, write_end = os.pipe()
        os.write(write_end, text.encode("utf-8"))
        os.close(write_end)
        # Twisted passes the descriptor after this returns; close it later.
        reactor.callLater(5, os.close, read_end)
        return {"fd": read_end}


class Client(amp.AMP):
    def __init__(self):
        super().__init__()
        self.lost = defer.Deferred()

    def connectionLost(self, reason):
        super().connectionLost(reason)
        self.lost.callback(None)


def serve(kind, path=None):
    factory = protocol.Factory.forProtocol(Peer)
    if kind == "tcp":
        endpoint = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    else:
        endpoint = endpoints.UNIXServerEndpoint(reactor, path)

    def listening(port):
        address = port.getHost()
        print("listening on", address.port if kind == "tcp" else path, flush=True)

    endpoint.listen(factory).addCallback(listening).addErrback(lambda f: (print(f, file=sys.stderr), reactor.stop()))
    reactor.run()


async def expect_failure(name, deferred, error_type, description=None):
    try:
        await deferred
    except error_type as error:
        if isinstance(error, amp.RemoteAmpError):
            got = error.description
        elif isinstance(error, amp.UnhandledCommand):
            got = error.args[1]
        else:
            got = str(error)
        check(name, description is None or got == description, repr(got))
    else:
        raise AssertionError("%s: expected %s" % (name, error_type.__name__))


async def client_tcp(reactor, port):
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    peer = await endpoints.connectProtocol(endpoint, Client())
    check("sum", (await peer.callRemote(Sum, a=13, b=81))["total"] == 94)
    check("divide", (await peer.callRemote(Divide, numerator=1, denominator=8))["result"] == 0.125)
    echoed = await peer.callRemote(Echo, **EXPECTED)
    check("echo matches on the gyre side", echoed.pop("matches") is True)
    check("echo comes back unchanged", canon(echoed) == canon(EXPECTED), repr(echoed))
    await expect_failure("declared error", peer.callRemote(Divide, numerator=1, denominator=0),
                         ZeroDivisionError, "division by zero")
    await expect_failure("unknown command", peer.callRemote(Nope), amp.UnhandledCommand,
                         "Unhandled Command: b'Nope'")
    peer.callRemote(Log, message="hello")
    peer.callRemote(Log, message="w\u00f6rld")
    check("no-answer commands arrive", (await peer.callRemote(Heard))["messages"] == ["hello", "w\u00f6rld"])
    await expect_failure("undeclared failure", peer.callRemote(Fail, why="boom"), amp.UnknownRemoteError)
    await peer.lost
    check("the server closed after the undeclared failure", True)
    print("all checks passed", flush=True)


async def client_unix(reactor, path):
    endpoint = endpoints.UNIXClientEndpoint(reactor, path)
    peer = await endpoints.connectProtocol(endpoint, Client())
    for label in ["first", "second"]:
        read_end, write_end = os.pipe()
        await peer.callRemote(Greet, label=label, fd=write_end)
        os.close(write_end)
        check("greet " + label, os.read(read_end, 100) == label.encode())
        os.close(read_end)
    answer = await peer.callRemote(Pipe, text="from gyre?")
    check("a descriptor in a response", os.read(answer["fd"], 100) == b"from gyre")
    os.close(answer["fd"])
    peer.transport.loseConnection()
    await peer.lost
    print("all checks passed", flush=True)


async def calculator(reactor, port):
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    peer = await endpoints.connectProtocol(endpoint, Client())
    check("sum", (await peer.callRemote(Sum, a=13, b=81))["total"] == 94)
    check("divide", (await peer.callRemote(Divide, numerator=1, denominator=8))["result"] == 0.125)
    await expect_failure("declared error", peer.callRemote(Divide, numerator=1, denominator=0),
                         ZeroDivisionError, "division by zero")
    await expect_failure("unknown command", peer.callRemote(Nope), amp.UnhandledCommand,
                         "Unhandled Command: b'Nope'")
    await expect_failure("undeclared failure", peer.callRemote(Sum, a=2**63 - 1, b=1), amp.UnknownRemoteError)
    await peer.lost
    print("all checks passed", flush=True)


def main(argv):
    mode = argv[1]
    if mode == "server":
        serve(argv[2], argv[3] if len(argv) > 3 else None)
    elif mode == "client" and argv[2] == "tcp":
        task.react(lambda r: defer.ensureDeferred(client_tcp(r, int(argv[3]))))
    elif mode == "client" and argv[2] == "unix":
        task.react(lambda r: defer.ensureDeferred(client_unix(r, argv[3])))
    elif mode == "calculator":
        task.react(lambda r: defer.ensureDeferred(calculator(r, int(argv[2]))))
    else:
        raise SystemExit("unknown mode")


if __name__ == "__main__":
    main(sys.argv)
