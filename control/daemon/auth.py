"""Who is calling, and what they may do.

Roles are ordered: viewer (reads) < operator (limits, kill switch) < admin (clock,
subscriptions). Over TCP the role is the single OU attribute of the verified client
certificate (mutual TLS; control/daemon/identity.py parses fields, never the subject
string). Over the Unix socket it is the caller's uid, taken
from the kernel (SO_PEERCRED) and looked up in a roles file; by default the daemon's
own uid is admin and nobody else has a role.

gRPC's Python API does not expose SO_PEERCRED, so the public socket is served by a
small relay: it accepts, reads the peer's uid, and splices the connection to a private
per-uid gRPC listener (in a 0700 directory) whose servicer knows that identity.
"""
import os
import pwd
import socket
import struct
import threading

import yaml

ROLES = ("viewer", "operator", "admin")
CONNS_PER_UID = 64       # relay connections (each carries many gRPC streams)
CONNS_TOTAL = 256


def rank(role):
    return ROLES.index(role) if role in ROLES else -1


def load_roles(path):
    """Roles file (YAML mapping): uid or user name -> role. Every problem is a
    ValueError naming the file (the daemon prints it; no traceback)."""
    roles = {os.getuid(): "admin"}
    if not path:
        return roles
    try:
        with open(path, "rb") as f:
            raw = f.read(65537)
        if len(raw) > 65536:
            raise ValueError(f"{path}: roles file larger than 64 KiB")
        data = yaml.load(raw.decode(), Loader=yaml.SafeLoader) or {}
    except OSError as exc:
        raise ValueError(f"roles file {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f":{where.line + 1}" if where else ""
        raise ValueError(f"roles file {path}{line}: not valid YAML "
                         f"({getattr(exc, 'problem', None) or type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of uid or user name to role")
    for who, role in data.items():
        if role not in ROLES:
            raise ValueError(f"{path}: {who}: role {role!r} is not one of {', '.join(ROLES)}")
        if isinstance(who, bool) or not isinstance(who, (int, str)):
            raise ValueError(f"{path}: {who!r}: expected a uid or a user name")
        if isinstance(who, int):
            uid = who
        else:
            try:
                uid = int(who)
            except ValueError:
                try:
                    uid = pwd.getpwnam(str(who)).pw_uid
                except KeyError:
                    raise ValueError(f"{path}: {who}: no such user") from None
        roles[uid] = role
    return roles


def peer_uid(conn):
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


class UnixRelay:
    """Public Unix socket (0600 by default; `mode`/`group` let the roles file reach
    other uids) -> per-uid private gRPC listeners."""

    def __init__(self, path, backend_for_uid, mode=0o600, group=None):
        self.path = path
        self.backend_for_uid = backend_for_uid      # uid -> private socket path
        if os.path.exists(path):
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(path)
                raise OSError(f"{path}: another daemon is already listening")
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(path)                     # stale socket of a dead daemon
            finally:
                probe.close()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)                       # created 0600: no window with wider rights
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        if group is not None:
            os.chown(path, -1, group)
        os.chmod(path, mode)
        self.sock.listen(64)
        self._stop = False
        self._open, self._count_lock = {}, threading.Lock()
        self.thread = threading.Thread(target=self._accept, name="uds-relay", daemon=True)
        self.thread.start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                uid = peer_uid(conn)
            except OSError:
                conn.close()
                continue
            with self._count_lock:          # connections per uid and in all are bounded
                if (self._open.get(uid, 0) >= CONNS_PER_UID
                        or sum(self._open.values()) >= CONNS_TOTAL):
                    conn.close()
                    continue
                self._open[uid] = self._open.get(uid, 0) + 1
            threading.Thread(target=self._serve, args=(conn, uid), daemon=True).start()

    def _serve(self, conn, uid):
        try:
            try:
                back = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                back.connect(self.backend_for_uid(uid))
            except OSError:
                conn.close()
                return
            t = threading.Thread(target=_pump, args=(back, conn), daemon=True)
            t.start()
            _pump(conn, back)
            t.join()
            conn.close()
            back.close()
        finally:
            with self._count_lock:
                self._open[uid] -= 1

    def close(self):
        self._stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
