"""PCIe BAR0 completer: UltraScale+ CQ requests in, CC completions out, CSR bus master.

Targets the AMD UltraScale+ integrated block's completer interface in its 64-bit,
DWORD-aligned, non-straddled configuration (Gen3 x1 at 250 MHz is the natural fit
for a register-only function), so the code is one TLP at a time and tiny.

CQ beats: [DW1:DW0] address, [DW3:DW2] length/type/requester/tag/function/BAR, then
payload; tuser[3:0]/[7:4] first/last byte enables, [40] sop, [41] discontinue.
CC beats: [DW1:DW0] lower address/byte count/length/status/requester, DW2 tag/
completer/TC/attr, then data (DW3.., packed after DW2).

Memory reads and writes of 1 or 2 dwords inside the register space of BAR `bar`
become 1 or 2 CSR transactions (a 2-dword read of a 64-bit register at its LO word
is tear-free: LO latches HI in the bank). Everything else follows PCIe rules:
non-posted requests we cannot serve (I/O, atomics, locked reads, longer reads, bad
byte enables, other BARs) get an Unsupported Request completion; posted ones
(messages, longer or sub-dword writes) and discontinued TLPs are dropped. Each
outcome pulses a counter (rtl/host/link_regs.py). Any TLP is consumed to its
tlast before the next, so no input can wedge the endpoint.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..bus.arbiter import CsrReqSignature
from .. import link_regs
from ...regmap.binding import register_members

REQ_MEM_READ, REQ_MEM_WRITE, REQ_MEM_READ_LOCKED = 0b0000, 0b0001, 0b0111
POSTED_TYPES = (0b0001, 0b1100, 0b1101, 0b1110, 0b1111)   # writes, messages, reserved
CPL_SC, CPL_UR = 0b000, 0b001
SPACE_BITS = 16          # CSR bus address width: the register space is 64 KiB


class UsAxisSignature(wiring.Signature):
    """Source's view of an UltraScale+ PCIe AXI-stream (CQ/CC/RQ/RC) interface."""
    def __init__(self, data_width, user_width):
        super().__init__({
            "tdata": Out(data_width), "tkeep": Out(data_width // 32), "tlast": Out(1),
            "tuser": Out(user_width), "tvalid": Out(1), "tready": In(1),
        })


#: The header fields of the request being served (CQ descriptor, beats 0 and 1).
_Header = data.StructLayout({
    "addr": 64, "first_be": 4, "last_be": 4, "length": 11, "req_type": 4, "req_id": 16,
    "tag": 8, "func": 8, "bar_id": 3, "aperture": 6, "tc": 3, "attr": 3,
})


def _lsb(be):
    """Offset of the first enabled byte of a 4-bit byte enable (0 when none)."""
    return Mux(be[0], 0, Mux(be[1], 1, Mux(be[2], 2, Mux(be[3], 3, 0))))


def _msb(be):
    """Offset of the last enabled byte of a 4-bit byte enable (0 when none)."""
    return Mux(be[3], 3, Mux(be[2], 2, Mux(be[1], 1, 0)))


class PcieBarEndpoint(wiring.Component):
    # cq from the core's m_axis_cq, cc to its s_axis_cc, cq_np_req to pcie_cq_np_req
    # (always ready for one more)
    registers = link_regs.PCIE

    def __init__(self, bar=0):
        self.bar = bar
        super().__init__({"cq": In(UsAxisSignature(64, 88)), "cc": Out(UsAxisSignature(64, 33)),
                          "cq_np_req": Out(2), "csr": Out(CsrReqSignature()),
                          **register_members(self.registers)})

    def _checks(self, m, h, disc, malformed):
        """What the request is and whether we serve it: (read_ok, write_ok, posted)."""
        is_read = h.req_type == REQ_MEM_READ
        is_write = h.req_type == REQ_MEM_WRITE
        posted = Signal()
        m.d.comb += posted.eq(Cat(h.req_type == t for t in POSTED_TYPES).any())
        # Offset inside the BAR: bits at or above the aperture are the BAR base.
        beyond = Cat(h.addr[i] & (h.aperture > i) for i in range(SPACE_BITS, 64)).any()
        target_ok = (h.bar_id == self.bar) & ~beyond & ~disc & ~malformed
        length, first_be, last_be = h.length, h.first_be, h.last_be
        len_ok = (length == 1) | (length == 2)
        read_be_ok = Mux(length == 1, last_be == 0, (first_be != 0) & (last_be != 0))
        write_be_ok = Mux(length == 1, ((first_be == 0xF) | (first_be == 0)) & (last_be == 0),
                          (first_be == 0xF) & (last_be == 0xF))
        return (is_read & target_ok & len_ok & read_be_ok,
                is_write & target_ok & len_ok & write_be_ok, posted)

    def _completion_fields(self, m, h):
        """Completion fields (PCIe base spec 2.2.9): byte count and lower address from
        the byte enables for memory reads; 4 and 0 for everything else."""
        first_be, last_be, length = h.first_be, h.last_be, h.length
        mem_read = (h.req_type == REQ_MEM_READ) | (h.req_type == REQ_MEM_READ_LOCKED)
        dwords = Mux(length == 0, 1024, length)
        byte_count = Signal(13)
        lower_addr = Signal(7)
        with m.If(mem_read & (length == 1)):
            m.d.comb += byte_count.eq(Mux(first_be == 0, 1, _msb(first_be) - _lsb(first_be) + 1))
        with m.Elif(mem_read):
            m.d.comb += byte_count.eq(dwords * 4 - _lsb(first_be) - (3 - _msb(last_be)))
        with m.Else():
            m.d.comb += byte_count.eq(4)
        m.d.comb += lower_addr.eq(Mux(mem_read, Cat(_lsb(first_be), h.addr[2:7]), 0))
        return byte_count, lower_addr

    def _completion_states(self, m, h, ur, data0, data1, byte_count, lower_addr):
        """The FSM's completion states (called inside its `with m.FSM()`): a 3-dword
        descriptor, then 0..2 data dwords. Returns `done` (completion sent)."""
        cc, length = self.cc, h.length
        n_data = Mux(ur, 0, length)
        dw0 = Cat(lower_addr, Const(0, 1), Const(0, 2), Const(0, 6), byte_count, Const(0, 3))
        dw1 = Cat(n_data, Mux(ur, Const(CPL_UR, 3), Const(CPL_SC, 3)), Const(0, 2), h.req_id)
        dw2 = Cat(h.tag, h.func, Const(0, 8), Const(0, 1), h.tc, h.attr, Const(0, 1))
        done = Signal()
        with m.State("C0"):
            m.d.comb += [cc.tvalid.eq(1), cc.tdata.eq(Cat(dw0, dw1)), cc.tkeep.eq(0b11)]
            with m.If(cc.tready):
                m.next = "C1"
        with m.State("C1"):
            single = ur | (length == 1)
            m.d.comb += [cc.tvalid.eq(1), cc.tdata.eq(Cat(dw2, data0)),
                         cc.tkeep.eq(Mux(ur, 0b01, 0b11)), cc.tlast.eq(single)]
            with m.If(cc.tready):
                with m.If(single):
                    m.d.comb += done.eq(1)
                    m.next = "H0"
                with m.Else():
                    m.next = "C2"
        with m.State("C2"):
            m.d.comb += [cc.tvalid.eq(1), cc.tdata.eq(data1), cc.tkeep.eq(0b01),
                         cc.tlast.eq(1)]
            with m.If(cc.tready):
                m.d.comb += done.eq(1)
                m.next = "H0"
        return done

    def elaborate(self, platform):
        m = Module()
        cq, csr = self.cq, self.csr
        h = Signal(_Header)        # the request's header fields
        disc = Signal()            # discontinue seen on any beat
        malformed = Signal()       # truncated header, or payload not matching length/type
        data0, data1 = Signal(32), Signal(32)
        ur = Signal()              # completion status is UR (else SC with data)

        m.d.comb += self.cq_np_req.eq(1)
        beat = cq.tvalid & cq.tready
        read_ok, write_ok, posted = self._checks(m, h, disc, malformed)
        byte_count, lower_addr = self._completion_fields(m, h)
        offset = h.addr[:SPACE_BITS]
        first_be = h.first_be

        last_word = h.length == 1
        with m.FSM():
            with m.State("H0"):
                m.d.comb += cq.tready.eq(1)
                with m.If(beat):
                    m.d.sync += [h.addr.eq(cq.tdata), h.first_be.eq(cq.tuser[0:4]),
                                 h.last_be.eq(cq.tuser[4:8]), disc.eq(cq.tuser[41]),
                                 malformed.eq(0), ur.eq(0), data0.eq(0), data1.eq(0)]
                    with m.If(cq.tlast):
                        m.d.comb += self.ev_pcie_dropped.eq(1)    # header cut short
                    with m.Else():
                        m.next = "H1"
            with m.State("H1"):
                m.d.comb += cq.tready.eq(1)
                d = cq.tdata
                with m.If(beat):
                    m.d.sync += [h.length.eq(d[0:11]), h.req_type.eq(d[11:15]),
                                 h.req_id.eq(d[16:32]), h.tag.eq(d[32:40]), h.func.eq(d[40:48]),
                                 h.bar_id.eq(d[48:51]), h.aperture.eq(d[51:57]),
                                 h.tc.eq(d[57:60]), h.attr.eq(d[60:63]),
                                 disc.eq(disc | cq.tuser[41])]
                    with m.If(cq.tlast):
                        with m.If(d[11:15] == REQ_MEM_WRITE):
                            m.d.sync += malformed.eq(1)           # write without payload
                        m.next = "EXEC"
                    with m.Elif((d[11:15] == REQ_MEM_WRITE) & (d[0:11] >= 1) & (d[0:11] <= 2)):
                        m.next = "DATA"
                    with m.Else():
                        with m.If(d[11:15] == REQ_MEM_READ):
                            m.d.sync += malformed.eq(1)           # read with payload
                        m.next = "DRAIN"
            with m.State("DATA"):
                m.d.comb += cq.tready.eq(1)
                with m.If(beat):
                    m.d.sync += [data0.eq(cq.tdata[:32]), data1.eq(cq.tdata[32:]),
                                 disc.eq(disc | cq.tuser[41])]
                    keep_ok = Mux(last_word, cq.tkeep[0], cq.tkeep == 0b11)
                    with m.If(~keep_ok | ~cq.tlast):
                        m.d.sync += malformed.eq(1)
                    with m.If(cq.tlast):
                        m.next = "EXEC"
                    with m.Else():
                        m.next = "DRAIN"
            with m.State("DRAIN"):
                # Consume the rest of a TLP we will not use (long payloads, messages).
                m.d.comb += cq.tready.eq(1)
                with m.If(beat):
                    m.d.sync += disc.eq(disc | cq.tuser[41])
                    with m.If(cq.tlast):
                        m.next = "EXEC"
            with m.State("EXEC"):
                with m.If(read_ok):
                    with m.If(first_be == 0):
                        m.next = "C0"                             # zero-length read: no access
                    with m.Else():
                        m.next = "RD0"
                with m.Elif(write_ok):
                    with m.If(first_be == 0):
                        m.d.comb += self.ev_pcie_writes.eq(1)     # zero-length write: no effect
                        m.next = "H0"
                    with m.Else():
                        m.next = "WR0"
                with m.Elif(posted | disc):
                    m.d.comb += self.ev_pcie_dropped.eq(1)
                    m.next = "H0"
                with m.Else():
                    m.d.sync += ur.eq(1)
                    m.next = "C0"
            with m.State("RD0"):
                m.d.comb += [csr.r_stb.eq(1), csr.addr.eq(offset)]
                with m.If(csr.ack):
                    m.d.sync += data0.eq(csr.r_data)
                    with m.If(last_word):
                        m.next = "C0"
                    with m.Else():
                        m.next = "RD1"
            with m.State("RD1"):
                m.d.comb += [csr.r_stb.eq(1), csr.addr.eq(offset + 4)]
                with m.If(csr.ack):
                    m.d.sync += data1.eq(csr.r_data)
                    m.next = "C0"
            with m.State("WR0"):
                m.d.comb += [csr.w_stb.eq(1), csr.addr.eq(offset), csr.w_data.eq(data0)]
                with m.If(csr.ack):
                    with m.If(last_word):
                        m.d.comb += self.ev_pcie_writes.eq(1)
                        m.next = "H0"
                    with m.Else():
                        m.next = "WR1"
            with m.State("WR1"):
                m.d.comb += [csr.w_stb.eq(1), csr.addr.eq(offset + 4), csr.w_data.eq(data1)]
                with m.If(csr.ack):
                    m.d.comb += self.ev_pcie_writes.eq(1)
                    m.next = "H0"

            done = self._completion_states(m, h, ur, data0, data1, byte_count, lower_addr)
            m.d.comb += [self.ev_pcie_reads.eq(done & ~ur),
                         self.ev_pcie_unsupported.eq(done & ur)]
        return m
