"""`sim:unix:PATH`: a simulated card served by `tickwire simulate --listen unix:PATH`.

Protocol (little-endian, one request then one reply, any number per connection): the
register subset of the native harness's server protocol (tools/build/harness/client.py),
so `tickwire simulate` forwards each request to the Verilator harness unchanged:
  'r' u32 addr               -> u32 value, i64 cycle     read32
  'w' u32 addr, u32 data     -> i64 cycle                write32
  'b' u32 addr, u32 n        -> n x u32                  burst read (addr += 4)
  'B' u32 addr, u32 n, n x u32                           burst write
  'c'                        -> i64 cycle, u64 queued    simulated cycle, beats queued
Every reply starts with a status byte: 0 ok, 1 bus timeout, 2 unknown request,
3 bad request (burst longer than MAX_BURST). The cycle is the simulator's own count.
"""
import socket
import struct

from .base import Transport, TransportError

MAX_BURST = 4096
STATUS = {1: "bus transaction timed out", 2: "unknown request", 3: "bad request"}


class SimTransport(Transport):
    name = "sim"

    def __init__(self, path, timeout=10.0):
        super().__init__()
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(self.path)
        except OSError as exc:
            self.sock.close()
            raise TransportError(f"sim: cannot connect to {self.path}: {exc.strerror or exc} "
                                 "(is `tickwire simulate --listen unix:PATH` running?)") from None

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except OSError as exc:
                raise TransportError(f"sim: {self.path}: {exc}") from None
            if not chunk:
                raise TransportError(f"sim: {self.path}: simulator closed the connection")
            buf += chunk
        return bytes(buf)

    def _call(self, req, fmt=""):
        try:
            self.sock.sendall(req)
        except OSError as exc:
            raise TransportError(f"sim: {self.path}: {exc}") from None
        status = self._recv(1)[0]
        if status:
            raise TransportError(f"sim: {STATUS.get(status, f'status {status}')}")
        return struct.unpack("<" + fmt, self._recv(struct.calcsize("<" + fmt))) if fmt else ()

    def _read32(self, addr):
        return self._call(struct.pack("<cI", b"r", addr), "Iq")[0]

    def _write32(self, addr, value):
        self._call(struct.pack("<cII", b"w", addr, value), "q")

    def _read_burst(self, addr, n):
        out = []
        for k in range(0, n, MAX_BURST):
            m = min(MAX_BURST, n - k)
            out += self._call(struct.pack("<cII", b"b", addr + 4 * k, m), f"{m}I")
        return out

    def _write_burst(self, addr, words):
        for k in range(0, len(words), MAX_BURST):
            chunk = words[k:k + MAX_BURST]
            self._call(struct.pack("<cII", b"B", addr + 4 * k, len(chunk))
                       + struct.pack(f"<{len(chunk)}I", *chunk))

    def cycle(self):
        """(simulated cycle, beats still queued) — the simulator's own clock."""
        self._check(0)
        return self._call(b"c", "qQ")

    def _close(self):
        self.sock.close()
