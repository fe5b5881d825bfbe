"""The register-map description language: plain Python data, no Amaranth.

Each gateware block declares its registers next to its code (`rtl/<block>/regs.py`):
a Block lists Regs (and Windows, for RAM-backed tables), and a Reg may name its bit
fields (`Field`, with enum `values`), so every bit value is written once. Offsets are
assigned in declaration order, so the order of a block's list *is* its layout. A Map
places block instances at bases given in ONE table (rtl/regmap/__init__.py,
`build_map(cfg)`). From one Map we elaborate the gateware CSR bank (rtl/host/csr.py),
bind it to the components (rtl/regmap/binding.py) and generate the C header, the
Python map used by control/, and the Markdown reference (tools/build/gen_regs.py).

Register kinds:
  counter  read-only, 64-bit event counter incremented by the gateware
  status   read-only value driven by the gateware (1..64 bits)
  control  read-write value held in the bank and driven into the gateware
  strobe   write-only: a write pulses a one-cycle strobe with the written data

Registers wider than 32 bits take two words, LO at the offset and HI at +4.
Reading LO latches the HI half into the bank's shadow, and reading HI returns the
shadow, so a 64-bit value is never torn (read LO first). Writing LO of a wide
control register only stages it; writing HI commits both halves at once.
"""
from dataclasses import dataclass, field
import hashlib
import json

KINDS = ("counter", "status", "control", "strobe")


@dataclass(frozen=True)
class Field:
    """Bits [offset, offset+width) of a register. `values` names the field's values
    (an enum, e.g. {"ORDER": 0, "FILL": 1}); a 1-bit field without values is a flag."""
    name: str
    offset: int
    doc: str
    width: int = 1
    values: tuple = ()      # ((NAME, value), ...): a tuple keeps the Reg hashable

    def __post_init__(self):
        if isinstance(self.values, dict):
            object.__setattr__(self, "values", tuple(self.values.items()))
        for name, v in self.values:
            if not 0 <= v < 1 << self.width:
                raise ValueError(f"{self.name}.{name}: {v} does not fit in {self.width} bits")

    @property
    def mask(self):
        return ((1 << self.width) - 1) << self.offset

    def value(self, name):
        """The named enum value (not shifted)."""
        return dict(self.values)[name]


@dataclass(frozen=True)
class Reg:
    name: str
    kind: str
    doc: str
    width: int = 32
    reset: int | tuple = 0  # a tuple gives each array element its own reset value
    count: int = 1          # > 1: an array name[0..count-1] at consecutive offsets
    step: int = 1           # counters: width of the per-cycle increment input
    fields: tuple = ()      # Field, ...: named bits, exported by the generator

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}")
        width = 64 if self.kind == "counter" else self.width
        object.__setattr__(self, "width", width)
        if not 1 <= width <= 64:
            raise ValueError(f"{self.name}: width {width} out of 1..64")
        if isinstance(self.reset, tuple) and len(self.reset) != self.count:
            raise ValueError(f"{self.name}: {self.count} reset values needed")
        if self.kind == "strobe" and width > 32:
            raise ValueError(f"{self.name}: strobes are at most 32 bits")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate field names {names}")
        used = 0
        for f in self.fields:
            if f.offset + f.width > width or used & f.mask:
                raise ValueError(f"{self.name}.{f.name}: bits outside the register or overlapping")
            used |= f.mask

    def field(self, name):
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name}")

    @property
    def words(self):
        return 2 if self.width > 32 else 1

    def reset_of(self, index):
        return self.reset[index or 0] if isinstance(self.reset, tuple) else self.reset


@dataclass(frozen=True)
class Window:
    """A RAM-backed or block-decoded range of `words` 32-bit words.

    The bank forwards accesses inside it to the owning block (word address
    relative to the window, read data expected one cycle after the read strobe).
    """
    name: str
    words: int
    doc: str


@dataclass(frozen=True)
class Block:
    """A block's registers, declared by the block that owns them (no address: the
    Map's one base table places each instance)."""
    name: str
    doc: str
    items: tuple = field(default_factory=tuple)

    def reg(self, name):
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(f"block {self.name} has no register {name}")


@dataclass(frozen=True)
class Instance:
    """A Block placed at `base` under an instance name (`mac_a`, `mac_b`, ...)."""
    name: str
    base: int
    block: Block

    @property
    def doc(self):
        return self.block.doc


@dataclass(frozen=True)
class Placed:
    """A register or window with its absolute byte address, as software sees it."""
    block: str
    name: str               # "block.reg" or "block.reg[i]"
    addr: int
    item: object
    index: int | None = None

    @property
    def is_window(self):
        return isinstance(self.item, Window)


class Map:
    def __init__(self, name, version, instances, size=0x10000):
        self.name = name
        self.version = version
        self.blocks = list(instances)
        names = [b.name for b in self.blocks]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate block instance names in {names}")
        self.size = size
        self.placed = self._place()
        self.hash = self._hash()

    def _place(self):
        placed, seen, bases = [], set(), []
        for blk in sorted(self.blocks, key=lambda b: b.base):
            addr = blk.base
            for item in blk.block.items:
                if isinstance(item, Window):
                    align = item.words * 4
                    addr = (addr + align - 1) // align * align if align & (align - 1) == 0 else addr
                    placed.append(Placed(blk.name, f"{blk.name}.{item.name}", addr, item))
                    addr += item.words * 4
                    continue
                for i in range(item.count):
                    name = f"{blk.name}.{item.name}" + (f"[{i}]" if item.count > 1 else "")
                    placed.append(Placed(blk.name, name, addr, item, i if item.count > 1 else None))
                    addr += item.words * 4
            bases.append((blk.base, addr, blk.name))
        for name in (p.name for p in placed):
            if name in seen:
                raise ValueError(f"duplicate register {name}")
            seen.add(name)
        bases.sort()
        for (b0, e0, n0), (b1, _, n1) in zip(bases, bases[1:]):
            if e0 > b1:
                raise ValueError(f"block {n0} (ends 0x{e0:x}) overlaps {n1} (0x{b1:x})")
        if bases and bases[-1][1] > self.size:
            raise ValueError("map exceeds address space")
        return placed

    def describe(self):
        """Canonical description: what the hash covers (layout and semantics, not docs)."""
        out = []
        for p in self.placed:
            it = p.item
            if p.is_window:
                out.append([p.name, p.addr, "window", it.words])
            else:
                out.append([p.name, p.addr, it.kind, it.width, it.reset_of(p.index)] +
                           [[f.name, f.offset, f.width, list(f.values)] for f in it.fields])
        return {"name": self.name, "version": self.version, "regs": out}

    def _hash(self):
        blob = json.dumps(self.describe(), sort_keys=True, separators=(",", ":")).encode()
        return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big")

    def by_name(self, name):
        for p in self.placed:
            if p.name == name:
                return p
        raise KeyError(name)

    def instance(self, name):
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(f"no block instance {name}")

    def registers(self):
        return [p for p in self.placed if not p.is_window]

    def windows(self):
        return [p for p in self.placed if p.is_window]
