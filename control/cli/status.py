"""`tickwire status`: card identity, clock, watchdog, kill switch, limits version."""
from . import client


def add_arguments(p):
    client.add_common(p)


def run(args):
    rc, s = client.call(args, lambda st: st.GetStatus(client.pb.Empty(), timeout=args.timeout))
    if rc:
        return rc
    wd, k = s.watchdog, s.kill
    kill = "ENGAGED" if k.engaged else ("ENGAGED for some accounts" if k.accounts else "off")
    if k.accounts:
        kill += f" (accounts: {', '.join(k.accounts)})"
    rows = [("device", s.device), ("magic", f"0x{s.magic:08x}"),
            ("map", f"version {s.map_version} hash 0x{s.map_hash:08x}"), ("build", _build(s.build)),
            ("daemon", f"{s.daemon_version}, up {s.uptime_s:.0f} s, you are {s.role or 'no role'}"),
            ("clock", f"{s.clock.sec}.{s.clock.ns:09d} ({s.clock.ppb:+.3f} ppb)"),
            ("watchdog", ("TRIPPED" if wd.tripped else "ok") +
             f", timeout {wd.timeout_cycles} cycles, {wd.heartbeats_sent} heartbeats, "
             f"last {wd.last_heartbeat_age_s * 1000:.0f} ms ago"),
            ("kill switch", kill), ("limits", f"version {s.limits_version}")]
    if s.watchdog_trip:
        rows.append(("trip", s.watchdog_trip))
    if s.held:
        rows.append(("HELD", s.held + " (then `tickwire kill off`)"))
    if s.degraded:
        rows.append(("DEGRADED", s.degraded))
    from .recover import describe
    rows += describe(s.recovery)
    client.emit(args, s, "\n".join(f"{k:<12} {v}" for k, v in rows))
    return 0


def _build(digest):
    """id.build as the build's name and parameters (generated control/regmap.py BUILDS)."""
    from tickwire.control.regmap import build_of
    b = build_of(digest)
    if b is None:
        return f"0x{digest:08x} (unknown build)"
    return f"{b.name} (0x{digest:08x}): " + " ".join(f"{k}={v}" for k, v in b.params.items())
