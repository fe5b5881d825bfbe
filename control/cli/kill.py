"""`tickwire kill on|off [--account A]`: the risk gate's kill switch.

`kill off` (global) also releases a tripped watchdog: turning trading back on is an
explicit operator act, never automatic when a daemon restarts.
"""
from . import client


def add_arguments(p):
    client.add_common(p)
    p.add_argument("state", choices=("on", "off", "show"))
    p.add_argument("--account", default="", help="account name (as in the limits set); default global")


def run(args):
    if args.state == "show":
        rc, s = client.call(args, lambda st: st.GetStatus(client.pb.Empty(), timeout=args.timeout))
        k = s.kill if not rc else None
    else:
        rc, k = client.call(args, lambda st: st.SetKill(client.pb.KillRequest(
            engage=args.state == "on", account=args.account), timeout=args.timeout))
    if rc:
        return rc
    glob = getattr(k, "global")
    if k.engaged:
        text = f"kill switch ENGAGED (global control {'on' if glob else 'off'})"
    elif k.accounts:
        text = "kill switch ENGAGED for some accounts (global control off)"
    else:
        text = "kill switch off (global control off)"
    if k.accounts:
        text += f"; killed accounts: {', '.join(k.accounts)}"
    client.emit(args, k, text)
    return 0
