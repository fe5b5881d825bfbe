"""The one interface every device path implements: 32-bit register reads and writes.

Why a tiny interface: the control plane (daemon, CLI, tests) must not care whether
the card is a real PCIe board, a UART-attached dev board, the RTL running in a
simulator or the pure-Python model. Everything above speaks byte addresses of the
register map (control/regmap.py) and 32-bit words; 64-bit values are read LO first
(the bank latches HI on the LO read, so the pair is never torn).
"""
from array import array

_U32_ARRAY = array("I").itemsize == 4     # then array("I", words) range-checks 32-bit words


class TransportError(OSError):
    """Any failure to reach the device or a bad access (the message says which)."""


class Transport:
    """Base class: subclasses implement `_read32`/`_write32` (and may speed up bursts)."""

    name = "transport"
    size = 0x10000          # bytes of register space (the map's address space)

    def __init__(self):
        self._closed = False

    # -- checks shared by every transport ---------------------------------------------
    def _check(self, addr, n=1):
        if not isinstance(addr, int) or isinstance(addr, bool):
            raise TransportError(f"{self.name}: address must be an int, not {type(addr).__name__}")
        if addr & 3:
            raise TransportError(f"{self.name}: unaligned address 0x{addr:x} (32-bit accesses need addr % 4 == 0)")
        if n < 0 or addr < 0 or addr + 4 * n > self.size:
            raise TransportError(f"{self.name}: access 0x{addr:x}+{4 * n} bytes outside the "
                                 f"0x{self.size:x}-byte register space")
        if self._closed:
            raise TransportError(f"{self.name}: transport is closed")

    @staticmethod
    def _word(value):
        if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            raise TransportError(f"value {value!r} is not a 32-bit unsigned word")
        return value

    # -- the interface ------------------------------------------------------------------
    def read32(self, addr):
        self._check(addr)
        return self._read32(addr)

    def write32(self, addr, value):
        self._check(addr)
        self._write32(addr, self._word(value))

    def read_burst(self, addr, n):
        """n consecutive words from addr (addr, addr+4, ...), in order."""
        self._check(addr, n)
        return self._read_burst(addr, n)

    def write_burst(self, addr, words):
        words = list(words)
        try:
            array("I", words)           # C-speed check: every word an int in 0..2^32-1
            ok = _U32_ARRAY
        except (TypeError, OverflowError):
            ok = False
        if not ok:
            words = [self._word(w) for w in words]      # names the first bad word
        self._check(addr, len(words))
        self._write_burst(addr, words)

    def read64(self, addr):
        """A 64-bit register, LO then HI (tear-free through the bank's shadow)."""
        lo = self.read32(addr)
        return self.read32(addr + 4) << 32 | lo

    def close(self):
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- to implement -------------------------------------------------------------------
    def _read32(self, addr):
        raise NotImplementedError

    def _write32(self, addr, value):
        raise NotImplementedError

    def _read_burst(self, addr, n):
        return [self._read32(addr + 4 * i) for i in range(n)]

    def _write_burst(self, addr, words):
        for i, w in enumerate(words):
            self._write32(addr + 4 * i, w)

    def _close(self):
        pass
