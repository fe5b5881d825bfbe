"""uart transport over pyserial's socket:// URL, against the bridge reference model on a ModelCard."""
import socket
import sys
import threading

import pytest

from tickwire.control.regmap import MAP_MAGIC, MAP_VERSION, REGS
from tickwire.control.transport import TransportError, open_device
from tickwire.model.card import ModelCard


@pytest.fixture
def bridge():
    """A TCP server speaking the bridge protocol (tickwire.model.uart.BridgeModel)."""
    uart_model = pytest.importorskip("tickwire.model.uart")
    pytest.importorskip("tickwire.rtl.host.uart.protocol")
    card = ModelCard()
    model = uart_model.BridgeModel(card.read32, card.write32)
    ls = socket.create_server(("127.0.0.1", 0))
    ls.settimeout(10)

    def serve():
        try:
            conn, _ = ls.accept()
        except OSError:
            return
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                out = model.feed(data)
                if out:
                    conn.sendall(out)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"socket://127.0.0.1:{ls.getsockname()[1]}", card, model
    ls.close()
    t.join(timeout=10)


def test_round_trips(bridge):
    url, card, model = bridge
    with open_device(f"uart:{url}", timeout=5) as dev:
        assert dev.read32(REGS["id.magic"].addr) == MAP_MAGIC
        dev.write32(REGS["id.scratch"].addr, 0xA5A55A5A)
        assert card.reg("id.scratch") == 0xA5A55A5A
        assert dev.read32(REGS["id.scratch"].addr) == 0xA5A55A5A
        words = dev.read_burst(0, 40)                       # > MAX_BURST: chunked
        assert words[:2] == [MAP_MAGIC, MAP_VERSION] and len(words) == 40
        dev.write_burst(REGS["id.scratch"].addr, [7])
        assert dev.read32(REGS["id.scratch"].addr) == 7
        with pytest.raises(TransportError, match="unaligned"):
            dev.read32(2)
    assert model.counts["bad_frames"] == 0


def test_missing_protocol_module_refuses(monkeypatch):
    monkeypatch.setitem(sys.modules, "tickwire.rtl.host.uart.protocol", None)   # import fails
    with pytest.raises(TransportError, match="uart: protocol module not available"):
        open_device("uart:socket://127.0.0.1:1")


def test_unreachable_url_is_a_transport_error():
    pytest.importorskip("tickwire.rtl.host.uart.protocol")
    with pytest.raises(TransportError, match="cannot open"):
        open_device("uart:socket://127.0.0.1:1")


def test_default_rate_is_the_bridge_rate_and_at_overrides(monkeypatch):
    """The board's bridge runs at 3 Mbaud (tests/test_pll.py); a pyserial default of
    115200 would time out on every request."""
    import serial
    from tickwire.control.transport import uart
    seen = []

    def fake(url, baudrate, timeout):
        seen.append((url, baudrate))
        return object()
    monkeypatch.setattr(serial, "serial_for_url", fake)
    open_device("uart:/dev/ttyUSB1")
    open_device("uart:/dev/ttyUSB1@115200")
    open_device("uart:rfc2217://user@host:4000")
    assert seen == [("/dev/ttyUSB1", uart.BAUD), ("/dev/ttyUSB1", 115200),
                    ("rfc2217://user@host:4000", uart.BAUD)]
    assert uart.BAUD == 3_000_000
    with pytest.raises(TransportError, match="bad uart rate"):
        open_device("uart:/dev/ttyUSB1@fast")
