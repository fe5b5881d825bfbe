"""Prometheus exposition: every hardware counter, kill/watchdog state, RPC latency.

Why read at scrape time: the counters are read from the card when Prometheus asks,
so a scrape is never staler than the scrape itself (no cache to fall behind). Counter
arrays become labels (risk.rejects[i] -> reason, itch.msgs[i] -> type). Latency
histograms of the book and the risk gate are exported only if the card has
registers for them; this map has none, so none are exported (no made-up data).
"""
import re
import threading
import time

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tickwire.control.regmap import (ITCH_TYPE_ORDER, MAP_MAGIC, MAP_VERSION, REGS,
                                      RISK_REASONS as REASONS, build_of)

_ARRAY = re.compile(r"^(\w+)\.(\w+)\[(\d+)\]$")


def counter_families(values):
    """CounterMetricFamily list from {register name: value} (names from REGS)."""
    fams = {}
    for name, value in values.items():
        m = _ARRAY.match(name)
        if m:
            block, reg, idx = m.group(1), m.group(2), int(m.group(3))
            labels = {"index": str(idx)}
            if (block, reg) == ("risk", "rejects"):
                labels = {"reason": REASONS[idx]}
            elif (block, reg) == ("itch", "msgs"):
                labels = {"type": ITCH_TYPE_ORDER[idx]}
        else:
            block, reg = name.split(".")
            labels = {}
        metric = f"tickwire_{block}_{reg}"
        if metric not in fams:
            fams[metric] = CounterMetricFamily(metric, REGS[name].doc, labels=sorted(labels))
        fams[metric].add_metric([labels[k] for k in sorted(labels)], value)
    return list(fams.values())


def identity_families(ident):
    """Which card answers (the ID block as labels) and whether this software accepts it:
    a dashboard names the card, an alert fires when the daemon would refuse it."""
    info = GaugeMetricFamily("tickwire_card_info", "The card's ID block (always 1).",
                             labels=["magic", "map_version", "map_hash", "build"])
    info.add_metric([f"0x{ident['id.magic']:08x}", str(ident["id.map_version"]),
                     f"0x{ident['id.map_hash']:08x}", f"0x{ident['id.build']:08x}"], 1)
    yield info
    ok = GaugeMetricFamily("tickwire_card_identity_ok",
                           "1 if the card's magic, map version and map hash match this "
                           "software (0: the daemon refuses the card).")
    build = build_of(ident["id.build"])
    ok.add_metric([], int(ident["id.magic"] == MAP_MAGIC and build is not None and
                          ident["id.map_version"] == MAP_VERSION and
                          ident["id.map_hash"] == build.map_hash))
    yield ok


def book_families(books):
    """Books the card flags as untrustworthy or halted (bit per slot), and its sweep."""
    for reg, doc in (("unreliable", "Book slots flagged unreliable (collision, full table, "
                      "unknown reference, level miss): their BBO may be wrong."),
                     ("halted", "Book slots whose symbol is halted or paused.")):
        g = GaugeMetricFamily(f"tickwire_book_{reg}_slots", doc)
        g.add_metric([], bin(books[f"book.{reg}"]).count("1"))
        yield g
    g = GaugeMetricFamily("tickwire_book_busy", "1 while the book sweeps its tables (after a "
                          "reset or a flush); subscriptions wait.")
    g.add_metric([], books["book.busy"])
    yield g


class CardCollector:
    """Reads the card on every scrape."""
    def __init__(self, daemon):
        self.daemon = daemon

    def collect(self):
        card = self.daemon.card
        try:
            values = card.counters()
            kill = self.daemon.kill_state()
            ident = card.identity()
            books = card.read_many(["book.unreliable", "book.halted", "book.busy"])
        except OSError:
            up = GaugeMetricFamily("tickwire_device_up", "1 if the card answered this scrape.")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("tickwire_device_up", "1 if the card answered this scrape.")
        up.add_metric([], 1)
        yield up
        yield from counter_families(values)
        g = GaugeMetricFamily("tickwire_kill_switch_engaged",
                              "Kill switch in force (global switch or a tripped watchdog).")
        g.add_metric([], int(kill["engaged"]))
        yield g
        g = GaugeMetricFamily("tickwire_kill_switch_global", "Global kill switch control (risk.kill).")
        g.add_metric([], int(kill["global"]))
        yield g
        g = GaugeMetricFamily("tickwire_kill_switch_account", "Per-account kill switch.",
                              labels=["account"])
        for i in range(8):
            g.add_metric([str(i)], (kill["accounts_mask"] >> i) & 1)
        yield g
        g = GaugeMetricFamily("tickwire_watchdog_tripped", "The card's heartbeat watchdog tripped.")
        g.add_metric([], int(kill["tripped"]))
        yield g
        hb = self.daemon.heartbeat
        g = GaugeMetricFamily("tickwire_watchdog_heartbeat_age_seconds",
                              "Seconds since the daemon's last heartbeat write.")
        g.add_metric([], time.monotonic() - hb.last if hb.last else float("nan"))
        yield g
        yield from identity_families(ident)
        yield from book_families(books)
        g = GaugeMetricFamily("tickwire_limits_version", "Version of the active limits set.")
        g.add_metric([], self.daemon.state.limits_version)
        yield g


class Metrics:
    def __init__(self, daemon):
        self.registry = CollectorRegistry()
        self.rpc_latency = Histogram("tickwire_rpc_latency_seconds", "Daemon RPC latency.",
                                     ["method"], registry=self.registry,
                                     buckets=(.0005, .001, .002, .005, .01, .02, .05, .1, .5, 1))
        self.registry.register(CardCollector(daemon))
        self.server = None

    def serve(self, host, port):
        self.server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        return self.server.server_address[1]

    def close(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
