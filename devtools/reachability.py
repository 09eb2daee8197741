"""How long each name really could not be reached: a client connects to each name again and again (a new PostgreSQL
connection and `SELECT 1`, as an application reconnecting would) and notes when it failed. For the demo and the
bench, on the data plane; the collection's summary and the time model give their own figures beside it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, Iterable, List, Tuple

import psycopg

Window = Tuple[float, float]


def name_addresses(rds: Any, names: Iterable[str]) -> Dict[str, Tuple[str, int]]:
    """Each instance name's address and port, as DNS gives them (its Endpoint): what a Prober connects to."""
    found = {}
    for name in names:
        endpoint = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["Endpoint"]
        found[name] = (endpoint["Address"], endpoint["Port"])
    return found


class Prober:
    """One thread per name, a connection attempt every `interval` seconds; `windows()` the spans of failures,
    each from the first failed attempt to the next successful one."""

    def __init__(self, names: Dict[str, Tuple[str, int]], user: str, password: str, interval: float = 0.05) -> None:
        self.names = names
        self.credentials = (user, password)
        self.interval = interval
        self.failures: Dict[str, List[Window]] = {name: [] for name in names}
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._probe, args=(name,), daemon=True) for name in names]

    def __enter__(self) -> "Prober":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _reachable(self, name: str) -> bool:
        host, port = self.names[name]
        user, password = self.credentials
        try:
            with psycopg.connect(host=host, port=port, user=user, password=password, dbname="postgres",
                                 connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _probe(self, name: str) -> None:
        failed_since = None
        while not self.stopping.is_set():
            attempt = time.time()
            if self._reachable(name):
                if failed_since is not None:
                    self.failures[name].append((failed_since, attempt))
                    failed_since = None
            elif failed_since is None:
                failed_since = attempt
            self.stopping.wait(self.interval)
        if failed_since is not None:
            self.failures[name].append((failed_since, time.time()))

    def windows(self) -> Dict[str, List[Window]]:
        return {name: list(spans) for name, spans in self.failures.items()}

    def longest(self) -> Dict[str, float]:
        """Each name's longest span of failures in seconds (0 when it never failed)."""
        return {name: max((end - start for start, end in spans), default=0.0) for name, spans in self.failures.items()}
