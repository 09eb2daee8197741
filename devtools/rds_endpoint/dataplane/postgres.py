"""Real PostgreSQL servers for the endpoint's data plane: one per DB instance, owned by the endpoint.

A `Server` is a data directory and a postmaster started as a child of the endpoint (never through pg_ctl, which
would detach it), listening on its own loopback address and port. When the endpoint runs as root, the servers run
as an unprivileged user (PostgreSQL refuses root). Each postmaster gets the parent-death signal, so killing the
endpoint (even with SIGKILL) stops its servers; their backends follow the postmaster. Small settings keep a stack
of eight servers within a few hundred MB.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1
START_TIMEOUT = 300.0  # a loaded machine (two test workers on two cores) can take minutes
# The role the data plane replicates with (RDS uses an internal one of its own, rdsrepladmin).
REPLICATION_USER = "rdsrepladmin"
SETTINGS = {
    "shared_buffers": "8MB",
    "max_connections": "40",
    "fsync": "off",
    "synchronous_commit": "off",
    # On: a base backup taken from a standby (a replica of a replica, a standby being promoted) needs it.
    "full_page_writes": "on",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "wal_keep_size": "64MB",
    "hot_standby": "on",
    "dynamic_shared_memory_type": "posix",
    "max_worker_processes": "4",
    "password_encryption": "scram-sha-256",
    "logging_collector": "off",
}


class DataPlaneError(RuntimeError):
    pass


def binaries() -> Path:
    """The directory of the PostgreSQL server programs: MITOSIS_PG_BIN, the system's, or pgserver's wheel."""
    given = os.environ.get("MITOSIS_PG_BIN")
    candidates = [Path(given)] if given else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    wheel = importlib.util.find_spec("pgserver")  # a wheel with the server programs (not imported: only read)
    if wheel is not None and wheel.origin:
        candidates.append(Path(wheel.origin).parent / "pginstall" / "bin")
    for path in candidates:
        if all((path / program).is_file() for program in ("postgres", "initdb", "pg_basebackup", "psql")):
            return path
    raise DataPlaneError("no PostgreSQL server programs found: install PostgreSQL, or run `make venv` (pgserver), "
                         "or set MITOSIS_PG_BIN")


def server_user() -> str | None:
    """The unprivileged user servers run as when the endpoint is root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise DataPlaneError("running as root, and neither a postgres nor a nobody user exists to run the servers as")


