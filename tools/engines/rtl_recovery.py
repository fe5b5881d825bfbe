"""Recovery on the RTL engine: `--recover-from` and `--join-at/--snapshot-from` as
register writes into the core's host injection window (rtl/rx/inject/), the same
path a daemon uses over PCIe or UART; nothing in the capture is rewritten.

Why a plan computed up front: the native harness runs a capture as one batch with a
timed register script (writes started at the first free bus cycle >= their cycle).
The card is told to wait for the host on every gap (`inject.gap_wait`), so a fill
may arrive after the hold window; what matters is that each fill is written only
once the sequencer has reached its first number (one injected message waits at a
time: an early second commit would be an overrun, checked after the run). A fill
for the gap [F, S) is therefore scheduled `MARGIN` cycles after the last byte of the
last message below F reaches the port (the earliest copy of each), and after the
previous fill. The same session rule as the model engine (tools/engines/recovery.py):
with a source the session starts at 1 (JOIN at 1); a gap is a range no packet of
either feed carried, revealed by a later message; fills are injected as packets of
at most `max_count` messages. Join: snapshot messages (SNAPSHOT, seq N-1), then JOIN
at N: live messages below N are duplicates; gaps are counted from N.
"""
import numpy as np

from tickwire.control.regmap import REGS
from tickwire.rtl.rx.inject import regs as inject_regs

MARGIN = 32             # cycles: MAC, UDP and MoldUDP64 stages (the fill's first message waits for E)

_COMMIT = inject_regs.BLOCK.reg("commit")
FIRST = 1 << _COMMIT.field("FIRST").offset
SNAPSHOT = 1 << _COMMIT.field("SNAPSHOT").offset
JOIN = 1 << inject_regs.BLOCK.reg("cmd").field("JOIN").offset
_A = {n: REGS[f"inject.{n}"].addr for n in
      ("seq_hi", "seq_lo", "data", "commit", "cmd", "gap_wait")}


def message_writes(msg, seq=None, first=False, snapshot=False):
    """[(addr, data)] injecting one message (seq: set the sequence number first)."""
    w = [] if seq is None else [(_A["seq_hi"], seq >> 32), (_A["seq_lo"], seq & 0xFFFFFFFF)]
    w += [(_A["data"], int.from_bytes(msg[k:k + 4], "little")) for k in range(0, len(msg), 4)]
    return w + [(_A["commit"], len(msg) | (FIRST if first else 0) | (SNAPSHOT if snapshot else 0))]


def _present(feed):
    """(sequence numbers some packet of either port carried, the next sequence numbers
    heartbeats and End of Session packets named)."""
    seqs, marks = set(), set()
    for port in ("a", "b"):
        for f in feed.frames[port]:
            if f.seq is not None and f.count not in (0, 0xFFFF):
                seqs.update(range(f.seq, f.seq + len(f.msg_ends)))
            elif f.seq is not None:
                marks.add(f.seq)
    return seqs, marks


def gaps(present, start, marks=()):
    """[(first, end)] ranges from `start` on that no packet carried, each followed by a
    message that did or named by a heartbeat/End of Session after it (the sequencer's
    marks); a tail nobody revealed is no gap."""
    out, e = [], start
    ends = {x: x + 1 for x in present if x >= start}
    ends.update({x: x for x in marks if x >= start and x not in ends})
    for s in sorted(ends):
        if s > e:
            out.append((e, s))
        e = max(e, ends[s])
    return out


def plan(feed, table, rec):
    """(writes_before, script) for Recovery `rec` (source, join_at, snapshot,
    max_count; its stats and unfilled are filled in as the model engine's are);
    table: rtl_replay.last_byte_table (seq*2+feed -> beat)."""
    stats = rec.stats
    before = [(_A["gap_wait"], 1)]
    start = 1
    if rec.join_at is not None:
        n = start = rec.join_at
        for i, m in enumerate(rec.snapshot):
            before += message_writes(m, seq=n - 1 if i == 0 else None, snapshot=True)
        stats["snapshot_messages"] += len(rec.snapshot)
        stats["join_ignored_packets"] += sum(
            1 for port in ("a", "b") for f in feed.frames[port] if f.seq is not None and
            f.seq + (0 if f.count in (0, 0xFFFF) else f.count) <= n and
            not (f.count in (0, 0xFFFF) and f.seq >= n))
    before += [(_A["seq_hi"], start >> 32), (_A["seq_lo"], start & 0xFFFFFFFF),
               (_A["cmd"], JOIN)]
    keys, beats = table
    seq_of, arrive = keys >> 1, beats
    order = np.argsort(seq_of, kind="stable")
    s_sorted, a_sorted = seq_of[order], arrive[order]
    # earliest copy of each seq, then the running max: when everything below F is in
    uniq, first_idx = np.unique(s_sorted, return_index=True)
    earliest = np.minimum.reduceat(a_sorted, first_idx) if len(uniq) else a_sorted
    ready = np.maximum.accumulate(earliest) if len(uniq) else earliest
    script, t_free = [], 0
    present, marks = _present(feed)
    for first, end in gaps(present, start, marks):
        msgs = rec.source[first - 1:end - 1] if rec.source is not None else []
        if not msgs:
            continue
        stats["gaps_recovered"] += len(msgs) == end - first
        stats["messages_recovered"] += len(msgs)
        if len(msgs) < end - first:
            rec.unfilled.append((first + len(msgs), end - first - len(msgs)))
        k = int(np.searchsorted(uniq, first)) - 1
        t = max(t_free, (int(ready[k]) if k >= 0 else 0) + MARGIN)
        w = []
        for i, m in enumerate(msgs):
            w += message_writes(m, seq=first if i == 0 else None, first=i % rec.max_count == 0)
        script += [(t, "w", a, d) for a, d in w]
        t_free = t + len(w)
    return before, script


def check(counters):
    """After the run: every injected message was taken (no overrun)."""
    if counters.get("inject.overruns"):
        raise RuntimeError(f"{counters['inject.overruns']} injected messages arrived before "
                           "the sequencer reached them (MARGIN too small for this capture)")
