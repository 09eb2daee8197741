# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, part 3: what masking costs, against a plain UPDATE of the same columns.

One PostgreSQL server (the data plane's Server, on 127.0.0.1) holds a `seed` database with `customers` (id, name,
email, phone, city) of 1,000,000 rows (generate_series), vacuumed and frozen. Each measure runs on a fresh copy of it
(CREATE DATABASE ... TEMPLATE seed, then a CHECKPOINT, neither timed):

(a) the floor: one plain `UPDATE customers SET name = 'x' || id, email = 'x' || id, phone = 'x'`;
(b) the masking statement alone: masking.mask_statement with email: email, name: hash, phone: {keep_last: 2};
(c) the whole masking.mask(): the guard (catalog, sampled content), the samples, the UPDATE and the marker in one
    transaction, VACUUM FULL, the proof; and the time of each of its phases.

Target: (b) at most 1.5 times (a). (c) is printed beside it, with its phases: it also rewrites the table (VACUUM FULL)
and reads it again (the proof), which the floor does not. Figures are the median of --runs. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from devtools.rds_endpoint.dataplane.postgres import Server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".collections"))
from ansible_collections.mitosis.rds.plugins.module_utils import masking  # noqa: E402

USER, PASSWORD = "master", "bench-mask-pw"
TARGET = 1.5  # (b)/(a)
RULES = """\
tables:
  public.customers:
    email: email
    name: hash
    phone: {keep_last: 2}
allow: [public.customers.city]
"""
FLOOR = "UPDATE customers SET name = 'x' || id, email = 'x' || id, phone = 'x'"
SALT = "bench-salt"
# mask()'s statements by phase (the first prefix that matches).
PHASES = [
    ("guard: catalog", "SELECT c.table_schema"),
    ("guard: content", "SELECT COUNT(*), SUM(CASE"),
    ("marker", "CREATE "),
    ("marker", "SELECT relation"),
    ("marker", "INSERT INTO mitosis_masking"),
    ("marker", "UPDATE mitosis_masking"),
    ("samples", "SELECT \""),
    ("update", "UPDATE \""),
    ("VACUUM FULL", "VACUUM FULL"),
    ("proof", "SELECT SUM(CASE"),
]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Timed(masking.Database):
    """masking's connection, timing each statement it sends (for the phases of mask())."""

    def __init__(self, db: masking.Database) -> None:
        super().__init__(db.conn, db.dialect)
        self.spent = []  # type: List[Tuple[str, float]]

    def _timed(self, call: Callable[..., Any], sql: str, params: Optional[Dict[str, Any]]) -> Any:
        started = time.perf_counter()
        try:
            return call(sql, params)
        finally:
            self.spent.append((sql, time.perf_counter() - started))

    def rows(self, sql: str, params: Optional[Dict[str, Any]] = None) -> List[Tuple[Any, ...]]:
        return self._timed(super().rows, sql, params)

    def run(self, sql: str, params: Optional[Dict[str, Any]] = None) -> int:
        return self._timed(super().run, sql, params)


def phase_of(sql: str) -> str:
    return next((name for name, prefix in PHASES if sql.startswith(prefix)), "other")


