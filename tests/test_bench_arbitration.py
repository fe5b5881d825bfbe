"""The A/B arbitration bench's measurement (tools/build/bench/arbitration.py) on a few
packets: a loss on the leading feed adds about the other feed's skew, a loss on the
lagging feed or none adds nothing."""
import random

from tickwire.model import mold
from tickwire.tools.build.bench import arbitration as arb


def _packets(n=40):
    msgs = arb._messages(random.Random(1))[:n]
    return [p for _, p in mold.pack(msgs, arb.SESSION, 1, msgs_per_packet=4)]


def test_loss_adds_the_skew_only_on_the_leading_feed():
    pk, skew = _packets(), 60
    every = list(range(1, 41))
    seqs, clean = arb.run_case(pk, skew, lambda k: True)
    assert seqs == every and len(set(clean)) == 1
    base = clean[0]
    seqs, lead = arb.run_case(pk, skew, lambda k: k != 3)
    assert seqs == every
    assert skew - 30 < max(lead) - base <= skew     # A's later messages wait for B's copy
    seqs, lag = arb.run_case(pk, skew, lambda k: True, keep_b=lambda k: k != 3)
    assert seqs == every and max(lag) == base
