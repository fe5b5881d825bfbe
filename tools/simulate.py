"""`tickwire simulate`: the full RTL running in Verilator, served as a card on a Unix socket.

Why: the daemon, the CLI and firmware-style tools can then talk to the real gateware
(`open_device("sim:unix:PATH")`) exactly as to a board, with the clock running.

    tickwire simulate --listen unix:/tmp/tw.sock [--feed FILE [--loop]] [--uart-tcp PORT]
                      [--via axi|pcie]

The design is tickwire.rtl.top.TickwireCore built with the native harness
(tools/build/harness). Requests on the socket use the harness's register protocol
(control/transport/sim.py: r, w, b, B, c), forwarded to the simulator one at a time;
any number of clients may connect. Between requests a clock thread advances the
simulation in chunks, paced to --cycles-per-sec of simulated clock per wall second
(0: as fast as it goes), so the hardware clock and the risk watchdog move in simulated
time. --feed replays a raw ITCH BinaryFILE as MoldUDP64 frames (feed A endpoint) in
XGMII beats on port A at line rate (one beat per cycle; --loop starts it again with
continuing sequence numbers). A looping feed is the same session again, so its orders
would be added a second time on top of the live ones (collisions, unreliable books):
between passes the queue is drained and the books are flushed (book.sub_cmd FLUSH, as
at a start of day; subscriptions are kept) before the next pass is queued. Output
stream beats are fetched and counted, not kept.
SIGTERM/SIGINT stop it; the socket is removed.

Host links: register requests reach the bank through the AXI4-Lite slave, or with
--via pcie as UltraScale+ CQ memory requests to BAR0 through the PCIe completer
(completions checked by the harness). --uart-tcp PORT (0: any free port) listens on
127.0.0.1 and is the card's serial line: bytes from the TCP client are serialised
onto uart_rx at the gateware's bit time and bytes from uart_tx go back, so
`open_device("uart:socket://127.0.0.1:PORT")` talks to the UART bridge gateware byte
by byte, in simulated time (one client at a time, like a real cable). The bound
address is printed as "uart tcp:127.0.0.1:PORT" before the "listening" line.
"""
import contextlib
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
from tickwire.control.regmap import REGS as _REGS  # noqa: E402
BOOK_SUB_CMD = _REGS["book.sub_cmd"].addr
PUSH_BLOCK = 16384
NEW_PASS = "new pass"          # feed_blocks marker between two passes of a looping feed
from tickwire.control.regmap import BOOK_SUB_CMD_FLUSH as FLUSH  # noqa: E402  empties every book
PASS_DWELL_S = 0.5             # a finished pass's book stays readable before the flush
DRAIN_CYCLES = 256             # queue empty -> last message through the pipeline


