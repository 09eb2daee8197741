# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`, part 3: what masking costs, against a plain UPDATE of the same columns.

One PostgreSQL server (the data plane's Server, on 127.0.0.1) holds a `seed` database with `customers` (id, name,
email, phone, city) of 1,000,000 rows (generate_series), vacuumed and frozen. Each measure runs on a fresh copy of it
(CREATE DATABASE ... TEMPLATE seed, then a CHECKPOINT, neither timed):

(a) the floor: one plain `UPDATE customers SET name = 'x' || id, email = 'x' || id, phone = 'x'`;
(b) the masking statement: what masking.masked_in_place runs on PostgreSQL, in the table's transaction (its commit
    timed, its COUNT(*) not): the table rewrite of masking.rewrite_statement (built from masking.read_catalog), with
    email: email, name: hash, phone: {keep_last: 2}; it leaves no old row version, so no VACUUM FULL follows. Where the
    database refuses the rewrite, masked_in_place runs the UPDATE instead: (b) is then what it ran, and says so;
(c) the whole masking.mask(): the guard (catalog, sampled content), the samples, the masking and the marker in one
    transaction, the proof; and the time of each of its phases;
and, for what the fallback costs (a view on a masked column refuses the rewrite): the UPDATE form
(masking.mask_statement) and the VACUUM FULL after it.

Target: (b) at most 1.5 times (a). (c) is printed beside it, with its phases: it also reads the table again (the
proof), which the floor does not. Figures are the median of --runs. Nothing is asserted.
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
from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError  # noqa: E402

USER, PASSWORD = "master", "bench-mask-pw"
TARGET = 1.5  # (b)/(a)
TABLE = "public.customers"
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
# mask()'s statements by phase (the first prefix that matches); a statement the database refused counts apart.
PHASES = [
    ("guard: catalog", "SELECT c.table_schema"),
    ("guard: content", "SELECT COUNT(*), SUM(CASE"),
    ("marker", "CREATE "),
    ("marker", "SELECT relation"),
    ("marker", "INSERT INTO mitosis_masking"),
    ("marker", "UPDATE mitosis_masking"),
    ("samples", "SELECT \""),
    ("rows counted", "SELECT COUNT(*) FROM"),
    ("rewrite (ALTER TABLE)", "ALTER TABLE"),
    ("fallback: UPDATE", "UPDATE \""),
    ("fallback: VACUUM FULL", "VACUUM FULL"),
    ("proof", "SELECT SUM(CASE"),
]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Timed(masking.Database):
    """masking's connection, timing each statement it sends (for the phases of mask()), and noting the database's
    refusals."""

    def __init__(self, db: masking.Database) -> None:
        super().__init__(db.conn, db.dialect)
        self.spent = []  # type: List[Tuple[str, float, Optional[str]]]

    def _timed(self, call: Callable[..., Any], sql: str, params: Optional[Dict[str, Any]]) -> Any:
        started = time.perf_counter()
        refused = None  # type: Optional[str]
        try:
            return call(sql, params)
        except MitosisError as error:
            refused = str(error)
            raise
        finally:
            self.spent.append((sql, time.perf_counter() - started, refused))

    def rows(self, sql: str, params: Optional[Dict[str, Any]] = None) -> List[Tuple[Any, ...]]:
        return self._timed(super().rows, sql, params)

    def run(self, sql: str, params: Optional[Dict[str, Any]] = None) -> int:
        return self._timed(super().run, sql, params)

    def refusal(self, prefix: str) -> Optional[str]:
        return next((refused for sql, _seconds, refused in self.spent if sql.startswith(prefix) and refused), None)


def phase_of(sql: str, refused: Optional[str] = None) -> str:
    name = next((name for name, prefix in PHASES if sql.startswith(prefix)), "other statements")
    return name + " (refused)" if refused else name


