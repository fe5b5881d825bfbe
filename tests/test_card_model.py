"""ModelCard: bank semantics by register kind, the hardware clock, the watchdog, the risk windows."""
import pytest

from tickwire.control.regmap import REGS, WINDOWS
from tickwire.model.card import CLOCK_HZ, ModelCard, decode_limits
from tickwire.rtl.config import BUILDS
from tickwire.model.limits import Account, Limits, Symbol, encode
from tickwire.model.risk import BookState
from tickwire.control.regmap import CLOCK_CMD_SET, CLOCK_CMD_SNAPSHOT, CLOCK_CMD_STEP

SIM = BUILDS["sim"]          # the build the tests' cards run (rtl/config.py)

A = {n: r.addr for n, r in REGS.items()}


def now_ns(card):
    card.write32(A["clock.cmd"], CLOCK_CMD_SNAPSHOT)
    return card.read64(A["clock.snap_sec"]) * 10**9 + card.read32(A["clock.snap_ns"])


def test_controls_reset_mask_and_hold():
    card = ModelCard()
    for name, r in REGS.items():
        if r.kind == "control":
            assert card.reg(name) == r.reset, name
    card.write32(A["mac_a.max_len"], 0xFFFF_1234)          # 16-bit control
    assert card.read32(A["mac_a.max_len"]) == 0x1234


def test_strobes_read_zero_and_unmapped_is_quiet():
    card = ModelCard()
    assert card.read32(A["clock.cmd"]) == 0
    gap = 0xFFF0                                            # no register there
    assert not any(r.addr <= gap < r.addr + 8 for r in REGS.values())
    card.write32(gap, 123)
    assert card.read32(gap) == 0


def test_counters_from_the_device_model_and_shared_shadow():
    counters = {"mac_a.frames_ok": 5 << 32 | 7, "mac_b.frames_ok": 9 << 32 | 1}
    card = ModelCard(counters=counters)
    assert card.read32(A["mac_a.frames_ok"]) == 7
    assert card.read32(A["mac_b.frames_ok"]) == 1           # the one shadow now holds 9
    assert card.read32(A["mac_a.frames_ok"] + 4) == 9       # (as the bank does: read LO first)
    assert card.read64(A["net_a.frames_in"]) == 0           # not supplied: 0
    counters["mac_a.fcs_errors"] = (1 << 64) + 3            # 64-bit wrap
    assert card.read64(A["mac_a.fcs_errors"]) == 3


def test_clock_runs_at_period_and_set_step():
    card = ModelCard()
    t0 = now_ns(card)
    card.advance(CLOCK_HZ)             # one second of cycles at 0x6.66666666 ns (just under 6.4)
    assert now_ns(card) - t0 == 10**9 - 1
    card.write32(A["clock.period"], 0)
    card.write32(A["clock.period"] + 4, 10)                 # 10 ns per cycle (fraction kept)
    card.advance(5)
    assert now_ns(card) - t0 == 10**9 - 1 + 50
    write_words(card, A["clock.set_sec"], [1000, 0])
    card.write32(A["clock.set_ns"], 999_999_990)
    card.write32(A["clock.cmd"], CLOCK_CMD_SET)
    assert now_ns(card) == 1000 * 10**9 + 999_999_990
    card.write32(A["clock.step_ns"], 20)
    card.write32(A["clock.cmd"], CLOCK_CMD_STEP)        # +20 carries into seconds
    assert now_ns(card) == 1001 * 10**9 + 10
    card.write32(A["clock.step_ns"], (-30) & 0xFFFFFFFF)
    card.write32(A["clock.cmd"], CLOCK_CMD_STEP | CLOCK_CMD_SNAPSHOT)  # snapshot: before the step
    assert card.read32(A["clock.snap_ns"]) == 10
    assert now_ns(card) == 1000 * 10**9 + 999_999_980


def test_watchdog_trips_and_releases():
    card = ModelCard()
    status = lambda: card.read32(A["risk.status"])          # noqa: E731
    card.advance(10**6)
    assert status() & 3 == 0                                # 0 disables the watchdog
    card.write32(A["risk.watchdog_cycles"], 100)
    card.advance(60)
    card.write32(A["risk.heartbeat"], 1)
    card.advance(99)
    assert status() & 3 == 0
    card.advance(1)
    assert status() & 3 == 3                                # kill engaged by the watchdog
    card.write32(A["risk.heartbeat"], 1)
    assert status() & 3 == 3                                # a heartbeat does not release
    card.write32(A["risk.watchdog_release"], 1)
    assert status() & 3 == 0
    card.write32(A["risk.kill"], 1)
    assert status() & 3 == 1


def write_words(card, addr, words):
    for i, w in enumerate(words):
        card.write32(addr + 4 * i, w)


