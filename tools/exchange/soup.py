"""SoupBinTCP 4.0 framing (Nasdaq): each packet is a 2-byte big-endian length (type
byte + payload), a type byte and the payload. Shared by the GLIMPSE server and the
daemon's client so the layouts live in one place.

Client -> server: L login request (username 6, password 10, requested session 10,
requested sequence number 20; alpha fields left-justified, space-padded), R client
heartbeat, O logout request, U unsequenced data. Server -> client: A login accepted
(session 10, sequence number 20), J login rejected (reason: A not authorised,
S session not available), S sequenced data, H server heartbeat, Z end of session,
+ debug.
"""
import struct

MAX_PAYLOAD = 0xFFFF - 1
HEARTBEAT_S = 1.0          # both sides send a heartbeat after 1 s of silence
TIMEOUT_S = 15.0           # and give up on a peer silent for 15 s


def alpha(value, n):
    b = value.encode("ascii") if isinstance(value, str) else bytes(value)
    if len(b) > n:
        raise ValueError(f"{b!r} longer than {n} bytes")
    return b.ljust(n, b" ")


def packet(ptype, payload=b""):
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("SoupBinTCP payload too long")
    return struct.pack(">Hc", len(payload) + 1, ptype) + bytes(payload)


def login_request(user, password, session="", seq=0):
    return packet(b"L", alpha(user, 6) + alpha(password, 10) + alpha(session, 10) +
                  str(int(seq)).rjust(20).encode("ascii"))


def parse_login(payload):
    """(user, password, session, seq) of a login request payload."""
    if len(payload) != 46:
        raise ValueError("bad login request length")
    text = payload.decode("ascii")
    seq = text[26:46].strip()
    return text[:6].strip(), text[6:16].strip(), text[16:26].strip(), int(seq or 0)


def login_accepted(session, seq):
    return packet(b"A", alpha(session, 10) + str(int(seq)).rjust(20).encode("ascii"))


def parse_accepted(payload):
    text = payload.decode("ascii")
    return text[:10].strip(), int(text[10:30].strip() or 0)


class Reader:
    """Whole packets from a socket: read() -> (type, payload), None on a clean close.
    Raises TimeoutError when the socket's timeout passes with no byte."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def read(self):
        if not self._fill(2):
            return None
        n = struct.unpack_from(">H", self.buf)[0]
        if n < 1:
            raise ValueError("SoupBinTCP packet without a type")
        if not self._fill(2 + n):
            return None
        ptype, payload = self.buf[2:3], self.buf[3:2 + n]
        self.buf = self.buf[2 + n:]
        return ptype, payload
