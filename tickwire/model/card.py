"""ModelCard: the card as the control plane sees it, emulated register by register.

Why: the daemon, the CLI and their tests need a device that behaves like the bank
(rtl/host/csr.py) without an FPGA or a simulator. Built from the generated control-plane
map (control/regmap.py) and the register docs, never from the gateware, so a shared
misreading shows up as a disagreement with the RTL-backed `sim:` transport.

What is emulated (bank semantics, from rtl/regmap/dsl.py's rules):
  - controls hold their value (reset from the map; masked to their width); a wide
    control's LO write only stages (one shared stage word), its HI write commits;
  - strobes act on write and read as 0;
  - 64-bit counters and wide status values: reading LO latches HI into one shared
    shadow, reading HI returns the shadow (tear-free, as long as LO is read first);
  - the ID block: magic, map version, map hash and id.build (the sim build's digest by
    default: the model card describes that build);
  - the hardware clock (clock.*): period in 8.32 ns/cycle, CMD SET/STEP/SNAPSHOT;
  - the risk gate (risk.*): shadow/active limits banks behind the acct/sym/pos
    windows (`commit` swaps them and hands the decoded set to the reference model
    tickwire/model/risk.py), the order window and order_submit (orders and host
    fill/cancel events through RiskModel), kill switches, the watchdog, status,
    the last_rejects ring and the risk counters;
  - a cycle counter (156.25 MHz) advanced by `advance(cycles)` or, with
    realtime=True, by wall time; the clock and the watchdog run on it.
What is not: the data path. Every other counter or status register reads the value
in `counters` (register name -> int, e.g. "mac_a.frames_ok", "itch.msgs[3]"), which
a device model may update, else 0; writes to unmapped addresses are ignored and
reads return 0 (as the bank does); other windows read 0. The risk gate sees no
market data: its per-slot book state is `books[slot]` (a risk.BookState, empty by
default, so orders are `no_book` unless the symbol allows it).
"""
import threading
import time

from tickwire.control import regmap as _rm
from . import risk as _risk
from .limits import Account, Limits, Symbol

CLOCK_HZ = 156_250_000
NS_PER_SEC = 1_000_000_000
SEC_MOD = 1 << 48
M32, M64 = (1 << 32) - 1, (1 << 64) - 1
CMD_SET, CMD_STEP, CMD_SNAPSHOT = _rm.CLOCK_CMD_SET, _rm.CLOCK_CMD_STEP, _rm.CLOCK_CMD_SNAPSHOT
ORDER, FILL, CANCEL = (_rm.RISK_ORDER_SUBMIT_KIND_ORDER, _rm.RISK_ORDER_SUBMIT_KIND_FILL,
                       _rm.RISK_ORDER_SUBMIT_KIND_CANCEL)
REJECT_WORDS = 4
ACCT_WORDS, SYM_WORDS, POS_WORDS = 8, 4, 2          # docs/limits.md table formats


LIMIT_WINDOWS = ("risk.acct_limits", "risk.sym_limits", "risk.pos_limits")


def scaled_windows(accounts, slots, base=0x100000, windows=None):
    """The map's windows with the three limits windows sized for `accounts` x `slots`
    symbol slots and moved to `base` and up (clear of the 64 KiB register space).

    Why: the gateware holds 8 x 16; a model card built from this map (and a daemon CardHandle
    given the same windows) measures the control path at production sizes."""
    out = dict(windows if windows is not None else _rm.WINDOWS)
    addr = base
    for name, words in zip(LIMIT_WINDOWS, (accounts * ACCT_WORDS, slots * SYM_WORDS,
                                           accounts * slots * POS_WORDS)):
        out[name] = out[name]._replace(addr=addr, words=words)
        addr += 4 * words
    return out


