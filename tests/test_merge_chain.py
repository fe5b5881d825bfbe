"""MoldRx + FeedMerge against the model: loss on one feed with the other leading,
lagging or alternating, skew within the hold window, duplicates, hold expiry."""
import random

from merge_chain import comparable, msgs, packets, run, schedule


#: Messages of the session's first packets: they wait until a second packet confirms the
#: start (issue 15), so "nothing waits" holds from the third packet on.
def _after_start(values, per=3):
    return values[2 * per:]


def _check(rtl, model, n=None):
    assert rtl["seqs"] == model["seqs"]
    assert rtl["msgs"] == model["msgs"]
    assert comparable(rtl["counters"]) == comparable(model["counters"])
    assert rtl["gaps"] == model["gaps"]
    if n is not None:
        assert rtl["seqs"] == list(range(1, n + 1))


def test_clean_ab_each_message_once():
    rng = random.Random(1)
    m = msgs(30, rng)
    pk = packets(m)
    rtl, model = run(schedule(pk), schedule(pk, start=3))
    _check(rtl, model, 30)
    assert rtl["counters"]["mold.dup_messages"] == 30
    from merge_chain import latency
    assert set(_after_start(latency(rtl))) == {5} and rtl["counters"]["merge.held"] <= 2 * 3


def test_a_loses_b_lagging_by_packets():
    rng = random.Random(2)
    m = msgs(60, rng)
    pk = packets(m)
    a = [p if k not in (3, 11) else None for k, p in enumerate(pk)]
    rtl, model = run(schedule(a), schedule(pk, start=200))      # B ~5 packets late
    _check(rtl, model, 60)
    assert rtl["counters"]["merge.held"] > 0 and "mold.gaps" not in rtl["counters"]


def test_alternating_loss_b_leading():
    rng = random.Random(3)
    m = msgs(60, rng)
    pk = packets(m)
    a = [p if k % 4 != 1 else None for k, p in enumerate(pk)]
    b = [p if k % 4 != 3 else None for k, p in enumerate(pk)]
    rtl, model = run(schedule(a, start=90), schedule(b))
    _check(rtl, model, 60)


def test_gap_on_both_declared_when_the_window_expires():
    rng = random.Random(4)
    m = msgs(30, rng)
    pk = packets(m)
    a = [p if k != 4 else None for k, p in enumerate(pk)]
    rtl, model = run(schedule(a), schedule(a, start=5), hold_cycles=60)
    _check(rtl, model)
    assert rtl["gaps"] == [(13, 3)] and rtl["counters"]["merge.hold_timeouts"] == 1
    assert rtl["seqs"] == [s for s in range(1, 31) if not 13 <= s <= 15]


def test_host_injection_fills_a_gap_on_both_feeds():
    """The recovery hook: messages lost on both feeds, injected in sequence while the
    later ones wait, are delivered in order and no gap is declared (the window's
    `hold_both` off: with both feeds past the gap it would be declared before the
    injection, as test_gap_on_both_feeds_declared_once_both_are_past shows)."""
    rng = random.Random(5)
    m = msgs(30, rng)
    pk = packets(m)
    a = [p if k != 3 else None for k, p in enumerate(pk)]
    inject = [(400, 10 + k, m[9 + k]) for k in range(3)]
    rtl, _ = run(schedule(a), schedule(a, start=4), inject=inject, hold_both=0)
    assert rtl["seqs"] == list(range(1, 31)) and rtl["gaps"] == []
    assert rtl["msgs"][9:12] == [x[:50] for x in m[9:12]]


