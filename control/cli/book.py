"""`tickwire book SYMBOL [--watch]`: best bid/offer of a subscribed symbol.

The card exposes the BBO snapshot only; deeper levels are not readable over the bus.
"""
import time

from . import client


def add_arguments(p):
    client.add_common(p)
    p.add_argument("symbol", help="name (subscription or limits set) or slot number")
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--watch", action="store_true", help="stream changes")
    p.add_argument("--count", type=int, default=0, help="--watch: stop after N updates")


def _fmt(r):
    def side(levels):
        return f"{levels[0].qty} @ {levels[0].price / 10000:.4f} ({levels[0].orders} orders)" if levels else "-"
    flags = "".join([" UNRELIABLE" if r.unreliable else "", " HALTED" if r.halted else ""])
    return f"{r.symbol} (slot {r.slot}){flags}\n  bid {side(r.bids)}\n  ask {side(r.asks)}"


def run(args):
    req = client.pb.BookRequest(symbol=args.symbol, depth=args.depth, count=args.count)
    if not args.watch:
        rc, r = client.call(args, lambda st: st.GetBook(req, timeout=args.timeout))
        if not rc:
            client.emit(args, r, _fmt(r))
        return rc

    def watch(st):
        for r in st.WatchBook(req):
            client.emit(args, r, time.strftime("%H:%M:%S ") + _fmt(r))
    return client.call(args, watch)[0]
