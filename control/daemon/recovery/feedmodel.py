"""`tickwire serve --device model --model-feed CAPTURE.pcap`: the model card with a
data path, so the whole recovery loop runs through the real daemon and CLI.

Why: the plain model card emulates registers only (no market data); the recovery
loop needs a card that receives a lossy feed, holds, is injected into and loads
snapshots. FeedModelCard is the register-level ModelCard whose book registers
(`book.sub_*` subscriptions, `book.snap_*` BBO reads) and MoldUDP64/ITCH/book
counters come from a FeedCard; ModelFeed replays a capture into it on its own
thread, paced by the capture's timestamps (scaled by `speed`; 0 = as fast as it
goes), starting after the daemon has re-applied its subscriptions.
"""
import threading
import time

from tickwire.control import regmap as rm
from tickwire.model.card import ModelCard
from tickwire.tools.feeds import moldfeed
from tickwire.tools.feeds import pcap as pcap_io

from .feedcard import FeedCard

_SNAP = ("bid_px", "bid_qty", "bid_orders", "ask_px", "ask_qty", "ask_orders", "flags")


class _Registers(dict):
    """The counters mapping ModelCard reads status and counter registers from."""

    def __init__(self, feed):
        super().__init__()
        self.feed, self.slot = feed, 0

    def get(self, name, default=0):
        if name.startswith("book.snap_"):
            return dict(zip(_SNAP, self.feed.bbo(self.slot)))[name[len("book.snap_"):]]
        if name.startswith(("mold.", "itch.", "book.")):
            with self.feed.lock:
                return self.feed.dev.all_counters().get(name, default)
        return super().get(name, default)


class FeedModelCard(ModelCard):
    def __init__(self, feed=None, **kw):
        self.feed = feed or FeedCard({})
        super().__init__(counters=_Registers(self.feed), realtime=True, **kw)

    def _strobe(self, name, data):
        if name == "book.snap_slot":
            self.counters.slot = data
        elif name == "book.sub_cmd":
            loc, slot = self.values.get("book.sub_locate", 0), self.values.get("book.sub_slot", 0)
            if data & rm.BOOK_SUB_CMD_MAP:
                self.feed.subscribe(loc, slot)
            if data & rm.BOOK_SUB_CMD_UNMAP:
                self.feed.unsubscribe(loc)
        else:
            super()._strobe(name, data)


class ModelFeed:
    """A capture replayed into a FeedCard (port B for feed B's group, else A)."""

    def __init__(self, feed, path, speed=1.0):
        self.feed, self.speed = feed, speed
        self.frames = []
        for ts, data in pcap_io.read(path):
            p = moldfeed.parse_frame(data)
            is_b = p is not None and (p[0], p[1]) == (moldfeed.FEED_B.group, moldfeed.FEED_B.port)
            self.frames.append((ts, "b" if is_b else "a", bytes(data)))
        self.sent = 0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="model-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self):
        t0 = time.monotonic()
        first = next((ts for ts, _p, _d in self.frames if ts is not None), 0)
        for ts, port, data in self.frames:
            if self._stop.is_set():
                return
            if self.speed and ts is not None:
                wait = (ts - first) / 1e9 / self.speed - (time.monotonic() - t0)
                if wait > 0 and self._stop.wait(wait):
                    return
            self.feed.frame(port, data)
            self.sent += 1
        self.done.set()
