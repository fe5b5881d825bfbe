"""`tickwire recover`: load a GLIMPSE snapshot now (operator), and show recovery state.

Why: an operator who distrusts the books (or joins mid-session) forces the daemon to
reload them from the exchange's snapshot; the call is audited like every change.
"""
from . import client


def add_arguments(p):
    client.add_common(p)


def describe(r):
    """Recovery state as status lines (shared with `tickwire status`)."""
    if not r.configured:
        return [("recovery", "not configured")]
    rows = [("recovery", f"{r.state}; {r.pending} gap(s) open"),
            ("gaps", f"{r.gaps} seen, {r.filled_by_other_feed} filled by the other feed, "
                     f"{r.recovered} re-requested, {r.abandoned} abandoned, "
                     f"{r.snapshots} snapshot(s), {r.messages_rerequested} messages asked for")]
    if r.stale_locates:
        rows.append(("STALE", "locates " + ", ".join(map(str, r.stale_locates))))
    if r.last:
        rows.append(("last", r.last))
    return rows


def run(args):
    rc, r = client.call(args, lambda st: st.Recover(client.pb.Empty(), timeout=args.timeout))
    if rc:
        return rc
    client.emit(args, r, "snapshot requested\n" +
                "\n".join(f"{k:<12} {v}" for k, v in describe(r)))
    return 0
