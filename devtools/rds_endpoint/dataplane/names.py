"""Names as DNS gives them: every instance (or cluster endpoint) name has a stable loopback address of its own, and a
connection to (that address, the instance's port) reaches whichever server holds the name at that moment.

While a name resolves to nothing (from a rename until the new name takes effect, or once its instance is gone),
its address refuses connections: nothing listens there. A connection opened earlier stays with the server it
reached until that server restarts or goes away, as on RDS, where the application must reconnect.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Dict, Optional, Tuple

# The blocks of 127.0.0.0/8 the data planes of this machine take, one per endpoint: 127.<block>.0.0/16.
FIRST_BLOCK, LAST_BLOCK = 64, 191
BUFFER = 65536


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def claim_block(root: Path) -> int:
    """A /16 of loopback addresses no other running endpoint of this machine uses."""
    root.mkdir(parents=True, exist_ok=True)
    for block in range(FIRST_BLOCK, LAST_BLOCK + 1):
        lock = root / "block-{0}".format(block)
        for _attempt in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    owner = int(lock.read_text() or "0")
                except (OSError, ValueError):
                    owner = 0
                if owner and alive(owner):
                    break
                lock.unlink(missing_ok=True)  # left by an endpoint that is gone
                continue
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return block
    raise RuntimeError("no free block of loopback addresses for the data plane")


class Listener:
    """One name's address and port: forwards each new connection to the server the name points at."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.target: Optional[Tuple[str, int]] = None
        self.socket: Optional[socket.socket] = None
        self.lock = threading.Lock()

    def point(self, target: Optional[Tuple[str, int]]) -> None:
        """Resolve to `target` (a server's address and port), or to nothing (connections refused)."""
        with self.lock:
            self.target = target
            if target is None and self.socket is not None:
                try:
                    self.socket.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: nothing listens any more
                except OSError:
                    pass
                self.socket.close()
                self.socket = None
            elif target is not None and self.socket is None:
                listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listening.bind((self.host, self.port))
                listening.listen(64)
                self.socket = listening
                threading.Thread(target=self._accept, args=(listening,), daemon=True).start()

    def _accept(self, listening: socket.socket) -> None:
        while True:
            try:
                client, _peer = listening.accept()
            except OSError:
                return  # closed: the name resolves to nothing now
            target = self.target
            if target is None:
                client.close()
                continue
            try:
                upstream = socket.create_connection(target, timeout=5)
            except OSError:
                client.close()  # the server is restarting or gone: as a failed connection
                continue
            upstream.settimeout(None)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self.point(None)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(BUFFER)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()


class Names:
    """The addresses of names and of servers in this endpoint's block, and what each name points at."""

    def __init__(self, block: int) -> None:
        self.block = block
        self.addresses: Dict[str, str] = {}
        self.listeners: Dict[Tuple[str, int], Listener] = {}
        # A DNS record's name -> the name it points at (a CNAME): new connections to the record go to that name.
        self.aliases: Dict[str, str] = {}
        self.servers = 0
        self.lock = threading.Lock()

    def address(self, name: str) -> str:
        """The stable address of `name` (its DNS answer): the same for every instance that holds the name."""
        with self.lock:
            return self.address_unlocked(name)

    def server_address(self) -> str:
        """A private address for a new server (never a name's)."""
        with self.lock:
            self.servers += 1
            n = self.servers
            return "127.{0}.{1}.{2}".format(self.block, 200 + n // 250, n % 250 + 1)

    def point(self, name: str, port: int, target: Optional[Tuple[str, int]]) -> None:
        """`name` (on `port`) resolves to `target` now; None: to nothing."""
        key = (name, port)
        with self.lock:
            listener = self.listeners.get(key)
            if listener is None and target is None:
                return
            new = listener is None
            if listener is None:
                listener = self.listeners[key] = Listener(self.address_unlocked(name), port)
            records = [record for record, aliased in self.aliases.items() if aliased == name] if new else []
        listener.point(target)
        for record in records:  # records pointing at the name listen on its new port too
            self.point(record, port, (listener.host, port))

    def alias(self, record: str, value: Optional[str]) -> None:
        """The record `record` points at `value` now (a name, or a name's address; None: nothing): a new connection
        to the record's address, on any port the value's name listens on, goes to the value's name; on any other port
        it is refused. A value no name holds (a host outside the endpoint) is refused too."""
        with self.lock:
            self.address_unlocked(record)
            target = None
            if value is not None:
                owners = [name for name, address in self.addresses.items() if address == value]
                target = owners[0] if owners else (value if value in self.addresses else None)
            if target is None:
                self.aliases.pop(record, None)
                ports = set()
            else:
                self.aliases[record] = target
                ports = {port for (name, port) in self.listeners if name == target}
            stale = [port for (name, port) in self.listeners if name == record and port not in ports]
            address = self.addresses.get(target) if target else None
        for port in stale:
            self.point(record, port, None)
        for port in ports:
            self.point(record, port, (address, port))

    def address_unlocked(self, name: str) -> str:
        if name not in self.addresses:
            n = len(self.addresses)
            self.addresses[name] = "127.{0}.{1}.{2}".format(self.block, n // 250, n % 250 + 1)
        return self.addresses[name]

    def unpoint_all(self, name: str) -> None:
        for (listened, _port), listener in list(self.listeners.items()):
            if listened == name:
                listener.point(None)

    def close(self) -> None:
        for listener in list(self.listeners.values()):
            listener.close()
