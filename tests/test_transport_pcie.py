"""pcie transport against a file-backed BAR stand-in: aligned 32-bit words, bounds, errors."""
import os
import struct

import pytest

from tickwire.control.transport import TransportError, open_device

BAR = 0x10000


@pytest.fixture
def bar(tmp_path):
    path = tmp_path / "resource0"
    path.write_bytes(bytes(BAR))
    return path


def test_words_land_little_endian_at_their_offset(bar):
    with open_device("pcie:0000:03:00.0", path=bar) as dev:
        assert dev.size == BAR
        dev.write32(0x10, 0xDEADBEEF)
        dev.write32(BAR - 4, 0x01020304)
        dev.write_burst(0x100, [1, 2, 3])
        assert dev.read32(0x10) == 0xDEADBEEF
        assert dev.read_burst(0x100, 4) == [1, 2, 3, 0]
        raw = bar.read_bytes()                     # MAP_SHARED: visible through the file
        assert raw[0x10:0x14] == struct.pack("<I", 0xDEADBEEF)
        assert raw[0x0C:0x10] == bytes(4) and raw[0x14:0x18] == bytes(4)   # neighbours untouched
        assert raw[-4:] == bytes([4, 3, 2, 1])
        with open(bar, "r+b") as fp:               # "device" side changes are seen at once
            fp.seek(0x20)
            fp.write(struct.pack("<I", 0xCAFEF00D))
        assert dev.read32(0x20) == 0xCAFEF00D


def test_unaligned_and_out_of_range_are_clear_errors(bar):
    with open_device("pcie:0000:03:00.0", path=bar) as dev:
        with pytest.raises(TransportError, match="unaligned address 0x3"):
            dev.read32(3)
        with pytest.raises(TransportError, match="unaligned"):
            dev.write32(0x102, 1)
        with pytest.raises(TransportError, match="outside the 0x10000-byte"):
            dev.read32(BAR)
        with pytest.raises(TransportError, match="outside"):
            dev.write_burst(BAR - 4, [1, 2])
        with pytest.raises(TransportError, match="outside"):
            dev.read32(-4)
        assert bar.read_bytes() == bytes(BAR)      # nothing was written by the failed calls


def test_size_override_and_bad_files(tmp_path, bar):
    with open_device("pcie:x", path=bar, size=0x100) as dev:
        with pytest.raises(TransportError, match="outside the 0x100-byte"):
            dev.read32(0x100)
    with pytest.raises(TransportError, match="bad BAR size"):
        open_device("pcie:x", path=bar, size=2 * BAR)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(TransportError, match="bad BAR size"):
        open_device("pcie:x", path=empty)
    with pytest.raises(TransportError, match="no such device"):
        open_device("pcie:x", path=tmp_path / "missing")


def test_permission_error_names_the_fix(bar, monkeypatch):
    def denied(path, flags):                       # what a non-root user gets on resource0
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(TransportError, match="permission denied.*udev"):
        open_device("pcie:x", path=bar)
