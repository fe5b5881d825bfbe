"""Reference model of the UART register bridge, written from docs/host_links.md.

It deliberately does not import rtl/host/uart/protocol.py: constants are restated from
the spec and the CRC is computed a different way (polynomial division), so a slip
in the shared protocol module shows up as a mismatch instead of being copied.

`BridgeModel` is the device side (bytes in -> response bytes out, registers through
read/write callbacks); `encode_request` / `decode_response` are the host side.
"""

SOF_REQ, SOF_RSP = 0xA5, 0x5A
READ, WRITE, BURST = 0x01, 0x02, 0x03
OK, BAD_CRC, BAD_CMD, BAD_ADDR, TIMEOUT, BAD_LEN = 0, 1, 2, 3, 4, 5
MAX_BURST = 16
SPACE = 0x10000
# Bytes after the start byte, crc included.
BODY_LEN = {READ: 6, WRITE: 10, BURST: 7}


def crc8(data):
    """CRC-8 poly x^8+x^2+x+1, init 0: remainder of data(x) * x^8 mod P(x)."""
    poly = 0x107
    value = int.from_bytes(bytes(data), "big") << 8 if data else 0
    nbits = value.bit_length()
    while nbits > 8:
        value ^= poly << (nbits - 9)
        nbits = value.bit_length()
    return value


def encode_request(cmd, addr, arg=None):
    body = bytes([cmd]) + addr.to_bytes(4, "big")
    if cmd == WRITE:
        body += arg.to_bytes(4, "big")
    elif cmd == BURST:
        body += bytes([arg])
    return bytes([SOF_REQ]) + body + bytes([crc8(body)])


def encode_response(cmd, status, words=()):
    body = bytes([cmd, status]) + b"".join(w.to_bytes(4, "big") for w in words)
    return bytes([SOF_RSP]) + body + bytes([crc8(body)])


def decode_response(frame):
    """(cmd, status, words) or None when the frame is not a valid response."""
    if len(frame) < 4 or frame[0] != SOF_RSP or crc8(frame[1:-1]) != frame[-1]:
        return None
    data = frame[3:-1]
    if len(data) % 4:
        return None
    return frame[1], frame[2], [int.from_bytes(data[i:i + 4], "big") for i in range(0, len(data), 4)]


class BridgeModel:
    """Byte-at-a-time model of the gateware bridge (one request in flight)."""

    def __init__(self, read, write):
        self.read, self.write = read, write
        self.body = None                # bytes after SOF of the frame being received
        self.counts = dict.fromkeys(("reads", "writes", "bad_frames", "bad_addr",
                                     "timeouts", "noise"), 0)

    def feed(self, data):
        """Bytes arriving back to back; returns the response bytes they caused."""
        out = b""
        for byte in data:
            out += self._byte(byte)
        return out

    def framing_error(self):
        """A byte with a bad stop bit: dropped and counted, frame state unchanged."""
        self.counts["noise"] += 1

    def idle(self):
        """The line stayed idle for the timeout: a partial frame is answered TIMEOUT."""
        if self.body is None:
            return b""
        cmd = self.body[0] if self.body else 0
        self.body = None
        self.counts["timeouts"] += 1
        return encode_response(cmd, TIMEOUT)

    def _byte(self, byte):
        if self.body is None:
            if byte == SOF_REQ:
                self.body = b""
            else:
                self.counts["noise"] += 1
            return b""
        self.body += bytes([byte])
        cmd = self.body[0]
        if cmd not in BODY_LEN:
            self.body = None
            self.counts["bad_frames"] += 1
            return encode_response(cmd, BAD_CMD)
        if len(self.body) < BODY_LEN[cmd]:
            return b""
        body, self.body = self.body, None
        return self._execute(body)

    def _execute(self, body):
        cmd = body[0]
        if crc8(body[:-1]) != body[-1]:
            self.counts["bad_frames"] += 1
            return encode_response(cmd, BAD_CRC)
        addr = int.from_bytes(body[1:5], "big")
        count = body[5] if cmd == BURST else 1
        if cmd == BURST and not 1 <= count <= MAX_BURST:
            self.counts["bad_frames"] += 1
            return encode_response(cmd, BAD_LEN)
        if addr % 4 or addr + 4 * count > SPACE:
            self.counts["bad_addr"] += 1
            return encode_response(cmd, BAD_ADDR)
        if cmd == WRITE:
            self.write(addr, int.from_bytes(body[5:9], "big"))
            self.counts["writes"] += 1
            return encode_response(cmd, OK)
        self.counts["reads"] += 1
        return encode_response(cmd, OK, [self.read(addr + 4 * i) for i in range(count)])
