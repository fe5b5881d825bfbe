"""`python -m tickwire.control.cli COMMAND ...`: the control-plane subcommands alone.

Same commands and behaviour as `tickwire COMMAND`, but only the control-plane entries
of tickwire/cli.py's COMMANDS are imported, so a broken or missing module elsewhere
(a replay engine, a simulator) cannot take the ops tools down with it.
"""
import sys

from tickwire import cli

if __name__ == "__main__":
    cli.COMMANDS = {k: v for k, v in cli.COMMANDS.items() if v[0].startswith("tickwire.control.")}
    sys.exit(cli.main())
