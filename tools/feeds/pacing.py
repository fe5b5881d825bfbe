"""Arrival timing of replayed frames: capture timestamps -> idle characters per port.

Why: after one lost packet the two ports of a back-to-back replay drift apart by a
packet, so a capture's own A/B arrival order (which feed leads, by how much) was
lost. Here each frame's capture timestamp sets where its first byte starts on its
port: 10GbE carries 1.25 XGMII characters per ns (8 per 6.4 ns cycle at 156.25 MHz),
so a frame stamped t ns after the capture's first frame starts t * 1.25 characters
into the replay, or as soon as its port is free if the line is still busy. The RTL
harness gets those starts as idle characters (Frame.idle); the model engine orders
frames by the same starts, so both see the same arrival order.

speed "max" ignores timestamps: each port back to back at line rate (the previous
behaviour). skew_b_ns delays every feed-B frame (port B) by that many ns.
"""
CHARS_PER_NS = 1.25           # 10 Gb/s = 1.25 bytes per ns
OVERHEAD = 8 + 4 + 12          # /S/ + preamble + SFD, FCS, average inter-frame gap
SPEEDS = ("capture", "max")


def wire_chars(frame):
    """Characters a frame occupies on its port, gap included."""
    return max(len(frame.data), 60) + OVERHEAD


def pace(frames_by_port, speed="capture", skew_b_ns=0):
    """Set `idle` on every frame (in place) so it starts at its capture time.

    frames_by_port: {"a": [Frame], "b": [Frame]} in wire order per port. Frames
    without a timestamp (raw ITCH input, pcapng simple blocks) follow the previous
    frame of their port back to back. Returns the start character of every frame,
    {port: [start]}, for tests and for the arrival order.
    """
    if speed not in SPEEDS:
        raise ValueError(f"speed must be one of {SPEEDS}")
    if skew_b_ns < 0:
        raise ValueError("--skew-b must be >= 0 ns")
    stamped = [f.ts for fs in frames_by_port.values() for f in fs if f.ts is not None]
    t0 = min(stamped) if stamped else 0
    skew = {"a": 0, "b": int(round(skew_b_ns * CHARS_PER_NS))}
    starts = {}
    for port, frames in frames_by_port.items():
        free, out = 0, []
        for i, f in enumerate(frames):
            want = skew.get(port, 0) if i == 0 else free
            if speed == "capture" and f.ts is not None:
                want = max(free, int(round((f.ts - t0) * CHARS_PER_NS)) + skew.get(port, 0))
            f.idle = want - free
            out.append(want)
            free = want + wire_chars(f)
        starts[port] = out
    return starts
