"""Append-only, hash-chained audit trail of every mutating control-plane call.

Why a chain: the log is evidence of who changed a limit or pulled the kill switch.
Each entry carries the previous entry's hash and its own hash over its canonical JSON,
so editing, deleting or reordering any line breaks every later link, and
`tickwire audit verify` names the first broken entry.
"""
import hashlib
import json
import os
import threading
import time

GENESIS = "0" * 64


def _digest(entry):
    body = {k: v for k, v in entry.items() if k != "hash"}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()


class AuditLog:
    def __init__(self, path):
        self.path = str(path)
        self.lock = threading.Lock()
        self.prev = GENESIS
        self.seq = 0
        if os.path.exists(self.path):
            ok, n, bad, why = verify(self.path)
            if not ok:
                raise ValueError(f"{self.path}: audit chain broken at entry {bad}: {why} "
                                 "(move the file aside to start a new chain)")
            self.seq, self.prev = n, _last_hash(self.path)

    def append(self, who, role, action, request=None, before=None, after=None, result="OK"):
        with self.lock:
            entry = {"seq": self.seq, "time": time.time(), "who": who, "role": role,
                     "action": action, "request": request, "before": before, "after": after,
                     "result": result, "prev_hash": self.prev}
            entry["hash"] = _digest(entry)
            line = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str) + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            self.prev = entry["hash"]
            self.seq += 1
            return entry


def _last_hash(path):
    last = None
    with open(path) as f:
        for line in f:
            if line.strip():
                last = line
    return json.loads(last)["hash"] if last else GENESIS


def verify(path):
    """(ok, entries, first_bad_index or None, reason) for the chain in `path`."""
    prev, n = GENESIS, 0
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                return False, n, n, f"line {lineno}: not JSON"
            if not isinstance(entry, dict) or "hash" not in entry:
                return False, n, n, f"line {lineno}: no hash"
            if entry.get("prev_hash") != prev:
                return False, n, n, f"line {lineno}: prev_hash does not match the previous entry"
            if entry.get("seq") != n:
                return False, n, n, f"line {lineno}: seq {entry.get('seq')} (expected {n})"
            if _digest(entry) != entry["hash"]:
                return False, n, n, f"line {lineno}: hash does not match the entry's content"
            prev, n = entry["hash"], n + 1
    return True, n, None, ""
