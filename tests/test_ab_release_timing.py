"""RTL = model where a late copy races the hold window behind a released backlog.

Why this test exists: with both feeds paced at 80 % of line rate, 1 % independent loss
per feed, duplicates and noise (the bench's faulty A/B feed), the feeds drift ~9,600
cycles apart. After a real gap expires, ~1,800 held messages are released while the
book's input queue is almost full (`pause`), so they go out one every ~2 cycles for
~2,400 cycles; each release restarts the hold window. The next one-sided loss then
waits for the late feed's copy from the *last* release, not from the moment E reached
it in an instant drain: the copy arrives inside the window, and is delivered. The
model used to drain held messages instantly and declared that gap (45 messages lost
there, one more hold-buffer overflow, different books from message 85,849 on).
200,000 messages: the first such race in this feed is near message 85,849.
"""

import pytest

from tickwire.tools.build.bench import book


@pytest.mark.xfail(strict=True, reason="RTL != model on the 200 k paced A/B run, first difference "
                   "at BBO row 11,238 (seq 145,822): feed B's copies of 145,815-145,842 overflow "
                   "the model's hold buffer B and not the RTL's (merge.overflow_b rtl 20,418, "
                   "model 21,577) although release times agree (constant offset over seqs "
                   "142,900-144,333); open. Book pacing is no longer the cause: book.pace_lag 0")
def test_paced_ab_with_released_backlog_rtl_equals_model():
    run = book.long_run(messages=200_000, util=0.8)
    assert run["agree"], run["first"]
    rtl, model = run["rtl"], run["model"]
    # the race above: the late copy of the packet feed B lost is delivered by both
    got = {m["seq"] for m in rtl.decoded}
    assert set(range(85849, 85893)) <= got
    assert got == {m["seq"] for m in model.decoded}
    assert rtl.counters["merge.overflow_b"] == model.counters["merge.overflow_b"] > 0
