"""Progress bar: messages, rate and time left on a terminal only, after a delay."""
import io

from tickwire.tools.progress import Bar


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_line_shows_done_total_rate_and_eta():
    bar = Bar(1_000_000, "msg", "replay (rtl)", stream=Tty(), delay=0)
    line = bar.line(250_000, 5.0)
    assert "replay (rtl)" in line and "250,000/1,000,000 msg" in line
    assert "50,000 msg/s" in line and "ETA 15 s" in line
    assert line.count("#") == 7 and "[" in line and "]" in line


def test_draws_on_a_terminal_after_the_delay_and_erases_itself():
    out = Tty()
    bar = Bar(100, stream=out, delay=0)
    bar.last_draw = -1.0
    bar(40)
    assert "40/100" in out.getvalue()
    bar.close()
    assert out.getvalue().endswith("\r")


def test_silent_when_not_a_terminal_or_disabled_or_short():
    pipe = io.StringIO()
    Bar(100, stream=pipe, delay=0)(50)
    assert pipe.getvalue() == ""
    tty = Tty()
    Bar(100, stream=tty, delay=0, enabled=False)(50)
    Bar(100, stream=tty, delay=60)(50)            # a short run never shows a bar
    assert tty.getvalue() == ""
