"""The CSR bank, elaborated from the register map (rtl/regmap).

Blocks never decode addresses. `tickwire.rtl.regmap.binding.assemble` binds each
register's port to the component that owns it (`bank.port("mac_a.fcs_errors").inc`,
`bank.port("clock.period").value`).

Port members by kind:
  counter  inc  (in, `step` bits: added every cycle)
  status   value (in)
  control  value (out, reset from the map)
  strobe   stb, data (out: one-cycle pulse with the written word)
Windows get addr (word index), r_stb, w_stb, w_data (out) and r_data (in, valid the
cycle after r_stb).

Where counts live: the 64-bit counts are not flip-flops. They sit in block RAM in a
CounterFile (rtl/host/counter_file.py): one 64 x N memory plus, per counter, a small
pending register (step + ~10 bits) that a sweeper folds into the memory round-robin.
Why: 134 flip-flop counters with their own 64-bit adders took ~8.6 k FF and ~8.6 k
logic cells, plus most of the read mux, and the core did not fit the FPGA.

Reads answer READ_LATENCY (4) cycles after r_stb, each stage a few LUT levels so the
bank routes at the 156.25 MHz XGMII clock (one mux over every register was ~8 LUT
levels; a capture decoded and selected in the r_stb cycle was 9 ns). Registers:
stage 1 registers one word per group of 16 addresses (a 16:1 mux, zero unless the
group is addressed), stage 2 ORs the groups, stage 3 picks them or the window, stage
4 them or the counter word. Counters: reading a counter's LO word flushes it. Stage 1
only decodes the address (the flush one-hot and the counter's memory slot,
registered); the counter file captures its pending value in stage 2, gathers it and
registers the block RAM word in stage 3 and adds them in stage 4, writing back and
feeding the read register. The counters' increments reach the counter file through a
register, so the capture a cycle after r_stb (which counts its own cycle's increment,
rtl/host/counter_file.py) holds exactly the increments up to and including the r_stb
cycle: the LO word equals what a flip-flop counter would show the cycle after r_stb.

Wide registers: reading LO latches HI into a single shadow returned by the next HI
read (the bus has one master, so one shadow suffices; a status register's HI half, as of
the r_stb cycle, reaches the shadow a cycle after r_stb, a counter's with its LO
word, READ_LATENCY - 1 cycles after, and bus reads are further apart than that);
writing LO of a wide control stages it and writing HI commits both halves in the
same cycle. The bus contract the counters rely on: r_stb is never high in two consecutive
cycles (the arbiter and the AXI4-Lite bridge space reads READ_LATENCY + 2 apart).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from .bus.csr_bus import READ_LATENCY, CsrBusSignature
from .counter_file import LATENCY as CF_LATENCY
from .counter_file import CounterFile


class RegPort:
    """The gateware-side handle of one register (plain signals, driven by the top)."""
    def __init__(self, placed):
        reg = placed.item
        self.placed, self.reg = placed, reg
        tag = placed.name.replace(".", "__").replace("[", "_").replace("]", "")
        if reg.kind == "counter":
            assert reg.words == 2, placed.name
            self.inc = Signal(reg.step, name=f"{tag}__inc")
        elif reg.kind == "status":
            self.value = Signal(reg.width, name=f"{tag}__value")
        elif reg.kind == "control":
            self.value = Signal(reg.width, init=reg.reset_of(placed.index), name=f"{tag}__value")
        else:
            self.stb = Signal(name=f"{tag}__stb")
            self.data = Signal(reg.width, name=f"{tag}__data")


class WindowPort:
    def __init__(self, placed):
        self.placed = placed
        tag = placed.name.replace(".", "__")
        words = placed.item.words
        self.addr = Signal(range(words), name=f"{tag}__addr")
        self.r_stb = Signal(name=f"{tag}__r_stb")
        self.w_stb = Signal(name=f"{tag}__w_stb")
        self.w_data = Signal(32, name=f"{tag}__w_data")
        self.r_data = Signal(32, name=f"{tag}__r_data")


class CsrBank(wiring.Component):
    bus: In(CsrBusSignature())

    def __init__(self, regmap):
        super().__init__()
        self.map = regmap
        self._ports = {p.name: RegPort(p) for p in regmap.registers()}
        self._windows = {p.name: WindowPort(p) for p in regmap.windows()}

    def port(self, name):
        return self._ports[name]

    def window(self, name):
        return self._windows[name]

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        word = bus.addr[2:]
        shadow = Signal(32)          # HI half latched by the last wide LO read
        rdata = Signal(32)
        assert READ_LATENCY == 4
        m.d.comb += bus.r_data.eq(rdata)        # registered

        for p in self._ports.values():
            if p.reg.kind == "strobe":
                m.d.sync += p.stb.eq(0)

        # Assigned before the register groups so that a LO read in the same cycle as
        # the counter's HI half arriving (a later read) wins the shadow.
        cnt_done, cnt_total = self._counters(m, word, shadow)
        win_sel, win_rdata = self._window_reads(m, word)
        groups = {}
        for p in self._ports.values():
            reg, base = p.reg, p.placed.addr >> 2
            if reg.kind == "strobe":
                continue
            if reg.kind == "counter":        # LO from the counter file, HI the shadow
                groups.setdefault((base + 1) >> 4, []).append(((base + 1) & 15, shadow, None))
                continue
            value = p.value
            groups.setdefault(base >> 4, []).append((base & 15, value[:32], None))
            if reg.words == 2:
                groups[base >> 4][-1] = (base & 15, value[:32], value[32:])
                groups.setdefault((base + 1) >> 4, []).append(((base + 1) & 15, shadow, None))
        # Stage 1: one word per group of 16 addresses, zero unless the group is
        # addressed; likewise the HI half of a wide LO read, which reaches the shadow
        # in stage 2 (one OR, where a chain of enables over every group was 6.9 ns).
        grp_data, grp_hi, grp_hit = [], [], []
        for g, items in groups.items():
            d = Signal(32, name=f"grp_{g}")
            grp_data.append(d)
            wide = any(hi is not None for _, _, hi in items)
            if wide:
                dh, hit = Signal(32, name=f"grp_{g}_hi"), Signal(name=f"grp_{g}_hit")
                grp_hi.append(dh)
                grp_hit.append(hit)
                m.d.sync += hit.eq(0)           # a one-cycle pulse
            with m.If(bus.r_stb):
                m.d.sync += d.eq(0)
                if wide:
                    m.d.sync += dh.eq(0)
                with m.If(word[4:] == g):
                    with m.Switch(word[:4]):
                        for low, value, hi in items:
                            with m.Case(low):
                                m.d.sync += d.eq(value)
                                if hi is not None:
                                    m.d.sync += [dh.eq(hi), hit.eq(1)]
        if grp_hit:
            with m.If(Cat(*grp_hit).any()):
                m.d.sync += shadow.eq(_or_all(grp_hi))
        # Stage 2: OR of the groups (one is non-zero), the window word beside it.
        # Stage 3: registers or window. Stage 4: or the counter word (the counter
        # file's stages 2-4: capture, gather, add).
        reg_q, win_q, win_q_sel, rdata3 = Signal(32), Signal(32), Signal(), Signal(32)
        m.d.sync += [reg_q.eq(_or_all(grp_data)), win_q.eq(win_rdata),
                     win_q_sel.eq(win_sel != 0),
                     rdata3.eq(Mux(win_q_sel, win_q, reg_q)),
                     rdata.eq(Mux(cnt_done, cnt_total[:32], rdata3))]

        self._writes(m, word)
        return m

    def _counters(self, m, word, shadow):
        """The counter file and its address decode: (done, total) of the counter read.
        Counters are flushed by a read of their LO word (see the module docstring)."""
        bus = self.bus
        counters = [p for p in self._ports.values() if p.reg.kind == "counter"]
        cnt_done = Signal()
        cnt_total = Signal(64)
        if counters:
            # Memory slot of a counter: its word's low 4 bits and a dense number of
            # its 16-word group (cheap to decode from the bus address, unlike a dense
            # counter index, which would need a 134-way encoder). The group number
            # is a function of only the group-number bits that tell the counter
            # groups apart (7 of 10 on the board map): two LUT levels, where all 10
            # bits and a zero default were 7.
            los = [p.placed.addr >> 2 for p in counters]
            cgroups = {g: k for k, g in enumerate(sorted({lo >> 4 for lo in los}))}
            slots = [(lo & 15) | cgroups[lo >> 4] << 4 for lo in los]
            m.submodules.counters = cf = CounterFile([p.reg.step for p in counters],
                                                     slots=slots)
            assert READ_LATENCY == 1 + CF_LATENCY + 1
            # Stage 1 (r_stb cycle): decode the address into the flush one-hot and the
            # slot, registered; the counter file captures in stage 2. Its increments
            # are registered too, so the capture a cycle late holds exactly the
            # increments up to and including the r_stb cycle.
            bits = _distinguishing_bits(sorted(cgroups), len(word) - 4)
            proj = Cat(*(word[4 + b] for b in bits))
            flush, hold = Signal(len(counters)), Signal()
            cgrp = Signal(range(max(len(cgroups), 2)))
            with m.Switch(proj):
                for g, k in cgroups.items():
                    with m.Case(sum(((g >> b) & 1) << i for i, b in enumerate(bits))):
                        m.d.comb += cgrp.eq(k)
            m.d.sync += [hold.eq(bus.r_stb), cf.flush_slot.eq(Cat(word[:4], cgrp)),
                         flush.eq(Cat(*(bus.r_stb & (word == lo) for lo in los)))]
            m.d.comb += [cf.hold.eq(hold), cf.flush.eq(flush)]
            for k, p in enumerate(counters):
                m.d.sync += cf.inc[k].eq(p.inc)
            m.d.comb += [cnt_done.eq(cf.done), cnt_total.eq(cf.total)]
            with m.If(cnt_done):
                m.d.sync += shadow.eq(cnt_total[32:])
        return cnt_done, cnt_total

    def _window_reads(self, m, word):
        """Windows: address match by range; (select, read data) registered the cycle
        after r_stb."""
        bus = self.bus
        win_sel = Signal(range(len(self._windows) + 1))
        win_list = list(self._windows.values())
        win_rdata = Signal(32)
        m.d.sync += win_sel.eq(0)
        for i, w in enumerate(win_list):
            lo = w.placed.addr >> 2
            hit = (word >= lo) & (word < lo + w.placed.item.words)
            m.d.comb += [w.addr.eq(word - lo), w.w_data.eq(bus.w_data),
                         w.r_stb.eq(bus.r_stb & hit), w.w_stb.eq(bus.w_stb & hit)]
            with m.If(bus.r_stb & hit):
                m.d.sync += win_sel.eq(i + 1)
            with m.If(win_sel == i + 1):
                m.d.comb += win_rdata.eq(w.r_data)
        return win_sel, win_rdata

    def _writes(self, m, word):
        """Control registers (a wide one staged by its LO write) and strobes."""
        bus = self.bus
        wstage = Signal(32)          # LO half staged by the last wide control LO write
        with m.If(bus.w_stb):
            with m.Switch(word):
                for p in self._ports.values():
                    reg, base = p.reg, p.placed.addr >> 2
                    if reg.kind == "control":
                        if reg.words == 1:
                            with m.Case(base):
                                m.d.sync += p.value.eq(bus.w_data)
                        else:
                            with m.Case(base):
                                m.d.sync += wstage.eq(bus.w_data)
                            with m.Case(base + 1):
                                m.d.sync += p.value.eq(bus.w_data << 32 | wstage)
                    elif reg.kind == "strobe":
                        with m.Case(base):
                            m.d.sync += [p.stb.eq(1), p.data.eq(bus.w_data)]


def _or_all(values):
    """Balanced OR of 32-bit words."""
    values = list(values) or [Const(0, 32)]
    while len(values) > 1:
        values = [values[k] | values[k + 1] if k + 1 < len(values) else values[k]
                  for k in range(0, len(values), 2)]
    return values[0]


def _distinguishing_bits(values, width):
    """Bit positions (of `width`) that still tell all `values` apart: greedily drop
    bits, highest first, while the projection stays one-to-one."""
    bits = list(range(width))
    for b in reversed(range(width)):
        rest = [c for c in bits if c != b]
        if len({tuple((v >> c) & 1 for c in rest) for v in values}) == len(values):
            bits = rest
    return bits
