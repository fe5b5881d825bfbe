"""Transports against the in-process ModelCard: ID block, scratch, wide registers, windows, errors."""
import pytest

from tickwire.control.regmap import MAP_HASH, MAP_MAGIC, MAP_VERSION, REGS, WINDOWS
from tickwire.control.transport import Transport, TransportError, open_device
from tickwire.model.card import ModelCard
from tickwire.rtl.config import BUILDS
from tickwire.model.limits import Account, Limits, Symbol, encode
from tickwire.control.regmap import CLOCK_CMD_SNAPSHOT

SIM = BUILDS["sim"]          # the build the tests' cards run (rtl/config.py)


def addr(name):
    return REGS[name].addr


@pytest.fixture
def dev():
    with open_device("model", card=ModelCard()) as d:
        yield d


def test_id_block_and_scratch(dev):
    assert isinstance(dev, Transport)
    assert dev.read32(addr("id.magic")) == MAP_MAGIC == 0x544B5752
    assert dev.read32(addr("id.map_version")) == MAP_VERSION
    assert dev.read32(addr("id.map_hash")) == MAP_HASH
    assert dev.read_burst(addr("id.magic"), 3) == [MAP_MAGIC, MAP_VERSION, MAP_HASH]
    assert dev.read32(addr("id.scratch")) == 0
    for v in (0xDEADBEEF, 0, 0xFFFFFFFF, 0x12345678):
        dev.write32(addr("id.scratch"), v)
        assert dev.read32(addr("id.scratch")) == v


def test_wide_counter_is_tear_free():
    counters = {"mac_a.frames_ok": 0x1_FFFF_FFFF}
    card = ModelCard(counters=counters)
    with open_device("model", card=card) as dev:
        a = addr("mac_a.frames_ok")
        lo = dev.read32(a)                       # latches HI = 1
        counters["mac_a.frames_ok"] += 1         # the count carries between the two reads
        hi = dev.read32(a + 4)
        assert (hi << 32 | lo) == 0x1_FFFF_FFFF  # the value at the LO read, not a torn mix
        assert dev.read64(a) == 0x2_0000_0000
        counters["itch.msgs[3]"] = 42
        assert dev.read64(addr("itch.msgs[3]")) == 42


def test_wide_control_commits_on_hi(dev):
    a = addr("clock.period")
    reset = REGS["clock.period"].reset
    assert dev.read64(a) == reset
    dev.write32(a, 0x11111111)                   # LO only stages
    assert dev.read64(a) == reset
    dev.write32(a + 4, 0x7)                      # HI commits both halves
    assert dev.read64(a) == 0x7_11111111
    dev.write_burst(a, [0x22222222, 0x1FF])      # masked to the register's 40 bits
    assert dev.read64(a) == 0xFF_22222222


def test_limits_window_shadow_and_commit(dev):
    w = WINDOWS["risk.acct_limits"]
    lim = Limits([Symbol("AAPL", max_qty=100)], [Account("A", enabled=True, max_notional=1 << 40)])
    img = encode(lim, accounts=SIM.risk_accounts, slots=SIM.risk_slots)["acct_limits"]
    assert len(img) == w.words
    dev.write_burst(w.addr, img)
    assert dev.read_burst(w.addr, w.words) == img          # reads return the shadow bank
    status = dev.read32(addr("risk.status"))
    dev.write32(addr("risk.commit"), 1)
    assert dev.read32(addr("risk.status")) == status ^ 4   # active bank flipped
    assert dev.read_burst(w.addr, 8) == [0] * 8            # shadow now holds the old (empty) set


def test_bounds_and_alignment(dev):
    with pytest.raises(TransportError, match="unaligned"):
        dev.read32(2)
    with pytest.raises(TransportError, match="outside"):
        dev.read32(0x10000)
    with pytest.raises(TransportError, match="outside"):
        dev.read_burst(0xFFFC, 2)
    with pytest.raises(TransportError, match="32-bit"):
        dev.write32(0x10, 1 << 32)
    dev.close()
    with pytest.raises(TransportError, match="closed"):
        dev.read32(0)


@pytest.mark.parametrize("spec, msg", [
    ("", "non-empty"), ("bogus", "unknown device spec"), ("model:x", "no argument"),
    ("sim:tcp:1", "sim:unix:PATH"), ("sim:unix:", "sim:unix:PATH"), ("pcie:", "pcie:BDF"),
    ("uart:", "uart:URL"), ("pcie:0000:ff:1f.7", "no such device"),
    ("sim:unix:/nonexistent/tw.sock", "cannot connect"),
])
def test_bad_specs(spec, msg):
    with pytest.raises(TransportError, match=msg):
        open_device(spec)


def test_model_realtime_clock_advances():
    with open_device("model") as dev:            # default: cycle counter follows wall time
        cmd = addr("clock.cmd")
        dev.write32(cmd, CLOCK_CMD_SNAPSHOT)
        t0 = dev.read64(addr("clock.snap_sec")) * 10**9 + dev.read32(addr("clock.snap_ns"))
        import time
        time.sleep(0.05)
        dev.write32(cmd, CLOCK_CMD_SNAPSHOT)
        t1 = dev.read64(addr("clock.snap_sec")) * 10**9 + dev.read32(addr("clock.snap_ns"))
        assert 0.04e9 < t1 - t0 < 5e9
