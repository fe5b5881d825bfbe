"""Hardware order book: ItchMsg in, BBO and top-N updates out (see order_book.py)."""
from .order_book import OrderBook  # noqa: F401
