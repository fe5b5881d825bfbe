"""Issue #16 end to end: the probes an attacker or a careless operator tried, against
`tickwire serve --device model` in its own process. Unix sockets and loopback only;
every wait is bounded; every daemon is stopped by its fixture.
"""
import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import grpc
import pytest

from conftest import CLI, ServeDaemon, cli_env, limits_yaml, short_tmpdir
from tickwire.tools.testpki import Pki
from tickwire.control.proto import tickwire_pb2 as pb
from tickwire.control.proto import tickwire_pb2_grpc as pbg

LIMITS = limits_yaml()
ENV = cli_env()


@pytest.fixture
def daemon(tmp_path):
    d = ServeDaemon(tmp_path / "state")
    yield d
    d.stop()


@pytest.fixture
def limits_file(tmp_path):
    p = tmp_path / "limits.yaml"
    p.write_text(LIMITS)
    return p


def audit_entries(state):
    return [json.loads(x) for x in (state / "audit.jsonl").read_text().splitlines()]


def serve(args, env=None, timeout=60):
    return subprocess.run(CLI + ["serve", "--device", "model", *args], capture_output=True,
                          text=True, timeout=timeout, env=env or ENV)


# ---- role escalation over mTLS -----------------------------------------------------

def test_forged_cn_and_two_ous_get_no_admin(tmp_path):
    pki = Pki(tmp_path)
    pki.client("frank", "frank,OU=admin", "viewer")
    pki.client("slash", "x/OU=admin", "viewer")
    pki.client("twice", "eve", "viewer", "admin")
    pki.client("bob", "bob", "operator")
    d = ServeDaemon(tmp_path / "state", ["--tls-cert", str(tmp_path / "server.pem"), "--tls-key",
                                         str(tmp_path / "server.key"), "--tls-ca", str(tmp_path / "ca.pem")],
                    listen="127.0.0.1:0")
    try:
        def stub(stem):
            ca, key, cert = (open(f, "rb").read() for f in pki.files(stem))
            creds = grpc.ssl_channel_credentials(ca, key, cert)
            return pbg.TickwireStub(grpc.secure_channel(f"localhost:{d.port}", creds))

        def code(stem, call, req):
            try:
                getattr(stub(stem), call)(req, timeout=10)
                return grpc.StatusCode.OK, ""
            except grpc.RpcError as exc:
                return exc.code(), exc.details()
        kill = pb.KillRequest(engage=True)
        assert stub("frank").GetStatus(pb.Empty(), timeout=10).role == "viewer"
        c, why = code("frank", "SetKill", kill)
        assert c == grpc.StatusCode.PERMISSION_DENIED and "has viewer" in why
        assert code("slash", "SetKill", kill)[0] == grpc.StatusCode.PERMISSION_DENIED
        c, why = code("twice", "SetKill", kill)
        assert c == grpc.StatusCode.PERMISSION_DENIED and "has no role" in why
        assert code("twice", "GetStatus", pb.Empty())[0] == grpc.StatusCode.PERMISSION_DENIED
        assert code("bob", "SetKill", kill)[0] == grpc.StatusCode.OK
        ca, key, cert = pki.files("frank")                     # and through the CLI
        r = d.cli("kill", "on", "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key)
        assert r.returncode == 5 and "cert:frank,OU=admin" in r.stderr
    finally:
        d.stop()


# ---- the kill switch cannot be starved -----------------------------------------------

async def _kill_under_streams(target, n_streams, n_kills):
    """Open n_streams watch streams (each has delivered a first update), then time kills."""
    channels = [grpc.aio.insecure_channel(target) for _ in range(4)]
    stubs = [pbg.TickwireStub(c) for c in channels]
    first = asyncio.Queue()

    async def watch(i):
        call = stubs[i % 4].WatchCounters(pb.CountersRequest(prefix="risk.", interval_ms=1000))
        n = 0
        async for _ in call:
            n += 1
            if n == 1:
                first.put_nowait(i)
    tasks = [asyncio.create_task(watch(i)) for i in range(n_streams)]
    try:
        for _ in range(n_streams):
            await asyncio.wait_for(first.get(), 60)
        kill_channel = grpc.aio.insecure_channel(target)
        op = pbg.TickwireStub(kill_channel)
        await op.GetStatus(pb.Empty(), timeout=10)
        times = []
        for i in range(n_kills):
            t0 = time.perf_counter()
            await op.SetKill(pb.KillRequest(engage=i % 2 == 0), timeout=10)
            times.append(time.perf_counter() - t0)
        await kill_channel.close()
        alive = sum(not t.done() for t in tasks)
        return times, alive
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in channels:
            await c.close()


def test_kill_completes_within_100ms_with_200_open_streams(daemon):
    times, alive = asyncio.run(_kill_under_streams(daemon.listen, 200, 20))
    assert alive == 200                                   # every watcher still open
    times.sort()
    assert times[len(times) // 2] < 0.1, times            # median
    assert times[-2] < 0.1, times                         # and all but the worst
    r = daemon.cli("kill", "show")
    assert r.returncode == 0 and "off" in r.stdout


def test_kill_p99_under_load_is_reported():
    """The bounded load of the bench: 200 streams and 1,000 status calls from three viewer
    certificates and an operator, kills throughout; p99 printed (-s). Every kill must
    succeed and the median stay under 100 ms; the p99 is bounded loosely here (a shared
    2-core machine: fsync and CPU spikes) and reported against 100 ms by the bench."""
    from tickwire.tools.build.bench.control_load import kill_under_load
    r = kill_under_load(streams=200, status_calls=1000, viewers=3)
    print(f"\nkill under load: p50 {r['kill_p50_ms']:.1f} ms, p99 {r['kill_p99_ms']:.1f} ms, "
          f"max {r['kill_max_ms']:.1f} ms over {r['kills']} kills; {r}")
    assert r["streams_alive"] == 200 and r["errors"] == 0 and r["status_calls"] == 1000
    assert r["kills"] >= 100 and r["kill_p50_ms"] < 100 and r["kill_p99_ms"] < 1000


def test_streams_are_capped_per_identity():
    from tickwire.control.daemon import service
    slots = service.StreamSlots(per_identity=2, total=3)
    assert slots.acquire("a") and slots.acquire("a") and not slots.acquire("a")
    assert slots.acquire("b") and not slots.acquire("c")     # total reached
    slots.release("a")
    assert slots.acquire("c")


# ---- crash and input limits --------------------------------------------------------

def test_deep_nesting_and_bad_numbers_are_refused_with_lines(daemon, tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 50_000)
    r = daemon.cli("limits", "load", str(deep), "--dry-run")
    assert r.returncode == 4 and f"{deep}:1: (limits): nested deeper" in r.stderr
    stub = daemon.stub()
    with pytest.raises(grpc.RpcError) as exc:
        stub.LoadLimits(pb.LoadLimitsRequest(text="[" * 50_000, filename="d.yaml"), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for value in ("Infinity", "1e999999999", "\u0665\u0660\u0660\u0660"):
        with pytest.raises(grpc.RpcError) as exc:
            stub.LoadLimits(pb.LoadLimitsRequest(
                text=LIMITS.replace("credit: 1000000", f"credit: {value}"), filename="b.yaml"), timeout=10)
        assert "b.yaml:13: accounts[0].credit" in exc.value.details()
    bad = tmp_path / "bad.yaml"
    bad.write_text(LIMITS.replace("credit: 1000000", 'credit: "1,,,_0_"'))
    r = daemon.cli("limits", "load", str(bad))
    assert r.returncode == 4 and f"{bad}:13: accounts[0].credit" in r.stderr, r.stderr
    assert daemon.proc.poll() is None and daemon.cli("status").returncode == 0
    daemon.stop()
    refused = [e for e in audit_entries(daemon.state) if e["action"] == "LoadLimits"]
    assert len(refused) == 1 and refused[0]["result"].startswith("INVALID_ARGUMENT")


def test_oversized_requests_do_not_fill_the_log(tmp_path):
    roles = tmp_path / "roles.yaml"
    roles.write_text(f"{os.getuid()}: viewer\n")
    d = ServeDaemon(tmp_path / "state", ["--roles", str(roles)])
    try:
        stub = d.stub()
        with pytest.raises(grpc.RpcError) as exc:              # 3.9 MB: over the message cap
            stub.SetKill(pb.KillRequest(engage=True, account="A" * 3_900_000), timeout=10)
        assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        size = (tmp_path / "state" / "audit.jsonl").stat().st_size
        for _ in range(5):
            with pytest.raises(grpc.RpcError) as exc:
                stub.SetKill(pb.KillRequest(engage=True, account="A" * 900_000), timeout=10)
            assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert (tmp_path / "state" / "audit.jsonl").stat().st_size - size < 4096
    finally:
        d.stop()


def test_cli_reports_the_size_limit_with_a_hint(daemon, tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# pad\n" * 900_000)
    r = daemon.cli("limits", "load", str(big), "--json")
    assert r.returncode == 4 and "MiB" in r.stderr and "split" in r.stderr
    assert json.loads(r.stdout)["error"]["code"] == "INVALID_ARGUMENT"
    with pytest.raises(grpc.RpcError) as exc:
        daemon.stub().LoadLimits(pb.LoadLimitsRequest(text="#" * (3 << 20)), timeout=10)
    assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    from tickwire.control.cli.client import _hint
    assert "MiB" in _hint(exc.value.code(), exc.value.details())


# ---- fail closed across restarts ---------------------------------------------------

def test_deleted_state_holds_the_card(tmp_path, limits_file):
    d = ServeDaemon(tmp_path / "state")
    try:
        d.stub().LoadLimits(pb.LoadLimitsRequest(text=LIMITS, filename="l.yaml"), timeout=10)
        d.stub().SetKill(pb.KillRequest(engage=True), timeout=10)
    finally:
        d.stop()
    (tmp_path / "state" / "state.json").unlink()
    d = ServeDaemon(tmp_path / "state")
    try:
        s = d.stub().GetStatus(pb.Empty(), timeout=10)
        assert s.kill.engaged and "state.json is missing" in s.held
        assert "HELD" in d.cli("status").stdout
        d.stub().SetKill(pb.KillRequest(engage=False), timeout=10)      # the operator acts
        s = d.stub().GetStatus(pb.Empty(), timeout=10)
        assert not s.kill.engaged and not s.held
    finally:
        d.stop()
    actions = [e["action"] for e in audit_entries(tmp_path / "state")]
    assert "Held" in actions and "Recovery" in actions


def test_empty_limits_file_holds_and_names_the_file(tmp_path, limits_file):
    d = ServeDaemon(tmp_path / "state")
    try:
        d.stub().LoadLimits(pb.LoadLimitsRequest(text=LIMITS, filename="l.yaml"), timeout=10)
    finally:
        d.stop()
    (tmp_path / "state" / "limits.yaml").write_text("")
    d = ServeDaemon(tmp_path / "state")
    try:
        s = d.stub().GetStatus(pb.Empty(), timeout=10)
        assert s.kill.engaged and "limits.yaml is empty" in s.held
    finally:
        d.stop()


def test_watchdog_trip_survives_sigkill_on_the_model(tmp_path, limits_file):
    d = ServeDaemon(tmp_path / "state")
    try:
        d.stub().LoadLimits(pb.LoadLimitsRequest(text=LIMITS, filename="l.yaml"), timeout=10)
    finally:
        d.stop(signal.SIGKILL)
    for _ in range(2):                                         # and a clean restart after it
        d = ServeDaemon(tmp_path / "state")
        try:
            s = d.stub().GetStatus(pb.Empty(), timeout=10)
            assert s.watchdog.tripped and s.kill.engaged and s.watchdog_trip
        finally:
            d.stop()
    actions = [e["action"] for e in audit_entries(tmp_path / "state")]
    assert actions.count("WatchdogTrip") == 2 and actions.count("Start") == 3


# ---- sockets, state directories, second uid -----------------------------------------

def test_default_socket_dir_squatted_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    os.chmod(run, 0o777)
    env = dict(ENV, XDG_RUNTIME_DIR=str(run))
    r = serve(["--state-dir", str(tmp_path / "s")], env=env)
    assert r.returncode == 1 and "0777" in r.stderr
    r = subprocess.run(CLI + ["status", "--timeout", "2"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 3 and "refused" in r.stderr
    if os.geteuid() == 0:
        os.chmod(run, 0o700)
        os.chown(run, 65534, 65534)
        r = subprocess.run(CLI + ["status", "--timeout", "2", "--json"], capture_output=True,
                           text=True, timeout=60, env=env)
        assert r.returncode == 3 and "owned by uid 65534" in json.loads(r.stdout)["error"]["message"]


def test_default_socket_is_in_a_private_dir(tmp_path):
    from tickwire.control.daemon import server
    env = dict(os.environ)
    env.pop("TICKWIRE_SERVER", None)
    env.pop("XDG_RUNTIME_DIR", None)
    code = "from tickwire.control.daemon.server import default_socket; print(default_socket())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60).stdout.strip()
    assert out == f"unix:/tmp/tickwire-{os.geteuid()}/tickwire.sock"
    assert server.default_socket() != f"unix:/tmp/tickwire-{os.geteuid()}.sock"


def test_open_state_dir_is_refused(tmp_path):
    st = tmp_path / "s"
    st.mkdir()
    os.chmod(st, 0o777)
    r = serve(["--listen", f"unix:{tmp_path}/x.sock", "--state-dir", str(st)])
    assert r.returncode == 1 and "0777" in r.stderr and "Traceback" not in r.stderr


AS_NOBODY = textwrap.dedent("""
    import os, sys, grpc
    from tickwire.control.proto import tickwire_pb2 as pb, tickwire_pb2_grpc as pbg
    stub = pbg.TickwireStub(grpc.insecure_channel(sys.argv[1]))
    os.setgroups([]); os.setgid(65534); os.setuid(65534)      # imports done: now a second uid
    for call in ("status", "kill"):
        try:
            if call == "status":
                r = stub.GetStatus(pb.Empty(), timeout=5); print("status", r.role)
            else:
                stub.SetKill(pb.KillRequest(engage=True), timeout=5); print("kill OK")
        except grpc.RpcError as e:
            print(call, e.code().name)
""")


def test_second_uid_reaches_the_socket_only_when_granted(tmp_path):
    if os.geteuid() != 0:
        pytest.skip(f"needs root to run a client as a second uid (runs as uid {os.geteuid()})")
    roles = tmp_path / "roles.yaml"
    roles.write_text("65534: viewer\n")
    for extra, want in (([], ["status UNAVAILABLE", "kill UNAVAILABLE"]),
                        (["--socket-mode", "0660", "--socket-group", "nogroup"],
                         ["status viewer", "kill PERMISSION_DENIED"])):
        sockdir = short_tmpdir("twu")
        os.chmod(sockdir, 0o755)                           # the other uid may look inside
        listen = f"unix:{sockdir}/s.sock"
        d = ServeDaemon(tmp_path / "state", ["--roles", str(roles), *extra], listen=listen)
        try:
            r = subprocess.run([sys.executable, "-c", AS_NOBODY, listen], capture_output=True,
                               text=True, timeout=60)
            assert r.stdout.split("\n")[:2] == want, (r.stdout, r.stderr[-500:])
        finally:
            d.stop()
            subprocess.run(["rm", "-rf", sockdir], check=False)


# ---- watchdog settings and small defects ------------------------------------------

@pytest.mark.parametrize("ms", ["0", "-1", "99999999999"])
def test_bad_watchdog_settings_are_refused(tmp_path, ms):
    r = serve(["--listen", f"unix:{tmp_path}/x.sock", "--state-dir", str(tmp_path / "s"),
               "--watchdog-ms", ms])
    assert r.returncode == 2 and "watchdog" in r.stderr and "Traceback" not in r.stderr


def test_no_watchdog_is_audited(tmp_path):
    d = ServeDaemon(tmp_path / "state", ["--no-watchdog"])
    try:
        assert json.loads(d.cli("status", "--json").stdout)["watchdog"].get("timeout_cycles", 0) == 0
    finally:
        d.stop()
    assert "WatchdogDisabled" in [e["action"] for e in audit_entries(tmp_path / "state")]


def test_bad_roles_file_is_a_message(tmp_path):
    roles = tmp_path / "roles.yaml"
    roles.write_text("1234: [viewer\n")
    r = serve(["--listen", f"unix:{tmp_path}/x.sock", "--state-dir", str(tmp_path / "s"),
               "--roles", str(roles)])
    assert r.returncode == 2 and f"roles file {roles}" in r.stderr and "Traceback" not in r.stderr
    r = serve(["--listen", f"unix:{tmp_path}/x.sock", "--state-dir", str(tmp_path / "s"),
               "--roles", str(tmp_path / "none.yaml")])
    assert r.returncode == 2 and "none.yaml" in r.stderr and "Traceback" not in r.stderr


def test_typo_kill_show_and_json_errors(daemon, limits_file):
    assert daemon.cli("limits", "load", str(limits_file)).returncode == 0
    r = daemon.cli("limits", "set", "account", "ACME1", "enabled", "true")
    assert r.returncode == 4 and "unknown account 'ACME1'" in r.stderr and "--create" in r.stderr
    r = daemon.cli("limits", "set", "account", "ACME1", "enabled", "true", "--json")
    assert json.loads(r.stdout)["error"]["code"] == "INVALID_ARGUMENT"
    assert daemon.cli("limits", "set", "account", "ACME03", "enabled", "true", "--create").returncode == 0
    assert daemon.cli("kill", "on", "--account", "ACME02").returncode == 0
    r = daemon.cli("kill", "show")
    assert "ENGAGED for some accounts" in r.stdout and "ACME02" in r.stdout
    r = daemon.cli("kill", "on", "--account", "NOPE", "--json")
    assert r.returncode == 4 and "unknown account" in json.loads(r.stdout)["error"]["message"]
