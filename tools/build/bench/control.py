"""Control-plane numbers: limits load time, status round trip, metrics staleness.

The sim build's risk gate holds 16 symbol slots and 8 accounts (rtl/config.py, rtl/risk/regs.py).
The 1,000-symbol / 256-account goal is measured on a model card built that large
(tickwire.model.card.scaled_windows: the limits windows resized, the daemon's CardHandle given
the same windows): the whole Daemon.load_limits path, parse + validate + diff + encode +
write the shadow bank + read it back + commit + mirror + save the state file.
The status round trip is measured as the RPC alone and as the whole CLI process
(`python -m tickwire.control.cli status`: interpreter start, imports, connect, call).
"""
import os
import subprocess
import sys
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

    results = [_bench_big_load(), _bench_kill_under_load()]

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
        cli = []
        cmd = [sys.executable, "-m", "tickwire.control.cli", "status", "--server", f"unix:{d}/s.sock"]
        for _ in range(30):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, timeout=60)
            cli.append(time.perf_counter() - t0)
        results.append(Result("tickwire status, whole CLI process, p99", 50.0, _p(cli, 0.99) * 1000,
                              "ms", f"python {' '.join(cmd[1:4])}, 30 runs: interpreter start-up "
                              f"and imports (grpc, protobuf) dominate; median {_p(cli, 0.5) * 1000:.0f} ms",
                              better="lower"))
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


def _bench_big_load(n_sym=1000, n_acct=256, runs=3):
    """Whole load path at 1,000 symbols x 256 accounts on a model card sized for it."""
    from tickwire.control import audit
    from tickwire.control.daemon.core import Daemon
    from tickwire.control.daemon.state import State
    from tickwire.control.transport.model import ModelTransport
    from tickwire.model import limits as lm
    from tickwire.model.card import ModelCard, scaled_windows

    windows = scaled_windows(n_acct, n_sym)
    transport = ModelTransport(card=ModelCard(windows=windows, realtime=True))
    d = tempfile.mkdtemp(prefix="twb", dir="/tmp")
    daemon = Daemon(transport, State(os.path.join(d, "state")),
                    audit.AuditLog(os.path.join(d, "audit.jsonl")), "model", windows=windows)
    text = _limits_text(n_sym, n_acct)
    times, parse = [], []
    try:
        for i in range(runs):               # each run changes every symbol: a real new set
            t = text.replace("max_qty: 5000", f"max_qty: {5000 + i}")
            t0 = time.perf_counter()
            lm.parse(t, "big.yaml", max_accounts=n_acct, max_slots=n_sym)
            parse.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            applied, _, changes = daemon.load_limits(t, "big.yaml")
            times.append(time.perf_counter() - t0)
            assert applied and (i == 0 or len(changes) == n_sym)
        card = transport.card
        assert card.risk.limits.symbols[n_sym - 1].max_qty == 5000 + runs - 1   # committed
        assert len(card.risk.limits.accounts) == n_acct
    finally:
        daemon.close()
        transport.close()
    words = n_acct * 8 + n_sym * 4 + n_acct * n_sym * 2
    return Result(f"limits {n_sym} symbols x {n_acct} accounts: whole load (model card)", 1.0,
                  _p(times, 0.5), "s",
                  f"Daemon.load_limits on a model card with {n_sym} slots x {n_acct} accounts "
                  f"({words} table words written, read back, committed, mirrored; state saved); "
                  f"median of {runs}, parse + validate alone {_p(parse, 0.5):.2f} s "
                  f"(libyaml composer: {'yes' if lm._Loader is not getattr(lm.yaml, 'SafeLoader') else 'no'})",
                  better="lower")


def _bench_kill_under_load():
    """Issue #16: the kill switch's p99 while 200 streams and 1,000 status calls run."""
    from .control_load import kill_under_load
    r = kill_under_load(streams=200, status_calls=1000, viewers=3)
    return Result("kill switch p99 under load (200 watch streams, 1,000 status calls)", 100.0,
                  r["kill_p99_ms"], "ms",
                  f"tools/build/bench/control_load.py: `tickwire serve --device model` over loopback "
                  f"mutual TLS, 3 viewer + 1 operator certificates; {r['kills']} SetKill calls "
                  f"(state saved with fsync and audited each time), p50 {r['kill_p50_ms']:.1f} ms, "
                  f"max {r['kill_max_ms']:.1f} ms; status p99 {r['status_p99_ms']:.1f} ms; "
                  f"{r['streams_alive']} streams open at the end, {r['errors']} errors",
                  better="lower")