class Bench:
    """The server, the seed database, and a fresh copy of it per measure."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.copies = 0

    def connect(self, database: str) -> Any:
        import psycopg

        return psycopg.connect(host=self.server.host, port=self.server.port, user=USER, password=PASSWORD,
                               dbname=database, autocommit=True)

    def load(self, rows: int) -> float:
        started = time.perf_counter()
        with self.connect("seed") as conn:
            conn.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text, phone text, city text)")
            conn.execute("INSERT INTO customers SELECT i, (ARRAY['Anna', 'Bernd', 'Chiara', 'Dmitri', 'Emeka', "
                         "'Fatima'])[1 + i %% 6] || ' Customer ' || i, 'customer' || i || '@mail.example.com', "
                         "'+49 170 ' || lpad(i::text, 7, '0'), (ARRAY['Berlin', 'Lyon', 'Porto'])[1 + i %% 3] "
                         "FROM generate_series(1, %(rows)s) i", {"rows": rows})
            # Every copy starts frozen and analyzed: no measure pays for hint bits or statistics.
            conn.execute("VACUUM (FREEZE, ANALYZE) customers")
        return time.perf_counter() - started

    def fresh(self) -> str:
        """A copy of the seed database (a file copy: no WAL of its own), checkpointed."""
        self.copies += 1
        name = "run{0}".format(self.copies)
        with self.connect("postgres") as conn:
            if self.copies > 1:
                conn.execute("DROP DATABASE IF EXISTS run{0}".format(self.copies - 1))
            conn.execute("CREATE DATABASE {0} TEMPLATE seed STRATEGY FILE_COPY".format(name))
            conn.execute("CHECKPOINT")
        return name

    def floor(self) -> float:
        with self.connect(self.fresh()) as conn:
            started = time.perf_counter()
            conn.execute(FLOOR)
            return time.perf_counter() - started

    def statement(self) -> float:
        name = self.fresh()
        rules = masking.load_rules(RULES, "bench rules")
        db = masking.connect("postgres", self.server.host, self.server.port, USER, PASSWORD, name)
        try:
            catalog = masking.read_catalog(db)
            sql, params = masking.mask_statement(db.dialect, "public.customers", masking.tables(rules)[
                "public.customers"], catalog)
            started = time.perf_counter()
            db.run(sql, dict(params, salt=SALT))
            return time.perf_counter() - started
        finally:
            db.close()

    def whole(self) -> Tuple[float, Dict[str, float]]:
        name = self.fresh()
        rules = masking.load_rules(RULES, "bench rules")
        db = Timed(masking.connect("postgres", self.server.host, self.server.port, USER, PASSWORD, name))
        try:
            started = time.perf_counter()
            masking.mask(db, rules, SALT, name)
            total = time.perf_counter() - started
        finally:
            db.close()
        phases = {}  # type: Dict[str, float]
        for sql, seconds in db.spent:
            phases[phase_of(sql)] = phases.get(phase_of(sql), 0.0) + seconds
        phases["other (commit, Python)"] = total - sum(phases.values())
        return total, phases


def start_server(root: Path, shared_buffers: str) -> Server:
    server = Server(root / "pg", "127.0.0.1")
    server.initdb(USER, PASSWORD, "seed")
    # The data plane's servers are small (8MB of shared buffers); an RDS instance caches far more.
    server.sql("ALTER SYSTEM SET shared_buffers = '{0}'".format(shared_buffers))
    server.sql("ALTER SYSTEM SET max_wal_size = '4GB'")  # no checkpoint in the middle of a measure
    server.restart()
    return server


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of customers (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measure, each on a fresh copy; the median "
                        "counts (default 3)")
    parser.add_argument("--shared-buffers", default="256MB", help="the server's shared_buffers (default 256MB)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.runs < 1:
        parser.error("--rows and --runs must be at least 1")
    print("\n== Masking cost: PostgreSQL on 127.0.0.1 (shared_buffers {0}), customers of {1:,} rows; seconds: the "
          "median of {2} runs, each on a fresh copy".format(args.shared_buffers, args.rows, args.runs), flush=True)
    started = time.time()
    root = Path(tempfile.mkdtemp(prefix="mitosis-bench-mask-", dir="/tmp"))
    os.chmod(root, 0o755)  # the server runs as an unprivileged user
    server = None
    try:
        server = start_server(root, args.shared_buffers)
        bench = Bench(server)
        print("loaded {0:,} rows in {1:.1f} s ({2})".format(args.rows, bench.load(args.rows), server.sql(
            "SHOW server_version").strip()), flush=True)
        floors, statements, wholes, phases = [], [], [], []  # type: List[float], List[float], List[float], List[Any]
        for run in range(args.runs):
            floors.append(bench.floor())
            statements.append(bench.statement())
            total, spent = bench.whole()
            wholes.append(total)
            phases.append(spent)
            print("  run {0}: plain UPDATE {1:.2f} s, masking statement {2:.2f} s, mask() {3:.2f} s".format(
                run + 1, floors[-1], statements[-1], wholes[-1]), flush=True)
        floor, statement, whole = (statistics.median(x) for x in (floors, statements, wholes))
        print("\nmasking {0:,} rows: {1:.1f} s; plain UPDATE {2:.1f} s; ratio {3:.2f} (at most {4:g}) {5}".format(
            args.rows, statement, floor, statement / floor, TARGET, verdict(statement / floor <= TARGET)))
        print("whole mask() of {0:,} rows: {1:.1f} s; plain UPDATE {2:.1f} s; ratio {3:.2f} (guard, samples, "
              "UPDATE, marker, VACUUM FULL, proof)".format(args.rows, whole, floor, whole / floor))
        print("mask() by phase (median seconds, share of mask()):")
        names = [name for name, _ in PHASES] + ["other", "other (commit, Python)"]
        for name in dict.fromkeys(names):
            values = [spent.get(name, 0.0) for spent in phases]
            if any(values):
                median = statistics.median(values)
                print("  {0:<24} {1:>7.2f} s {2:>5.0%}".format(name, median, median / whole))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("\n(masking benchmark: {0:.0f} s)".format(time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
