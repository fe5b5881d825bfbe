"""`tickwire serve`: open the card, check it, restore state, serve the API.

    tickwire serve --device model|sim:unix:PATH|pcie:BDF|uart:URL
                   [--listen unix:PATH | HOST:PORT --tls-cert C --tls-key K --tls-ca CA]
                   [--socket-mode 0660 --socket-group GROUP] [--metrics HOST:PORT]
                   [--state-dir DIR] [--roles FILE] [--watchdog-ms N | --no-watchdog]
                   [--audit-key FILE] [--audit-checkpoint FILE] [--min-free-mb N]

TCP is refused without TLS: a control port that can pull the kill switch or rewrite
limits must prove who is on the other end (mutual TLS, role = the certificate's OU).

The gRPC servers are asyncio servers on one event-loop thread: watch streams are
coroutines (they hold no thread), unary calls (status, kill, limits) run on a control
pool that streams never use; the kill switch has a priority pool of its own.
"""
import asyncio
import grp
import importlib
import os
import signal
import sys
import tempfile
import threading
from concurrent import futures

import grpc

from tickwire.control import audit as audit_mod
from tickwire.control.metrics import Metrics
from tickwire.control.proto import tickwire_pb2_grpc as pbg
from tickwire.model.yaml_guard import MAX_BYTES

from . import fsguard
from . import watchdog as watchdog_mod
from .auth import UnixRelay, load_roles
from .card import CardMismatch
from .core import MIN_FREE_BYTES, Daemon
from .identity import tls_identity
from .service import Service, StreamSlots
from .state import State, default_state_dir

MAX_MESSAGE = MAX_BYTES + (64 << 10)      # the limits text cap plus the rest of a request
GRPC_OPTIONS = [("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.max_concurrent_streams", 1100)]


def default_socket():
    """$TICKWIRE_SERVER, else tickwire.sock in $XDG_RUNTIME_DIR or /tmp/tickwire-$UID/."""
    env = os.environ.get("TICKWIRE_SERVER")
    if env:
        return env
    return f"unix:{os.path.join(fsguard.default_runtime_dir(), 'tickwire.sock')}"


def prepare_default_socket_dir(listen):
    """Create (0700) and verify the per-user directory of the default socket; a
    directory someone else made, or a symlink, is refused."""
    if listen == f"unix:{os.path.join(fsguard.default_runtime_dir(), 'tickwire.sock')}":
        fsguard.ensure_private_dir(fsguard.default_runtime_dir())


def open_transport(spec):
    """Device spec -> Transport. `py:MODULE:FUNC` calls FUNC() (test and bring-up hook)."""
    if spec.startswith("py:"):
        _, mod, fn = spec.split(":", 2)
        return getattr(importlib.import_module(mod), fn)()
    from tickwire.control.transport import open_device
    return open_device(spec)


def split_hostport(text, default_host="127.0.0.1"):
    host, _, port = text.rpartition(":")
    return (host.strip("[]") or default_host), int(port)


def _mode(text):
    m = int(text, 8)
    if m & ~0o660 or not m & 0o600 == 0o600:
        raise ValueError(f"--socket-mode {text}: allowed are 0600 (owner) and 0660 (group)")
    return m


