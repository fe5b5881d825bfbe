"""UdpRx: Ethernet II (<= 1 VLAN tag) / IPv4 / UDP parser and feed destination filter.

Cut-through with zero latency: `o` is combinational from `i` in the same cycle and
only the parse state (beat position, captured header bytes, checksum accumulator,
"payload sent" flag) is registered. Each captured header byte is seen through a
*merged view* (the current beat's byte if it is in this beat, else the register),
so a decision that needs a byte of the current beat (UDP port and length arrive in
the same beat as the first payload byte for lane-4 starts) is taken in that beat.

Checks (first failure counted, in register order): MAC bad, EtherType (0x0800,
after at most one 0x8100/0x88A8 tag), second tag, IPv4 version/IHL, header
checksum, total length (>= IHL*4 and within the frame), fragments (MF or offset),
protocol 17, UDP length (>= 8 and == IPv4 payload length), destination filter
(first enabled entry matching group and port). The UDP checksum is NOT verified.

Output: only UDP payload bytes (lanes unchanged, keep masks headers, padding and
FCS), `first` on the first output beat, end marker on the MAC's last beat.
Counting rule: every frame counts `frames_in` and exactly one of `udp_accepted` /
`drop_*`, on its last beat. A MAC-bad frame always counts `drop_bad_frame` only;
a frame shorter than its IPv4 total length counts `drop_ip_length`. If payload of
such a frame was already forwarded, its end marker has `bad` = 1 (the datagram was
accepted on its headers but is not counted as accepted); if nothing was forwarded
yet, nothing is. A `first` beat restarts parsing.
"""
from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MacBeat, UdpBeat
from ...regmap.binding import register_members
from . import regs

#: Counter registers of the net block, in priority order (first = frames_in).
COUNTERS = tuple(r.name for r in regs.block(2).items if r.kind == "counter")
DROPS = COUNTERS[2:]             # drop_bad_frame ... drop_filter, first failure wins

ETH_IPV4 = 0x0800
VLAN_TPIDS = (0x8100, 0x88A8)
BASE_MAX = 1 << 17               # beat position saturates here (past any IPv4 length)


