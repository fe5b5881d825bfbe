"""The lab board's core clock: the 12 MHz oscillator through an ECP5 EHXPLLL.

156.25 MHz is 12 MHz x 13.02083 = 12 x 625 / 48, and the EHXPLLL's feedback divider
stops at 80, so the nearest reachable frequency is 12 x 13 = 156.000 MHz (-0.16 %,
period 6.4103 ns): CLKI_DIV 1, CLKFB_DIV 13, CLKOP_DIV 4 (VCO 624 MHz, in its
400-800 MHz range). The hardware clock's `period` register is set to match by the
lab software (clock.period = 6.41026 ns in 8.32 fixed point).
"""
from amaranth.hdl import Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

REF_MHZ = 12.0
CLKI_DIV, CLKFB_DIV, CLKOP_DIV = 1, 13, 4
CORE_MHZ = REF_MHZ * CLKFB_DIV / CLKI_DIV          # 156.0
VCO_MHZ = CORE_MHZ * CLKOP_DIV                     # 624.0


class Pll(wiring.Component):
    clk_in: In(1)
    clk_out: Out(1)
    locked: Out(1)

    def elaborate(self, platform):
        m = Module()
        assert 400 <= VCO_MHZ <= 800
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI=str(REF_MHZ), a_FREQUENCY_PIN_CLKOP=str(CORE_MHZ),
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
            a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
            p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
            p_CLKI_DIV=CLKI_DIV, p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=CLKOP_DIV,
            p_CLKOP_CPHASE=CLKOP_DIV - 1, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
            p_CLKFB_DIV=CLKFB_DIV,
            i_CLKI=self.clk_in, i_CLKFB=self.clk_out, i_RST=0, i_STDBY=0,
            i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
            i_PLLWAKESYNC=0, i_ENCLKOP=0,
            o_CLKOP=self.clk_out, o_LOCK=self.locked)
        return m
