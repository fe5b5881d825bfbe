"""Build steps a person can follow: one line per step with its elapsed time, the
tools' own output in a log file that a failure names.

Why: a first build of the full core takes ~2 minutes (elaborate, Verilate, compile);
a silent screen for that long looks hung, and compiler output in the middle of a
demo buries what the demo shows. Lines go to stderr so they never mix into a
command's data on stdout; `quiet()` turns them off (`replay --quiet`).
"""
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

_state = {"quiet": False}


class BuildError(RuntimeError):
    """A build tool failed; the message names the log with its full output."""


def quiet(on=True):
    _state["quiet"] = on


def say(text):
    if not _state["quiet"]:
        print(text, file=sys.stderr, flush=True)


def jobs():
    """Parallel compile jobs: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@contextmanager
def step(what, log=None):
    """Print `what ...`, run the body, then the elapsed time (or 'failed')."""
    t0 = time.monotonic()
    where = f" (log: {_rel(log)})" if log else ""
    say(f"  {what}{where} ...")
    try:
        yield
    except BaseException:
        say(f"  {what}: failed after {time.monotonic() - t0:.1f} s")
        raise
    say(f"  {what}: done in {time.monotonic() - t0:.1f} s")


def run_logged(cmd, log, cwd=None, env=None):
    """Run `cmd`, appending its stdout and stderr to `log`; on failure raise BuildError
    naming the log and quoting its last lines."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as fp:
        fp.write(f"\n$ {' '.join(map(str, cmd))}\n")
        fp.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fp, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise BuildError(f"{Path(str(cmd[0])).name} failed ({proc.returncode}); full output in "
                         f"{log}\n{tail(log)}")


def tail(log, lines=30):
    try:
        text = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _rel(path):
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