class UdpRx(wiring.Component):
    def __init__(self, n_filters=4):
        self.n_filters = n_filters
        self.registers = regs.block(n_filters)
        super().__init__({
            "i": In(stream.Signature(MacBeat, always_ready=True)),
            "o": Out(stream.Signature(UdpBeat, always_ready=True)),
            **register_members(self.registers),
        })

    def _ip_checksum(self, m, r, lane, vihl_r):
        """IPv4 header checksum, folded (0xFFFF when good). Lane pairs are 16-bit words
        (L and the start lane are even). A byte past r=20 is never in the IHL beat, so
        the registered IHL bounds the header there."""
        valid, first = self.i.valid, self.i.payload.first
        acc_r, acc = Signal(22), Signal(22)
        terms = []
        for p in range(4):
            rk = r[2 * p]
            inside = valid & (rk >= 0) & ((rk < 20) | (rk < (vihl_r[0:4] << 2)))
            terms.append(Mux(inside, Cat(lane[2 * p + 1], lane[2 * p]), 0))
        m.d.comb += acc.eq(Mux(first, 0, acc_r) + terms[0] + terms[1] + terms[2] + terms[3])
        with m.If(valid):
            m.d.sync += acc_r.eq(acc)
        fold1 = Signal(17)
        fold2 = Signal(16)
        m.d.comb += [fold1.eq(acc[:16] + acc[16:]), fold2.eq(fold1[:16] + fold1[16])]
        return fold2

    def _frame_end(self, m, base):
        """Frame offset past the last valid byte of this beat (lengths exclude FCS)."""
        nend = Signal(signed(19))
        m.d.comb += nend.eq(base)
        for k in range(8):
            with m.If(self.i.payload.keep[k]):
                m.d.comb += nend.eq(base + k + 1)
        return nend

    def _filter(self, m, dst, dport):
        """Destination filter: per-entry hits, and the feed of the first matching entry."""
        group, port, ctrl = self.ctl_filter_group, self.ctl_filter_port, self.ctl_filter_ctrl
        hits = Signal(self.n_filters)
        m.d.comb += hits.eq(Cat(*(ctrl[e][0] & (group[e] == dst) & (port[e] == dport)
                                  for e in range(self.n_filters))))
        feed = Signal()
        for e in reversed(range(self.n_filters)):       # first matching entry wins
            with m.If(hits[e]):
                m.d.comb += feed.eq(ctrl[e][1])
        return hits, feed

    def elaborate(self, platform):
        m = Module()
        beat, valid = self.i.payload, self.i.valid
        first, last = beat.first, beat.last
        lane = [beat.data.word_select(k, 8) for k in range(8)]

        # Frame offset of lane 0 of this beat (-4 on the first beat of a lane-4 start).
        base_r = Signal(signed(19))
        base = Signal(signed(19))
        m.d.comb += base.eq(Mux(first, Mux(beat.keep[0], 0, -4), base_r))
        with m.If(valid):
            m.d.sync += base_r.eq(Mux(base < BASE_MAX, base + 8, base))
        n = [Signal(signed(19), name=f"n{k}") for k in range(8)]
        m.d.comb += [n[k].eq(base + k) for k in range(8)]

        def grab(name, rel, at):
            """Merged view of the header byte whose offset in `rel` is `at`."""
            reg, cur = Signal(8, name=f"{name}_r"), Signal(8, name=name)
            m.d.comb += cur.eq(reg)
            for k in range(8):
                with m.If(valid & (rel[k] == at)):
                    m.d.comb += cur.eq(lane[k])
            m.d.sync += reg.eq(cur)
            return cur, reg

        def word(name, rel, at):
            (hi, hi_r), (lo, lo_r) = grab(f"{name}_hi", rel, at), grab(f"{name}_lo", rel, at + 1)
            return Cat(lo, hi), Cat(lo_r, hi_r)

        # Ethernet: EtherType / TPID at 12, inner EtherType at 16 when tagged.
        et, et_r = word("ethertype", n, 12)
        inner, _ = word("inner_type", n, 16)
        tagged = Signal()
        inner_tag = Signal()
        m.d.comb += [tagged.eq(Cat(*(et == t for t in VLAN_TPIDS)).any()),
                     inner_tag.eq(Cat(*(inner == t for t in VLAN_TPIDS)).any())]
        l2 = Mux(tagged, 18, 14)

        # IPv4 header, offsets relative to its start (merged L: the EtherType may be
        # in this very beat).
        r = [Signal(signed(20), name=f"r{k}") for k in range(8)]
        m.d.comb += [r[k].eq(n[k] - l2) for k in range(8)]
        vihl, vihl_r = grab("ip_vihl", r, 0)
        tot, _ = word("ip_total", r, 2)
        ffo, _ = word("ip_frag", r, 6)
        proto, _ = grab("ip_proto", r, 9)
        dst = Cat(*reversed([grab(f"ip_dst{j}", r, 16 + j)[0] for j in range(4)]))
        ihl, version = vihl[0:4], vihl[4:8]

        # UDP header start from *registered* L and IHL: a UDP byte (offset >= 34) is
        # never in the beat that carries the EtherType or IHL (offsets <= 18).
        tagged_r = Cat(*(et_r == t for t in VLAN_TPIDS)).any()
        udp = Signal(8)
        m.d.comb += udp.eq(Mux(tagged_r, 18, 14) + (vihl_r[0:4] << 2))
        u = [Signal(signed(20), name=f"u{k}") for k in range(8)]
        m.d.comb += [u[k].eq(n[k] - udp) for k in range(8)]
        dport, _ = word("udp_dport", u, 2)
        ulen, _ = word("udp_len", u, 4)
        hdr_done = Signal()               # last UDP header byte is in this beat or earlier
        m.d.comb += hdr_done.eq(udp <= base)

        fold2 = self._ip_checksum(m, r, lane, vihl_r)
        nend = self._frame_end(m, base)

        def has(nbytes):
            """Frame holds `nbytes` bytes (before FCS); only known on the last beat."""
            return ~last | (nend >= nbytes + 4)

        ip_pl = Signal(17)
        m.d.comb += ip_pl.eq(tot - (ihl << 2))
        hits, feed = self._filter(m, dst, dport)

        fail = {
            "drop_bad_frame": last & beat.bad,
            "drop_ethertype": ~has(14) | (tagged & ~has(18))
                              | (tagged & ~inner_tag & (inner != ETH_IPV4))
                              | (~tagged & (et != ETH_IPV4)),
            "drop_vlan": tagged & inner_tag,
            "drop_ip_header": ~has(l2 + 20) | (version != 4) | (ihl < 5) | ~has(l2 + (ihl << 2)),
            "drop_ip_checksum": fold2 != 0xFFFF,
            "drop_ip_length": (tot < (ihl << 2)) | ~has(l2 + tot),
            "drop_fragment": ffo[13] | (ffo[0:13] != 0),
            "drop_not_udp": proto != 17,
            "drop_udp_length": (ip_pl < 8) | (ulen != ip_pl),
            "drop_filter": ~hits.any(),
        }
        assert tuple(fail) == DROPS, "fail checks must follow the register order"
        fails = Signal(len(DROPS))
        m.d.comb += fails.eq(Cat(*fail.values()))
        ok = Signal()
        m.d.comb += ok.eq(hdr_done & ~fails.any())

        # Output: payload bytes are [udp + 8, L + total length).
        keep = Signal(8)
        m.d.comb += keep.eq(Cat(*(beat.keep[k] & (n[k] >= udp + 8) & (n[k] < l2 + tot)
                                  for k in range(8))))
        sent_r = Signal()
        sent = Mux(first, 0, sent_r)
        emit = Signal()
        m.d.comb += emit.eq(valid & Mux(last, sent | ok, ok & keep.any()))
        o = self.o.payload
        m.d.comb += [
            self.o.valid.eq(emit),
            o.data.eq(beat.data), o.keep.eq(keep), o.ts.eq(beat.ts),
            o.first.eq(~sent), o.last.eq(last), o.bad.eq(last & ~ok), o.feed.eq(feed),
        ]
        with m.If(valid):
            m.d.sync += sent_r.eq(~last & (sent | emit))

        # Counters: on the last beat, frames_in and exactly one verdict.
        done = valid & last
        m.d.comb += [self.ev_frames_in.eq(done), self.ev_udp_accepted.eq(done & ok)]
        earlier = 0
        for j, name in enumerate(DROPS):
            m.d.comb += getattr(self, f"ev_{name}").eq(done & fails[j] & ~earlier)
            earlier = earlier | fails[j]
        return m
