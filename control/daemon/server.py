"""`tickwire serve`: open the card, check it, restore state, serve the API.

    tickwire serve --device model|sim:unix:PATH|pcie:BDF|uart:URL
                   [--listen unix:PATH | HOST:PORT --tls-cert C --tls-key K --tls-ca CA]
                   [--metrics HOST:PORT] [--state-dir DIR] [--roles FILE]

TCP is refused without TLS: a control port that can pull the kill switch or rewrite
limits must prove who is on the other end (mutual TLS, role = certificate OU).
"""
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

from .auth import UnixRelay, load_roles, tls_identity
from .card import CardMismatch
from .core import Daemon
from .service import Service
from .state import State, default_state_dir


def default_socket():
    env = os.environ.get("TICKWIRE_SERVER")
    if env:
        return env
    run = os.environ.get("XDG_RUNTIME_DIR")
    return f"unix:{run}/tickwire.sock" if run else f"unix:/tmp/tickwire-{os.getuid()}.sock"


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


def add_arguments(p):
    p.add_argument("--device", required=True, help="model | sim:unix:PATH | pcie:BDF | uart:URL")
    p.add_argument("--listen", default=None,
                   help="unix:PATH (default: $TICKWIRE_SERVER, $XDG_RUNTIME_DIR/tickwire.sock "
                        "or /tmp/tickwire-$UID.sock) or HOST:PORT (needs --tls-*)")
    p.add_argument("--metrics", default=None, help="serve Prometheus /metrics on [HOST:]PORT "
                   "(host defaults to 127.0.0.1)")
    p.add_argument("--state-dir", default=None, help=f"default {default_state_dir()}")
    p.add_argument("--roles", default=None, help="YAML: uid or user -> viewer|operator|admin")
    p.add_argument("--tls-cert", help="server certificate (PEM), TCP only")
    p.add_argument("--tls-key", help="server private key (PEM)")
    p.add_argument("--tls-ca", help="CA that signs client certificates (PEM)")
    p.add_argument("--watchdog-ms", type=int, default=1000,
                   help="card watchdog timeout; heartbeats are sent 4x as often (default 1000)")


class Server:
    """Everything `serve` starts, in one object so tests can run it in-process."""

    def __init__(self, transport, state_dir, listen, device_name="device", metrics=None,
                 roles=None, tls=None, watchdog_ms=1000, windows=None):
        self.state = State(state_dir)
        self.audit = audit_mod.AuditLog(self.state.audit_path)
        self.daemon = Daemon(transport, self.state, self.audit, device_name, watchdog_ms, windows)
        self.daemon.restore()
        self.metrics = Metrics(self.daemon)
        self.metrics_port = self.metrics.serve(*metrics) if metrics else None
        self.roles = roles or load_roles(None)
        self.servers, self.relay, self._lock = [], None, threading.Lock()
        self._backends = {}
        if listen.startswith("unix:"):
            self.private = tempfile.mkdtemp(prefix="tickwire-")      # 0700
            self.relay = UnixRelay(listen[5:], self._backend_for_uid)
        else:
            if not tls:
                raise ValueError("TCP listening needs --tls-cert, --tls-key and --tls-ca "
                                 "(mutual TLS); use unix:PATH for local access")
            cert, key, ca = (open(f, "rb").read() for f in tls)
            creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=ca,
                                                require_client_auth=True)
            srv = self._grpc(tls_identity)
            host, port = split_hostport(listen)
            self.port = srv.add_secure_port(f"{host}:{port}", creds)
            if not self.port:
                raise OSError(f"cannot listen on {listen}")
            srv.start()

    def _grpc(self, identify):
        srv = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        pbg.add_TickwireServicer_to_server(Service(self.daemon, identify, self.metrics), srv)
        self.servers.append(srv)
        return srv

    def _backend_for_uid(self, uid):
        with self._lock:
            if uid not in self._backends:
                role = self.roles.get(uid, "")
                who = f"uid:{uid}"
                srv = self._grpc(lambda context, who=who, role=role: (who, role))
                path = os.path.join(self.private, f"{uid}.sock")
                srv.add_insecure_port(f"unix:{path}")
                srv.start()
                self._backends[uid] = path
            return self._backends[uid]

    def stop(self):
        if self.relay:
            self.relay.close()
        for s in self.servers:
            s.stop(grace=1).wait(2)
        self.metrics.close()
        self.daemon.close()


def run(args):
    try:
        transport = open_transport(args.device)
    except Exception as exc:       # TransportError and friends: say which device and why
        print(f"tickwire serve: cannot open device {args.device}: {exc}", file=sys.stderr)
        return 3
    listen = args.listen or default_socket()
    if not listen.startswith("unix:") and ":" not in listen:
        listen = "unix:" + listen
    tls = (args.tls_cert, args.tls_key, args.tls_ca) if args.tls_cert else None
    try:
        server = Server(transport, args.state_dir or default_state_dir(), listen, args.device,
                        metrics=split_hostport(args.metrics) if args.metrics else None,
                        roles=load_roles(args.roles), tls=tls, watchdog_ms=args.watchdog_ms)
    except CardMismatch as exc:
        print(f"tickwire serve: refusing the card: {exc}", file=sys.stderr)
        transport.close()
        return 4
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    where = f"port {server.port}" if not listen.startswith("unix:") else listen
    extra = f", metrics on port {server.metrics_port}" if server.metrics_port else ""
    print(f"tickwire serve: {args.device} ready on {where}{extra}", flush=True)
    stop.wait()
    server.stop()
    transport.close()
    return 0