def decode_limits(acct, sym, pos, accounts, slots):
    """Table words (docs/limits.md) -> a Limits set, the inverse of limits.encode."""
    lim = Limits()
    configured = 0
    for s in range(slots):
        flags, max_qty, collar, _ = sym[s * SYM_WORDS:(s + 1) * SYM_WORDS]
        # an unconfigured slot (bit0 clear) rejects like a restricted one
        lim.symbols.append(Symbol(f"slot{s}", max_qty=max_qty, collar=collar,
                                  collar_bps=bool(flags & 8), restricted=not flags & 1 or bool(flags & 2),
                                  allow_no_book=bool(flags & 4)))
        if flags & 1:
            configured = s + 1
    del lim.symbols[configured:]        # trailing unconfigured slots: "not in the set"
    for a in range(accounts):
        w = acct[a * ACCT_WORDS:(a + 1) * ACCT_WORDS]
        k0, k1 = a * slots * POS_WORDS, (a + 1) * slots * POS_WORDS
        positions = dict(zip(range(slots), zip(pos[k0:k1:2], pos[k0 + 1:k1:2])))
        lim.accounts.append(Account(f"acct{a}", enabled=bool(w[0] & 1),
                                    max_notional=w[1] | w[2] << 32, credit=w[3] | w[4] << 32,
                                    rate_interval_ns=w[5], rate_burst=w[6], dup_window_ns=w[7],
                                    positions=positions))
    return lim


