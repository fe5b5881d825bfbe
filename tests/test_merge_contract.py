"""The bad-input contract of MoldRx + FeedMerge (docs/bad-input-mold.md), RTL against
the model: one bad packet on feed A costs only itself while feed B is clean."""
import random

from merge_chain import SESSION, comparable, msgs, packets, run, schedule
from tickwire.model import mold


def _check(rtl, model):
    assert rtl["seqs"] == model["seqs"] and rtl["msgs"] == model["msgs"]
    assert comparable(rtl["counters"]) == comparable(model["counters"])
    assert rtl["gaps"] == model["gaps"] and rtl["expected"] == model["expected"]


def _ab(a_payloads, pk, b_start=40, **kw):
    """Feed A carries `a_payloads` (corrupted copies), feed B the clean packets, late."""
    rtl, model = run(schedule(a_payloads), schedule(pk, start=b_start), **kw)
    _check(rtl, model)
    return rtl


def _setup(n=24, seed=5):
    m = msgs(n, random.Random(seed))
    return m, packets(m)


def test_garbage_with_valid_session_costs_nothing():
    m, pk = _setup()
    rng = random.Random(6)
    junk = SESSION.encode() + bytes(rng.randrange(256) for _ in range(90))
    a = pk[:2] + [junk] + pk[2:]
    rtl = _ab(a, pk)
    assert rtl["seqs"] == list(range(1, 25))


def test_far_ahead_sequence_does_not_move_expected():
    m, pk = _setup()
    far = pk[3][:10] + (10**15).to_bytes(8, "big") + pk[3][18:]
    a = pk[:3] + [far] + pk[4:]
    rtl = _ab(a, pk, b_start=60)
    assert rtl["seqs"] == list(range(1, 25))
    assert rtl["counters"]["merge.jump_drops"] == 3 and "mold.gaps" not in rtl["counters"]


def test_confirmed_jump_on_both_feeds_declares_the_gap():
    m, pk = _setup(60)
    kept = pk[:2] + pk[12:]                # messages 7..36 lost on both feeds
    rtl = _ab(kept, kept, b_start=5, jump_window=8)           # B 5 cycles behind
    assert rtl["gaps"] == [(7, 30)] and rtl["counters"]["merge.jumps"] == 1
    assert rtl["seqs"] == list(range(1, 7)) + list(range(37, 61))


def test_wrong_count_and_lying_length():
    m, pk = _setup()
    few = pk[2][:18] + (1).to_bytes(2, "big") + pk[2][20:]      # count 1, 3 blocks
    lie = bytearray(pk[4])
    lie[21] ^= 0x01                          # first block: length 18, a D is 19
    a = pk[:2] + [few, pk[3], bytes(lie)] + pk[5:]
    rtl = _ab(a, pk)
    assert rtl["seqs"] == list(range(1, 25))
    assert rtl["counters"]["mold.count_mismatch"] == 1
    assert rtl["counters"]["mold.bad_lengths"] == 1


def test_truncated_packets_filled_by_the_other_feed():
    m, pk = _setup()
    a = [p[:len(p) - 9] if k % 2 else p for k, p in enumerate(pk)]
    rtl = _ab(a, pk)
    assert rtl["seqs"] == list(range(1, 25)) and rtl["counters"]["mold.overruns"] == 4


def test_foreign_session_dropped_and_counted():
    m, pk = _setup()
    foreign = [b"OTHERSESS1" + p[10:] for p in pk[2:5]]
    a = pk[:2] + foreign + pk[5:]
    rtl = _ab(a, pk)
    assert rtl["seqs"] == list(range(1, 25))
    assert rtl["counters"]["mold.session_mismatch"] == 3


def test_heartbeats_short_and_end_of_session():
    m, pk = _setup()
    a = [pk[0], mold.heartbeat(SESSION, 4), pk[1], SESSION.encode()[:7],
         *pk[2:], mold.end_of_session(SESSION, 25)]
    rtl = _ab(a, pk)
    c = rtl["counters"]
    assert c["mold.heartbeats"] == 1 and c["mold.short_packets"] == 1
    assert c["mold.end_of_session"] == 1 and rtl["seqs"] == list(range(1, 25))


