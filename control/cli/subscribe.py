"""`tickwire subscribe LOCATE SLOT [--symbol NAME] [--remove]`: route a symbol to a book slot."""
from . import client


def add_arguments(p):
    client.add_common(p)
    p.add_argument("locate", type=int, nargs="?")
    p.add_argument("slot", type=int, nargs="?", default=0)
    p.add_argument("--symbol", default="")
    p.add_argument("--remove", action="store_true")


def run(args):
    pb = client.pb
    if args.locate is None:
        fn = lambda st: st.GetSubscriptions(pb.Empty(), timeout=args.timeout)   # noqa: E731
    else:
        fn = lambda st: st.Subscribe(pb.SubscribeRequest(   # noqa: E731
            locate=args.locate, slot=args.slot, symbol=args.symbol, unsubscribe=args.remove),
            timeout=args.timeout)
    rc, r = client.call(args, fn)
    if not rc:
        client.emit(args, r, client.table([(s.slot, s.locate, s.symbol) for s in r.subscriptions],
                                          ["slot", "locate", "symbol"]))
    return rc