def add_arguments(p):
    p.add_argument("--device", required=True, help="model | sim:unix:PATH | pcie:BDF | uart:URL")
    p.add_argument("--listen", default=None,
                   help="unix:PATH (default: $TICKWIRE_SERVER, $XDG_RUNTIME_DIR/tickwire.sock "
                        "or /tmp/tickwire-$UID/tickwire.sock) or HOST:PORT (needs --tls-*)")
    p.add_argument("--socket-mode", default="0600", help="Unix socket mode: 0600 (default) or "
                   "0660 so that --socket-group members can connect (their role comes from --roles)")
    p.add_argument("--socket-group", default=None, help="group of the Unix socket")
    p.add_argument("--metrics", default=None, help="serve Prometheus /metrics on [HOST:]PORT "
                   "(host defaults to 127.0.0.1)")
    p.add_argument("--state-dir", default=None, help=f"default {default_state_dir()} "
                   "(must be ours, mode 0700, no symlinks)")
    p.add_argument("--roles", default=None, help="YAML: uid or user -> viewer|operator|admin")
    p.add_argument("--tls-cert", help="server certificate (PEM), TCP only")
    p.add_argument("--tls-key", help="server private key (PEM)")
    p.add_argument("--tls-ca", help="CA that signs client certificates (PEM)")
    p.add_argument("--watchdog-ms", type=int, default=1000,
                   help=f"card watchdog timeout, {watchdog_mod.FLOOR_MS}..{watchdog_mod.CEILING_MS} "
                        "ms; heartbeats are sent 4x as often (default 1000)")
    p.add_argument("--no-watchdog", action="store_true",
                   help="run without the card watchdog (audited; not for production)")
    p.add_argument("--audit-key", default=None, help="HMAC key of the audit log (default "
                   "STATE_DIR/audit.key; keep it where log editors cannot read it)")
    p.add_argument("--audit-checkpoint", default=None,
                   help="checkpoint file anchoring the log's length (default STATE_DIR/audit.checkpoint)")
    p.add_argument("--rerequest", metavar="HOST:PORT", help="MoldUDP64 request server "
                   "(gap recovery, docs/recovery.md; --device model only for now)")
    p.add_argument("--rerequest-max-count", type=int, default=64,
                   help="messages per request (the server's maximum)")
    p.add_argument("--rerequest-rate", type=float, default=200.0, help="requests per second")
    p.add_argument("--glimpse", metavar="HOST:PORT", help="GLIMPSE 5.0 server (snapshots)")
    p.add_argument("--glimpse-credentials", metavar="FILE",
                   help="username:password, a file only this user can read (mode 0600)")
    p.add_argument("--mold-session", default="TICKWIRE01", help="MoldUDP64 session")
    p.add_argument("--model-feed", metavar="CAPTURE.pcap",
                   help="--device model: replay this MoldUDP64 capture into the model card's "
                        "data path (docs/recovery.md)")
    p.add_argument("--model-feed-speed", type=float, default=1.0,
                   help="capture time scale (1 = as recorded, 0 = as fast as it goes)")
    p.add_argument("--min-free-mb", type=int, default=MIN_FREE_BYTES >> 20,
                   help="refuse changes when less is free in the state directory (default 16)")


