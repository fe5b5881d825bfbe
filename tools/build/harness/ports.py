"""Which ports the native harness drives and records, and the C++ glue for them.

Port names and widths come from the Verilog module header (exactly what Verilator
will see, after simrun drops constant members); which of them form output streams
and their payload layouts come from the component's signature.
"""
import re
from dataclasses import dataclass

from amaranth.hdl import Shape
from amaranth.lib import data, stream, wiring

_DECL = re.compile(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?\\?([\w.$]+)\s*;", re.M)
AXIL_SIGNALS = ("awaddr", "awvalid", "awready", "wdata", "wstrb", "wvalid", "bvalid",
                "bready", "araddr", "arvalid", "arready", "rdata", "rvalid", "rready")
#: UltraScale+ completer ports of a top with a PCIe BAR endpoint (64-bit, dword aligned).
PCIE_SIGNALS = {"pcie_cq__tdata": ("input", 64), "pcie_cq__tkeep": ("input", 2),
                "pcie_cq__tlast": ("input", 1), "pcie_cq__tuser": ("input", 88),
                "pcie_cq__tvalid": ("input", 1), "pcie_cq__tready": ("output", 1),
                "pcie_cc__tdata": ("output", 64), "pcie_cc__tkeep": ("output", 2),
                "pcie_cc__tlast": ("output", 1), "pcie_cc__tvalid": ("output", 1),
                "pcie_cc__tready": ("input", 1)}


@dataclass(frozen=True)
class OutStream:
    """An output stream `<name>__valid/__payload` (ready, when a port, is tied to 1)."""
    name: str
    width: int
    shape: object          # the payload shape (a data.Layout for struct payloads)
    has_ready: bool

    @property
    def nbytes(self):
        """Payload bytes per record: whole 32-bit words, as Verilator stores them."""
        return 4 * ((self.width + 31) // 32)


@dataclass(frozen=True)
class PortMap:
    ports: dict            # name -> (direction, width)
    streams: tuple         # OutStream, in signature order
    has_xgmii: bool
    has_axil: bool
    uart_divisor: int = 0  # cycles per bit of the uart_rx/uart_tx pair (0: no UART)
    has_pcie: bool = False

    @property
    def has_uart(self):
        return self.uart_divisor > 0

    @property
    def xgmii_names(self):
        """(port A, port B or None) base names: `xgmii` alone, or `xgmii_a` + `xgmii_b`."""
        if "xgmii_a_d" in self.ports:
            return "xgmii_a", ("xgmii_b" if "xgmii_b_d" in self.ports else None)
        return "xgmii", None

    @property
    def has_clk(self):
        return "clk" in self.ports

    @property
    def has_rst(self):
        return "rst" in self.ports


def verilog_ports(text):
    """{port name: (direction, width)} from the module's declarations."""
    return {m[3]: (m[1], int(m[2]) + 1 if m[2] else 1) for m in _DECL.finditer(text)
            if "." not in m[3]}


def port_map(component, verilog_text):
    ports = verilog_ports(verilog_text)
    streams = []
    for name, member in component.signature.members.items():
        if not (name.endswith("_out") and member.is_signature and member.flow == wiring.Out
                and isinstance(member.signature, stream.Signature)):
            continue
        shape = member.signature.members["payload"].shape
        width = Shape.cast(shape).width
        v, p = f"{name}__valid", f"{name}__payload"
        if v not in ports:
            raise ValueError(f"stream {name}: no {v} port in the Verilog")
        if width and ports.get(p, (None, 0))[1] != width:
            raise ValueError(f"stream {name}: payload port width does not match {width}")
        streams.append(OutStream(name, width, shape, f"{name}__ready" in ports))
    has_xgmii = any(ports.get(f"xgmii{x}_d") == ("input", 64) and
                    ports.get(f"xgmii{x}_c") == ("input", 8) for x in ("", "_a"))
    has_axil = all(f"s_axil__{s}" in ports for s in AXIL_SIGNALS)
    divisor = int(getattr(component, "uart_divisor", 0) or 0)
    has_uart = (ports.get("uart_rx") == ("input", 1) and ports.get("uart_tx") == ("output", 1)
                and divisor > 0)
    has_pcie = all(ports.get(n) == v for n, v in PCIE_SIGNALS.items())
    return PortMap(ports, tuple(streams), has_xgmii, has_axil,
                   divisor if has_uart else 0, has_pcie)


def unpack_shape(shape):
    """A layout for harness/decode.py, or None for plain (unsigned) payloads."""
    if isinstance(shape, data.Layout):
        return shape
    try:
        return data.Layout.cast(shape)
    except TypeError:
        return None


def cpp_name(name):
    """A port's member name in the Verilated class (Verilator encodes `__` as `___05F`)."""
    out, i = [], 0
    while i < len(name):
        if name[i] == "_" and name[i + 1:i + 2] == "_":
            out.append("___05F")
            i += 2
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


#: Cycles the harness holds the design in reset before cycle 0 (harness.cpp, reset_wrapper).
RESET_CYCLES = 4


def reset_wrapper(verilog_text, name, top):
    """Verilog of module `top`: `name` with its `rst` port driven from an internal counter
    (high for the first RESET_CYCLES clock edges, as the harness drove it), or None.

    Why: Verilator puts every `always @*` that reads a top-level input in the
    input-combo region, evaluated on each eval() call, and Amaranth's next-state
    blocks all read `rst`; so the whole design's next-state logic ran twice more per
    cycle than needed. Driven from a register, rst leaves them in the clocked region only.
    """
    m = re.search(rf"^module {re.escape(name)}\(", verilog_text, re.M)
    if not m:
        return None
    ports = verilog_ports(verilog_text[m.start():verilog_text.index("endmodule", m.start())])
    if ports.get("rst") != ("input", 1) or ports.get("clk") != ("input", 1) or \
            not all(re.fullmatch(r"[A-Za-z_]\w*", n) for n in ports):
        return None
    bits = RESET_CYCLES.bit_length()
    outer = [n for n in ports if n != "rst"]
    decls = [f"  {d} {f'[{w - 1}:0] ' if w > 1 else ''}{n};"
             for n, (d, w) in ports.items() if n != "rst"]
    conns = ",\n".join(f"    .{n}({n})" for n in ports)
    return "\n".join([
        "// Generated by tools/build/harness/ports.py: reset from a counter, not a port.",
        f"module {top}({', '.join(outer)});",
        *decls,
        f"  reg [{bits - 1}:0] tw_rst_count = {bits}'d0;",
        f"  wire rst = tw_rst_count != {bits}'d{RESET_CYCLES};",
        f"  always @(posedge clk) if (rst) tw_rst_count <= tw_rst_count + {bits}'d1;",
        f"  {name} core (", conns, "  );", "endmodule", ""])


def ports_header(pm, internal_reset=False):
    """tw_ports.h: the design-specific half of harness.cpp (internal_reset: the top is a
    reset_wrapper, so the harness clocks the reset cycles without driving rst)."""
    lines = [
        "// Generated by tools/build/harness/ports.py. Do not edit.",
        "#pragma once",
        f"#define TW_HAS_CLK {int(pm.has_clk)}",
        f"#define TW_HAS_RST {int(pm.has_rst and not internal_reset)}",
        f"#define TW_RESET_CYCLES {RESET_CYCLES}",
        f"#define TW_HAS_XGMII {int(pm.has_xgmii)}",
        f"#define TW_HAS_XGMII_B {int(pm.xgmii_names[1] is not None)}",
        f"#define TW_XGMII_D {cpp_name(pm.xgmii_names[0] + '_d')}",
        f"#define TW_XGMII_C {cpp_name(pm.xgmii_names[0] + '_c')}",
        f"#define TW_XGMII_B_D {cpp_name((pm.xgmii_names[1] or 'none') + '_d')}",
        f"#define TW_XGMII_B_C {cpp_name((pm.xgmii_names[1] or 'none') + '_c')}",
        f"#define TW_HAS_AXIL {int(pm.has_axil)}",
        f"#define TW_NSTREAMS {len(pm.streams)}",
        f"#define TW_AXI(sig) {cpp_name('s_axil__')}##sig",
        f"#define TW_HAS_UART {int(pm.has_uart)}",
        f"#define TW_UART_DIVISOR {pm.uart_divisor}",
        f"#define TW_HAS_PCIE {int(pm.has_pcie)}",
        f"#define TW_CQ(sig) {cpp_name('pcie_cq__')}##sig",
        f"#define TW_CC(sig) {cpp_name('pcie_cc__')}##sig",
        "static const int TW_STREAM_BYTES[] = {%s};" % ", ".join(
            str(s.nbytes) for s in pm.streams) if pm.streams else "static const int TW_STREAM_BYTES[] = {0};",
        "",
        "static inline void tw_init_ports(Top* t) {",
    ]
    lines += [f"    t->{cpp_name(s.name + '__ready')} = 1;" for s in pm.streams if s.has_ready]
    lines += ["    (void)t;", "}", "",
              "static inline void tw_capture(Top* t, Sink* s, int64_t cycle) {"]
    for i, st in enumerate(pm.streams):
        p = "t->" + cpp_name(f"{st.name}__payload")
        if st.width == 0:
            body = f"uint32_t v = 0; s[{i}].put(cycle, &v, 4);"
        elif st.width <= 32:
            body = f"uint32_t v = {p}; s[{i}].put(cycle, &v, 4);"
        elif st.width <= 64:
            body = f"uint64_t v = {p}; s[{i}].put(cycle, &v, 8);"
        else:
            body = f"s[{i}].put(cycle, {p}.data(), {st.nbytes});"
        lines.append(f"    if (t->{cpp_name(st.name + '__valid')}) {{ {body} }}")
    lines += ["    (void)t; (void)s; (void)cycle;", "}", ""]
    return "\n".join(lines)
