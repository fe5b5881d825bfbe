"""Recovery policy: gap -> other feed -> re-request -> snapshot, with metrics, audit and
state that survives a restart.

Why: the card flags every book stale on a real gap and waits; the daemon decides
how the books become exact again, tells operators what happened and must not lose
track of an open gap if it restarts mid-recovery. Policy (docs/recovery.md):
1. a gap event (first, count) is recorded in `recovery.json` (state directory,
   atomic write) before anything is asked of the exchange;
2. after `other_feed_s` the card is asked what is still missing: a gap the other
   feed filled meanwhile is counted `filled_by_other_feed`;
3. the rest is re-requested (RerequestClient: split, rate-limited, retried with
   back-off) and injected in sequence; complete -> `recovered`;
4. a fetch that gives up, a gap longer than `max_rerequest` messages, no request
   server, or a card asking for one (its `snapshot_reason`) -> `abandoned`, and a
   GLIMPSE snapshot is loaded instead; `tickwire recover` forces one.
Every recovery ends with one audit entry (`Recovery`: gap, outcome, messages,
seconds). On start, gaps left open in `recovery.json` by a previous daemon are
recovered first (a restart during recovery loses nothing).
"""
import json
import os
import threading
import time
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from ..fsguard import read_text
from ..state import atomic_write

STATE_FILE = "recovery.json"


class RecoveryMetrics:
    def __init__(self, registry):
        kw = {"registry": registry}
        self.gaps = Counter("tickwire_recovery_gaps", "Real gaps the card reported.", **kw)
        self.filled = Counter("tickwire_recovery_filled_by_other_feed",
                              "Gaps the other feed filled before a re-request.", **kw)
        self.recovered = Counter("tickwire_recovery_recovered",
                                 "Gaps filled by re-request.", **kw)
        self.abandoned = Counter("tickwire_recovery_abandoned",
                                 "Gaps given up on (a snapshot was taken instead).", **kw)
        self.rerequested = Counter("tickwire_recovery_messages_rerequested",
                                   "Messages asked of the request server.", **kw)
        self.snapshots = Counter("tickwire_recovery_snapshots", "Snapshots loaded.", **kw)
        self.exact_s = Histogram("tickwire_recovery_gap_to_exact_seconds",
                                 "Time from a gap to the books being exact again.",
                                 buckets=(.001, .005, .01, .05, .1, .5, 1, 5, 30, 120), **kw)
        self.stale = Gauge("tickwire_recovery_stale_books", "Books stale now.", **kw)