class Server:
    """Everything `serve` starts, in one object so tests and the bench can run it in-process."""

    def __init__(self, transport, state_dir, listen, device_name="device", metrics=None,
                 roles=None, tls=None, watchdog_ms=1000, windows=None, no_watchdog=False,
                 socket_mode=0o600, socket_group=None, audit_key=None, audit_checkpoint=None,
                 min_free_bytes=MIN_FREE_BYTES, recovery=None, model_feed=None):
        self.state = State(state_dir)
        self.audit = audit_mod.AuditLog(self.state.audit_path, audit_key, audit_checkpoint)
        self.daemon = Daemon(transport, self.state, self.audit, device_name, watchdog_ms, windows,
                             no_watchdog=no_watchdog, min_free_bytes=min_free_bytes)
        self.daemon.restore()
        self.metrics = Metrics(self.daemon)
        self.daemon.recovery = None
        if recovery:
            self.daemon.recovery = self._recovery(recovery, device_name).start()
        self.model_feed = None
        feed = getattr(getattr(transport, "card", None), "feed", None)
        if feed is not None and model_feed:
            from .recovery.feedmodel import ModelFeed
            self.model_feed = ModelFeed(feed, model_feed[0], model_feed[1]).start()
        self.metrics_port = self.metrics.serve(*metrics) if metrics else None
        self.roles = roles or load_roles(None)
        self.servers, self.relay, self._lock = [], None, threading.Lock()
        self._backends = {}
        self.control_pool = futures.ThreadPoolExecutor(8, "control")
        self.watch_pool = futures.ThreadPoolExecutor(2, "watch")
        self.priority_pool = futures.ThreadPoolExecutor(2, "kill")
        self.streams = StreamSlots()
        self.refusals = audit_mod.RefusalWindow()
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="grpc-aio",
                                             daemon=True)
        self._loop_thread.start()
        try:
            if listen.startswith("unix:"):
                self.private = tempfile.mkdtemp(prefix="tickwire-")      # 0700
                self.relay = UnixRelay(listen[5:], self._backend_for_uid, socket_mode, socket_group)
            else:
                if not tls:
                    raise ValueError("TCP listening needs --tls-cert, --tls-key and --tls-ca "
                                     "(mutual TLS); use unix:PATH for local access")
                cert, key, ca = (open(f, "rb").read() for f in tls)
                creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=ca,
                                                    require_client_auth=True)
                host, port = split_hostport(listen)
                self.port = self._run(self._start(tls_identity, f"{host}:{port}", creds))
                if not self.port:
                    raise OSError(f"cannot listen on {listen}")
        except BaseException:
            self.stop()
            raise

    def _recovery(self, cfg, device_name):
        """The recovery manager (docs/recovery.md): the model card's data path
        (feedcard), or a real/simulated card's injection window (regcard)."""
        from .recovery.feedcard import FeedCard
        from .recovery.glimpse import GlimpseClient
        from .recovery.manager import RecoveryManager
        from .recovery.rerequest import RerequestClient
        if cfg.get("glimpse") and not cfg.get("credentials"):
            raise ValueError("--glimpse needs --glimpse-credentials FILE (mode 0600)")
        subs = {s["locate"]: s["slot"] for s in self.state.subscriptions}
        if device_name != "model":   # the card's host injection window (rtl/rx/inject/)
            from .recovery.regcard import RegisterCard
            card = RegisterCard(self.daemon.card, subs)
        else:
            card = getattr(getattr(self.daemon.card.t, "card", None), "feed", None)
        if card is None:             # no --model-feed: an idle data path, snapshots only
            card = FeedCard(subs)
        rr = RerequestClient(cfg["rerequest"], cfg["session"], max_count=cfg["max_count"],
                             rate=cfg["rate"]) if cfg.get("rerequest") else None
        gl = GlimpseClient(cfg["glimpse"], cfg["credentials"], cfg["session"]) \
            if cfg.get("glimpse") else None
        self.recovery_card = card
        return RecoveryManager(card, self.state.dir, rr, gl, registry=self.metrics.registry,
                               audit=lambda action, req, result: self.daemon._audit(
                                   action, req, result=result))

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _start(self, identify, address, creds=None):
        srv = grpc.aio.server(migration_thread_pool=self.control_pool, options=GRPC_OPTIONS)
        pbg.add_TickwireServicer_to_server(
            Service(self.daemon, identify, self.metrics, self.streams, self.refusals,
                    self.watch_pool, self.priority_pool), srv)
        port = srv.add_secure_port(address, creds) if creds else srv.add_insecure_port(address)
        await srv.start()
        self.servers.append(srv)
        return port

    def _backend_for_uid(self, uid):
        with self._lock:
            if uid not in self._backends:
                role = self.roles.get(uid, "")
                who = f"uid:{uid}"
                path = os.path.join(self.private, f"{uid}.sock")
                self._run(self._start(lambda context, who=who, role=role: (who, role),
                                      f"unix:{path}"))
                self._backends[uid] = path
            return self._backends[uid]

    def stop(self):
        if self.relay:
            self.relay.close()
        for s in list(self.servers):
            try:
                self._run(s.stop(1))
            except Exception:
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join(5)
        self.control_pool.shutdown(wait=False, cancel_futures=True)
        self.watch_pool.shutdown(wait=False, cancel_futures=True)
        self.priority_pool.shutdown(wait=False, cancel_futures=True)
        self.metrics.close() if hasattr(self, "metrics") else None
        if getattr(self, "model_feed", None):
            self.model_feed.stop()
        if getattr(getattr(self, "daemon", None), "recovery", None):
            self.daemon.recovery.stop()
        self.daemon.close()


