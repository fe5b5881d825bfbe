"""The card as the daemon sees it: named registers over one Transport, behind one lock.

Why a lock: the heartbeat thread, the metrics scraper and every RPC share the
device, and a wide register is two accesses (read LO latches HI in the bank's single
shadow), so two threads interleaving would tear values. Every multi-access operation
takes the lock once.
"""
import threading
import time

from tickwire.control import regmap as _rm
from tickwire.control.regmap import MAP_MAGIC, MAP_VERSION, REGS, WINDOWS

CLOCK_HZ = 156_250_000
NOMINAL_PERIOD = (6 << 32) | 0x66666666          # 6.4 ns in 8.32 fixed point
CMD_SET, CMD_STEP, CMD_SNAPSHOT = _rm.CLOCK_CMD_SET, _rm.CLOCK_CMD_STEP, _rm.CLOCK_CMD_SNAPSHOT
SUB_MAP, SUB_UNMAP = _rm.BOOK_SUB_CMD_MAP, _rm.BOOK_SUB_CMD_UNMAP
BOOK_BUSY_TIMEOUT_S = 2.0
LIMIT_TABLES = ("acct_limits", "sym_limits", "pos_limits")
ACCT_WORDS, SYM_WORDS = 8, 4                     # docs/limits.md table formats


class CardMismatch(RuntimeError):
    """The card is not a tickwire card, or was built from another register map."""


