"""Shared by every ops subcommand: connect to the daemon, print, map errors to exit codes.

Exit codes: 0 ok, 1 other error, 3 daemon unreachable, 4 invalid request (e.g. a bad
limits file, a request over gRPC's message limit), 5 permission denied, 6 conflict
(limits changed under you). Under --json an error is a JSON object on stdout too:
{"error": {"code": ..., "message": ...}}, so scripts never parse prose.

The default socket is only used after checking that its directory is ours, private and
not a symlink: a socket another user created first must not receive our limits text
or tell us the kill switch is engaged.
"""
import json
import os
import sys

import grpc

from tickwire.control.proto import tickwire_pb2 as pb
from tickwire.control.proto import tickwire_pb2_grpc as pbg
from tickwire.model.yaml_guard import MAX_BYTES as MAX_FILE

EXIT = {grpc.StatusCode.UNAVAILABLE: 3, grpc.StatusCode.INVALID_ARGUMENT: 4,
        grpc.StatusCode.RESOURCE_EXHAUSTED: 4,
        grpc.StatusCode.PERMISSION_DENIED: 5, grpc.StatusCode.ABORTED: 6,
        grpc.StatusCode.DEADLINE_EXCEEDED: 3}


def default_server():
    from tickwire.control.daemon.server import default_socket
    return default_socket()


def add_common(p):
    p.add_argument("--server", default=None,
                   help="unix:PATH or HOST:PORT (default $TICKWIRE_SERVER, then "
                        "$XDG_RUNTIME_DIR/tickwire.sock or /tmp/tickwire-$UID/tickwire.sock)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per call (default 10)")
    p.add_argument("--tls-cert", default=os.environ.get("TICKWIRE_TLS_CERT"), help="client certificate (TCP)")
    p.add_argument("--tls-key", default=os.environ.get("TICKWIRE_TLS_KEY"), help="client key (TCP)")
    p.add_argument("--tls-ca", default=os.environ.get("TICKWIRE_TLS_CA"), help="CA of the daemon's certificate")


def _verify_default(target):
    """Refuse a default socket whose directory is not ours and private."""
    from tickwire.control.daemon import fsguard
    path = target[5:] if target.startswith("unix:") else target
    directory = os.path.dirname(path)
    if directory == fsguard.default_runtime_dir() and os.path.lexists(directory):
        fsguard.verify_private_dir(directory, os.geteuid())


def connect(args):
    target = args.server or default_server()
    if not args.server and not os.environ.get("TICKWIRE_SERVER"):
        _verify_default(target)
    if target.startswith("/"):
        target = "unix:" + target
    if target.startswith("unix:"):
        channel = grpc.insecure_channel(target)
    else:
        if not (args.tls_cert and args.tls_key and args.tls_ca):
            raise ValueError("TCP servers need --tls-cert, --tls-key and --tls-ca")
        creds = grpc.ssl_channel_credentials(*(open(f, "rb").read() for f in
                                               (args.tls_ca, args.tls_key, args.tls_cert)))
        channel = grpc.secure_channel(target, creds)
    return pbg.TickwireStub(channel)


def error(args, code_name, message, rc):
    """Report an error: JSON on stdout under --json (and the text on stderr always)."""
    if getattr(args, "json", False):
        print(json.dumps({"error": {"code": code_name, "message": message, "exit": rc}}))
    print(f"tickwire {args.command}: {code_name}: {message}", file=sys.stderr)
    return rc


def _hint(code, details):
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in (details or ""):
        return (f"{details} (gRPC's message size limit: a limits file may be at most "
                f"{MAX_FILE >> 20} MiB; split the set or remove comments)")
    return details


def call(args, fn):
    """Run fn(stub) and turn gRPC errors into a message and an exit code."""
    try:
        return 0, fn(connect(args))
    except grpc.RpcError as exc:
        code = exc.code()
        return error(args, code.name, _hint(code, exc.details()), EXIT.get(code, 1)), None
    except OSError as exc:          # e.g. the default socket's directory is not ours
        return error(args, "REFUSED", str(exc), 3), None


def emit(args, obj, text):
    """--json: obj as JSON; else the readable text."""
    if args.json:
        from google.protobuf.json_format import MessageToDict
        if hasattr(obj, "DESCRIPTOR"):
            obj = MessageToDict(obj, preserving_proto_field_name=True,
                                always_print_fields_with_no_presence=True)
        print(json.dumps(obj, indent=1, sort_keys=True))
    else:
        print(text)


def table(rows, headers):
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    out += ["  ".join(c.rjust(w) if c.replace(".", "").replace("-", "").isdigit() else c.ljust(w)
                      for c, w in zip(r, widths)) for r in rows]
    return "\n".join(line.rstrip() for line in out)


pb = pb
