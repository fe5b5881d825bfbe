"""Who is calling, and what they may do.

Roles are ordered: viewer (reads) < operator (limits, kill switch) < admin (clock,
subscriptions). Over TCP the role is the OU of the client certificate (mutual TLS,
so the certificate is proven). Over the Unix socket it is the caller's uid, taken
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


def rank(role):
    return ROLES.index(role) if role in ROLES else -1


def load_roles(path):
    """Roles file (YAML mapping): uid or user name -> role."""
    roles = {os.getuid(): "admin"}
    if not path:
        return roles
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of uid or user name to role")
    for who, role in data.items():
        if role not in ROLES:
            raise ValueError(f"{path}: {who}: role {role!r} is not one of {', '.join(ROLES)}")
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


def tls_identity(context):
    """(who, role) from a verified client certificate: CN names, OU is the role."""
    ac = context.auth_context()
    subject = b"".join(ac.get("x509_subject", [])).decode(errors="replace")
    fields = {}
    for part in subject.replace("/", ",").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            fields.setdefault(k.strip().upper(), v.strip())
    cn = b"".join(ac.get("x509_common_name", [])).decode(errors="replace") or fields.get("CN", "?")
    return f"cert:{cn}", fields.get("OU", "")


class UnixRelay:
    """Public 0600 Unix socket -> per-uid private gRPC listeners."""

    def __init__(self, path, backend_for_uid):
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
        os.chmod(path, 0o600)
        self.sock.listen(64)
        self._stop = False
        self.thread = threading.Thread(target=self._accept, name="uds-relay", daemon=True)
        self.thread.start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            back = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            back.connect(self.backend_for_uid(peer_uid(conn)))
        except OSError:
            conn.close()
            return
        t = threading.Thread(target=_pump, args=(back, conn), daemon=True)
        t.start()
        _pump(conn, back)
        t.join()
        conn.close()
        back.close()

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