def add_arguments(p):
    from tickwire.rtl.config import add_build_arg
    add_build_arg(p)
    p.add_argument("--listen", required=True, metavar="unix:PATH",
                   help="where to serve the card (a Unix socket path)")
    p.add_argument("--feed", type=Path, metavar="FILE",
                   help="raw ITCH 5.0 BinaryFILE (.gz ok) replayed into XGMII port A")
    p.add_argument("--loop", action="store_true", help="replay the feed forever")
    p.add_argument("--uart-tcp", type=int, metavar="PORT",
                   help="serve the UART bridge's serial line on 127.0.0.1:PORT (0: any free port)")
    p.add_argument("--via", choices=("axi", "pcie"), default="axi",
                   help="register path for sim: requests: AXI4-Lite (default) or PCIe BAR0 TLPs")
    p.add_argument("--cycles-per-sec", type=float, default=1e6, metavar="N",
                   help="simulated cycles per wall-clock second (default 1e6; 0 = flat out)")


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
    so a looping feed looks like one long session rather than a rewind; NEW_PASS is
    yielded between passes (the card's books are flushed there)."""
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
        yield NEW_PASS


class SimCard:
    """The harness client plus the lock that serialises requests and clock chunks."""

    def __init__(self, client, flush_cycles=0):
        self.client = client
        self.lock = threading.Lock()
        self.waiting = 0            # request threads queued for the lock (clock loop yields)
        self.count_lock = threading.Lock()
        self.out_beats = {}
        self.failed = False
        self.flush_cycles = flush_cycles  # a FLUSH sweeps at most this many cycles
        self.flush_pending = False        # NEW_PASS seen: flush once the queue is empty
        # A finished pass's book stays up this long (wall time, idle cycles clocked)
        # before the flush, so clients polling the card see whole books, not only the
        # flush's empty ones.
        self.dwell = PASS_DWELL_S
        self.drained_at = None
        self.passes = 1
        self.uart = None            # UartLine when --uart-tcp

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
        with self.request_lock():
            self.client.sock.sendall(req)
            status = self._recv(1)
            return status + (self._recv(reply_len) if status == b"\0" else b"")

    def step(self, cycles, feed):
        """Top the beat queue up from `feed`, run `cycles`, drop output beats. False: feed done."""
        more = True
        with self.lock:
            if feed is not None:
                queued = self.client.cycle()[1]
                if self.flush_pending and queued == 0 and self.drained_at is None:
                    self.drained_at = time.monotonic()
                if (self.flush_pending and queued == 0
                        and time.monotonic() - self.drained_at >= self.dwell):
                    # the whole sweep under the lock: the book drops a sub_cmd strobe that
                    # arrives while a command runs, so no client request may land in it
                    self.drained_at = None
                    self.client.run(DRAIN_CYCLES)
                    self.client.write32(BOOK_SUB_CMD, FLUSH)
                    self.client.run(self.flush_cycles)
                    self.flush_pending = False
                    self.passes += 1
                elif not self.flush_pending and queued < PUSH_BLOCK:
                    block = next(feed, None)
                    if block is None:
                        more = False
                    elif block is NEW_PASS:
                        self.flush_pending = True
                    else:
                        self.client.push(block)
            self.client.run(cycles)
            if self.client.streams:
                for name, recs in self.client.fetch().items():
                    self.out_beats[name] = self.out_beats.get(name, 0) + len(recs)
            uart_out = self.client.uart_recv() if self.uart is not None else b""
        if uart_out:
            self.uart.to_client(uart_out)
        return more

    def uart_send(self, data):
        with self.request_lock():
            self.client.uart_send(data)

    @contextlib.contextmanager
    def request_lock(self):
        """The lock, for a request: the clock loop steps aside while any request waits
        (a plain Lock is not fair, and the loop would otherwise re-take it at once)."""
        with self.count_lock:
            self.waiting += 1
        with self.lock:
            with self.count_lock:
                self.waiting -= 1
            yield


class UartLine:
    """The card's serial line on TCP: one client at a time, bytes both ways."""

    def __init__(self, card, port, log):
        self.card, self.log = card, log
        self.ls = socket.create_server(("127.0.0.1", port))
        self.port = self.ls.getsockname()[1]
        self.conn = None
        self.conn_lock = threading.Lock()
        card.uart = self

    def serve(self, stop):
        self.ls.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.conn_lock:
                old, self.conn = self.conn, conn
            if old is not None:
                old.close()             # a new client takes the line over
            threading.Thread(target=self._pump, args=(conn, stop), daemon=True).start()

    def _pump(self, conn, stop):
        conn.settimeout(0.2)
        while not stop.is_set():
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                self.card.uart_send(data)
            except (OSError, ConnectionError, RuntimeError):
                break
        with self.conn_lock:
            if self.conn is conn:
                self.conn = None
        conn.close()

    def to_client(self, data):
        with self.conn_lock:
            conn = self.conn
        if conn is None:
            return                      # nobody on the line: the bytes are lost, as on a wire
        try:
            conn.sendall(data)
        except OSError:
            pass

    def close(self):
        self.ls.close()
        with self.conn_lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None


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
    interval = 0.005            # a request waits for at most one chunk: keep it short
    want = max(1, int(rate * interval)) if rate else 5000
    chunk, speed = min(want, 1000), None
    t_next = time.monotonic()
    while not stop.is_set():
        deadline = time.monotonic() + 0.5
        while card.waiting and time.monotonic() < deadline:
            time.sleep(0.0002)          # requests first; the clock resumes when they are served
        try:
            t0 = time.monotonic()
            if not card.step(chunk, feed):
                log("feed: replay finished")
                feed = None
            # The full core simulates at ~1e5 cycles/s: size chunks by wall time, so
            # a register request or a UART byte never queues behind a long chunk.
            took = time.monotonic() - t0
            if took > 0:
                s = chunk / took
                speed = s if speed is None else 0.8 * speed + 0.2 * s
                chunk = max(64, min(want, int(speed * interval)))
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
                time.sleep(0)                   # let request threads take the lock
        else:
            time.sleep(0)


def run(args):
    path = _parse_listen(args.listen)
    log = lambda msg: print(f"tickwire simulate: {msg}", file=sys.stderr, flush=True)  # noqa: E731
    if args.loop and not args.feed:
        raise ValueError("--loop needs --feed")
    if args.uart_tcp is not None and not 0 <= args.uart_tcp < 65536:
        raise ValueError(f"--uart-tcp {args.uart_tcp}: not a TCP port")
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
        from tickwire.tools.build.harness import build_native
        log("building the RTL (cached after the first run)...")
        from tickwire.rtl.config import build
        core = TickwireCore(build(args.build))
        sim = build_native(core, "tw_core" if args.build == "sim" else f"tw_core_{args.build}")
        feed = None
        if args.feed:
            if not sim.ports.has_xgmii:
                raise ValueError("--feed: this build of TickwireCore has no XGMII input yet")
            feed = feed_blocks(args.feed, args.loop)
        if stop.is_set():
            return 0
        if args.via == "pcie" and not sim.ports.has_pcie:
            raise ValueError("--via pcie: this build of TickwireCore has no PCIe endpoint")
        if args.uart_tcp is not None and not sim.ports.has_uart:
            raise ValueError("--uart-tcp: this build of TickwireCore has no UART bridge")
        # FLUSH sweeps one order-table set (or book level word) per cycle
        card = SimCard(sim.serve(), flush_cycles=core._order_book().flush_cycles + 8)
        # the book sweeps its tables after reset (book.busy); clients start after it
        from .engines.rtl_replay import settle_cycles
        card.client.run(settle_cycles(core.cfg))      # the build of `core` above
        server = uart = None
        try:
            if args.via == "pcie":
                card.client.route("pcie")
            if args.uart_tcp is not None:
                uart = UartLine(card, args.uart_tcp, log)
                threading.Thread(target=uart.serve, args=(stop,), daemon=True).start()
                baud = 156.25e6 / sim.ports.uart_divisor
                log(f"--uart-tcp {args.uart_tcp}: UART bridge on 127.0.0.1:{uart.port} "
                    f"({baud / 1e6:.3f} Mbaud in simulated time)")
                print(f"uart tcp:127.0.0.1:{uart.port}", flush=True)
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
            if uart is not None:
                uart.close()
            with card.lock:
                card.client.close()
            if os.path.exists(path):
                os.unlink(path)
        counts = ", ".join(f"{k} {v}" for k, v in card.out_beats.items())
        passes = f", feed passes: {card.passes}" if args.feed and args.loop else ""
        log("stopped" + (f" (output beats: {counts}{passes})" if counts else ""))
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
