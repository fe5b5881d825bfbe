"""Serving: the start/stop/context-manager life cycle both test-exchange servers share.

Why: the MoldUDP64 request server and the GLIMPSE server each run one loop on a
daemon thread over a socket with a short timeout, so `stop` is prompt and a test's
`with` block always closes the socket.
"""
import threading


class Serving:
    """Subclasses set `self.sock` and implement `_loop()` (which returns once
    `self._stop` is set); `thread_name` names the thread."""
    thread_name = "server"

    def _init_serving(self):
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self.sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
