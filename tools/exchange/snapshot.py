"""A GLIMPSE-style snapshot of a recorded ITCH session after its first N messages.

Why: a handler that joins mid-session (or gives up on a gap) loads its books from a
snapshot and resumes the live feed at the sequence number the snapshot names. The
test exchange and `tickwire replay --snapshot-from` both need the snapshot a
GLIMPSE server would send: the stock directory, each symbol's trading state and
every order still resting, as ITCH 5.0 messages, then End of Snapshot.

It keeps only a live-order table (ref -> locate, side, price, shares, stock), the
way an exchange would, never a price-level book, so it cannot share a bug with the
book models it is used to check. Resting orders come out as Add Order (A) messages
in the order they were added, with their remaining shares at their current price.
"""
import struct

from tickwire.tools.feeds import itch_file

END_OF_SNAPSHOT = b"G"
SEQ_WIDTH = 20


def end_of_snapshot(next_seq):
    """GLIMPSE 5.0 End of Snapshot: 'G' + the sequence number (20 ASCII digits,
    left-justified, space-padded) of the first live message to apply after it."""
    return END_OF_SNAPSHOT + str(int(next_seq)).ljust(SEQ_WIDTH).encode("ascii")


def parse_end_of_snapshot(msg):
    """The sequence number named by an End of Snapshot message, else None."""
    if len(msg) != 1 + SEQ_WIDTH or msg[:1] != END_OF_SNAPSHOT:
        return None
    text = msg[1:].decode("ascii").strip()
    return int(text) if text.isdigit() else None


class LiveOrders:
    """The exchange's view of a session: resting orders, directory, trading states."""

    def __init__(self):
        self.orders = {}         # ref -> [locate, side byte, price, shares, stock8]
        self.directory = {}      # locate -> the R message
        self.states = {}         # locate -> the last H message
        self.applied = 0         # messages seen (= last sequence number applied)

    def apply(self, m):
        t, self.applied = m[:1], self.applied + 1
        if t == b"R":
            self.directory[struct.unpack_from(">H", m, 1)[0]] = m
        elif t == b"H":
            self.states[struct.unpack_from(">H", m, 1)[0]] = m
        elif t in (b"A", b"F"):
            ref, side, shares, stock, price = struct.unpack_from(">QcI8sI", m, 11)
            self.orders[ref] = [struct.unpack_from(">H", m, 1)[0], side, price, shares, stock]
        elif t in (b"E", b"C", b"X"):
            ref, shares = struct.unpack_from(">QI", m, 11)
            o = self.orders.get(ref)
            if o is not None:
                o[3] -= min(shares, o[3])
                if o[3] == 0:
                    del self.orders[ref]
        elif t == b"D":
            self.orders.pop(struct.unpack_from(">Q", m, 11)[0], None)
        elif t == b"U":
            old, new, shares, price = struct.unpack_from(">QQII", m, 11)
            o = self.orders.pop(old, None)
            if o is not None:
                self.orders[new] = [o[0], o[1], price, shares, o[4]]

    def messages(self, locates=None):
        """The snapshot body (no End of Snapshot): R, H, then A per resting order."""
        keep = (lambda loc: True) if locates is None else (lambda loc: loc in locates)
        out = [m for loc, m in self.directory.items() if keep(loc)]
        out += [m for loc, m in self.states.items() if keep(loc)]
        for ref, (loc, side, price, shares, stock) in self.orders.items():
            if keep(loc):
                out.append(struct.pack(">cHHHIQcI8sI", b"A", loc, 0, 0, 0, ref, side,
                                       shares, stock, price))
        return out


def snapshot(messages, after, locates=None):
    """Snapshot of `messages` (an ITCH session, seq 1 = messages[0]) after message
    `after`: the body plus End of Snapshot naming after + 1."""
    book = LiveOrders()
    for i, m in enumerate(messages):
        if i >= after:
            break
        book.apply(m)
    return book.messages(locates) + [end_of_snapshot(after + 1)]


def snapshot_of_file(path, after, locates=None):
    return snapshot(itch_file.read(path), after, locates)
