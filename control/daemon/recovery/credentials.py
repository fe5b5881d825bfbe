"""GLIMPSE login credentials from a file only its owner can read.

Why: the password opens the exchange's snapshot service under the firm's name; a
file that group or others can read (or a symlink someone could point elsewhere) is
refused, like ssh refuses a private key with loose permissions. Format: one line
`username:password` (SoupBinTCP: username <= 6, password <= 10 characters).
"""
import errno
import os
import stat

from ..fsguard import UnsafePath


def read_credentials(path, uid=None):
    uid = os.geteuid() if uid is None else uid
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)      # a symlink fails here (ELOOP)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath(errno.EPERM, f"{path} is not a regular file: refused")
        if st.st_uid != uid:
            raise UnsafePath(errno.EPERM, f"{path} is owned by uid {st.st_uid}, not {uid}: refused")
        if st.st_mode & 0o077:
            raise UnsafePath(errno.EPERM, f"{path} has mode {st.st_mode & 0o777:04o}: refused "
                                          f"(chmod 0600 {path})")
        text = f.read(4096).decode("ascii").strip()
    user, sep, password = text.partition(":")
    if not sep or not user or len(user) > 6 or len(password) > 10 or "\n" in text:
        raise ValueError(f"{path}: expected one line username:password "
                         f"(username <= 6, password <= 10 characters)")
    return user, password
