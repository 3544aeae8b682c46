"""How the Python peers end: when the TypeScript side that started them closes their stdin."""

import sys
import threading


def stop_when_stdin_closes(reactor, stop, *args):
    """Calls stop(*args) in the reactor thread once stdin reaches its end (or fails)."""

    def watch():
        try:
            while sys.stdin.read(4096):
                pass
        except Exception:
            pass
        reactor.callFromThread(stop, *args)

    t = threading.Thread(target=watch)
    t.daemon = True  # (the daemon= argument is Python 3 only)
    t.start()
