"""`uart:URL[@BAUD]`: a dev board reached through the UART-to-register bridge.

The URL goes to pyserial's `serial_for_url`, so `/dev/ttyUSB0` and
`socket://host:port` (e.g. a simulated bridge on TCP) both work. The rate defaults to
the bridge's: 3 Mbaud in every build (`CoreConfig.uart_divisor` cycles a bit at the
build's clock, tests/test_pll.py), which the FT2232H on the lab board makes exactly;
`@BAUD` overrides it for another bridge. The framing is the
bridge's own, defined once in tickwire.rtl.host.uart.protocol (docs/host_links.md): one
request in flight, every response checked (start byte, CRC-8, status). The bridge
has no burst write, so write_burst is a series of writes; burst reads go in chunks
of protocol.MAX_BURST words. If the protocol module is missing the transport
refuses to open rather than invent a protocol.
"""
import importlib

from .base import Transport, TransportError

#: The bridge's line rate (rtl/config.py: uart_divisor at clock_mhz, every build).
BAUD = 3_000_000


def _protocol():
    try:
        return importlib.import_module("tickwire.rtl.host.uart.protocol")
    except ImportError:
        raise TransportError("uart: protocol module not available "
                             "(tickwire.rtl.host.uart.protocol, the UART bridge)") from None


class UartTransport(Transport):
    name = "uart"

    def __init__(self, url, baudrate=None, timeout=2.0, port=None):
        baudrate = baudrate or BAUD
        super().__init__()
        self.p = _protocol()
        self.size = self.p.ADDR_SPACE
        self.url = url
        if port is not None:            # an already-open pyserial-like port (tests)
            self.port = port
            return
        import serial
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise TransportError(f"uart: cannot open {url}: {exc}") from None

    def _io(self, req, count=1):
        p = self.p
        try:
            self.port.write(req)
            sof = self.port.read(1)
            while sof and sof[0] != p.SOF_RSP:      # skip line noise before the frame
                sof = self.port.read(1)
            head = self.port.read(2) if sof else b""
            if len(head) < 2:
                raise TransportError(f"uart: {self.url}: no response (timeout)")
            cmd, status = head
            rest_len = p.response_len(cmd, status, count) - 3
            rest = self.port.read(rest_len)
        except OSError as exc:
            raise TransportError(f"uart: {self.url}: {exc}") from None
        if len(rest) < rest_len:
            raise TransportError(f"uart: {self.url}: truncated response (timeout)")
        try:
            rcmd, status, words = p.decode_response(sof + head + rest)
        except p.ProtocolError as exc:
            raise TransportError(f"uart: {exc}") from None
        if rcmd != req[1]:
            raise TransportError(f"uart: response to command 0x{rcmd:02x}, expected 0x{req[1]:02x}")
        if status != p.ST_OK:
            raise TransportError(f"uart: bridge answered {p.STATUS_NAMES.get(status, status)}")
        return words

    def _read32(self, addr):
        return self._io(self.p.encode_read(addr))[0]

    def _write32(self, addr, value):
        self._io(self.p.encode_write(addr, value))

    def _read_burst(self, addr, n):
        out, m = [], self.p.MAX_BURST
        for k in range(0, n, m):
            c = min(m, n - k)
            out += self._io(self.p.encode_burst(addr + 4 * k, c), c)
        return out

    def _close(self):
        self.port.close()


def split_baud(spec):
    """`URL[@BAUD]` -> (URL, BAUD or None); a clear error for a bad rate."""
    url, at, rate = spec.rpartition("@")
    if not at or "/" in rate or ":" in rate:     # no suffix (an @ inside a URL stays)
        return spec, None
    if not rate.isdigit() or int(rate) <= 0:
        raise TransportError(f"bad uart rate {rate!r} in {spec!r}: expected uart:URL@BAUD, e.g. @3000000")
    return url, int(rate)


def open_uart(spec, **kw):
    url, baud = split_baud(spec)
    if baud is not None:
        kw.setdefault("baudrate", baud)
    return UartTransport(url, **kw)
