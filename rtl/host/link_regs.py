"""Host links (rtl/host/pcie/, rtl/host/uart/): what each register bridge did with its requests.

Counters only: a bad request from the host is answered or dropped and counted here,
never allowed to wedge the bridge. Both links share one block so ops find them together.
"""
from ..regmap.dsl import Block, Reg

_DOC = "Host links: PCIe BAR0 completer and UART register bridge."
_ITEMS = (
    Reg("pcie_reads", "counter", "BAR0 memory reads completed successfully (1 or 2 dwords)."),
    Reg("pcie_writes", "counter", "BAR0 memory writes applied (1 or 2 dwords)."),
    Reg("pcie_unsupported", "counter", "Non-posted requests answered with Unsupported Request: "
        "I/O, atomics, locked reads, reads longer than 2 dwords, bad byte enables, other BARs "
        "or addresses outside the register space."),
    Reg("pcie_dropped", "counter", "Posted requests dropped: messages, writes longer than 2 "
        "dwords, sub-dword writes, other BARs, out-of-range addresses, truncated or "
        "discontinued TLPs."),
    Reg("uart_reads", "counter", "UART read and burst-read frames answered OK."),
    Reg("uart_writes", "counter", "UART write frames applied."),
    Reg("uart_bad_frames", "counter", "UART frames rejected: bad checksum, unknown command "
        "or bad burst length."),
    Reg("uart_bad_addr", "counter", "UART frames rejected for a misaligned or out-of-range "
        "address."),
    Reg("uart_timeouts", "counter", "UART frames abandoned because the line went idle "
        "mid-frame."),
    Reg("uart_noise", "counter", "UART bytes outside a frame (not the start byte) and "
        "bytes with a framing (stop-bit) error."),
)
#: The registers each bridge owns; the map's `link` block is both, PCIe first.
PCIE = Block("link", _DOC, tuple(r for r in _ITEMS if r.name.startswith("pcie_")))
UART = Block("link", _DOC, tuple(r for r in _ITEMS if r.name.startswith("uart_")))
BLOCK = Block("link", _DOC, _ITEMS)
