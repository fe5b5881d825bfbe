"""Control plane end to end: `tickwire serve` and the ops CLI as separate processes.

The daemon runs the model card (`--device model`); every test uses Unix sockets or
loopback TCP, and every wait is bounded. The CLI is run as
`python -m tickwire.control.cli` (the control-plane subset of the `tickwire` entry
point, same code) so an unrelated broken subcommand cannot fail these tests.
"""
import json
import os
import shutil
import signal
import subprocess
import urllib.request
from functools import partial
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import CLI, LIMIT_TABLES, ServeDaemon, cli_env, limits_yaml
from tickwire.control.proto import tickwire_pb2 as pb
from tickwire.control.regmap import MAP_HASH, REGS, WINDOWS
from tickwire.model import limits as lm
from tickwire.rtl.config import BUILDS as _CONFIGS

#: the build the simulated/model cards run (rtl/config.py)
SIM_ACCOUNTS, SIM_SLOTS = _CONFIGS["sim"].risk_accounts, _CONFIGS["sim"].risk_slots

HERE = Path(__file__).resolve().parent
ENV = cli_env(pythonpath=HERE)          # the daemon imports `py:test_control_e2e:...` from here
LIMITS = limits_yaml()
Daemon = partial(ServeDaemon, env=ENV)  # on the model card unless told otherwise


def mismatched_card():
    """`--device py:test_control_e2e:mismatched_card`: a model card of another map."""
    from tickwire.control.transport.model import ModelTransport
    from tickwire.model.card import ModelCard
    return ModelTransport(card=ModelCard(map_hash=MAP_HASH ^ 0x5A5A))


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path / "state")
    yield d
    d.stop()


@pytest.fixture
def limits_file(tmp_path):
    p = tmp_path / "limits.yaml"
    p.write_text(LIMITS)
    return p


def card_tables(stub):
    """The limits windows as read from the card's registers through the daemon."""
    return {name.split(".")[1]: list(stub.ReadRaw(pb.RawRead(addr=w.addr, count=w.words), timeout=10).words)
            for name, w in WINDOWS.items() if name.split(".")[1] in LIMIT_TABLES}


def test_limits_counters_metrics(daemon, limits_file):
    r = daemon.cli("limits", "load", str(limits_file))
    assert r.returncode == 0, r.stderr
    assert "applied, now version 1" in r.stdout
    assert card_tables(daemon.stub()) == lm.encode(lm.load(limits_file), accounts=SIM_ACCOUNTS, slots=SIM_SLOTS)
    r = daemon.cli("limits", "show", "--json")
    shown = json.loads(r.stdout)
    assert shown["version"] == 1 and shown["limits"]["symbols"]["AAPL"]["max_qty"] == 5000

    r = daemon.cli("counters", "--all", "--json")
    assert r.returncode == 0, r.stderr
    counters = json.loads(r.stdout)["counters"]
    assert set(counters) == {n for n, reg in REGS.items() if reg.kind == "counter"}
    r = daemon.cli("status")
    assert r.returncode == 0 and f"hash 0x{MAP_HASH:08x}" in r.stdout and "you are admin" in r.stdout

    text = urllib.request.urlopen(f"http://127.0.0.1:{daemon.metrics_port}/metrics", timeout=10).read().decode()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    for name, reg in REGS.items():
        if reg.kind == "counter":
            fam = "tickwire_" + name.split("[")[0].replace(".", "_")
            assert fam in fams and fams[fam].type == "counter", fam
    assert fams["tickwire_limits_version"].samples[0].value == 1
    assert fams["tickwire_watchdog_tripped"].samples[0].value == 0
    methods = {s.labels["method"] for s in fams["tickwire_rpc_latency_seconds"].samples}
    assert {"LoadLimits", "GetCounters", "GetStatus"} <= methods
    # the card has no latency registers: the only histogram is the daemon's own
    assert {n for n, f in fams.items() if f.type == "histogram"} == {"tickwire_rpc_latency_seconds"}


