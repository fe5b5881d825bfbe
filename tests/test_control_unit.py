"""Control plane, in-process: card access, limits rules, audit chain, metrics, roles.

A tiny fake Transport (a dict of registers honouring the kinds in control/regmap.py,
written here from the register-map rules, not from the card model) pins down what
the daemon writes; the card model (tickwire.model.card) is used where the behaviour of
the card itself matters (watchdog).
"""
import json
import os
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client import generate_latest

from conftest import LIMIT_TABLES, limits_yaml
from tickwire.control import audit
from tickwire.control.daemon import auth
from tickwire.control.daemon.card import CardHandle, CardMismatch, NOMINAL_PERIOD
from tickwire.control.daemon.core import Conflict, Daemon
from tickwire.control.daemon.state import State
from tickwire.control.metrics import Metrics
from tickwire.control.regmap import BOOK_SUB_CMD_MAP, BUILDS, MAP_HASH, MAP_MAGIC, MAP_VERSION, REGS, WINDOWS
from tickwire.model import limits as lm
from tickwire.rtl.config import BUILDS as _CONFIGS
from tickwire.control.regmap import CLOCK_CMD_SET, CLOCK_CMD_STEP

#: the build the simulated/model cards run (rtl/config.py)
SIM_ACCOUNTS, SIM_SLOTS = _CONFIGS["sim"].risk_accounts, _CONFIGS["sim"].risk_slots

LIMITS = limits_yaml(aapl_positions=True, acme02_enabled=False)


