"""`tickwire limits show|set|load`: the risk limits set, versioned so operators conflict.

`set` and `load` send the version you last saw (or --expect-version N); if somebody
changed the limits since, the daemon refuses (exit 6) instead of overwriting them.
"""
import json

from . import client


def add_arguments(p):
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("show", help="the active limits set and its version")
    s.add_argument("--yaml", action="store_true", help="print the accepted file")
    s = sub.add_parser("set", help="change one field: set symbol|account NAME FIELD VALUE")
    s.add_argument("kind", choices=("symbol", "account"))
    s.add_argument("name")
    s.add_argument("field", help="e.g. max_qty, collar, enabled, rate.burst, positions.AAPL.long")
    s.add_argument("value", help="YAML value, e.g. 5000, '20 bps', true")
    s.add_argument("--create", action="store_true",
                   help="add NAME if it is not in the limits set (else an unknown name is an error)")
    s = sub.add_parser("load", help="replace the whole set from a file, atomically")
    s.add_argument("file")
    for s in sub.choices.values():
        client.add_common(s)
        if s.prog.split()[-1] in ("set", "load"):
            s.add_argument("--dry-run", action="store_true", help="validate and show the diff only")
            s.add_argument("--expect-version", type=int, default=None,
                           help="fail unless the daemon's limits version is N (default: the "
                                "version read just before)")


def _show(args):
    rc, r = client.call(args, lambda st: st.GetLimits(client.pb.Empty(), timeout=args.timeout))
    if rc:
        return rc
    if args.json:
        client.emit(args, {"version": r.version, "source": r.source,
                           "limits": json.loads(r.summary_json or "{}")}, "")
        return 0
    if args.yaml:
        print(r.text, end="")
        return 0
    lim = json.loads(r.summary_json or "{}")
    print(f"limits version {r.version} (from {r.source or 'nothing loaded'})")
    syms = lim.get("symbols", {})
    if syms:
        print(client.table([(n, s["max_qty"], s["collar"], "bps" if s["collar_bps"] else "px",
                             s["restricted"], s["allow_no_book"]) for n, s in syms.items()],
                           ["symbol", "max_qty", "collar", "unit", "restricted", "allow_no_book"]))
    accts = lim.get("accounts", {})
    if accts:
        print(client.table([(n, a["enabled"], a["max_notional"], a["credit"], a["rate_burst"],
                             a["rate_interval_ns"]) for n, a in accts.items()],
                           ["account", "enabled", "max_notional", "credit", "burst", "interval_ns"]))
    return 0


def _expected(args, st):
    if args.expect_version is not None:
        return args.expect_version
    return st.GetLimits(client.pb.Empty(), timeout=args.timeout).version


def _change(args, r):
    verb = "would change" if not r.applied else f"applied, now version {r.version}:"
    text = f"limits {verb} ({len(r.diff)} changes)\n" + "\n".join("  " + d for d in r.diff)
    client.emit(args, r, text)
    return 0


def run(args):
    if args.action == "show":
        return _show(args)
    if args.action == "load":
        try:
            with open(args.file, "rb") as f:
                raw = f.read(client.MAX_FILE + 1)
            if len(raw) > client.MAX_FILE:
                return client.error(args, "INVALID_ARGUMENT",
                                    f"{args.file}: larger than {client.MAX_FILE >> 20} MiB, the "
                                    "daemon's limit for a limits file (gRPC messages are capped "
                                    "too); split the set or remove comments", 4)
            text = raw.decode()
        except UnicodeDecodeError:
            return client.error(args, "INVALID_ARGUMENT", f"{args.file}: not UTF-8 text", 4)
        except OSError as exc:
            return client.error(args, "ERROR", f"{args.file}: {exc.strerror}", 1)
        rc, r = client.call(args, lambda st: st.LoadLimits(client.pb.LoadLimitsRequest(
            text=text, filename=args.file, dry_run=args.dry_run, has_expected_version=True,
            expected_version=_expected(args, st)), timeout=args.timeout))
    else:
        rc, r = client.call(args, lambda st: st.SetLimit(client.pb.SetLimitRequest(
            kind=args.kind, name=args.name, field=args.field, value=args.value,
            dry_run=args.dry_run, create=args.create, has_expected_version=True,
            expected_version=_expected(args, st)), timeout=args.timeout))
    return rc or _change(args, r)