def _die_with_parent() -> None:
    """In the server's process: stop (a fast shutdown, which ends its own children) when its parent goes."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)
    if os.getppid() == 1:  # the endpoint went between fork and prctl
        os._exit(1)


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """A TCP connection to (host, port) is accepted."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Server:
    """One PostgreSQL server: `root` holds its data directory (`data`), its socket and its log."""

    def __init__(self, root: Path, host: str, port: int | None = None, user: str | None = None) -> None:
        self.root = root
        self.data = root / "data"
        self.host = host
        self.port = port or free_port(host)
        self.user = user if user is not None else server_user()
        self.bin = binaries()
        self.process: subprocess.Popen[bytes] | None = None
        self.replication_password = ""

    # --- running programs as the server's user -------------------------------------------------------------------

    def _own(self, path: Path) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
                os.chown(item, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, input_text: str | None = None) -> str:
        done = subprocess.run([str(self.bin / args[0]), *args[1:]], user=self.user, input=input_text,
                              capture_output=True, text=True, cwd=self.root, check=False, timeout=START_TIMEOUT + 60)
        if done.returncode:
            raise DataPlaneError("{0} failed: {1}".format(" ".join(args[:2]), (done.stderr or done.stdout).strip()))
        return done.stdout

    def sql(self, statement: str, database: str = "postgres", user: str | None = None) -> str:
        """Run SQL as the server's superuser over its socket (trusted, local only); rows as text."""
        return self._run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.root), "-p",
                         str(self.port), "-U", user or self.superuser, "-d", database, "-c", statement)

    @property
    def superuser(self) -> str:
        return (self.root / "superuser").read_text().strip()

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def initdb(self, master_user: str, password: str, database: str | None = None) -> None:
        """A new cluster whose superuser is the master user (SCRAM), with the `database` created."""
        self.root.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self._own(self.root)
        try:
            self._run("initdb", "-D", str(self.data), "-U", master_user, "--pwfile", str(pwfile), "-A",
                      "scram-sha-256", "--auth-local", "trust", "-E", "UTF8", "--no-sync", "--locale", "C")
        finally:
            pwfile.unlink()
        (self.root / "superuser").write_text(master_user)
        self._configure()
        self.start()
        self.replication_password = secrets.token_hex(16)
        self.sql("CREATE ROLE {0} WITH REPLICATION LOGIN PASSWORD '{1}'".format(
            REPLICATION_USER, self.replication_password))
        if database and database != "postgres":
            self.sql('CREATE DATABASE "{0}"'.format(database))

    def _configure(self) -> None:
        settings = dict(SETTINGS, listen_addresses=self.host, port=str(self.port),
                        unix_socket_directories=str(self.root))
        conf = self.data / "postgresql.auto.conf"
        # A standby's link to its primary (written by pg_basebackup -R) stays.
        kept = [line + "\n" for line in (conf.read_text().splitlines() if conf.exists() else [])
                if line.startswith("primary_conninfo")]
        conf.write_text("".join(kept) + "".join("{0} = '{1}'\n".format(k, v) for k, v in settings.items()))
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host replication {0} 127.0.0.0/8 scram-sha-256\n"
            "host all all 127.0.0.0/8 scram-sha-256\n".format(REPLICATION_USER))
        self._own(self.root)

    def start(self) -> None:
        if self.process and self.process.poll() is None:
            return
        log = open(self.root / "server.log", "ab")  # noqa: SIM115  # the server's own, for its life
        self.process = subprocess.Popen([str(self.bin / "postgres"), "-D", str(self.data)], user=self.user,
                                        preexec_fn=_die_with_parent, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=self.root)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready():
            if self.process.poll() is not None:
                raise DataPlaneError("the server of {0} stopped at start: {1}".format(
                    self.root.name, (self.root / "server.log").read_text()[-2000:]))
            if time.monotonic() > deadline:
                raise DataPlaneError("the server of {0} did not start in {1:.0f} s".format(
                    self.root.name, START_TIMEOUT))
            time.sleep(0.05)

    def ready(self) -> bool:
        """The server accepts connections (a standby too, once it reached a consistent state)."""
        if not (self.process and self.process.poll() is None and accepts(self.host, self.port)):
            return False
        try:
            done = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port)],
                                  capture_output=True, check=False, timeout=10)
        except subprocess.TimeoutExpired:
            return False  # a loaded machine: asked again
        return done.returncode == 0

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions end), and wait for it."""
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- copies --------------------------------------------------------------------------------------------------

    def standby_of(self, primary: "Server") -> None:
        """A streaming standby of `primary`: a base backup (fast checkpoint), then replication, read-only."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        self.replication_password = primary.replication_password
        passfile = self.root / "pgpass"
        passfile.write_text("*:*:*:{0}:{1}\n".format(REPLICATION_USER, primary.replication_password))
        passfile.chmod(0o600)
        self._own(passfile)
        self._base_backup(primary, self.data, passfile, "-R")
        (self.root / "superuser").write_text(primary.superuser)
        self._configure()
        self.start()

    def _base_backup(self, source: "Server", data: Path, passfile: Path, *more: str) -> None:
        """A base backup of `source` into `data`, as the server's user."""
        done = subprocess.run([str(self.bin / "pg_basebackup"), "-h", source.host, "-p", str(source.port), "-U",
                               REPLICATION_USER, "-D", str(data), "--checkpoint=fast", "-X", "stream", "--no-sync",
                               *more], user=self.user, env=dict(os.environ, PGPASSFILE=str(passfile)),
                              capture_output=True, text=True, check=False, timeout=600)
        if done.returncode:
            raise DataPlaneError("pg_basebackup of {0} failed: {1}".format(source.root.name, done.stderr.strip()))

    def promote(self) -> None:
        """The standby leaves its primary and accepts writes."""
        self._run("pg_ctl", "promote", "-D", str(self.data), "-w", "-t", str(int(START_TIMEOUT)))
        (self.data / "postgresql.auto.conf").write_text(
            "\n".join(line for line in (self.data / "postgresql.auto.conf").read_text().splitlines()
                      if not line.startswith("primary_conninfo")) + "\n")

    def copy_to(self, destination: Path) -> None:
        """A copy of the server's data as of now (a snapshot): a base backup, restorable on its own."""
        destination.mkdir(parents=True, exist_ok=True)
        self._own(destination)
        passfile = self.root / "pgpass"
        passfile.write_text("*:*:*:{0}:{1}\n".format(REPLICATION_USER, self.replication_password))
        passfile.chmod(0o600)
        self._own(passfile)
        self._base_backup(self, destination / "data", passfile)
        (destination / "superuser").write_text(self.superuser)
        (destination / "replication").write_text(self.replication_password)

    def from_copy(self, source: Path) -> None:
        """A server started from a copy (copy_to): its own data from then on."""
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source / "data", self.data, symlinks=True)
        shutil.copy(source / "superuser", self.root / "superuser")
        self.replication_password = (source / "replication").read_text()
        standby = self.data / "standby.signal"
        if standby.exists():
            standby.unlink()
        self._configure()
        self.start()

    def describe(self) -> dict[str, Any]:
        """Where it listens, its process, and whose standby it is (the primary's host:port), if any."""
        conf = self.data / "postgresql.auto.conf"
        link = [line for line in (conf.read_text().splitlines() if conf.exists() else [])
                if line.startswith("primary_conninfo")]
        upstream = dict(re.findall(r"\b(host|port)=(\S+)", link[0])) if link else {}
        running = bool(self.process and self.process.poll() is None)
        return {"address": self.host, "port": self.port, "directory": str(self.root),
                "pid": self.process.pid if running and self.process else None,
                "standby_of": "{0}:{1}".format(upstream.get("host"), upstream.get("port")) if upstream else None}

    def set_password(self, user: str, password: str) -> None:
        self.sql("ALTER ROLE \"{0}\" WITH PASSWORD '{1}'".format(user, password.replace("'", "''")))
