"""Client for the harness's server mode: a running simulated card behind a Unix socket.

`twsim --serve FD|PATH` answers requests (little-endian; every reply starts with a
status byte, 0 = ok, 1 = bus timeout, 2 = unknown op):
  'r' u32 addr               -> u32 value, i64 cycle     read32
  'w' u32 addr, u32 data     -> i64 cycle                write32
  'b' u32 addr, u32 n        -> n x u32                  burst read (addr += 4)
  'B' u32 addr, u32 n, n x u32                           burst write
  'p' u32 n, n x u64 d, n x u8 c -> u64 queued           push XGMII beats
  'n' u64 n                  -> i64 cycle                run n cycles
  'f'                        -> u32 k, per stream: u32 m, m records (i64 cycle, payload)
  'c'                        -> i64 cycle, u64 queued    where are we
  'u' u32 n, n bytes         -> u64 queued               queue bytes for uart_rx
  'U'                        -> u32 n, n bytes           bytes deserialised from uart_tx
  'v' u8 route               -> (status only)            r/w/b/B via 0 AXI4-Lite, 1 PCIe
  'i'                        -> link statistics (see link_stats)
  'q'                        (server exits)
Status 2 also answers 'u'/'U'/'v' on a design without that link. Through PCIe a
read is a 1-dword CQ memory read to BAR0 whose CC completion must match (requester,
tag, SC status, byte count, lower address) or the request fails with status 1.
The clock only runs inside requests: bus transactions clock it until they complete,
consuming pushed beats like any other cycle (idle once the queue is empty).
"""
import socket
import struct
import subprocess
from array import array

from . import protocol


class SimClient:
    def __init__(self, sock, streams, proc=None):
        self.sock, self.streams, self.proc = sock, streams, proc

    @classmethod
    def spawn(cls, sim):
        """Run `sim`'s executable as a child on one end of a socketpair."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        proc = subprocess.Popen([str(sim.exe), "--serve", str(theirs.fileno())],
                                pass_fds=(theirs.fileno(),))
        theirs.close()
        return cls(ours, sim.ports.streams, proc)

    @classmethod
    def connect(cls, path, sim):
        """Attach to a server started with `twsim --serve PATH`."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        return cls(s, sim.ports.streams)

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("simulator closed the connection")
            buf += chunk
        return bytes(buf)

    def _call(self, req, fmt=""):
        self.sock.sendall(req)
        status = self._recv(1)[0]
        if status:
            raise RuntimeError({1: "bus transaction timed out", 2: "unknown request"}.get(status, status))
        return struct.unpack("<" + fmt, self._recv(struct.calcsize("<" + fmt))) if fmt else ()

    def read32(self, addr):
        return self._call(struct.pack("<cI", b"r", addr), "Iq")[0]

    def write32(self, addr, value):
        self._call(struct.pack("<cII", b"w", addr, value & 0xFFFFFFFF), "q")

    def read_burst(self, addr, n):
        return list(self._call(struct.pack("<cII", b"b", addr, n), f"{n}I"))

    def write_burst(self, addr, words):
        self._call(struct.pack("<cII", b"B", addr, len(words)) + struct.pack(f"<{len(words)}I", *words))

    def push(self, beats):
        """Queue (d, c) pairs / protocol.Repeat items; returns the queue length."""
        d, c = array("Q"), bytearray()
        for b in beats:
            if isinstance(b, protocol.Repeat):
                d.extend([b.d] * b.n)
                c.extend([b.c] * b.n)
            else:
                d.append(b[0])
                c.append(b[1])
        return self._call(struct.pack("<cI", b"p", len(c)) + d.tobytes() + bytes(c), "Q")[0]

    def run(self, n):
        """Clock n cycles; returns the cycle count after them."""
        return self._call(struct.pack("<cQ", b"n", n), "q")[0]

    def cycle(self):
        return self._call(b"c", "qQ")

    def fetch(self):
        """Output beats since the last fetch: {stream: [(cycle, payload int)]}."""
        (k,) = self._call(b"f", "I")
        out = {}
        for s in self.streams[:k]:
            (m,) = struct.unpack("<I", self._recv(4))
            out[s.name] = protocol.decode_records(self._recv(m * (8 + s.nbytes)), s.nbytes, s.width)
        return out

    def uart_send(self, data):
        """Queue bytes for the design's uart_rx (8N1 at its divisor); returns the queue length."""
        data = bytes(data)
        return self._call(struct.pack("<cI", b"u", len(data)) + data, "Q")[0]

    def uart_recv(self):
        """Bytes the design sent on uart_tx since the last call."""
        (n,) = self._call(b"U", "I")
        return self._recv(n) if n else b""

    def route(self, via):
        """Send register requests through 'axi' (AXI4-Lite) or 'pcie' (BAR0 TLPs)."""
        self._call(struct.pack("<cB", b"v", {"axi": 0, "pcie": 1}[via]))

    def link_stats(self):
        """Harness-side counts: route, PCIe reads/writes/bad completions and the last
        completion's requester/tag/status, UART bytes in/out, framing errors, bytes queued."""
        v = self._call(b"i", "IQQQIIIQQQQ")
        keys = ("route", "pcie_reads", "pcie_writes", "pcie_bad", "last_requester", "last_tag",
                "last_status", "uart_in", "uart_out", "uart_framing_errors", "uart_queued")
        return dict(zip(keys, v))

    def close(self):
        try:
            self._call(b"q")
        except (OSError, ConnectionError):
            pass
        self.sock.close()
        if self.proc:
            self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
