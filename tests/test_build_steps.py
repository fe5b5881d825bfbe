"""Build steps: a failing tool names its log, and the book's reset sweep is known
without constructing (and then abandoning) an OrderBook."""
import gc
import warnings

import pytest
from amaranth.hdl import Fragment

from tickwire.rtl.book import OrderBook
from tickwire.tools.build import steps


@pytest.fixture(autouse=True)
def _loud():
    """An in-process `replay --quiet` earlier in the same worker leaves steps quiet."""
    steps.quiet(False)
    yield
    steps.quiet(False)


def test_failure_names_the_log_and_quotes_the_tool(tmp_path, capsys):
    log = tmp_path / "sub" / "build.log"
    with pytest.raises(steps.BuildError) as exc:
        with steps.step("compile demo", log):
            steps.run_logged(["sh", "-c", "echo first; echo '%Error: boom' >&2; exit 3"], log)
    msg = str(exc.value)
    assert str(log) in msg and "%Error: boom" in msg and "(3)" in msg
    text = log.read_text()
    assert "first" in text and "%Error: boom" in text and "$ sh -c" in text
    err = capsys.readouterr().err
    assert "compile demo" in err and "failed after" in err


def test_step_reports_elapsed_time_and_quiet_silences(capsys):
    with steps.step("Verilate x"):
        pass
    assert "Verilate x: done in" in capsys.readouterr().err
    steps.quiet(True)
    try:
        with steps.step("Verilate y"):
            pass
    finally:
        steps.quiet(False)
    assert capsys.readouterr().err == ""


def test_jobs_uses_every_available_cpu():
    import os
    assert steps.jobs() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("params", [dict(slots=8, orders=4096, levels=8, top_n=2),
                                    dict(slots=64, orders=262144),
                                    dict(slots=200, orders=1 << 12, locate_bits=8)])
def test_sweep_cycles_matches_a_built_book(params):
    book = OrderBook(**params)
    expect = book.reset_cycles
    if params["orders"] <= 4096:
        Fragment.get(book, None)        # a small one elaborated: it is a real, usable book
    else:
        book._MustUse__silence = True   # the default build is too large to elaborate here
    assert OrderBook.sweep_cycles(**params) == expect


def test_reading_the_core_reset_cycles_constructs_no_book():
    from types import SimpleNamespace

    from tickwire.rtl.config import BUILDS
    from tickwire.rtl.top import TickwireCore
    cfg = BUILDS["sim"]
    params = cfg.book_params()
    gc.collect()
    before = sum(isinstance(o, OrderBook) for o in gc.get_objects())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = TickwireCore.reset_cycles.fget(SimpleNamespace(cfg=cfg))
        gc.collect()
    # the largest table is the order table: 262,144 entries in 2 banks x 8 ways
    assert got == OrderBook.sweep_cycles(**params) == 16384
    assert sum(isinstance(o, OrderBook) for o in gc.get_objects()) == before
    assert not [w for w in seen if "UnusedElaboratable" in type(w.message).__name__]
