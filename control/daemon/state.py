"""What the daemon must remember across restarts, because the card forgets.

The card powers up fail-closed (limits all zero, kill switch off). The accepted limits
file, its version, the kill switches and the subscriptions are kept here and
re-applied on start. Every write is atomic (temp file, fsync, rename): a crash leaves
the old state or the new one, never half a file.
"""
import json
import os
from pathlib import Path


def default_state_dir():
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "tickwire"


def atomic_write(path, data):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class State:
    FIELDS = {"limits_version": 0, "limits_source": "", "kill_global": False,
              "kill_accounts": 0, "subscriptions": []}

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.file = self.dir / "state.json"
        self.limits_file = self.dir / "limits.yaml"
        data = json.loads(self.file.read_text()) if self.file.exists() else {}
        for k, v in self.FIELDS.items():
            setattr(self, k, data.get(k, v))
        self.limits_text = self.limits_file.read_text() if self.limits_file.exists() else ""

    @property
    def audit_path(self):
        return self.dir / "audit.jsonl"

    def save(self):
        atomic_write(self.file, json.dumps({k: getattr(self, k) for k in self.FIELDS}, indent=1))

    def save_limits(self, text, source, version):
        atomic_write(self.limits_file, text)
        self.limits_text, self.limits_source, self.limits_version = text, source, version
        self.save()