def test_one_forged_far_heartbeat_does_not_move_expected():
    """A heartbeat naming a sequence number far beyond the jump window on one feed is
    an unconfirmed claim: E stays, nothing is declared."""
    m, pk = _setup()
    a = pk[:3] + [mold.heartbeat(SESSION, 10**12)] + pk[3:]
    rtl = _ab(a, pk, b_start=60, jump_window=8)
    assert rtl["seqs"] == list(range(1, 25)) and rtl["expected"] == 25
    assert rtl["counters"]["merge.jump_drops"] == 1 and "mold.gaps" not in rtl["counters"]


def test_end_of_session_on_both_feeds_confirms_a_far_gap():
    """Messages 13..24 lost on both feeds, then End of Session (25) on both, beyond the
    jump window: the other feed's copy confirms the claim, the gap is declared at once
    and E = 25 with nothing delivered for it."""
    m, pk = _setup()
    eos = mold.end_of_session(SESSION, 25)
    kept = pk[:4] + [eos]
    rtl = _ab(kept, kept, b_start=5, jump_window=8)
    assert rtl["gaps"] == [(13, 12)] and rtl["counters"]["merge.jumps"] == 1
    assert rtl["seqs"] == list(range(1, 13)) and rtl["expected"] == 25


def test_the_hold_window_counts_packet_starts_once_a_head_waits():
    """Both feeds lose a packet, B 3 cycles behind A, the window ends after 3 packet
    starts. The window runs from the cycle a held message's head shows, not from the
    hold: the RTL's window once also ran on the hold itself, and when the next holds
    covered the cycle before the head showed it counted a packet start the model does
    not, declaring the gap a packet early (rtl/rx/merge/hold_window.py; the fuzz case
    qinq-both, seed 4, where a full hold buffer then kept one message the model's had
    no room for). Depth 4 fills the buffers; depth 6 does not."""
    m = msgs(90, random.Random(3))
    kept = [p for k, p in enumerate(packets(m)) if k != 4]
    for depth in (4, 6):
        rtl, model = run(schedule(kept), schedule(kept, start=3), depth=depth,
                         hold_packets=3, hold_cycles=100_000)
        _check(rtl, model)
        assert rtl["gaps"][0] == (13, 3)        # the lost packet: seqs 13-15


def _tiny_jump():
    """120 12-byte messages in packets of 12 (one message every 1.75 cycles, often in
    consecutive cycles); `kept` lost 13..48, `only` lost 13..84."""
    from tickwire.model import itch
    m = [itch.encode("S", event_code="Q", locate=0) for _ in range(120)]
    pk = packets(m, per=12)
    return pk[:1] + pk[4:], pk[:1] + pk[7:]


def test_jump_confirmed_by_back_to_back_messages():
    """A jump beyond the window in back-to-back messages, confirmed by the other feed's
    copy 1-5 cycles later (either feed first), or by the same feed's next packet. The
    claim's target moves in the cycle before the next message is judged (the same port
    continuing its claim, the other port's copy starting), where the sequencer takes
    MoldPort's compare against the new target (Sequencer._claim, `upd_r`). Found here:
    B's copy of the claim's start beside A's next message in the same cycle was
    dropped (12 messages lost) where the model confirmed. And with A 2, 4 or 5 cycles
    behind, A's copy confirmed beside B's next message, which the model judges against
    the new E (delivered or held) and the RTL dropped as a jump: now it is held and
    judged from the buffer (Sequencer `keep1`; the counters differed, jump drop against
    duplicate)."""
    kept, only = _tiny_jump()
    for lag in (1, 2, 3, 4, 5, -1, -2, -3, -4, -5):
        rtl, model = run(schedule(kept, start=max(0, -lag)), schedule(kept, start=max(0, lag)),
                         jump_window=8)
        _check(rtl, model)
        assert rtl["gaps"] == [(13, 36)] and rtl["counters"]["merge.jumps"] == 1
        assert rtl["seqs"] == list(range(1, 13)) + list(range(49, 121))
    # A alone has 49..84; B's first packet after the loss (85) starts a claim of its own
    rtl, model = run(schedule(kept), schedule(only, start=30), jump_window=8)
    _check(rtl, model)
    assert rtl["seqs"][:12] == list(range(1, 13)) and rtl["seqs"][-1] == 120


