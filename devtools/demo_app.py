"""The demo stack's application: a small service that reads the `shop` database through the stack's name with a pool
of connections, and answers over HTTP (on 127.0.0.1) what it sees: row counts, the newest order, a sample email.

Like many applications it opens its pool once and keeps it: after a refresh it serves the old stack until it is
restarted (or fails once the old stack is gone). That is why the clone runs a restart command.

    PGPASSWORD=... python -m devtools.demo_app serve --host 127.64.0.3 --port 5430 --state build/demo-app.json &
    python -m devtools.demo_app ask --state build/demo-app.json       # what it serves now
    python -m devtools.demo_app restart --state build/demo-app.json   # the clone's restart command
    python -m devtools.demo_app stop --state build/demo-app.json

The password comes from PGPASSWORD (never a command line). `restart` reopens the pool (SIGHUP) and succeeds once the
application answers from its new connections: a restart that cannot reach the database fails, and the clone then
keeps the old stack.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devtools import shop

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Pool:
    """`size` connections opened together; a request takes the next one. Reopened only by `reopen` (a restart)."""

    def __init__(self, host: str, port: int, user: str, password: str, size: int) -> None:
        self.target = (host, port, user, password)
        self.size = size
        self.lock = threading.Lock()
        self.connections: list[Any] = []
        self.generation = 0
        self.turn = 0
        self.reopen()

    def reopen(self) -> None:
        fresh = [shop.connect(*self.target) for _ in range(self.size)]
        with self.lock:
            old, self.connections = self.connections, fresh
            self.generation += 1
        for conn in old:
            conn.close()

    def answer(self) -> dict[str, Any]:
        with self.lock:
            conn = self.connections[self.turn % self.size]
            self.turn += 1
            generation = self.generation
            # One request at a time on a connection: psycopg's connections are not shared between threads.
            try:
                return {"generation": generation, **shop.summary(conn)}
            except Exception as error:  # pylint: disable=broad-except  # the answer says what went wrong
                return {"generation": generation, "error": "{0}: {1}".format(type(error).__name__, error).strip()}


def serve(args: argparse.Namespace) -> int:
    pool = Pool(args.host, args.port, args.user, os.environ.get("PGPASSWORD", ""), args.pool)
    restart = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  # http.server's name
            body = json.dumps(pool.answer()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    def restarts() -> None:
        while restart.wait():
            restart.clear()
            try:
                pool.reopen()
            except Exception as error:  # pylint: disable=broad-except  # `restart` sees the old generation
                print("restart failed: {0}".format(error), file=sys.stderr, flush=True)

    def terminate(*_args: Any) -> None:
        raise SystemExit(0)  # out of serve_forever, in the main thread

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGHUP, lambda *_: restart.set())
    signal.signal(signal.SIGTERM, terminate)
    threading.Thread(target=restarts, daemon=True).start()
    state = Path(args.state)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:{0}/".format(server.server_port)}))
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        state.unlink(missing_ok=True)
        server.server_close()
    return 0


def ask(state: Path) -> dict[str, Any]:
    url = json.loads(state.read_text())["url"]
    with _NO_PROXY.open(url, timeout=10) as response:
        return json.load(response)


def restart(args: argparse.Namespace) -> int:
    """SIGHUP, then wait until the application answers from a new pool without an error."""
    state = Path(args.state)
    before = ask(state)
    os.kill(json.loads(state.read_text())["pid"], signal.SIGHUP)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        now = ask(state)
        if now["generation"] > before["generation"] and "error" not in now:
            print("restarted: now serving {0}".format(json.dumps(now)))
            return 0
        time.sleep(0.1)
    print("the application did not come back with working connections in {0:g} s: {1}".format(
        args.timeout, json.dumps(ask(state))), file=sys.stderr)
    return 1


def stop(args: argparse.Namespace) -> int:
    state = Path(args.state)
    if state.exists():
        pid = json.loads(state.read_text())["pid"]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while state.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo_app", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the application (in the foreground)")
    run.add_argument("--host", required=True, help="the database name's address")
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--user", default="mitosis")
    run.add_argument("--pool", type=int, default=4, help="connections in the pool")
    for name in ("ask", "restart", "stop"):
        commands.add_parser(name, help={"ask": "print what the application serves now",
                                        "restart": "reopen the pool and wait until it serves again",
                                        "stop": "stop the application"}[name])
    for sub in commands.choices.values():
        sub.add_argument("--state", required=True, help="the file where the application notes its pid and URL")
    commands.choices["restart"].add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.command == "ask":
        print(json.dumps(ask(Path(args.state))))
        return 0
    return {"serve": serve, "restart": restart, "stop": stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