class CardHandle:
    """`windows`: the card's windows (default the generated map's); the limits geometry
    (accounts, symbol slots) follows from the limits windows' sizes, so a model card
    built larger than the gateware (benchmarks) is driven by the same code."""

    def __init__(self, transport, name="device", windows=None):
        self.t = transport
        self.name = name
        self.lock = threading.RLock()
        self._fixed_windows = windows is not None
        self.build = None                      # the card's named build, once identified
        self._set_windows(dict(windows or WINDOWS))

    def _set_windows(self, windows):
        self.windows = windows
        self.accounts = self.windows["risk.acct_limits"].words // ACCT_WORDS
        self.slots = self.windows["risk.sym_limits"].words // SYM_WORDS

    # ---- registers by name ----------------------------------------------------------
    def read(self, name):
        """A register by name; a 64-bit one as one 2-word burst, LO then HI (the bank's
        shadow keeps it tear-free either way; over UART one request instead of two)."""
        reg = REGS[name]
        with self.lock:
            if reg.width > 32:
                lo, hi = self.t.read_burst(reg.addr, 2)
                lo |= hi << 32
            else:
                lo = self.t.read32(reg.addr)
        return lo & ((1 << reg.width) - 1)

    def read_many(self, names):
        with self.lock:
            return {n: self.read(n) for n in names}

    def write(self, name, value):
        reg = REGS[name]
        if reg.kind not in ("control", "strobe"):
            raise ValueError(f"{name} is a {reg.kind} register (not writable)")
        value &= (1 << reg.width) - 1
        with self.lock:
            self.t.write32(reg.addr, value & 0xFFFFFFFF)
            if reg.width > 32:                      # HI commits the staged LO
                self.t.write32(reg.addr + 4, value >> 32)

    def read_window(self, name, offset=0, n=None):
        win = self.windows[name]
        n = win.words - offset if n is None else n
        with self.lock:
            return self.t.read_burst(win.addr + 4 * offset, n)

    def write_window(self, name, words):
        win = self.windows[name]
        if len(words) != win.words:
            raise ValueError(f"{name}: {len(words)} words, the window has {win.words}")
        with self.lock:
            self.t.write_burst(win.addr, list(words))

    # ---- identity -------------------------------------------------------------------
    def identity(self):
        return self.read_many(["id.magic", "id.map_version", "id.map_hash", "id.build"])

    def check_identity(self):
        """Refuse a card that is not ours: wrong magic, a build (`id.build`) the generated
        map does not list, or a map version or hash other than that build's. A known
        build sizes the windows (the builds differ only there)."""
        ident = self.identity()
        if ident["id.magic"] != MAP_MAGIC:
            raise CardMismatch(f"{self.name}: id.magic is 0x{ident['id.magic']:08x}, expected "
                               f"0x{MAP_MAGIC:08x} (not a tickwire card, or the bus is not responding)")
        build = _rm.build_of(ident["id.build"])
        if build is None:
            known = ", ".join(f"{b.name} 0x{b.digest:08x}" for b in _rm.BUILDS.values())
            raise CardMismatch(
                f"{self.name}: unknown build: id.build is 0x{ident['id.build']:08x}, which this "
                f"software's register map does not describe (known builds: {known}; load a "
                f"bitstream of a named build or regenerate the software with `make regs`)")
        if ident["id.map_version"] != MAP_VERSION or ident["id.map_hash"] != build.map_hash:
            raise CardMismatch(
                f"{self.name}: register map mismatch: card has version {ident['id.map_version']} "
                f"hash 0x{ident['id.map_hash']:08x}, this software was built for version "
                f"{MAP_VERSION} hash 0x{build.map_hash:08x} for build {build.name} "
                f"(load the matching bitstream or software)")
        self.build = build
        if not self._fixed_windows:
            self._set_windows({n: w._replace(words=build.windows[n]) for n, w in WINDOWS.items()})
        return ident

    # ---- counters ---------------------------------------------------------------------
    COUNTERS = [n for n, r in REGS.items() if r.kind == "counter"]

    def counters(self, prefix=""):
        names = [n for n in self.COUNTERS if n.startswith(prefix)]
        with self.lock:
            return {n: self.read(n) for n in names}

    # ---- limits -----------------------------------------------------------------------
    def apply_limits(self, tables):
        """Write a complete set into the shadow bank, verify it, commit, then mirror it.

        The commit swaps banks in one cycle (orders see the old set or the new one);
        writing the set again into the new shadow keeps both banks equal, so a later
        window read (which returns the shadow) shows what is active.
        """
        with self.lock:
            for t in LIMIT_TABLES:
                self.write_window(f"risk.{t}", tables[t])
            for t in LIMIT_TABLES:
                back = self.read_window(f"risk.{t}")
                if list(back) != list(tables[t]):
                    bad = next(i for i, (a, b) in enumerate(zip(back, tables[t])) if a != b)
                    raise IOError(f"risk.{t}: shadow readback differs at word {bad} "
                                  f"(wrote 0x{tables[t][bad]:x}, read 0x{back[bad]:x}); not committed")
            self.write("risk.commit", 1)
            for t in LIMIT_TABLES:
                self.write_window(f"risk.{t}", tables[t])

    def read_limit_tables(self):
        with self.lock:
            return {t: self.read_window(f"risk.{t}") for t in LIMIT_TABLES}

    # ---- kill switch and watchdog ---------------------------------------------------
    def kill_state(self):
        v = self.read_many(["risk.kill", "risk.kill_accounts", "risk.status"])
        return {"global": bool(v["risk.kill"] & 1), "accounts_mask": v["risk.kill_accounts"],
                "engaged": bool(v["risk.status"] & 1), "tripped": bool(v["risk.status"] & 2)}

    def set_kill(self, engage, account=None):
        with self.lock:
            if account is None:
                self.write("risk.kill", int(engage))
            else:
                mask = self.read("risk.kill_accounts")
                mask = mask | (1 << account) if engage else mask & ~(1 << account)
                self.write("risk.kill_accounts", mask)

    def heartbeat(self):
        self.write("risk.heartbeat", 1)

    # ---- clock ------------------------------------------------------------------------
    def clock(self):
        with self.lock:
            self.write("clock.cmd", CMD_SNAPSHOT)
            sec, ns = self.read("clock.snap_sec"), self.read("clock.snap_ns")
            period = self.read("clock.period")
        return {"sec": sec, "ns": ns, "period": period,
                "ppb": (period - NOMINAL_PERIOD) / NOMINAL_PERIOD * 1e9}

    def set_clock(self, sec, ns):
        if not 0 <= ns < 10**9:
            raise ValueError(f"ns {ns} out of 0..999999999")
        if not 0 <= sec < 1 << 48:
            raise ValueError(f"sec {sec} out of range (48 bits)")
        with self.lock:
            self.write("clock.set_sec", sec)
            self.write("clock.set_ns", ns)
            self.write("clock.cmd", CMD_SET)

    def step_clock(self, step_ns):
        if not -10**9 < step_ns < 10**9:
            raise ValueError(f"step {step_ns} ns: |step| must be under 1 s (use set)")
        with self.lock:
            self.write("clock.step_ns", step_ns & 0xFFFFFFFF)
            self.write("clock.cmd", CMD_STEP)

    def adjust_clock(self, ppb):
        if not -1e6 <= ppb <= 1e6:
            raise ValueError(f"{ppb} ppb out of range (|ppb| <= 1000000)")
        self.write("clock.period", round(NOMINAL_PERIOD * (1 + ppb / 1e9)))

    # ---- book -------------------------------------------------------------------------
    def wait_book_idle(self, timeout=None):
        """Block until book.busy reads 0: the book drops (and counts) a SUB_CMD written
        while its reset sweep or a previous command runs."""
        timeout = BOOK_BUSY_TIMEOUT_S if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while self.read("book.busy"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"book busy for over {timeout} s (reset sweep or FLUSH "
                                   "still running): subscription not written")
            time.sleep(0.001)

    def subscribe(self, locate, slot, unsubscribe=False):
        with self.lock:
            self.wait_book_idle()
            self.write("book.sub_locate", locate)
            self.write("book.sub_slot", slot)
            self.write("book.sub_cmd", SUB_UNMAP if unsubscribe else SUB_MAP)

    def bbo(self, slot):
        with self.lock:
            self.write("book.snap_slot", slot)
            v = self.read_many([f"book.snap_{k}" for k in ("bid_px", "bid_qty", "bid_orders",
                                                          "ask_px", "ask_qty", "ask_orders", "flags")])
        return {k[len("book.snap_"):]: x for k, x in v.items()}