class FakeTransport:
    """Registers by kind: control holds (wide: LO staged, HI commits), status/counter
    read back what the test put there (wide: LO read latches HI), strobes log writes;
    limits windows are a shadow/active pair swapped by risk.commit."""

    def __init__(self, map_hash=MAP_HASH):
        self.by_word = {}
        for r in REGS.values():
            for h in range(2 if r.width > 32 else 1):
                self.by_word[r.addr // 4 + h] = (r, h)
        self.values = {n: r.reset for n, r in REGS.items()}
        self.values.update({"id.magic": MAP_MAGIC, "id.map_version": MAP_VERSION, "id.map_hash": map_hash,
                            "id.build": BUILDS["sim"].digest})
        self.win = {n: [0] * w.words for n, w in WINDOWS.items()}
        self.active = {n: [0] * w.words for n, w in WINDOWS.items()}
        self.strobes, self.shadow, self.stage, self.ops = [], 0, 0, 0

    def _win(self, addr):
        for n, w in WINDOWS.items():
            if w.addr <= addr < w.addr + 4 * w.words:
                return n, (addr - w.addr) // 4
        return None, None

    def read32(self, addr):
        self.ops += 1
        n, i = self._win(addr)
        if n:
            return self.win[n][i]
        r, h = self.by_word[addr // 4]
        v = self.values[r.name]
        if r.kind == "strobe":
            return 0
        if h == 0:
            self.shadow = v >> 32
            return v & 0xFFFFFFFF
        return self.shadow

    def write32(self, addr, value):
        self.ops += 1
        assert 0 <= value <= 0xFFFFFFFF
        n, i = self._win(addr)
        if n:
            self.win[n][i] = value
            return
        r, h = self.by_word[addr // 4]
        if r.kind == "strobe":
            self.strobes.append((r.name, value))
            if r.name == "risk.commit":
                for t in (f"risk.{k}" for k in LIMIT_TABLES):
                    self.active[t], self.win[t] = self.win[t], self.active[t]
        elif r.kind == "control":
            if r.width <= 32:
                self.values[r.name] = value & ((1 << r.width) - 1)
            elif h == 0:
                self.stage = value
            else:
                self.values[r.name] = (value << 32 | self.stage) & ((1 << r.width) - 1)

    def read_burst(self, addr, n):
        return [self.read32(addr + 4 * i) for i in range(n)]

    def write_burst(self, addr, words):
        for i, w in enumerate(words):
            self.write32(addr + 4 * i, w)

    def close(self):
        pass


@pytest.fixture
def daemon(tmp_path):
    t = FakeTransport()
    d = Daemon(t, State(tmp_path / "state"), audit.AuditLog(tmp_path / "audit.jsonl"), "fake")
    d.restore()
    yield d
    d.close()


def tables_of(t):
    return {k: t.active[f"risk.{k}"] for k in LIMIT_TABLES}


# ---- card access --------------------------------------------------------------------

def test_wide_registers_lo_then_hi():
    t = FakeTransport()
    c = CardHandle(t)
    c.write("clock.set_sec", 0x1234_5678_9ABC)
    assert t.values["clock.set_sec"] == 0x1234_5678_9ABC
    t.values["mac_a.frames_ok"] = (7 << 32) | 9
    assert c.read("mac_a.frames_ok") == (7 << 32) | 9
    with pytest.raises(ValueError):
        c.write("mac_a.frames_ok", 1)


class BusyBook(FakeTransport):
    """book.busy reads 1 for the first `busy_reads` reads (the book's reset sweep)."""

    def __init__(self, busy_reads):
        super().__init__()
        self.busy_reads = busy_reads

    def read32(self, addr):
        if addr == REGS["book.busy"].addr and self.busy_reads:
            self.busy_reads -= 1
            return 1
        return super().read32(addr)


def test_subscribe_waits_for_the_book_sweep():
    t = BusyBook(busy_reads=3)
    CardHandle(t).subscribe(13, 2)
    assert t.busy_reads == 0 and t.strobes == [("book.sub_cmd", BOOK_SUB_CMD_MAP)]


def test_subscribe_to_a_book_that_stays_busy_writes_nothing(monkeypatch):
    from tickwire.control.daemon import card as card_mod
    monkeypatch.setattr(card_mod, "BOOK_BUSY_TIMEOUT_S", 0.05)
    t = BusyBook(busy_reads=10**9)
    with pytest.raises(TimeoutError, match="book busy"):
        CardHandle(t).subscribe(13, 2)
    assert t.strobes == []
    assert t.values["book.sub_locate"] == 0


def test_identity_mismatch_refused():
    with pytest.raises(CardMismatch, match="hash"):
        CardHandle(FakeTransport(map_hash=MAP_HASH ^ 1)).check_identity()
    t = FakeTransport()
    t.values["id.magic"] = 0xFFFFFFFF
    with pytest.raises(CardMismatch, match="magic"):
        CardHandle(t).check_identity()


def test_unknown_build_refused_and_known_builds_size_the_windows():
    t = FakeTransport()
    t.values["id.build"] = 0                      # what every card read before builds
    with pytest.raises(CardMismatch, match=r"unknown build: id.build is 0x00000000"):
        CardHandle(t).check_identity()
    t = FakeTransport(map_hash=BUILDS["board"].map_hash)
    t.values["id.build"] = BUILDS["board"].digest
    c = CardHandle(t)
    c.check_identity()
    assert c.build.name == "board" and c.slots == BUILDS["board"].params["risk_slots"]
    assert c.windows["risk.pos_limits"].words == BUILDS["board"].windows["risk.pos_limits"]
    t = FakeTransport(map_hash=BUILDS["sim"].map_hash)   # sim's hash, board's digest
    t.values["id.build"] = BUILDS["board"].digest
    with pytest.raises(CardMismatch, match="for build board"):
        CardHandle(t).check_identity()


def test_clock_ops_write_the_documented_registers():
    t = FakeTransport()
    c = CardHandle(t)
    c.set_clock(1_700_000_000, 123)
    assert (t.values["clock.set_sec"], t.values["clock.set_ns"]) == (1_700_000_000, 123)
    assert t.strobes[-1] == ("clock.cmd", CLOCK_CMD_SET)
    c.step_clock(-5)
    assert t.values["clock.step_ns"] == (-5) & 0xFFFFFFFF and t.strobes[-1] == ("clock.cmd", CLOCK_CMD_STEP)
    c.adjust_clock(1000)
    assert t.values["clock.period"] == round(NOMINAL_PERIOD * (1 + 1e-6))
    with pytest.raises(ValueError):
        c.step_clock(10**9)


# ---- limits -------------------------------------------------------------------------

def test_load_limits_commits_the_encoded_set(daemon):
    applied, version, diff = daemon.load_limits(LIMITS, "l.yaml")
    assert applied and version == 1
    t = daemon.card.t
    expect = lm.encode(lm.parse(LIMITS), accounts=SIM_ACCOUNTS, slots=SIM_SLOTS)
    assert tables_of(t) == expect                       # active bank = the new set
    assert t.win["risk.sym_limits"] == expect["sym_limits"]    # shadow mirrored
    assert ("risk.commit", 1) in t.strobes
    assert any(d.startswith("symbols.AAPL: added") for d in diff)


def test_bad_file_applies_nothing(daemon):
    daemon.load_limits(LIMITS, "l.yaml")
    t = daemon.card.t
    before, commits = tables_of(t), t.strobes.count(("risk.commit", 1))
    bad = LIMITS.replace("max_qty: 1000", "max_qty: lots")
    with pytest.raises(lm.LimitsError, match=r"bad.yaml:7: symbols\[1\]\.max_qty"):
        daemon.load_limits(bad, "bad.yaml")
    assert tables_of(t) == before and t.strobes.count(("risk.commit", 1)) == commits
    assert daemon.state.limits_version == 1


def test_dry_run_and_version_conflict(daemon):
    daemon.load_limits(LIMITS, "l.yaml")
    changed = LIMITS.replace("max_qty: 5000", "max_qty: 6000")
    applied, version, diff = daemon.load_limits(changed, "c.yaml", dry_run=True)
    assert not applied and version == 1
    assert diff == ["symbols.AAPL.max_qty: 5000 -> 6000"]
    assert tables_of(daemon.card.t)["sym_limits"][1] == 5000
    # two operators both saw version 1: the first wins, the second conflicts
    assert daemon.load_limits(changed, "c.yaml", expected=1)[1] == 2
    with pytest.raises(Conflict):
        daemon.set_limit("symbol", "MSFT", "max_qty", "7", expected=1)
    assert tables_of(daemon.card.t)["sym_limits"][5] == 1000


def test_set_one_field(daemon):
    daemon.load_limits(LIMITS, "l.yaml")
    applied, version, diff = daemon.set_limit("account", "ACME01", "rate.burst", "5", expected=1)
    assert applied and version == 2 and diff == ["accounts.ACME01.rate_burst: 20 -> 5"]
    assert tables_of(daemon.card.t)["acct_limits"][6] == 5
    with pytest.raises(lm.LimitsError):
        daemon.set_limit("account", "ACME01", "rate.burst", "-1")
    assert daemon.state.limits_version == 2


def test_restart_reapplies_state(tmp_path):
    t = FakeTransport()
    d = Daemon(t, State(tmp_path / "s"), None, "fake")
    d.restore()
    d.load_limits(LIMITS, "l.yaml")
    d.set_kill(True, "ACME02")
    d.subscribe(13, 2, "AAPL")
    d.close()
    fresh = FakeTransport()                       # the card powered up again: all zero
    d2 = Daemon(fresh, State(tmp_path / "s"), None, "fake")
    d2.restore()
    d2.close()
    assert tables_of(fresh) == lm.encode(lm.parse(LIMITS), accounts=SIM_ACCOUNTS, slots=SIM_SLOTS)
    assert fresh.values["risk.kill_accounts"] == 0b10
    assert (fresh.values["book.sub_locate"], fresh.values["book.sub_slot"]) == (13, 2)
    assert ("book.sub_cmd", BOOK_SUB_CMD_MAP) in fresh.strobes
    assert fresh.values["risk.watchdog_cycles"] == 156_250_000


# ---- watchdog -----------------------------------------------------------------------

def test_heartbeat_thread_writes_the_strobe(daemon):
    t = daemon.card.t
    time.sleep(0.6)
    n = sum(1 for s in t.strobes if s[0] == "risk.heartbeat")
    assert n >= 3                                  # every 250 ms for a 1 s watchdog
    daemon.heartbeat.stop()
    n = sum(1 for s in t.strobes if s[0] == "risk.heartbeat")
    time.sleep(0.4)
    assert sum(1 for s in t.strobes if s[0] == "risk.heartbeat") == n


def test_card_watchdog_engages_when_heartbeats_stop(tmp_path):
    """Unit level (the model card lives in the daemon's process, so SIGKILL would kill
    both): heartbeats keep the card's watchdog quiet; when they stop it trips."""
    from tickwire.control.transport import open_device
    t = open_device("model")
    d = Daemon(t, State(tmp_path / "s"), None, "model", watchdog_ms=200)
    d.restore()
    try:
        time.sleep(0.6)
        assert not d.card.kill_state()["engaged"]
        d.heartbeat.stop()                         # what a killed daemon does
        deadline = time.monotonic() + 3
        while not d.card.kill_state()["engaged"] and time.monotonic() < deadline:
            time.sleep(0.05)
        k = d.card.kill_state()
        assert k["engaged"] and k["tripped"] and not k["global"]
        d.set_kill(False)                          # explicit release
        assert not d.card.kill_state()["tripped"]
    finally:
        d.close()
        t.close()


# ---- audit --------------------------------------------------------------------------

def test_audit_chain_detects_tampering(tmp_path):
    p = tmp_path / "a.jsonl"
    log = audit.AuditLog(p)
    for i in range(4):
        log.append("uid:0", "admin", "SetKill", {"i": i}, before={"k": 0}, after={"k": 1})
    assert audit.verify(p) == (True, 4, None, "")
    assert audit.AuditLog(p).seq == 4                 # reopening continues the chain
    lines = p.read_text().splitlines()
    e = json.loads(lines[2])
    e["who"] = "uid:1000"
    lines[2] = json.dumps(e)
    p.write_text("\n".join(lines) + "\n")
    ok, n, bad, why = audit.verify(p)
    assert (ok, n, bad) == (False, 2, 2) and "hash" in why
    del lines[2]
    p.write_text("\n".join(lines) + "\n")
    assert audit.verify(p)[:3] == (False, 2, 2)       # a deleted entry breaks the link
    with pytest.raises(ValueError):
        audit.AuditLog(p)


# ---- metrics and roles --------------------------------------------------------------

def test_metrics_export_every_counter(daemon):
    t = daemon.card.t
    t.values["mac_a.frames_ok"] = 41
    t.values["risk.rejects[5]"] = 3
    t.values["itch.msgs[0]"] = 2
    m = Metrics(daemon)
    fams = {f.name: f for f in text_string_to_metric_families(generate_latest(m.registry).decode())}
    n_counters = sum(1 for r in REGS.values() if r.kind == "counter")
    samples = [s for f in fams.values() if f.type == "counter" and f.name.startswith("tickwire_")
               and f.name != "tickwire_rpc_latency_seconds" for s in f.samples if s.name.endswith("_total")]
    assert len(samples) == n_counters
    assert fams["tickwire_mac_a_frames_ok"].samples[0].value == 41
    rej = {s.labels["reason"]: s.value for s in fams["tickwire_risk_rejects"].samples
           if s.name.endswith("_total")}
    assert rej["max_qty"] == 3 and rej["kill_switch"] == 0
    assert [s.value for s in fams["tickwire_itch_msgs"].samples if s.labels.get("type") == "S"][0] == 2
    assert fams["tickwire_kill_switch_engaged"].samples[0].value == 0
    t.values["mac_a.frames_ok"] = 42                  # no cache: the next scrape sees it
    fams = {f.name: f for f in text_string_to_metric_families(generate_latest(m.registry).decode())}
    assert fams["tickwire_mac_a_frames_ok"].samples[0].value == 42


def test_roles_file(tmp_path):
    f = tmp_path / "roles.yaml"
    f.write_text("1234: viewer\nroot: operator\n")
    roles = auth.load_roles(f)
    assert roles[1234] == "viewer" and roles[0] == "operator"
    assert auth.load_roles(None) == {os.getuid(): "admin"}
    f.write_text("1234: superuser\n")
    with pytest.raises(ValueError, match="superuser"):
        auth.load_roles(f)
    assert auth.rank("viewer") < auth.rank("operator") < auth.rank("admin")
    assert auth.rank("") < auth.rank("viewer")


# ---- production-size limits on a scaled model card ------------------------------------

def _big_limits(n_sym, n_acct):
    out = ["version: 1", "symbols:"]
    for i in range(n_sym):
        out += [f"  - symbol: S{i:04d}", f"    max_qty: {100 + i}", "    collar: 5 ticks"]
    out.append("accounts:")
    for i in range(n_acct):
        out += [f"  - account: A{i:03d}", "    enabled: true", f"    max_notional: {1000 + i}",
                "    rate: {burst: 3, per_second: 10}", "    positions:",
                "      default: {long: 10, short: 1}"]
        if i % 7 == 0:
            out.append(f"      S{i % n_sym:04d}: {{long: {500 + i}, short: 2}}")
    return "\n".join(out) + "\n"


def test_scaled_model_card_takes_a_large_set(tmp_path):
    """A model card built with 300 slots x 40 accounts (scaled_windows) and a daemon CardHandle
    given the same windows: the whole set is committed, the card's gate sees it, and a
    set one symbol too large is refused with its line before anything is written."""
    from tickwire.control.transport.model import ModelTransport
    from tickwire.model.card import ModelCard, scaled_windows
    windows = scaled_windows(40, 300)
    t = ModelTransport(card=ModelCard(windows=windows))
    d = Daemon(t, State(tmp_path / "state"), audit.AuditLog(tmp_path / "a.jsonl"), "model",
               windows=windows)
    d.restore()
    try:
        assert (d.card.accounts, d.card.slots) == (40, 300)
        text = _big_limits(300, 40)
        applied, version, changes = d.load_limits(text, "big.yaml")
        assert applied and version == 1 and len(changes) == 340
        want = lm.encode(lm.parse(text, max_accounts=40, max_slots=300), accounts=40, slots=300)
        assert d.card.read_limit_tables() == want            # the shadow mirrors the active set
        gate = t.card.risk.limits
        assert [s.max_qty for s in gate.symbols] == [100 + i for i in range(300)]
        assert gate.accounts[14].positions[14] == (514, 2) and gate.accounts[14].positions[15] == (10, 1)
        assert gate.accounts[39].max_notional == 1039 * 10000
        # one field changed: the diff names exactly it
        applied, version, changes = d.load_limits(text.replace("max_qty: 399", "max_qty: 7"), "big.yaml")
        assert changes == ["symbols.S0299.max_qty: 399 -> 7"] and t.card.risk.limits.symbols[299].max_qty == 7
        too_big = _big_limits(301, 40)
        with pytest.raises(lm.LimitsError, match=r"^big2.yaml:3: symbols: 301 entries, the gate has 300"):
            d.load_limits(too_big, "big2.yaml")
        assert d.card.read_limit_tables()["sym_limits"][299 * 4 + 1] == 7     # untouched
        with pytest.raises(ValueError, match="index 39 out of range 0..7"):
            d.set_kill(True, "A039")                           # risk.kill_accounts has 8 bits
        assert d.set_kill(True, "A007")["accounts_mask"] == 0x80
    finally:
        d.close()


def test_burst_words_are_checked():
    from tickwire.control.transport import TransportError, open_device
    with open_device("model") as dev:
        base = WINDOWS["risk.sym_limits"].addr
        dev.write_burst(base, [1, 2, 0xFFFFFFFF])
        assert dev.read_burst(base, 3) == [1, 2, 0xFFFFFFFF]
        for bad in ([1, -1], [1 << 32], [1.0]):
            with pytest.raises(TransportError, match="not a 32-bit unsigned word"):
                dev.write_burst(base, bad)
        assert dev.read_burst(base, 3) == [1, 2, 0xFFFFFFFF]


def test_status_names_the_build_and_its_parameters():
    from tickwire.control.cli.status import _build
    text = _build(BUILDS["board"].digest)
    assert text.startswith(f"board (0x{BUILDS['board'].digest:08x}): ")
    assert "book_slots=256" in text and "risk_slots=8" in text
    assert _build(0) == "0x00000000 (unknown build)"
