"""Issue #16 in-process: each probe that broke the control plane, as a regression test.

Identity from certificate fields, strict and bounded limits input, kills by account
name, fail-closed writes and starts, latched watchdog trips, keyed and anchored audit,
watchdog settings, private directories. The daemon runs in this process on the model
card or the fake transport; crash and full-disk cases run in a subprocess.
"""
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
from cryptography.x509.oid import NameOID

from conftest import limits_yaml
from tickwire.tools.testpki import Pki
from test_control_unit import FakeTransport
from tickwire.control import audit
from tickwire.control.daemon import fsguard, identity, watchdog
from tickwire.control.daemon.core import Daemon
from tickwire.control.daemon.state import State
from tickwire.control.transport.model import ModelTransport
from tickwire.model import limits as lm

LIMITS = limits_yaml()


def make(tmp_path, transport=None, **kw):
    t = transport or FakeTransport()
    st = tmp_path / "state"
    d = Daemon(t, State(st), audit.AuditLog(st / "audit.jsonl"), "fake", **kw)
    d.restore()
    return d


def actions(d):
    return [json.loads(x)["action"] for x in open(d.audit.path)]


# ---- identity: fields of the verified certificate, never the subject string ---------

@pytest.mark.parametrize("cn, ous, role", [
    ("alice", ["viewer"], "viewer"),
    ("frank,OU=admin", ["viewer"], "viewer"),        # the forged CN stays a CN
    ("x/OU=admin", ["viewer"], "viewer"),
    ("eve", ["viewer", "admin"], ""),                 # two OUs: ambiguous, no role
    ("eve", ["admin", "viewer"], ""),
    ("nobody", [], ""),
    ("mallory", ["root"], ""),
])
def test_role_is_the_single_ou_attribute(tmp_path, cn, ous, role):
    pem = Pki(tmp_path).client("c", cn, *ous)
    who, got, why = identity.identity_from_pem(pem)
    assert (who, got) == (f"cert:{cn}", role), why
    assert bool(why) == (role == "")


def test_two_cns_get_no_role(tmp_path):
    pem = Pki(tmp_path).issue("c", [(NameOID.COMMON_NAME, "a"), (NameOID.COMMON_NAME, "b"),
                                    (NameOID.ORGANIZATIONAL_UNIT_NAME, "admin")])
    assert identity.identity_from_pem(pem)[1] == ""


# ---- limits input ----------------------------------------------------------------------

NUM = "version: 1\naccounts:\n  - account: X\n    credit: {}\n"


@pytest.mark.parametrize("value", ["Infinity", ".inf", "NaN", "1e999999999", "\u0665\u0660\u0660\u0660",
                                   '"1,,,_0_"', "1__0", "_10", "1,0000", "-5", "0x10"])
def test_numbers_are_strict_and_errors_name_the_line(value):
    with pytest.raises(lm.LimitsError, match=r"^f\.yaml:4: accounts\[0\]\.credit: "):
        lm.parse(NUM.format(value), "f.yaml")


def test_grouped_numbers_still_parse():
    assert lm.parse(NUM.format("1,000,000.50"), "f").accounts[0].credit == 10_000_005_000
    assert lm.parse(NUM.format("$1_000"), "f").accounts[0].credit == 10_000_000


