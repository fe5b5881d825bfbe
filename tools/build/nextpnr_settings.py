"""stored_router: set a placed nextpnr design's stored router and settings.

Shared by `make bitstream` (the lab route) and `make synth` (blocks placed, then
routed from the placed JSON), so neither imports the other.
"""
import re


def stored_router(placed, router, settings=None):
    """Make the placed design's stored `router` setting `router`, and set nextpnr
    `settings` (name -> value string) in it. Why: nextpnr writes its settings into the
    JSON it saves, and a run that loads that JSON takes the stored setting over its
    command line (the lab route ran router1 under `--router router2` until 2026-12-04;
    `--no-tmdriv` on the route's command line changes nothing). router2's knobs
    (`router2/bbMargin/x`, ...) have no command-line flag at all: nextpnr reads them only
    from these settings. A value of only 0s and 1s is read as a bit vector: write
    numbers as "8", "3.0"."""
    text = placed.read_text()
    new = re.sub(r'"router": "router[12]"', f'"router": "{router}"', text, count=1)
    for name, value in (settings or {}).items():
        entry = f'"{name}": "{value}"'
        new, n = re.subn(rf'"{re.escape(name)}": "[^"]*"', lambda _: entry, new, count=1)
        if not n:
            new = new.replace('"settings": {', '"settings": {\n        ' + entry + ",", 1)
    if new != text:
        placed.write_text(new)
