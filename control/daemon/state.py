"""What the daemon must remember across restarts, because the card forgets.

The card powers up fail-closed (limits all zero, kill switch off). The accepted limits
file, its version, the kill switches (by account name), the subscriptions and a tripped
watchdog are kept here and re-applied on start. Every write is atomic (temp file, fsync,
rename): a crash leaves the old state or the new one, never half a file.

Fail closed: a state file that is missing while other state exists, empty, corrupt, or
a limits file that is missing or does not match the hash recorded in state.json is a
*problem*, not a fresh start; the daemon then holds the card with the kill switch engaged
until an operator acts (docs/control.md).
"""
import hashlib
import json
import os
from pathlib import Path

from . import fsguard

FILES = ("state.json", "limits.yaml", "audit.jsonl", "audit.checkpoint", "audit.key",
         "state.json.tmp", "limits.yaml.tmp", "audit.checkpoint.tmp", "audit.jsonl.torn",
         "recovery.json", "recovery.json.tmp")


def default_state_dir():
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "tickwire"


def atomic_write(path, data):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def text_hash(text):
    return hashlib.sha256(text.encode()).hexdigest()


class State:
    FIELDS = {"limits_version": 0, "limits_source": "", "limits_sha256": "", "kill_global": False,
              "kill_accounts": [], "subscriptions": [], "watchdog_tripped": False,
              "running": False}

    def __init__(self, directory):
        self.dir = Path(directory)
        fsguard.ensure_private_dir(self.dir)
        fsguard.refuse_symlinks(self.dir, FILES)
        self.file = self.dir / "state.json"
        self.limits_file = self.dir / "limits.yaml"
        self.problems = []                  # each names its file; non-empty = hold the card
        fresh = not any((self.dir / n).exists() for n in ("state.json", "limits.yaml", "audit.jsonl"))
        data = {}
        if self.file.exists():
            raw = fsguard.read_text(self.file)
            try:
                data = json.loads(raw)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                what = "empty" if not raw.strip() else f"corrupt ({exc})"
                self.problems.append(f"{self.file} is {what}")
                data = {}
        elif not fresh:
            self.problems.append(f"{self.file} is missing (other state exists in {self.dir})")
        for k, v in self.FIELDS.items():
            setattr(self, k, data.get(k, v))
        if isinstance(self.kill_accounts, int):      # older format: a slot mask
            self.problems.append(f"{self.file}: kill switches saved as a slot mask "
                                 "(older daemon); re-engage them by account name")
            self.kill_accounts = []
        self.limits_text = fsguard.read_text(self.limits_file) if self.limits_file.exists() else ""
        if self.limits_version and not self.limits_text.strip():
            what = "empty" if self.limits_file.exists() else "missing"
            self.problems.append(f"{self.limits_file} is {what} but {self.file} records "
                                 f"limits version {self.limits_version}")
        elif self.limits_text and not self.limits_version and not self.problems:
            self.problems.append(f"{self.limits_file} exists but {self.file} records no limits")
        elif self.limits_sha256 and self.limits_text and text_hash(self.limits_text) != self.limits_sha256:
            self.problems.append(f"{self.limits_file} does not match the hash recorded in "
                                 f"{self.file} (edited by hand, or a write was interrupted)")

    @property
    def audit_path(self):
        return self.dir / "audit.jsonl"

    def snapshot(self):
        return {k: getattr(self, k) for k in self.FIELDS}

    def save(self):
        atomic_write(self.file, json.dumps(self.snapshot(), indent=1))

    def save_limits(self, text, source, version):
        """limits.yaml first, then state.json with its hash: a failure between the two
        is detected at the next start (hash mismatch), never silently applied."""
        atomic_write(self.limits_file, text)
        old = (self.limits_text, self.limits_source, self.limits_version, self.limits_sha256)
        self.limits_text, self.limits_source, self.limits_version = text, source, version
        self.limits_sha256 = text_hash(text)
        try:
            self.save()
        except OSError:
            self.limits_text, self.limits_source, self.limits_version, self.limits_sha256 = old
            raise
