"""UdpRx: Ethernet II / IPv4 / UDP parser and feed destination filter, pipelined.

Input: MAC beats realigned to lane 0 (frame byte o in beat o // 8, lane o % 8), FCS
included, `bad` on the last beat. Output: a registered UdpBeat stream, one cycle
after the input beat: UDP payload bytes only (lanes unchanged: the payload starts in
lane 2 of beat 5), `first` on the first output beat, `last` on the frame's last beat.

Pipelining (rtl/rx/udp/layout.py, checksum.py, filter.py, lengths.py): every header
field is read at a fixed (beat, lane) and its check registered in that beat; the
payload of beat 5 only needs an AND of registered verdicts and a 20-bit pattern test.

Accepted: EtherType 0x0800 (no VLAN tag), IPv4 version 4 with IHL 5 (no options), a
correct header checksum, total length >= 20 and equal to the frame (frame bytes
before the FCS == max(14 + total, 60): only minimum-size frames may carry padding),
no fragment (MF clear, offset 0), protocol 17, total >= 28 and UDP length == total - 20,
and a destination (group, port) in an enabled filter entry. Everything else is dropped
and counted, first failure in register order (docs/bad-input-udp.md; the model,
tickwire/model/net.py, applies the same rules). The UDP checksum (udp_checksum.py)
needs the whole datagram: its verdict trails the frame by a few cycles (`csum_bad`,
counted in udp_checksum_errors) and MoldUDP64 treats it like a late bad end marker.

Cut-through: the header verdict is known before the first payload byte, but two
checks only end with the frame: the MAC's verdict (FCS, error character, oversize)
and the frame-length rule. A frame that fails either after its payload went out is
closed by a `last` beat with `bad` = 1 (its messages were already forwarded; the
stages after decide what that means) and counted as drop_bad_frame / drop_ip_length,
never as udp_accepted. A frame that sent nothing sends nothing more. Counters pulse
(registered) two cycles after the frame's last beat: frames_in and exactly one of
udp_accepted / drop_*. A `first` beat restarts parsing: nothing of a frame (flags,
sums, hits) survives into the next.
"""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MacBeat, UdpBeat
from ...regmap.binding import register_members
from . import regs
from .checksum import ip_checksum
from .udp_checksum import udp_checksum
from .filter import dest_filter
from .layout import ETH_TYPE, IP, IP_FRAG, IP_PROTO, IP_TOTAL, PAYLOAD_BEAT, UDP_LEN, at, word
from .lengths import lengths

#: Counter registers of the net block, in priority order (first = frames_in).
COUNTERS = tuple(r.name for r in regs.block(2).items if r.kind == "counter")
DROPS = tuple(n for n in COUNTERS[2:] if n.startswith("drop_"))   # first failure wins

ETH_IPV4 = 0x0800
VLAN_TPIDS = (0x8100, 0x88A8)
IP_PROTO_UDP = 17


