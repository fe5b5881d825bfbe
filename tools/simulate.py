"""`tickwire simulate`: the full RTL running in Verilator, served as a card on a Unix socket.

Why: the daemon, the CLI and firmware-style tools can then talk to the real gateware
(`open_device("sim:unix:PATH")`) exactly as to a board, with the clock running.

    tickwire simulate --listen unix:/tmp/tw.sock [--feed FILE [--loop]] [--uart-tcp PORT]

The design is tickwire.rtl.top.TickwireCore built with the native harness
(tools/harness). Requests on the socket use the harness's register protocol
(control/transport/sim.py: r, w, b, B, c), forwarded to the simulator one at a time;
any number of clients may connect. Between requests a clock thread advances the
simulation in chunks, paced to --cycles-per-sec of simulated clock per wall second
(0: as fast as it goes), so the hardware clock and the risk watchdog move in simulated
time. --feed replays a raw ITCH BinaryFILE as MoldUDP64 frames (feed A endpoint) in
XGMII beats on port A at line rate (one beat per cycle; --loop starts it again with
continuing sequence numbers). Output stream beats are fetched and counted, not kept.
SIGTERM/SIGINT stop it; the socket is removed.
"""
import importlib.util
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from pathlib import Path

REQ = {ord("r"): (4, 12), ord("w"): (8, 8), ord("c"): (0, 16)}   # op -> (args, reply bytes)
from tickwire.control.transport.sim import MAX_BURST  # noqa: E402  (one limit, both ends)
PUSH_BLOCK = 16384


def add_arguments(p):
    p.add_argument("--listen", required=True, metavar="unix:PATH",
                   help="where to serve the card (a Unix socket path)")
    p.add_argument("--feed", type=Path, metavar="FILE",
                   help="raw ITCH 5.0 BinaryFILE (.gz ok) replayed into XGMII port A")
    p.add_argument("--loop", action="store_true", help="replay the feed forever")
    p.add_argument("--uart-tcp", type=int, metavar="PORT",
                   help="serve the UART bridge on TCP PORT (needs the rtl/uart gateware)")
    p.add_argument("--cycles-per-sec", type=float, default=1e6, metavar="N",
                   help="simulated cycles per wall-clock second (default 1e6; 0 = flat out)")


def _find_spec(name):
    try:
        return importlib.util.find_spec(name)
    except ImportError:
        return None


def _parse_listen(spec):
    scheme, _, path = spec.partition(":")
    if scheme != "unix" or not path:
        raise ValueError(f"--listen {spec!r}: expected unix:PATH")
    if len(os.fsencode(path)) >= 107:
        raise ValueError(f"--listen: socket path too long ({path})")
    return path


def feed_blocks(path, loop):
    """Beat blocks (lists of (d, c)) for the feed, again and again with `loop`.

    Each pass is re-framed with Mold sequence numbers continuing from the last pass,
    so a looping feed looks like one long session rather than a rewind."""
    from tickwire.model import xgmii
    from tickwire.tools.feeds import itch_file
    from tickwire.tools.feeds.moldfeed import build_feed
    messages = list(itch_file.read(path))
    if not messages:
        raise ValueError(f"--feed {path}: no messages")
    seq = 1
    while True:
        beats = xgmii.encode([f.data for f in build_feed(messages, first_seq=seq)]).beats
        seq += len(messages)
        for k in range(0, len(beats), PUSH_BLOCK):
            yield beats[k:k + PUSH_BLOCK]
        if not loop:
            return


class Card:
    """The harness client plus the lock that serialises requests and clock chunks."""

    def __init__(self, client):
        self.client = client
        self.lock = threading.Lock()
        self.out_beats = {}
        self.failed = False

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.client.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("simulator exited")
            buf += chunk
        return bytes(buf)

    def forward(self, req, reply_len):
        """Send one harness request, return its whole reply (status byte first)."""
        with self.lock:
            self.client.sock.sendall(req)
            status = self._recv(1)
            return status + (self._recv(reply_len) if status == b"\0" else b"")

    def step(self, cycles, feed):
        """Top the beat queue up from `feed`, run `cycles`, drop output beats. False: feed done."""
        more = True
        with self.lock:
            if feed is not None and self.client.cycle()[1] < PUSH_BLOCK:
                block = next(feed, None)
                if block is None:
                    more = False
                else:
                    self.client.push(block)
            self.client.run(cycles)
            if self.client.streams:
                for name, recs in self.client.fetch().items():
                    self.out_beats[name] = self.out_beats.get(name, 0) + len(recs)
        return more


