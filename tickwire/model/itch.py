"""Nasdaq TotalView-ITCH 5.0 reference model, written from the public specification.

Deliberately independent of the gateware (no tables shared with rtl/rx/itch): a
shared table would hide a shared bug. Every message starts with the same 11-byte
header (type, stock locate, tracking number, 48-bit nanosecond timestamp); all
integers are big-endian, prices are 1/10000 USD (Price(4)) or 1/100000000 (Price(8)).
"""
import gzip
from pathlib import Path

# kinds: "alpha" (ASCII, right-padded with spaces), "int" (unsigned big-endian),
# "price4"/"price8" (unsigned fixed point, kept as integers here), "char" (1 ASCII byte).
_HEADER = (("type", 0, 1, "char"), ("locate", 1, 2, "int"), ("tracking", 3, 2, "int"),
           ("timestamp", 5, 6, "int"))


def _body(*fields):
    """Body fields laid out back to back from offset 11, as the spec lists them."""
    out, off = [], 11
    for name, width, kind in fields:
        out.append((name, off, width, kind))
        off += width
    return tuple(out)


#: type -> body fields (name, offset, width, kind), in spec order (section 1.x).
BODIES = {
    "S": _body(("event_code", 1, "char")),
    "R": _body(("stock", 8, "alpha"), ("market_category", 1, "char"),
               ("financial_status", 1, "char"), ("round_lot_size", 4, "int"),
               ("round_lots_only", 1, "char"), ("issue_classification", 1, "char"),
               ("issue_subtype", 2, "alpha"), ("authenticity", 1, "char"),
               ("short_sale_threshold", 1, "char"), ("ipo_flag", 1, "char"),
               ("luld_tier", 1, "char"), ("etp_flag", 1, "char"),
               ("etp_leverage_factor", 4, "int"), ("inverse_indicator", 1, "char")),
    "H": _body(("stock", 8, "alpha"), ("trading_state", 1, "char"), ("reserved", 1, "char"),
               ("reason", 4, "alpha")),
    "Y": _body(("stock", 8, "alpha"), ("reg_sho_action", 1, "char")),
    "L": _body(("mpid", 4, "alpha"), ("stock", 8, "alpha"), ("primary_market_maker", 1, "char"),
               ("market_maker_mode", 1, "char"), ("market_participant_state", 1, "char")),
    "V": _body(("level1", 8, "price8"), ("level2", 8, "price8"), ("level3", 8, "price8")),
    "W": _body(("breached_level", 1, "char")),
    "K": _body(("stock", 8, "alpha"), ("ipo_release_time", 4, "int"),
               ("ipo_release_qualifier", 1, "char"), ("ipo_price", 4, "price4")),
    "J": _body(("stock", 8, "alpha"), ("collar_reference_price", 4, "price4"),
               ("upper_collar_price", 4, "price4"), ("lower_collar_price", 4, "price4"),
               ("collar_extension", 4, "int")),
    "h": _body(("stock", 8, "alpha"), ("market_code", 1, "char"), ("halt_action", 1, "char")),
    "A": _body(("oref", 8, "int"), ("side", 1, "char"), ("shares", 4, "int"),
               ("stock", 8, "alpha"), ("price", 4, "price4")),
    "F": _body(("oref", 8, "int"), ("side", 1, "char"), ("shares", 4, "int"),
               ("stock", 8, "alpha"), ("price", 4, "price4"), ("attribution", 4, "alpha")),
    "E": _body(("oref", 8, "int"), ("executed_shares", 4, "int"), ("match", 8, "int")),
    "C": _body(("oref", 8, "int"), ("executed_shares", 4, "int"), ("match", 8, "int"),
               ("printable", 1, "char"), ("execution_price", 4, "price4")),
    "X": _body(("oref", 8, "int"), ("cancelled_shares", 4, "int")),
    "D": _body(("oref", 8, "int")),
    "U": _body(("original_oref", 8, "int"), ("new_oref", 8, "int"), ("shares", 4, "int"),
               ("price", 4, "price4")),
    "P": _body(("oref", 8, "int"), ("side", 1, "char"), ("shares", 4, "int"),
               ("stock", 8, "alpha"), ("price", 4, "price4"), ("match", 8, "int")),
    "Q": _body(("shares", 8, "int"), ("stock", 8, "alpha"), ("cross_price", 4, "price4"),
               ("match", 8, "int"), ("cross_type", 1, "char")),
    "B": _body(("match", 8, "int")),
    "I": _body(("paired_shares", 8, "int"), ("imbalance_shares", 8, "int"),
               ("imbalance_direction", 1, "char"), ("stock", 8, "alpha"),
               ("far_price", 4, "price4"), ("near_price", 4, "price4"),
               ("current_reference_price", 4, "price4"), ("cross_type", 1, "char"),
               ("price_variation", 1, "char")),
    "N": _body(("stock", 8, "alpha"), ("interest_flag", 1, "char")),
    "O": _body(("stock", 8, "alpha"), ("open_eligibility", 1, "char"),
               ("min_allowable_price", 4, "price4"), ("max_allowable_price", 4, "price4"),
               ("near_execution_price", 4, "price4"), ("near_execution_time", 8, "int"),
               ("lower_price_range_collar", 4, "price4"),
               ("upper_price_range_collar", 4, "price4")),
}

