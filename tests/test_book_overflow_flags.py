"""A message the book's input queue drops must never leave a silently wrong book.

The deep-book stress feed (tools/feeds/deep_book.py, issue 12) drains deep sides
best-first at line rate on both feeds; the next-best searches cannot keep up and the
book's queue drops messages (book.fifo_overflow). The merge has moved past them, so
the core marks the books stale and asks for a snapshot (rtl/rx/inject/window.py
`book_lost`, wired in rtl/top.py): every BBO row the RTL gets wrong must carry
`unreliable`. Before that wiring 9 rows of this feed were wrong and unflagged.
Board build, native harness (shares the fuzz campaign's build)."""
import pytest

from tickwire.rtl.config import BUILDS
from tickwire.tools.build.bench.book import silent_rows
from tickwire.tools.build.bench.packet import feed_of
from tickwire.tools.engines import ModelEngine, rtl_replay
from tickwire.tools.feeds import deep_book, moldfeed


@pytest.mark.xdist_group("tw_board")
def test_rows_wrong_after_a_dropped_message_are_all_flagged():
    msgs = deep_book.generate(symbols=2, levels=300, cycles=1, seed=1)
    feed = feed_of(moldfeed.build_feed(msgs, ab=True, end_of_session=True))
    feed.messages = len(msgs)
    subs = {1: 0, 2: 1}
    model = ModelEngine.run(feed, subs)
    rtl = rtl_replay.run(feed, subs, cfg=BUILDS["board"])
    c = rtl.counters
    # the precondition: the feed does overflow the queue, and only that goes wrong
    assert c.get("book.fifo_overflow", 0) > 100, c
    for k in ("book.collisions", "book.depth_overflow", "book.table_full"):
        assert c.get(k, 0) == 0, (k, c)
    wrong, silent = silent_rows(rtl, model)
    assert wrong > 0 and silent == 0, (wrong, silent)
    flagged = set(rtl.extra["bbo_unreliable_seqs"])
    assert rtl.bbo_rows[-1][0] in flagged          # stale until the host's CLEAR_STALE
    # before the first drop the books were exact and unflagged
    first_wrong = next(i for i, r in enumerate(rtl.bbo_rows)
                       if r != model.bbo_rows[i])
    assert first_wrong > 0 and rtl.bbo_rows[0][0] not in flagged
