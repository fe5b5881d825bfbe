"""`tickwire audit verify [--file F]`: check the audit log's hash chain."""
from tickwire.control import audit
from tickwire.control.daemon.state import default_state_dir


def add_arguments(p):
    p.add_argument("action", choices=("verify",))
    p.add_argument("--file", default=None, help=f"default {default_state_dir() / 'audit.jsonl'}")
    p.add_argument("--json", action="store_true")


def run(args):
    import json
    path = args.file or str(default_state_dir() / "audit.jsonl")
    ok, n, bad, why = audit.verify(path)
    if args.json:
        print(json.dumps({"ok": ok, "entries": n, "first_bad": bad, "reason": why}))
    elif ok:
        print(f"{path}: {n} entries, chain intact")
    else:
        print(f"{path}: BROKEN at entry {bad} ({why}); {n} entries before it are intact")
    return 0 if ok else 7
