"""The endpoint's data plane (`--data-plane`): every DB instance of engine postgres is a real PostgreSQL server.

The control plane (moto and the corrections) decides what happens and when; the data plane makes it real: a
create starts a server, a read replica is a streaming standby of its source's, a promotion ends that, a snapshot
is a copy of the data, a restore starts a server from one, a delete stops the server and removes its data, a
rename moves the instance's name (see names.py). Work that takes time (a base backup, a server's start) runs in
the background; the time model shows an operation done only once it is (`ready`). An engine is a plug-in: only
PostgreSQL is one so far (MySQL and MariaDB stay control-plane only).
An Aurora PostgreSQL cluster is one server too, its storage (keyed by its DbClusterResourceId), which its
endpoints and its members' names reach (model.py and cluster.py make the calls' effects); aurora-mysql stays
control-plane only.

Every server stops with the endpoint (`close`), and when the endpoint is killed (the parent-death signal of each
postmaster); the directories a killed endpoint left are removed by the next one to start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from .names import Names, alive, claim_block
from .postgres import DataPlaneError, Server

ENGINES = ("postgres",)
CLUSTER_ENGINES = ("aurora-postgresql",)  # Aurora engines whose clusters have a server
ROOT = Path(tempfile.gettempdir()) / "mitosis-dataplane"


def clean_stale(root: Path) -> None:
    """Remove what endpoints that are gone left behind (their servers died with them)."""
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.isdigit() and not alive(int(entry.name)):
            shutil.rmtree(entry, ignore_errors=True)


class DataPlane:
    """The servers of one endpoint, by resource id (DbiResourceId), and what each name points at."""

    def __init__(self, root: Path = ROOT) -> None:
        clean_stale(root)
        self.root = root
        self.block = claim_block(root)
        self.dir = root / str(os.getpid())
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)
        os.chmod(self.dir, 0o755)
        self.names = Names(self.block)
        self.servers: Dict[str, Server] = {}
        self.jobs: Dict[str, Future] = {}
        # A snapshot's ARN (its account's, so that two accounts' snapshots never collide): (its copy, the key of the
        # work that makes it: the server it copies, or the copy job of a snapshot copied from another).
        self.snapshots: Dict[str, Tuple[Path, str]] = {}
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dataplane")
        self.lock = threading.RLock()

    @staticmethod
    def handles(engine: Optional[str]) -> bool:
        return engine in ENGINES

    # --- background work ---------------------------------------------------------------------------------------

    def submit(self, key: str, work: Callable[[], None]) -> None:
        """Run `work` for `key` after whatever runs for it already."""
        with self.lock:
            before = self.jobs.get(key)

            def chained() -> None:
                if before is not None:
                    before.result()
                work()
            self.jobs[key] = self.pool.submit(chained)

    def ready(self, key: str) -> bool:
        """The work for `key` is done (an error in it is raised)."""
        job = self.jobs.get(key)
        if job is None:
            return True
        if not job.done():
            return False
        job.result()
        return True

    def failed(self, key: str) -> Optional[str]:
        job = self.jobs.get(key)
        if job is None or not job.done() or job.exception() is None:
            return None
        return str(job.exception())

    # --- servers -------------------------------------------------------------------------------------------------

    def server(self, key: str) -> Server:
        if key not in self.servers:
            raise DataPlaneError("no server for {0}".format(key))
        return self.servers[key]

    def _new(self, key: str) -> Server:
        server = Server(self.dir / key.replace("/", "_"), self.names.server_address())
        self.servers[key] = server
        return server

    def create(self, key: str, master_user: str, password: str, database: Optional[str]) -> None:
        server = self._new(key)
        self.submit(key, lambda: server.initdb(master_user, password, database))

    def replica(self, key: str, source_key: str) -> None:
        server, source = self._new(key), self.server(source_key)
        # After the source's own work (its start, a promotion): a base backup of a server that is ready.
        self.submit(key, lambda: (self.wait(source_key), server.standby_of(source)))

    def promote(self, key: str) -> None:
        self.submit(key, self.server(key).promote)

    def wait(self, key: str) -> None:
        """Until the work submitted for `key` so far is done."""
        job = self.jobs.get(key)
        if job is not None:
            job.result()

    def _where(self, snapshot: str) -> Path:
        return self.dir / "snapshots" / snapshot.replace("/", "_").replace(":", "_")

    def snapshot(self, snapshot: str, key: str) -> None:
        """A copy of `key`'s data, taken after the work submitted for it so far; kept until `forget_snapshot`."""
        where = self._where(snapshot)
        self.snapshots[snapshot] = (where, key)
        server = self.server(key)
        self.submit(key, lambda: server.copy_to(where))

    def copy_snapshot(self, snapshot: str, source: str) -> Optional[str]:
        """`snapshot` holds the data of `source` (CopyDBSnapshot, in one account or across two): a copy of its files
        (hard links: a snapshot's files never change), once `source` is made. Returns the key of the copy's work, or
        None when `source` holds no data."""
        if source not in self.snapshots:
            return None
        where, (copied, source_key) = self._where(snapshot), self.snapshots[source]
        job = "copy:" + snapshot
        self.snapshots[snapshot] = (where, job)

        def copy() -> None:
            self.wait(source_key)
            shutil.rmtree(where, ignore_errors=True)
            try:
                shutil.copytree(copied, where, symlinks=True, copy_function=os.link)
            except OSError:  # another file system: copies
                shutil.rmtree(where, ignore_errors=True)
                shutil.copytree(copied, where, symlinks=True)
        self.submit(job, copy)
        return job

    def restore(self, key: str, snapshot: str) -> None:
        if snapshot not in self.snapshots:
            raise DataPlaneError("snapshot {0} holds no data (taken before the data plane knew it)".format(snapshot))
        server, (copied, source_key) = self._new(key), self.snapshots[snapshot]
        self.submit(key, lambda: (self.wait(source_key), server.from_copy(copied)))

    def point_in_time(self, key: str, source_key: str) -> None:
        """The source's data of now: a base backup taken during the call (its latest restorable time, to within the
        call), then a server of its own from it."""
        snapshot = "pit:" + key
        self.snapshot(snapshot, source_key)
        self.wait(source_key)
        self.restore(key, snapshot)

    def set_password(self, key: str, user: str, password: str) -> None:
        server = self.server(key)
        self.submit(key, lambda: server.set_password(user, password))

    def reboot(self, key: str) -> None:
        self.submit(key, self.server(key).restart)

    def delete(self, key: str) -> None:
        server = self.servers.pop(key, None)
        if server is not None:
            self.submit(key, server.remove)

    def forget_snapshot(self, snapshot: str) -> None:
        where, _key = self.snapshots.pop(snapshot, (None, None))
        if where is not None:
            shutil.rmtree(where, ignore_errors=True)

    def describe(self) -> Dict[str, Dict[str, Any]]:
        """Every server, by resource id (Server.describe)."""
        return {key: server.describe() for key, server in self.servers.items()}

    # --- names ---------------------------------------------------------------------------------------------------

    def address(self, name: str) -> str:
        return self.names.address(name)

    def resolve(self, name: str, port: int, key: Optional[str]) -> None:
        """`name` resolves to the server of `key` now (None: to nothing, connections refused)."""
        server = self.servers.get(key) if key else None
        self.names.point(name, port, (server.host, server.port) if server else None)

    def point_record(self, record: str, value: Optional[str]) -> None:
        """The DNS record `record` points at `value` (an instance's address or a name) for new connections now; None:
        they are refused (Names.alias)."""
        self.names.alias(record, value)

    def reset(self) -> None:
        """Every server stopped and removed, every name and snapshot forgotten (the endpoint's reset)."""
        for key in list(self.servers):
            self.delete(key)
        for key in list(self.jobs):
            try:
                self.wait(key)
            except Exception:  # pylint: disable=broad-except  # a failed job: nothing left to wait for
                pass
        self.jobs.clear()
        for snapshot in list(self.snapshots):
            self.forget_snapshot(snapshot)
        self.names.close()
        self.names = Names(self.block)

    def close(self) -> None:
        self.names.close()
        # The servers first: each postmaster's parent-death signal is tied to the worker thread that started it.
        for server in self.servers.values():
            server.stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        for server in self.servers.values():
            server.stop()  # one a job was starting meanwhile
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.root / "block-{0}".format(self.block)).unlink(missing_ok=True)
