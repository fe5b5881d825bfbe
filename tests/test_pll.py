"""The lab PLL's dividers (rtl/board/pll.py) and each build's UART rate at its clock."""
import pytest

from tickwire.rtl.board.pll import REF_MHZ, dividers
from tickwire.rtl.config import BUILDS


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_build_clock_is_reachable_and_legal(name):
    cfg = BUILDS[name]
    clki, fb, op, mhz = dividers(cfg.clock_mhz)
    assert mhz == pytest.approx(REF_MHZ * fb / clki)
    assert abs(mhz - cfg.clock_mhz) <= 0.005 * cfg.clock_mhz
    assert 400 <= mhz * op <= 800                    # EHXPLLL VCO range
    assert REF_MHZ / clki >= 3.125                   # phase detector minimum
    assert 1 <= fb <= 80 and 1 <= op <= 128


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_uart_is_3_mbaud_at_the_build_clock(name):
    cfg = BUILDS[name]
    baud = dividers(cfg.clock_mhz)[3] * 1e6 / cfg.uart_divisor
    assert baud == pytest.approx(3e6, rel=0.005), "the host's serial port runs at 3 Mbaud"


def test_156_25_is_not_reachable_156_000_is():
    assert dividers(156.25) == (1, 13, 4, 156.0)


def test_unreachable_frequency_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot make 25.0 MHz"):
        dividers(25.0)