def test_deep_nesting_does_not_crash_the_process():
    """50,000 nested '[' used to overflow libyaml's recursive composer (SIGSEGV): run the
    parse in a subprocess so a crash fails this test instead of killing pytest."""
    code = textwrap.dedent("""
        from tickwire.model import limits as lm
        try:
            lm.parse("[" * 50000, "deep.yaml")
        except lm.LimitsError as e:
            print(e)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.returncode, r.stderr[-500:])
    assert "deep.yaml:1: (limits): nested deeper than" in r.stdout


@pytest.mark.parametrize("text, msg", [
    ("version: 1\nsymbols: &a [{symbol: A}]\naccounts: *a\n", "anchors"),
    ("version: 1\naccounts:\n  - account: " + "A" * 2000 + "\n", "2000 characters"),
    ("version: 1\naccounts:\n  - account: " + "A" * 33 + "\n", "valid name"),
    ("x: " + "y" * (1 << 20) + "\n", "bytes, the limit"),
])
def test_yaml_limits(text, msg):
    with pytest.raises(lm.LimitsError, match=msg):
        lm.parse(text, "f.yaml")


# ---- kill switches by account name -----------------------------------------------------

def test_kill_follows_the_name_not_the_slot(tmp_path):
    d = make(tmp_path)
    try:
        d.load_limits(LIMITS, "l.yaml")
        d.set_kill(True, "ACME01")
        assert d.card.t.values["risk.kill_accounts"] == 0b01
        beta = LIMITS.replace("accounts:\n", "accounts:\n  - account: BETA\n    enabled: true\n")
        d.load_limits(beta, "l2.yaml")
        assert d.card.t.values["risk.kill_accounts"] == 0b10      # ACME01 is slot 1 now
        assert d.killed_accounts() == ["ACME01"]
        with pytest.raises(ValueError, match="unknown account 'ACME1'"):
            d.set_kill(True, "ACME1")
    finally:
        d.close()


def test_limits_set_unknown_name_needs_create(tmp_path):
    d = make(tmp_path)
    try:
        d.load_limits(LIMITS, "l.yaml")
        with pytest.raises(ValueError, match="unknown account 'ACME1'.*--create"):
            d.set_limit("account", "ACME1", "enabled", "true")
        assert d.state.limits_version == 1 and d.limits.account_of("ACME1") is None
        assert d.set_limit("account", "ACME03", "enabled", "true", create=True)[0]
        assert d.limits.account_of("ACME03") == 2
    finally:
        d.close()


# ---- fail closed ---------------------------------------------------------------------

def test_low_disk_refuses_changes_but_a_kill_still_engages(tmp_path):
    d = make(tmp_path)
    try:
        d.load_limits(LIMITS, "l.yaml")
        before = dict(d.card.t.active)
        d.min_free = 1 << 60                             # no disk has that much free
        with pytest.raises(OSError, match="margin"):
            d.load_limits(LIMITS.replace("5000", "6000"), "l.yaml")
        assert d.card.t.active == before and d.state.limits_version == 1
        with pytest.raises(OSError, match="degraded"):
            d.set_kill(True)
        assert d.card.t.values["risk.kill"] == 1 and d.degraded
        with pytest.raises(OSError):
            d.set_kill(False)                            # cannot be saved: stays killed
        assert d.card.t.values["risk.kill"] == 1
    finally:
        d.close()


FULL_DISK = textwrap.dedent("""
    import json, resource, signal, sys
    from tickwire.control import audit
    from tickwire.control.daemon.core import Daemon
    from tickwire.control.daemon.state import State
    from tickwire.control.transport.model import ModelTransport
    state, limits = sys.argv[1], open(sys.argv[2]).read()
    t = ModelTransport()
    d = Daemon(t, State(state), audit.AuditLog(state + "/audit.jsonl"), "model")
    d.restore()
    d.load_limits(limits, "l.yaml")
    tables = d.card.read_limit_tables()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # EFBIG instead of death
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))   # every file over 200 bytes: "full"
    out = {}
    try:
        d.load_limits(limits.replace("5000", "6000"), "l.yaml")
    except OSError as e:
        out["load"] = str(e)
    out["card_unchanged"] = d.card.read_limit_tables() == tables
    try:
        d.set_kill(True)
    except OSError as e:
        out["kill"] = str(e)
    out["engaged"] = d.card.kill_state()["engaged"]
    out["degraded"] = d.degraded
    print(json.dumps(out))
    sys.stdout.flush()
    import os; os._exit(0)                               # a crash: no clean stop
