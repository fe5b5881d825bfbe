"""Helpers shared by the control-plane tests (test_control_e2e, test_control_unit,
test_host_links_e2e): the limits file they load, the `tickwire serve` process they
start, and the bounded read/stop of a child process.

They are plain names, imported with `from conftest import ...` (tests/ is on sys.path:
pytest's default prepend import mode, and the PYTHONPATH test_control_e2e gives its
daemons), so each test module keeps only what is its own. Imports stay light: every
test under tests/ loads this file.
"""
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CLI = [sys.executable, "-m", "tickwire.control.cli"]

# The three limits windows, as named after "risk." in the register map.
LIMIT_TABLES = ("acct_limits", "sym_limits", "pos_limits")


def limits_yaml(*, msft=True, aapl_positions=False, acme02_enabled=True):
    """The limits file the control tests load, in the variants they need.

    One text, so the line numbers tests assert on stay where they are (line 7: MSFT's
    max_qty, line 14: ACME01's rate). msft=False drops MSFT, aapl_positions adds an
    ACME01 position limit for AAPL, acme02_enabled=None drops ACME02.
    """
    text = ("version: 1\n"
            "symbols:\n"
            "  - symbol: AAPL\n"
            "    max_qty: 5000\n"
            "    collar: 5 ticks\n")
    if msft:
        text += ("  - symbol: MSFT\n"
                 "    max_qty: 1000\n"
                 "    collar: 20 bps\n")
    text += ("accounts:\n"
             "  - account: ACME01\n"
             "    enabled: true\n"
             "    max_notional: 250000\n"
             "    credit: 1000000\n"
             "    rate: {burst: 20, per_second: 100}\n"
             "    positions:\n"
             "      default: {long: 1000, short: 0}\n")
    if aapl_positions:
        text += "      AAPL: {long: 5000, short: 2000}\n"
    if acme02_enabled is not None:
        text += ("  - account: ACME02\n"
                 f"    enabled: {'true' if acme02_enabled else 'false'}\n")
    return text


def cli_env(pythonpath=None):
    """The environment for CLI and daemon processes: ours without TICKWIRE_SERVER (a
    developer's default server must not redirect a test), with `pythonpath` prepended
    when the daemon has to import a `py:module:factory` device from it."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env.pop("TICKWIRE_SERVER", None)
    return env


def short_tmpdir(prefix):
    """A fresh directory right under /tmp: a Unix socket path must fit sun_path (107
    bytes), which a socket in pytest's tmp_path can exceed."""
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


def readline(proc, timeout):
    """The next line of proc's stdout, or "" if it exits or `timeout` s pass first: a
    child that hangs before printing must fail the test, not stall it.

    The pipe is read a byte at a time, never through proc.stdout's buffer: a buffered
    readline() takes every line already in the pipe (simulate prints "uart tcp:..." and
    "listening" back to back), and select() then waits for output that has arrived."""
    fd = proc.stdout.fileno()
    line = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            c = os.read(fd, 1)
            line += c
            if c in (b"\n", b""):                    # end of line, or of the output
                return line.decode(errors="replace")
        elif proc.poll() is not None:
            return ""
    return ""


def stop_process(proc, tmpdir, *, sig=signal.SIGTERM, timeout=30, kill_timeout=10, read_stderr=False):
    """Send `sig`, SIGKILL after `timeout` s, close the pipes and remove `tmpdir`, so no
    test leaves a process or a socket behind. Returns stderr if `read_stderr`."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=kill_timeout)
    err = proc.stderr.read() if read_stderr else None
    proc.stdout.close()
    proc.stderr.close()
    shutil.rmtree(tmpdir, ignore_errors=True)
    return err


class ServeDaemon:
    """One `tickwire serve` process, metrics on an ephemeral loopback port, listening on a
    Unix socket in a short temp dir (or on `listen`). The model-card tests and the
    simulated-card tests differ only in the device, the environment and how long start-up
    and shut-down may take (a simulated card is slow), so those are the parameters."""

    def __init__(self, state, extra=(), *, device="model", listen=None, env=None,
                 start_timeout=30, stop_timeout=15, kill_timeout=5):
        self.dir = short_tmpdir("twd")
        self.sock = os.path.join(self.dir, "s.sock")
        self.listen = listen or f"unix:{self.sock}"
        self.state = state
        self.env = cli_env() if env is None else env
        self._stop_timeouts = stop_timeout, kill_timeout
        self.proc = subprocess.Popen(
            CLI + ["serve", "--device", device, "--listen", self.listen, "--state-dir", str(state),
                   "--metrics", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        line = readline(self.proc, start_timeout)
        if "ready" not in line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise AssertionError(f"daemon did not start on {device}: {line!r} {err}")
        self.metrics_port = int(line.rsplit("port ", 1)[1])
        self.port = int(line.split("ready on port ")[1].split(",")[0]) if "ready on port" in line else None
        self.server = self.listen if self.listen.startswith("unix:") else f"localhost:{self.port}"

    def cli(self, *args, timeout=30, extra_env=None):
        env = dict(self.env, **(extra_env or {}))
        return subprocess.run(CLI + list(args) + ["--server", self.server],
                              capture_output=True, text=True, timeout=timeout, env=env)

    def stub(self):
        import grpc
        from tickwire.control.proto import tickwire_pb2_grpc as pbg
        return pbg.TickwireStub(grpc.insecure_channel(self.listen))

    def stop(self, sig=signal.SIGTERM):
        timeout, kill_timeout = self._stop_timeouts
        stop_process(self.proc, self.dir, sig=sig, timeout=timeout, kill_timeout=kill_timeout)
