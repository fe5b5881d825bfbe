"""Synthetic, realistic multi-symbol Nasdaq TotalView-ITCH 5.0 session generator.

The real samples (shared/data/itch) have one symbol with order flow and lack 13 of the
23 message types, so this generator fills the gap: every type, hundreds of symbols,
deep books, stacking, locked and crossed quotes, executions to zero, halts and
crosses. It keeps only a live-order table (ref -> side, price, shares) so every
E/C/X/D/U references a live order with valid shares; it deliberately has no book
model, so it cannot share a bug with the book builders it is used to test.

    python -m tickwire.tools.gen_itch --symbols 200 --messages 1000000 --seed 1 \\
        --out FILE.itch [--pcap FILE.pcap --ab --loss 0.01 --dup 0.01 --noise 0.01]
"""
import argparse
import random
import sys
import time

from tickwire.tools.feeds import itch_encode as enc
from tickwire.tools.feeds import itch_file, moldfeed, pcap

TICK = 100                       # $0.01 in 1/10000 USD
NS = 1_000_000_000
HOUR = 3600 * NS
T_OPEN_MSGS = 3 * HOUR           # S 'O'
T_SYS = 4 * HOUR                 # S 'S'; order flow starts
T_MKT_OPEN = 9 * HOUR + 30 * 60 * NS
T_MKT_CLOSE = 16 * HOUR
T_SYS_END = 20 * HOUR
MIN_BODY = 2000                  # room for every scheduled event plus order flow

REAL_TICKERS = """AAPL MSFT AMZN GOOGL GOOG META NVDA TSLA INTC CSCO CMCSA PEP ADBE NFLX AVGO
TXN QCOM COST TMUS AMGN SBUX INTU AMD ISRG BKNG MDLZ GILD ADP VRTX FISV CSX ATVI MU AMAT
ILMN REGN LRCX ADSK MNST JD BIDU KDP MELI EBAY ADI MAR ROST WBA KHC EXC CTSH NXPI ORLY
LULU PAYX WDAY SNPS KLAC EA CDNS BIIB XEL IDXX VRSK PCAR CTAS DLTR MCHP SIRI SWKS FAST
ANSS ALGN CPRT CERN CDW TTWO INCY CHKP ULTA VRSN MXIM EXPE NTAP FOXA FOX LBTYK LBTYA
HOLX XRAY TCOM DOCU ZM PTON ROKU OKTA CRWD DDOG TEAM ZS SPLK MRNA BNTX ABNB PYPL QQQ
TQQQ SQQQ SPY IWM DIA XLF XLE GLD SLV EEM FXI EWZ HYG LQD TLT IBM GE F GM BAC C JPM WFC
XOM CVX KO PFE MRK JNJ T VZ DIS BA CAT MMM NKE MCD WMT HD LOW TGT UPS FDX GS MS""".split()

MPIDS = ["GSCO", "MSCO", "NITE", "CDEL", "VIRT", "JPMS", "UBSS", "CITD", "SUSQ", "TMBR",
         "ARCA", "NSDQ", "HRTF", "IMCC", "JANE", "GTSM"]
ETFS = {"QQQ", "TQQQ", "SQQQ", "SPY", "IWM", "DIA", "XLF", "XLE", "GLD", "SLV", "EEM",
        "FXI", "EWZ", "HYG", "LQD", "TLT"}


def tickers(n, rng):
    """n distinct realistic tickers: real ones first, then plausible made-up ones."""
    names = REAL_TICKERS[:n]
    seen = set(names)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while len(names) < n:
        t = "".join(rng.choice(letters) for _ in range(rng.choice((3, 4, 4, 4, 5))))
        if t not in seen:
            seen.add(t)
            names.append(t)
    return sorted(names)


class _Sym:
    __slots__ = ("loc", "name", "s8", "mid", "scale", "target", "refs", "state", "aggr",
                 "etf", "lot")

    def __init__(self, loc, name):
        self.loc, self.name, self.s8 = loc, name, enc.stock8(name)
        self.refs = []          # live order refs of this symbol (swap-remove)
        self.state = "T"        # trading state; executions only while "T"
        self.aggr = 0           # a locking/crossing order waiting to be hit
        self.etf = name in ETFS
        self.lot = 100


