"""Kill-switch latency under load: the probe behind issue #16's "kill always works".

A `tickwire serve --device model` process on loopback TCP with mutual TLS; several
certificate identities (three viewers, one operator) open watch streams and issue
status calls while the operator toggles the kill switch; the kill RPC's latency is
measured from the operator's side. Bounded: a fixed number of calls, every call with a
deadline, the daemon stopped in `finally`.
"""
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _pctl(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def _drive(port, pki, streams, status_calls, viewers):
    import grpc
    from tickwire.control.proto import tickwire_pb2 as pb
    from tickwire.control.proto import tickwire_pb2_grpc as pbg

    def channel(stem):
        ca, key, cert = (open(f, "rb").read() for f in pki.files(stem))
        return grpc.aio.secure_channel(f"localhost:{port}",
                                       grpc.ssl_channel_credentials(ca, key, cert))
    vchans = [channel(f"viewer{i}") for i in range(viewers)]
    ochan = channel("operator")
    vstubs, op = [pbg.TickwireStub(c) for c in vchans], pbg.TickwireStub(ochan)
    opened = asyncio.Queue()

    async def watch(i):
        call = vstubs[i % viewers].WatchCounters(pb.CountersRequest(prefix="risk.", interval_ms=1000))
        first = True
        async for _ in call:
            if first:
                opened.put_nowait(i)
                first = False

    watchers = [asyncio.create_task(watch(i)) for i in range(streams)]
    kills, status_lat, errors = [], [], 0
    try:
        for _ in range(streams):
            await asyncio.wait_for(opened.get(), 120)
        await op.GetStatus(pb.Empty(), timeout=10)
        done = asyncio.Event()

        async def status_worker(k, n):
            nonlocal errors
            stub = vstubs[k % viewers] if k % 4 else op       # the operator reads too
            for _ in range(n):
                t0 = time.perf_counter()
                try:
                    await stub.GetStatus(pb.Empty(), timeout=10)
                    status_lat.append(time.perf_counter() - t0)
                except grpc.RpcError:
                    errors += 1

        async def killer():
            nonlocal errors
            i = 0
            while not done.is_set() or len(kills) < 100:
                t0 = time.perf_counter()
                try:
                    await op.SetKill(pb.KillRequest(engage=i % 2 == 0), timeout=10)
                    kills.append(time.perf_counter() - t0)
                except grpc.RpcError:
                    errors += 1
                i += 1
                await asyncio.sleep(0.01)
            await op.SetKill(pb.KillRequest(engage=False), timeout=10)

        workers = 8
        kt = asyncio.create_task(killer())
        await asyncio.gather(*(status_worker(k, status_calls // workers) for k in range(workers)))
        done.set()
        await kt
        alive = sum(not t.done() for t in watchers)
    finally:
        for t in watchers:
            t.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for c in vchans + [ochan]:
            await c.close()
    return {"kill_p50_ms": _pctl(kills, 0.5) * 1000, "kill_p99_ms": _pctl(kills, 0.99) * 1000,
            "kill_max_ms": max(kills) * 1000, "kills": len(kills),
            "status_p99_ms": _pctl(status_lat, 0.99) * 1000, "status_calls": len(status_lat),
            "streams_alive": alive, "errors": errors}


def kill_under_load(streams=200, status_calls=1000, viewers=3):
    """Start a daemon, apply the load, return the latency figures (dict)."""
    from tickwire.tools.testpki import Pki
    d = Path(tempfile.mkdtemp(prefix="twkl", dir="/tmp"))
    pki = Pki(d)
    for i in range(viewers):
        pki.client(f"viewer{i}", f"viewer{i}", "viewer")
    pki.client("operator", "op", "operator")
    env = dict(os.environ)
    env.pop("TICKWIRE_SERVER", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tickwire.control.cli", "serve", "--device", "model",
         "--listen", "127.0.0.1:0", "--state-dir", str(d / "state"),
         "--tls-cert", str(d / "server.pem"), "--tls-key", str(d / "server.key"),
         "--tls-ca", str(d / "ca.pem")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        if "ready on port" not in line:
            raise RuntimeError(f"daemon did not start: {line!r} {proc.stderr.read()[-500:]}")
        port = int(line.split("ready on port ")[1].split(",")[0])
        return asyncio.run(_drive(port, pki, streams, status_calls, viewers))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
        shutil.rmtree(d, ignore_errors=True)
