"""The gRPC servicer: role check, input bounds, audit, latency metric and error mapping.

Every method names its role; a caller below it gets PERMISSION_DENIED and the refusal
is audited (once per caller, method and code per window: see audit.RefusalWindow).
Every mutating method is audited with before/after state and the result. Request
strings are bounded before any work (MAX_STRING; limits text MAX_TEXT).

Served by grpc.aio (control/daemon/server.py): unary methods are plain functions run on
the control pool; the kill switch runs on its own priority pool; the watch streams are
coroutines that sleep on the event loop and read the card on a separate small pool, so
no number of watchers or status readers can take a thread the kill switch needs.
Streams are capped per identity and in total.
"""
import asyncio
import functools
import json
import threading
import time
from concurrent import futures

import grpc

from tickwire.control import audit as audit_mod
from tickwire.control.proto import tickwire_pb2 as pb
from tickwire.control.proto import tickwire_pb2_grpc as pbg
from tickwire.model.limits import LimitsError
from tickwire.model.yaml_guard import MAX_BYTES as MAX_TEXT

from .auth import rank
from .core import Conflict

VERSION = "0.2.0"
MAX_STRING = 256                  # any request string but the limits text
STREAMS_PER_IDENTITY = 256
STREAMS_TOTAL = 1024
MIN_INTERVAL_S = 0.05             # a watcher cannot make the daemon spin


class Refused(Exception):
    """A request refused before any work: (code, message)."""

    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


def _bound(request):
    """Refuse oversized string fields before anything else looks at the request."""
    for fd, value in request.ListFields():
        if fd.type == fd.TYPE_STRING:
            limit = MAX_TEXT if fd.name == "text" else MAX_STRING
            n = len(value.encode()) if fd.name == "text" else len(value)
            if n > limit:
                raise Refused(grpc.StatusCode.INVALID_ARGUMENT,
                              f"{fd.name}: {n} characters, the limit is {limit}")


def _audit_refusal(self, who, have, name, request, result, code):
    """Audit a refused call, once per (who, method, code) per window."""
    if not self.d.audit:
        return
    log, suppressed = self.refusals.admit((who, name, code.name))
    if not log:
        return
    if suppressed:
        result += f" (+{suppressed} identical refusals not logged in the last window)"
    try:
        self.d.audit.append(who, have, name, _req(request), result=result)
    except OSError as exc:
        self.d._degrade(f"audit log write failed: {exc}")


def rpc(role, mutating=False, stream=False, priority=False):
    """Role check, bounds, audit and error mapping around a servicer method. `stream`:
    an async generator on the event loop. `priority`: run on the priority pool, which
    neither watchers nor the other unary calls (a flood of status reads) can occupy."""
    def wrap(fn):
        name = fn.__name__

        def check(self, request, context):
            who, have = self.identify(context)
            if rank(have) < rank(role):
                _audit_refusal(self, who, have, name, request,
                               f"PERMISSION_DENIED (needs {role})", grpc.StatusCode.PERMISSION_DENIED)
                raise Refused(grpc.StatusCode.PERMISSION_DENIED,
                              f"{name} needs role {role}; {who} has {have or 'no role'}")
            _bound(request)
            return who, have

        def fail(self, who, have, request, code, msg):
            if mutating:
                if code == grpc.StatusCode.INVALID_ARGUMENT:
                    _audit_refusal(self, who, have, name, request, f"{code.name}: {msg}", code)
                elif self.d.audit:
                    try:
                        self.d.audit.append(who, have, name, _req(request), result=f"{code.name}: {msg}")
                    except OSError as exc:
                        self.d._degrade(f"audit log write failed: {exc}")
            raise Refused(code, msg)

        if stream:
            @functools.wraps(fn)
            async def handler(self, request, context):
                try:
                    who, have = check(self, request, context)
                except Refused as exc:
                    await context.abort(exc.code, str(exc))
                if not self.streams.acquire(who):
                    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                        f"too many open watch streams for {who} (limit "
                                        f"{STREAMS_PER_IDENTITY}, {STREAMS_TOTAL} in all)")
                try:
                    async for r in fn(self, request, context, who, have):
                        yield r
                except (ValueError, OSError) as exc:
                    await context.abort(_code(exc), str(exc))
                finally:
                    self.streams.release(who)
            return handler

        def core(self, request, context):
            """The call itself: a reply, or Refused (never context.abort, so it can run
            on any pool)."""
            t0 = time.perf_counter()
            try:
                who, have = check(self, request, context)
                try:
                    return fn(self, request, context, who, have)
                except Conflict as exc:
                    fail(self, who, have, request, grpc.StatusCode.ABORTED, str(exc))
                except RecursionError:
                    fail(self, who, have, request, grpc.StatusCode.INVALID_ARGUMENT,
                         "input nested too deeply")
                except (ValueError, OSError) as exc:
                    fail(self, who, have, request, _code(exc), str(exc))
            finally:
                if self.metrics:
                    self.metrics.rpc_latency.labels(name).observe(time.perf_counter() - t0)

        if priority:
            @functools.wraps(fn)
            async def handler(self, request, context):
                loop = asyncio.get_running_loop()
                try:
                    return await loop.run_in_executor(self.priority_pool, core, self, request, context)
                except Refused as exc:
                    await context.abort(exc.code, str(exc))
            return handler

        @functools.wraps(fn)
        def handler(self, request, context):
            try:
                return core(self, request, context)
            except Refused as exc:
                context.abort(exc.code, str(exc))
        return handler
    return wrap


