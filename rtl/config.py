"""CoreConfig: every build parameter of the core in one frozen value.

`TickwireCore(cfg)` passes it down to every block, the register map is built from it
(`tickwire.rtl.regmap.build_map(cfg)`: window sizes follow the risk geometry) and
`id.build` carries its digest, so software can tell which build a card runs.

Named builds (`BUILDS`, `--build sim|board` on every command that builds the core):
  sim    the simulation build: 64 book slots, a 262,144-order table, 65,536 price
         levels (all slots), 16 risk slots.
  board  sized for the LFE5UM5G-85F (208 DP16KD) together with the whole core: the
         book v2 with 256 slots, 4,096 orders (2 x 4-way sets), 4,096 price levels and
         16,384 locates (its DP16KD count is in bench/synth.json and the README), the
         merge hold buffers (2 x 510 messages: 26 DP16KD) and the risk tables (8
         accounts x 8 slots: 4 DP16KD); the duplicate check remembers the last 8
         accepted orders, not 16 (each entry is two 64-bit window compares and an
         82-bit match tree beside every other: 16 -> 8 took 2,229 TRELLIS_COMB off
         the core, docs/status-log.md, 2026-12-07 afternoon). Yosys maps the core's
         block RAM within the part (`make fit`, bench `core[board].yosys`); its logic
         does not fit yet (107.3 % of the TRELLIS_COMB). Why these sizes and what they cost (half the orders of the 8,192
         before, against issue 12's 16 K target; half the A/B skew the hold buffers
         cover; not fewer background cache levels: 3 put the AAPL sample's BBO latency
         at max 96 cycles from 28): docs/status-log.md, 2026-12-07 (issues 12, 13).
  lab    the lab bitstream's build (`make bitstream`, rtl/board/lab_top.py): the board
         build cut until the whole core fits beside the feed player and UART bridge:
         a 4-slot book v2 (4,096 orders in 2 x 2-way sets, 1,024 price levels in 2 x
         2-way sets, an 8-level cache: top 1, one background level; nothing on the
         board reads the top-N stream, the BBO needs the best level), 2 risk slots, 1
         remembered order (registers are the same in every build, only window sizes
         follow it: the UDP filters and accounts stay). Each cut is a LUT count: the
         book v2 with the board's knobs put the lab core at 113 % of the part's
         TRELLIS_COMB (2026-12-04); `make bitstream` writes utilisation.md per block.
         Clock: 18.000 MHz (PLL 12 x 3 / 2; UART 6 cycles a bit = 3.000 Mbaud), below
         the placed core's estimate (25.2 MHz at the 156 MHz constraint with the v1
         book), so the lab bitstream meets its own constraint and runs on the board; it
         goes back to 156.000 MHz once the whole core routes there (issues 12, 13).
"""
from dataclasses import asdict, dataclass, fields, replace
import hashlib
import json


