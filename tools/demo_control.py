"""Demo section: the control plane against the simulated card, as an operator sees it.

`run_control_demo(print)` starts `tickwire simulate` (the full RTL in Verilator, replaying
the demo feed in a loop) and `tickwire serve` on it, then runs the ops CLI: status,
limits load/show, a subscription so the card's book follows the demo symbol, the live
BBO from the replayed feed, a few counters. Both processes are stopped with SIGTERM
and bounded waits. Why a separate process per role: that is how a desk runs it (the
daemon owns the card; the CLI only talks to the daemon), so the demo shows the real
path, not an in-process shortcut.

The helpers (SimCardProcess, ControlDaemon, cli) are also used by tests/test_control_sim.py.
"""
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "itch"
REAL = SHARED / "nasdaq_itch50_20200130_aapl_first5000.itch"
SYNTH = REPO / "tools" / "demo_data" / "synthetic_8sym_6000.itch"
LIMITS = REPO / "tools" / "demo_data" / "limits.yaml"
TICKWIRE = [sys.executable, "-m", "tickwire"]
START_TIMEOUT = 2400          # the first simulate run builds the RTL with Verilator


def _readline(proc, timeout, want):
    """The first stdout line containing `want`, or None (process exited / timed out)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if sel.select(timeout=0.5):
                line = proc.stdout.readline()
                if not line:
                    return None
                if want in line:
                    return line.strip()
            elif proc.poll() is not None:
                return None
    finally:
        sel.close()
    return None


def stop(proc, timeout=30):
    """SIGTERM, bounded wait, SIGKILL as the last resort; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def _fail(proc, what):
    if proc.poll() is None:
        proc.kill()
    _, err = proc.communicate(timeout=30)
    raise RuntimeError(f"{what} did not start (exit {proc.returncode}): {(err or '')[-2000:]}")


