"""Order churn helpers for generated book feeds: a reduction or delete appended to a
message list and followed in the generator's live-order map, so every random book
test tracks shares the same way (an order reduced to zero leaves the map).

`live` maps an order reference to a list whose index 2 is its shares left.
"""
from tickwire.model.book import Msg


def reduce_order(msgs, live, loc, oref, kind, shares, price=0):
    """Append an E, C or X of `shares` on `oref`; drop it from `live` at zero."""
    msgs.append(Msg(ord(kind), loc, oref=oref, shares=shares, price=price))
    live[oref][2] -= shares
    if live[oref][2] <= 0:
        live.pop(oref)


def delete_order(msgs, live, loc, oref):
    """Append a D of `oref`; returns its live entry."""
    msgs.append(Msg(ord("D"), loc, oref=oref))
    return live.pop(oref)
