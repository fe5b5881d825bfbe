"""The lab board's core clock: the 12 MHz oscillator through an ECP5 EHXPLLL.

The frequency is a build parameter (`CoreConfig.clock_mhz`); `dividers()` finds the
EHXPLLL's settings: CLKOP = 12 MHz x CLKFB_DIV / CLKI_DIV, with the VCO (CLKOP x
CLKOP_DIV) in 400-800 MHz and the phase detector (12 MHz / CLKI_DIV) >= 3.125 MHz.
156.25 MHz is 12 x 625 / 48, and the feedback divider stops at 80, so the nearest
reachable frequency is 12 x 13 = 156.000 MHz (-0.16 %, period 6.4103 ns): CLKI_DIV 1,
CLKFB_DIV 13, CLKOP_DIV 4 (VCO 624 MHz). The lab build runs slower until the whole
core routes at 156.25 (rtl/config.py says why and at what). The hardware clock's
`period` register is set to match by the lab software (docs/lab_board.md).
"""
from fractions import Fraction

from amaranth.hdl import Instance, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

REF_MHZ = 12.0


def dividers(mhz):
    """(CLKI_DIV, CLKFB_DIV, CLKOP_DIV, reached MHz) for the frequency nearest `mhz`
    (ties: the VCO nearest 600 MHz, mid-range); a clear error when nothing in range comes within 0.5 %."""
    best = None
    for clki in range(1, 129):
        if REF_MHZ / clki < 3.125:
            break
        for fb in range(1, 81):
            out = Fraction(12 * fb, clki)
            for op in range(1, 129):
                vco = out * op
                if 400 <= vco <= 800:
                    err = abs(float(out) - mhz)
                    key = (err, abs(float(vco) - 600))
                    if best is None or key < best[0]:
                        best = (key, (clki, fb, op, float(out)))
    if best is None or best[0][0] > mhz * 0.005:
        raise ValueError(f"the EHXPLLL cannot make {mhz} MHz from {REF_MHZ} MHz")
    return best[1]


class Pll(wiring.Component):
    clk_in: In(1)
    clk_out: Out(1)
    locked: Out(1)

    def __init__(self, mhz=156.0):
        self.clki_div, self.clkfb_div, self.clkop_div, self.mhz = dividers(mhz)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=str(REF_MHZ), a_FREQUENCY_PIN_CLKOP=f"{self.mhz:.6g}",
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
            p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
            p_CLKI_DIV=self.clki_div, p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=self.clkop_div,
            p_CLKOP_CPHASE=self.clkop_div - 1, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
            p_CLKFB_DIV=self.clkfb_div,
            i_CLKI=self.clk_in, i_CLKFB=self.clk_out, i_RST=0, i_STDBY=0,
            i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
            i_PLLWAKESYNC=0, i_ENCLKOP=0,
            o_CLKOP=self.clk_out, o_LOCK=self.locked)
        return m
