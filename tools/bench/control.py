"""Control-plane numbers: limits load time, status round trip, metrics staleness.

The card's risk gate holds 16 symbol slots and 8 accounts (rtl/regmap/blocks/risk.py),
so a 1,000-symbol / 256-account set cannot be committed to it: the full-card load is
measured on the model device, and the 1,000/256 set is measured for the host-side
work (parse, validate, encode: the part that grows with the set) only.
"""
import os
import tempfile
import time
import urllib.request

from . import Result


def _limits_text(n_sym, n_acct, positions=True):
    out = ["version: 1", "symbols:"]
    for i in range(n_sym):
        out += [f"  - symbol: S{i:05d}", "    max_qty: 5000", "    collar: 5 ticks"]
    out.append("accounts:")
    for i in range(n_acct):
        out += [f"  - account: A{i:04d}", "    enabled: true", "    max_notional: 250000",
                "    credit: 1000000", "    rate: {burst: 20, per_second: 100}"]
        if positions:
            out += ["    positions:", "      default: {long: 1000, short: 0}"]
    return "\n".join(out) + "\n"


def _p(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench_control():
    import grpc

    from tickwire.control.daemon.server import Server
    from tickwire.control.proto import tickwire_pb2 as pb
    from tickwire.control.proto import tickwire_pb2_grpc as pbg
    from tickwire.control.transport import open_device
    from tickwire.model import limits as lm

    results = []
    t0 = time.perf_counter()
    big = lm.parse(_limits_text(1000, 256), "big.yaml", max_accounts=256, max_slots=1000)
    lm.encode(big, accounts=256, slots=1000)
    host = time.perf_counter() - t0
    results.append(Result("limits 1000 symbols x 256 accounts: parse+validate+encode", 1.0, host, "s",
                          "tickwire.model.limits parse/encode of a generated file (positions "
                          "default for every pair); the card holds 16x8, so no commit", better="lower"))

    d = tempfile.mkdtemp(prefix="twb", dir="/tmp")
    transport = open_device("model")
    srv = Server(transport, os.path.join(d, "state"), f"unix:{d}/s.sock", "model",
                 metrics=("127.0.0.1", 0))
    try:
        full = _limits_text(16, 8)
        times = []
        for i in range(5):
            t0 = time.perf_counter()
            srv.daemon.load_limits(full.replace("max_qty: 5000", f"max_qty: {5000 + i}"), "full.yaml")
            times.append(time.perf_counter() - t0)
        results.append(Result("limits full card (16 symbols, 8 accounts, 128 positions) load", 1.0,
                              _p(times, 0.5), "s", "Daemon.load_limits on the model device: parse, "
                              "write 384 shadow words, read back, commit, mirror; median of 5",
                              better="lower"))
        stub = pbg.TickwireStub(grpc.insecure_channel(f"unix:{d}/s.sock"))
        stub.GetStatus(pb.Empty(), timeout=10)
        lat = []
        for _ in range(300):
            t0 = time.perf_counter()
            stub.GetStatus(pb.Empty(), timeout=10)
            lat.append(time.perf_counter() - t0)
        results.append(Result("status RPC round trip p99", 50.0, _p(lat, 0.99) * 1000, "ms",
                              "GetStatus over the Unix socket (through the SO_PEERCRED relay), "
                              "300 calls, model device", better="lower"))
        card = transport.card
        stale = []
        for i in range(20):
            card.counters["risk.events"] = card.counters.get("risk.events", 0) + 1
            want = card.counters["risk.events"]
            t0 = time.perf_counter()
            while True:
                text = urllib.request.urlopen(f"http://127.0.0.1:{srv.metrics_port}/metrics",
                                              timeout=5).read().decode()
                if f"tickwire_risk_events_total {float(want)}" in text:
                    break
                if time.perf_counter() - t0 > 5:
                    raise RuntimeError("counter never reached /metrics")
            stale.append(time.perf_counter() - t0)
        results.append(Result("counter change to /metrics staleness (max of 20)", 1.0, max(stale), "s",
                              "bump a counter in the model card, scrape until it shows "
                              "(counters are read from the card at scrape time)", better="lower"))
    finally:
        srv.stop()
        transport.close()
    return results