class Generator:
    """One session's state. generate() drives it; the parts are small methods."""

    def __init__(self, symbols, messages, seed, deep=3):
        if symbols < 8:
            raise ValueError("need at least 8 symbols (crosses, halts, IPO, DLCR)")
        self.rng = rng = random.Random(seed)
        self.messages = messages
        self.out = []
        self.t = T_OPEN_MSGS
        self.next_ref = rng.randrange(1, 1 << 20) * 4
        self.match = rng.randrange(1, 1 << 20) * 16
        self.matches = []
        self.orders = {}        # ref -> [sym, side(b"B"/b"S"), price, shares, index in sym.refs]
        names = tickers(symbols, rng)
        self.syms = [_Sym(i + 1, nm) for i, nm in enumerate(names)]
        order = list(range(symbols))
        rng.shuffle(order)
        # Activity is Zipf-like: a few symbols carry most of the flow and get deep books.
        self.weights = [0.0] * symbols
        for rank, i in enumerate(order):
            self.weights[i] = 1.0 / (rank + 1)
        total_w = sum(self.weights)
        body = max(messages - 3 * symbols, MIN_BODY)
        for rank, i in enumerate(order):
            s = self.syms[i]
            s.mid = TICK * int(10 ** rng.uniform(0.5, 2.7) * 100) // 100 * 100 // TICK
            s.mid = max(s.mid, 3 * 10000) // TICK * TICK
            s.scale = 150.0 if rank < deep else rng.uniform(3.0, 30.0)
            share = self.weights[i] / total_w
            s.target = max(10, min(4000, int(share * body * (0.12 if rank < deep else 0.04))))
        self.deep = [self.syms[i] for i in order[:deep]]
        self.cross_syms = [self.syms[i] for i in order[:min(8, symbols - 4)]]
        quiet = [self.syms[i] for i in order[-4:]]
        self.ipo, self.dl, self.halt_sym, self.luld_sym = quiet
        self.cum = []
        acc = 0.0
        for w in self.weights:
            acc += w
            self.cum.append(acc)

    # ------------------------------------------------------------------ helpers
    def tick(self, lo=1, hi=2000):
        self.t += self.rng.randint(lo, hi)
        return self.t

    def emit(self, m):
        self.out.append(m)

    def new_match(self):
        self.match += 1
        self.matches.append(self.match)
        if len(self.matches) > 512:
            del self.matches[:256]
        return self.match

    def _add_live(self, s, ref, side, price, shares):
        self.orders[ref] = [s, side, price, shares, len(s.refs)]
        s.refs.append(ref)

    def _remove_live(self, ref):
        o = self.orders.pop(ref)
        refs = o[0].refs
        last = refs.pop()
        if last != ref:
            i = o[4]
            refs[i] = last
            self.orders[last][4] = i

    def _best_opposite(self, s, side):
        """Best price on the other side of s (None if empty): scanned, used rarely."""
        orders = self.orders
        if side == b"B":
            asks = [orders[r][2] for r in s.refs if orders[r][1] == b"S"]
            return min(asks) if asks else None
        bids = [orders[r][2] for r in s.refs if orders[r][1] == b"B"]
        return max(bids) if bids else None

    def _shares(self):
        r = self.rng.random()
        if r < 0.08:
            return self.rng.randint(1, 99)                    # odd lot
        if r < 0.9:
            return 100 * self.rng.choice((1, 1, 1, 2, 2, 3, 5, 10))
        return 100 * self.rng.randint(11, 200)                # block

    # ------------------------------------------------------------------ order flow
    def add(self, s, t, side=None, price=None, aggressive=False):
        rng = self.rng
        if side is None:
            side = b"B" if rng.random() < 0.5 else b"S"
        if price is None:
            if s.refs and rng.random() < 0.12:                # stack on an existing level
                o = self.orders[s.refs[int(rng.random() * len(s.refs))]]
                side, price = o[1], o[2]
            else:
                off = 1 + int(rng.expovariate(1.0 / s.scale))
                price = s.mid - off * TICK if side == b"B" else s.mid + off * TICK
                price = max(price, TICK)
        ref = self.next_ref
        self.next_ref += rng.choice((1, 1, 2, 4))
        shares = self._shares()
        if rng.random() < 0.1:
            m = enc.add_order_mpid(s.loc, 0, t, ref, side, shares, s.s8, price,
                                   MPIDS[int(rng.random() * 16)])
        else:
            m = enc.add_order(s.loc, 0, t, ref, side, shares, s.s8, price)
        self.emit(m)
        self._add_live(s, ref, side, price, shares)
        if aggressive:
            s.aggr = ref
        return ref

    def pick(self, s):
        """A live order of s, biased towards the inside (the best of 3 random draws)."""
        refs, rng, orders = s.refs, self.rng, self.orders
        n = len(refs)
        best, dist = 0, None
        for _ in range(3):
            r = refs[int(rng.random() * n)]
            d = abs(orders[r][2] - s.mid)
            if dist is None or d < dist:
                best, dist = r, d
        return best

    def execute(self, s, t, ref, with_price=False, full=None):
        rng, o = self.rng, self.orders[ref]
        rem = o[3]
        if full is None:
            full = rem == 1 or rng.random() < 0.45
        qty = rem if full else rng.randint(1, rem - 1)
        match = self.new_match()
        if with_price:
            px = max(TICK, o[2] + TICK * rng.randint(-2, 2))
            self.emit(enc.order_executed_price(s.loc, 0, t, ref, qty, match,
                                               b"Y" if rng.random() < 0.8 else b"N", px))
        else:
            self.emit(enc.order_executed(s.loc, 0, t, ref, qty, match))
        if qty == rem:
            self._remove_live(ref)
        else:
            o[3] = rem - qty

    def delete(self, s, t, ref):
        self.emit(enc.order_delete(s.loc, 0, t, ref))
        self._remove_live(ref)

    def cancel(self, s, t, ref):
        o = self.orders[ref]
        if o[3] < 2:
            return self.delete(s, t, ref)
        qty = self.rng.randint(1, o[3] - 1)
        self.emit(enc.order_cancel(s.loc, 0, t, ref, qty))
        o[3] -= qty

    def replace(self, s, t, ref, price=None, aggressive=False):
        rng = self.rng
        o = self.orders[ref]
        side = o[1]
        if price is None:
            price = o[2] + TICK * rng.randint(-3, 3)
            price = min(price, s.mid - TICK) if side == b"B" else max(price, s.mid + TICK)
            price = max(price, TICK)
        new = self.next_ref
        self.next_ref += 1
        shares = self._shares()
        self.emit(enc.order_replace(s.loc, 0, t, ref, new, shares, price))
        self._remove_live(ref)
        self._add_live(s, new, side, price, shares)
        if aggressive:
            s.aggr = new

    def trade(self, s, t):
        rng = self.rng
        px = s.mid + TICK * rng.randint(-2, 2)
        self.emit(enc.trade(s.loc, 0, t, 0, b"B" if rng.random() < 0.5 else b"S",
                            self._shares(), s.s8, px, self.new_match()))

    def lock_or_cross(self, s, t):
        """Add at the opposite best (locked), or replace an order across it (crossed)."""
        rng = self.rng
        side = b"B" if rng.random() < 0.5 else b"S"
        opp = self._best_opposite(s, side)
        if opp is None:
            return self.add(s, t)
        if rng.random() < 0.6:
            return self.add(s, t, side, opp, aggressive=True)
        mine = [r for r in s.refs[:64] if self.orders[r][1] == side]
        if not mine:
            return self.add(s, t, side, opp, aggressive=True)
        through = TICK * rng.randint(1, 3)
        px = opp + through if side == b"B" else max(TICK, opp - through)
        return self.replace(s, t, mine[rng.randrange(len(mine))], px, aggressive=True)

    def flow_one(self, s, t):
        rng = self.rng
        n = len(s.refs)
        if s.aggr and s.aggr in self.orders and rng.random() < 0.3:
            ref, s.aggr = s.aggr, 0
            if s.state == "T" and rng.random() < 0.7:
                return self.execute(s, t, ref, full=True)
            return self.delete(s, t, ref)
        r = rng.random()
        p_add = 0.62 if n < s.target else 0.40
        if n == 0 or r < p_add:
            if r < 0.0015 and n > 4:
                return self.lock_or_cross(s, t)
            return self.add(s, t)
        r = (r - p_add) / (1.0 - p_add)
        trading = s.state == "T"
        if r < 0.40:
            return self.delete(s, t, s.refs[int(rng.random() * n)])
        if r < 0.52:
            return self.cancel(s, t, s.refs[int(rng.random() * n)])
        if r < 0.72:
            return self.execute(s, t, self.pick(s)) if trading else \
                self.delete(s, t, s.refs[int(rng.random() * n)])
        if r < 0.77:
            return self.execute(s, t, self.pick(s), with_price=True) if trading else \
                self.cancel(s, t, s.refs[int(rng.random() * n)])
        if r < 0.95:
            return self.replace(s, t, s.refs[int(rng.random() * n)])
        return self.trade(s, t) if trading else self.add(s, t)

    # ------------------------------------------------------------------ session events
    def preamble(self):
        rng, syms = self.rng, self.syms
        self.emit(enc.system_event(0, 0, self.tick(), "O"))
        self.emit(enc.mwcb_decline(0, 0, self.tick(), 300841000000, 278269000000,
                                   258941000000))
        for s in syms:
            etf = s.etf
            self.emit(enc.stock_directory(
                s.loc, 0, self.tick(1, 50000), s.name,
                market_category=rng.choice("QQQGGSNAP") if not etf else "G",
                financial_status=rng.choice("NNNNNNDE"),
                round_lot=100, round_lots_only="N",
                issue_class="Q" if etf else rng.choice("CCCCCAO"),
                issue_subtype="E" if etf else "Z",
                authenticity="P", short_sale_threshold=rng.choice("NNNNY"),
                ipo_flag="Y" if s in (self.ipo, self.dl) else "N",
                luld_tier="1" if s in self.cross_syms else rng.choice("12"),
                etp_flag="Y" if etf else "N", etp_leverage=3 if s.name in ("TQQQ", "SQQQ") else 0,
                inverse="Y" if s.name == "SQQQ" else "N"))
        for s in syms:
            if s in (self.ipo, self.dl):
                s.state = "H"
                self.emit(enc.trading_action(s.loc, 0, self.tick(), s.name, "H", "IPO1"))
            else:
                self.emit(enc.trading_action(s.loc, 0, self.tick(), s.name, "T", ""))
            if rng.random() < 0.15:
                self.emit(enc.reg_sho(s.loc, 0, self.tick(), s.name, rng.choice("0012")))
        for s in self.cross_syms + [self.ipo]:
            for mp in rng.sample(MPIDS, 4):
                self.emit(enc.market_participant(s.loc, 0, self.tick(), mp, s.name,
                                                 rng.choice("YN"), rng.choice("NNNPS"),
                                                 rng.choice("AAAE")))
        self.emit(enc.ipo_quoting(self.ipo.loc, 0, self.tick(), self.ipo.name,
                                  11 * 3600, "A", 2000000))

    def schedule(self):
        """(time, action) for every non-flow event; flow fills the time in between."""
        rng = self.rng
        ev = [(T_SYS, lambda t: self.emit(enc.system_event(0, 0, t, "S")))]
        for s in self.cross_syms[:4]:
            for k in range(3):
                ev.append((T_MKT_OPEN - (3 - k) * 60 * NS, self._noii(s, "O")))
                ev.append((T_MKT_CLOSE - (3 - k) * 180 * NS, self._noii(s, "C")))
        ev.append((T_MKT_OPEN, self._open))
        ev.append((T_MKT_CLOSE, self._close))
        ipo, dl, hs, ls = self.ipo, self.dl, self.halt_sym, self.luld_sym
        ev.append((10 * HOUR, self._action(ipo, "Q", "IPOQ")))
        ev.append((10 * HOUR + 20 * 60 * NS, lambda t: self.emit(
            enc.ipo_quoting(ipo.loc, 0, t, ipo.name, 11 * 3600, "A", 2100000))))
        ev.append((11 * HOUR, self._halt_cross(ipo)))
        ev.append((10 * HOUR + 5 * 60 * NS, self._action(dl, "Q", "IPOQ")))
        for k in range(4):
            ev.append((10 * HOUR + (10 + 10 * k) * 60 * NS, self._dlcr(dl, k)))
        ev.append((11 * HOUR + 15 * 60 * NS, self._halt_cross(dl)))
        ev.append((12 * HOUR, self._action(hs, "H", "T1")))
        ev.append((12 * HOUR + 30 * 60 * NS, self._action(hs, "Q", "T3")))
        ev.append((12 * HOUR + 40 * 60 * NS, self._action(hs, "T", "T3")))
        ev.append((13 * HOUR, self._action(ls, "P", "LUDP")))
        ev.append((13 * HOUR + 5 * 60 * NS, self._luld(ls, 0)))
        ev.append((13 * HOUR + 10 * 60 * NS, self._luld(ls, 1)))
        ev.append((13 * HOUR + 15 * 60 * NS, self._action(ls, "T", "")))
        ev.append((11 * HOUR + 30 * 60 * NS, lambda t: self.emit(
            enc.operational_halt(hs.loc, 0, t, hs.name, "Q", "H"))))
        ev.append((11 * HOUR + 45 * 60 * NS, lambda t: self.emit(
            enc.operational_halt(hs.loc, 0, t, hs.name, "Q", "T"))))
        ev.append((14 * HOUR, lambda t: self.emit(enc.mwcb_status(0, 0, t, "1"))))
        ev.append((14 * HOUR + 60 * NS, lambda t: self.emit(
            enc.reg_sho(hs.loc, 0, t, hs.name, "1"))))
        for k in range(6):
            s = self.cross_syms[k % len(self.cross_syms)]
            ev.append((T_SYS + HOUR + k * 2 * HOUR, lambda t, s=s: self.emit(
                enc.rpii(s.loc, 0, t, s.name, rng.choice("BSAN")))))
            ev.append((T_MKT_OPEN + HOUR + k * HOUR, self._broken))
        return sorted(ev, key=lambda e: e[0])

    def _action(self, s, state, reason):
        def run(t):
            s.state = state
            self.emit(enc.trading_action(s.loc, 0, t, s.name, state, reason))
        return run

    def _noii(self, s, cross):
        def run(t):
            rng = self.rng
            paired = rng.randint(1, 500) * 100
            imb = rng.randint(0, 200) * 100
            ref = s.mid + TICK * rng.randint(-2, 2)
            self.emit(enc.noii(s.loc, 0, t, paired, imb, rng.choice("BSNO") if imb else "N",
                               s.name, ref + TICK * rng.randint(-5, 5), ref, ref,
                               cross, rng.choice("L123456789ABC ")))
        return run

    def _cross(self, s, t, ctype):
        self.emit(enc.cross_trade(s.loc, 0, t, self.rng.randint(1, 5000) * 100, s.name,
                                  s.mid, self.new_match(), ctype))

    def _open(self, t):
        self.emit(enc.system_event(0, 0, t, "Q"))
        for s in self.cross_syms:
            self._cross(s, t, "O")

    def _close(self, t):
        for s in self.cross_syms:
            self._cross(s, t, "C")
        self.emit(enc.system_event(0, 0, t, "M"))

    def _halt_cross(self, s):
        def run(t):
            self._cross(s, t, "H")
            s.state = "T"
            self.emit(enc.trading_action(s.loc, 0, t, s.name, "T", ""))
        return run

    def _dlcr(self, s, k):
        def run(t):
            lo, hi = s.mid * 8 // 10, s.mid * 12 // 10
            self.emit(enc.dlcr(s.loc, 0, t, s.name, "Y" if k else "N", lo, hi,
                               s.mid + TICK * k, t - NS, lo - TICK * k, hi + TICK * k))
        return run

    def _luld(self, s, ext):
        def run(t):
            up, dn = s.mid * 105 // 100, s.mid * 95 // 100
            self.emit(enc.luld_collar(s.loc, 0, t, s.name, s.mid, up + ext * TICK * 50,
                                      dn - ext * TICK * 50, ext))
        return run

    def _broken(self, t):
        m = self.matches[-1 - self.rng.randrange(min(len(self.matches), 50))] \
            if self.matches else self.new_match()
        self.emit(enc.broken_trade(0, 0, t, m))

    # ------------------------------------------------------------------ driver
    def run(self):
        self.preamble()
        events = self.schedule()
        epilogue = 2
        body = self.messages - len(self.out) - epilogue - len(events) - 3 * len(self.cross_syms)
        if body < MIN_BODY:
            raise ValueError(f"--messages too small for {len(self.syms)} symbols "
                             f"(need at least {self.messages - body + MIN_BODY})")
        end = self.messages - epilogue
        rng, syms, out = self.rng, self.syms, self.out
        span = T_SYS_END - 60 * NS - T_SYS
        ei = 0
        start = len(out)
        total = end - start
        batch, bi = [], 0
        while len(out) < end:
            k = len(out) - start
            base = T_SYS + span * k // total
            while ei < len(events) and events[ei][0] <= base:
                self.t = max(self.t + 1, events[ei][0])
                events[ei][1](self.t)
                ei += 1
            if len(out) >= end:
                break
            if ei < len(events) and len(out) + (len(events) - ei) * 9 >= end:
                # make sure every scheduled event still fits before the epilogue
                self.t = max(self.t + 1, events[ei][0])
                events[ei][1](self.t)
                ei += 1
                continue
            if bi == len(batch):
                batch = rng.choices(syms, cum_weights=self.cum, k=4096)
                bi = 0
            s = batch[bi]
            bi += 1
            self.t = max(self.t + 1, base + int(rng.random() * 1000))
            self.flow_one(s, self.t)
        assert ei == len(events) and len(out) == end, "scheduled events did not fit"
        self.t = max(self.t + 1, T_SYS_END)
        self.emit(enc.system_event(0, 0, self.t, "E"))
        self.emit(enc.system_event(0, 0, self.t + 1000, "C"))
        return out


