"""The data plane runs in a process of its own, the parent of every server, so that it can stop them cleanly
whatever happens to the endpoint: `python -m devtools.rds_endpoint.dataplane.process` reads one JSON request a
line on stdin and answers one JSON line on stdout. When the endpoint goes (its end of the pipe closes, or the
parent-death signal arrives), it stops every server (each reaped here: no zombie is left to an init that does not
reap) and removes its directory.

`Client` is the endpoint's side: a method call per request, answered in order.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any, Optional

PR_SET_PDEATHSIG = 1


class Client:
    """The endpoint's handle on its data plane process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.rds_endpoint.dataplane.process"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1, start_new_session=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
        self.lock = threading.Lock()
        self.block = self.call("block")

    def call(self, op: str, *args: Any) -> Any:
        with self.lock:
            assert self.process.stdin is not None and self.process.stdout is not None
            self.process.stdin.write(json.dumps({"op": op, "args": list(args)}) + "\n")
            answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError("the data plane process is gone (exit {0})".format(self.process.poll()))
        reply = json.loads(answer)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply.get("result")

    def __getattr__(self, op: str) -> Any:
        return lambda *args: self.call(op, *args)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the data plane stops its servers and exits
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve() -> int:
    from . import DataPlane  # imported here: the endpoint's side needs none of it

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    plane = DataPlane()
    stopping = threading.Event()

    def stop(*_args: Any) -> None:
        stopping.set()
        sys.stdin.close()

    signal.signal(signal.SIGTERM, stop)
    if os.getppid() == 1:  # the endpoint went before the signal was armed
        stop()
    try:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                if request["op"] == "block":
                    result: Optional[Any] = plane.block
                else:
                    result = getattr(plane, request["op"])(*request["args"])
                reply = {"result": result}
            except Exception as error:  # pylint: disable=broad-except  # the endpoint shows it
                reply = {"error": "{0}: {1}".format(type(error).__name__, error)}
            sys.stdout.write(json.dumps(reply, default=str) + "\n")
            sys.stdout.flush()
    except (ValueError, OSError):
        pass  # stdin closed by the signal handler
    finally:
        plane.close()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
