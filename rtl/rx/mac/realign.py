"""The MAC's output stage: lane-0 realignment and the trailing end beat, registered.

Why: the UDP parser reads header fields at fixed (beat, lane) positions, so every frame
leaves the MAC with its byte o in beat o // 8, lane o % 8. A frame that started in
XGMII lane 4 is shifted by half a beat: its output beat j is the upper half of input
beat j and the lower half of input beat j + 1 (the upper half waits in `hold`).

The FCS verdict needs a compare of the CRC against every possible byte count, which
does not fit in the beat that carries /T/; it is registered there and selected one
cycle later. So a frame ended by /T/ (and a lane-4 frame whose last beat leaves bytes
in `hold`, or that ends in its first beat) gets its `last` beat one cycle after the
beat carrying its final bytes: an end beat with the held tail (keep 0 when none) and
`bad`. Data bytes are never delayed by this (messages complete on data beats); only
the end mark trails. A frame ended by another control character with nothing held
takes `last` on its final beat at once: then a new frame may start in the next beat.
"""
from amaranth.hdl import Cat, Mux, Signal

from ...layouts import MacBeat


def realign(m, out, a, fcs_ok):
    """Drive the registered `out` stream (MacBeat) from stage-A beat signals `a` (a dict:
    valid, data, keep, first, end, term, bad, lane4, ts; `lane4` is a register holding
    the current frame's start lane, so the wide data muxes hang off one flip-flop) and
    `fcs_ok`, the FCS verdict of the beat that was in stage A one cycle earlier."""
    hold = Signal(32, name="rl_hold")
    hold_k = Signal(4, name="rl_hold_keep")
    started = Signal(name="rl_started")      # a beat of the current frame went out
    pend = Signal(name="rl_pend")            # end beat due this cycle
    pend_tail = Signal(name="rl_pend_tail")  # ... with the held bytes
    pend_bad = Signal(name="rl_pend_bad")    # ... bad without the FCS
    pend_fcs = Signal(name="rl_pend_fcs")    # ... and the FCS decides (ended by /T/)
    pend_ts = Signal.like(a["ts"], name="rl_pend_ts")

    shift = a["lane4"]
    upper = a["keep"][4:8].any()
    to_pend = a["end"] & (a["term"] | (shift & (upper | a["first"])))
    o = Signal(MacBeat, name="rl_o")
    o_valid = Signal(name="rl_o_valid")
    first_o = ~started
    m.d.comb += [o.ts.eq(a["ts"]), o.first.eq(first_o), o.bad.eq(a["bad"])]
    with m.If(shift):                                         # combined beat
        m.d.comb += [o.data.eq(Cat(hold, a["data"][0:32])), o.keep.eq(Cat(hold_k, a["keep"][0:4])),
                     o.last.eq(a["end"] & ~to_pend),
                     o_valid.eq(a["valid"] & ~a["first"] & ~(a["end"] & to_pend & ~hold_k.any()
                                                              & ~a["keep"][0:4].any()))]
    with m.Else():
        m.d.comb += [o.data.eq(a["data"]), o.keep.eq(a["keep"]), o.last.eq(a["end"] & ~to_pend),
                     o_valid.eq(a["valid"] & (a["keep"].any() | (a["end"] & ~to_pend)))]

    with m.If(pend):                                          # the trailing end beat
        m.d.sync += [out.valid.eq(1),
                     out.payload.data.eq(hold), out.payload.keep.eq(Mux(pend_tail, hold_k, 0)),
                     out.payload.first.eq(first_o), out.payload.last.eq(1),
                     out.payload.bad.eq(pend_bad | (pend_fcs & ~fcs_ok)),
                     out.payload.ts.eq(pend_ts)]
    with m.Else():
        m.d.sync += [out.valid.eq(o_valid), out.payload.eq(o)]

    m.d.sync += pend.eq(a["valid"] & to_pend)
    with m.If(a["valid"]):
        m.d.sync += [hold.eq(a["data"][32:64]), hold_k.eq(a["keep"][4:8]),
                     pend_tail.eq(shift), pend_bad.eq(a["bad"]), pend_fcs.eq(a["term"]),
                     pend_ts.eq(a["ts"])]
    # `started`: set by an output beat of the frame, cleared by its last beat.
    with m.If(pend):
        m.d.sync += started.eq(0)
    with m.Elif(a["valid"] & o_valid):
        m.d.sync += started.eq(~o.last)