def test_bad_limits_file_applies_nothing(daemon, limits_file, tmp_path):
    assert daemon.cli("limits", "load", str(limits_file)).returncode == 0
    before = card_tables(daemon.stub())
    bad = tmp_path / "bad.yaml"
    bad.write_text(LIMITS.replace("burst: 20", "burst: many"))
    r = daemon.cli("limits", "load", str(bad))
    assert r.returncode == 4
    assert f"{bad}:14: accounts[0].rate.burst" in r.stderr
    assert card_tables(daemon.stub()) == before
    assert json.loads(daemon.cli("limits", "show", "--json").stdout)["version"] == 1
    r = daemon.cli("limits", "load", str(limits_file).replace("limits", "nope"))
    assert r.returncode == 1


def test_dry_run_shows_diff_and_changes_nothing(daemon, limits_file, tmp_path):
    assert daemon.cli("limits", "load", str(limits_file)).returncode == 0
    new = tmp_path / "new.yaml"
    new.write_text(LIMITS.replace("max_qty: 1000", "max_qty: 1500"))
    r = daemon.cli("limits", "load", str(new), "--dry-run")
    assert r.returncode == 0 and "symbols.MSFT.max_qty: 1000 -> 1500" in r.stdout
    assert card_tables(daemon.stub())["sym_limits"][5] == 1000