class Bench:
    """The server, the seed database, and a fresh copy of it per measure."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.copies = 0
        self.rule = masking.tables(masking.load_rules(RULES, "bench rules"))[TABLE]

    def connect(self, database: str) -> Any:
        import psycopg

        return psycopg.connect(host=self.server.host, port=self.server.port, user=USER, password=PASSWORD,
                               dbname=database, autocommit=True)

    def masking_connection(self, timed: bool = False) -> masking.Database:
        """masking's own connection to a fresh copy."""
        db = masking.connect("postgres", self.server.host, self.server.port, USER, PASSWORD, self.fresh())
        return Timed(db) if timed else db

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

    def statement(self) -> Tuple[float, Optional[str]]:
        """(b): masked_in_place in the table's transaction, its commit included, its COUNT(*) left out; and the
        database's refusal of the rewrite, if it refused it."""
        db = self.masking_connection(timed=True)
        assert isinstance(db, Timed)
        try:
            catalog = masking.read_catalog(db)
            db.spent.clear()
            started = time.perf_counter()
            with db.transaction():
                masking.masked_in_place(db, TABLE, self.rule, catalog, SALT)
            total = time.perf_counter() - started
        finally:
            db.close()
        counted = sum(seconds for sql, seconds, _refused in db.spent if phase_of(sql) == "rows counted")
        return total - counted, db.refusal("ALTER TABLE")

    def fallback(self) -> Tuple[float, float]:
        """The UPDATE form of the masking, then the VACUUM FULL that reclaims its old row versions."""
        db = self.masking_connection()
        try:
            sql, params = masking.mask_statement(db.dialect, TABLE, self.rule, masking.read_catalog(db))
            started = time.perf_counter()
            db.run(sql, dict(params, salt=SALT))
            updated = time.perf_counter()
            db.run(db.dialect.reclaim.format(db.dialect.table(TABLE)))
            return updated - started, time.perf_counter() - updated
        finally:
            db.close()

    def whole(self) -> Tuple[float, Dict[str, float]]:
        db = self.masking_connection(timed=True)
        assert isinstance(db, Timed)
        name = db.conn.info.dbname
        try:
            started = time.perf_counter()
            masking.mask(db, masking.load_rules(RULES, "bench rules"), SALT, name)
            total = time.perf_counter() - started
        finally:
            db.close()
        phases = {}  # type: Dict[str, float]
        for sql, seconds, refused in db.spent:
            phases[phase_of(sql, refused)] = phases.get(phase_of(sql, refused), 0.0) + seconds
        phases["commit and Python"] = total - sum(phases.values())
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
        measured = {}  # type: Dict[str, List[float]]
        phases = []  # type: List[Dict[str, float]]
        refusal = None  # type: Optional[str]
        for run in range(args.runs):
            measured.setdefault("floor", []).append(bench.floor())
            seconds, refusal = bench.statement()
            measured.setdefault("statement", []).append(seconds)
            update, vacuum = bench.fallback()
            measured.setdefault("fallback update", []).append(update)
            measured.setdefault("fallback vacuum", []).append(vacuum)
            total, spent = bench.whole()
            measured.setdefault("whole", []).append(total)
            phases.append(spent)
            print("  run {0}: plain UPDATE {1:.2f} s, masking statement {2:.2f} s{3}, mask() {4:.2f} s; UPDATE form "
                  "{5:.2f} s + VACUUM FULL {6:.2f} s".format(
                      run + 1, measured["floor"][-1], seconds, " (refused rewrite, then the UPDATE)" if refusal else "",
                      total, update, vacuum), flush=True)
        median = {name: statistics.median(values) for name, values in measured.items()}
        floor = median["floor"]
        if refusal:
            print("\nthe database refused the rewrite, masked_in_place ran the UPDATE instead (and mask() a VACUUM "
                  "FULL after it): {0}".format(refusal))
        print("\nmasking statement ({0}) of {1:,} rows: {2:.1f} s; plain UPDATE {3:.1f} s; ratio {4:.2f} (at most "
              "{5:g}) {6}".format("refused rewrite + UPDATE" if refusal else "table rewrite, no VACUUM FULL needed",
                                  args.rows, median["statement"], floor, median["statement"] / floor, TARGET,
                                  verdict(median["statement"] / floor <= TARGET)))
        print("whole mask() of {0:,} rows: {1:.1f} s; plain UPDATE {2:.1f} s; ratio {3:.2f} (guard, samples, the "
              "masking, marker, proof)".format(args.rows, median["whole"], floor, median["whole"] / floor))
        fallback = median["fallback update"] + median["fallback vacuum"]
        print("the fallback (a view on a masked column): UPDATE form {0:.1f} s + VACUUM FULL {1:.1f} s = {2:.1f} s; "
              "ratio {3:.2f}".format(median["fallback update"], median["fallback vacuum"], fallback, fallback / floor))
        print("mask() by phase (median seconds, share of mask()):")
        names = [name for name, _ in PHASES] + ["other statements", "commit and Python"]
        names = [variant for name in names for variant in (name, name + " (refused)")]
        for name in dict.fromkeys(names):
            values = [spent.get(name, 0.0) for spent in phases]
            if any(values):
                seconds = statistics.median(values)
                print("  {0:<32} {1:>7.2f} s {2:>5.0%}".format(name, seconds, seconds / median["whole"]))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("\n(masking benchmark: {0:.0f} s)".format(time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
