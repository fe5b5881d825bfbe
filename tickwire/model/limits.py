"""Risk limits file: parse and validate the human-edited YAML, encode the table words.

One format for `tickwire risk-replay`, the control plane and the tests (docs/limits.md).
Every error names the file, the line and the field, because a limits file is edited by
hand under pressure and "invalid value" without a place is useless at 09:29.
Money is written in USD and kept exactly (Decimal from the raw YAML text, never float);
internally prices are ITCH units (1/10000 USD) and notionals are qty x price units.
"""
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from . import yaml_guard

# libyaml's composer when the wheel has it (about 5x faster on a 1,000-symbol file); its
# nodes carry the same start marks, so errors still name the line.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Words per entry of each limits table (docs/limits.md, the spec). The table sizes
#: (accounts, slots) are the build's geometry: callers pass them in.
ACCT_WORDS, SYM_WORDS, POS_WORDS = 8, 4, 2

PX_PER_USD = 10000
MAX_NAME = 32                # characters in an account name (symbols: 8)

# Strict number syntax: ASCII digits only, grouped by "," in threes or "_" between
# digits; no signs, exponents, NaN/Infinity, Unicode digits or stray separators.
_INT = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+(?:_[0-9]+)*)", re.ASCII)
_DEC = re.compile(r"\$?(" + _INT.pattern + r")(?:\.([0-9]+))?", re.ASCII)
U16, U32, U64 = (1 << 16) - 1, (1 << 32) - 1, (1 << 64) - 1


class LimitsError(ValueError):
    """A limits-file error: `file:line: field: message`."""


@dataclass
class Symbol:
    name: str
    max_qty: int = 0
    collar: int = 0              # price units, or basis points when collar_bps
    collar_bps: bool = False
    restricted: bool = False
    allow_no_book: bool = False
    locate: int | None = None    # stock locate; None = from the feed's stock directory


@dataclass
class Account:
    name: str
    enabled: bool = False
    max_notional: int = 0        # per order, qty x price units
    credit: int = 0              # open (unfilled) notional, qty x price units
    rate_interval_ns: int = 0    # one token every interval
    rate_burst: int = 0          # bucket size; 0 rejects every order
    dup_window_ns: int = 0       # same order repeated within this window is a duplicate
    positions: dict = field(default_factory=dict)   # slot -> (long, short)


@dataclass
class Limits:
    symbols: list = field(default_factory=list)     # index = book slot
    accounts: list = field(default_factory=list)    # index = account index

    def slot_of(self, name):
        for i, s in enumerate(self.symbols):
            if s.name == name:
                return i
        return None

    def account_of(self, name):
        for i, a in enumerate(self.accounts):
            if a.name == name:
                return i
        return None

    def position_limits(self, account, slot):
        a = self.accounts[account] if account < len(self.accounts) else None
        return a.positions.get(slot, (0, 0)) if a else (0, 0)


def encode(limits, *, accounts, slots):
    """The three table images {'acct_limits', 'sym_limits', 'pos_limits'} as word lists."""
    acct = [0] * (accounts * ACCT_WORDS)
    for i, a in enumerate(limits.accounts):
        w = [int(a.enabled), a.max_notional & U32, a.max_notional >> 32, a.credit & U32,
             a.credit >> 32, a.rate_interval_ns, a.rate_burst, a.dup_window_ns]
        acct[i * ACCT_WORDS:(i + 1) * ACCT_WORDS] = w
    sym = [0] * (slots * SYM_WORDS)
    for i, s in enumerate(limits.symbols):
        flags = 1 | s.restricted << 1 | s.allow_no_book << 2 | s.collar_bps << 3
        sym[i * SYM_WORDS:(i + 1) * SYM_WORDS] = [flags, s.max_qty, s.collar, 0]
    pos = [0] * (accounts * slots * POS_WORDS)
    for i, a in enumerate(limits.accounts):
        base = i * slots * POS_WORDS
        for s, (lng, sht) in a.positions.items():
            k = base + s * POS_WORDS
            pos[k] = lng
            pos[k + 1] = sht
    return {"acct_limits": acct, "sym_limits": sym, "pos_limits": pos}


# ---- parsing -------------------------------------------------------------------------

