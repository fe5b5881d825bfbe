"""Device transports: one `Transport` API (read32/write32/bursts) over every path to a card.

    with open_device("model") as dev:            # in-process ModelCard
    with open_device("sim:unix:/tmp/tw.sock")    # `tickwire simulate --listen unix:...`
    with open_device("pcie:0000:03:00.0")        # BAR0 via sysfs resource0 (path= override)
    with open_device("uart:/dev/ttyUSB0")        # UART bridge, 3 Mbaud (@BAUD; socket:// too)
        dev.read32(REGS["id.magic"].addr)
"""
from .base import Transport, TransportError

__all__ = ["open_device", "Transport", "TransportError"]

SPECS = "model, sim:unix:PATH, pcie:BDF, uart:URL[@BAUD]"


def open_device(spec, **kw):
    """A Transport for `spec`; keyword arguments go to the transport (e.g. pcie path=,
    model card=, sim timeout=). Raises TransportError for a bad spec or an unreachable device."""
    if not isinstance(spec, str) or not spec:
        raise TransportError(f"device spec must be a non-empty string ({SPECS})")
    kind, _, rest = spec.partition(":")
    if kind == "model":
        if rest:
            raise TransportError(f"model takes no argument, got {spec!r}")
        from .model import ModelTransport
        return ModelTransport(**kw)
    if kind == "sim":
        scheme, _, path = rest.partition(":")
        if scheme != "unix" or not path:
            raise TransportError(f"bad sim spec {spec!r}: expected sim:unix:PATH")
        from .sim import SimTransport
        return SimTransport(path, **kw)
    if kind == "pcie":
        if not rest:
            raise TransportError(f"bad pcie spec {spec!r}: expected pcie:BDF (e.g. pcie:0000:03:00.0)")
        from .pcie import PcieTransport
        return PcieTransport(rest, **kw)
    if kind == "uart":
        if not rest:
            raise TransportError(f"bad uart spec {spec!r}: expected uart:URL")
        from .uart import open_uart
        return open_uart(rest, **kw)
    raise TransportError(f"unknown device spec {spec!r} (one of {SPECS})")
