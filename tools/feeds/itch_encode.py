"""Encoders for all 23 Nasdaq TotalView-ITCH 5.0 message types, from the public spec.

Written independently of the gateware and of tickwire.model.itch so the synthetic
feeds check them rather than echo them. Every message starts with the 11-byte
common header: type(1) locate(2) tracking(2) timestamp(6, ns since midnight).
Prices are integers (1/10000 USD; MWCB levels 1e-8 USD), text fields are
left-justified and space-padded ASCII.
"""
import struct

_H = ">cHHHI"  # type, locate, tracking, timestamp high 16 bits, low 32 bits

_S = {k: struct.Struct(_H + f) for k, f in {
    b"S": "c",
    b"R": "8sccIcc2scccccIc",
    b"H": "8scc4s",
    b"Y": "8sc",
    b"L": "4s8sccc",
    b"V": "QQQ",
    b"W": "c",
    b"K": "8sIcI",
    b"J": "8sIIII",
    b"h": "8scc",
    b"A": "QcI8sI",
    b"F": "QcI8sI4s",
    b"E": "QIQ",
    b"C": "QIQcI",
    b"X": "QI",
    b"D": "Q",
    b"U": "QQII",
    b"P": "QcI8sIQ",
    b"Q": "Q8sIQc",
    b"B": "Q",
    b"I": "QQc8sIIIcc",
    b"N": "8sc",
    b"O": "8scIIIQII",
}.items()}

#: message type (one byte) -> encoded length, derived from the struct formats above
LENGTHS = {k: s.size for k, s in _S.items()}


def text(s, n):
    """ASCII, left-justified and space-padded to n bytes (bytes pass through padded)."""
    b = s.encode("ascii") if isinstance(s, str) else bytes(s)
    if len(b) > n:
        raise ValueError(f"{b!r} longer than {n} bytes")
    return b.ljust(n, b" ")


def stock8(s):
    return text(s, 8)


def _c(v):
    return v.encode("ascii") if isinstance(v, str) else v


def _hdr(ts):
    return ts >> 32, ts & 0xFFFFFFFF


def system_event(locate, track, ts, event):
    return _S[b"S"].pack(b"S", locate, track, *_hdr(ts), _c(event))


def stock_directory(locate, track, ts, stock, market_category="Q", financial_status="N",
                    round_lot=100, round_lots_only="N", issue_class="C", issue_subtype="Z ",
                    authenticity="P", short_sale_threshold="N", ipo_flag="N",
                    luld_tier="1", etp_flag="N", etp_leverage=0, inverse="N"):
    return _S[b"R"].pack(b"R", locate, track, *_hdr(ts), stock8(stock), _c(market_category),
                         _c(financial_status), round_lot, _c(round_lots_only), _c(issue_class),
                         text(issue_subtype, 2), _c(authenticity), _c(short_sale_threshold),
                         _c(ipo_flag), _c(luld_tier), _c(etp_flag), etp_leverage, _c(inverse))


def trading_action(locate, track, ts, stock, state, reason=""):
    return _S[b"H"].pack(b"H", locate, track, *_hdr(ts), stock8(stock), _c(state), b" ",
                         text(reason, 4))


def reg_sho(locate, track, ts, stock, action):
    return _S[b"Y"].pack(b"Y", locate, track, *_hdr(ts), stock8(stock), _c(action))


def market_participant(locate, track, ts, mpid, stock, primary="N", mode="N", state="A"):
    return _S[b"L"].pack(b"L", locate, track, *_hdr(ts), text(mpid, 4), stock8(stock),
                         _c(primary), _c(mode), _c(state))


def mwcb_decline(locate, track, ts, level1, level2, level3):
    return _S[b"V"].pack(b"V", locate, track, *_hdr(ts), level1, level2, level3)


def mwcb_status(locate, track, ts, level):
    return _S[b"W"].pack(b"W", locate, track, *_hdr(ts), _c(level))


