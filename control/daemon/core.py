"""The daemon's state machine, independent of gRPC: limits, kill switch, heartbeat.

Why separate from the servicer: these rules (versioned limits, nothing applied on a
bad file, state re-applied at start, fail closed on every fault) are what must be
right; the RPC layer only translates. Tests drive this class directly with a fake
transport.

Fail closed, concretely: the state is written before the card; a state write that fails
leaves the card unchanged, or (when the card must change anyway, e.g. a kill) marks the
daemon *degraded* with the global kill switch engaged. Missing, empty or corrupt state
at start *holds* the card with the kill switch engaged until an operator's `kill off`.
A tripped watchdog (seen on the card, or a previous daemon that stopped without a clean
shutdown: its heartbeats stopped) is latched in the state and survives restarts.
"""
import dataclasses
import json
import threading
import time

import yaml

from tickwire.model import limits as limits_model

from . import fsguard, slots
from . import watchdog as watchdog_mod
from .card import CardHandle

MIN_FREE_BYTES = 16 << 20          # disk margin kept free where state and audit are written
DAEMON = "daemon"                  # `who` of the daemon's own audit entries
TRIP_CHECK_S = 0.1                 # how often the heartbeat thread looks for a watchdog trip


_SYM_KEYS = [f.name for f in dataclasses.fields(limits_model.Symbol) if f.name != "name"]
_ACCT_KEYS = [f.name for f in dataclasses.fields(limits_model.Account)
              if f.name not in ("name", "positions")]


class Conflict(Exception):
    """The caller's expected limits version is not the current one."""


class Heartbeat:
    """Background thread writing the watchdog heartbeat strobe.

    If the daemon dies (even SIGKILL) the heartbeats stop and the card's watchdog
    engages the kill switch after `risk.watchdog_cycles`: no daemon, no orders.
    """

    def __init__(self, card, interval_s, on_trip=None):
        self.card, self.interval, self.on_trip = card, interval_s, on_trip
        self.sent, self.errors, self.last, self._checked = 0, 0, None, float("-inf")
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.card.heartbeat()
                self.sent += 1
                self.last = time.monotonic()
                if self.on_trip and self.last - self._checked >= TRIP_CHECK_S:
                    self._checked = self.last         # a status read at most every 100 ms
                    if self.card.kill_state()["tripped"]:
                        self.on_trip()
            except OSError:
                self.errors += 1
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)


def summary(lim):
    """Limits -> plain dict keyed by names (for diffs and the API).

    Built field by field (dataclasses.asdict deep-copies every position tuple: seconds
    at 256 accounts x 1000 symbols)."""
    syms = [s.name for s in lim.symbols]
    out = {"symbols": {}, "accounts": {}}
    for s in lim.symbols:
        out["symbols"][s.name] = {k: getattr(s, k) for k in _SYM_KEYS}
    for a in lim.accounts:
        d = {k: getattr(a, k) for k in _ACCT_KEYS}
        pos = a.positions
        d["positions"] = {syms[slot]: pos[slot] for slot in range(len(syms)) if slot in pos}
        out["accounts"][a.name] = d
    return out


def diff(old, new, path=""):
    """Readable 'path: old -> new' lines between two summaries."""
    if old == new:                      # one C-level comparison for unchanged subtrees
        return []
    lines = []
    if isinstance(old, dict) and isinstance(new, dict):
        for k in list(old) + [k for k in new if k not in old]:
            p = f"{path}.{k}" if path else str(k)
            if k not in new:
                lines.append(f"{p}: removed")
            elif k not in old:
                lines.append(f"{p}: added {json.dumps(new[k], sort_keys=True)}")
            else:
                lines += diff(old[k], new[k], p)
    elif old != new:
        lines.append(f"{path}: {json.dumps(old)} -> {json.dumps(new)}")
    return lines


