"""Binding registers to the components that own them: one mechanism for every block.

A component owns a register block by declaring it: its `registers` attribute is the
Block (from `rtl/<block>/regs.py`) and its signature includes `register_members(block)`,
the ports generated from that declaration (no width is written twice):

  counter  ev_<reg>   Out(step), or Out(count) for an array (bit i counts element i)
  status   st_<reg>   Out(width), or Out(ArrayLayout(width, count))
  control  ctl_<reg>  In(width, init=reset), or In(ArrayLayout(width, count))
  strobe   stb_<reg>  In(1) pulse and stb_<reg>_data In(width), the written word
  window   w_<win>    In(WindowSignature(words))

The bank is then assembled by walking the components against the map
(`assemble(bank, {instance: component or [components]})`), which fails with a clear
message on (a) an undriven register, (b) a member whose width differs from the map's
register, (c) a register member of a component that matches no register.
"""
from amaranth.hdl import Shape
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .dsl import Window

PREFIX = {"counter": "ev_", "status": "st_", "control": "ctl_", "strobe": "stb_"}
_PREFIXES = tuple(PREFIX.values()) + ("w_",)


class AssemblyError(Exception):
    """The design's components do not match the register map."""


def WindowSignature(words):
    """A CSR-bank window as seen from the bank (the owning block takes it flipped)."""
    return wiring.Signature({"addr": Out(range(words)), "r_stb": Out(1), "w_stb": Out(1),
                             "w_data": Out(32), "r_data": In(32)})


def member_name(item):
    return ("w_" if isinstance(item, Window) else PREFIX[item.kind]) + item.name


def register_members(block):
    """Signature members (name -> In/Out) for every register of `block`."""
    out = {}
    for it in block.items:
        name = member_name(it)
        if isinstance(it, Window):
            out[name] = In(WindowSignature(it.words))
        elif it.kind == "counter":
            out[name] = Out(it.count if it.count > 1 and it.step == 1 else
                            data.ArrayLayout(it.step, it.count) if it.count > 1 else it.step)
        elif it.kind == "status":
            out[name] = Out(data.ArrayLayout(it.width, it.count) if it.count > 1 else it.width)
        elif it.kind == "control":
            if it.count > 1:
                out[name] = In(data.ArrayLayout(it.width, it.count),
                               init=[it.reset_of(i) for i in range(it.count)])
            else:
                out[name] = In(it.width, init=it.reset)
        else:
            out[name] = In(1)
            out[name + "_data"] = In(it.width)
    return out


def _width(member):
    return Shape.cast(member.shape).width


def _element_width(it):
    if it.kind == "counter":
        return it.step
    return it.width


def _check_member(owner, it, sig_members, where):
    name = member_name(it)
    if name not in sig_members:
        return False
    member = sig_members[name]
    if isinstance(it, Window):
        if (not member.is_signature or "addr" not in member.signature.members or
                Shape.cast(member.signature.members["addr"].shape) != Shape.cast(range(it.words))):
            raise AssemblyError(f"{where}: {type(owner).__name__}.{name} is not a "
                                f"{it.words}-word window port")
        return True
    got = _width(member)
    want = 1 if it.kind == "strobe" else _element_width(it) * it.count
    if got != want:
        raise AssemblyError(f"{where}: width mismatch: {type(owner).__name__}.{name} is {got} "
                            f"bits, register {it.name} needs {want} "
                            f"({it.count} x {_element_width(it)})")
    if it.kind == "strobe" and _width(sig_members[name + "_data"]) != it.width:
        raise AssemblyError(f"{where}: width mismatch: {type(owner).__name__}.{name}_data is "
                            f"{_width(sig_members[name + '_data'])} bits, register {it.name} "
                            f"needs {it.width}")
    return True


def _statements(bank, inst, it, comp):
    name = member_name(it)
    if isinstance(it, Window):
        wp, gp = bank.window(f"{inst}.{it.name}"), getattr(comp, name)
        return [gp.addr.eq(wp.addr), gp.r_stb.eq(wp.r_stb), gp.w_stb.eq(wp.w_stb),
                gp.w_data.eq(wp.w_data), wp.r_data.eq(gp.r_data)]
    sig, stmts = getattr(comp, name), []
    for i in range(it.count):
        port = bank.port(f"{inst}.{it.name}" + (f"[{i}]" if it.count > 1 else ""))
        elem = sig[i] if it.count > 1 else sig
        if it.kind == "counter":
            stmts.append(port.inc.eq(elem))
        elif it.kind == "status":
            stmts.append(port.value.eq(elem))
        elif it.kind == "control":
            stmts.append(elem.eq(port.value))
        else:
            stmts += [elem.eq(port.stb), getattr(comp, name + "_data").eq(port.data)]
    return stmts


def assemble(bank, owners, *, partial=False, allow_undriven=False):
    """Statements binding every register of `bank.map` to its owning component.

    `owners` maps an instance name (`mac_a`) to a component, or a list of components
    sharing the block (the `link` block counts for the PCIe and UART bridges). Every
    instance of the map must have owners unless `partial` (test tops that build a few
    blocks), and every register of an owned instance must be driven unless
    `allow_undriven` (test tops that drive some bank ports themselves); width
    mismatches and stray members fail either way.
    """
    stmts = []
    regmap = bank.map
    missing = [b.name for b in regmap.blocks if b.name not in owners]
    if missing and not partial:
        raise AssemblyError(f"undriven registers: no component owns block(s) {missing}")
    for inst, comps in owners.items():
        try:
            block = regmap.instance(inst).block
        except KeyError:
            raise AssemblyError(f"block {inst}: the map has no such block (give it a base and "
                                f"its declaration in BLOCKS, rtl/regmap/__init__.py)") from None
        comps = comps if isinstance(comps, (list, tuple)) else [comps]
        driven = {}
        for comp in comps:
            members = dict(comp.signature.members)
            where = f"block {inst}"
            bound = set()
            for it in block.items:
                if _check_member(comp, it, members, where):
                    if it.name in driven:
                        raise AssemblyError(f"{where}: register {it.name} driven by both "
                                            f"{type(driven[it.name]).__name__} and "
                                            f"{type(comp).__name__}")
                    driven[it.name] = comp
                    bound.add(member_name(it))
                    if getattr(it, "kind", None) == "strobe":
                        bound.add(member_name(it) + "_data")
                    stmts += _statements(bank, inst, it, comp)
            stray = sorted(n for n in members if n.startswith(_PREFIXES) and n not in bound)
            if stray:
                raise AssemblyError(f"{where}: {type(comp).__name__} member(s) {stray} match "
                                    f"no register of the block (declared: "
                                    f"{[it.name for it in block.items]})")
        undriven = [f"{inst}.{it.name}" for it in block.items if it.name not in driven]
        if undriven and not allow_undriven:
            raise AssemblyError(f"undriven register(s) {undriven}: no member "
                                f"{[member_name(regmap.instance(inst).block.reg(u.split('.')[1])) for u in undriven]} "
                                f"on {[type(c).__name__ for c in comps]}")
    return stmts
