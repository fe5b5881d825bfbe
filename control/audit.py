"""Append-only, keyed and anchored audit trail of every mutating control-plane call.

Why keyed: a plain hash chain can be recomputed by anyone who can edit the file. Each
entry's `hash` is an HMAC-SHA256 over its canonical JSON (which includes the previous
entry's hash) with a key kept in a separate file (`audit.key`, 0600; put it elsewhere
with --audit-key), so an edited entry cannot be re-sealed without the key.
Why anchored: deleting whole lines at the end leaves a valid chain. After every append
the entry count and last hash are written, sealed with the same key, to a separate
checkpoint file (`audit.checkpoint`); `verify` reports a log shorter than its checkpoint
as a missing tail.
Why clipped: a refused caller controls the request fields; every string longer than
CLIP characters is stored as its head, its length and its SHA-256, so a 3.9 MB name
costs a few hundred bytes, never megabytes.
"""
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from pathlib import Path

GENESIS = "0" * 64
CLIP = 256


def clip(value, limit=CLIP):
    """`value` with every long string replaced by head + length + digest."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        digest = hashlib.sha256(value.encode(errors="replace")).hexdigest()[:16]
        return f"{value[:64]}...[{len(value)} chars, sha256 {digest}]"
    if isinstance(value, dict):
        return {clip(str(k), 64): clip(v, limit) for k, v in list(value.items())[:64]}
    if isinstance(value, (list, tuple)):
        out = [clip(v, limit) for v in value[:64]]
        return out + [f"...[{len(value) - 64} more]"] if len(value) > 64 else out
    return value


def default_paths(log_path):
    """(key, checkpoint) beside the log: `audit.jsonl` -> `audit.key`, `audit.checkpoint`."""
    p = Path(log_path)
    return p.with_suffix(".key"), p.with_suffix(".checkpoint")


def load_key(key_path, create=False):
    """The HMAC key (hex in a 0600 file); created (O_EXCL) when `create` and missing."""
    key_path = Path(key_path)
    try:
        fd = os.open(key_path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        if not create:
            raise
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        fd = os.open(key_path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd) as f:
        text = f.read().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{key_path}: not a hex key") from None
    if len(key) < 16:
        raise ValueError(f"{key_path}: key shorter than 16 bytes")
    return key


def _canonical(entry):
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def _mac(key, blob):
    return hmac.new(key, blob, hashlib.sha256).hexdigest()


def _seal_checkpoint(key, n, last):
    return _mac(key, f"checkpoint:{n}:{last}".encode())


class AuditLog:
    def __init__(self, path, key_path=None, checkpoint_path=None):
        self.path = str(path)
        dk, dc = default_paths(path)
        self.key_path, self.checkpoint_path = Path(key_path or dk), Path(checkpoint_path or dc)
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if exists and not self.key_path.exists():
            raise ValueError(f"{self.path}: its key {self.key_path} is missing: the chain cannot "
                             "be verified (restore the key, or move the log aside)")
        self.key = load_key(self.key_path, create=True)
        self.lock = threading.Lock()
        self.prev = GENESIS
        self.seq = 0
        self.repaired = 0                   # bytes of a torn last line moved aside at open
        if exists:
            self.repaired = _set_aside_torn_tail(self.path)
            ok, n, bad, why = verify(self.path, self.key_path, self.checkpoint_path)
            if not ok:
                raise ValueError(f"{self.path}: audit chain broken at entry {bad}: {why} "
                                 "(move the file aside to start a new chain)")
            self.seq, self.prev = n, _last_hash(self.path)

    def append(self, who, role, action, request=None, before=None, after=None, result="OK"):
        """Write one sealed entry. On a failed write the file is cut back to where it
        was (no torn tail) and the OSError propagates: the caller fails closed."""
        with self.lock:
            entry = {"seq": self.seq, "time": time.time(), "who": clip(who, 128), "role": role,
                     "action": action, "request": clip(request), "before": clip(before),
                     "after": clip(after), "result": clip(result, 512), "prev_hash": self.prev}
            entry["hash"] = _mac(self.key, _canonical(entry))
            line = (json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
                    + "\n").encode()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                size = os.fstat(fd).st_size
                try:
                    if os.write(fd, line) != len(line):
                        raise OSError(28, f"{self.path}: short write (disk full?)")
                    os.fsync(fd)
                except OSError:
                    os.ftruncate(fd, size)
                    raise
            finally:
                os.close(fd)
            self.prev = entry["hash"]
            self.seq += 1
            self._checkpoint()
            return entry

    def _checkpoint(self):
        from tickwire.control.daemon.state import atomic_write
        cp = {"entries": self.seq, "last": self.prev,
              "seal": _seal_checkpoint(self.key, self.seq, self.prev)}
        atomic_write(self.checkpoint_path, json.dumps(cp))


def _set_aside_torn_tail(path):
    """A last line without its end (power lost mid-write) was never checkpointed: move
    it to PATH.torn and cut it off, so the intact chain can continue; the daemon audits
    the repair. Anything else wrong is left for verify() to refuse."""
    with open(path, "rb") as f:
        data = f.read()
    if not data or data.endswith(b"\n"):
        return 0
    cut = data.rfind(b"\n") + 1
    fd = os.open(path + ".torn", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "ab") as f:
        f.write(data[cut:])
        f.flush()
        os.fsync(f.fileno())
    with open(path, "r+b") as f:
        f.truncate(cut)
        os.fsync(f.fileno())
    return len(data) - cut


def _last_hash(path):
    last = None
    with open(path) as f:
        for line in f:
            if line.strip():
                last = line
    return json.loads(last)["hash"] if last else GENESIS


def verify(path, key_path=None, checkpoint_path=None):
    """(ok, entries, first_bad_index or None, reason) for the log in `path`: every
    entry's HMAC and link, then the checkpoint (a shorter log = a missing tail)."""
    dk, dc = default_paths(path)
    key_path, checkpoint_path = Path(key_path or dk), Path(checkpoint_path or dc)
    try:
        key = load_key(key_path)
    except FileNotFoundError:
        return False, 0, 0, f"key {key_path} missing: the chain cannot be verified"
    prev, n, hashes = GENESIS, 0, []
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        torn = data.count(b"\n")
        return False, torn, torn, f"line {torn + 1}: torn (no end of line)"
    for lineno, raw in enumerate(data.decode(errors="replace").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            return False, n, n, f"line {lineno}: not JSON"
        if not isinstance(entry, dict) or "hash" not in entry:
            return False, n, n, f"line {lineno}: no hash"
        if entry.get("prev_hash") != prev:
            return False, n, n, f"line {lineno}: prev_hash does not match the previous entry"
        if entry.get("seq") != n:
            return False, n, n, f"line {lineno}: seq {entry.get('seq')} (expected {n})"
        if not hmac.compare_digest(_mac(key, _canonical(entry)), str(entry["hash"])):
            return False, n, n, f"line {lineno}: hash (HMAC) does not match the entry's content"
        prev, n = entry["hash"], n + 1
        hashes.append(prev)
    if checkpoint_path.exists():
        try:
            cp = json.loads(checkpoint_path.read_text())
            cn, clast = int(cp["entries"]), str(cp["last"])
            sealed = hmac.compare_digest(_seal_checkpoint(key, cn, clast), str(cp["seal"]))
        except (ValueError, KeyError, TypeError):
            return False, n, n, f"checkpoint {checkpoint_path} unreadable"
        if not sealed:
            return False, n, n, f"checkpoint {checkpoint_path}: seal does not match (edited)"
        if cn > n:
            return False, n, n, (f"missing tail: checkpoint {checkpoint_path} records {cn} "
                                 f"entries, the log has {n}")
        if cn and hashes[cn - 1] != clast:
            return False, cn - 1, cn - 1, f"entry {cn - 1} differs from the checkpoint's last hash"
    elif n:
        return False, n, n, f"checkpoint {checkpoint_path} missing: truncation cannot be ruled out"
    return True, n, None, ""


class RefusalWindow:
    """Audit a refusal once per (who, action, code) per window, counting the rest: a
    caller repeating a refused call must not be able to fill the disk through the log."""

    def __init__(self, window_s=10.0):
        self.window = window_s
        self.lock = threading.Lock()
        self.seen = {}                      # key -> [window start, suppressed count]

    def admit(self, key):
        """(log this one?, refusals suppressed since the last one logged)."""
        now = time.monotonic()
        with self.lock:
            if len(self.seen) > 4096:
                self.seen = {k: v for k, v in self.seen.items() if now - v[0] < self.window}
            slot = self.seen.get(key)
            if slot is None or now - slot[0] >= self.window:
                suppressed = slot[1] if slot else 0
                self.seen[key] = [now, 0]
                return True, suppressed
            slot[1] += 1
            return False, slot[1]