def test_jump_confirmed_beside_a_delivery():
    """One feed lost 13..72: its packet at 73 is beyond the jump window and its next one
    (85) confirms it, while the other feed, in step, delivers its copy of E in that very
    cycle. The delivery goes first, the gap runs from the next number, and 85 goes out a
    cycle later (Sequencer._jump_out, the model's Arbiter._beside). The RTL used to let
    the delivery win and drop 85 as a new claim: in step, no jump was ever confirmed (on
    the 1 M-message drifting A/B run two packets were lost that way). Either feed
    jumping, the feeds in step and a few cycles apart."""
    from tickwire.model import itch
    pk = packets([itch.encode("S", event_code="Q", locate=0) for _ in range(240)], per=12)
    jumped = pk[:1] + pk[6:]
    for lag in (0, 2, -2):
        for a, b in ((pk, jumped), (jumped, pk)):
            rtl, model = run(schedule(a, start=max(0, lag)), schedule(b, start=max(0, -lag)),
                             jump_window=8)
            _check(rtl, model)
            (first, count), = rtl["gaps"]
            assert first + count == 85 and rtl["counters"]["merge.jumps"] == 1
            assert rtl["seqs"] == list(range(1, first)) + list(range(85, 241))


def test_far_flag_is_last_cycles_compare():
    """MoldPort compares a live message with E + window a cycle ahead, so in the cycle
    after a delivery (or beside port A's delivery in the same cycle) a message exactly
    at the window's edge is beyond it: a jump drop (a claim if first), not held. Feed B
    lost 13..20 and runs ahead of A, window 8, 4-message packets: its messages sit at
    the edge while A delivers. The model judged them against E after those deliveries
    (other drops, claims and a jump than the RTL's at these lags)."""
    from tickwire.model import itch
    pk = packets([itch.encode("S", event_code="Q", locate=0) for _ in range(120)], per=4)
    b = [p for k, p in enumerate(pk) if k not in (3, 4)]
    for lag in (1, 2, 3, 8, 9):
        rtl, model = run(schedule(pk, start=lag), schedule(b), jump_window=8)
        _check(rtl, model)


def test_jump_competing_claims():
    """Each feed jumps beyond the window to a different number: A has lost 13..84, B
    (24-36 cycles later) only 13..48, so A's 85 and B's 49 are competing claims, and
    their far messages often arrive in the same cycle. The claim must be the model's
    (A's message judged, then B's): before, any far message on A hid B's in that cycle,
    so B's claim stopped growing and its next packet started a new claim instead of
    confirming: the RTL declared [13, 85), the model [13, 73) (12 messages lost more)."""
    kept, only = _tiny_jump()
    for lag in (24, 28, 30, 33, 36):
        for a, b in ((schedule(only), schedule(kept, start=lag)),
                     (schedule(kept, start=lag), schedule(only))):
            rtl, model = run(a, b, jump_window=8)
            _check(rtl, model)
    rtl, model = run(schedule(only), schedule(kept, start=30), jump_window=8)
    assert rtl["gaps"] == [(13, 60)] and rtl["seqs"] == list(range(1, 13)) + list(range(73, 121))


def test_jump_on_both_feeds_in_step():
    """Both feeds lose 13..48 (past the jump window) and arrive in step: each packet's
    first far message on A and B's copy of it in the same cycle, for every lane
    pair. The model judges A's (a new claim), then B's copy, which confirms it. Found
    here: the RTL never confirmed (B's copy was hidden behind A's new claim at every
    packet) and dropped all 108 messages after the gap, the rest of the session; now
    B's copy confirms through MoldPort's same-cycle compare (SeqRel c_same)."""
    kept, _only = _tiny_jump()
    for lane_a, lane_b in ((0, 0), (3, 3), (4, 0), (0, 4), (7, 7), (2, 5)):
        rtl, model = run(schedule(kept), schedule(kept), jump_window=8, lane_a=lane_a,
                         lane_b=lane_b)
        _check(rtl, model)
        assert rtl["gaps"] == [(13, 36)] and rtl["counters"]["merge.jumps"] == 1
        assert rtl["seqs"] == list(range(1, 13)) + list(range(49, 121))
