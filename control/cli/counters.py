"""`tickwire counters [PREFIX] [--watch]`: every hardware counter (non-zero by default)."""
import time

from . import client


def add_arguments(p):
    client.add_common(p)
    p.add_argument("prefix", nargs="?", default="", help="only counters starting with this")
    p.add_argument("--all", action="store_true", help="include counters that are zero")
    p.add_argument("--watch", action="store_true", help="stream updates (Ctrl-C to stop)")
    p.add_argument("--interval", type=float, default=1.0, help="--watch period, seconds")
    p.add_argument("--count", type=int, default=0, help="--watch: stop after N updates")


def _show(args, reply, prev):
    if args.json:
        client.emit(args, {"timestamp": reply.timestamp,
                           "counters": {c.name: c.value for c in reply.counters}}, "")
        return
    rows = []
    for c in reply.counters:
        if c.value or args.all:
            delta = c.value - prev.get(c.name, c.value)
            rows.append((c.name, c.value) + ((f"+{delta}",) if args.watch else ()))
    heads = ["counter", "value"] + (["delta"] if args.watch else [])
    print(time.strftime("%H:%M:%S", time.localtime(reply.timestamp)) if args.watch else "", end="")
    print(("\n" if args.watch else "") + client.table(rows, heads), flush=True)


def run(args):
    req = client.pb.CountersRequest(prefix=args.prefix)
    if not args.watch:
        rc, r = client.call(args, lambda st: st.GetCounters(req, timeout=args.timeout))
        if not rc:
            _show(args, r, {})
        return rc
    req.interval_ms, req.count = int(args.interval * 1000), args.count

    def watch(st):
        prev = {}
        for r in st.WatchCounters(req):
            _show(args, r, prev)
            prev = {c.name: c.value for c in r.counters}
    rc, _ = client.call(args, watch)
    return rc
