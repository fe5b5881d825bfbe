"""Native Verilator harness: beats recorded at the right cycle, registers, wide payloads, idle runs, server mode."""
import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tickwire.control.regmap import MAP_MAGIC, REGS
from tickwire.rtl.host.bus.axil import AxiLiteSignature, AxiLiteToCsr
from tickwire.rtl.config import BUILDS
from tickwire.rtl.host.csr import CsrBank
from tickwire.rtl.host.id_block import IdBlock
from tickwire.rtl.regmap.binding import assemble
from tickwire.rtl.regmap import MAP, MAP_VERSION
from tickwire.tools.build.harness import Idle, Repeat, build_native, encode_beats
from tickwire.tools.build.harness.protocol import IDLE_C, IDLE_D

MARK = 0xC0FFEE42
#: 248 bits: the beat, a free-running cycle count, a constant and the scratch register.
Echo = data.StructLayout({"d": 64, "c": 8, "cycle": 64, "mark": 32, "scratch": 32, "pad": 48})
FRAME_C = 0x01          # beats with this xgmii_c also go to small_out and bump COUNTER
#: Any 64-bit counter of the real map will do (the map grows while this is written).
COUNTER = next(p for p in MAP.registers() if p.item.kind == "counter")


class EchoTop(wiring.Component):
    """Development top: echoes every non-idle XGMII beat, one cycle later, on a wide stream."""
    xgmii_d: In(64)
    xgmii_c: In(8)
    s_axil: In(AxiLiteSignature())
    beat_out: Out(stream.Signature(Echo, always_ready=True))
    small_out: Out(stream.Signature(16))          # has a ready port: the harness must tie it

    def elaborate(self, platform):
        m = Module()
        m.submodules.bank = bank = CsrBank(MAP)
        m.submodules.axil = axil = AxiLiteToCsr()
        wiring.connect(m, wiring.flipped(self.s_axil), axil.axil)
        wiring.connect(m, axil.csr, bank.bus)
        m.submodules.ident = ident = IdBlock(MAP.hash, BUILDS["sim"].digest)
        m.d.comb += assemble(bank, {"id": ident}, partial=True)
        cycle = Signal(64)
        m.d.sync += cycle.eq(cycle + 1)
        out = self.beat_out
        m.d.sync += [out.valid.eq(self.xgmii_c != IDLE_C),
                     out.payload.d.eq(self.xgmii_d), out.payload.c.eq(self.xgmii_c),
                     out.payload.cycle.eq(cycle), out.payload.mark.eq(MARK),
                     out.payload.scratch.eq(bank.port("id.scratch").value),
                     out.payload.pad.eq(0xA5A5_0000_5A5A)]
        is_frame = self.xgmii_c == FRAME_C
        m.d.comb += bank.port(COUNTER.name).inc.eq(is_frame)
        # Held until accepted: without ready tied high every beat would repeat forever.
        s = self.small_out
        with m.If(s.valid & s.ready):
            m.d.sync += s.valid.eq(0)
        with m.If(is_frame):
            m.d.sync += [s.valid.eq(1), s.payload.eq(self.xgmii_d[:16])]
        return m


@pytest.fixture(scope="module")
def sim():
    return build_native(EchoTop(), "echo_top")


def random_traffic(rng, n_groups, long_idle=(8, 3000)):
    """Bursts of random non-idle beats separated by idle gaps (short ones stay in blocks)."""
    beats = []
    for _ in range(n_groups):
        for _ in range(rng.randrange(1, 12)):
            c = FRAME_C if rng.random() < 0.3 else rng.randrange(0, 0xFF)
            beats.append((rng.getrandbits(64), c))
        r = rng.random()
        if r < 0.4:
            beats += [(IDLE_D, IDLE_C)] * rng.randrange(0, 8)        # short, inline
        elif r < 0.8:
            beats.append(Idle(rng.randrange(*long_idle)))              # run-length record
        else:
            beats.append(Repeat(rng.randrange(8, 40), rng.getrandbits(64), 0x11))  # busy run
    return beats


def expand(beats):
    flat = []
    for b in beats:
        flat += [(b.d, b.c)] * b.n if isinstance(b, Repeat) else [b]
    return flat


def test_every_beat_recorded_at_its_cycle(sim):
    rng = random.Random(1)
    beats = random_traffic(rng, 400)
    flat = expand(beats)
    res = sim.run(beats, writes_before=[(REGS["id.scratch"].addr, 0x12345678)],
                  reads_after=[COUNTER.addr, COUNTER.addr + 4])
    want = [(k + 1, d, c) for k, (d, c) in enumerate(flat) if c != IDLE_C]
    got = [(cyc, f["d"], f["c"]) for cyc, f in sim.unpack_all(res, "beat_out")]
    assert len(want) > 1000 and got == want
    # The design's own cycle counter advances one per harness cycle: no skipped or extra clocks.
    offsets = {f["cycle"] - cyc for cyc, f in sim.unpack_all(res, "beat_out")}
    assert len(offsets) == 1
    assert all(f["scratch"] == 0x12345678 for _, f in sim.unpack_all(res, "beat_out"))
    # small_out: one beat per FRAME_C beat (ready tied high, so none repeats).
    frames = [(k + 1, d & 0xFFFF) for k, (d, c) in enumerate(flat) if c == FRAME_C]
    assert res["small_out"] == frames
    # Final register script: the 64-bit counter read LO then HI.
    (c_lo, a_lo, lo), (c_hi, a_hi, hi) = res.reads
    assert (a_lo, a_hi) == (COUNTER.addr, COUNTER.addr + 4)
    assert hi << 32 | lo == len(frames)
    assert len(flat) < c_lo < c_hi
    assert res.writes[0][0] < 0 and res.writes[0][1:] == (REGS["id.scratch"].addr, 0x12345678)