def test_latency_added_only_by_a_loss():
    """Nothing waits when neither feed loses: 5 cycles from the beat with a message's
    last byte (MoldPort's three pipeline stages and the sequencer's two), once the
    session's start is confirmed (the first packet waits for the second, + 3 cycles).
    After a loss on A, A's later messages wait for B's copy (B ~5 packets behind) and
    no longer."""
    from merge_chain import latency
    rng = random.Random(2)
    m = msgs(90, rng)
    pk = packets(m, per=4)
    rtl, _ = run(schedule(pk), schedule(pk, start=30))
    lat = latency(rtl)
    assert set(_after_start(lat, per=4)) == {5} and max(lat) < 42
    a = [p if k not in (5, 12) else None for k, p in enumerate(pk)]
    rtl, _ = run(schedule(a), schedule(pk, start=150))
    lat = latency(rtl)
    assert rtl["seqs"] == list(range(1, 91)) and min(lat) == 5 and 100 < max(lat) < 200


def test_gap_revealed_only_by_end_of_session_is_declared():
    """The session's last packet lost on both feeds: End of Session (and a heartbeat
    before it) name the next sequence number; the mark waits like a held message and
    the window declares the gap. A is also missing a packet B fills (B behind)."""
    from merge_chain import SESSION
    from tickwire.model import mold
    rng = random.Random(6)
    m = msgs(30, rng)
    pk = packets(m)
    tail = [mold.heartbeat(SESSION, 31), mold.end_of_session(SESSION, 31)]
    a = [p if k not in (2, 9) else None for k, p in enumerate(pk)][:-1] + tail
    b = pk[:-1] + tail
    rtl, model = run(schedule(a), schedule(b, start=40), hold_cycles=60)
    _check(rtl, model)
    assert rtl["gaps"] == [(28, 3)] and rtl["seqs"] == list(range(1, 28))
    assert rtl["expected"] == model["expected"] == 31
    assert rtl["counters"]["mold.end_of_session"] == 2


def test_heartbeat_ahead_waits_for_the_other_feed():
    """A heartbeat on A after A lost a packet: its mark waits while B (behind) fills
    the range; nothing is declared and the mark is not a duplicate."""
    from merge_chain import SESSION
    from tickwire.model import mold
    rng = random.Random(7)
    m = msgs(30, rng)
    pk = packets(m)
    a = pk[:4] + [None, mold.heartbeat(SESSION, 16)] + pk[5:]
    rtl, model = run(schedule(a), schedule(pk, start=60), hold_cycles=400)
    _check(rtl, model, 30)
    assert "mold.gaps" not in rtl["counters"] and rtl["counters"]["mold.heartbeats"] == 1
    assert rtl["counters"]["mold.dup_messages"] == 30 - 3


def test_lagging_feed_loses_costs_nothing():
    """B, 40 cycles behind A, loses packets: A already delivered them; B's later
    copies are duplicates, nothing waits and nothing is declared."""
    rng = random.Random(8)
    m = msgs(45, rng)
    pk = packets(m)
    b = [p if k not in (2, 7, 8) else None for k, p in enumerate(pk)]
    rtl, model = run(schedule(pk), schedule(b, start=40))
    _check(rtl, model, 45)
    from merge_chain import latency
    assert "mold.gaps" not in rtl["counters"] and set(_after_start(latency(rtl))) == {5}


def test_gap_on_both_feeds_declared_once_both_are_past():
    """Both feeds lose packet 4 and B runs ~5 packets behind A. Each feed delivers in
    order, so once both show messages past the gap neither will send it: `hold_both`
    (4 packet starts counted from then) declares it, not the window's 40 packets; the
    same gap and messages, sooner, in RTL and model alike. While B is still behind the
    gap (a one-sided loss, test_a_loses_b_lagging_by_packets) it never counts."""
    rng = random.Random(4)
    m = msgs(120, rng)
    pk = packets(m)
    a = [p if k != 4 else None for k, p in enumerate(pk)]
    from merge_chain import latency
    waits = {}
    for both in (4, 0):
        rtl, model = run(schedule(a), schedule(a, start=200), hold_cycles=1_000_000,
                         hold_packets=40, hold_both=both)
        _check(rtl, model)
        assert rtl["gaps"] == [(13, 3)] and rtl["counters"]["merge.hold_timeouts"] == 1
        assert rtl["seqs"] == [s for s in range(1, 121) if not 13 <= s <= 15]
        waits[both] = max(latency(rtl))
    assert waits[4] < waits[0] - 100