def _code(exc):
    if isinstance(exc, (LimitsError, ValueError)) and not isinstance(exc, OSError):
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.UNAVAILABLE


def _req(request):
    from google.protobuf.json_format import MessageToDict
    d = MessageToDict(request, preserving_proto_field_name=True)
    if "text" in d and len(d["text"]) > 200:
        import hashlib
        d["text"] = "sha256:" + hashlib.sha256(request.text.encode()).hexdigest()
    return audit_mod.clip(d)


class StreamSlots:
    """Open watch streams per identity and in total, so one caller cannot take them all."""

    def __init__(self, per_identity=STREAMS_PER_IDENTITY, total=STREAMS_TOTAL):
        self.per, self.total = per_identity, total
        self.open, self.lock = {}, threading.Lock()

    def acquire(self, who):
        with self.lock:
            if sum(self.open.values()) >= self.total or self.open.get(who, 0) >= self.per:
                return False
            self.open[who] = self.open.get(who, 0) + 1
            return True

    def release(self, who):
        with self.lock:
            self.open[who] -= 1
            if not self.open[who]:
                del self.open[who]


class Service(pbg.TickwireServicer):
    def __init__(self, daemon, identify, metrics=None, streams=None, refusals=None,
                 watch_pool=None, priority_pool=None):
        self.d = daemon
        self.identify = identify        # context -> (who, role)
        self.metrics = metrics
        self.streams = streams or StreamSlots()
        self.refusals = refusals or audit_mod.RefusalWindow()
        self.watch_pool = watch_pool or futures.ThreadPoolExecutor(2, "watch")
        self.priority_pool = priority_pool or futures.ThreadPoolExecutor(2, "kill")

    def _record(self, who, role, action, request, before=None, after=None):
        """Audit a call that changed something; an audit write that fails degrades the
        daemon (kill engaged) and fails the call."""
        try:
            self.d.audit.append(who, role, action, request, before=before, after=after)
        except OSError as exc:
            self.d._degrade(f"audit log write failed: {exc}")
            raise OSError(exc.errno, f"change made but not audited ({exc}): daemon degraded, "
                                     "kill switch engaged") from None

    async def _off_loop(self, fn, *args):
        """Card reads for watchers: on the watch pool, never on the control pool."""
        return await asyncio.get_running_loop().run_in_executor(self.watch_pool, fn, *args)

    # ---- reads ------------------------------------------------------------------------
    def _kill(self, k=None):
        k = k or self.d.kill_state()
        return pb.KillState(**{"global": k["global"]}, accounts_mask=k["accounts_mask"],
                            engaged=k["engaged"], accounts=self.d.killed_accounts())

    def _clock(self):
        return pb.ClockReply(**self.d.card.clock())

    @rpc("viewer")
    def GetStatus(self, request, context, who, role):
        d, ident = self.d, self.d.card.identity()
        k = d.kill_state()
        flags = d.status_flags()
        hb = d.heartbeat
        wd = pb.WatchdogState(timeout_cycles=d.card.read("risk.watchdog_cycles"), tripped=k["tripped"],
                              heartbeats_sent=hb.sent, interval_s=hb.interval,
                              last_heartbeat_age_s=time.monotonic() - hb.last if hb.last else -1)
        return pb.StatusReply(magic=ident["id.magic"], map_version=ident["id.map_version"],
                              map_hash=ident["id.map_hash"], build=ident["id.build"],
                              daemon_version=VERSION, device=d.device_name, clock=self._clock(),
                              watchdog=wd, kill=self._kill(k), limits_version=d.state.limits_version,
                              uptime_s=time.monotonic() - d.started, role=role or "",
                              held=flags["held"], degraded=flags["degraded"],
                              watchdog_trip=flags["trip"], recovery=self._recovery())

    def _recovery(self):
        mgr = getattr(self.d, "recovery", None)
        if mgr is None:
            return pb.RecoveryState(configured=False, state="not configured")
        st = mgr.status()
        return pb.RecoveryState(configured=True, state=st["state"], gaps=st["gaps"],
                                filled_by_other_feed=st["filled_by_other_feed"],
                                recovered=st["recovered"], abandoned=st["abandoned"],
                                messages_rerequested=st["messages_rerequested"],
                                snapshots=st["snapshots"], pending=len(st["pending"]),
                                stale_locates=st["stale_locates"], last=st["last"])

    @rpc("operator", mutating=True)
    def Recover(self, request, context, who, role):
        mgr = getattr(self.d, "recovery", None)
        if mgr is None:
            self._record(who, role, "Recover", {}, after="FAILED: recovery not configured")
            raise Refused(grpc.StatusCode.FAILED_PRECONDITION,
                          "recovery is not configured (serve --glimpse HOST:PORT "
                          "--glimpse-credentials FILE)")
        mgr.force_snapshot()
        self._record(who, role, "Recover", {}, after="snapshot requested")
        return self._recovery()

    def _counters(self, prefix):
        vals = self.d.card.counters(prefix)
        return pb.CountersReply(counters=[pb.Counter(name=n, value=v) for n, v in vals.items()],
                                timestamp=time.time())

    @rpc("viewer")
    def GetCounters(self, request, context, who, role):
        return self._counters(request.prefix)

    @rpc("viewer", stream=True)
    async def WatchCounters(self, request, context, who, role):
        interval = max((request.interval_ms or 1000) / 1000, MIN_INTERVAL_S)
        n = 0
        while True:
            yield await self._off_loop(self._counters, request.prefix)
            n += 1
            if request.count and n >= request.count:
                return
            await asyncio.sleep(interval)

    @rpc("viewer")
    def GetLimits(self, request, context, who, role):
        d = self.d
        return pb.LimitsReply(version=d.state.limits_version, text=d.state.limits_text,
                              source=d.state.limits_source,
                              summary_json=json.dumps(d.summary() if d.limits else {}))

    @rpc("viewer")
    def ReadRaw(self, request, context, who, role):
        if not 0 < request.count <= 4096:
            raise ValueError("count must be 1..4096")
        with self.d.card.lock:
            words = self.d.card.t.read_burst(request.addr, request.count)
        return pb.RawWords(words=words)

    @rpc("viewer")
    def GetSubscriptions(self, request, context, who, role):
        return _subs(self.d.state.subscriptions)

    def _book(self, request):
        slot, name = self.d.resolve_symbol(request.symbol)
        b = self.d.card.bbo(slot)
        bids = [pb.Level(price=b["bid_px"], qty=b["bid_qty"], orders=b["bid_orders"])] if b["bid_px"] else []
        asks = [pb.Level(price=b["ask_px"], qty=b["ask_qty"], orders=b["ask_orders"])] if b["ask_px"] else []
        return pb.BookReply(symbol=name, slot=slot, bids=bids, asks=asks,
                            unreliable=bool(b["flags"] & 1), halted=bool(b["flags"] & 2),
                            timestamp=time.time())

    @rpc("viewer")
    def GetBook(self, request, context, who, role):
        return self._book(request)

    @rpc("viewer", stream=True)
    async def WatchBook(self, request, context, who, role):
        interval = max((request.interval_ms or 100) / 1000, MIN_INTERVAL_S)
        last, n = None, 0
        while True:
            r = await self._off_loop(self._book, request)
            key = (list(r.bids), list(r.asks), r.unreliable, r.halted)
            if key != last:
                last = key
                yield r
                n += 1
                if request.count and n >= request.count:
                    return
            await asyncio.sleep(interval)

    @rpc("viewer")
    def GetClock(self, request, context, who, role):
        return self._clock()

    # ---- operator: limits and kill switch -----------------------------------------
    def _limits_call(self, action, who, role, request, call):
        before = self.d.state.limits_version
        applied, version, changes = call()
        if applied and self.d.audit:
            self._record(who, role, action, _req(request), before={"version": before},
                                after={"version": version, "diff": changes})
        return pb.LimitsChange(applied=applied, version=version, diff=changes)

    @rpc("operator", mutating=True)
    def LoadLimits(self, request, context, who, role):
        exp = request.expected_version if request.has_expected_version else None
        return self._limits_call("LoadLimits", who, role, request, lambda: self.d.load_limits(
            request.text, request.filename, expected=exp, dry_run=request.dry_run))

    @rpc("operator", mutating=True)
    def SetLimit(self, request, context, who, role):
        exp = request.expected_version if request.has_expected_version else None
        return self._limits_call("SetLimit", who, role, request, lambda: self.d.set_limit(
            request.kind, request.name, request.field, request.value, expected=exp,
            dry_run=request.dry_run, create=request.create))

    @rpc("operator", mutating=True, priority=True)
    def SetKill(self, request, context, who, role):
        before = self.d.kill_state()
        after = self.d.set_kill(request.engage, request.account or None)
        if self.d.audit:
            self._record(who, role, "SetKill", _req(request), before=before, after=after)
        return self._kill(after)

    # ---- admin: clock and subscriptions -------------------------------------------
    def _clock_call(self, action, who, role, request, call):
        before = self.d.card.clock()
        call()
        after = self.d.card.clock()
        if self.d.audit:
            self._record(who, role, action, _req(request), before=before, after=after)
        return pb.ClockReply(**after)

    @rpc("admin", mutating=True)
    def SetClock(self, request, context, who, role):
        return self._clock_call("SetClock", who, role, request,
                                lambda: self.d.card.set_clock(request.sec, request.ns))

    @rpc("admin", mutating=True)
    def StepClock(self, request, context, who, role):
        return self._clock_call("StepClock", who, role, request,
                                lambda: self.d.card.step_clock(request.step_ns))

    @rpc("admin", mutating=True)
    def AdjustClock(self, request, context, who, role):
        return self._clock_call("AdjustClock", who, role, request,
                                lambda: self.d.card.adjust_clock(request.ppb))

    @rpc("admin", mutating=True)
    def Subscribe(self, request, context, who, role):
        before = list(self.d.state.subscriptions)
        subs = self.d.subscribe(request.locate, request.slot, request.symbol, request.unsubscribe)
        if self.d.audit:
            self._record(who, role, "Subscribe", _req(request), before=before, after=subs)
        return _subs(subs)


def _subs(subs):
    return pb.SubscriptionsReply(subscriptions=[pb.Subscription(**s) for s in subs])
