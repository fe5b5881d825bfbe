"""`tickwire clock [show|set SEC.NS|now|step NS|adjust PPB]`: the card's time of day."""
import time

from . import client


def add_arguments(p):
    client.add_common(p)
    p.add_argument("action", nargs="?", default="show", choices=("show", "set", "now", "step", "adjust"))
    p.add_argument("value", nargs="?", help="set: SEC[.NNNNNNNNN]; step: signed ns; adjust: ppb")


def run(args):
    pb = client.pb
    a = args.action
    if a in ("set", "step", "adjust") and args.value is None:
        raise ValueError(f"clock {a} needs a value")
    if a == "show":
        fn = lambda st: st.GetClock(pb.Empty(), timeout=args.timeout)      # noqa: E731
    elif a in ("set", "now"):
        if a == "now":
            ns_total = time.time_ns()
            sec, ns = divmod(ns_total, 10**9)
        else:
            s, _, frac = args.value.partition(".")
            sec, ns = int(s), int((frac + "000000000")[:9])
        fn = lambda st: st.SetClock(pb.ClockRequest(sec=sec, ns=ns), timeout=args.timeout)  # noqa: E731
    elif a == "step":
        fn = lambda st: st.StepClock(pb.ClockRequest(step_ns=int(args.value)), timeout=args.timeout)  # noqa: E731
    else:
        fn = lambda st: st.AdjustClock(pb.ClockRequest(ppb=float(args.value)), timeout=args.timeout)  # noqa: E731
    rc, c = client.call(args, fn)
    if not rc:
        client.emit(args, c, f"{c.sec}.{c.ns:09d}  period 0x{c.period:010x} ({c.ppb:+.3f} ppb)")
    return rc
