"""Every register of the book block is bound to a port of its owner (OrderBook, or
BookInput for the input queue's counter) by the register assembly (regmap.binding)."""
from amaranth.lib import wiring

from tickwire.rtl.book import BookInput, OrderBook
from tickwire.rtl.host.csr import CsrBank
from tickwire.rtl.regmap import MAP
from tickwire.rtl.regmap.binding import assemble


def _book(**kw):
    book = OrderBook(**kw)
    book._MustUse__silence = True          # only its ports are inspected here
    return book


def _input():
    q = BookInput()
    q._MustUse__silence = True
    return q


def test_assembly_covers_book_registers():
    book = _book(slots=4, orders=64, levels=4, top_n=2, locate_bits=6)
    stmts = assemble(CsrBank(MAP), {"book": [book, _input()]}, partial=True)
    names = {p.name for p in MAP.registers() if p.block == "book"}
    assert MAP.by_name("book.sub_locate").addr == 0x1000
    # one statement per register, two per strobe (pulse and data)
    strobes = {n for n in names if MAP.by_name(n).item.kind == "strobe"}
    assert len(stmts) == len(names) + len(strobes)
    # and no register-style port of the components is left out of the map
    ports = {n for c in (book, _input()) for n in c.signature.members
             if n.split("_")[0] in ("ev", "st", "ctl", "stb") and not n.endswith("_data")}
    assert {"book." + n.split("_", 1)[1] for n in ports} == names


def test_status_widths_fit_registers():
    book = _book(slots=64, orders=64, levels=4, top_n=2, locate_bits=6)
    for p in MAP.registers():
        if p.block == "book" and p.item.kind == "status":
            port = getattr(book, "st_" + p.item.name)
            assert len(port) <= p.item.width, p.name
    assert isinstance(book.signature, wiring.Signature)
