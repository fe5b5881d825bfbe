"""The daemon's state machine, independent of gRPC: limits, kill switch, heartbeat.

Why separate from the servicer: these rules (versioned limits, nothing applied on a
bad file, state re-applied at start) are what must be right; the RPC layer only
translates. Tests drive this class directly with a fake transport.
"""
import dataclasses
import json
import threading
import time

import yaml

from tickwire.model import limits as limits_model

from tickwire.control.regmap import REGS

from .card import CLOCK_HZ, CardHandle


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

    def __init__(self, card, interval_s):
        self.card, self.interval = card, interval_s
        self.sent, self.errors, self.last = 0, 0, None
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
                 windows=None):
        self.card = CardHandle(transport, device_name, windows)
        self.device_name = device_name
        self.state = state
        self.audit = audit
        self.started = time.monotonic()
        self.limits_lock = threading.Lock()
        self.watchdog_ms = watchdog_ms
        self.identity = self.card.check_identity()
        self.limits = (self._parse(state.limits_text, str(state.limits_file))
                       if state.limits_text else None)
        self._summary = None              # (limits, summary(limits)) cache
        self.heartbeat = Heartbeat(self.card, max(watchdog_ms / 4000, 0.01))

    # ---- start-up -------------------------------------------------------------------
    def restore(self):
        """Re-apply what the card forgot: limits, kill switches, subscriptions, watchdog."""
        if self.limits is not None:
            self.card.apply_limits(self._encode(self.limits))
        self.card.write("risk.kill", int(self.state.kill_global))
        self.card.write("risk.kill_accounts", self.state.kill_accounts)
        for sub in self.state.subscriptions:
            self.card.subscribe(sub["locate"], sub["slot"])
        self.heartbeat.start()
        self.card.heartbeat()
        self.card.write("risk.watchdog_cycles", self.watchdog_ms * CLOCK_HZ // 1000)

    def close(self):
        self.heartbeat.stop()

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
        """Validate, diff and (unless dry_run) apply a whole file. Returns (applied, version, diff)."""
        new = self._parse(text, fname or "<limits>")    # LimitsError: nothing applied
        with self.limits_lock:
            self._check_version(expected)
            new_summary = summary(new)
            changes = diff(self.summary(), new_summary)
            if dry_run:
                return False, self.state.limits_version, changes
            self.card.apply_limits(self._encode(new))
            self.state.save_limits(text, fname or "<limits>", self.state.limits_version + 1)
            self.limits, self._summary = new, (new, new_summary)
            return True, self.state.limits_version, changes

    def set_limit(self, kind, name, field, value, expected=None, dry_run=False):
        """Change one field of one symbol or account, then apply the whole set."""
        with self.limits_lock:
            self._check_version(expected)
            version = self.state.limits_version
            data = yaml.safe_load(self.state.limits_text) if self.state.limits_text else {"version": 1}
        key, listname = {"symbol": ("symbol", "symbols"), "account": ("account", "accounts")}.get(
            kind, (None, None))
        if key is None:
            raise ValueError(f"kind must be symbol or account, not {kind!r}")
        entries = data.setdefault(listname, [])
        entry = next((e for e in entries if str(e.get(key)) == name), None)
        if entry is None:
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
        n = min(self.card.accounts, REGS["risk.kill_accounts"].width)
        i = self.limits.account_of(account) if self.limits is not None else None
        if i is None:
            try:
                i = int(account)
            except ValueError:
                raise ValueError(f"unknown account {account!r} (not in the limits set, not an index)") from None
        if not 0 <= i < n:
            raise ValueError(f"account {account!r}: index {i} out of range 0..{n - 1} "
                             f"(risk.kill_accounts has {n} bits)")
        return i

    def set_kill(self, engage, account=None):
        idx = None if account in (None, "") else self.account_index(account)
        self.card.set_kill(engage, idx)
        if idx is None and not engage and self.card.kill_state()["tripped"]:
            self.card.write("risk.watchdog_release", 1)     # an explicit "off" resumes
        k = self.card.kill_state()
        self.state.kill_global, self.state.kill_accounts = k["global"], k["accounts_mask"]
        self.state.save()
        return k

    def kill_names(self, mask):
        names = []
        for i in range(mask.bit_length()):
            if mask >> i & 1:
                acct = self.limits.accounts[i].name if self.limits and i < len(self.limits.accounts) else str(i)
                names.append(acct)
        return names

    # ---- subscriptions and book -----------------------------------------------------
    def subscribe(self, locate, slot, symbol="", unsubscribe=False):
        if not 0 <= slot < 64 or not 0 <= locate < 1 << 16:
            raise ValueError("slot must be 0..63 and locate 0..65535")
        self.card.subscribe(locate, slot, unsubscribe)
        subs = [s for s in self.state.subscriptions if s["locate"] != locate]
        if not unsubscribe:
            subs = [s for s in subs if s["slot"] != slot]
            subs.append({"locate": locate, "slot": slot, "symbol": symbol})
        self.state.subscriptions = sorted(subs, key=lambda s: s["slot"])
        self.state.save()
        return self.state.subscriptions

    def resolve_symbol(self, symbol):
        for s in self.state.subscriptions:
            if s["symbol"] and s["symbol"] == symbol:
                return s["slot"], symbol
        if self.limits is not None:
            slot = self.limits.slot_of(symbol)
            if slot is not None:
                return slot, symbol
        try:
            return int(symbol), symbol
        except ValueError:
            raise ValueError(f"unknown symbol {symbol!r} (not subscribed, not in the limits set)") from None