def load(card, limits):
    for name, words in encode(limits, accounts=SIM.risk_accounts, slots=SIM.risk_slots).items():
        write_words(card, WINDOWS["risk." + name].addr, words)
    card.write32(A["risk.commit"], 1)


def submit(card, clordid, account, slot, side, qty, price, kind=0):
    write_words(card, WINDOWS["risk.order"].addr,
                [clordid & 0xFFFFFFFF, clordid >> 32, account | slot << 8 | side << 16, qty, price])
    card.write32(A["risk.order_submit"], kind)


LIMITS = Limits([Symbol("AAPL", max_qty=100, collar=500)],
                [Account("ACME", enabled=True, max_notional=10**12, credit=10**13,
                         rate_interval_ns=1, rate_burst=100, positions={0: (1000, 1000)})])


def test_decode_is_the_inverse_of_encode():
    img = encode(LIMITS, accounts=SIM.risk_accounts, slots=SIM.risk_slots)
    back = decode_limits(img["acct_limits"], img["sym_limits"], img["pos_limits"], SIM.risk_accounts, SIM.risk_slots)
    assert encode(back, accounts=SIM.risk_accounts, slots=SIM.risk_slots) == img
    assert len(back.symbols) == 1                           # trailing unconfigured slots dropped
    img["sym_limits"][8] = 1                                # configure slot 2, leaving a hole at 1
    back = decode_limits(img["acct_limits"], img["sym_limits"], img["pos_limits"], SIM.risk_accounts, SIM.risk_slots)
    assert back.symbols[1].restricted and not back.symbols[2].restricted


def test_orders_through_the_window_use_the_committed_set():
    card = ModelCard()
    card.books[0] = BookState(bid_px=1_000_000, bid_qty=100, ask_px=1_000_100, ask_qty=100)
    submit(card, 1, 0, 0, 0, 10, 1_000_100)
    assert card.reg("risk.rejects[1]") == 1                 # power-up: empty set, account_disabled
    load(card, LIMITS)
    submit(card, 2, 0, 0, 0, 10, 1_000_100)                 # buy at the ask: ok
    submit(card, 3, 0, 0, 0, 101, 1_000_100)                # max_qty
    submit(card, 4, 0, 1, 0, 10, 1_000_100)                 # slot 1 unconfigured: restricted
    submit(card, 5, 0, 0, 0, 10, 1_000_700)                 # above ask + collar
    card.write32(A["risk.kill"], 1)
    submit(card, 6, 0, 0, 0, 10, 1_000_100)                 # kill switch
    assert card.reg("risk.orders") == 6
    assert card.reg("risk.accepts") == 1
    assert [card.reg(f"risk.rejects[{i}]") for i in range(12)] == \
        [1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0]
    assert card.read32(A["risk.reject_head"]) == 5
    ring = [card.read32(WINDOWS["risk.last_rejects"].addr + 4 * i) for i in range(20)]
    assert [ring[4 * k] for k in range(5)] == [1, 3, 4, 5, 6]
    assert [ring[4 * k + 2] & 0xFF for k in range(5)] == [2, 6, 3, 8, 1]
    assert ring[4 * 2 + 2] >> 16 == 1                       # slot of clordid 4


def test_host_events_and_bad_kinds():
    card = ModelCard()
    card.books[0] = BookState(bid_px=100, bid_qty=1, ask_px=100, ask_qty=1)
    load(card, LIMITS)
    submit(card, 1, 0, 0, 0, 10, 100)
    submit(card, 1, 0, 0, 0, 10, 100, kind=1)               # fill releases the open order
    assert (card.reg("risk.events"), card.reg("risk.event_errors")) == (1, 0)
    submit(card, 1, 0, 0, 0, 10, 100, kind=2)               # cancel of nothing: clamped
    assert (card.reg("risk.events"), card.reg("risk.event_errors")) == (2, 1)
    submit(card, 1, 0, 0, 0, 10, 100, kind=3)               # bad kind: ignored, counted
    submit(card, 1, 9, 0, 0, 10, 100, kind=1)               # bad account
    assert (card.reg("risk.events"), card.reg("risk.event_errors")) == (2, 3)
    assert card.risk.pos[(0, 0)][0] == 10                   # the fill moved the position


def test_order_window_reads_back():
    card = ModelCard()
    w = WINDOWS["risk.order"].addr
    card.write32(w + 12, 777)
    assert card.read32(w + 12) == 777


@pytest.mark.parametrize("cycles", [1, 156, 10**9])
def test_advance_large_steps_are_exact(cycles):
    card = ModelCard()
    card.advance(cycles)
    assert now_ns(card) == cycles * ((6 << 32) | 0x66666666) >> 32