class _Ctx:
    def __init__(self, fname):
        self.fname = fname

    def err(self, node, fld, msg):
        line = node.start_mark.line + 1 if node is not None else 0
        return LimitsError(f"{self.fname}:{line}: {fld}: {msg}")

    def mapping(self, node, fld, allowed, required=()):
        if not isinstance(node, yaml.MappingNode):
            raise self.err(node, fld, "expected a mapping")
        out = {}
        for k, v in node.value:
            key = k.value
            if key not in allowed:
                raise self.err(k, f"{fld}.{key}" if fld else key,
                               f"unknown field (allowed: {', '.join(allowed)})")
            if key in out:
                raise self.err(k, f"{fld}.{key}" if fld else key, "given twice")
            out[key] = (k, v)
        for r in required:
            if r not in out:
                raise self.err(node, f"{fld}.{r}" if fld else r, "missing")
        return out

    def scalar(self, node, fld):
        if not isinstance(node, yaml.ScalarNode):
            raise self.err(node, fld, "expected a single value")
        return node.value.strip()

    def integer(self, node, fld, lo, hi):
        raw = self.scalar(node, fld)
        neg = raw.startswith("-") and _INT.fullmatch(raw[1:])
        if not (_INT.fullmatch(raw) or neg):
            raise self.err(node, fld, f"{raw[:40]!r} is not a whole number (ASCII digits, "
                                      "optionally grouped as 1,000 or 1_000)")
        v = int(raw.replace("_", "").replace(",", ""), 10)
        if not lo <= v <= hi:
            raise self.err(node, fld, f"{v} out of range {lo}..{hi}")
        return v

    def usd(self, node, fld, hi_units):
        """USD amount -> ITCH units (1/10000 USD), exact."""
        raw = self.scalar(node, fld)
        m = _DEC.fullmatch(raw)
        if not m:
            raise self.err(node, fld, f"{raw[:40]!r} is not a USD amount (ASCII digits, "
                                      "e.g. 250000, 250,000.50, $1_000)")
        text = m.group(1).replace("_", "").replace(",", "") + (f".{m.group(2)}" if m.group(2) else "")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise self.err(node, fld, f"{raw[:40]!r} is not a USD amount") from None
        units = d * PX_PER_USD
        if units != units.to_integral_value():
            raise self.err(node, fld, f"{text} has more than 4 decimals")
        units = int(units)
        if not 0 <= units <= hi_units:
            raise self.err(node, fld, f"{text} USD out of range 0..{Decimal(hi_units) / PX_PER_USD}")
        return units

    def boolean(self, node, fld):
        text = self.scalar(node, fld).lower()
        if text in ("true", "yes", "on"):
            return True
        if text in ("false", "no", "off"):
            return False
        raise self.err(node, fld, f"{text!r} is not true or false")

    def name(self, node, fld):
        text = self.scalar(node, fld)
        if (not text or len(text) > 8 and fld.endswith("symbol") or len(text) > MAX_NAME
                or not text.isprintable() or any(c.isspace() for c in text)):
            raise self.err(node, fld, f"{text[:40]!r} is not a valid name (printable, no "
                                      f"spaces, at most {MAX_NAME} characters; symbols 8)")
        return text


class _Allowed(list):
    """Allowed keys: a list (the error message keeps their order) with set lookup."""

    def __init__(self, names):
        super().__init__(names)
        self._set = frozenset(names)

    def __contains__(self, name):
        return name in self._set


_SYM_FIELDS = ("symbol", "max_qty", "collar", "tick", "restricted", "allow_no_book", "locate")
_ACCT_FIELDS = ("account", "enabled", "max_notional", "credit", "rate",
                "duplicate_window_ms", "positions")


def _parse_collar(c, node, fld, tick_units):
    parts = c.scalar(node, fld).split()
    if len(parts) != 2:
        raise c.err(node, fld, "expected '<n> ticks', '<n> bps' or '<x> usd'")
    num, unit = parts
    unit = unit.lower()
    if unit in ("tick", "ticks"):
        n = c.integer(yaml.ScalarNode("tag:yaml.org,2002:str", num, node.start_mark), fld, 0, U32)
        if n * tick_units > U32:
            raise c.err(node, fld, "collar too wide")
        return n * tick_units, False
    if unit == "bps":
        n = c.integer(yaml.ScalarNode("tag:yaml.org,2002:str", num, node.start_mark), fld, 0, 10000)
        return n, True
    if unit == "usd":
        return c.usd(yaml.ScalarNode("tag:yaml.org,2002:str", num, node.start_mark), fld, U32), False
    raise c.err(node, fld, f"unit {unit!r} is not ticks, bps or usd")


def _parse_symbol(c, node, fld):
    f = c.mapping(node, fld, _SYM_FIELDS, required=("symbol",))
    s = Symbol(name=c.name(f["symbol"][1], f"{fld}.symbol"))
    if "max_qty" in f:
        s.max_qty = c.integer(f["max_qty"][1], f"{fld}.max_qty", 0, U32)
    tick = c.usd(f["tick"][1], f"{fld}.tick", U32) if "tick" in f else 100
    if "tick" in f and tick == 0:
        raise c.err(f["tick"][1], f"{fld}.tick", "must be positive")
    if "collar" in f:
        s.collar, s.collar_bps = _parse_collar(c, f["collar"][1], f"{fld}.collar", tick)
    for b in ("restricted", "allow_no_book"):
        if b in f:
            setattr(s, b, c.boolean(f[b][1], f"{fld}.{b}"))
    if "locate" in f:
        s.locate = c.integer(f["locate"][1], f"{fld}.locate", 0, U16)
    return s


