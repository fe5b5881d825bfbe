"""Limits file: the documented example parses to exact units; every error names file:line: field."""
import re
from pathlib import Path

import pytest

from tickwire.model.limits import LimitsError, encode, load, parse

DOC = Path(__file__).resolve().parent.parent / "docs" / "limits.md"

GOOD = """\
version: 1
symbols:
  - symbol: AAPL
    max_qty: 5_000
    collar: 5 ticks
  - symbol: MSFT
    max_qty: 1000
    collar: 20 bps
    allow_no_book: yes
  - symbol: ZVZZT
    restricted: true
    collar: 0.0150 usd
    tick: 0.0001
accounts:
  - account: ACME01
    enabled: true
    max_notional: 250,000.50
    credit: $1000000
    rate: {burst: 20, per_second: 3}
    duplicate_window_ms: 50
    positions:
      default: {long: 100, short: 0}
      MSFT: {long: 2000, short: 500}
  - account: IDLE
"""


def test_good_file_units():
    lim = parse(GOOD, "good.yaml")
    aapl, msft, zv = lim.symbols
    assert (aapl.max_qty, aapl.collar, aapl.collar_bps) == (5000, 500, False)   # 5 x $0.01
    assert (msft.collar, msft.collar_bps, msft.allow_no_book) == (20, True, True)
    assert (zv.restricted, zv.collar, zv.collar_bps) == (True, 150, False)
    a, idle = lim.accounts
    assert a.enabled and not idle.enabled
    assert a.max_notional == 2_500_005_000          # USD 250000.50 in 1/10000
    assert a.credit == 10_000_000_000
    assert (a.rate_burst, a.rate_interval_ns) == (20, 333_333_333)
    assert a.dup_window_ns == 50_000_000
    assert a.positions == {0: (100, 0), 1: (2000, 500), 2: (100, 0)}
    assert idle.positions == {} and lim.position_limits(1, 1) == (0, 0)
    assert lim.slot_of("MSFT") == 1 and lim.account_of("IDLE") == 1


def test_encode_words():
    lim = parse(GOOD, "good.yaml")
    t = encode(lim, accounts=4, slots=4)
    assert len(t["acct_limits"]) == 32 and len(t["sym_limits"]) == 16
    assert len(t["pos_limits"]) == 32
    assert t["acct_limits"][:8] == [1, 2_500_005_000 & 0xFFFFFFFF, 0,
                                    10_000_000_000 & 0xFFFFFFFF, 10_000_000_000 >> 32,
                                    333_333_333, 20, 50_000_000]
    assert t["acct_limits"][8:16] == [0] * 8                     # IDLE: disabled, zero
    assert t["sym_limits"][4:8] == [0b1101, 1000, 20, 0]         # enabled|no_book|bps
    assert t["sym_limits"][8] == 0b0011                          # enabled|restricted
    assert t["sym_limits"][12:16] == [0] * 4                     # unused slot
    assert t["pos_limits"][2:4] == [2000, 500]                   # account 0, slot 1


@pytest.mark.parametrize("text, line, field", [
    ("version: 2\n", 1, "version"),
    ("version: 1\nsymbols:\n  - symbol: A\n    max_qty: -1\n", 4, "symbols[0].max_qty"),
    ("version: 1\nsymbols:\n  - symbol: A\n    colar: 5 ticks\n", 4, "symbols[0].colar"),
    ("version: 1\nsymbols:\n  - symbol: A\n    collar: 5 pips\n", 4, "symbols[0].collar"),
    ("version: 1\nsymbols:\n  - symbol: A\n    collar: 10001 bps\n", 4, "symbols[0].collar"),
    ("version: 1\nsymbols:\n  - symbol: A\n  - symbol: A\n", 4, "symbols[1]"),
    ("version: 1\naccounts:\n  - account: X\n    credit: 1.00001\n", 4, "accounts[0].credit"),
    ("version: 1\naccounts:\n  - account: X\n    enabled: maybe\n", 4, "accounts[0].enabled"),
    ("version: 1\naccounts:\n  - account: X\n    rate: {burst: 2}\n", 4, "accounts[0].rate.per_second"),
    ("version: 1\naccounts:\n  - account: X\n    positions:\n      NOPE: {long: 1, short: 1}\n",
     5, "accounts[0].positions.NOPE"),
    ("version: 1\naccounts:\n  - enabled: true\n", 3, "accounts[0].account"),
    ("version: 1\naccounts: [\n", 3, "(syntax)"),
])
def test_errors_name_file_line_field(text, line, field):
    with pytest.raises(LimitsError) as exc:
        parse(text, "lim.yaml")
    msg = str(exc.value)
    m = re.match(r"lim\.yaml:(\d+): (\S+): .+", msg)
    assert m, msg
    assert (int(m.group(1)), m.group(2)) == (line, field), msg


def test_too_many_entries():
    text = "version: 1\nsymbols:\n" + "".join(f"  - symbol: S{i}\n" for i in range(5))
    with pytest.raises(LimitsError, match=r"lim\.yaml:3: symbols: 5 entries, the gate has 4"):
        parse(text, "lim.yaml", max_slots=4)


def test_documented_example_is_valid(tmp_path):
    """The example in docs/limits.md is the one users copy: it must parse."""
    text = DOC.read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    p = tmp_path / "example.yaml"
    p.write_text(block)
    lim = load(p)
    assert lim.symbols and lim.accounts and lim.accounts[0].enabled
