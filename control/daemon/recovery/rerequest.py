"""MoldUDP64 re-request client: fetch a missing range from the request server.

Why: a gap both feeds lost is only filled by asking the exchange again. The request
is the standard 20-byte packet (session 10, first sequence number 8, count 2); the
server answers unicast with MoldUDP64 packets. Policy (docs/recovery.md):
- a range is split into requests of at most `max_count` messages (the server's
  limit), sent no faster than `rate` requests per second (token bucket);
- whatever arrives from the server's address is kept by sequence number (datagrams
  from any other address are dropped: nobody else on the host or the network can
  inject "retransmissions"); duplicates, late answers to an earlier try, packets
  of another session or outside the range are ignored;
- the contiguous run from the next missing message is handed to `inject(first,
  messages)` as soon as it is complete, so the card gets messages in sequence;
- after `timeout_s` of silence the still-missing part is requested again, the
  timeout doubling each try (`backoff`), up to `retries` tries; then the fetch
  gives up (the caller falls back to a snapshot).
"""
import socket
import struct
import time
from dataclasses import dataclass

REQUEST = struct.Struct(">10sQH")


@dataclass
class FetchResult:
    first: int
    count: int
    delivered: int          # messages handed to inject, from first on
    requests: int           # request packets sent
    requested: int          # messages asked for, re-requests included
    complete: bool


class TokenBucket:
    def __init__(self, rate, burst=None, clock=time.monotonic):
        self.rate, self.clock = float(rate), clock
        self.burst = float(burst if burst is not None else max(1.0, rate / 10))
        self.tokens, self.t = self.burst, clock()

    def take(self):
        """Block until a token is free, then take it."""
        while True:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
            self.t = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            time.sleep((1 - self.tokens) / self.rate)


class RerequestClient:
    def __init__(self, server, session, max_count=64, timeout_s=0.2, retries=5, backoff=2.0,
                 rate=200.0, bind=None):
        self.server = server
        self.session = session.encode("ascii").ljust(10) if isinstance(session, str) else session
        if not 1 <= max_count <= 0xFFFE:
            raise ValueError("max_count must be 1..65534")
        self.max_count, self.timeout_s, self.retries = max_count, timeout_s, retries
        self.backoff = backoff
        self.bucket = TokenBucket(rate)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if bind is not None:
            self.sock.bind(bind)
        self.server = (socket.gethostbyname(server[0]), server[1])
        # connected: the kernel picks the local address that reaches the server and
        # drops datagrams from anyone else; the peer check below is a second guard
        self.sock.connect(self.server)
        self.foreign = 0            # datagrams dropped for coming from elsewhere
        self.refused = 0            # ICMP port unreachable seen (server down)

    def close(self):
        self.sock.close()

    def _request(self, first, count):
        n = 0
        while count > 0:
            k = min(count, self.max_count)
            self.bucket.take()
            try:
                self.sock.send(REQUEST.pack(self.session, first, k))
            except ConnectionRefusedError:          # an earlier request's ICMP error
                self.refused += 1
            first, count, n = first + k, count - k, n + 1
        return n

    def fetch(self, first, count, inject):
        """Recover messages first..first+count-1, injecting them in order."""
        end, got, nxt = first + count, {}, first
        requests = requested = 0
        timeout = self.timeout_s
        for _try in range(self.retries):
            requests += self._request(nxt, end - nxt)
            requested += end - nxt
            deadline = time.monotonic() + timeout
            while nxt < end:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                try:
                    data, peer = self.sock.recvfrom(65536)
                except (socket.timeout, TimeoutError):
                    break
                except ConnectionRefusedError:      # ICMP: nobody listens there (yet)
                    self.refused += 1
                    time.sleep(min(left, 0.01))
                    continue
                if peer[:2] != self.server:
                    self.foreign += 1
                    continue
                before = nxt
                nxt = self._take(data, got, nxt, end, inject)
                if nxt > before:
                    deadline = time.monotonic() + timeout      # progress: keep waiting
            if nxt >= end:
                break
            timeout *= self.backoff
        return FetchResult(first, count, nxt - first, requests, requested, nxt >= end)

    def _take(self, data, got, nxt, end, inject):
        if len(data) < 20 or data[:10] != self.session:
            return nxt
        seq, n = struct.unpack_from(">QH", data, 10)
        pos = 20
        for i in range(0 if n == 0xFFFF else n):
            if pos + 2 > len(data):
                break
            ln = struct.unpack_from(">H", data, pos)[0]
            if nxt <= seq + i < end:
                got.setdefault(seq + i, data[pos + 2:pos + 2 + ln])
            pos += 2 + ln
        run = []
        while nxt + len(run) in got:
            run.append(got.pop(nxt + len(run)))
        if run:
            inject(nxt, run)
        return nxt + len(run)
