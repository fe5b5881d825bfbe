"""The `tickwire` command: one entry point, one subcommand per job.

Subcommands register themselves in COMMANDS (name -> (module, help)); each module
has `add_arguments(parser)` and `run(args) -> int`. Modules are imported lazily so
`tickwire --help` stays fast and a broken subsystem cannot break the others.
"""
import argparse
import importlib
import sys

COMMANDS = {
    "replay": ("tickwire.tools.replay", "replay ITCH/pcap input through the model or the RTL"),
    "simulate": ("tickwire.tools.simulate", "serve the RTL in Verilator as a simulated card on a Unix socket"),
    "demo": ("tickwire.tools.demo", "replay the bundled sample through the RTL and summarise"),
    "fuzz": ("tickwire.tools.fuzz", "corrupt A/B captures from seeds, compare RTL and model"),
    "risk-replay": ("tickwire.tools.risk_replay", "replay a feed and host orders through the risk gate"),
    "serve": ("tickwire.control.daemon.server", "run the control-plane daemon (owns the card, gRPC API)"),
    "status": ("tickwire.control.cli.status", "card identity, clock, watchdog, kill switch"),
    "counters": ("tickwire.control.cli.counters", "hardware counters (--watch to stream)"),
    "limits": ("tickwire.control.cli.limits", "risk limits: show, set one field, load a file"),
    "kill": ("tickwire.control.cli.kill", "kill switch on/off, global or per account"),
    "book": ("tickwire.control.cli.book", "best bid/offer of a symbol"),
    "subscribe": ("tickwire.control.cli.subscribe", "route a stock locate to a book slot"),
    "clock": ("tickwire.control.cli.clock", "read, set, step or frequency-adjust the card clock"),
    "recover": ("tickwire.control.cli.recover", "load a GLIMPSE snapshot now; recovery state"),
    "audit": ("tickwire.control.cli.audit", "verify the audit log's hash chain"),
}


def build_parser(command=None):
    """The parser; only `command`'s module is imported (to add its arguments)."""
    ap = argparse.ArgumentParser(prog="tickwire", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if name == command:
            importlib.import_module(module).add_arguments(p)
    return ap


def _command_of(argv):
    return next((a for a in argv if a in COMMANDS), None)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = build_parser(_command_of(argv))
    args = ap.parse_args(argv)
    if not getattr(args, "_module", None):
        ap.print_help()
        return 2
    try:
        return importlib.import_module(args._module).run(args) or 0
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as exc:
        if getattr(args, "json", False):
            import json
            print(json.dumps({"error": {"code": "ERROR", "message": str(exc), "exit": 1}}))
        print(f"tickwire {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
