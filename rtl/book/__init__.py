"""Hardware order book: ItchMsg in, BBO and top-N updates out (see order_book.py),
behind its type filter and input queue (book_input.py)."""
from .book_input import BookInput  # noqa: F401
from .order_book import OrderBook  # noqa: F401