""")


def test_full_disk_fails_closed_and_restart_stays_killed(tmp_path):
    lim = tmp_path / "l.yaml"
    lim.write_text(LIMITS)
    state = tmp_path / "state"
    r = subprocess.run([sys.executable, "-c", FULL_DISK, str(state), str(lim)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-800:]
    out = json.loads(r.stdout)
    assert "load" in out and out["card_unchanged"]
    assert out["engaged"] and "degraded" in out["kill"] and out["degraded"]
    ok, n, bad, why = audit.verify(state / "audit.jsonl")
    assert ok, why                                       # no torn tail
    d = Daemon(ModelTransport(), State(state), audit.AuditLog(state / "audit.jsonl"), "model")
    d.restore()
    try:
        k = d.kill_state()
        assert k["engaged"] and k["tripped"] and d.trip_latch      # restart: still killed
        assert d.state.limits_version == 1
    finally:
        d.close()


@pytest.mark.parametrize("damage, word", [
    (lambda st: (st / "state.json").unlink(), "missing"),
    (lambda st: (st / "state.json").write_text(""), "empty"),
    (lambda st: (st / "state.json").write_text("{not json"), "corrupt"),
    (lambda st: (st / "limits.yaml").unlink(), "missing"),
    (lambda st: (st / "limits.yaml").write_text(""), "empty"),
    (lambda st: (st / "limits.yaml").write_text(LIMITS.replace("5000", "9999")), "does not match"),
])
def test_damaged_state_holds_the_card_until_kill_off(tmp_path, damage, word):
    d = make(tmp_path)
    d.load_limits(LIMITS, "l.yaml")
    d.close()
    damage(tmp_path / "state")
    t = FakeTransport()
    d = make(tmp_path, t)
    try:
        assert d.held and word in d.held[0]
        assert t.values["risk.kill"] == 1                # held: global kill engaged
        assert "Held" in actions(d)
        d.set_kill(False)                                # the operator's act
        assert not d.held and t.values["risk.kill"] == 0
        assert "Recovery" in actions(d)
    finally:
        d.close()


def test_tripped_watchdog_is_latched_across_restarts_on_the_model(tmp_path):
    t = ModelTransport()
    d = make(tmp_path, t, watchdog_ms=10)
    d.heartbeat.interval = 0.2                            # late heartbeats: the card trips
    try:
        deadline = time.monotonic() + 5
        while "WatchdogTrip" not in actions(d) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert d.trip_latch and "WatchdogTrip" in actions(d)
    finally:
        d.close()                                         # a clean stop, still tripped
    d = make(tmp_path, ModelTransport())                  # a fresh model card
    try:
        assert d.kill_state()["tripped"] and d.kill_state()["engaged"]
        d.set_kill(False)
        assert not d.kill_state()["tripped"]
    finally:
        d.close()
    d = make(tmp_path, ModelTransport())
    try:
        assert not d.kill_state()["tripped"] and not d.kill_state()["engaged"]
    finally:
        d.close()


# ---- watchdog settings -----------------------------------------------------------------

def test_stale_trip_seen_by_the_heartbeat_thread_does_not_undo_kill_off(tmp_path):
    """The heartbeat thread reads the card tripped, the operator's "kill off" releases the
    card, then the thread reports what it saw: the release must stand (in CI the late
    report re-latched the trip and "kill off" answered ENGAGED)."""
    t = ModelTransport(realtime=False)                    # card time moves only when told
    d = make(tmp_path, t, watchdog_ms=10)
    try:
        d.heartbeat.stop()                                # the test plays the thread
        t.card.advance(t.card.values["risk.watchdog_cycles"])     # heartbeats late: tripped
        assert t.card.tripped
        d._on_trip()                                      # the thread reports the trip
        assert d.trip_latch and d.kill_state()["engaged"]
        k = d.set_kill(False)
        assert not k["engaged"] and not k["tripped"]
        d._on_trip()                                      # the stale observation arrives
        k = d.kill_state()
        assert not k["engaged"] and not k["global"] and not d.trip_latch
    finally:
        d.close()


@pytest.mark.parametrize("ms", [0, -1, 5, 10_001, 2**40])
def test_watchdog_settings_refused(ms):
    with pytest.raises(ValueError):
        watchdog.validate(ms)


def test_watchdog_bounds_and_explicit_off(tmp_path):
    assert watchdog.validate(10) == 1_562_500 and watchdog.validate(10_000) == 1_562_500_000
    assert watchdog.validate(0, disabled=True) == 0
    d = make(tmp_path, no_watchdog=True)
    try:
        assert d.card.t.values["risk.watchdog_cycles"] == 0
        assert "WatchdogDisabled" in actions(d)
    finally:
        d.close()


# ---- audit -----------------------------------------------------------------------------

def _log(tmp_path, n=5):
    p = tmp_path / "a.jsonl"
    log = audit.AuditLog(p)
    for i in range(n):
        log.append("uid:0", "admin", "SetKill", {"i": i})
    return p


def test_audit_missing_tail_is_detected(tmp_path):
    p = _log(tmp_path)
    lines = p.read_text().splitlines(keepends=True)
    p.write_text("".join(lines[:3]))                      # whole last lines removed
    ok, n, bad, why = audit.verify(p)
    assert (ok, n, bad) == (False, 3, 3) and "missing tail" in why and "5 entries" in why
    with pytest.raises(ValueError, match="missing tail"):
        audit.AuditLog(p)


def test_audit_recomputed_chain_is_detected(tmp_path):
    """An editor without the key re-seals the chain with SHA-256: the HMAC check fails."""
    import hashlib
    p = _log(tmp_path)
    prev, out = audit.GENESIS, []
    for i, line in enumerate(p.read_text().splitlines()):
        e = json.loads(line)
        if i == 2:
            e["who"] = "uid:1000"
        e["prev_hash"] = prev
        e["hash"] = hashlib.sha256(audit._canonical(e)).hexdigest()
        prev = e["hash"]
        out.append(json.dumps(e))
    p.write_text("\n".join(out) + "\n")
    ok, n, bad, why = audit.verify(p)
    assert (ok, bad) == (False, 0) and "HMAC" in why
    r = subprocess.run([sys.executable, "-m", "tickwire.control.cli", "audit", "verify", "--file", str(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 7 and "BROKEN at entry 0" in r.stdout


def test_audit_entries_are_clipped(tmp_path):
    p = tmp_path / "a.jsonl"
    log = audit.AuditLog(p)
    for _ in range(5):
        log.append("cert:x", "", "SetKill", {"account": "A" * 3_900_000}, result="PERMISSION_DENIED")
    assert p.stat().st_size < 5 * 1024
    assert audit.verify(p)[0]


def test_refusals_are_audited_once_per_window():
    w = audit.RefusalWindow(window_s=0.2)
    assert w.admit(("a", "Load", "X")) == (True, 0)
    assert [w.admit(("a", "Load", "X"))[0] for _ in range(50)] == [False] * 50
    assert w.admit(("b", "Load", "X"))[0]
    time.sleep(0.25)
    assert w.admit(("a", "Load", "X")) == (True, 50)


def test_failed_audit_write_leaves_no_torn_tail(tmp_path):
    code = textwrap.dedent("""
        import resource, signal, sys
        from tickwire.control import audit
        log = audit.AuditLog(sys.argv[1])
        log.append("uid:0", "admin", "SetKill", {})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (700, 700))
        try:
            log.append("uid:0", "admin", "SetKill", {"pad": "x" * 200})
            log.append("uid:0", "admin", "SetKill", {"pad": "x" * 200})
        except OSError as e:
            print("refused", e.errno)
    """)
    p = tmp_path / "a.jsonl"
    r = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, timeout=60)
    assert "refused" in r.stdout, r.stderr[-500:]
    assert audit.verify(p)[0] and p.read_bytes().endswith(b"\n")


# ---- directories ---------------------------------------------------------------------

def test_state_dir_must_be_private_and_ours(tmp_path):
    st = tmp_path / "open"
    st.mkdir(mode=0o777)
    os.chmod(st, 0o777)
    with pytest.raises(fsguard.UnsafePath, match="0777"):
        State(st)
    os.chmod(st, 0o700)
    (tmp_path / "elsewhere").write_text("{}")
    os.symlink(tmp_path / "elsewhere", st / "state.json")
    with pytest.raises(fsguard.UnsafePath, match="symlink"):
        State(st)
    link = tmp_path / "link"
    os.symlink(st, link)
    with pytest.raises(fsguard.UnsafePath, match="symlink"):
        State(link)


def test_state_dir_of_another_uid_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give the directory to a second uid (runs as uid "
                    f"{os.geteuid()})")
    st = tmp_path / "theirs"
    st.mkdir(mode=0o700)
    os.chown(st, 65534, 65534)
    with pytest.raises(fsguard.UnsafePath, match="owned by uid 65534"):
        State(st)


def test_torn_last_line_is_set_aside_and_audited(tmp_path):
    """Power lost mid-append: the torn line was never checkpointed; the next start moves
    it aside, audits the repair and continues the chain (it used to refuse to start)."""
    d = make(tmp_path)
    d.close()
    log = tmp_path / "state" / "audit.jsonl"
    with open(log, "ab") as f:
        f.write(b'{"seq": 3, "who": "uid:0", "act')
    assert not audit.verify(log)[0] and "torn" in audit.verify(log)[3]
    d = make(tmp_path)
    try:
        assert "AuditTailRepaired" in actions(d)
        assert (tmp_path / "state" / "audit.jsonl.torn").read_bytes().startswith(b'{"seq": 3')
    finally:
        d.close()
    assert audit.verify(log)[0]