class Daemon:
    def __init__(self, transport, state, audit, device_name="device", watchdog_ms=1000,
                 windows=None, no_watchdog=False, min_free_bytes=MIN_FREE_BYTES):
        self.watchdog_cycles = watchdog_mod.validate(watchdog_ms, no_watchdog)
        self.card = CardHandle(transport, device_name, windows)
        self.device_name = device_name
        self.state = state
        self.audit = audit
        self.started = time.monotonic()
        self.limits_lock = threading.RLock()      # serialises every state-changing call
        self.watchdog_ms, self.no_watchdog = watchdog_ms, no_watchdog
        self.min_free = min_free_bytes
        self.held = list(state.problems)          # start-up problems: card held, kill engaged
        self.degraded = ""                        # a failed write after start: kill engaged
        self.trip_latch = ""                      # why the watchdog counts as tripped
        self._trip_recorded = False
        self.identity = self.card.check_identity()
        self.limits = None
        if state.limits_text:
            try:
                self.limits = self._parse(state.limits_text, str(state.limits_file))
            except limits_model.LimitsError as exc:
                self.held.append(f"{state.limits_file} is corrupt: {exc}")
        if self.held:
            state.kill_global = True              # the hold is a global kill until released
        self._summary = None              # (limits, summary(limits)) cache
        self.heartbeat = Heartbeat(self.card, max(watchdog_ms / 4000, 0.01), on_trip=self._on_trip)

    # ---- audit of the daemon's own events ---------------------------------------------
    def _audit(self, action, request=None, before=None, after=None, result="OK"):
        if not self.audit:
            return
        try:
            self.audit.append(DAEMON, "", action, request, before=before, after=after, result=result)
        except OSError as exc:
            if action != "Degraded":
                self._degrade(f"audit log write failed: {exc}")

    def _degrade(self, reason):
        """Fail closed after a write failed: global kill on the card, say why everywhere."""
        self.degraded = reason
        self.state.kill_global = True
        try:
            self.card.write("risk.kill", 1)
        except OSError:
            pass
        self._audit("Degraded", result=reason)

    def _check_space(self):
        fsguard.check_free_space(self.state.dir, self.min_free)

    def _save(self, **changes):
        """Set state fields and save them; on failure restore the fields and re-raise."""
        old = {k: getattr(self.state, k) for k in changes}
        for k, v in changes.items():
            setattr(self.state, k, v)
        try:
            self.state.save()
        except OSError:
            for k, v in old.items():
                setattr(self.state, k, v)
            raise

    # ---- start-up -------------------------------------------------------------------
    def _kill_mask(self, limits=None):
        return slots.kill_mask(limits or self.limits, self.state.kill_accounts, self.card.accounts)

    def _global_kill(self):
        return bool(self.state.kill_global or self.held or self.trip_latch or self.degraded)

    def restore(self):
        """Re-apply what the card forgot: limits, kill switches, subscriptions, watchdog;
        hold the card (kill engaged) when the state cannot be trusted."""
        st = self.state
        if self.held:
            self.card.write("risk.kill", 1)       # first, before anything else reaches the card
        if self.card.kill_state()["tripped"]:
            self.trip_latch = "the card reports the watchdog tripped"
        elif st.watchdog_tripped:
            self.trip_latch = "the watchdog tripped before this restart (latched in state.json)"
        elif st.running and not self.held:
            self.trip_latch = ("the previous daemon stopped without a clean shutdown "
                               "(its heartbeats stopped: the watchdog trips)")
        self._trip_recorded = bool(self.trip_latch)    # before the heartbeat thread looks
        if self.limits is not None:
            self.card.apply_limits(self._encode(self.limits))
        self.card.write("risk.kill", int(self._global_kill()))
        self.card.write("risk.kill_accounts", self._kill_mask())
        for sub in st.subscriptions:
            self.card.subscribe(sub["locate"], sub["slot"])
        self.heartbeat.start()
        self.card.heartbeat()
        self.card.write("risk.watchdog_cycles", self.watchdog_cycles)
        self._audit("Start", {"device": self.device_name},
                    after={"watchdog_ms": 0 if self.no_watchdog else self.watchdog_ms,
                           "held": self.held})
        if getattr(self.audit, "repaired", 0):
            self._audit("AuditTailRepaired", result=f"a torn last line ({self.audit.repaired} "
                        f"bytes, never checkpointed) was moved to {self.audit.path}.torn")
        if self.no_watchdog:
            self._audit("WatchdogDisabled", result="--no-watchdog: the card's watchdog is off")
        self._audit("StateReapplied", after={
            "limits_version": st.limits_version, "kill_global": st.kill_global,
            "kill_accounts": st.kill_accounts, "subscriptions": len(st.subscriptions)})
        if self.trip_latch:
            self._audit("WatchdogTrip", result=self.trip_latch)
        if self.held:
            self._audit("Held", result="; ".join(self.held))
            return                                # keep the evidence: state.json is not rewritten
        try:
            self._save(running=True, watchdog_tripped=bool(self.trip_latch))
        except OSError as exc:
            self.held.append(f"{st.file} cannot be written: {exc}")
            self.card.write("risk.kill", 1)

    def _on_trip(self):
        """The heartbeat thread saw the card's watchdog tripped: latch and audit, once.

        Checked again under the state lock: an operator's "kill off" may have released
        the card between the heartbeat thread's read and this call, and must not be
        undone by a stale observation (it re-engaged the global kill once in CI)."""
        with self.limits_lock:
            if self._trip_recorded or not self.card.kill_state()["tripped"]:
                return
            self._trip_recorded = True
            self.trip_latch = self.trip_latch or "the card's watchdog tripped (heartbeats late)"
            try:
                self._save(watchdog_tripped=True)
            except OSError as exc:
                self._degrade(f"{self.state.file}: cannot record the watchdog trip: {exc}")
            self._audit("WatchdogTrip", result=self.trip_latch)

    def close(self):
        self.heartbeat.stop()
        if not self.held:
            try:
                self._save(running=False)
            except OSError:
                pass
        self._audit("Stop")

    def status_flags(self):
        return {"held": "; ".join(self.held), "degraded": self.degraded,
                "trip": self.trip_latch}

    def kill_state(self):
        """The card's kill state, with a latched trip reported as tripped."""
        k = self.card.kill_state()
        if self.trip_latch:
            k["tripped"] = True
        return k

    # ---- limits ---------------------------------------------------------------------
    def _parse(self, text, fname):
        return limits_model.parse(text, fname, max_accounts=self.card.accounts,
                                  max_slots=self.card.slots)

    def summary(self):
        """summary() of the active limits, computed once per accepted set."""
        if self.limits is None:
            return {"symbols": {}, "accounts": {}}
        if self._summary is None or self._summary[0] is not self.limits:
            self._summary = (self.limits, summary(self.limits))
        return self._summary[1]

    def _encode(self, lim):
        return limits_model.encode(lim, accounts=self.card.accounts, slots=self.card.slots)

    def _check_version(self, expected):
        if expected is not None and expected != self.state.limits_version:
            raise Conflict(f"limits version is {self.state.limits_version}, you expected "
                           f"{expected}: someone else changed them; review and retry")

    def load_limits(self, text, fname, expected=None, dry_run=False):
        """Validate, diff and (unless dry_run) apply a whole file. Returns (applied, version, diff).

        State first, then the card: a failed state write leaves the card unchanged; a
        failed card write after the state was saved degrades the daemon (kill engaged)."""
        new = self._parse(text, fname or "<limits>")    # LimitsError: nothing applied
        with self.limits_lock:
            self._check_version(expected)
            new_summary = summary(new)
            changes = diff(self.summary(), new_summary)
            if dry_run:
                return False, self.state.limits_version, changes
            self._check_space()
            old_mask = self._kill_mask()
            self.state.save_limits(text, fname or "<limits>", self.state.limits_version + 1)
            new_mask = self._kill_mask(new)
            try:
                self.card.write("risk.kill_accounts", old_mask | new_mask)   # never a gap
                self.card.apply_limits(self._encode(new))
                self.card.write("risk.kill_accounts", new_mask)
            except OSError as exc:
                self._degrade(f"limits version {self.state.limits_version} saved but the card "
                              f"write failed: {exc}")
                raise
            self.limits, self._summary = new, (new, new_summary)
            return True, self.state.limits_version, changes

    def set_limit(self, kind, name, field, value, expected=None, dry_run=False, create=False):
        """Change one field of one symbol or account, then apply the whole set. An unknown
        name is an error (a typo must not create an account) unless `create`."""
        key, listname = {"symbol": ("symbol", "symbols"), "account": ("account", "accounts")}.get(
            kind, (None, None))
        if key is None:
            raise ValueError(f"kind must be symbol or account, not {kind!r}")
        if not field or len(field) > 64 or len(value) > 256 or len(name) > 64:
            raise ValueError("name, field or value too long (64, 64, 256 characters)")
        with self.limits_lock:
            self._check_version(expected)
            version = self.state.limits_version
            data = yaml.safe_load(self.state.limits_text) if self.state.limits_text else {"version": 1}
        entries = data.setdefault(listname, []) or []
        data[listname] = entries
        entry = next((e for e in entries if str(e.get(key)) == name), None)
        if entry is None:
            if not create:
                known = ", ".join(str(e.get(key)) for e in entries[:20]) or "none"
                raise ValueError(f"unknown {kind} {name[:40]!r} (known: {known}); give --create "
                                 f"to add a new {kind}")
            entry = {key: name}
            entries.append(entry)
        parts = field.split(".")
        node = entry
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"{field}: {p} is not a mapping")
        node[parts[-1]] = value
        text = yaml.safe_dump(data, sort_keys=False)
        return self.load_limits(text, f"<set {kind} {name} {field}>",
                                expected=version, dry_run=dry_run)

    # ---- kill switch ----------------------------------------------------------------
    def account_index(self, account):
        return slots.account_slot(self.limits, account, self.card.accounts)

    def _apply_kill(self):
        self.card.write("risk.kill", int(self._global_kill()))
        self.card.write("risk.kill_accounts", self._kill_mask())

    def set_kill(self, engage, account=None):
        """Global or per-account (by name) kill. A release saves the state first (a failed
        write leaves the card killed). An engage reaches the card first, then the state:
        a slow or full disk must never delay a kill; if the state cannot be saved the
        daemon is degraded with the global kill engaged."""
        if engage:
            self._engage_now(account)
        with self.limits_lock:
            names = list(self.state.kill_accounts)
            if account in (None, ""):
                change = {"kill_global": bool(engage)}
                if not engage:
                    change.update(watchdog_tripped=False, running=True)
            else:
                self.account_index(account)           # known name with a kill bit, or ValueError
                names = [n for n in names if n != account] + ([account] if engage else [])
                change = {"kill_accounts": names}
            try:
                self._check_space()
                self._save(**change)
            except OSError as exc:
                if not engage:
                    raise                             # card unchanged: still killed
                for k, v in change.items():
                    setattr(self.state, k, v)
                self._degrade(f"kill switch change could not be saved: {exc}")
                self._apply_kill()
                raise OSError(exc.errno, f"kill engaged on the card, but the state could not "
                                         f"be saved ({exc}): daemon degraded, global kill engaged")
            if account in (None, "") and not engage:
                was = self.status_flags()
                if self.card.kill_state()["tripped"]:
                    self.card.write("risk.watchdog_release", 1)     # an explicit "off" resumes
                self.held, self.degraded, self.trip_latch = [], "", ""
                self._trip_recorded = False
                if was["held"] or was["degraded"] or was["trip"]:
                    self._audit("Recovery", before=was, after={"kill_global": False})
            self._apply_kill()
            return self.kill_state()

    def _engage_now(self, account):
        """Engage on the card before taking the state lock (a limits load may hold it)."""
        if account in (None, ""):
            self.card.write("risk.kill", 1)
        else:
            slot = self.account_index(account)
            self.card.set_kill(True, slot)

    def killed_accounts(self):
        return list(self.state.kill_accounts)

    # ---- subscriptions and book -----------------------------------------------------
    def subscribe(self, locate, slot, symbol="", unsubscribe=False):
        if not 0 <= slot < 64 or not 0 <= locate < 1 << 16:
            raise ValueError("slot must be 0..63 and locate 0..65535")
        if len(symbol) > 8:
            raise ValueError("symbol longer than 8 characters")
        with self.limits_lock:
            self._check_space()
            self.card.subscribe(locate, slot, unsubscribe)
            subs = [s for s in self.state.subscriptions if s["locate"] != locate]
            if not unsubscribe:
                subs = [s for s in subs if s["slot"] != slot]
                subs.append({"locate": locate, "slot": slot, "symbol": symbol})
            self._save(subscriptions=sorted(subs, key=lambda s: s["slot"]))
            return self.state.subscriptions

    def resolve_symbol(self, symbol):
        return slots.symbol_slot(self.limits, self.state.subscriptions, symbol)