class Handler(socketserver.BaseRequestHandler):
    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def handle(self):
        card = self.server.card
        try:
            while True:
                op = self._recv(1)
                if op[0] in REQ:
                    nargs, nreply = REQ[op[0]]
                    self.request.sendall(card.forward(op + self._recv(nargs), nreply))
                elif op in (b"b", b"B"):
                    addr, n = struct.unpack("<II", self._recv(8))
                    data = self._recv(4 * n) if op == b"B" and n <= MAX_BURST else b""
                    if n > MAX_BURST:
                        self.request.sendall(b"\3")
                        return                  # cannot resync after an oversized burst
                    reply = 4 * n if op == b"b" else 0
                    self.request.sendall(card.forward(op + struct.pack("<II", addr, n) + data, reply))
                else:
                    self.request.sendall(b"\2")
        except (EOFError, ConnectionError, OSError):
            return


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def clock_loop(card, stop, rate, feed, log):
    """Advance simulated time between requests, paced to `rate` cycles per wall second."""
    interval = 0.02
    chunk = max(1, int(rate * interval)) if rate else 20000
    t_next = time.monotonic()
    while not stop.is_set():
        try:
            if not card.step(chunk, feed):
                log("feed: replay finished")
                feed = None
        except (OSError, ConnectionError, RuntimeError) as exc:
            log(f"simulator failed: {exc}")
            card.failed = True
            stop.set()
            return
        if rate:
            t_next += interval
            delay = t_next - time.monotonic()
            if delay > 0:
                stop.wait(delay)
            else:
                t_next = time.monotonic()       # cannot keep up: run flat out, no backlog


def run(args):
    path = _parse_listen(args.listen)
    log = lambda msg: print(f"tickwire simulate: {msg}", file=sys.stderr, flush=True)  # noqa: E731
    if args.loop and not args.feed:
        raise ValueError("--loop needs --feed")
    if args.uart_tcp is not None:
        why = ("the UART bridge gateware (rtl/uart/bridge.py) is not in this build"
               if _find_spec("tickwire.rtl.uart.bridge") is None
               else "serving the UART bridge is not implemented yet")
        log(f"--uart-tcp {args.uart_tcp}: {why}; ignored")
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            raise ValueError(f"--listen: {path} is in use by another simulator")
        except (ConnectionRefusedError, FileNotFoundError):
            os.unlink(path)                 # stale socket from a killed run
        finally:
            probe.close()

    stop = threading.Event()
    old = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        from tickwire.rtl.top import TickwireCore
        from tickwire.tools.harness import build_native
        log("building the RTL (cached after the first run)...")
        sim = build_native(TickwireCore(), "tw_core")
        feed = None
        if args.feed:
            if not sim.ports.has_xgmii:
                raise ValueError("--feed: this build of TickwireCore has no XGMII input yet")
            feed = feed_blocks(args.feed, args.loop)
        if stop.is_set():
            return 0
        card = Card(sim.serve())
        server = None
        try:
            server = Server(path, Handler)
            server.card = card
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True).start()
            clock = threading.Thread(target=clock_loop, daemon=True,
                                     args=(card, stop, args.cycles_per_sec, feed, log))
            clock.start()
            print(f"listening unix:{path}", flush=True)
            while not stop.wait(0.5):
                pass
            clock.join(timeout=10)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            with card.lock:
                card.client.close()
            if os.path.exists(path):
                os.unlink(path)
        counts = ", ".join(f"{k} {v}" for k, v in card.out_beats.items())
        log("stopped" + (f" (output beats: {counts})" if counts else ""))
        return 1 if card.failed else 0
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def main(argv=None):
    """Standalone entry (`python -m tickwire.tools.simulate`), same as `tickwire simulate`."""
    import argparse
    ap = argparse.ArgumentParser(prog="tickwire simulate", description=__doc__.splitlines()[0])
    add_arguments(ap)
    args = ap.parse_args(argv)
    try:
        return run(args)
    except (OSError, ValueError) as exc:
        print(f"tickwire simulate: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
