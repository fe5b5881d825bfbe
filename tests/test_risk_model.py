"""The reference risk model against the issue text: each check at, under and over its
limit, the reason priority, state booking/release, token bucket and duplicates."""
import pytest

from tickwire.model.limits import Account, Limits, Symbol
from tickwire.model.risk import REASONS, BookState, RiskModel

BUY, SELL, SHORT = 0, 1, 2
BOOK = BookState(bid_px=999_900, bid_qty=100, ask_px=1_000_100, ask_qty=100)


def limits(**acct_kw):
    a = dict(name="A", enabled=True, max_notional=10**13, credit=10**15,
             rate_interval_ns=1000, rate_burst=100, dup_window_ns=0,
             positions={0: (10_000, 10_000)})
    a.update(acct_kw)
    return Limits(symbols=[Symbol(name="S", max_qty=1000, collar=100)],
                  accounts=[Account(**a)])


def model(**kw):
    m = RiskModel(accounts=4, slots=4)
    m.commit(limits(**kw))
    return m


def order(m, qty=10, price=1_000_000, side=BUY, cid=None, t=0, book=BOOK, account=0, slot=0):
    order.n += 1
    return REASONS[m.order(cid or order.n, account, slot, side, qty, price, t, book)]


order.n = 0


def test_power_up_rejects_everything():
    m = RiskModel(accounts=4, slots=4)
    assert order(m) == "account_disabled"
    m.kill = True
    assert order(m) == "kill_switch"


def test_kill_switches():
    m = model()
    assert order(m) == "ok"
    m.kill_accounts = 0b10
    assert order(m) == "ok"
    m.kill_accounts = 0b01
    assert order(m) == "kill_switch"
    m.kill_accounts, m.watchdog_tripped = 0, True
    assert order(m) == "kill_switch"


def test_unknown_account_and_symbol():
    m = model()
    assert order(m, account=1) == "account_disabled"      # in range, not in the set
    assert order(m, account=200) == "account_disabled"
    assert order(m, slot=1) == "restricted"
    m.limits.symbols[0].restricted = True
    assert order(m) == "restricted"


def test_halted_and_no_book():
    m = model()
    assert order(m, book=BOOK._replace(halted=True)) == "halted"
    assert order(m, book=BOOK._replace(ask_qty=0, ask_px=0)) == "no_book"
    assert order(m, side=SELL, book=BOOK._replace(ask_qty=0, ask_px=0)) == "ok"
    assert order(m, side=SELL, book=BOOK._replace(bid_qty=0)) == "no_book"
    assert order(m, book=BOOK._replace(unreliable=True)) == "no_book"
    m.limits.symbols[0].allow_no_book = True
    # allowed: the collar is skipped, so even a far price passes
    assert order(m, price=5_000_000, book=BOOK._replace(unreliable=True)) == "ok"


def test_max_qty_and_notional_boundaries():
    m = model(max_notional=1000 * 1_000_000)
    assert order(m, qty=0) == "max_qty"
    assert order(m, qty=1000) == "ok"
    assert order(m, qty=1001) == "max_qty"
    assert order(m, qty=1000, price=1_000_001 - 1) == "ok"           # exactly at the limit
    m2 = model(max_notional=1000 * 1_000_000 - 1)
    assert order(m2, qty=1000) == "max_notional"


@pytest.mark.parametrize("side, edge", [(BUY, 1_000_100 + 100), (SELL, 999_900 - 100),
                                        (SHORT, 999_900 - 100)])
def test_price_collar_ticks(side, edge):
    m = model()
    inside = -1 if side == BUY else 1
    assert order(m, side=side, price=edge) == "ok"
    assert order(m, side=side, price=edge + inside) == "ok"
    assert order(m, side=side, price=edge - inside) == "price_collar"


def test_price_collar_bps():
    m = model()
    m.limits.symbols[0].collar, m.limits.symbols[0].collar_bps = 50, True
    # 50 bps over the ask 1_000_100 is 1_005_100.5: 1_005_100 passes, 1_005_101 fails
    assert order(m, price=1_005_100) == "ok"
    assert order(m, price=1_005_101) == "price_collar"
    # 50 bps under the bid 999_900 is 994_900.5: 994_901 passes, 994_900 fails
    assert order(m, side=SELL, price=994_901) == "ok"
    assert order(m, side=SELL, price=994_900) == "price_collar"