#: type -> full field list including the common header.
FIELDS = {t: _HEADER + body for t, body in BODIES.items()}
#: type -> message length in bytes (derived from the field layout).
LENGTHS = {t: f[-1][1] + f[-1][2] for t, f in FIELDS.items()}


class ItchError(ValueError):
    pass


def parse(msg):
    """Message bytes -> dict of field values (alpha as str, chars as 1-char str, ints)."""
    msg = bytes(msg)
    if not msg:
        raise ItchError("empty message")
    t = chr(msg[0])
    if t not in FIELDS:
        raise ItchError(f"unknown message type {msg[0]:#04x}")
    if len(msg) != LENGTHS[t]:
        raise ItchError(f"type {t}: length {len(msg)}, expected {LENGTHS[t]}")
    out = {}
    for name, off, width, kind in FIELDS[t]:
        raw = msg[off:off + width]
        out[name] = raw.decode("latin-1") if kind in ("alpha", "char") else int.from_bytes(raw, "big")
    return out


def encode(type, **fields):
    """Build a message; missing fields are zero (ints) or spaces (text)."""
    if type not in FIELDS:
        raise ItchError(f"unknown message type {type!r}")
    buf = bytearray(LENGTHS[type])
    for name, off, width, kind in FIELDS[type]:
        if name == "type":
            buf[0] = ord(type)
            continue
        v = fields.pop(name, None)
        if kind in ("alpha", "char"):
            v = (v or "").encode("latin-1") if not isinstance(v, (bytes, bytearray)) else bytes(v)
            if len(v) > width:
                raise ItchError(f"{name}: {v!r} longer than {width}")
            buf[off:off + width] = v.ljust(width, b" ")
        else:
            buf[off:off + width] = int(v or 0).to_bytes(width, "big")
    if fields:
        raise ItchError(f"type {type}: unknown fields {sorted(fields)}")
    return bytes(buf)


def read_binaryfile(path):
    """Iterate the messages of a BinaryFILE (2-byte big-endian length before each)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ItchError(f"{path}: truncated length at byte {pos}")
        n = int.from_bytes(data[pos:pos + 2], "big")
        if pos + 2 + n > len(data):
            raise ItchError(f"{path}: truncated message at byte {pos}")
        yield data[pos + 2:pos + 2 + n]
        pos += 2 + n


def _alpha_int(s):
    """ASCII field as an integer, first character most significant (as on the wire)."""
    return int.from_bytes(s.encode("latin-1"), "big")


def to_itchmsg_fields(msg, seq, feed, rx_ts):
    """The ItchMsg (rtl/layouts.py) the decoder should emit for `msg`, or None if it must
    reject it (unknown type or wrong length). `rx_ts` is a dict {"sec", "ns"}."""
    try:
        p = parse(msg)
    except ItchError:
        return None
    t = p["type"]
    out = {"type": ord(t), "locate": p["locate"], "tracking": p["tracking"],
           "itch_ts": p["timestamp"], "oref": 0, "new_oref": 0, "side": 0, "shares": 0,
           "price": 0, "stock": 0, "state": 0, "seq": seq, "feed": feed,
           "rx_ts": {"sec": rx_ts["sec"], "ns": rx_ts["ns"]}}
    if t in "AFP":
        out.update(oref=p["oref"], side=ord(p["side"]), shares=p["shares"],
                   stock=_alpha_int(p["stock"]), price=p["price"])
    elif t == "E":
        out.update(oref=p["oref"], shares=p["executed_shares"])
    elif t == "C":
        out.update(oref=p["oref"], shares=p["executed_shares"], price=p["execution_price"])
    elif t == "X":
        out.update(oref=p["oref"], shares=p["cancelled_shares"])
    elif t == "D":
        out.update(oref=p["oref"])
    elif t == "U":
        out.update(oref=p["original_oref"], new_oref=p["new_oref"], shares=p["shares"],
                   price=p["price"])
    elif t == "Q":
        out.update(shares=p["shares"] & 0xFFFFFFFF, stock=_alpha_int(p["stock"]),
                   price=p["cross_price"])
    elif t == "R":
        out.update(stock=_alpha_int(p["stock"]))
    elif t == "H":
        out.update(stock=_alpha_int(p["stock"]), state=ord(p["trading_state"]))
    elif t == "S":
        out.update(state=ord(p["event_code"]))
    return out


def histogram(messages):
    """Count of messages per type character."""
    out = {}
    for m in messages:
        t = chr(m[0])
        out[t] = out.get(t, 0) + 1
    return out