def ipo_quoting(locate, track, ts, stock, release_time, qualifier, price):
    return _S[b"K"].pack(b"K", locate, track, *_hdr(ts), stock8(stock), release_time,
                         _c(qualifier), price)


def luld_collar(locate, track, ts, stock, ref_price, upper, lower, extension):
    return _S[b"J"].pack(b"J", locate, track, *_hdr(ts), stock8(stock), ref_price, upper,
                         lower, extension)


def operational_halt(locate, track, ts, stock, market_code, action):
    return _S[b"h"].pack(b"h", locate, track, *_hdr(ts), stock8(stock), _c(market_code),
                         _c(action))


def add_order(locate, track, ts, ref, side, shares, stock, price):
    return _S[b"A"].pack(b"A", locate, track, ts >> 32, ts & 0xFFFFFFFF, ref, _c(side), shares,
                         stock8(stock), price)


def add_order_mpid(locate, track, ts, ref, side, shares, stock, price, mpid):
    return _S[b"F"].pack(b"F", locate, track, ts >> 32, ts & 0xFFFFFFFF, ref, _c(side), shares,
                         stock8(stock), price, text(mpid, 4))


def order_executed(locate, track, ts, ref, shares, match):
    return _S[b"E"].pack(b"E", locate, track, ts >> 32, ts & 0xFFFFFFFF, ref, shares, match)


def order_executed_price(locate, track, ts, ref, shares, match, printable, price):
    return _S[b"C"].pack(b"C", locate, track, ts >> 32, ts & 0xFFFFFFFF, ref, shares, match,
                         _c(printable), price)


def order_cancel(locate, track, ts, ref, shares):
    return _S[b"X"].pack(b"X", locate, track, ts >> 32, ts & 0xFFFFFFFF, ref, shares)


def order_delete(locate, track, ts, ref):
    return _S[b"D"].pack(b"D", locate, track, ts >> 32, ts & 0xFFFFFFFF, ref)


def order_replace(locate, track, ts, old_ref, new_ref, shares, price):
    return _S[b"U"].pack(b"U", locate, track, ts >> 32, ts & 0xFFFFFFFF, old_ref, new_ref,
                         shares, price)


def trade(locate, track, ts, ref, side, shares, stock, price, match):
    return _S[b"P"].pack(b"P", locate, track, ts >> 32, ts & 0xFFFFFFFF, ref, _c(side), shares,
                         stock8(stock), price, match)


def cross_trade(locate, track, ts, shares, stock, price, match, cross_type):
    return _S[b"Q"].pack(b"Q", locate, track, *_hdr(ts), shares, stock8(stock), price, match,
                         _c(cross_type))


def broken_trade(locate, track, ts, match):
    return _S[b"B"].pack(b"B", locate, track, *_hdr(ts), match)


def noii(locate, track, ts, paired, imbalance, direction, stock, far, near, ref_price,
         cross_type, variation):
    return _S[b"I"].pack(b"I", locate, track, *_hdr(ts), paired, imbalance, _c(direction),
                         stock8(stock), far, near, ref_price, _c(cross_type), _c(variation))


def rpii(locate, track, ts, stock, flag):
    return _S[b"N"].pack(b"N", locate, track, *_hdr(ts), stock8(stock), _c(flag))


def dlcr(locate, track, ts, stock, eligible, min_price, max_price, near_price, near_time,
         lower_collar, upper_collar):
    return _S[b"O"].pack(b"O", locate, track, *_hdr(ts), stock8(stock), _c(eligible),
                         min_price, max_price, near_price, near_time, lower_collar, upper_collar)


def header(msg):
    """(type char, locate, tracking, timestamp ns) of an encoded message."""
    t, loc, trk, hi, lo = struct.unpack_from(_H, msg)
    return t.decode(), loc, trk, (hi << 32) | lo


def decode(msg):
    """Raw field tuple (after the header) for any encoded message; for tests and tools."""
    s = _S[msg[:1]]
    if len(msg) != s.size:
        raise ValueError(f"type {msg[:1]!r}: length {len(msg)} != {s.size}")
    return s.unpack(msg)[5:]
