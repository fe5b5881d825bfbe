"""`pcie:BDF`: the card's register BAR (BAR0) mapped into this process.

The kernel exposes each BAR of a PCI function as /sys/bus/pci/devices/<BDF>/resource0
(BDF like 0000:03:00.0). We mmap it shared and access it through
`memoryview.cast("I")`, so every access is one aligned 32-bit load or store done at
the moment it is asked for (no caching, no read-modify-write of neighbours), which is
what the CSR bank's read-latches-shadow and write-strobes semantics need.

Operations notes:
  - resource0 is root-only (0600). Either run as root, or add a udev rule for the
    card's vendor/device ID that gives a group access, e.g.
      SUBSYSTEM=="pci", ATTR{vendor}=="0x1234", RUN+="/bin/chgrp tickwire %S%p/resource0", RUN+="/bin/chmod 0660 %S%p/resource0"
  - the device's memory decoding must be enabled: `echo 1 > /sys/bus/pci/devices/<BDF>/enable`
    (or bind any driver that enables it); with Secure Boot kernel lockdown, mapping
    resource files may be refused: use VFIO then.
  - VFIO (no root needed once set up, IOMMU-isolated): bind the function to vfio-pci,
    give ops the /dev/vfio/<group> node, and mmap the device fd at the offset that
    VFIO_DEVICE_GET_REGION_INFO reports for region 0. Pass that file via `path=`
    only if the offset is 0; otherwise a VFIO transport is needed (not provided).
  - UIO: uio_pci_generic exposes no BAR maps (it is for interrupts); a card-specific
    UIO driver would expose the BAR as /dev/uioN map 0, which `path=` can point at.
Tests use `path=` with a plain file of the BAR's size as a stand-in.
"""
import mmap
import os

from .base import Transport, TransportError


class PcieTransport(Transport):
    name = "pcie"

    def __init__(self, bdf, path=None, size=None):
        super().__init__()
        self.bdf = bdf
        self.path = str(path or f"/sys/bus/pci/devices/{bdf}/resource0")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_SYNC)
        except PermissionError:
            raise TransportError(f"pcie: permission denied on {self.path} (run as root or add "
                                 "a udev rule: see tickwire.control.transport.pcie)") from None
        except FileNotFoundError:
            raise TransportError(f"pcie: no such device {bdf!r} ({self.path} not found; "
                                 "BDF looks like 0000:03:00.0, see lspci -D)") from None
        except OSError as exc:
            raise TransportError(f"pcie: cannot open {self.path}: {exc.strerror}") from None
        try:
            bar = os.fstat(fd).st_size
            self.size = size if size is not None else bar
            if self.size < 4 or self.size % 4 or (bar and self.size > bar):
                raise TransportError(f"pcie: {self.path}: bad BAR size {self.size} (file has {bar})")
            try:
                self._mm = mmap.mmap(fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            except OSError as exc:
                raise TransportError(f"pcie: cannot map {self.path}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)
        self._words = memoryview(self._mm).cast("I")

    def _read32(self, addr):
        return self._words[addr >> 2]

    def _write32(self, addr, value):
        self._words[addr >> 2] = value

    def _close(self):
        self._words.release()
        self._mm.close()