def test_permission_denied_is_audited(tmp_path, limits_file):
    roles = tmp_path / "roles.yaml"
    roles.write_text(f"{os.getuid()}: viewer\n")
    d = Daemon(tmp_path / "state", ["--roles", str(roles)])
    try:
        assert d.cli("status").returncode == 0
        r = d.cli("kill", "on")
        assert r.returncode == 5 and "PERMISSION_DENIED" in r.stderr
        r = d.cli("limits", "load", str(limits_file))
        assert r.returncode == 5
        assert card_tables(d.stub())["acct_limits"] == [0] * 64
    finally:
        d.stop()
    every = [json.loads(x) for x in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
    # the daemon's own entries (start, state re-applied, stop) are audited too since #16
    assert [e["action"] for e in every if e["who"] == "daemon"] == ["Start", "StateReapplied", "Stop"]
    entries = [e for e in every if e["who"] != "daemon"]
    assert [(e["action"], e["role"]) for e in entries] == [("SetKill", "viewer"), ("LoadLimits", "viewer")]
    assert all(e["result"].startswith("PERMISSION_DENIED") and e["who"] == f"uid:{os.getuid()}"
               for e in entries)
    r = subprocess.run(CLI + ["audit", "verify", "--file", str(tmp_path / "state" / "audit.jsonl")],
                       capture_output=True, text=True, timeout=30, env=ENV)
    assert r.returncode == 0 and f"{len(every)} entries, chain intact" in r.stdout


def test_socket_is_owner_only(daemon):
    assert os.stat(daemon.sock).st_mode & 0o777 == 0o600


def test_mismatched_card_is_refused(tmp_path):
    r = subprocess.run(CLI + ["serve", "--device", "py:test_control_e2e:mismatched_card",
                              "--listen", f"unix:{tmp_path}/x.sock", "--state-dir", str(tmp_path / "s")],
                       capture_output=True, text=True, timeout=60, env=ENV)
    assert r.returncode == 4
    assert "register map mismatch" in r.stderr and f"0x{MAP_HASH:08x}" in r.stderr
    assert not (tmp_path / "x.sock").exists()


def test_restart_after_sigkill_reapplies_limits(tmp_path, limits_file):
    d = Daemon(tmp_path / "state")
    try:
        assert d.cli("limits", "load", str(limits_file)).returncode == 0
        assert d.cli("kill", "on", "--account", "ACME02").returncode == 0
    finally:
        d.stop(signal.SIGKILL)
    d = Daemon(tmp_path / "state")                 # a fresh model card: powered up all zero
    try:
        assert card_tables(d.stub()) == lm.encode(lm.load(limits_file), accounts=SIM_ACCOUNTS, slots=SIM_SLOTS)
        s = json.loads(d.cli("status", "--json").stdout)
        assert s["limits_version"] == "1" and s["kill"]["accounts"] == ["ACME02"]
    finally:
        d.stop()


def test_two_operators_conflict(daemon, limits_file):
    assert daemon.cli("limits", "load", str(limits_file)).returncode == 0
    procs = [subprocess.Popen(CLI + ["limits", "set", "symbol", "AAPL", "max_qty", str(q),
                                     "--expect-version", "1", "--server", daemon.server],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for q in (111, 222)]
    out = [(p.wait(timeout=30), *p.communicate(timeout=30)) for p in procs]
    codes = sorted(o[0] for o in out)
    assert codes == [0, 6], out
    loser = next(o for o in out if o[0] == 6)
    assert "ABORTED" in loser[2] and "version is 2" in loser[2]
    winner = 111 if out[0][0] == 0 else 222
    assert card_tables(daemon.stub())["sym_limits"][1] == winner


def test_clock_and_subscriptions(daemon):
    r = daemon.cli("clock", "set", "1700000000.25", "--json")
    assert json.loads(r.stdout)["sec"] == "1700000000"
    assert r.returncode == 0, r.stderr
    c = json.loads(daemon.cli("clock", "--json").stdout)
    assert 1700000000 <= int(c["sec"]) <= 1700000010   # ran on since (CLI start-up time)
    assert daemon.cli("clock", "adjust", "-250").returncode == 0
    assert abs(json.loads(daemon.cli("clock", "--json").stdout)["ppb"] + 250) < 1
    assert daemon.cli("clock", "step", str(10**9)).returncode == 4     # |step| < 1 s
    r = daemon.cli("subscribe", "13", "2", "--symbol", "AAPL", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["subscriptions"][0]["locate"] == 13
    r = daemon.cli("book", "AAPL", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["slot"] == 2
    assert daemon.cli("book", "NOPE").returncode == 4


def test_unreachable_daemon(tmp_path):
    r = subprocess.run(CLI + ["status", "--server", f"unix:{tmp_path}/none.sock", "--timeout", "2"],
                       capture_output=True, text=True, timeout=30, env=ENV)
    assert r.returncode == 3 and "UNAVAILABLE" in r.stderr


# ---- TCP: mutual TLS, role from the certificate's OU --------------------------------

def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def certs(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("neither the cryptography package nor the openssl CLI is available")
    d = tmp_path / "pki"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=tickwire-test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, subj, ext in (("server", "/CN=localhost", ["-extfile", "san.ext"]),
                            ("viewer", "/CN=alice/OU=viewer", []),
                            ("operator", "/CN=bob/OU=operator", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *ext, cwd=d)
    return d


def test_tcp_needs_tls(tmp_path):
    r = subprocess.run(CLI + ["serve", "--device", "model", "--listen", "127.0.0.1:0",
                              "--state-dir", str(tmp_path / "s")],
                       capture_output=True, text=True, timeout=60, env=ENV)
    assert r.returncode == 1 and "TLS" in r.stderr


def test_tcp_mutual_tls_roles(tmp_path, certs):
    d = Daemon(tmp_path / "state", ["--tls-cert", str(certs / "server.pem"), "--tls-key",
                                    str(certs / "server.key"), "--tls-ca", str(certs / "ca.pem")],
               listen="127.0.0.1:0")
    try:
        def as_(role, *args):
            return d.cli(*args, "--tls-ca", str(certs / "ca.pem"), "--tls-cert", str(certs / f"{role}.pem"),
                         "--tls-key", str(certs / f"{role}.key"))
        r = as_("viewer", "status")
        assert r.returncode == 0 and "you are viewer" in r.stdout, r.stderr
        r = as_("viewer", "kill", "on")
        assert r.returncode == 5 and "cert:alice" in r.stderr
        r = as_("operator", "kill", "on")
        assert r.returncode == 0 and "ENGAGED" in r.stdout
        r = as_("operator", "clock", "step", "5")
        assert r.returncode == 5                           # clock is admin
        r = d.cli("status", "--timeout", "3")                # no client certificate
        assert r.returncode != 0
    finally:
        d.stop()
    entries = [json.loads(x) for x in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
    entries = [e for e in entries if e["who"] != "daemon"]     # start/stop entries since #16
    assert [(e["who"], e["action"], e["result"].split()[0]) for e in entries] == [
        ("cert:alice", "SetKill", "PERMISSION_DENIED"), ("cert:bob", "SetKill", "OK"),
        ("cert:bob", "StepClock", "PERMISSION_DENIED")]
