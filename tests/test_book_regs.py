"""Every register of the book block has its like-named OrderBook port (csr.wire_block)."""
from amaranth.lib import wiring

from tickwire.rtl.book import OrderBook
from tickwire.rtl.host.csr import CsrBank, wire_block
from tickwire.rtl.regmap import MAP


def _book(**kw):
    book = OrderBook(**kw)
    book._MustUse__silence = True          # only its ports are inspected here
    return book


def test_wire_block_covers_book_registers():
    book = _book(slots=4, orders=64, levels=4, top_n=2, locate_bits=6)
    stmts = wire_block(CsrBank(MAP), "book", book)
    names = {p.name for p in MAP.registers() if p.block == "book"}
    assert MAP.by_name("book.sub_locate").addr == 0x1000
    # one statement per register, two per strobe (pulse and data)
    strobes = {n for n in names if MAP.by_name(n).item.kind == "strobe"}
    assert len(stmts) == len(names) + len(strobes)
    # and no register-style port of the component is left out of the map
    ports = {n for n in book.signature.members
             if n.split("_")[0] in ("ev", "st", "ctl", "stb") and not n.endswith("_data")}
    assert {"book." + n.split("_", 1)[1] for n in ports} == names


def test_status_widths_fit_registers():
    book = _book(slots=64, orders=64, levels=4, top_n=2, locate_bits=6)
    for p in MAP.registers():
        if p.block == "book" and p.item.kind == "status":
            port = getattr(book, "st_" + p.item.name)
            assert len(port) <= p.item.width, p.name
    assert isinstance(book.signature, wiring.Signature)