def _parse_account(c, node, fld, symbols):
    f = c.mapping(node, fld, _ACCT_FIELDS, required=("account",))
    a = Account(name=c.name(f["account"][1], f"{fld}.account"))
    if "enabled" in f:
        a.enabled = c.boolean(f["enabled"][1], f"{fld}.enabled")
    if "max_notional" in f:
        a.max_notional = c.usd(f["max_notional"][1], f"{fld}.max_notional", U64)
    if "credit" in f:
        a.credit = c.usd(f["credit"][1], f"{fld}.credit", U64)
    if "rate" in f:
        r = c.mapping(f["rate"][1], f"{fld}.rate", ("burst", "per_second"),
                      required=("burst", "per_second"))
        a.rate_burst = c.integer(r["burst"][1], f"{fld}.rate.burst", 0, U16)
        per = c.integer(r["per_second"][1], f"{fld}.rate.per_second", 1, 10**9)
        a.rate_interval_ns = 10**9 // per
    if "duplicate_window_ms" in f:
        a.dup_window_ns = c.integer(f["duplicate_window_ms"][1], f"{fld}.duplicate_window_ms",
                                    0, U32 // 10**6) * 10**6
    if "positions" in f:
        pf = c.mapping(f["positions"][1], f"{fld}.positions", _Allowed(["default"] + list(symbols)))
        default = (0, 0)
        if "default" in pf:
            default = _parse_pos(c, pf["default"][1], f"{fld}.positions.default")
        if len(pf) == 1 and "default" in pf:       # the common case: one line, every slot
            a.positions = dict.fromkeys(range(len(symbols)), default)
        else:
            for slot, name in enumerate(symbols):
                a.positions[slot] = (_parse_pos(c, pf[name][1], f"{fld}.positions.{name}")
                                     if name in pf else default)
    return a


def _parse_pos(c, node, fld):
    f = c.mapping(node, fld, ("long", "short"), required=("long", "short"))
    return (c.integer(f["long"][1], f"{fld}.long", 0, U32),
            c.integer(f["short"][1], f"{fld}.short", 0, U32))


def parse(text, fname="<limits>", max_accounts=None, max_slots=None):
    """YAML text -> Limits; raises LimitsError naming file, line and field. The caps
    are the gate's geometry (the card's build); None leaves a table uncapped."""
    c = _Ctx(fname)
    try:
        yaml_guard.check(text, _Loader)
        root = yaml.compose(text, Loader=_Loader)
    except yaml_guard.YamlLimitError as exc:
        raise LimitsError(f"{fname}:{exc.line}: (limits): {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise LimitsError(f"{fname}:{line}: (syntax): {exc.problem}") from None
    except yaml.YAMLError as exc:             # reader errors: bad characters, encoding
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1 or 1
        raise LimitsError(f"{fname}:{line}: (syntax): {str(exc).splitlines()[0][:200]}") from None
    if root is None:
        raise LimitsError(f"{fname}:1: (file): empty limits file")
    top = c.mapping(root, "", ("version", "symbols", "accounts"), required=("version",))
    if c.integer(top["version"][1], "version", 0, 99) != 1:
        raise c.err(top["version"][1], "version", "only version 1 is known")
    lim = Limits()
    for key, limit, parse_one in (("symbols", max_slots, None), ("accounts", max_accounts, None)):
        if key not in top:
            continue
        seq = top[key][1]
        if not isinstance(seq, yaml.SequenceNode):
            raise c.err(seq, key, "expected a list")
        if limit is not None and len(seq.value) > limit:
            raise c.err(seq, key, f"{len(seq.value)} entries, the gate has {limit}")
        names = set()
        sym_names = [s.name for s in lim.symbols]
        for i, item in enumerate(seq.value):
            fld = f"{key}[{i}]"
            if key == "symbols":
                obj = _parse_symbol(c, item, fld)
                lim.symbols.append(obj)
            else:
                obj = _parse_account(c, item, fld, sym_names)
                lim.accounts.append(obj)
            if obj.name in names:
                raise c.err(item, fld, f"{obj.name!r} listed twice")
            names.add(obj.name)
    return lim


def load(path, max_accounts=None, max_slots=None):
    """Parse a limits file from disk."""
    path = Path(path)
    return parse(path.read_text(), str(path), max_accounts, max_slots)