def test_wide_payload_unpacks(sim):
    d = 0xFEDCBA9876543210
    res = sim.run([Idle(10), (d, 0x5A), Idle(10)])
    [(cyc, v)] = res["beat_out"]
    assert cyc == 11 and v.bit_length() > 200
    f = sim.unpack("beat_out", v)
    assert (f["d"], f["c"], f["mark"], f["pad"]) == (d, 0x5A, MARK, 0xA5A5_0000_5A5A)
    assert sim.layout("beat_out") == Echo


def test_register_round_trip_and_timed_script(sim):
    scratch = REGS["id.scratch"].addr
    beats = [(i, 0x00) for i in range(300)]
    res = sim.run(beats, reads_before=[REGS["id.magic"].addr, REGS["id.map_hash"].addr],
                  script=[(100, "w", scratch, 0xDEADBEEF), (150, "r", scratch, 0),
                          (200, "r", COUNTER.addr, 0)],
                  reads_after=[scratch])
    (_, _, magic), (_, _, mhash), (t_r, _, mid), (_, _, frames), (_, _, end) = res.reads
    assert (magic, mhash) == (MAP_MAGIC, MAP.hash)
    assert mid == end == 0xDEADBEEF and frames == 0 and 150 <= t_r < 160
    [(t_w, _, _)] = res.writes
    assert 100 <= t_w < 110
    # The beat payload shows the write land between the script cycle and its response + 2.
    seen = [(cyc, f["scratch"]) for cyc, f in sim.unpack_all(res, "beat_out")]
    old = [cyc for cyc, s in seen if s == 0]
    new = [cyc for cyc, s in seen if s == 0xDEADBEEF]
    assert len(old) + len(new) == 300 and max(old) < min(new)
    assert 100 < min(new) <= t_w + 3


def test_idle_run_length_and_packed_bytes(sim):
    beats = [(1, 0), Idle(5_000_000), (2, 0), Repeat(3, 7, 0)]
    packed = encode_beats(beats)
    assert len(packed) < 100                # 5 M idle cycles in one record
    res = sim.run(packed, drain=4)
    assert [(c, sim.unpack("beat_out", v)["d"]) for c, v in res["beat_out"]] == \
        [(1, 1), (5_000_002, 2), (5_000_003, 7), (5_000_004, 7), (5_000_005, 7)]
    assert res.stats["beats"] == 5_000_005
    print(f"\nidle replay: {res.cycles_per_s / 1e6:.1f} M cycles/s")


def test_speed_on_busy_traffic(sim):
    """Dense random traffic (no run-length help): correctness checked, speed printed."""
    rng = random.Random(7)
    beats = [(rng.getrandbits(64), rng.choice((0x00, FRAME_C, 0xFF, 0x1F))) for _ in range(300_000)]
    res = sim.run(beats * 4, reads_after=[COUNTER.addr])
    n_valid = sum(c != IDLE_C for _, c in beats) * 4
    assert len(res["beat_out"]) == n_valid
    assert res.reads[0][2] == sum(c == FRAME_C for _, c in beats) * 4
    print(f"\nbusy replay: {res.stats['beats']} beats, {res.cycles_per_s / 1e6:.2f} M cycles/s")


def test_server_mode(sim):
    with sim.serve() as card:
        assert card.read32(REGS["id.magic"].addr) == MAP_MAGIC
        card.write32(REGS["id.scratch"].addr, 0x0BADF00D)
        assert card.read32(REGS["id.scratch"].addr) == 0x0BADF00D
        assert card.read_burst(0, 3) == [MAP_MAGIC, MAP_VERSION, MAP.hash]
        card.write_burst(REGS["id.scratch"].addr, [0x1111])
        assert card.read32(REGS["id.scratch"].addr) == 0x1111
        cyc0, _ = card.cycle()
        assert card.push([(0xAB, FRAME_C), Idle(3), (0xCD, 0x00)]) == 5
        assert card.run(10) == cyc0 + 10
        out = card.fetch()
        assert [(c - cyc0, sim.unpack("beat_out", v)["d"]) for c, v in out["beat_out"]] == \
            [(1, 0xAB), (5, 0xCD)]
        assert [(c - cyc0, v) for c, v in out["small_out"]] == [(1, 0xAB)]
        assert card.fetch() == {"beat_out": [], "small_out": []}
        assert card.read32(COUNTER.addr) == 1


def test_real_top_registers():
    """The product top (whatever streams it has today) builds and answers on the bus."""
    from tickwire.rtl.top import TickwireCore
    sim = build_native(TickwireCore(), "tw_core")
    res = sim.run([Idle(100)], reads_after=[REGS["id.magic"].addr, REGS["id.map_hash"].addr])
    assert [v for _, _, v in res.reads] == [MAP_MAGIC, MAP.hash]


def test_server_on_a_socket_path(sim, tmp_path):
    """`twsim --serve PATH`: the form `tickwire simulate` uses for a card other processes reach."""
    import subprocess
    from tickwire.tools.build.harness import SimClient
    path = tmp_path / "card.sock"
    proc = subprocess.Popen([str(sim.exe), "--serve", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == f"listening {path}"
        with SimClient.connect(path, sim) as card:      # close() sends 'q': the server exits
            card.write32(REGS["id.scratch"].addr, 77)
            assert card.read32(REGS["id.scratch"].addr) == 77
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_bad_input_is_an_error_not_a_hang(sim):
    from tickwire.tools.build.harness import NativeSimError
    good = encode_beats([(i, 0) for i in range(20)])
    with pytest.raises(NativeSimError, match="short beat block"):
        sim.run(good[:30])
    with pytest.raises(NativeSimError, match="bad beats header"):
        sim.run(b"nope")