def test_credit_books_and_releases():
    m = model(credit=25 * 1_000_000)
    assert order(m, qty=20) == "ok"
    assert order(m, qty=6) == "credit"
    assert order(m, qty=5) == "ok"                    # exactly at the credit limit
    assert order(m, qty=1) == "credit"
    assert m.event(2, 0, 0, BUY, 5, 1_000_000)        # cancel releases 5
    assert order(m, qty=5) == "ok"
    assert not m.event(1, 0, 0, BUY, 100, 1_000_000)  # over-release: clamped, counted
    assert m.open[0] == 0 and m.event_errors == 1


def test_position_long_and_short():
    m = model(positions={0: (100, 50)})
    assert order(m, qty=60) == "ok"
    assert order(m, qty=41) == "position"             # 60 open + 41 > 100
    assert order(m, qty=40) == "ok"
    assert m.event(1, 0, 0, BUY, 100, 1_000_000)      # fill: position 100, open 0
    assert order(m, qty=1) == "position"
    assert order(m, side=SELL, qty=151) == "position"  # 151 - 100 > 50
    assert order(m, side=SHORT, qty=150) == "ok"
    assert order(m, side=SELL, qty=1) == "position"


def test_rate_is_a_token_bucket():
    m = model(rate_burst=3, rate_interval_ns=1000)
    assert [order(m, t=0) for _ in range(4)] == ["ok", "ok", "ok", "rate"]
    assert order(m, t=999) == "rate"
    assert order(m, t=1000) == "ok"                   # one token per interval
    assert order(m, t=1000) == "rate"
    assert [order(m, t=10_000) for _ in range(4)] == ["ok", "ok", "ok", "rate"]   # refilled to burst
    assert order(model(rate_burst=0)) == "rate"


def test_duplicates():
    m = model(dup_window_ns=500)
    assert order(m, cid=77, t=0) == "ok"
    assert order(m, cid=77, qty=3, t=10**9) == "duplicate"        # same clordid, any time
    assert order(m, cid=78, t=499) == "duplicate"                 # same order within window
    assert order(m, cid=79, t=500) == "ok"                        # window elapsed
    assert order(m, cid=80, qty=11, t=501) == "ok"                # different quantity
    m.limits.accounts[0].dup_window_ns = 0
    assert order(m, cid=81, qty=11, t=502) == "ok"                # window 0: ids only


def test_duplicate_history_is_bounded_and_rejects_do_not_enter_it():
    m = model()
    assert order(m, cid=5, qty=5000) == "max_qty"
    assert order(m, cid=5) == "ok"                    # a rejected id may be reused
    for i in range(16):
        assert order(m, cid=100 + i) == "ok"
    assert order(m, cid=5) == "ok"                    # fell out of the 16-entry history


def test_priority_first_failure_wins():
    m = model(max_notional=1, credit=0, rate_burst=0)
    m.limits.symbols[0].max_qty = 5
    bad_book = BOOK._replace(halted=True, unreliable=True)
    assert order(m, qty=10, price=9_999_999, book=bad_book) == "halted"
    assert order(m, qty=10, price=9_999_999, book=BOOK._replace(unreliable=True)) == "no_book"
    assert order(m, qty=10, price=9_999_999) == "max_qty"
    assert order(m, qty=5, price=9_999_999) == "max_notional"
    m.limits.accounts[0].max_notional = 10**12
    assert order(m, qty=5, price=9_999_999) == "price_collar"
    assert order(m, qty=5) == "credit"
    m.limits.accounts[0].credit = 10**12
    m.limits.accounts[0].positions = {0: (1, 1)}
    assert order(m, qty=5) == "position"
    m.limits.accounts[0].positions = {0: (10, 10)}
    assert order(m, qty=5) == "rate"


def test_commit_swaps_whole_set():
    m = model()
    assert order(m, qty=500) == "ok"
    new = limits()
    new.symbols[0].max_qty = 100
    m.commit(new)
    assert order(m, qty=500) == "max_qty"