def _recovery_args(args):
    if not (getattr(args, "rerequest", None) or getattr(args, "glimpse", None)):
        return None
    return {"rerequest": split_hostport(args.rerequest) if args.rerequest else None,
            "glimpse": split_hostport(args.glimpse) if args.glimpse else None,
            "credentials": args.glimpse_credentials, "session": args.mold_session,
            "max_count": args.rerequest_max_count, "rate": args.rerequest_rate}


def _fail(msg, code):
    print(f"tickwire serve: {msg}", file=sys.stderr)
    return code


def run(args):
    try:
        watchdog_mod.validate(args.watchdog_ms, args.no_watchdog)
        roles = load_roles(args.roles)
        mode = _mode(args.socket_mode)
        group = grp.getgrnam(args.socket_group).gr_gid if args.socket_group else None
    except KeyError:
        return _fail(f"--socket-group {args.socket_group}: no such group", 2)
    except ValueError as exc:
        return _fail(str(exc), 2)
    if getattr(args, "model_feed", None) and args.device != "model":
        return _fail("--model-feed needs --device model", 2)
    try:
        if getattr(args, "model_feed", None):
            from tickwire.control.transport.model import ModelTransport
            from .recovery.feedmodel import FeedModelCard
            transport = ModelTransport(card=FeedModelCard())
        else:
            transport = open_transport(args.device)
    except Exception as exc:       # TransportError and friends: say which device and why
        return _fail(f"cannot open device {args.device}: {exc}", 3)
    listen = args.listen or default_socket()
    if not listen.startswith("unix:") and ":" not in listen:
        listen = "unix:" + listen
    tls = (args.tls_cert, args.tls_key, args.tls_ca) if args.tls_cert else None
    try:
        prepare_default_socket_dir(listen)
        server = Server(transport, args.state_dir or default_state_dir(), listen, args.device,
                        metrics=split_hostport(args.metrics) if args.metrics else None,
                        roles=roles, tls=tls, watchdog_ms=args.watchdog_ms,
                        no_watchdog=args.no_watchdog, socket_mode=mode, socket_group=group,
                        audit_key=args.audit_key, audit_checkpoint=args.audit_checkpoint,
                        min_free_bytes=args.min_free_mb << 20, recovery=_recovery_args(args),
                        model_feed=(args.model_feed, args.model_feed_speed)
                        if getattr(args, "model_feed", None) else None)
    except CardMismatch as exc:
        transport.close()
        return _fail(f"refusing the card: {exc}", 4)
    except (OSError, ValueError) as exc:
        transport.close()
        return _fail(str(exc), 1)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if server.daemon.held:
        print("tickwire serve: HOLDING the card with the kill switch engaged: "
              + "; ".join(server.daemon.held)
              + " (fix or reload the limits, then `tickwire kill off` to resume)",
              file=sys.stderr, flush=True)
    if server.daemon.trip_latch:
        print(f"tickwire serve: watchdog TRIPPED: {server.daemon.trip_latch} "
              "(`tickwire kill off` releases it)", file=sys.stderr, flush=True)
    where = f"port {server.port}" if not listen.startswith("unix:") else listen
    extra = f", metrics on port {server.metrics_port}" if server.metrics_port else ""
    print(f"tickwire serve: {args.device} ready on {where}{extra}", flush=True)
    stop.wait()
    server.stop()
    transport.close()
    return 0
