"""Account and symbol names -> card slots: the one place the mapping is made.

Why: the host keeps kill switches by account NAME; the card only has a bit per account
slot, and the slot of an account is its position in the current limits file. Loading a
file with an account inserted before ACME01 moves ACME01 to another slot; a kill kept
as a bit would then follow the slot (kill BETA, free ACME01). Keeping names and mapping
them here, every time the limits change, keeps the kill on the account.
"""
from tickwire.control.regmap import REGS

KILL_BITS = REGS["risk.kill_accounts"].width


def kill_bits(card_accounts):
    return min(card_accounts, KILL_BITS)


def account_slot(limits, name, card_accounts):
    """The card slot of account `name`; ValueError naming the known accounts if none."""
    i = limits.account_of(name) if limits is not None else None
    if i is None:
        known = ", ".join(a.name for a in limits.accounts[:20]) if limits else "none loaded"
        raise ValueError(f"unknown account {name[:40]!r} (accounts in the limits set: {known})")
    n = kill_bits(card_accounts)
    if not 0 <= i < n:
        raise ValueError(f"account {name!r}: index {i} out of range 0..{n - 1} "
                         f"(risk.kill_accounts has {n} bits)")
    return i


def kill_mask(limits, names, card_accounts):
    """risk.kill_accounts for the killed `names` under `limits` (names not in the set,
    or beyond the register, have no slot: such an account has no limits row, so the
    card's gate already refuses it)."""
    mask = 0
    n = kill_bits(card_accounts)
    for name in names:
        i = limits.account_of(name) if limits is not None else None
        if i is not None and i < n:
            mask |= 1 << i
    return mask


def symbol_slot(limits, subscriptions, symbol):
    """(book slot, name) of `symbol`: a subscription's symbol first, then the limits
    set's symbol order, then a plain slot number; ValueError otherwise."""
    for s in subscriptions:
        if s["symbol"] and s["symbol"] == symbol:
            return s["slot"], symbol
    if limits is not None:
        slot = limits.slot_of(symbol)
        if slot is not None:
            return slot, symbol
    if symbol.isascii() and symbol.isdigit():
        return int(symbol), symbol
    raise ValueError(f"unknown symbol {symbol[:40]!r} (not subscribed, not in the limits set)")
