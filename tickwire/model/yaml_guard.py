"""YAML input limits applied before a document is composed into nodes.

Why: libyaml's composer recurses once per nesting level in C, so 50,000 nested `[`
overflow the stack and kill the process (a segfault, not an exception), and aliases let
a small file expand into a huge tree. The event stream is produced without recursion,
so it is scanned first: size, nesting depth, anchors/aliases and scalar length are
checked, and only a document within limits is composed.
"""
import yaml

MAX_BYTES = 1 << 20          # 1 MiB: a 1,000-symbol x 256-account file is ~150 KB
MAX_DEPTH = 16               # the limits format needs 5
MAX_SCALAR = 1024            # characters in one value


class YamlLimitError(ValueError):
    """(line, message) of the first limit exceeded."""

    def __init__(self, line, message):
        super().__init__(message)
        self.line, self.message = line, message


def check(text, loader, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH, max_scalar=MAX_SCALAR):
    """Raise YamlLimitError for a document over the limits; yaml.MarkedYAMLError for a
    syntax error. Anchors and aliases are refused outright (the format has no use for them)."""
    size = len(text.encode()) if len(text) * 4 > max_bytes else len(text)
    if size > max_bytes:
        raise YamlLimitError(1, f"file is {size} bytes, the limit is {max_bytes}")
    depth = 0
    for ev in yaml.parse(text, Loader=loader):
        line = ev.start_mark.line + 1 if ev.start_mark else 0
        if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > max_depth:
                raise YamlLimitError(line, f"nested deeper than {max_depth} levels")
        elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        elif isinstance(ev, yaml.AliasEvent):
            raise YamlLimitError(line, "aliases (*name) are not allowed")
        elif isinstance(ev, yaml.ScalarEvent) and len(ev.value) > max_scalar:
            raise YamlLimitError(line, f"a value of {len(ev.value)} characters (limit {max_scalar})")
        if getattr(ev, "anchor", None):
            raise YamlLimitError(line, "anchors (&name) are not allowed")