@dataclass(frozen=True)
class CoreConfig:
    name: str = "sim"
    book_slots: int = 64
    #: The bench's 1 M-message, 64-symbol A/B day loses Deletes in its unrecovered gaps,
    #: so orders leak: 143,451 live at its end (55 % load). With 4-way sets 24 Adds found
    #: both sets full (book.collisions, the book flagged); 524,288 entries held that day
    #: with none, but every memory's zero init is written into the Verilog (+10 MB) and
    #: elaborating the sim core took >= 2.5x as long. So the sim build keeps 262,144
    #: entries in 8-way sets (`book_order_ways`): the same memory bits, wider sets.
    book_orders: int = 262144
    #: Ways of the order table, both banks together (two-choice hashing: an Add goes to
    #: the bank with more free ways of its two sets). The same live orders in 2 x 8-way
    #: sets instead of 2 x 4: a balanced-allocation simulation of that day (143 k live
    #: in 262,144 entries) finds ~46 Adds with both sets full at 4 ways, none at 8. The
    #: cost is the compare: 8 64-bit key compares per bank in the book's compare cycle.
    book_order_ways: int = 16
    #: Price levels held exactly, all slots and sides together (the level table; the
    #: price tree's leaf table has as many entries). Every level of a book is exact.
    book_levels: int = 65536
    #: Ways of the level table and of the price tree's leaves, both banks together
    #: (two-choice hashing, rtl/book/order_book.py NWAYS): 8, or 4 where the key
    #: compares' LUTs matter more than a fuller table's set-full risk (lab).
    book_level_ways: int = 8
    top_n: int = 5
    #: Level-cache levels per side beyond the low-water mark (rtl/book/order_book.py
    #: BACKGROUND): refilled while the book runs, so a side draining best first does not
    #: hold the input at once. Each costs ~80 bits of the cache word and its selects.
    book_background: int = 5
    book_locate_bits: int = 14     # stock-locate bits the book's slot map decodes
    #: Decoded messages queued in front of the book (it takes one every 2 cycles, loses
    #: an issue slot per next-best cache access, and holds its input only while a side
    #: is below its low-water mark; the A/B merge releases held messages into it at up
    #: to one a cycle while it has room, BookInput.almost_full); block RAM.
    book_fifo_depth: int = 512
    #: Messages each port's hold buffer keeps while the other feed fills a gap (A/B
    #: skew): 2,048 covers feed B 20 full packets late on any message mix.
    merge_depth: int = 2048
    #: A sequence number more than this ahead of the expected one needs confirmation
    #: (docs/bad-input-mold.md); at least the hold buffer's reach.
    merge_jump_window: int = 4096
    risk_accounts: int = 8
    risk_slots: int = 16
    risk_history: int = 16         # accepted orders the duplicate check remembers
    udp_filters: int = 4           # destination filter entries per port
    #: The core clock the build is made for (the lab board's PLL makes it; the
    #: register map's `clock.period` default stays 6.4 ns, software sets it).
    clock_mhz: float = 156.25
    #: UART bit time in cycles: 156.25 MHz / 52 = 3.005 Mbaud (0.16 % fast).
    uart_divisor: int = 52
    #: Correction subtracted from the SFD time (PHY/PCS latency; 0 in simulation).
    rx_ts_offset_ns: int = 0

    def params(self):
        """The parameters (name excluded) as a plain dict, in declaration order."""
        return {k: v for k, v in asdict(self).items() if k != "name"}

    @property
    def digest(self):
        """`id.build`: first 32 bits of SHA-256 of the canonical parameters (never 0)."""
        blob = json.dumps({"name": self.name, **self.params()}, sort_keys=True,
                          separators=(",", ":")).encode()
        return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big") or 1

    def replace(self, **changes):
        return replace(self, **changes)

    def book_params(self):
        """OrderBook's keyword arguments for this build (and `OrderBook.sweep_cycles`')."""
        return dict(slots=self.book_slots, orders=self.book_orders, levels=self.book_levels,
                    top_n=self.top_n, ways=self.book_order_ways,
                    locate_bits=self.book_locate_bits, background=self.book_background,
                    level_ways=self.book_level_ways)

    def describe(self):
        """One line for logs and `tickwire status`."""
        return f"{self.name}: " + " ".join(f"{k}={v}" for k, v in self.params().items())


BUILDS = {
    "sim": CoreConfig(),
    "board": CoreConfig(name="board", book_slots=256, book_orders=4096, book_levels=4096,
                        book_order_ways=8, book_locate_bits=14, risk_slots=8,
                        risk_history=8, merge_depth=510),
    "lab": CoreConfig(name="lab", book_slots=4, book_orders=4096, book_levels=1024,
                      book_order_ways=4, book_level_ways=4, book_locate_bits=10,
                      book_background=1, top_n=1,
                      risk_slots=2, risk_history=1, merge_depth=1024,
                      clock_mhz=18.0, uart_divisor=6),
}
PARAM_NAMES = tuple(f.name for f in fields(CoreConfig) if f.name != "name")


def build(name):
    """The named build; a clear error for an unknown name."""
    try:
        return BUILDS[name]
    except KeyError:
        raise ValueError(f"unknown build {name!r}: choose one of {', '.join(BUILDS)}") from None


def add_build_arg(parser):
    """The `--build sim|board|lab` option every command that builds the core takes."""
    parser.add_argument("--build", choices=tuple(BUILDS), default="sim",
                        help="core build configuration (rtl/config.py; default sim)")
