"""Directories and files the daemon trusts: owned by it, private, no symlinks, room left.

Why: a root daemon handed a pre-made 0777 state directory would otherwise write through
an attacker's symlinks, and a socket at a guessable /tmp name can be squatted by another
user before the daemon starts. Every path the daemon writes or serves from goes through
these checks; a failure is an OSError whose message names the path and the fix.
"""
import errno
import os
import stat


class UnsafePath(OSError):
    """A directory or file the daemon refuses to use (owner, mode or symlink)."""


def verify_private_dir(path, uid=None):
    """Refuse `path` unless it is a real directory (not a symlink) owned by `uid`
    (default: our effective uid) with no group or other permissions."""
    uid = os.geteuid() if uid is None else uid
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(errno.EPERM, f"{path} is a symlink: refused (use a real directory)")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(errno.ENOTDIR, f"{path} is not a directory")
    if st.st_uid != uid:
        raise UnsafePath(errno.EPERM, f"{path} is owned by uid {st.st_uid}, not {uid}: refused "
                                      f"(chown it or choose another directory)")
    if st.st_mode & 0o077:
        raise UnsafePath(errno.EPERM, f"{path} has mode {st.st_mode & 0o777:04o}: refused "
                                      f"(chmod 0700 {path})")


def ensure_private_dir(path, uid=None):
    """Create `path` (and parents) 0700 if missing, then verify it as above."""
    path = os.fspath(path)
    if not os.path.lexists(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        else:
            os.chmod(path, 0o700)           # mkdir's mode is masked by the umask
    verify_private_dir(path, uid)
    return path


def refuse_symlinks(directory, names):
    """Refuse if any of `names` inside `directory` is a symlink or not a regular file."""
    for n in names:
        p = os.path.join(directory, n)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            raise UnsafePath(errno.EPERM, f"{p} is a symlink or not a regular file: refused")


def read_text(path):
    """A file's text, never through a symlink (O_NOFOLLOW)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return f.read().decode()


def check_free_space(directory, margin_bytes):
    """Refuse a change when less than `margin_bytes` are free where state is written:
    a half-written state file or audit line is worse than a refused change."""
    if not margin_bytes:
        return
    st = os.statvfs(directory)
    free = st.f_bavail * st.f_frsize
    if free < margin_bytes:
        raise OSError(errno.ENOSPC, f"only {free // 1024} KiB free in {directory}, the daemon "
                                    f"keeps a margin of {margin_bytes // 1024} KiB: change refused")


def default_runtime_dir():
    """$XDG_RUNTIME_DIR, else /tmp/tickwire-$UID (a 0700 directory we create and verify):
    never a bare, squattable name in /tmp."""
    run = os.environ.get("XDG_RUNTIME_DIR")
    if run:
        return run
    return f"/tmp/tickwire-{os.geteuid()}"