class RecoveryManager:
    """card: FeedCard-like (events queue, missing, inject, load_snapshot, stale_locates,
    snapshot_wanted). rerequest/glimpse: clients or None. audit(action, request,
    result) writes one entry."""

    def __init__(self, card, state_dir, rerequest=None, glimpse=None, audit=None,
                 registry=None, other_feed_s=0.0, max_rerequest=100_000, poll_s=0.01):
        self.card, self.rerequest, self.glimpse = card, rerequest, glimpse
        self.path = Path(state_dir) / STATE_FILE
        self.audit = audit or (lambda *a, **k: None)
        self.metrics = RecoveryMetrics(registry) if registry is not None else None
        self.other_feed_s, self.max_rerequest, self.poll_s = other_feed_s, max_rerequest, poll_s
        self.lock = threading.RLock()
        self.pending = []              # [first, count, wall time seen]
        self.state = "idle"
        self.last = ""                 # outcome of the last recovery
        self.totals = dict(gaps=0, filled_by_other_feed=0, recovered=0, abandoned=0,
                           messages_rerequested=0, snapshots=0)
        self._retry_at, self._retry_s, self._last_failure = 0.0, 0.0, ""
        self._force = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._load()

    # ------------------------------------------------------------ persistence
    def _load(self):
        if self.path.exists():
            try:
                data = json.loads(read_text(self.path))
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                raise ValueError(f"{self.path} is corrupt ({exc}): the open gaps it records "
                                 f"are unknown; move it aside to start afresh (the books "
                                 f"then recover from a snapshot: `tickwire recover`)") from None
            # [first, count, seen, restored]: a restored gap may be gone from the card
            self.pending = [list(p[:3]) + [True] for p in data.get("pending", [])]
            self.totals.update(data.get("totals", {}))
            if data.get("snapshot_pending"):
                self._force.set()

    def _save(self):
        atomic_write(self.path, json.dumps({"pending": [p[:3] for p in self.pending],
                                            "totals": self.totals,
                                            "snapshot_pending": self._force.is_set()},
                                           sort_keys=True))

    def _bump(self, name, n=1):
        self.totals[name] += n
        if self.metrics:
            {"gaps": self.metrics.gaps, "filled_by_other_feed": self.metrics.filled,
             "recovered": self.metrics.recovered, "abandoned": self.metrics.abandoned,
             "messages_rerequested": self.metrics.rerequested,
             "snapshots": self.metrics.snapshots}[name].inc(n)

    # ------------------------------------------------------------ driving
    def start(self):
        self._thread = threading.Thread(target=self._run, name="recovery", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def force_snapshot(self):
        """`tickwire recover`: load a snapshot at the next step."""
        with self.lock:
            self._force.set()
            self._save()

    def _run(self):
        while not self._stop.is_set():
            try:
                busy = self.step()
            except Exception as exc:    # noqa: BLE001  the loop must outlive any one failure
                self.last = f"recovery step failed: {exc!r}"
                self.audit("Recovery", {"error": type(exc).__name__}, f"FAILED: {exc!r}")
                busy = False
                self._stop.wait(1.0)
            if not busy:
                self._stop.wait(self.poll_s)

    def step(self):
        """One unit of work; False when there was nothing to do."""
        with self.lock:
            while not self.card.events.empty():
                first, count = self.card.events.get_nowait()
                self.pending.append([first, count, time.time(), False])
                self._bump("gaps")
                self._save()
            if self.metrics:
                self.metrics.stale.set(len(self.card.stale_locates()))
            snap = (self._force.is_set() or self.card.snapshot_wanted) and \
                time.monotonic() >= self._retry_at
            why = "forced" if self._force.is_set() else \
                getattr(self.card, "snapshot_reason", "the card asked") if snap else ""
            if not snap and not self.pending:
                self.state = "idle"
                return False
            if not snap:
                first, count, seen, restored = self.pending[0]
        if snap:                     # outside the lock: status stays answerable meanwhile
            self._snapshot(why)
            return True
        if time.time() - seen < self.other_feed_s and not restored:
            return False
        self._recover(first, count, seen, restored)
        return True

    def _recover(self, first, count, seen, restored=False):
        self.state = f"re-requesting {first}+{count}"
        missing = self.card.missing(first, count)
        if missing is None and restored:
            # recorded by a previous daemon, not open on the card now (a card that
            # restarted with the daemon, like the model card, starts afresh)
            self._done(first, count, seen, "no longer open on the card after a restart",
                       None, 0)
            return
        if missing is None:
            self._done(first, count, seen, "filled by the other feed", "filled_by_other_feed", 0)
            return
        lo, n = missing
        if self.rerequest is None or n > self.max_rerequest:
            self._abandon(first, count, seen, "no request server" if self.rerequest is None
                          else f"{n} messages > max_rerequest {self.max_rerequest}")
            return
        res = self.rerequest.fetch(lo, n, self.card.inject)
        self._bump("messages_rerequested", res.requested)
        if res.complete or self.card.missing(first, count) is None:
            self._done(first, count, seen, f"recovered {res.delivered} messages in "
                       f"{res.requests} requests", "recovered", res.delivered)
        else:
            self._abandon(first, count, seen, f"request server gave {res.delivered} of {n} "
                          f"messages after {res.requests} requests")

    def _done(self, first, count, seen, outcome, metric, messages):
        with self.lock:
            if metric:
                self._bump(metric)
            self.pending = [p for p in self.pending if p[:2] != [first, count]]
            self._save()
            secs = time.time() - seen
            if self.metrics:
                self.metrics.exact_s.observe(secs)
            self.last = outcome
        self.audit("Recovery", {"first": first, "count": count},
                   f"{outcome}; books exact after {secs:.3f} s")

    def _abandon(self, first, count, seen, why):
        with self.lock:
            self._bump("abandoned")
            self.pending = [p for p in self.pending if p[:2] != [first, count]]
            self._save()
        self.audit("Recovery", {"first": first, "count": count}, f"abandoned: {why}")
        self._snapshot(f"gap {first}+{count} abandoned")

    def _snapshot(self, why):
        self.state = "snapshot"
        t0 = time.time()
        with self.lock:
            self._force.set()
            self._save()
        if self.glimpse is None:
            self.state = "stale: no GLIMPSE server configured"
            self._failed(why, "no GLIMPSE server configured")
            return
        try:
            msgs, nxt = self.glimpse.snapshot()
        except Exception as exc:     # noqa: BLE001  any failure: stay stale, say why, retry
            self.state = "stale: snapshot failed"
            self._failed(why, str(exc))
            return
        self.card.load_snapshot(msgs, nxt)
        self._retry_s, self._last_failure = 0.0, ""
        with self.lock:
            oldest = min([p[2] for p in self.pending] + [t0])
            self.pending = []
            self._force.clear()
            self._bump("snapshots")
            self._save()
            if self.metrics:
                self.metrics.exact_s.observe(time.time() - oldest)
            self.last = f"snapshot loaded ({why}): {len(msgs)} messages, resumed at {nxt}"
        self.audit("Recovery", {"snapshot": why}, self.last)

    def _failed(self, why, error):
        """A snapshot that could not be taken: books stay stale; retried after a back-off
        (1 s doubling to 60 s); audited once per distinct failure, not once per try."""
        self.last = f"snapshot needed ({why}) but failed: {error}"
        self._retry_s = min(60.0, self._retry_s * 2 or 1.0)
        self._retry_at = time.monotonic() + self._retry_s
        if error != self._last_failure:
            self._last_failure = error
            self.audit("Recovery", {"snapshot": why}, f"FAILED: {error}")

    def status(self):
        with self.lock:
            return {"state": self.state, "pending": [p[:2] for p in self.pending],
                    "stale_locates": self.card.stale_locates(), "last": self.last,
                    **self.totals}


def private_state_dir(path):
    """The recovery state lives beside state.json: same checks (fsguard)."""
    from ..fsguard import ensure_private_dir
    return ensure_private_dir(os.fspath(path))
