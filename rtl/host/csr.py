"""The CSR bank, elaborated from the register map (rtl/regmap).

Blocks never decode addresses. `tickwire.rtl.regmap.binding.assemble` binds each
register's port to the component that owns it (`bank.port("mac_a.fcs_errors").inc`,
`bank.port("clock.period").value`).

Port members by kind:
  counter  inc  (in, `step` bits: added every cycle; the 64-bit count lives here)
  status   value (in)
  control  value (out, reset from the map)
  strobe   stb, data (out: one-cycle pulse with the written word)
Windows get addr (word index), r_stb, w_stb, w_data (out) and r_data (in, valid the
cycle after r_stb). Reads answer READ_LATENCY (2) cycles after r_stb: the first
stage registers one word per group of 16 addresses (a 16:1 mux), the second picks the
group or the window (why: one mux over every register was ~8 LUT levels).

Wide registers: reading LO latches HI into a single shadow returned by the next HI
read (the bus has one master, so one shadow suffices); writing LO of a wide control
stages it and writing HI commits both halves in the same cycle.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from .bus.csr_bus import ADDR_WIDTH, READ_LATENCY, CsrBusSignature


class RegPort:
    """The gateware-side handle of one register (plain signals, driven by the top)."""
    def __init__(self, placed):
        reg = placed.item
        self.placed, self.reg = placed, reg
        tag = placed.name.replace(".", "__").replace("[", "_").replace("]", "")
        if reg.kind == "counter":
            self.inc = Signal(reg.step, name=f"{tag}__inc")
            self.count = Signal(64, name=f"{tag}__count")
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
        m.d.comb += bus.r_data.eq(rdata)        # registered: READ_LATENCY = 2

        for p in self._ports.values():
            if p.reg.kind == "counter":
                m.d.sync += p.count.eq(p.count + p.inc)
            elif p.reg.kind == "strobe":
                m.d.sync += p.stb.eq(0)

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
            value = p.count if reg.kind == "counter" else p.value
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
        m.d.sync += rdata.eq(Mux(win_sel != 0, win_rdata, reg_rdata))

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
        assert READ_LATENCY == 2
        return m
