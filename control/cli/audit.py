"""`tickwire audit verify [--file F] [--key K] [--checkpoint C]`: check the audit log.

Every entry's HMAC and link, then the checkpoint: the first bad entry is named, and a
log shorter than its checkpoint is reported as a missing tail (exit 7).
"""
from tickwire.control import audit
from tickwire.control.daemon.state import default_state_dir


def add_arguments(p):
    p.add_argument("action", choices=("verify",))
    p.add_argument("--file", default=None, help=f"default {default_state_dir() / 'audit.jsonl'}")
    p.add_argument("--key", default=None, help="HMAC key file (default beside the log: audit.key)")
    p.add_argument("--checkpoint", default=None,
                   help="checkpoint file (default beside the log: audit.checkpoint)")
    p.add_argument("--json", action="store_true")


def run(args):
    import json
    path = args.file or str(default_state_dir() / "audit.jsonl")
    try:
        ok, n, bad, why = audit.verify(path, args.key, args.checkpoint)
    except (OSError, ValueError) as exc:
        ok, n, bad, why = False, 0, 0, str(exc)
    if args.json:
        print(json.dumps({"ok": ok, "entries": n, "first_bad": bad, "reason": why}))
    elif ok:
        print(f"{path}: {n} entries, chain intact")
    else:
        print(f"{path}: BROKEN at entry {bad} ({why}); {n} entries before it are intact")
    return 0 if ok else 7
