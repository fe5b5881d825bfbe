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

Reads answer READ_LATENCY cycles after r_stb. Registers: the first stage registers
one word per group of 16 addresses (a 16:1 mux), the second picks the group or the
window (one mux over every register was ~8 LUT levels). Counters: reading a counter's
LO word flushes it (cycle of r_stb: its pending value is captured and the memory
word addressed, ahead of the sweeper; next cycle: memory + pending, written back and
registered). The LO word equals exactly what a flip-flop counter would show in the
r_stb cycle: every increment of the cycles before r_stb, none of that cycle's. With
READ_LATENCY 3 a third stage picks the counter word or the registers' word (the
block RAM output and the 64-bit add get a stage of their own).

Wide registers: reading LO latches HI into a single shadow returned by the next HI
read (the bus has one master, so one shadow suffices; a counter's HI half reaches the
shadow the cycle after its LO read, and bus reads are further apart than that);
writing LO of a wide control stages it and writing HI commits both halves in the same
cycle. The bus contract the counters rely on: r_stb is never high in two consecutive
cycles (the arbiter and the AXI4-Lite bridge space reads READ_LATENCY + 2 apart).
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from .bus.csr_bus import ADDR_WIDTH, READ_LATENCY, CsrBusSignature
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
        wstage = Signal(32)          # LO half staged by the last wide control LO write
        rdata = Signal(32)
        win_sel = Signal(range(len(self._windows) + 1))
        assert READ_LATENCY in (2, 3)
        m.d.comb += bus.r_data.eq(rdata)        # registered

        for p in self._ports.values():
            if p.reg.kind == "strobe":
                m.d.sync += p.stb.eq(0)

        # Counters: flushed by a read of their LO word (see the module docstring).
        # Assigned before the register groups so that a LO read in the same cycle as
        # the counter's HI half arriving (a later read) wins the shadow.
        counters = [p for p in self._ports.values() if p.reg.kind == "counter"]
        cnt_done = Signal()
        cnt_total = Signal(64)
        if counters:
            m.submodules.counters = cf = CounterFile([p.reg.step for p in counters])
            m.d.comb += cf.hold.eq(bus.r_stb)
            for k, p in enumerate(counters):
                m.d.comb += [cf.inc[k].eq(p.inc),
                             cf.flush[k].eq(bus.r_stb & (word == p.placed.addr >> 2))]
            m.d.comb += [cnt_done.eq(cf.done), cnt_total.eq(cf.total)]
            with m.If(cnt_done):
                m.d.sync += shadow.eq(cnt_total[32:])

        # Windows: address match by range; read data muxed in the cycle after.
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
        grp_sel = Signal(ADDR_WIDTH - 6)
        with m.If(bus.r_stb):
            m.d.sync += grp_sel.eq(word[4:])
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
        grp_data = {}
        for g, items in groups.items():
            grp_data[g] = d = Signal(32, name=f"grp_{g}")
            with m.If(bus.r_stb):
                m.d.sync += d.eq(0)
                with m.If(word[4:] == g):
                    with m.Switch(word[:4]):
                        for low, value, hi in items:
                            with m.Case(low):
                                m.d.sync += d.eq(value)
                                if hi is not None:
                                    m.d.sync += shadow.eq(hi)
        reg_rdata = Signal(32)
        with m.Switch(grp_sel):
            for g, d in grp_data.items():
                with m.Case(g):
                    m.d.comb += reg_rdata.eq(d)
        stage2 = Mux(win_sel != 0, win_rdata, reg_rdata)
        if READ_LATENCY == 2:       # counter word added and muxed in the same stage
            m.d.sync += rdata.eq(Mux(cnt_done, cnt_total[:32], stage2))
        else:                       # a stage for the block RAM output and the add
            rdata2, cnt_lo, cnt_sel = Signal(32), Signal(32), Signal()
            m.d.sync += [rdata2.eq(stage2), cnt_sel.eq(cnt_done),
                         rdata.eq(Mux(cnt_sel, cnt_lo, rdata2))]
            with m.If(cnt_done):
                m.d.sync += cnt_lo.eq(cnt_total[:32])

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
        return m
