"""Reference pre-trade risk gate, written from issue #4 (not from the gateware).

Every order is checked against all limits; the verdict names the first failing check
in this order (reason code = index, 0 = ok):
  1 kill_switch  global, per account, or the watchdog tripped
  2 account_disabled  account not in the limits set or not enabled
  3 restricted  symbol restricted, or not in the limits set
  4 halted  the book's trading state is halted/paused
  5 no_book  the side the collar needs is empty (buy: ask, sell: bid) or the book is
             unreliable, unless the symbol allows it (then the collar is skipped)
  6 max_qty  qty is 0 or above the symbol's max_qty
  7 max_notional  qty x price above the account's per-order limit
  8 price_collar  buy above best ask + collar, sell below best bid - collar (collar in
             price units, or in bps of the touch)
  9 credit  open notional + this order's notional above the account's credit
 10 position  buy: position + open buys + qty > long limit; sell/short: open sells + qty
             - position > short limit (per account and symbol)
 11 rate  token bucket per account (GCRA form: accept when t >= TAT - (burst-1)*interval)
 12 duplicate  clordid of one of the last `history` accepted orders, or the same
             account/symbol/side/qty/price accepted less than the window ago
Only accepted orders change state (open notional, open quantities, bucket, history);
host fill/cancel events release open exposure, and fills move the position.
"""
from collections import deque
from typing import NamedTuple

REASONS = ("ok", "kill_switch", "account_disabled", "restricted", "halted", "no_book",
           "max_qty", "max_notional", "price_collar", "credit", "position", "rate",
           "duplicate")
BUY, SELL, SHORT = 0, 1, 2
FILL, CANCEL = 1, 2
MASK64 = (1 << 64) - 1


class BookState(NamedTuple):
    bid_px: int = 0
    bid_qty: int = 0
    ask_px: int = 0
    ask_qty: int = 0
    halted: bool = False
    unreliable: bool = False


class RiskModel:
    """State of one gate. `limits` is the active set (a tickwire.model.limits.Limits);
    `commit(new)` swaps in a whole new set at once, as the shadow bank does."""

    def __init__(self, accounts, slots, history=16, limits=None):
        from .limits import Limits
        self.n_accounts, self.n_slots = accounts, slots
        self.limits = limits or Limits()     # power-up: empty set, everything rejected
        self.kill = False
        self.kill_accounts = 0               # bit i = account i
        self.watchdog_tripped = False
        self.open = [0] * accounts           # open notional per account
        self.tat = [0] * accounts            # token bucket theoretical arrival time
        self.pos = {}                        # (account, slot) -> [position, open_buy, open_sell]
        self.history = deque(maxlen=history)
        self.event_errors = 0

    def commit(self, limits):
        self.limits = limits

    def _state(self, a, s):
        return self.pos.setdefault((a, s), [0, 0, 0])

    def check(self, clordid, account, slot, side, qty, price, t, book):
        """Decide one order at time t (ns) against `book` (BookState); returns the reason."""
        lim = self.limits
        acct = lim.accounts[account] if account < len(lim.accounts) else None
        sym = lim.symbols[slot] if slot < len(lim.symbols) else None
        killed = self.kill or self.watchdog_tripped or \
            (account < self.n_accounts and self.kill_accounts >> account & 1)
        notional = qty * price
        if killed:
            return 1
        if acct is None or account >= self.n_accounts or not acct.enabled:
            return 2
        if sym is None or slot >= self.n_slots or sym.restricted:
            return 3
        if book.halted:
            return 4
        buy = side == BUY
        missing = book.unreliable or (book.ask_qty == 0 if buy else book.bid_qty == 0)
        if missing and not sym.allow_no_book:
            return 5
        if qty == 0 or qty > sym.max_qty:
            return 6
        if notional > acct.max_notional:
            return 7
        if not missing:
            if buy:
                bad = (price * 10000 > book.ask_px * (10000 + sym.collar)) if sym.collar_bps \
                    else price > book.ask_px + sym.collar
            else:
                bad = (price * 10000 < book.bid_px * (10000 - sym.collar)) if sym.collar_bps \
                    else price < book.bid_px - sym.collar
            if bad:
                return 8
        if self.open[account] + notional > acct.credit:
            return 9
        p, ob, osl = self._state(account, slot)
        lng, sht = lim.position_limits(account, slot)
        if (p + ob + qty > lng) if buy else (osl + qty - p > sht):
            return 10
        tau = (acct.rate_burst - 1) * acct.rate_interval_ns
        if acct.rate_burst == 0 or t + tau < self.tat[account]:
            return 11
        for (cid, a, s, sd, q, px, t0) in self.history:
            if cid == clordid:
                return 12
            if (a, s, sd, q, px) == (account, slot, side, qty, price) and \
                    (t - t0) & MASK64 < acct.dup_window_ns:
                return 12
        return 0

    def order(self, clordid, account, slot, side, qty, price, t, book):
        """Check and, when accepted, book the order's exposure. Returns the reason code."""
        r = self.check(clordid, account, slot, side, qty, price, t, book)
        if r == 0:
            acct = self.limits.accounts[account]
            self.open[account] += qty * price
            st = self._state(account, slot)
            st[1 if side == BUY else 2] += qty
            self.tat[account] = (max(t, self.tat[account]) + acct.rate_interval_ns) & MASK64
            self.history.append((clordid, account, slot, side, qty, price, t))
        return r

    def event(self, kind, account, slot, side, qty, price):
        """Host fill/cancel: release open exposure (clamped at 0); fills move the position.
        Returns False (and counts an error) for a bad event or a clamp."""
        if kind not in (FILL, CANCEL) or account >= self.n_accounts or slot >= self.n_slots:
            self.event_errors += 1
            return False
        ok = True
        n = qty * price
        if n > self.open[account]:
            ok, n = False, self.open[account]
        self.open[account] -= n
        st = self._state(account, slot)
        k = 1 if side == BUY else 2
        q = qty
        if q > st[k]:
            ok, q = False, st[k]
        st[k] -= q
        if kind == FILL:
            st[0] += qty if side == BUY else -qty
        self.event_errors += not ok
        return ok