def generate(symbols=200, messages=1_000_000, seed=1, deep=3):
    """A deterministic synthetic ITCH 5.0 session: list of exactly `messages` messages."""
    return Generator(symbols, messages, seed, deep).run()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbols", type=int, default=200)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deep", type=int, default=3, help="symbols with hundreds of levels")
    ap.add_argument("--out", required=True, help="BinaryFILE output (.gz compresses)")
    ap.add_argument("--pcap", help="also write a MoldUDP64 capture")
    ap.add_argument("--session", default="TICKWIRE01")
    ap.add_argument("--per-packet", type=int, help="messages per Mold packet (default: MTU)")
    ap.add_argument("--ab", action="store_true", help="feed B copy of every packet")
    ap.add_argument("--loss", type=float, default=0.0, help="drop probability per feed")
    ap.add_argument("--loss-a", type=float, help="with --ab: feed A's own loss (the lost "
                    "packet keeps its slot; never the same packet as B)")
    ap.add_argument("--loss-b", type=float, default=0.0, help="with --loss-a: feed B's")
    ap.add_argument("--skew-b", type=int, default=0, metavar="PACKETS",
                    help="with --loss-a: feed B this many packets late (negative: early); "
                         "the capture's timestamps carry the skew")
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--noise", type=float, default=0.0)
    a = ap.parse_args(argv)
    t0 = time.time()
    msgs = generate(a.symbols, a.messages, a.seed, a.deep)
    itch_file.write(a.out, msgs)
    print(f"{len(msgs)} messages -> {a.out} ({time.time() - t0:.1f} s)", file=sys.stderr)
    if a.pcap:
        frames = moldfeed.build_feed(msgs, a.session, a.per_packet, ab=a.ab,
                                     end_of_session=True)
        rng = random.Random(a.seed ^ 0x5EED)
        if a.ab and a.loss_a is not None:
            from .feeds.skew import ab_skewed, stamped
            fa, fb, _, _ = ab_skewed([f for f in frames if f.feed == "A"],
                                     [f for f in frames if f.feed == "B"],
                                     a.loss_a, a.loss_b, a.skew_b, rng=rng)
            frames = stamped(fa, fb, start_ns=1_580_360_400 * NS)
            n = pcap.write(a.pcap, ((f.ts, f.data) for f in frames))
            print(f"{n} frames -> {a.pcap}", file=sys.stderr)
            return 0
        for feed in ("A", "B") if a.ab else ("A",):
            frames = moldfeed.drop(frames, feed, a.loss, rng=rng)
        frames = moldfeed.duplicate(frames, a.dup, rng=rng)
        frames = moldfeed.insert_noise(frames, a.noise, rng=rng)
        moldfeed.stamp(frames, start_ns=1_580_360_400 * NS, gap_ns=1000)
        n = pcap.write(a.pcap, ((f.ts, f.data) for f in frames))
        print(f"{n} frames -> {a.pcap}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
