"""UDP checksum (RFC 768) over the whole datagram, pipelined beside the cut-through path.

Why: a message body corrupted before the FCS was computed (a misbehaving switch or
sender) passes every other check; the UDP checksum is the only thing that can tell.
Its verdict needs the datagram's last byte, so it trails the payload: it cannot stop
the messages (cut-through stays), it marks the frame bad afterwards, and the stages
after flag the books (docs/bad-input-mold.md: a frame found bad after its messages went
on).

What is summed: the pseudo-header's addresses are frame bytes 26..33, right before the
UDP header (34..41) and payload, so one masked sum of 16-bit words over frame bytes
[26, 14 + IPv4 total) covers addresses, UDP header and payload; the protocol (17) and
the UDP length are added once more as constants. Every word sits at an even frame
offset (the parser accepts only untagged frames with a 20-byte IPv4 header), so a
beat's four lane pairs are four whole words; a byte outside the datagram is masked to
zero, which also pads an odd last byte. A checksum field of 0 means "not computed" and
is not verified.

    beat b:  lanes masked (registered)            -> w
    b + 1:   w0 + w1 + w2 + w3                    -> s  (18 bits)
    b + 2:   acc + s                              -> acc (27 bits: 1,522-byte frames)
    end + 3: acc[15:0] + acc[26:16] + 17 + length -> x  (18 bits)
    end + 4: x[15:0] + x[17:16] == 0xFFFF         -> verdict (registered pulse)
"""
from amaranth.hdl import Cat, Mux, Signal

from .layout import UDP_LEN, at, word

PSEUDO = 26                 # first pseudo-header byte (IPv4 source address)
CSUM = 40                   # UDP checksum field (beat 5, lanes 0-1)
LATENCY = 5                 # cycles from the frame's last input beat to `bad`


def udp_checksum(m, beat, valid, first, at_beat, pos, mask):
    """Build the checksum pipeline into `m`. `mask`: payload lanes of the current beat
    (lengths.py). Returns `bad`: a registered pulse LATENCY cycles after a frame's last
    beat when its sum is wrong and its checksum field is not zero."""
    lanes = [beat.data.word_select(k, 8) for k in range(8)]
    p_beat, p_lane = at(PSEUDO)
    inc = Signal(8)             # lanes of this beat inside [26, 14 + total)
    m.d.comb += inc.eq(Mux(at_beat(p_beat), (0xFF << p_lane) & 0xFF,
                       Mux(at_beat(p_beat + 1), 0xFF,
                           Mux(at_beat(CSUM // 8), mask | 0x03,
                               Mux(valid & ~first & (pos > CSUM // 8), mask, 0)))))
    w = [Signal(16, name=f"ucs_w{k}") for k in range(4)]
    for k in range(4):
        hi = Mux(inc[2 * k], lanes[2 * k], 0)
        lo = Mux(inc[2 * k + 1], lanes[2 * k + 1], 0)
        m.d.sync += w[k].eq(Cat(lo, hi))
    s = Signal(18, name="ucs_s")
    m.d.sync += s.eq((w[0] + w[1]) + (w[2] + w[3]))
    ulen17 = Signal(17, name="ucs_ulen17")      # the pseudo-header's protocol + UDP length
    zero = Signal(name="ucs_zero")
    with m.If(at_beat(at(UDP_LEN)[0])):
        m.d.sync += ulen17.eq(word(lanes, UDP_LEN) + 17)
    with m.If(at_beat(CSUM // 8)):
        m.d.sync += zero.eq(word(lanes, CSUM) == 0)
    # the frame's first and last beats travel with their sums: beat -> w -> s
    start1, start2 = Signal(name="ucs_start1"), Signal(name="ucs_start2")
    end1, end2, end3, end4 = (Signal(name=f"ucs_end{k}") for k in range(1, 5))
    m.d.sync += [start1.eq(valid & first), start2.eq(start1),
                 end1.eq(valid & beat.last), end2.eq(end1), end3.eq(end2), end4.eq(end3)]
    acc = Signal(27, name="ucs_acc")
    m.d.sync += acc.eq(Mux(start2, 0, acc) + s)     # a first beat's s is 0: it restarts acc
    x = Signal(18, name="ucs_x")                    # acc is whole in the cycle of end3
    m.d.sync += x.eq(acc[:16] + acc[16:] + ulen17)
    y = Signal(17, name="ucs_y")
    m.d.comb += y.eq(x[:16] + x[16:])               # >= 0x10000 leaves <= 3 once folded
    bad = Signal(name="ucs_bad")
    m.d.sync += bad.eq(end4 & ~zero & (y != 0xFFFF))
    return bad
