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
    "demo": ("tickwire.tools.demo", "replay the bundled sample through the RTL and summarise"),
    "risk-replay": ("tickwire.tools.risk_replay", "replay a feed and host orders through the risk gate"),
}


def build_parser():
    ap = argparse.ArgumentParser(prog="tickwire", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return ap


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    if not getattr(args, "_module", None):
        ap.print_help()
        return 2
    try:
        return importlib.import_module(args._module).run(args) or 0
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as exc:
        print(f"tickwire {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
