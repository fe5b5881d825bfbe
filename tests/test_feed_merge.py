"""Generated two-feed captures through the model engine (the same rules as the RTL,
tests/test_merge_chain.py and cocotb_tests/mold): with no packet lost on both feeds,
loss on either feed and feed B up to 20 packets late gives the complete stream's BBO
rows, zero messages lost (issue 14's replay contract)."""
import random

import pytest

from tickwire.tools.engines import ModelEngine
from tickwire.tools.feeds import moldfeed
from tickwire.tools.feeds.skew import ab_skewed
from tickwire.tools.gen_itch import generate
from tickwire.tools.replay import Feed


def _feed(msgs, loss_a, loss_b, b_late, seed):
    frames = moldfeed.build_feed(msgs, ab=True)
    a = [f for f in frames if f.feed == "A"]
    b = [f for f in frames if f.feed == "B"]
    fa, fb, lost_a, lost_b = ab_skewed(a, b, loss_a, loss_b, b_late, rng=seed)
    feed = Feed()
    feed.frames = {"a": fa, "b": fb}
    feed.messages = len(msgs)
    return feed, lost_a, lost_b


@pytest.fixture(scope="module")
def day():
    msgs = list(generate(symbols=16, messages=30000, seed=7))
    complete, _, _ = _feed(msgs, 0, 0, 0, 0)
    subs = {loc: loc - 1 for loc in range(1, 17)}
    ref = ModelEngine.run(complete, subs)
    assert len(ref.bbo_rows) > 1000 and ref.counters["mold.messages"] == len(msgs)
    return msgs, subs, ref


@pytest.mark.parametrize("loss_a,loss_b,b_late", [(0.02, 0, 20), (0.02, 0.02, 20),
                                                  (0.02, 0.02, -20), (0.02, 0.02, 3)])
def test_one_sided_loss_with_skew_loses_nothing(day, loss_a, loss_b, b_late):
    msgs, subs, ref = day
    feed, lost_a, lost_b = _feed(msgs, loss_a, loss_b, b_late, 11)
    assert lost_a and (lost_b or not loss_b)
    res = ModelEngine.run(feed, subs)
    c = res.counters
    assert c["mold.messages"] == len(msgs) and "mold.gaps" not in c
    assert res.bbo_rows == ref.bbo_rows and c.get("merge.held", 0) > 0


def test_loss_on_both_feeds_is_a_counted_gap(day):
    msgs, subs, ref = day
    frames = moldfeed.build_feed(msgs[:3000], ab=True)
    lost = frames[10].seq
    feed, _, _ = _feed(msgs[:3000], 0, 0, 5, 0)
    for port in "ab":
        feed.frames[port] = [f for f in feed.frames[port] if f.seq != lost]
    c = ModelEngine.run(feed, subs).counters
    n = frames[10].count
    assert c["mold.gaps"] == 1 and c["mold.gap_messages"] == n
    assert c["mold.messages"] == 3000 - n and c["merge.hold_timeouts"] == 1
