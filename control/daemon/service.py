"""The gRPC servicer: role check, audit, latency metric and error mapping per call.

Every method names its role; a caller below it gets PERMISSION_DENIED and the refusal
is audited. Every mutating method is audited with before/after state and the result,
successful or not.
"""
import functools
import json
import time

import grpc

from tickwire.control.proto import tickwire_pb2 as pb
from tickwire.control.proto import tickwire_pb2_grpc as pbg
from tickwire.model.limits import LimitsError

from .auth import rank
from .core import Conflict, summary

VERSION = "0.1.0"


def rpc(role, mutating=False, stream=False):
    def wrap(fn):
        name = fn.__name__

        def check(self, request, context):
            who, have = self.identify(context)
            if rank(have) < rank(role):
                if self.d.audit:
                    self.d.audit.append(who, have, name, _req(request),
                                        result=f"PERMISSION_DENIED (needs {role})")
                context.abort(grpc.StatusCode.PERMISSION_DENIED,
                              f"{name} needs role {role}; {who} has {have or 'no role'}")
            return who, have

        def fail(self, context, who, have, request, code, msg):
            if mutating and self.d.audit:
                self.d.audit.append(who, have, name, _req(request), result=f"{code.name}: {msg}")
            context.abort(code, msg)

        if stream:
            @functools.wraps(fn)
            def handler(self, request, context):
                who, have = check(self, request, context)
                try:
                    yield from fn(self, request, context, who, have)
                except (ValueError, OSError) as exc:
                    context.abort(_code(exc), str(exc))
            return handler

        @functools.wraps(fn)
        def handler(self, request, context):
            t0 = time.perf_counter()
            try:
                who, have = check(self, request, context)
                try:
                    return fn(self, request, context, who, have)
                except Conflict as exc:
                    fail(self, context, who, have, request, grpc.StatusCode.ABORTED, str(exc))
                except (ValueError, OSError) as exc:
                    fail(self, context, who, have, request, _code(exc), str(exc))
            finally:
                if self.metrics:
                    self.metrics.rpc_latency.labels(name).observe(time.perf_counter() - t0)
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
    return d


class Service(pbg.TickwireServicer):
    def __init__(self, daemon, identify, metrics=None):
        self.d = daemon
        self.identify = identify        # context -> (who, role)
        self.metrics = metrics

    # ---- reads ------------------------------------------------------------------------
    def _kill(self, k=None):
        k = k or self.d.card.kill_state()
        return pb.KillState(**{"global": k["global"]}, accounts_mask=k["accounts_mask"],
                            engaged=k["engaged"], accounts=self.d.kill_names(k["accounts_mask"]))

    def _clock(self):
        return pb.ClockReply(**self.d.card.clock())

    @rpc("viewer")
    def GetStatus(self, request, context, who, role):
        d, ident = self.d, self.d.card.identity()
        k = d.card.kill_state()
        hb = d.heartbeat
        wd = pb.WatchdogState(timeout_cycles=d.card.read("risk.watchdog_cycles"), tripped=k["tripped"],
                              heartbeats_sent=hb.sent, interval_s=hb.interval,
                              last_heartbeat_age_s=time.monotonic() - hb.last if hb.last else -1)
        return pb.StatusReply(magic=ident["id.magic"], map_version=ident["id.map_version"],
                              map_hash=ident["id.map_hash"], build=ident["id.build"],
                              daemon_version=VERSION, device=d.device_name, clock=self._clock(),
                              watchdog=wd, kill=self._kill(k), limits_version=d.state.limits_version,
                              uptime_s=time.monotonic() - d.started, role=role or "")

    def _counters(self, prefix):
        vals = self.d.card.counters(prefix)
        return pb.CountersReply(counters=[pb.Counter(name=n, value=v) for n, v in vals.items()],
                                timestamp=time.time())

    @rpc("viewer")
    def GetCounters(self, request, context, who, role):
        return self._counters(request.prefix)

    @rpc("viewer", stream=True)
    def WatchCounters(self, request, context, who, role):
        interval = (request.interval_ms or 1000) / 1000
        n = 0
        while context.is_active():
            yield self._counters(request.prefix)
            n += 1
            if request.count and n >= request.count:
                return
            time.sleep(interval)

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
    def WatchBook(self, request, context, who, role):
        interval = (request.interval_ms or 100) / 1000
        last, n = None, 0
        while context.is_active():
            r = self._book(request)
            key = (list(r.bids), list(r.asks), r.unreliable, r.halted)
            if key != last:
                last = key
                yield r
                n += 1
                if request.count and n >= request.count:
                    return
            time.sleep(interval)

    @rpc("viewer")
    def GetClock(self, request, context, who, role):
        return self._clock()

    # ---- operator: limits and kill switch -----------------------------------------
    def _limits_call(self, action, who, role, request, call):
        before = self.d.state.limits_version
        applied, version, changes = call()
        if applied and self.d.audit:
            self.d.audit.append(who, role, action, _req(request), before={"version": before},
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
            dry_run=request.dry_run))

    @rpc("operator", mutating=True)
    def SetKill(self, request, context, who, role):
        before = self.d.card.kill_state()
        after = self.d.set_kill(request.engage, request.account or None)
        if self.d.audit:
            self.d.audit.append(who, role, "SetKill", _req(request), before=before, after=after)
        return self._kill(after)

    # ---- admin: clock and subscriptions -------------------------------------------
    def _clock_call(self, action, who, role, request, call):
        before = self.d.card.clock()
        call()
        after = self.d.card.clock()
        if self.d.audit:
            self.d.audit.append(who, role, action, _req(request), before=before, after=after)
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
            self.d.audit.append(who, role, "Subscribe", _req(request), before=before, after=subs)
        return _subs(subs)


def _subs(subs):
    return pb.SubscriptionsReply(subscriptions=[pb.Subscription(**s) for s in subs])