class UdpRx(wiring.Component):
    def __init__(self, n_filters=4):
        self.n_filters = n_filters
        self.registers = regs.block(n_filters)
        super().__init__({
            "i": In(stream.Signature(MacBeat, always_ready=True)),
            "o": Out(stream.Signature(UdpBeat, always_ready=True)),
            # the UDP checksum of the frame that went out last failed (registered pulse,
            # udp_checksum.LATENCY cycles after its last input beat)
            "csum_bad": Out(1),
            **register_members(self.registers),
        })

    def _header_flags(self, m, lanes, at_beat, first):
        """Checks of beats 1 and 2, each registered in its beat (cleared by `first`)."""
        et = word(lanes, ETH_TYPE)
        vihl = lanes[IP % 8]
        tot = word(lanes, IP_TOTAL)
        frag = word(lanes, IP_FRAG)
        f = {n: Signal(name=f"f_{n}") for n in
             ("ethertype", "vlan", "ip_header", "ip_options", "tot_low", "fragment",
              "not_udp", "udp_low", "udp_len")}
        ipl = Signal(16)                 # total - 20: the UDP length it implies
        with m.If(first):
            m.d.sync += [s.eq(0) for s in f.values()]
        with m.If(at_beat(at(ETH_TYPE)[0])):
            tpid = Cat(*(et == t for t in VLAN_TPIDS)).any()
            m.d.sync += [f["vlan"].eq(tpid), f["ethertype"].eq(~tpid & (et != ETH_IPV4)),
                         f["ip_header"].eq((vihl[4:8] != 4) | (vihl[0:4] < 5)),
                         f["ip_options"].eq(vihl[0:4] > 5)]
        with m.If(at_beat(at(IP_TOTAL)[0])):
            m.d.sync += [ipl.eq(tot - 20), f["tot_low"].eq(tot < 20), f["udp_low"].eq(tot < 28),
                         f["fragment"].eq(frag[13] | (frag[0:13] != 0)),
                         f["not_udp"].eq(lanes[IP_PROTO % 8] != IP_PROTO_UDP)]
        with m.If(at_beat(at(UDP_LEN)[0])):
            m.d.sync += f["udp_len"].eq(word(lanes, UDP_LEN) != ipl)
        return f

    def elaborate(self, platform):
        m = Module()
        beat, valid = self.i.payload, self.i.valid
        first, last = beat.first, beat.last
        lanes = [beat.data.word_select(k, 8) for k in range(8)]

        # Beat index of the current beat when it is not `first` (saturates past 5).
        pos = Signal(range(PAYLOAD_BEAT + 2))
        with m.If(valid):
            m.d.sync += pos.eq(Mux(first, 1, Mux(pos > PAYLOAD_BEAT, pos, pos + 1)))

        def at_beat(b):
            return valid & ~first & (pos == b)

        f = self._header_flags(m, lanes, at_beat, first)
        csum_good = ip_checksum(m, lanes, at_beat)
        hits, feed = dest_filter(m, lanes, at_beat, self.ctl_filter_group,
                                 self.ctl_filter_port, self.ctl_filter_ctrl, self.n_filters)
        mask, end_ok, end_keep = lengths(m, lanes, valid, first, at_beat, pos)

        # Header verdict: beats 1-2 folded into one register in beat 4, the rest from
        # registers of beat 4; valid from beat 5 (`past`) on.
        pre_ok = Signal()
        with m.If(at_beat(4)):
            m.d.sync += pre_ok.eq(~Cat(*(f[n] for n in ("ethertype", "vlan", "ip_header",
                "ip_options", "tot_low", "fragment", "not_udp", "udp_low"))).any())
        past = ~first & (pos >= PAYLOAD_BEAT)
        ok = Signal()
        m.d.comb += ok.eq(past & pre_ok & ~f["udp_len"] & hits.any() & csum_good)
        # The frame ends where the header says: in this beat, or in the previous one
        # when the MAC's end beat trails empty (rtl/rx/mac/realign.py).
        ends_here = end_ok & (beat.keep == end_keep)
        ended_before = Signal()
        with m.If(valid):
            m.d.sync += ended_before.eq(ends_here)
        len_ok = ends_here | (~first & (beat.keep == 0) & ended_before)

        # Output register.
        sent = Signal()                      # payload of this frame went out
        kany = mask.any() & Mux(pos == PAYLOAD_BEAT, beat.keep[2], beat.keep[0])
        emit = valid & Mux(last, sent | ok, ok & kany)
        o = self.o.payload
        m.d.sync += [
            self.o.valid.eq(emit),
            o.data.eq(beat.data), o.keep.eq(beat.keep & mask), o.ts.eq(beat.ts),
            o.first.eq(~sent), o.last.eq(last), o.feed.eq(feed),
            o.bad.eq(last & ~(ok & len_ok & ~beat.bad)),
        ]
        with m.If(valid):
            m.d.sync += sent.eq(~last & ~first & (sent | emit))

        # the UDP checksum trails the frame; only a frame that ended accepted is judged
        sum_bad = udp_checksum(m, beat, valid, first, at_beat, pos, mask)
        accepted = Signal()
        with m.If(valid & last):
            m.d.sync += accepted.eq(ok & len_ok & ~beat.bad)
        m.d.comb += [self.csum_bad.eq(sum_bad & accepted),
                     self.ev_udp_checksum_errors.eq(sum_bad & accepted)]

        self._counters(m, valid & last, {
            "drop_bad_frame": beat.bad,
            "drop_ethertype": f["ethertype"], "drop_vlan": f["vlan"],
            "drop_ip_header": f["ip_header"] | ~past, "drop_ip_options": f["ip_options"],
            "drop_ip_checksum": ~csum_good, "drop_ip_length": f["tot_low"] | ~len_ok,
            "drop_fragment": f["fragment"], "drop_not_udp": f["not_udp"],
            "drop_udp_length": f["udp_low"] | f["udp_len"], "drop_filter": ~hits.any(),
        })
        return m

    def _counters(self, m, done, fail):
        """Latch the failures at the last beat, pick the first one the next cycle and
        register the pulses: they leave the block two cycles after the last beat."""
        assert tuple(fail) == DROPS, "fail checks must follow the register order"
        done_r, fails_r = Signal(), Signal(len(DROPS))
        m.d.sync += [done_r.eq(done), fails_r.eq(Cat(*fail.values()))]
        m.d.sync += [self.ev_frames_in.eq(done_r), self.ev_udp_accepted.eq(done_r & ~fails_r.any())]
        earlier = 0
        for j, name in enumerate(DROPS):
            m.d.sync += getattr(self, f"ev_{name}").eq(done_r & fails_r[j] & ~earlier)
            earlier = earlier | fails_r[j]