class _Clock:
    """Seconds, nanoseconds and a 32-bit fraction, advanced by `period` per cycle."""

    def __init__(self):
        self.sec = self.ns = self.frac = 0

    def advance(self, cycles, period):
        total = self.frac + cycles * period
        self.frac = total & M32
        t = self.ns + (total >> 32)
        self.sec = (self.sec + t // NS_PER_SEC) % SEC_MOD
        self.ns = t % NS_PER_SEC

    def set(self, sec, ns):
        self.sec, self.ns, self.frac = sec % SEC_MOD, ns, 0

    def step(self, step_ns):
        step = step_ns - (1 << 32) if step_ns & 0x80000000 else step_ns
        t = (self.sec * NS_PER_SEC + self.ns + step) % (SEC_MOD * NS_PER_SEC)
        self.sec, self.ns = divmod(t, NS_PER_SEC)

    def now_ns(self):
        return self.sec * NS_PER_SEC + self.ns


class ModelCard:
    """A register-level emulator of the card; `read32`/`write32` take byte addresses.

    counters: dict-like of register name -> value for registers the model does not
      drive itself (the risk counters are kept in it too).
    realtime: advance the cycle counter by wall time (at CLOCK_HZ) on every access.
    Thread-safe: one lock around every access.
    """

    def __init__(self, counters=None, realtime=False, regs=None, windows=None,
                 magic=_rm.MAP_MAGIC, version=_rm.MAP_VERSION, map_hash=_rm.MAP_HASH,
                 build=_rm.BUILDS["sim"].digest):
        self.regs = dict(regs if regs is not None else _rm.REGS)
        self.windows = dict(windows if windows is not None else _rm.WINDOWS)
        self.counters = counters if counters is not None else {}
        self.ident = {"id.magic": magic, "id.map_version": version, "id.map_hash": map_hash,
                      "id.build": build}
        self._lock = threading.RLock()
        self._words = {}                  # word address -> (reg, half 0/1)
        for r in self.regs.values():
            for h in range(2 if r.width > 32 else 1):
                self._words[(r.addr >> 2) + h] = (r, h)
        self._wins = [(w.addr >> 2, w.words, w.name) for w in self.windows.values()]
        self.extent = max([r.addr + 8 for r in self.regs.values()] +
                          [w.addr + 4 * w.words for w in self.windows.values()])
        self.values = {r.name: r.reset for r in self.regs.values() if r.kind == "control"}
        self.shadow = 0                   # HI half latched by the last wide LO read
        self.wstage = 0                   # LO half staged by the last wide control LO write
        self.cycles = 0
        self.clock = _Clock()
        self.snap = (0, 0)
        self._realtime = realtime
        self._t0 = time.monotonic()
        self._rt_cycles = 0               # cycles already credited from wall time
        self._init_risk()

    # -- risk gate state -------------------------------------------------------------------
    def _init_risk(self):
        w = {n.split(".", 1)[1]: v.words for n, v in self.windows.items() if n.startswith("risk.")}
        self.has_risk = {"acct_limits", "sym_limits", "pos_limits"} <= set(w)
        if not self.has_risk:
            self.risk = None
            return
        self.n_accounts = w["acct_limits"] // ACCT_WORDS
        self.n_slots = w["sym_limits"] // SYM_WORDS
        self.tables = {k: [[0] * w[k], [0] * w[k]] for k in ("acct_limits", "sym_limits", "pos_limits")}
        self.active = 0                   # index of the active bank; window accesses go to 1-active
        self.order_stage = [0] * w.get("order", 8)
        self.rejects_ring = [0] * w.get("last_rejects", 32)
        self.reject_head = 0
        self.wd_count = 0
        self.tripped = False
        self.books = {}                   # slot -> risk.BookState
        self.risk = _risk.RiskModel(self.n_accounts, self.n_slots)

    # -- time ---------------------------------------------------------------------------------
    def advance(self, cycles):
        """Run `cycles` clock cycles: the hardware clock and the watchdog move."""
        with self._lock:
            self._tick(int(cycles))

    def _tick(self, n):
        if n <= 0:
            return
        self.cycles += n
        self.clock.advance(n, self.values.get("clock.period", 0))
        if self.has_risk:
            limit = self.values.get("risk.watchdog_cycles", 0)
            if limit == 0:
                self.wd_count = 0
            elif not self.tripped:
                self.wd_count += n
                if self.wd_count >= limit:
                    self.tripped = True

    def _sync(self):
        if self._realtime:
            target = int((time.monotonic() - self._t0) * CLOCK_HZ)
            self._tick(target - self._rt_cycles)
            self._rt_cycles = max(target, self._rt_cycles)

    # -- bus ----------------------------------------------------------------------------------
    def read32(self, addr):
        with self._lock:
            self._sync()
            word = addr >> 2
            win = self._window(word)
            if win:
                return self._win_read(win[0], win[1]) & M32
            hit = self._words.get(word)
            if not hit:
                return 0
            reg, half = hit
            if reg.kind == "strobe":
                return 0
            if half:
                return self.shadow
            value = self._value(reg)
            if reg.width > 32:
                self.shadow = value >> 32 & M32
            return value & M32

    def write32(self, addr, data):
        data &= M32
        with self._lock:
            self._sync()
            word = addr >> 2
            win = self._window(word)
            if win:
                self._win_write(win[0], win[1], data)
                return
            hit = self._words.get(word)
            if not hit:
                return
            reg, half = hit
            mask = (1 << reg.width) - 1
            if reg.kind == "control":
                if reg.width <= 32:
                    self.values[reg.name] = data & mask
                elif half == 0:
                    self.wstage = data
                else:
                    self.values[reg.name] = (data << 32 | self.wstage) & mask
            elif reg.kind == "strobe":
                self._strobe(reg.name, data & mask)

    def read_burst(self, addr, n):
        """n words from addr; a burst inside one limits table is one slice (the daemon
        writes and reads whole tables: 512k words at 256 accounts x 1000 symbols)."""
        with self._lock:
            table = self._table_span(addr, n)
            if table is not None:
                self._sync()
                key, i = table
                return self.tables[key][1 - self.active][i:i + n]
            return [self.read32(addr + 4 * k) for k in range(n)]

    def write_burst(self, addr, words):
        with self._lock:
            table = self._table_span(addr, len(words))
            if table is not None:
                self._sync()
                key, i = table
                if words and (min(words) < 0 or max(words) > M32):
                    words = [w & M32 for w in words]
                self.tables[key][1 - self.active][i:i + len(words)] = words
                return
            for k, w in enumerate(words):
                self.write32(addr + 4 * k, w)

    def _table_span(self, addr, n):
        """(table, first index) when words addr..addr+4n lie in one limits window."""
        win = self._window(addr >> 2) if self.has_risk and n else None
        if win is None or win[0][5:] not in self.tables:
            return None
        base, words, _ = next(w for w in self._wins if w[2] == win[0])
        return (win[0][5:], win[1]) if win[1] + n <= words else None

    def read64(self, addr):
        with self._lock:
            lo = self.read32(addr)
            return self.read32(addr + 4) << 32 | lo

    def reg(self, name):
        """A register's current value by name (no shadow side effect), for tests."""
        with self._lock:
            self._sync()
            return self._value(self.regs[name])

    def _window(self, word):
        for base, words, name in self._wins:
            if base <= word < base + words:
                return name, word - base
        return None

    def _value(self, reg):
        name, mask = reg.name, (1 << reg.width) - 1
        if reg.kind == "control":
            v = self.values[name]
        elif name in self.ident:
            v = self.ident[name]
        elif name == "clock.snap_sec":
            v = self.snap[0]
        elif name == "clock.snap_ns":
            v = self.snap[1]
        elif name == "risk.status" and self.has_risk:
            kill = self.values.get("risk.kill", 0) & 1
            v = ((kill | self.tripped) * _rm.RISK_STATUS_KILLED |
                 self.tripped * _rm.RISK_STATUS_WATCHDOG_TRIPPED |
                 self.active * _rm.RISK_STATUS_ACTIVE_BANK)
        elif name == "risk.reject_head" and self.has_risk:
            v = self.reject_head
        else:
            v = self.counters.get(name, 0)
        return int(v) & mask

    # -- strobes ------------------------------------------------------------------------------
    def _strobe(self, name, data):
        if name == "clock.cmd":
            if data & CMD_SNAPSHOT:
                self.snap = (self.clock.sec, self.clock.ns)
            if data & CMD_SET:
                self.clock.set(self.values["clock.set_sec"], self.values["clock.set_ns"])
            elif data & CMD_STEP:
                self.clock.step(self.values["clock.step_ns"])
        elif not self.has_risk:
            return
        elif name in ("risk.heartbeat", "risk.watchdog_release"):
            self.wd_count = 0
            if name == "risk.watchdog_release":
                self.tripped = False
        elif name == "risk.commit":
            self.active ^= 1
            self.risk.commit(decode_limits(*(self.tables[k][self.active] for k in
                                             ("acct_limits", "sym_limits", "pos_limits")),
                                           self.n_accounts, self.n_slots))
        elif name == "risk.order_submit":
            self._submit(data)

    def _bump(self, name, n=1):
        self.counters[name] = (self.counters.get(name, 0) + n) & M64

    def _submit(self, kind):
        s = self.order_stage
        clordid = s[0] | s[1] << 32
        account, slot, side = s[2] & 0xFF, s[2] >> 8 & 0xFF, s[2] >> 16 & 3
        qty, price = s[3], s[4]
        r = self.risk
        r.kill = bool(self.values.get("risk.kill", 0) & 1)
        r.kill_accounts = self.values.get("risk.kill_accounts", 0)
        r.watchdog_tripped = self.tripped
        if kind == ORDER:
            book = self.books.get(slot, _risk.BookState())
            reason = r.order(clordid, account, slot, side, qty, price, self.clock.now_ns(), book)
            self._bump("risk.orders")
            if reason == 0:
                self._bump("risk.accepts")
                return
            self._bump(f"risk.rejects[{reason - 1}]")
            entry = [clordid & M32, clordid >> 32, reason | account << 8 | slot << 16, self.clock.ns]
            n = len(self.rejects_ring) // REJECT_WORDS
            k = self.reject_head * REJECT_WORDS
            self.rejects_ring[k:k + REJECT_WORDS] = entry
            self.reject_head = (self.reject_head + 1) % n
        elif kind in (FILL, CANCEL) and account < self.n_accounts and slot < self.n_slots:
            self._bump("risk.events")
            before = r.event_errors
            r.event(kind, account, slot, side, qty, price)
            self._bump("risk.event_errors", r.event_errors - before)
        else:                                   # kind 3 or a bad account/slot: ignored
            self._bump("risk.event_errors")

    # -- windows ------------------------------------------------------------------------------
    def _win_read(self, name, i):
        if not self.has_risk or not name.startswith("risk."):
            return 0
        key = name[5:]
        if key in self.tables:
            return self.tables[key][1 - self.active][i]        # reads return the shadow
        if key == "order":
            return self.order_stage[i]
        if key == "last_rejects":
            return self.rejects_ring[i]
        return 0

    def _win_write(self, name, i, data):
        if not self.has_risk or not name.startswith("risk."):
            return
        key = name[5:]
        if key in self.tables:
            self.tables[key][1 - self.active][i] = data
        elif key == "order":
            self.order_stage[i] = data
