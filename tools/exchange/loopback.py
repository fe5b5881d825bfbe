"""The whole recovery loop on one machine, in one command: a two-feed capture that
loses packets on both ports drives the model card; the daemon's recovery manager
re-requests from the MoldUDP64 request server and falls back to GLIMPSE; at the end
the books are compared with the oracle (the complete session through the reference
book). Exit 0 when they are equal and nothing is stale.

    python -m tickwire.tools.exchange.loopback FULL.itch [--loss-a 0.02 --loss-b 0.02]
        [--both-packets 3,40,41] [--skew-b 20] [--silent-server] [--join-at-packet K]

Why: the issue's "done when" asks for the loop to work from a clean clone; this is
that loop without a card, a network or a second terminal (the same parts the daemon
uses: control/daemon/recovery, tools/exchange).
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from tickwire.model import book as book_model
from tickwire.tools.feeds import itch_file, lossy


def oracle(msgs, subs):
    ref = book_model.BookModel(subs)
    for i, m in enumerate(msgs, 1):
        ref.apply(book_model.decode(m, i))
    return {loc: tuple(ref.top(loc, s, 1 << 30) for s in (0, 1)) for loc in subs}


def run(msgs, loss_a=0.02, loss_b=0.02, both_packets=(), skew_b=20, silent=False,
        join_at_packet=None, seed=1, slots=None):
    from tickwire.control.daemon.recovery.feedcard import FeedCard
    from tickwire.control.daemon.recovery.glimpse import GlimpseClient
    from tickwire.control.daemon.recovery.manager import RecoveryManager
    from tickwire.control.daemon.recovery.rerequest import RerequestClient
    from .glimpse_server import GlimpseServer
    from .mold_server import Behaviour, MoldRequestServer

    locs = [int.from_bytes(m[1:3], "big") for m in msgs if m[:1] == b"R"]
    subs = {loc: i for i, loc in enumerate(locs[:slots] if slots else locs)}
    cap = lossy.two_feed(msgs, loss_a=loss_a, loss_b=loss_b, both_packets=both_packets,
                         skew_b=skew_b, seed=seed)
    published = {"n": 0}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="twloop-") as tmp:
        cred = Path(tmp) / "cred"
        cred.write_text("tw:pw")
        os.chmod(cred, 0o600)
        state = Path(tmp) / "state"
        state.mkdir(mode=0o700)
        with MoldRequestServer(msgs, behaviour=Behaviour(drop_prob=1.0 if silent else 0)) as ms, \
                GlimpseServer(msgs, {"tw": "pw"}, position=lambda: published["n"],
                              heartbeat_s=0.2) as gs:
            card = FeedCard(subs, join=join_at_packet is not None)
            audit = []
            mgr = RecoveryManager(card, state,
                                  RerequestClient(ms.address, "TICKWIRE01", timeout_s=0.05,
                                                  retries=3),
                                  GlimpseClient(gs.address, cred, heartbeat_s=0.2),
                                  audit=lambda *a: audit.append(a),
                                  registry=CollectorRegistry(), poll_s=0.002).start()
            for k, f in enumerate(cap.frames):
                if f.count not in (0, 0xFFFF):
                    published["n"] = max(published["n"], f.seq + f.count - 1)
                if join_at_packet is not None and k == join_at_packet:
                    mgr.force_snapshot()     # the card starts here: nothing before it
                if join_at_packet is None or k >= join_at_packet:
                    card.frame("b" if f.feed == "B" else "a", f.data)
            deadline = time.monotonic() + 60
            while (card.stale or mgr.status()["pending"]) and time.monotonic() < deadline:
                time.sleep(0.01)
            mgr.stop()
    st = mgr.status()
    equal = card.books() == oracle(msgs, subs)
    return {"books_equal_oracle": equal, "stale_locates": card.stale_locates(),
            "lost_on_both": len(cap.lost_both), "lost_a_only": len(cap.lost_a),
            "lost_b_only": len(cap.lost_b), "card": card.counts,
            "recovery": {k: v for k, v in st.items() if k not in ("stale_locates",)},
            "audit_entries": len(audit), "seconds": round(time.monotonic() - t0, 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tickwire.tools.exchange.loopback",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("itch", help="the complete session (ITCH BinaryFILE)")
    ap.add_argument("--loss-a", type=float, default=0.02)
    ap.add_argument("--loss-b", type=float, default=0.02)
    ap.add_argument("--both-packets", default="3,40,41,42",
                    help="packet indexes lost on both feeds (real gaps)")
    ap.add_argument("--skew-b", type=int, default=20)
    ap.add_argument("--silent-server", action="store_true",
                    help="the request server never answers: recovery by snapshot")
    ap.add_argument("--join-at-packet", type=int, help="the card starts at this capture frame")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    out = run(list(itch_file.read(a.itch)), a.loss_a, a.loss_b,
              [int(x) for x in a.both_packets.split(",") if x.strip()], a.skew_b,
              a.silent_server, a.join_at_packet, a.seed)
    print(json.dumps(out, indent=2))
    return 0 if out["books_equal_oracle"] and not out["stale_locates"] else 1


if __name__ == "__main__":
    sys.exit(main())
