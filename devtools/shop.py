"""The `shop` database the PostgreSQL stacks of the data plane hold: customers with personal data (names, emails,
phones) and their orders. Production's is large and current, the demo stack's small and a year old, so that a
refresh shows in every answer (row counts, the newest order, an email).

Seeding (devtools.seed), the demo application (devtools.demo_app), the demo and the tests read and write it through
these functions, with psycopg.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

import psycopg

DATABASE = "shop"
TABLES = ("customers", "orders")
SCHEMA = """
CREATE TABLE customers (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    phone text,
    created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers,
    total numeric(10, 2) NOT NULL,
    placed_at timestamptz NOT NULL
);
CREATE INDEX orders_placed_at ON orders (placed_at);
"""
FIRST = ["Ada", "Ben", "Chloe", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kemal", "Lena",
         "Mateo", "Nia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara"]
LAST = ["Almeida", "Bauer", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova", "Jansen",
        "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weber"]
# The domain of a scrubbed row's email (devtools/playbooks/scrub_shop.yml writes it).
SCRUBBED_DOMAIN = "example.invalid"


@dataclass(frozen=True)
class Dataset:
    """How many rows, up to when, and the email domain: enough to tell two stacks' data apart at a glance."""
    customers: int
    orders: int
    until: str  # the newest order's day
    domain: str


PRODUCTION = Dataset(customers=20000, orders=80000, until="2026-12-04", domain="mail.example.com")
DEMO = Dataset(customers=3000, orders=9000, until="2025-11-30", domain="old-mail.example.com")


def connect(address: str, port: int, user: str, password: str) -> psycopg.Connection:
    return psycopg.connect(host=address, port=port, user=user, password=password, dbname=DATABASE,
                           connect_timeout=5, autocommit=True)


def load(conn: psycopg.Connection, data: Dataset) -> None:
    """The schema and `data`'s rows, made by the server (generate_series): a second or two for production."""
    first = "ARRAY[{0}]".format(", ".join("'{0}'".format(n) for n in FIRST))
    last = "ARRAY[{0}]".format(", ".join("'{0}'".format(n) for n in LAST))
    with conn.transaction():
        conn.execute(SCHEMA)
        # %% is SQL's modulo (psycopg's placeholders take the single %).
        conn.execute(
            "INSERT INTO customers SELECT n,"
            " ({f})[1 + n %% {nf}] || ' ' || ({l})[1 + (n / {nf}) %% {nl}],"
            " lower(({f})[1 + n %% {nf}] || '.' || ({l})[1 + (n / {nf}) %% {nl}]) || n || '@' || %(domain)s,"
            " '+1-555-' || lpad((n * 7919 %% 10000000)::text, 7, '0'),"
            " %(until)s::timestamptz - make_interval(days => (n * 31) %% 1500)"
            " FROM generate_series(1, %(customers)s) AS n".format(f=first, l=last, nf=len(FIRST), nl=len(LAST)),
            {"domain": data.domain, "until": data.until, "customers": data.customers})
        conn.execute(
            "INSERT INTO orders SELECT n, 1 + (n * 7) %% %(customers)s, ((n * 37) %% 50000) / 100.0 + 5,"
            " %(until)s::timestamptz + interval '18 hours' - make_interval(mins => (%(orders)s - n) * 5)"
            " FROM generate_series(1, %(orders)s) AS n",
            {"customers": data.customers, "orders": data.orders, "until": data.until})
    conn.execute("ANALYZE")


def checksums(conn: psycopg.Connection, without: tuple[str, ...] = ()) -> Dict[str, str]:
    """Each table's content as one digest of its rows in key order (leaving out the columns `without`, those
    a scrub rewrote)."""
    digests = {}
    for table in TABLES:
        columns = [name for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (table,)) if name not in without]
        digests[table] = conn.execute(
            "SELECT count(*) || ':' || coalesce(md5(string_agg(ROW({0})::text, ',' ORDER BY id)), '') FROM {1}".format(
                ", ".join(columns), table)).fetchone()[0]
    return digests


def summary(conn: psycopg.Connection) -> Dict[str, Any]:
    """What the demo application answers: row counts, the newest order, a sample email."""
    customers, orders = conn.execute("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders)").fetchone()
    newest = conn.execute("SELECT placed_at FROM orders ORDER BY placed_at DESC LIMIT 1").fetchone()
    email = conn.execute("SELECT email FROM customers ORDER BY id LIMIT 1").fetchone()
    return {"customers": customers, "orders": orders, "newest_order": newest[0].date().isoformat() if newest else None,
            "sample_email": email[0] if email else None}