class SimCardProcess:
    """`tickwire simulate` as a subprocess: the card at unix:`sock`."""

    def __init__(self, sock, feed=None, loop=False, extra=()):
        self.sock = str(sock)
        args = ["simulate", "--listen", f"unix:{self.sock}", *extra]
        if feed:
            args += ["--feed", str(feed)] + (["--loop"] if loop else [])
        self.proc = subprocess.Popen(TICKWIRE + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        if _readline(self.proc, START_TIMEOUT, "listening") is None:
            _fail(self.proc, "tickwire simulate")
        self.device = f"sim:unix:{self.sock}"

    def stop(self):
        rc = stop(self.proc)
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc


class ControlDaemon:
    """`tickwire serve` as a subprocess on `device`, listening on unix:`sock`."""

    def __init__(self, device, sock, state_dir, watchdog_ms=None, timeout=180):
        self.sock = str(sock)
        self.server = f"unix:{self.sock}"
        args = ["serve", "--device", device, "--listen", self.server, "--state-dir",
                str(state_dir), "--metrics", "127.0.0.1:0"]
        if watchdog_ms is not None:
            args += ["--watchdog-ms", str(watchdog_ms)]
        self.proc = subprocess.Popen(TICKWIRE + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = _readline(self.proc, timeout, "ready")
        if line is None:
            _fail(self.proc, "tickwire serve")
        self.ready = line
        self.metrics_port = int(line.rsplit("port ", 1)[1])

    def cli(self, *args, timeout=120):
        """Run `tickwire ARGS` against this daemon: CompletedProcess (text)."""
        env = dict(os.environ, TICKWIRE_SERVER=self.server)
        return subprocess.run(TICKWIRE + list(args) + ["--timeout", "60"], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=REPO)

    def stop(self, sig=signal.SIGTERM):
        if sig == signal.SIGKILL:
            self.proc.kill()
            self.proc.wait(timeout=10)
        else:
            stop(self.proc)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def stock_locate(feed, symbol):
    """The feed's stock locate for `symbol`, from its stock directory (R messages)."""
    from tickwire.tools.feeds import itch_file
    for raw in itch_file.read(feed):
        if raw[:1] == b"R" and len(raw) >= 19 and raw[11:19].decode("ascii", "replace").strip() == symbol:
            return struct.unpack_from(">H", raw, 1)[0]
    return None


def _two_sided(text):
    """`tickwire book` output with a bid and an ask, and not flagged unreliable."""
    lines = text.splitlines()
    return (len(lines) == 3 and "UNRELIABLE" not in lines[0]
            and "@" in lines[1] and "@" in lines[2])


def run_control_demo(out=print):
    """The control-plane demo section; `out` prints one block of text. Returns 0 or 1."""
    from tickwire.model import limits as lm

    feed = REAL if REAL.exists() else SYNTH
    if feed == SYNTH:
        out(f"note: {SHARED} is absent; the card replays the bundled {SYNTH.name}")
    limits = lm.load(LIMITS)
    symbol = limits.symbols[0].name
    locate = limits.symbols[0].locate or stock_locate(feed, symbol)
    if locate is None:
        out(f"the feed {feed.name} has no stock directory entry for {symbol}; cannot subscribe")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="twdemo", dir="/tmp"))    # short: sun_path <= 107
    card = daemon = None
    rc = 1
    try:
        out(f"$ tickwire simulate --listen unix:{tmp}/card.sock --feed {feed.name} --loop &")
        card = SimCardProcess(tmp / "card.sock", feed, loop=True)
        out(f"$ tickwire serve --device {card.device} --listen unix:{tmp}/ctl.sock "
            f"--metrics 127.0.0.1:0 --state-dir {tmp}/state &")
        daemon = ControlDaemon(card.device, tmp / "ctl.sock", tmp / "state")
        out(daemon.ready)
        out(f"(the commands below reach the daemon through TICKWIRE_SERVER={daemon.server})")

        def show(*args):
            r = daemon.cli(*args)
            out(f"\n$ tickwire {' '.join(args)}\n" + (r.stdout + r.stderr).rstrip())
            if r.returncode:
                raise RuntimeError(f"tickwire {' '.join(args)} exited {r.returncode}")
            return r

        show("status")
        show("limits", "load", str(LIMITS.relative_to(REPO)))
        show("limits", "show")
        # the book follows a symbol once its stock locate is routed to a slot; slot = the
        # symbol's place in the limits file, which is where the risk gate reads its BBO
        slot = limits.slot_of(symbol)
        out(f"\n({symbol} is stock locate {locate} in {feed.name}'s stock directory)")
        show("subscribe", str(locate), str(slot), "--symbol", symbol)
        # the feed loops and the card's books are flushed between passes: ask until the
        # book has been rebuilt far enough to have both sides (bounded)
        deadline = time.monotonic() + 120
        tries = 1
        while True:
            r = daemon.cli("book", symbol)
            if r.returncode or _two_sided(r.stdout) or time.monotonic() > deadline:
                break
            tries += 1
            time.sleep(0.3)
        out(f"\n$ tickwire book {symbol}" + (f"    # try {tries}: the book is rebuilt every pass"
                                              if tries > 1 else "") + "\n" + (r.stdout + r.stderr).rstrip())
        if r.returncode:
            raise RuntimeError(f"tickwire book {symbol} exited {r.returncode}")
        show("counters", "mold.")
        show("counters", "book.")
        show("kill", "show")
        rc = 0
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        out(f"control demo failed: {exc}")
    finally:
        codes = []
        if daemon is not None:
            codes.append(f"daemon exit {daemon.stop()}")
        if card is not None:
            code = card.stop()
            tail = card.stderr.strip().splitlines()[-1:] if card.stderr else []
            codes.append(f"simulator exit {code}{' (' + tail[0] + ')' if tail else ''}")
        if codes:
            out("\n(SIGTERM: " + "; ".join(codes) + ")")
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(run_control_demo(print))
