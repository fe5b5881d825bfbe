"""No `elaborate` in rtl/ is longer than 120 lines: a block whose body does not fit
is split into sub-components (or named helpers) that can be read and tested alone."""
import ast
from pathlib import Path

RTL = Path(__file__).resolve().parent.parent / "rtl"
LIMIT = 120
EXEMPT = set()


def elaborate_lengths():
    """(file, class, lines) of every `elaborate` method under rtl/."""
    out = []
    for path in sorted(RTL.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "elaborate":
                    out.append((path.relative_to(RTL).as_posix(), cls.name,
                                fn.end_lineno - fn.lineno + 1))
    return out


def test_every_elaborate_fits():
    found = elaborate_lengths()
    assert len(found) > 30, "rtl/ not found or not parsed"
    assert {f for f, _, _ in found} >= EXEMPT, "an exempt file is gone: drop it from EXEMPT"
    long = [(f, c, n) for f, c, n in found if n > LIMIT and f not in EXEMPT]
    assert not long, f"elaborate longer than {LIMIT} lines: {long}"


def test_the_check_sees_a_long_elaborate(tmp_path, monkeypatch):
    body = "\n".join(["        x = 1"] * LIMIT)
    (tmp_path / "big.py").write_text(f"class Big:\n    def elaborate(self, platform):\n{body}\n")
    monkeypatch.setattr(__import__(__name__), "RTL", tmp_path)
    assert elaborate_lengths() == [("big.py", "Big", LIMIT + 1)]
