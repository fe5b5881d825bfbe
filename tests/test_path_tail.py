"""path_tail: longest register-to-register paths from an SDF, checked by hand.

The SDF below is what nextpnr writes (TIMESCALE 1ps, min:typ:max triples, SETUPHOLD
with the setup first): two launching registers, a LUT and a carry cell between them
and two capturing ones. The arrivals are summed here by hand, not by the tool.
"""
from tickwire.tools.build.path_tail import Timing, block_of, parse_sexpr, report

SDF = r"""
(DELAYFILE (SDFVERSION "3.0") (DESIGN "top") (DIVIDER /) (TIMESCALE 1ps)
  (CELL (CELLTYPE "top") (INSTANCE )
    (DELAY (ABSOLUTE
      (INTERCONNECT a_TRELLIS_FF_Q/Q x_LUT4_Z/A (100:150:200) (100:150:200))
      (INTERCONNECT b_TRELLIS_FF_Q_3/Q x_LUT4_Z/B (300:350:400) (300:350:400))
      (INTERCONNECT x_LUT4_Z/F c\$CCU2_COMB0/A (50:60:70) (50:60:70))
      (INTERCONNECT c\$CCU2_COMB0/FCO c\$CCU2_COMB1/FCI (0:0:0) (0:0:0))
      (INTERCONNECT c\$CCU2_COMB1/F q_TRELLIS_FF_Q_7/DI (80:90:100) (80:90:100))
      (INTERCONNECT a_TRELLIS_FF_Q/Q r_TRELLIS_FF_Q/DI (20:25:30) (20:25:30)))))
  (CELL (CELLTYPE "TRELLIS_FF") (INSTANCE a_TRELLIS_FF_Q)
    (DELAY (ABSOLUTE (IOPATH CLK Q (257:283:309) (257:283:309)))))
  (CELL (CELLTYPE "TRELLIS_FF") (INSTANCE b_TRELLIS_FF_Q_3)
    (DELAY (ABSOLUTE (IOPATH CLK Q (257:283:309) (257:283:309)))))
  (CELL (CELLTYPE "TRELLIS_COMB") (INSTANCE x_LUT4_Z)
    (DELAY (ABSOLUTE (IOPATH A F (100:120:141) (100:120:141))
                     (IOPATH B F (100:120:141) (100:120:141)))))
  (CELL (CELLTYPE "TRELLIS_COMB") (INSTANCE c\$CCU2_COMB0)
    (DELAY (ABSOLUTE (IOPATH A FCO (200:230:260) (200:230:260)))))
  (CELL (CELLTYPE "TRELLIS_COMB") (INSTANCE c\$CCU2_COMB1)
    (DELAY (ABSOLUTE (IOPATH FCI F (100:110:120) (100:110:120)))))
  (CELL (CELLTYPE "TRELLIS_FF") (INSTANCE q_TRELLIS_FF_Q_7)
    (TIMINGCHECK (SETUPHOLD (posedge DI) (posedge CLK) (10:15:20) (166:173:181))))
  (CELL (CELLTYPE "TRELLIS_FF") (INSTANCE r_TRELLIS_FF_Q)
    (TIMINGCHECK (SETUPHOLD (posedge DI) (posedge CLK) (0:0:0) (166:173:181)))))
"""


def test_worst_path_is_the_slow_corner_sum():
    ends = Timing(parse_sexpr(SDF)).endpoints()
    t, end, path = ends[0]
    # b launches later into the LUT: 309 + 400 + 141 + 70 + 260 + 0 + 120 + 100 + 20
    assert abs(t - 1.420) < 1e-9
    assert end == "q_TRELLIS_FF_Q_7/DI" and path[0] == "b_TRELLIS_FF_Q_3/Q"
    assert path == ["b_TRELLIS_FF_Q_3/Q", "x_LUT4_Z/B", "x_LUT4_Z/F", "c$CCU2_COMB0/A",
                    "c$CCU2_COMB0/FCO", "c$CCU2_COMB1/FCI", "c$CCU2_COMB1/F",
                    "q_TRELLIS_FF_Q_7/DI"]
    # the short one: 309 + 30 + 0
    assert [(round(x, 3), e) for x, e, _ in ends[1:]] == [(0.339, "r_TRELLIS_FF_Q/DI")]


def test_report_groups_endpoints_over_the_period():
    text = report(Timing(parse_sexpr(SDF)), period=1.0, show=5, path_re="-> q_")
    assert text.splitlines()[0] == "endpoints 2, over 1.0 ns: 1; worst 1.420 ns (704.23 MHz)"
    assert "      1   1.420  b -> q" in text
    assert "r_TRELLIS_FF_Q/DI" in text                  # listed among the worst, not over
    assert "    0.709  x_LUT4_Z/B" in text              # the hop-by-hop path


def test_block_names_drop_the_mapping_suffixes():
    assert block_of("seq.e_TRELLIS_FF_Q_59/DI") == "seq.e"
    assert block_of("seq.head_a.waits_LUT4_C/F") == "seq.head_a.waits"
    assert block_of("seq.d$139_CCU2C_S1_4$CCU2_COMB0/FCO") == "seq.d$139"
