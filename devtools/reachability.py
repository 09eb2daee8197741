"""How long each name really could not be reached: a client connects to each name again and again (a new PostgreSQL
connection and `SELECT 1`, as an application reconnecting would) and notes when it failed. For the demo and the
bench, on the data plane; the collection's summary and the time model give their own figures beside it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Tuple

import psycopg

Window = Tuple[float, float]
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def name_addresses(rds: Any, names: Iterable[str]) -> Dict[str, Tuple[str, int]]:
    """Each instance name's address and port, as DNS gives them (its Endpoint): what a Prober connects to."""
    found = {}
    for name in names:
        endpoint = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["Endpoint"]
        found[name] = (endpoint["Address"], endpoint["Port"])
    return found


def resolve(endpoint: Any, name: str) -> str:
    """The address of `name` (a Route 53 CNAME record's name or an instance's identifier) on the endpoint's data plane,
    as a resolver answers it: its `GET /_mitosis/resolve` control route. `endpoint` is the endpoint's URL or a
    testing.EndpointHandle."""
    if hasattr(endpoint, "resolve"):
        return endpoint.resolve(name)
    url = "{0}/_mitosis/resolve?{1}".format(str(endpoint).rstrip("/"), urllib.parse.urlencode({"name": name}))
    with _NO_PROXY.open(url, timeout=30) as response:
        return json.load(response)["address"]


def record_addresses(endpoint: Any, names: Iterable[str], port: int) -> Dict[str, Tuple[str, int]]:
    """Each DNS record name's address (`resolve`) and `port` (the port of the instances its value names): what a Prober
    connects to, to see a switch by DNS as the application does. The record's listener passes each new connection on
    to whatever the record points at for DNS clients at that moment."""
    return {name: (resolve(endpoint, name), port) for name in names}


def records_of(endpoint: Any, rds: Any, records: Dict[str, str]) -> Dict[str, Tuple[str, int]]:
    """Each record's address and the port of the instance it points at (`records`: record -> instance)."""
    ports = name_addresses(rds, records.values())
    return {name: (resolve(endpoint, name), ports[instance][1]) for name, instance in records.items()}


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
