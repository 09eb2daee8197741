# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""masking: the rules file's errors (each naming its line), the SQL per dialect, and masking real databases: a
PostgreSQL server (devtools' data plane Server, on 127.0.0.1), and MySQL or MariaDB when a server and PyMySQL are
installed. Every server a test starts is stopped by its module-scoped fixture, whatever the tests do."""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils import masking
from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError

ROOT = Path(__file__).resolve().parents[4]
USER, PASSWORD = "master", "masking-test-pw"
SALT = "pepper-7f3a-never-in-sql"
ROWS, SESSIONS = 3000, 500


def rules_error(text: str) -> str:
    with pytest.raises(MitosisError) as caught:
        masking.load_rules(text, "rules.yml")
    return str(caught.value)


def customers(*columns: str, table: str = "public.customers", extra: str = "") -> str:
    """A rules file: tables:, the table (line 2), its email rule (line 3), then `columns` from line 4, then `extra`."""
    body = "".join("    {0}\n".format(column) for column in columns)
    return "tables:\n  {0}:\n    email: email\n{1}{2}".format(table, body, extra)


# --- the rules file ------------------------------------------------------------------------------------------------

RULE_ERRORS = [
    # (id, text, line, what the message says)
    ("not-yaml-tab", "tables:\n  public.customers:\n\temail: email\n", 3, "is not YAML: found character '\\t'"),
    ("not-yaml-indent", "tables:\n  public.customers:\n    email: email\n   name: hash\n", 4,
     "is not YAML: expected <block end>"),
    ("not-yaml-mapping-value", customers("name: hash", "   phone: empty"), 5, "is not YAML: mapping values are not"),
    ("not-yaml-flow", "tables:\n  public.customers: {email: email\nallow: []\n", 3, "is not YAML: expected ','"),
    ("not-yaml-alias", "tables:\n  public.customers: *rule\n", 2, "is not YAML: found undefined alias 'rule'"),
    ("not-a-mapping", "- public.customers\n- email\n", 1, "the file must be a mapping with `tables:`"),
    ("a-scalar", "public.customers: email\n", 1, "unknown key 'public.customers'"),
    ("unknown-key", customers(extra="columns: [email]\n"), 4, "unknown key 'columns'; the keys are tables, allow"),
    ("no-tables", "allow: []\ntables: {}\n", 2, "`tables:` must map schema.table names to their rules"),
    ("bad-database", "database: shop-prod\ntables:\n  public.c: truncate\n", 1, "`database:` must be a database name"),
    ("bad-table-flow", "tables:\n  public.c: truncate\n  customers: {email: email}\n", 3,
     "'customers' is not a schema.table name"),
    ("bad-table-three-parts", "tables:\n  shop.public.customers: truncate\n", 2,
     "'shop.public.customers' is not a schema.table name"),
    ("bad-table-rule", "tables:\n  public.sessions: truncat\n", 2,
     "the rule of public.sessions must be `truncate` or a mapping of columns to strategies, not 'truncat'"),
    ("unknown-strategy", customers("name: scramble"), 4, "unknown strategy 'scramble' for public.customers.name"),
    ("unknown-strategy-mapping", customers("name: {scramble: 3}"), 4,
     "unknown strategy 'scramble' for public.customers.name"),
    ("table-strategy-on-column", customers("name: truncate"), 4, "unknown strategy 'truncate'"),
    ("two-strategies", customers("name: {fixed: a, template: b}"), 4,
     "the strategy of public.customers.name must be a name or a one-key mapping"),
    ("bad-column-name", customers("'first name': hash"), 4, "'first name' is not a column name"),
    ("fixed-without-argument", customers("tier: fixed"), 4, "fixed needs an argument, e.g. {fixed: ...}"),
    ("template-without-argument", customers("login: template"), 4, "template needs an argument"),
    ("keep-last-without-argument", customers("phone: keep_last"), 4, "keep_last needs an argument"),
    ("keep-first-without-argument", customers("phone: keep_first"), 4, "keep_first needs an argument"),
    ("keep-last-word", customers("phone: {keep_last: two}"), 4, "keep_last takes a number of characters, not 'two'"),
    ("keep-last-quoted", customers("phone: {keep_last: '2'}"), 4, "keep_last takes a number of characters, not '2'"),
    ("keep-last-float", customers("phone: {keep_last: 2.5}"), 4, "keep_last takes a number of characters, not 2.5"),
    ("keep-last-negative", customers("phone: {keep_last: -1}"), 4, "keep_last takes a number of characters, not -1"),
    ("keep-first-bool", customers("phone: {keep_first: true}"), 4, "keep_first takes a number of characters, not True"),
    ("null-unquoted", customers("notes: null"), 4,
     "public.customers.notes has no strategy (for SQL NULL write \"null\", quoted)"),
    ("null-tilde", customers("notes: ~"), 4, "public.customers.notes has no strategy"),
    ("null-empty", customers("notes:", "name: hash"), 4, "public.customers.notes has no strategy"),
    ("fixed-null", customers("tier: {fixed: null}"), 4, "fixed takes a value (for SQL NULL use the strategy \"null\")"),
    ("fixed-list", customers("tier: {fixed: [a, b]}"), 4, "fixed takes a value"),
    ("template-empty-field", customers("login: {template: 'user{}'}"), 4, "the template field {} is not a column name"),
    ("template-bad-field", customers("login: {template: 'user{first name}'}"), 4,
     "the template field {first name} is not a column name"),
    ("template-of-masked-column", customers("name: hash", "login: {template: 'user-{name}'}"), 5,
     "the template of public.customers.login uses name, which a rule masks"),
    ("template-of-email", customers("login: {template: '{email}'}"), 4,
     "the template of public.customers.login uses email, which a rule masks"),
    ("allow-not-a-list", customers(extra="allow: public.customers.city\n"), 4,
     "`allow:` must be a list of schema.table.column names"),
    ("allow-two-parts", customers(extra="allow:\n  - public.customers.city\n  - customers.city\n"), 6,
     "'customers.city' is not a schema.table.column name"),
    ("allow-flow-number", customers(extra="allow: [public.customers.city, 3]\n"), 4, "3 is not a schema.table.column"),
    ("where-semicolon", customers("where: \"tier <> 'staff'; DROP TABLE customers\""), 4,
     "`where:` of public.customers must be one SQL condition (no `;`)"),
    ("where-empty", customers("where: '  '"), 4, "`where:` of public.customers must be one SQL condition"),
    ("where-not-text", customers("where: [a, b]"), 4, "`where:` of public.customers must be one SQL condition"),
    ("where-alone", "tables:\n  public.customers:\n    where: \"id > 1\"\n", 2,
     "public.customers has a `where:` and no column to mask"),
    # An error about a key names the key's line, also when its value is a block on the lines after it.
    ("unknown-key-block", "tables:\n  public.c: truncate\ntabels:\n  public.x: truncate\n", 3, "unknown key 'tabels'"),
    ("bad-table-block", "tables:\n  public.c: truncate\n  customers:\n    email: email\n", 3,
     "'customers' is not a schema.table name"),
    ("bad-table-rule-block", "tables:\n  public.c: truncate\n  public.sessions:\n    - token\n", 3,
     "the rule of public.sessions must be `truncate` or a mapping"),
    ("allow-block", customers(extra="allow:\n  x: y\n"), 4, "`allow:` must be a list"),
]


@pytest.mark.parametrize("text, line, problem", [case[1:] for case in RULE_ERRORS], ids=[c[0] for c in RULE_ERRORS])
def test_rules_file_error_names_its_line(text: str, line: int, problem: str) -> None:
    message = rules_error(text)
    assert re.match(r"mask_rules: rules\.yml line {0}[: ]".format(line), message), message
    assert problem in message


@pytest.mark.parametrize("text", [customers("login: {template: user}"), customers("login: {template: 'user{id'}"),
                                  customers("login: {template: 3}")], ids=["no-field", "unbalanced", "not-text"])
def test_rules_file_template_without_field(text: str) -> None:
    message = rules_error(text)
    assert message.startswith("mask_rules: rules.yml line 4: template takes a text with {column} fields, e.g. "
                              "\"user{id}\", not ")


def test_rules_file_duplicate_table_fails() -> None:
    message = rules_error(customers("name: hash", extra="  public.customers:\n    phone: empty\n"))
    assert message.startswith("mask_rules: rules.yml line 5: 'public.customers' appears twice in its mapping"), \
        message  # the second public.customers
    # A column twice in a table's rules, too: YAML would keep the last strategy only.
    message = rules_error(customers("name: hash", "name: empty"))
    assert message.startswith("mask_rules: rules.yml line 5: 'name' appears twice in its mapping"), message


def test_empty_rules_file_has_no_line() -> None:
    assert rules_error("").startswith("mask_rules: rules.yml: the file must be a mapping with `tables:`")
    assert rules_error("# only a comment\n").startswith("mask_rules: rules.yml: the file must be a mapping")


def test_check_rules_without_lines() -> None:
    with pytest.raises(MitosisError, match=r"^mask_rules: rules\.yml: unknown strategy 'scramble' for public\.c\.n"):
        masking.check_rules({"tables": {"public.c": {"n": "scramble"}}}, path="rules.yml")
    with pytest.raises(MitosisError, match=r"^mask_rules: unknown strategy 'scramble' for public\.c\.n"):
        masking.check_rules({"tables": {"public.c": {"n": "scramble"}}})


GOOD_RULES = """\
database: shop
tables:
  public.customers:
    where: "tier <> 'staff'"
    email: email
    name: hash
    phone: {keep_last: 2}
    nick: {keep_first: 0}
    notes: "null"
    bio: empty
    tier: {fixed: basic}
    code: {fixed: 5}
    flag: {fixed: true}
    login: {template: "user{id}-{city}"}
  public.sessions: truncate
  app.orders:
    street: {fixed: "O'Brien Street 1"}
allow: [public.customers.city, app.orders.city, public.customers.city]
"""


def test_good_rules_keep_the_files_form() -> None:
    rules = masking.load_rules(GOOD_RULES, "rules.yml")
    assert rules == {
        "database": "shop",
        "tables": {
            "public.customers": {
                "where": "tier <> 'staff'", "email": "email", "name": "hash", "phone": {"keep_last": 2},
                "nick": {"keep_first": 0}, "notes": "null", "bio": "empty", "tier": {"fixed": "basic"},
                "code": {"fixed": "5"}, "flag": {"fixed": "true"}, "login": {"template": "user{id}-{city}"}},
            "public.sessions": "truncate",
            "app.orders": {"street": {"fixed": "O'Brien Street 1"}},
        },
        "allow": ["app.orders.city", "public.customers.city"],
    }
    # Checked again where the module runs: the same.
    assert masking.check_rules(rules) == rules
    minimal = masking.load_rules("tables: {public.c: {n: hash}}", "rules.yml")
    assert minimal == {"database": None, "tables": {"public.c": {"n": "hash"}}, "allow": []}


def test_tables_reads_the_rules_as_the_sql_needs_them() -> None:
    assert masking.tables(masking.load_rules(GOOD_RULES, "rules.yml")) == {
        "public.customers": {"truncate": False, "where": "tier <> 'staff'", "columns": {
            "email": ["email", None], "name": ["hash", None], "phone": ["keep_last", 2],
            "nick": ["keep_first", 0], "notes": ["null", None], "bio": ["empty", None],
            "tier": ["fixed", "basic"], "code": ["fixed", "5"], "flag": ["fixed", "true"],
            "login": ["template", "user{id}-{city}"]}},
        "public.sessions": {"truncate": True, "where": None, "columns": {}},
        "app.orders": {"truncate": False, "where": None, "columns": {"street": ["fixed", "O'Brien Street 1"]}},
    }
    assert masking.columns_masked(masking.load_rules(GOOD_RULES, "rules.yml"))[:3] == [
        "app.orders.street", "public.customers.bio", "public.customers.code"]


def test_rules_digest_follows_the_rules() -> None:
    rules = masking.load_rules(GOOD_RULES, "rules.yml")
    assert masking.rules_digest(rules) == masking.rules_digest(masking.load_rules(GOOD_RULES, "other.yml"))
    changed = masking.load_rules(GOOD_RULES.replace("fixed: basic", "fixed: gold"), "rules.yml")
    assert masking.rules_digest(changed) != masking.rules_digest(rules)
    assert re.match(r"^[0-9a-f]{16}$", masking.rules_digest(rules))


# --- SQL, per dialect ----------------------------------------------------------------------------------------------

ENGINES = ["postgres", "mysql", "mariadb"]
# Only the digest's bytes the text shows are hex-encoded (an odd length cuts the last hex digit off).
PG_SHA = "encode(substr(sha256(convert_to(%(salt)s::text || \"c\"::text, 'UTF8')), 1, {0}), 'hex')"
MY_SHA = "LEFT(SHA2(CONCAT(%(salt)s, CAST(`c` AS CHAR)), 256), {0})"
# (strategy, argument, PostgreSQL's expression, MySQL's, the parameters besides the salt)
EXPRESSIONS = [
    # NULL-strict joins: a NULL stays NULL.
    ("email", None, "('u' || {0} || '@example.invalid')".format(PG_SHA.format(8)),
     "CONCAT('u', {0}, '@example.invalid')".format(MY_SHA.format(16)), {}),
    ("hash", None, PG_SHA.format(16), MY_SHA.format(32), {}),
    ("null", None, "NULL", "NULL", {}),
    ("empty", None, "''", "''", {}),
    ("fixed", "basic", "%(fixed_0)s", "%(fixed_0)s", {"fixed_0": "basic"}),
    ("template", "user{id}-{tier}.", "concat(%(text_0)s::text, \"id\"::text, %(text_1)s::text, \"tier\"::text, "
     "%(text_2)s::text)", "CONCAT_WS('', %(text_0)s, CAST(`id` AS CHAR), %(text_1)s, CAST(`tier` AS CHAR), %(text_2)s)",
     {"text_0": "user", "text_1": "-", "text_2": "."}),
    ("template", "{id}", "concat(\"id\"::text)", "CONCAT_WS('', CAST(`id` AS CHAR))", {}),
    ("keep_last", 2,
     "CASE WHEN char_length(\"c\") > 2 THEN LPAD(RIGHT(\"c\", 2), char_length(\"c\"), '*') "
     "ELSE REPEAT('*', char_length(\"c\")) END",
     "CASE WHEN CHAR_LENGTH(`c`) > 2 THEN LPAD(RIGHT(`c`, 2), CHAR_LENGTH(`c`), '*') "
     "ELSE REPEAT('*', CHAR_LENGTH(`c`)) END", {}),
    ("keep_first", 3,
     "CASE WHEN char_length(\"c\") > 3 THEN RPAD(LEFT(\"c\", 3), char_length(\"c\"), '*') "
     "ELSE REPEAT('*', char_length(\"c\")) END",
     "CASE WHEN CHAR_LENGTH(`c`) > 3 THEN RPAD(LEFT(`c`, 3), CHAR_LENGTH(`c`), '*') "
     "ELSE REPEAT('*', CHAR_LENGTH(`c`)) END", {}),
]


def one_column(strategy: str, argument: Any, where: Optional[str] = None) -> Dict[str, Any]:
    return {"truncate": False, "where": where, "columns": {"c": [strategy, argument]}}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("strategy, argument, postgres, mysql, params", EXPRESSIONS,
                         ids=["{0}-{1}".format(e[0], i) for i, e in enumerate(EXPRESSIONS)])
def test_mask_statement_per_strategy(engine: str, strategy: str, argument: Any, postgres: str, mysql: str,
                                     params: Dict[str, Any]) -> None:
    dialect = masking.dialect_of(engine)
    table = "shop.customers" if engine != "postgres" else "public.customers"
    sql, found = masking.mask_statement(dialect, table, one_column(strategy, argument))
    if engine == "postgres":
        assert sql == 'UPDATE "public"."customers" SET "c" = ' + postgres
    else:
        assert sql == "UPDATE `shop`.`customers` SET `c` = " + mysql
    assert found == params
    # The salt is a parameter (only the hashing strategies use it), never text of the statement.
    assert ("%(salt)s" in sql) == (strategy in ("email", "hash"))


@pytest.mark.parametrize("engine, limit, expected", [
    ("postgres", 20, PG_SHA.format(10)), ("postgres", 255, PG_SHA.format(16)), ("postgres", None, PG_SHA.format(16)),
    ("postgres", 21, "left({0}, 21)".format(PG_SHA.format(11))),  # an odd length: the last hex digit cut off
    ("mysql", 12, MY_SHA.format(12)), ("mariadb", None, MY_SHA.format(32)), ("mysql", 21, MY_SHA.format(21))])
def test_hash_fits_the_column(engine: str, limit: Optional[int], expected: str) -> None:
    dialect = masking.dialect_of(engine)
    catalog = {"s.t": {"c": masking.Column("character varying", limit)}}
    sql = masking.mask_statement(dialect, "s.t", one_column("hash", None), catalog)[0]
    assert sql.endswith(" = " + expected), sql


@pytest.mark.parametrize("engine, expected", [
    ("postgres", 'UPDATE "app"."Order$1" SET "My_Col" = NULL, "a" = \'\' WHERE (kind <> \'internal\')'),
    ("mysql", "UPDATE `app`.`Order$1` SET `My_Col` = NULL, `a` = '' WHERE (kind <> 'internal')"),
    ("mariadb", "UPDATE `app`.`Order$1` SET `My_Col` = NULL, `a` = '' WHERE (kind <> 'internal')"),
])
def test_quoting_order_and_where(engine: str, expected: str) -> None:
    rule = {"truncate": False, "where": "kind <> 'internal'",
            "columns": {"a": ["empty", None], "My_Col": ["null", None]}}
    assert masking.mask_statement(masking.dialect_of(engine), "app.Order$1", rule) == (expected, {})


def test_quote_escapes_the_quote_character() -> None:
    assert masking.dialect_of("postgres").quote('a"b') == '"a""b"'
    assert masking.dialect_of("mysql").quote("a`b") == "`a``b`"


@pytest.mark.parametrize("engine, expected", [("postgres", 'TRUNCATE "public"."sessions"'),
                                              ("mysql", "DELETE FROM `public`.`sessions`"),
                                              ("mariadb", "DELETE FROM `public`.`sessions`"),
                                              ("aurora-postgresql", 'TRUNCATE "public"."sessions"'),
                                              ("aurora-mysql", "DELETE FROM `public`.`sessions`")])
def test_truncate_statement(engine: str, expected: str) -> None:
    # MySQL's TRUNCATE commits on its own: the marker would not be in the same transaction.
    rule = {"truncate": True, "where": None, "columns": {}}
    assert masking.mask_statement(masking.dialect_of(engine), "public.sessions", rule) == (expected, {})


def test_unknown_engine() -> None:
    with pytest.raises(MitosisError, match="Masking knows PostgreSQL, MySQL and MariaDB; the engine oracle-ee"):
        masking.dialect_of("oracle-ee")


SHOWN_RULES = """\
tables:
  public.customers:
    where: "tier <> 'staff'"
    email: email
    name: hash
    tier: {fixed: "O'Brien"}
    login: {template: "user{id}"}
  public.sessions: truncate
  public.accounts:
    iban: {keep_last: 4}
"""


# The rewrite reads the salt from a setting of its transaction (ALTER TABLE takes no parameter).
PG_SALT = "current_setting('mitosis_masking.salt')"
PG_EMAIL_SHOWN = ("('u' || encode(substr(sha256(convert_to(" + PG_SALT + " || \"email\"::text, 'UTF8')), 1, 8), "
                  "'hex') || '@example.invalid')")
PG_NAME_SHOWN = "encode(substr(sha256(convert_to(" + PG_SALT + " || \"name\"::text, 'UTF8')), 1, 16), 'hex')"
PG_IBAN_SHOWN = ("CASE WHEN char_length(\"iban\") > 4 THEN LPAD(RIGHT(\"iban\", 4), char_length(\"iban\"), '*') "
                 "ELSE REPEAT('*', char_length(\"iban\")) END")


def staff(expression: str, column: str) -> str:
    """A `where:` in a table rewrite: the rows it leaves out keep their value."""
    return "CASE WHEN (tier <> 'staff') THEN {0} ELSE \"{1}\" END".format(expression, column)


@pytest.mark.parametrize("engine, expected", [
    # PostgreSQL: one table rewrite each, which leaves no old row version (no VACUUM FULL); without the database's
    # catalog, each column's type is not known.
    ("postgres", [
        'ALTER TABLE "public"."accounts" ALTER COLUMN "iban" TYPE <its type> USING {0};'.format(PG_IBAN_SHOWN),
        'ALTER TABLE "public"."customers" ALTER COLUMN "email" TYPE <its type> USING {0}, ALTER COLUMN "login" TYPE '
        '<its type> USING {1}, ALTER COLUMN "name" TYPE <its type> USING {2}, ALTER COLUMN "tier" TYPE <its type> '
        'USING {3};'.format(staff(PG_EMAIL_SHOWN, "email"), staff("concat('user'::text, \"id\"::text)", "login"),
                            staff(PG_NAME_SHOWN, "name"), staff("CAST('O''Brien' AS text)", "tier")),
        'TRUNCATE "public"."sessions";']),
    ("mysql", [
        "UPDATE `public`.`accounts` SET `iban` = CASE WHEN CHAR_LENGTH(`iban`) > 4 THEN LPAD(RIGHT(`iban`, 4), "
        "CHAR_LENGTH(`iban`), '*') ELSE REPEAT('*', CHAR_LENGTH(`iban`)) END;",
        "OPTIMIZE TABLE `public`.`accounts`;",
        "UPDATE `public`.`customers` SET `email` = CONCAT('u', LEFT(SHA2(CONCAT(%(salt)s, CAST(`email` AS CHAR)), "
        "256), 16), '@example.invalid'), `login` = CONCAT_WS('', 'user', CAST(`id` AS CHAR)), `name` = "
        "LEFT(SHA2(CONCAT(%(salt)s, CAST(`name` AS CHAR)), 256), 32), `tier` = 'O''Brien' WHERE (tier <> 'staff');",
        "OPTIMIZE TABLE `public`.`customers`;",
        "DELETE FROM `public`.`sessions`;"]),
])
def test_statements_show_literals_but_not_the_salt(engine: str, expected: List[str]) -> None:
    rules = masking.load_rules(SHOWN_RULES, "rules.yml")
    shown = masking.statements(engine, rules)
    assert shown == expected
    assert masking.statements("mariadb" if engine == "mysql" else "aurora-postgresql", rules) == expected
    assert not any(re.search(r"%\((?!salt\))", line) for line in shown), "a parameter other than the salt is shown"
    assert not any("VACUUM" in line for line in shown)


def test_statements_with_the_catalog_show_each_columns_type() -> None:
    rules = masking.load_rules(SHOWN_RULES.replace("where: \"tier <> 'staff'\"", "where: \"login LIKE 'x%'\""),
                               "rules.yml")
    catalog = {"public.accounts": {"iban": masking.Column("character", 34, "character(34)", '"C"')},
               "public.customers": {"email": masking.Column("character varying", 100, "character varying(100)"),
                                    "login": masking.Column("text", None, "text"),
                                    "name": masking.Column("text", None, "text"),
                                    "tier": masking.Column("integer", None, "integer")}}
    shown = masking.statements("postgres", rules, catalog)
    assert shown[0] == 'ALTER TABLE "public"."accounts" ALTER COLUMN "iban" TYPE character(34) COLLATE "C" USING ' \
        '{0};'.format(PG_IBAN_SHOWN)
    # A fixed value in the column's type; the `where:`'s % shown as written (doubled in the statement run).
    assert shown[1].startswith('ALTER TABLE "public"."customers" ALTER COLUMN "email" TYPE character varying(100) '
                               "USING CASE WHEN (login LIKE 'x%') THEN ")
    assert shown[1].endswith(', ALTER COLUMN "tier" TYPE integer USING CASE WHEN (login LIKE \'x%\') THEN '
                             "CAST('O''Brien' AS integer) ELSE \"tier\" END;")
    # A table the catalog lacks is shown with its types unknown (the guard would refuse it before anything runs).
    assert masking.statements("postgres", rules, {"public.other": {}})[0].startswith(
        'ALTER TABLE "public"."accounts" ALTER COLUMN "iban" TYPE <its type> USING ')


def test_postgres_marker_and_catalog_sql() -> None:
    dialect = masking.dialect_of("postgres")
    assert dialect.marker == "mitosis_masking.masked"
    assert dialect.marker_setup() == [
        "CREATE SCHEMA IF NOT EXISTS mitosis_masking",
        "CREATE TABLE IF NOT EXISTS mitosis_masking.masked (relation text PRIMARY KEY, rules text NOT NULL, "
        "masked bigint NOT NULL, reclaimed boolean NOT NULL DEFAULT false)"]
    assert dialect.marker_drop() == "DROP SCHEMA IF EXISTS mitosis_masking CASCADE"
    catalog = dialect.catalog_sql()
    assert "c.table_schema NOT IN ('pg_catalog', 'information_schema', 'mitosis_masking')" in catalog
    assert "t.table_type = 'BASE TABLE'" in catalog
    assert dialect.reclaim.format(dialect.table("public.customers")) == 'VACUUM FULL "public"."customers"'


@pytest.mark.parametrize("engine", ["mysql", "mariadb", "aurora-mysql"])
def test_mysql_marker_and_catalog_sql(engine: str) -> None:
    dialect = masking.dialect_of(engine)
    assert dialect.marker == "mitosis_masking"
    assert dialect.marker_setup() == [
        "CREATE TABLE IF NOT EXISTS mitosis_masking (relation varchar(200) PRIMARY KEY, rules varchar(64) NOT NULL, "
        "masked bigint NOT NULL, reclaimed boolean NOT NULL DEFAULT false) ENGINE=InnoDB"]
    assert dialect.marker_drop() == "DROP TABLE IF EXISTS mitosis_masking"
    catalog = dialect.catalog_sql()
    # The database the connection uses, its base tables, never the marker.
    assert "c.table_schema = DATABASE()" in catalog and "c.table_name <> 'mitosis_masking'" in catalog
    assert "t.table_type = 'BASE TABLE'" in catalog
    assert dialect.reclaim.format(dialect.table("shop.customers")) == "OPTIMIZE TABLE `shop`.`customers`"
    assert dialect.matches("v", r"^\d+$") == "v REGEXP '^\\\\d+$'"


@pytest.mark.parametrize("engine, strategy, argument, expected", [
    # A fixed value compares in the column's type, a template as text.
    ("postgres", "fixed", "x", '"c" IS DISTINCT FROM %(fixed_0)s'),
    ("mysql", "fixed", "x", "NOT (`c` <=> %(fixed_0)s)"),
    ("postgres", "template", "u{id}", '"c"::text IS DISTINCT FROM concat(%(text_0)s::text, "id"::text)'),
    ("mysql", "template", "u{id}", "NOT (CAST(`c` AS CHAR) <=> CONCAT_WS('', %(text_0)s, CAST(`id` AS CHAR)))"),
    # No anchored regex (slow): a LIKE of the form, then no character other than a lower-case hex digit.
    ("postgres", "email", None, "NOT (\"c\"::text LIKE 'u________________@example.invalid' AND "
     "NOT (SUBSTR(\"c\"::text, 2, 16) ~ '[^0-9a-f]'))"),
    ("mysql", "email", None, "NOT (CAST(`c` AS CHAR) LIKE 'u________________@example.invalid' AND "
     "NOT (SUBSTR(CAST(`c` AS CHAR), 2, 16) REGEXP '[^0-9a-f]'))"),
    ("postgres", "hash", None, "NOT (char_length(RTRIM(\"c\"::text)) = 32 AND NOT (RTRIM(\"c\"::text) ~ '[^0-9a-f]'))"),
    ("mysql", "hash", None, "NOT (CHAR_LENGTH(RTRIM(CAST(`c` AS CHAR))) = 32 AND "
     "NOT (RTRIM(CAST(`c` AS CHAR)) REGEXP '[^0-9a-f]'))"),
    ("postgres", "keep_last", 2, "(\"c\"::text <> '' AND LEFT(\"c\"::text, 1) <> '*')"),
    ("mysql", "keep_first", 2, "(CAST(`c` AS CHAR) <> '' AND RIGHT(CAST(`c` AS CHAR), 1) <> '*')"),
    ("postgres", "null", None, '"c" IS NOT NULL'),
    ("mysql", "empty", None, "CAST(`c` AS CHAR) <> ''"),
])
def test_masked_form(engine: str, strategy: str, argument: Any, expected: str) -> None:
    dialect = masking.dialect_of(engine)
    params = {}  # type: Dict[str, Any]
    value = masking.expression(dialect, "s.t", "c", strategy, argument, params)
    assert masking.masked_form(dialect, "c", strategy, argument, value) == expected


def test_masked_form_of_a_short_hash() -> None:
    dialect = masking.dialect_of("postgres")
    described = masking.Column("character varying", 21)
    value = masking.expression(dialect, "s.t", "c", "hash", None, {}, described)
    assert masking.masked_form(dialect, "c", "hash", None, value, described).startswith(
        "NOT (char_length(RTRIM(\"c\"::text)) = 21 AND ")


REWRITE_CATALOG = {"app.items": {
    "label": masking.Column("text", None, "text", '"C"'),
    "code": masking.Column("character varying", 40, "character varying(40)"),
    "qty": masking.Column("integer", None, "integer"), "price": masking.Column("numeric", None, "numeric(10,2)")}}


def test_rewrite_statement_keeps_each_columns_type_and_collation() -> None:
    rule = {"truncate": False, "where": None, "columns": {
        "label": ["hash", None], "code": ["keep_first", 1], "qty": ["fixed", "0"], "price": ["fixed", "9.5"]}}
    sql, params = masking.rewrite_statement(masking.dialect_of("postgres"), "app.items", rule, REWRITE_CATALOG)
    assert sql == (
        'ALTER TABLE "app"."items" '
        'ALTER COLUMN "code" TYPE character varying(40) USING CASE WHEN char_length("code") > 1 THEN '
        'RPAD(LEFT("code", 1), char_length("code"), \'*\') ELSE REPEAT(\'*\', char_length("code")) END, '
        'ALTER COLUMN "label" TYPE text COLLATE "C" USING '
        + PG_SHA.replace('"c"', '"label"').replace("%(salt)s::text", PG_SALT).format(16) + ', '
        # ALTER TABLE takes no parameter: the rules' values are literals, cast to the column's type.
        'ALTER COLUMN "price" TYPE numeric(10,2) USING CAST(\'9.5\' AS numeric(10,2)), '
        'ALTER COLUMN "qty" TYPE integer USING CAST(\'0\' AS integer)')
    assert params == {}


def test_rewrite_statement_with_a_where() -> None:
    rule = {"truncate": False, "where": "code LIKE 'A%'", "columns": {"qty": ["null", None]}}
    sql, _params = masking.rewrite_statement(masking.dialect_of("postgres"), "app.items", rule, REWRITE_CATALOG)
    # The rows the condition leaves out keep their value; the % doubled, as the statement runs with parameters.
    assert sql == 'ALTER TABLE "app"."items" ALTER COLUMN "qty" TYPE integer USING CASE WHEN (code LIKE \'A%%\') ' \
        'THEN NULL ELSE "qty" END'


@pytest.mark.parametrize("engine, rule", [
    ("mysql", {"truncate": False, "where": None, "columns": {"qty": ["null", None]}}),
    ("mariadb", {"truncate": False, "where": None, "columns": {"qty": ["null", None]}}),
    ("postgres", {"truncate": True, "where": None, "columns": {}})], ids=["mysql", "mariadb", "truncate"])
def test_rewrite_statement_does_not_apply(engine: str, rule: Dict[str, Any]) -> None:
    # MySQL updates the table; an emptied PostgreSQL table is truncated (new files, nothing to rewrite).
    assert masking.rewrite_statement(masking.dialect_of(engine), "app.items", rule, REWRITE_CATALOG) is None


class FailingCursor:
    """A DB-API cursor whose statement fails as a driver's does, with the parameters in its message."""

    description = None

    def __init__(self, error: Exception) -> None:
        self.error = error

    def execute(self, sql: str, params: Optional[Dict[str, Any]]) -> None:
        raise self.error

    def close(self) -> None:
        pass


class FailingConnection:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def cursor(self) -> FailingCursor:
        return FailingCursor(self.error)


def test_database_error_names_the_statement_never_its_parameters() -> None:
    error = RuntimeError('invalid input syntax for type integer: "abc"\nDETAIL: parameters: $1 = \'{0}\'\n'.format(
        SALT))
    db = masking.Database(FailingConnection(error), masking.dialect_of("postgres"))
    sql = 'UPDATE "public"."t" SET "n" = %(fixed_0)s, "h" = ' + PG_SHA.format(16) + " WHERE id > 0 AND n <> 12345"
    assert len(sql) > 160
    with pytest.raises(MitosisError) as caught:
        db.run(sql, {"salt": SALT, "fixed_0": "abc"})
    assert caught.value.code == "database" and caught.value.operation == "mask"
    # The statement's first 160 characters, then the error's first line only (PostgreSQL's DETAIL may show values).
    assert str(caught.value) == 'The database refused {0}...: invalid input syntax for type integer: "abc"'.format(
        sql[:160])
    assert SALT not in str(caught.value) and caught.value.__cause__ is None
    short = "SELECT 1"
    with pytest.raises(MitosisError, match=r"^The database refused SELECT 1: invalid input syntax"):
        db.rows(short)


# --- a real PostgreSQL server --------------------------------------------------------------------------------------

BASE_RULES = """\
tables:
  public.customers:
    email: email
    name: hash
    phone: {keep_last: 2}
    notes: "null"
    tier: {fixed: basic}
    login: {template: "user{id}"}
    birth_date: "null"
  public.sessions: truncate
allow: [public.customers.city]
"""
PG_SCHEMA = [
    "CREATE TABLE customers (id bigint PRIMARY KEY, name text, email varchar(100) UNIQUE, phone text, tier text, "
    "login text, notes text, city text, birth_date date)",
    "CREATE TABLE sessions (id int, token text)",
    "INSERT INTO customers SELECT i, 'Name ' || i, 'user' || i || '@mail.example.com', '+49 170 ' || "
    "lpad(i::text, 7, '0'), CASE WHEN i % 10 = 0 THEN 'gold' ELSE 'silver' END, 'login' || i, 'likes tea ' || i, "
    "'Berlin', date '1960-01-01' + i FROM generate_series(1, {0}) i".format(ROWS),
    "INSERT INTO sessions SELECT i, md5(i::text) FROM generate_series(1, {0}) i".format(SESSIONS),
]


def original(row: int) -> Dict[str, str]:
    return {"name": "Name {0}".format(row), "email": "user{0}@mail.example.com".format(row),
            "phone": "+49 170 {0:07d}".format(row)}


def digest(salt: str, value: str, length: int) -> str:
    """What the hashing strategies compute, in Python: sha256 of the salt followed by the value, in hex."""
    return hashlib.sha256((salt + value).encode("utf-8")).hexdigest()[:length]


def die_with_parent() -> None:
    """In a server's process: a SIGKILLed pytest still takes its servers down."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def scratch_dir(prefix: str) -> Path:
    # The servers run as an unprivileged user: the directory must be readable by it.
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(root, 0o755)
    return root


class Pg:
    """The module's PostgreSQL server: a `seed` database (the data) copied into a new database per test."""

    def __init__(self, server: Any) -> None:
        import psycopg

        self.server = server
        self.admin = psycopg.connect(host=server.host, port=server.port, user=USER, password=PASSWORD,
                                     dbname="postgres", autocommit=True)
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        name = "t{0}".format(self.count)
        self.admin.execute('CREATE DATABASE "{0}" TEMPLATE seed'.format(name))
        return name


class PgDb:
    """One test's database: masking's connection (`db`) and one of the test's own (`sql`)."""

    def __init__(self, pg: Pg, name: str) -> None:
        import psycopg

        self.pg, self.name = pg, name
        self.db = masking.connect("postgres", pg.server.host, pg.server.port, USER, PASSWORD, name)
        self.conn = psycopg.connect(host=pg.server.host, port=pg.server.port, user=USER, password=PASSWORD,
                                    dbname=name, autocommit=True)

    def sql(self, query: str, params: Optional[Dict[str, Any]] = None) -> List[Tuple[Any, ...]]:
        cursor = self.conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []

    def one(self, query: str) -> Any:
        return self.sql(query)[0][0]

    def checksum(self, table: str = "customers") -> str:
        return self.one("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {0} t".format(table))

    def mask(self, text: str = BASE_RULES, salt: str = SALT, log: Optional[Callable[[str], None]] = None
             ) -> Dict[str, Any]:
        return masking.mask(self.db, masking.load_rules(text, "rules.yml"), salt, self.name, log or (lambda _: None))

    def close(self) -> None:
        self.db.close()
        self.conn.close()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Pg]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from devtools.rds_endpoint.dataplane.postgres import DataPlaneError, Server
    except ImportError as error:
        pytest.skip("devtools' PostgreSQL Server is not importable (not a repository checkout?): {0}".format(error))
    pytest.importorskip("psycopg", reason="psycopg not installed")
    root = scratch_dir("mitosis-mask-pg-")
    server = None
    pg = None
    try:
        try:
            server = Server(root / "pg", "127.0.0.1")
            server.initdb(USER, PASSWORD, "seed")
        except DataPlaneError as error:
            pytest.skip("no PostgreSQL server to run: {0}".format(error))
        pg = Pg(server)
        import psycopg

        with psycopg.connect(host=server.host, port=server.port, user=USER, password=PASSWORD, dbname="seed",
                             autocommit=True) as seed:
            for statement in PG_SCHEMA:
                seed.execute(statement)
            seed.execute("VACUUM ANALYZE")
        yield pg
    finally:
        if pg is not None:
            pg.admin.close()
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pgdb(pg_server: Pg) -> Iterator[PgDb]:
    database = PgDb(pg_server, pg_server.fresh())
    try:
        yield database
    finally:
        database.close()


def masked_rows(database: PgDb) -> Dict[int, Tuple[Any, ...]]:
    return {row[0]: row[1:] for row in database.sql(
        "SELECT id, name, email, phone, tier, login, notes, city, birth_date FROM customers")}


def test_pg_mask_replaces_every_value(pgdb: PgDb) -> None:
    logged = []  # type: List[str]
    report = pgdb.mask(log=logged.append)
    assert report["tables"]["public.customers"]["rows"] == ROWS
    assert report["tables"]["public.sessions"]["rows"] == SESSIONS
    assert not any(table.get("resumed") for table in report["tables"].values())
    assert report["proof"] == {"columns_checked": 8, "sampled_values": 7 * masking.SAMPLE_SIZE}
    assert logged == ["masked public.customers: {0} rows".format(ROWS), "masked public.sessions: {0} rows".format(
        SESSIONS)]
    assert report["columns"] == ["public.customers.{0}".format(c) for c in (
        "birth_date", "email", "login", "name", "notes", "phone", "tier")]
    # No original value is left, by SQL.
    assert pgdb.one("SELECT count(*) FROM customers WHERE email LIKE '%@mail.example.com' OR name LIKE 'Name %' "
                    "OR phone LIKE '+49%' OR login LIKE 'login%' OR tier <> 'basic' OR notes IS NOT NULL "
                    "OR birth_date IS NOT NULL") == 0
    assert pgdb.sql("SELECT count(*), count(DISTINCT email), count(*) FILTER (WHERE email ~ "
                    "'^u[0-9a-f]{16}@example\\.invalid$') FROM customers")[0] == (ROWS, ROWS, ROWS)
    assert pgdb.one("SELECT count(*) FROM sessions") == 0
    # Each value, as the strategy defines it.
    rows = masked_rows(pgdb)
    assert sorted(rows) == list(range(1, ROWS + 1))
    for row, (name, email, phone, tier, login, notes, city, birth_date) in rows.items():
        before = original(row)
        assert name == digest(SALT, before["name"], 32)
        assert email == "u{0}@example.invalid".format(digest(SALT, before["email"], 16))
        assert phone == "*" * (len(before["phone"]) - 2) + before["phone"][-2:]
        assert (tier, login, notes, city, birth_date) == ("basic", "user{0}".format(row), None, "Berlin", None)


def test_pg_hash_depends_on_the_salt_only(pg_server: Pg) -> None:
    masked = {}
    for label, salt in (("first", "salt-one"), ("again", "salt-one"), ("other", "salt-two")):
        database = PgDb(pg_server, pg_server.fresh())
        try:
            database.mask(salt=salt)
            masked[label] = {row: values[:2] for row, values in masked_rows(database).items()}
        finally:
            database.close()
    assert masked["first"] == masked["again"]
    assert all(masked["other"][row][0] != names[0] and masked["other"][row][1] != names[1]
               for row, names in masked["first"].items())
    assert masked["other"][1][0] == digest("salt-two", "Name 1", 32)


def test_pg_second_mask_resumes(pgdb: PgDb) -> None:
    pgdb.mask()
    before = pgdb.checksum()
    relfile = pgdb.one("SELECT pg_relation_filepath('customers')")
    logged = []  # type: List[str]
    report = pgdb.mask(log=logged.append)
    assert report["tables"] == {"public.customers": {"rows": ROWS, "resumed": True},
                                "public.sessions": {"rows": SESSIONS, "resumed": True}}
    assert report["proof"] == {"columns_checked": 8, "sampled_values": 0}
    assert logged == []
    assert pgdb.checksum() == before  # nothing hashed twice
    assert pgdb.one("SELECT pg_relation_filepath('customers')") == relfile  # nor reclaimed twice
    # A run stopped between the masking and the reclaiming reclaims on resume, and masks nothing.
    pgdb.sql("UPDATE mitosis_masking.masked SET reclaimed = false")
    pgdb.mask()
    assert pgdb.one("SELECT pg_relation_filepath('customers')") != relfile
    assert pgdb.checksum() == before
    assert pgdb.sql("SELECT relation, reclaimed FROM mitosis_masking.masked ORDER BY 1") == [
        ("public.customers", True), ("public.sessions", True)]


def test_pg_markers_and_forget_markers(pgdb: PgDb) -> None:
    pgdb.mask()
    # Each table masked, under a digest of its rules, and no old row version left (a TRUNCATE gives new files).
    assert pgdb.sql("SELECT relation, rules ~ '^[0-9a-f]{16}$', masked, reclaimed FROM mitosis_masking.masked "
                    "ORDER BY 1") == [("public.customers", True, ROWS, True),
                                      ("public.sessions", True, SESSIONS, True)]
    # The marker is not a table of the database (the guard never sees it).
    assert "mitosis_masking.masked" not in masking.read_catalog(pgdb.db)
    masking.forget_markers(pgdb.db)
    assert pgdb.one("SELECT to_regnamespace('mitosis_masking')") is None
    masking.forget_markers(pgdb.db)  # already gone: nothing to do


def relation_bytes(database: PgDb, relation: str) -> bytes:
    """The relation's main file as the server wrote it (after a checkpoint); the server's user owns it: root reads."""
    database.sql("CHECKPOINT")
    path = Path(database.one("SHOW data_directory")) / database.one(
        "SELECT pg_relation_filepath('{0}')".format(relation))
    try:
        return path.read_bytes()
    except PermissionError:
        pytest.skip("reading the server's files needs root (they belong to the server's user)")


def test_pg_heap_file_holds_no_original_value(pgdb: PgDb) -> None:
    originals = [b"@mail.example.com", b"Name 1234", b"+49 170 0001234", b"likes tea 1234"]
    for relation in ("customers", "customers_email_key"):
        found = relation_bytes(pgdb, relation)
        assert b"user1234@mail.example.com" in found, "the control: the file holds the original before masking"
    assert all(value in relation_bytes(pgdb, "customers") for value in originals)
    pgdb.mask()
    heap = relation_bytes(pgdb, "customers")
    assert [value for value in originals if value in heap] == []
    assert b"@example.invalid" in heap and digest(SALT, "Name 1234", 32).encode() in heap
    assert b"@mail.example.com" not in relation_bytes(pgdb, "customers_email_key")


GUARDED = [
    # (id, statements that change the test's database, rules, what the error names)
    ("by-name", [], BASE_RULES.replace('    birth_date: "null"\n', ""),
     "public.customers.birth_date (its name)"),
    ("by-content-email", ["ALTER TABLE customers ADD contact text",
                          "UPDATE customers SET contact = 'c' || id || '@corp.example.org'"], BASE_RULES,
     "public.customers.contact (its values look like emails)"),
    ("by-content-phone", ["CREATE TABLE reach (id int, value text)",
                          "INSERT INTO reach SELECT i, '030 555-' || lpad(i::text, 4, '0') "
                          "FROM generate_series(1, 50) i"],
     BASE_RULES, "public.reach.value (its values look like phone numbers)"),
]


@pytest.mark.parametrize("changes, text, named", [c[1:] for c in GUARDED], ids=[c[0] for c in GUARDED])
def test_pg_coverage_guard(pgdb: PgDb, changes: List[str], text: str, named: str) -> None:
    for statement in changes:
        pgdb.sql(statement)
    before = pgdb.checksum(), pgdb.one("SELECT count(*) FROM pg_class WHERE relkind = 'r'")
    with pytest.raises(MitosisError) as caught:
        pgdb.mask(text)
    message = str(caught.value)
    assert message.startswith("Columns on {0} look personal and no rule masks them: ".format(pgdb.name))
    assert named in message
    assert "nothing was masked" in message
    # Before anything is masked: the data and the tables as they were (no marker either).
    assert (pgdb.checksum(), pgdb.one("SELECT count(*) FROM pg_class WHERE relkind = 'r'")) == before
    assert pgdb.one("SELECT to_regnamespace('mitosis_masking')") is None
    allowed = named.split(" ")[0]
    pgdb.mask(text.replace("allow: [", "allow: [{0}, ".format(allowed)))
    assert pgdb.checksum() != before[0]


def test_pg_guard_passes_a_column_that_is_not_personal(pgdb: PgDb) -> None:
    pgdb.sql("ALTER TABLE customers ADD contact text")
    pgdb.sql("UPDATE customers SET contact = CASE WHEN id % 3 = 0 THEN 'x' || id || '@corp.example.org' "
             "ELSE 'by post' END")  # a third are emails: under the share
    assert pgdb.mask()["tables"]["public.customers"]["rows"] == ROWS


UNFIT = [
    ("unknown-table", BASE_RULES.replace("public.sessions: truncate", "public.sessions: truncate\n  public.nope: "
                                         "truncate"), "table public.nope does not exist"),
    ("unknown-column", BASE_RULES.replace("    email: email\n", "    email: email\n    nickname: hash\n"),
     "column public.customers.nickname does not exist"),
    ("hash-integer", BASE_RULES.replace("public.sessions: truncate", "public.sessions: {id: hash, token: \"null\"}"),
     "public.sessions.id is integer: hash applies to text columns (use null, fixed or template)"),
    ("keep-last-date", BASE_RULES.replace('birth_date: "null"', "birth_date: {keep_last: 2}"),
     "public.customers.birth_date is date: keep_last applies to text columns"),
    ("template-unknown-field", BASE_RULES.replace("user{id}", "user{uid}"),
     "the template of public.customers.login uses uid, which does not exist"),
    ("allow-unknown", BASE_RULES.replace("allow: [", "allow: [public.customers.fax, "),
     "allowed column public.customers.fax does not exist"),
]


@pytest.mark.parametrize("text, named", [c[1:] for c in UNFIT], ids=[c[0] for c in UNFIT])
def test_pg_rules_that_do_not_fit_fail_first(pgdb: PgDb, text: str, named: str) -> None:
    before = pgdb.checksum(), pgdb.checksum("sessions")
    with pytest.raises(MitosisError) as caught:
        pgdb.mask(text)
    assert str(caught.value).startswith("mask_rules do not fit the database on {0}: ".format(pgdb.name))
    assert named in str(caught.value)
    assert (pgdb.checksum(), pgdb.checksum("sessions")) == before


def test_pg_email_needs_room(pgdb: PgDb) -> None:
    pgdb.sql("ALTER TABLE customers ADD short_mail varchar(20)")
    with pytest.raises(MitosisError, match=r"public\.customers\.short_mail holds at most 20 characters, fewer than a "
                                           r"masked email's 33"):
        pgdb.mask(BASE_RULES.replace("    email: email\n", "    email: email\n    short_mail: email\n"))


def test_pg_rules_changed_after_masking(pgdb: PgDb) -> None:
    pgdb.mask()
    before = pgdb.checksum()
    with pytest.raises(MitosisError, match="public.customers on {0} was masked by an earlier run with other rules; "
                                           "masking it again would mask masked values".format(pgdb.name)):
        pgdb.mask(BASE_RULES.replace("fixed: basic", "fixed: premium"))
    assert pgdb.checksum() == before
    # The salt is not part of the rules: another salt resumes, and hashes nothing twice.
    assert pgdb.mask(salt="another-salt")["tables"]["public.customers"] == {"rows": ROWS, "resumed": True}
    assert pgdb.checksum() == before


NOT_MASKED = [
    ("email-restored", "UPDATE customers SET email = 'user7@mail.example.com' WHERE id = 7", {},
     ["public.customers.email still holds 1 values that are not masked"]),
    ("sampled-value", "UPDATE customers SET name = 'Name 7' WHERE id IN (7, 8)", {"public.customers.name": ["Name 7"]},
     ["public.customers.name still holds 2 values that are not masked",
      "public.customers.name still holds 2 of 1 sampled original values"]),
    ("phone", "UPDATE customers SET phone = '+49 170 0000009' WHERE id = 9", {},
     ["public.customers.phone still holds 1 values that are not masked"]),
    ("fixed", "UPDATE customers SET tier = 'gold' WHERE id = 10", {},
     ["public.customers.tier still holds 1 values that are not masked"]),
    ("template", "UPDATE customers SET login = 'login11' WHERE id = 11", {},
     ["public.customers.login still holds 1 values that are not masked"]),
    ("null", "UPDATE customers SET notes = 'likes tea 12' WHERE id = 12", {},
     ["public.customers.notes still holds 1 values that are not masked"]),
    ("truncated", "INSERT INTO sessions VALUES (1, 'token')", {}, ["public.sessions still has 1 rows"]),
]


@pytest.mark.parametrize("change, samples, problems", [c[1:] for c in NOT_MASKED], ids=[c[0] for c in NOT_MASKED])
def test_pg_prove_fails_where_a_value_is_not_masked(pgdb: PgDb, change: str, samples: Dict[str, List[str]],
                                                    problems: List[str]) -> None:
    rules = masking.load_rules(BASE_RULES, "rules.yml")
    pgdb.mask()
    assert masking.prove(pgdb.db, rules, {"public.customers.name": ["Name 7"]}, "replica") == {
        "columns_checked": 8, "sampled_values": 1}
    pgdb.sql(change)
    with pytest.raises(MitosisError) as caught:
        masking.prove(pgdb.db, rules, samples, "replica")
    assert str(caught.value).startswith("The masking proof failed on replica: ")
    for problem in problems:
        assert problem in str(caught.value)


class Recording(masking.Database):
    """masking's connection, noting each statement it sends and its parameters."""

    def __init__(self, db: masking.Database) -> None:
        super().__init__(db.conn, db.dialect)
        self.sent = []  # type: List[Tuple[str, Dict[str, Any]]]

    def rows(self, sql: str, params: Optional[Dict[str, Any]] = None) -> List[Tuple[Any, ...]]:
        self.sent.append((sql, dict(params or {})))
        return super().rows(sql, params)

    def run(self, sql: str, params: Optional[Dict[str, Any]] = None) -> int:
        self.sent.append((sql, dict(params or {})))
        return super().run(sql, params)


def test_pg_salt_is_only_a_parameter(pgdb: PgDb) -> None:
    recording = Recording(pgdb.db)
    report = masking.mask(recording, masking.load_rules(BASE_RULES, "rules.yml"), SALT, pgdb.name)
    assert SALT not in repr(report)
    assert [sql for sql, _params in recording.sent if SALT in sql] == []
    # The salt is sent as the parameter `salt`, and only so.
    assert [key for _sql, params in recording.sent for key, value in params.items() if SALT in str(value)] != []
    assert {key for _sql, params in recording.sent for key, value in params.items() if SALT in str(value)} == {"salt"}


def test_pg_where_with_a_like_pattern(pgdb: PgDb) -> None:
    pgdb.sql("UPDATE customers SET email = 'staff' || id || '@staff.example.com' WHERE id <= 10")
    text = BASE_RULES.replace("    email: email\n",
                              "    where: \"email NOT LIKE '%@staff.example.com'\"\n    email: email\n")
    report = pgdb.mask(text)
    assert report["tables"]["public.customers"]["rows"] == ROWS - 10
    assert pgdb.one("SELECT count(*) FROM customers WHERE email LIKE '%@staff.example.com'") == 10


@pytest.mark.parametrize("strategy", ['"null"', "empty", "{fixed: x}", "hash"])
def test_template_never_copies_a_masked_value(strategy: str) -> None:
    # The masking reads each column's original value: a template over a masked column would copy it.
    text = BASE_RULES.replace("name: hash", "name: " + strategy).replace("user{id}", "user-{name}")
    with pytest.raises(MitosisError, match=r"^mask_rules: rules\.yml line 8: the template of public\.customers\.login "
                                           r"uses name, which a rule masks"):
        masking.load_rules(text, "rules.yml")


@pytest.mark.parametrize("change, text, column", [
    ("UPDATE customers SET email = NULL WHERE id <= 3", BASE_RULES, "email"),  # a unique column
    ("UPDATE customers SET notes = NULL WHERE id <= 3", BASE_RULES.replace('notes: "null"', "notes: email"), "notes"),
], ids=["unique", "plain"])
def test_pg_email_keeps_null(pgdb: PgDb, change: str, text: str, column: str) -> None:
    pgdb.sql(change)
    pgdb.mask(text)
    assert pgdb.sql("SELECT id FROM customers WHERE {0} IS NULL ORDER BY id".format(column)) == [(1,), (2,), (3,)]


def test_pg_resume_after_fixing_another_tables_rule(pgdb: PgDb) -> None:
    pgdb.sql("ALTER TABLE sessions ALTER token SET NOT NULL")
    failing = BASE_RULES.replace("public.sessions: truncate", 'public.sessions: {token: "null"}')
    with pytest.raises(MitosisError, match=r'^The database refused UPDATE "public"."sessions" SET "token" = NULL: '
                                           r'null value in column "token"'):
        pgdb.mask(failing)
    masked = pgdb.checksum()
    assert pgdb.sql("SELECT relation FROM mitosis_masking.masked") == [("public.customers",)]
    report = pgdb.mask()  # sessions' rule fixed: the run resumes customers, empties sessions
    assert report["tables"]["public.customers"] == {"rows": ROWS, "resumed": True}
    assert pgdb.checksum() == masked and pgdb.one("SELECT count(*) FROM sessions") == 0


# --- PostgreSQL: the table rewrite ---------------------------------------------------------------------------------

# Original values, as a heap file would hold them.
ORIGINAL_BYTES = (b"@mail.example.com", b"Name 1234", b"+49 170 0001234", b"likes tea 1234")


def relfilenode(database: PgDb, table: str = "customers") -> int:
    return database.one("SELECT relfilenode FROM pg_class WHERE oid = '{0}'::regclass".format(table))


def rewrite(database: PgDb, text: str, table: str = "public.customers") -> None:
    """rewrite_statement's statement for `table` run on its own, with the salt as the setting of its transaction
    that masked_in_place sets."""
    rule = masking.tables(masking.load_rules(text, "rules.yml"))[table]
    sql, params = masking.rewrite_statement(database.db.dialect, table, rule, masking.read_catalog(database.db))
    with database.db.transaction():
        database.db.run("SELECT set_config(%(name)s, %(salt)s, true)", {"name": masking.SALT_SETTING, "salt": SALT})
        database.db.run(sql, params)


def update(database: PgDb, text: str, table: str = "public.customers") -> None:
    """The UPDATE form of the same masking (mask_statement), run on its own."""
    rule = masking.tables(masking.load_rules(text, "rules.yml"))[table]
    sql, params = masking.mask_statement(database.db.dialect, table, rule, masking.read_catalog(database.db))
    database.db.run(sql, dict(params, salt=SALT))


def all_rows(database: PgDb, table: str = "customers") -> List[Tuple[Any, ...]]:
    return database.sql("SELECT * FROM {0} ORDER BY id".format(table))


def test_pg_rewrite_gives_the_values_of_the_update(pg_server: Pg) -> None:
    rewritten, updated = PgDb(pg_server, pg_server.fresh()), PgDb(pg_server, pg_server.fresh())
    try:
        before = relfilenode(rewritten)
        rewrite(rewritten, BASE_RULES)
        update(updated, BASE_RULES)
        assert all_rows(rewritten) == all_rows(updated)
        assert rewritten.one("SELECT count(*) FROM customers WHERE name LIKE 'Name %'") == 0
        # One rewrite: new files, holding no original value (no VACUUM FULL after it).
        assert relfilenode(rewritten) != before
        heap = relation_bytes(rewritten, "customers")
        assert [value for value in ORIGINAL_BYTES if value in heap] == []
        assert b"@mail.example.com" not in relation_bytes(rewritten, "customers_email_key")
    finally:
        rewritten.close()
        updated.close()


def test_pg_mask_rewrites_the_table(pg_server: Pg) -> None:
    masked, updated = PgDb(pg_server, pg_server.fresh()), PgDb(pg_server, pg_server.fresh())
    try:
        before = relfilenode(masked)
        recording = Recording(masked.db)
        masking.mask(recording, masking.load_rules(BASE_RULES, "rules.yml"), SALT, masked.name)
        update(updated, BASE_RULES)
        assert all_rows(masked) == all_rows(updated)
        assert masked.sql("SELECT relation, reclaimed FROM mitosis_masking.masked ORDER BY 1") == [
            ("public.customers", True), ("public.sessions", True)]
        assert relfilenode(masked) != before
        # By the rewrite: no UPDATE of the table, no VACUUM FULL.
        sent = [sql for sql, _params in recording.sent]
        assert [sql for sql in sent if sql.startswith('ALTER TABLE "public"."customers"')] != []
        assert [sql for sql in sent if sql.startswith(('UPDATE "public"."customers"', "VACUUM FULL"))] == []
    finally:
        masked.close()
        updated.close()


def test_pg_view_on_a_masked_column_falls_back_to_the_update(pgdb: PgDb) -> None:
    pgdb.sql("CREATE VIEW customer_mail AS SELECT id, email FROM customers")
    # PostgreSQL alters the type of no column a view uses.
    with pytest.raises(MitosisError, match="used by a view or rule"):
        rewrite(pgdb, BASE_RULES)
    before = relfilenode(pgdb)
    recording = Recording(pgdb.db)
    report = masking.mask(recording, masking.load_rules(BASE_RULES, "rules.yml"), SALT, pgdb.name)
    assert report["tables"]["public.customers"]["rows"] == ROWS
    assert "used by a view or rule" in report["tables"]["public.customers"]["rewrite_refused"]
    sent = [sql.split(" SET ")[0].split(" ALTER COLUMN ")[0] for sql, _params in recording.sent]
    tried, updated, vacuumed = (sent.index(sql) for sql in ('ALTER TABLE "public"."customers"',
                                                            'UPDATE "public"."customers"',
                                                            'VACUUM FULL "public"."customers"'))
    assert tried < updated < vacuumed
    assert pgdb.sql("SELECT reclaimed FROM mitosis_masking.masked WHERE relation = 'public.customers'") == [(True,)]
    assert relfilenode(pgdb) != before
    assert pgdb.one("SELECT count(*) FROM customer_mail WHERE email LIKE '%@mail.example.com'") == 0
    heap = relation_bytes(pgdb, "customers")
    assert [value for value in ORIGINAL_BYTES if value in heap] == []


ITEMS = [
    'CREATE TABLE items (id int PRIMARY KEY, label text COLLATE "C", code varchar(40), ref varchar(21), qty integer, '
    "price numeric(10,2))",
    "INSERT INTO items SELECT i, 'Label ' || i, 'CODE-' || i, 'REF-' || i, i, i * 1.25 FROM generate_series(1, 100) i",
]
ITEMS_RULES = BASE_RULES.replace("allow:", """  public.items:
    label: hash
    code: {keep_first: 2}
    ref: hash
    qty: {fixed: 0}
    price: {fixed: 9.5}
allow:""")
COLUMN_TYPES = ("SELECT a.attname, format_type(a.atttypid, a.atttypmod), co.collname FROM pg_attribute a LEFT JOIN "
                "pg_collation co ON co.oid = a.attcollation WHERE a.attrelid = 'items'::regclass AND a.attnum > 0 "
                "ORDER BY a.attnum")


def test_pg_catalog_reads_each_columns_type_and_collation(pgdb: PgDb) -> None:
    for statement in ITEMS:
        pgdb.sql(statement)
    pgdb.sql('ALTER TABLE items ADD note text COLLATE "default"')
    items = masking.read_catalog(pgdb.db)["public.items"]
    assert {column: (described.data_type, described.max_length, described.sql_type, described.collation)
            for column, described in items.items()} == {
        "id": ("integer", None, "integer", None), "label": ("text", None, "text", 'pg_catalog."C"'),
        "code": ("character varying", 40, "character varying(40)", None),
        "ref": ("character varying", 21, "character varying(21)", None),
        "qty": ("integer", None, "integer", None), "price": ("numeric", None, "numeric(10,2)", None),
        "note": ("text", None, "text", None)}


@pytest.mark.parametrize("how", ["rewrite", "mask"])
def test_pg_rewrite_keeps_types_and_collation(pgdb: PgDb, how: str) -> None:
    from decimal import Decimal

    for statement in ITEMS:
        pgdb.sql(statement)
    types = pgdb.sql(COLUMN_TYPES)
    assert types[1:] == [("label", "text", "C"), ("code", "character varying(40)", "default"),
                         ("ref", "character varying(21)", "default"), ("qty", "integer", None),
                         ("price", "numeric(10,2)", None)]
    if how == "rewrite":
        before = relfilenode(pgdb, "items")
        rewrite(pgdb, ITEMS_RULES, "public.items")
        assert relfilenode(pgdb, "items") != before
    else:
        pgdb.mask(ITEMS_RULES)
    assert pgdb.sql(COLUMN_TYPES) == types
    rows = all_rows(pgdb, "items")
    assert len(rows) == 100
    for row, label, code, ref, qty, price in rows:
        assert label == digest(SALT, "Label {0}".format(row), 32)
        assert ref == digest(SALT, "REF-{0}".format(row), 21)  # an odd length
        assert code == "CO" + "*" * (len("CODE-{0}".format(row)) - 2)
        # A fixed value in the column's type: 9.5 is 9.50 in numeric(10,2).
        assert (qty, price) == (0, Decimal("9.50"))


@pytest.mark.parametrize("how", ["rewrite", "mask"])
def test_pg_rewrite_masks_only_the_rows_of_its_where(pgdb: PgDb, how: str) -> None:
    text = BASE_RULES.replace("    email: email\n", "    where: \"id % 10 = 0 OR email LIKE 'user7@%'\"\n"
                              "    email: email\n")
    if how == "rewrite":
        rewrite(pgdb, text)
    else:
        assert pgdb.mask(text)["tables"]["public.customers"]["rows"] == ROWS // 10 + 1
    for row, (name, email, phone, tier, login, notes, city, birth_date) in masked_rows(pgdb).items():
        before = original(row)
        if row % 10 == 0 or row == 7:
            assert (name, email, tier, login, notes) == (
                digest(SALT, before["name"], 32), "u{0}@example.invalid".format(digest(SALT, before["email"], 16)),
                "basic", "user{0}".format(row), None)
        else:
            assert (name, email, phone, login, notes) == (
                before["name"], before["email"], before["phone"], "login{0}".format(row), "likes tea {0}".format(row))
            assert birth_date is not None and city == "Berlin"


def test_pg_refused_statement_is_an_error_without_the_salt(pgdb: PgDb) -> None:
    for statement in ITEMS:
        pgdb.sql(statement)
    before = pgdb.checksum("items")
    with pytest.raises(MitosisError) as caught:
        pgdb.mask(ITEMS_RULES.replace("qty: {fixed: 0}", "qty: {fixed: abc}"))
    message = str(caught.value)
    assert caught.value.code == "database"
    assert message.startswith('The database refused UPDATE "public"."items" SET "code" = '), message
    assert message.endswith(': invalid input syntax for type integer: "abc"'), message
    assert SALT not in message and SALT not in repr(caught.value.to_result())
    # The table as it was, and not marked; the table masked before it (its own transaction) stays masked.
    assert pgdb.checksum("items") == before
    assert pgdb.sql("SELECT relation FROM mitosis_masking.masked ORDER BY 1") == [("public.customers",)]


# --- MySQL or MariaDB, when installed ------------------------------------------------------------------------------

class MySQLServer:
    """A mysqld or mariadbd of this machine: a data directory in a temporary directory, on 127.0.0.1."""

    def __init__(self, program: str, root: Path) -> None:
        self.program, self.root = program, root
        version = subprocess.run([program, "--version"], capture_output=True, text=True, check=False, timeout=60)
        self.mariadb = "mariadb" in (version.stdout + version.stderr).lower()
        self.engine = "mariadb" if self.mariadb else "mysql"
        self.run_dir = root / "run"
        self.data = self.run_dir / "data"
        self.socket = self.run_dir / "mysql.sock"
        self.host = "127.0.0.1"
        self.port = 0
        self.process = None  # type: Optional[subprocess.Popen[bytes]]
        # mysqld refuses root: as root, the server runs as an unprivileged user (started as it, not switching to it
        # itself, so that the parent-death signal holds).
        self.user = None  # type: Optional[str]
        if os.geteuid() == 0:
            self.user = next((name for name in ("mysql", "nobody") if _user_exists(name)), None)

    def start(self) -> None:
        self.data.mkdir(parents=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.run_dir, self.data):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.mariadb:
            install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
            if install is None:
                pytest.skip("MariaDB server found but not mariadb-install-db")
            command = [install, "--no-defaults", "--basedir={0}".format(Path(self.program).resolve().parents[1]),
                       "--datadir={0}".format(self.data), "--auth-root-authentication-method=normal",
                       "--skip-test-db"]
        else:
            command = [self.program, "--no-defaults", "--initialize-insecure", "--datadir={0}".format(self.data)]
        done = subprocess.run(command, user=self.user, cwd=self.run_dir, capture_output=True, text=True, check=False,
                              timeout=300)
        if done.returncode:
            raise RuntimeError("{0} failed: {1}".format(command[0], (done.stderr or done.stdout)[-2000:]))
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            self.port = probe.getsockname()[1]
        options = ["--no-defaults", "--datadir={0}".format(self.data), "--socket={0}".format(self.socket),
                   "--port={0}".format(self.port), "--bind-address={0}".format(self.host), "--skip-name-resolve",
                   "--pid-file={0}".format(self.run_dir / "mysqld.pid"),
                   "--log-error={0}".format(self.run_dir / "error.log"), "--innodb-buffer-pool-size=64M"]
        if not self.mariadb:
            options.append("--mysqlx=OFF")  # the X protocol's own port (33060) would clash between runs
        self.process = subprocess.Popen([self.program] + options, user=self.user, cwd=self.run_dir,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                        preexec_fn=die_with_parent)
        self._wait()

    def _wait(self) -> None:
        import pymysql

        deadline = time.monotonic() + 120
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError("the server stopped at start: " + self._log())
            try:
                conn = pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)
                break
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start in 120 s: " + self._log()) from None
                time.sleep(0.2)
        try:
            with conn.cursor() as cursor:
                cursor.execute("CREATE USER '{0}'@'127.0.0.1' IDENTIFIED BY '{1}'".format(USER, PASSWORD))
                cursor.execute("GRANT ALL ON *.* TO '{0}'@'127.0.0.1' WITH GRANT OPTION".format(USER))
        finally:
            conn.close()
        if not self.mariadb:
            # MySQL 8's caching_sha2_password wants one secure login before plain ones: log in once over TLS.
            try:
                pymysql.connect(host=self.host, port=self.port, user=USER, password=PASSWORD,
                                ssl={"fake_flag_to_enable_tls": True}).close()
            except pymysql.err.MySQLError:
                pass

    def _log(self) -> str:
        log = self.run_dir / "error.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="module")
def mysql_server() -> Iterator[MySQLServer]:
    program = shutil.which("mariadbd") or shutil.which("mysqld")
    missing = []
    if program is None:
        missing.append("no MySQL or MariaDB server installed (mysqld/mariadbd not on PATH)")
    if importlib.util.find_spec("pymysql") is None:
        missing.append("PyMySQL not installed")
    if missing or program is None:
        pytest.skip("; ".join(missing))
    root = scratch_dir("mitosis-mask-my-")
    server = MySQLServer(program, root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class MyDb:
    """One test's MySQL database, loaded like the PostgreSQL one."""

    def __init__(self, server: MySQLServer, name: str) -> None:
        import pymysql

        self.server, self.name = server, name
        self.conn = pymysql.connect(host=server.host, port=server.port, user=USER, password=PASSWORD,
                                    autocommit=True, charset="utf8mb4")
        self.sql("CREATE DATABASE `{0}`".format(name))
        self.conn.select_db(name)
        self.sql("CREATE TABLE customers (id bigint PRIMARY KEY, name text, email varchar(100) UNIQUE, phone text, "
                 "tier text, login text, notes text, city text, birth_date date) ENGINE=InnoDB")
        self.sql("CREATE TABLE sessions (id int, token text) ENGINE=InnoDB")
        with self.conn.cursor() as cursor:
            cursor.executemany("INSERT INTO customers VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", [
                (i, original(i)["name"], original(i)["email"], original(i)["phone"],
                 "gold" if i % 10 == 0 else "silver", "login{0}".format(i), "likes tea {0}".format(i), "Berlin",
                 "1970-01-{0:02d}".format(i % 28 + 1))
                for i in range(1, ROWS + 1)])
            cursor.executemany("INSERT INTO sessions VALUES (%s, %s)",
                               [(i, hashlib.md5(str(i).encode()).hexdigest()) for i in range(1, SESSIONS + 1)])
        self.db = masking.connect(server.engine, server.host, server.port, USER, PASSWORD, name)
        self.rules_text = BASE_RULES.replace("public.", "{0}.".format(name))

    def sql(self, query: str) -> List[Tuple[Any, ...]]:
        with self.conn.cursor() as cursor:
            cursor.execute(query)
            return list(cursor.fetchall())

    def one(self, query: str) -> Any:
        return self.sql(query)[0][0]

    def checksum(self) -> Any:
        return self.sql("CHECKSUM TABLE customers")[0][1]

    def mask(self, text: Optional[str] = None) -> Dict[str, Any]:
        return masking.mask(self.db, masking.load_rules(text or self.rules_text, "rules.yml"), SALT, self.name)

    def close(self) -> None:
        self.db.close()
        self.conn.close()


@pytest.fixture
def mydb(mysql_server: MySQLServer, request: pytest.FixtureRequest) -> Iterator[MyDb]:
    database = MyDb(mysql_server, re.sub(r"\W", "_", request.node.name)[:40])
    try:
        yield database
    finally:
        database.close()


def test_mysql_mask_resume_and_forget(mydb: MyDb) -> None:
    table = "{0}.customers".format(mydb.name)
    report = mydb.mask()
    assert report["tables"][table]["rows"] == ROWS
    assert report["tables"]["{0}.sessions".format(mydb.name)]["rows"] == SESSIONS
    assert report["proof"] == {"columns_checked": 8, "sampled_values": 7 * masking.SAMPLE_SIZE}
    assert mydb.one("SELECT count(*) FROM customers WHERE email LIKE '%@mail.example.com' OR name LIKE 'Name %' "
                    "OR phone LIKE '+49%' OR login LIKE 'login%' OR tier <> 'basic' OR notes IS NOT NULL "
                    "OR birth_date IS NOT NULL") == 0
    assert mydb.sql("SELECT count(*), count(DISTINCT email) FROM customers")[0] == (ROWS, ROWS)
    assert mydb.one("SELECT count(*) FROM sessions") == 0
    for row, name, email, phone, login in mydb.sql("SELECT id, name, email, phone, login FROM customers"):
        before = original(row)
        # The same hashes as PostgreSQL's: a stack masked on either engine gets the same values.
        assert name == digest(SALT, before["name"], 32)
        assert email == "u{0}@example.invalid".format(digest(SALT, before["email"], 16))
        assert phone == "*" * (len(before["phone"]) - 2) + before["phone"][-2:]
        assert login == "user{0}".format(row)
    masked = mydb.checksum()
    again = mydb.mask()
    assert again["tables"][table] == {"rows": ROWS, "resumed": True}
    assert mydb.checksum() == masked
    # Both reclaimed (OPTIMIZE TABLE): MySQL's DELETE, unlike PostgreSQL's TRUNCATE, leaves the pages.
    assert mydb.sql("SELECT relation, reclaimed FROM mitosis_masking ORDER BY 1") == [
        (table, 1), ("{0}.sessions".format(mydb.name), 1)]
    masking.forget_markers(mydb.db)
    assert mydb.sql("SHOW TABLES LIKE 'mitosis_masking'") == []


def test_mysql_guard_and_proof(mydb: MyDb) -> None:
    before = mydb.checksum()
    with pytest.raises(MitosisError, match=r"{0}\.customers\.birth_date \(its name\)".format(mydb.name)):
        mydb.mask(mydb.rules_text.replace('    birth_date: "null"\n', ""))
    with pytest.raises(MitosisError, match=r"column {0}\.customers\.nickname does not exist".format(mydb.name)):
        mydb.mask(mydb.rules_text.replace("    email: email\n", "    email: email\n    nickname: hash\n"))
    assert mydb.checksum() == before and mydb.sql("SHOW TABLES LIKE 'mitosis_masking'") == []
    mydb.mask()
    mydb.sql("UPDATE customers SET email = 'user7@mail.example.com' WHERE id = 7")
    with pytest.raises(MitosisError, match=r"{0}\.customers\.email still holds 1 values that are not masked".format(
            mydb.name)):
        masking.prove(mydb.db, masking.load_rules(mydb.rules_text, "rules.yml"), {}, "replica")


def test_mysql_data_file_holds_no_original_value(mydb: MyDb) -> None:
    def data_file() -> bytes:
        # FLUSH ... FOR EXPORT writes the table's pages to its file (InnoDB, a file per table), as CHECKPOINT does.
        mydb.sql("FLUSH TABLES customers FOR EXPORT")
        try:
            path = Path(mydb.one("SELECT @@datadir")) / mydb.name / "customers.ibd"
            try:
                return path.read_bytes()
            except PermissionError:
                pytest.skip("reading the server's files needs root (they belong to the server's user)")
        finally:
            mydb.sql("UNLOCK TABLES")

    assert b"user1234@mail.example.com" in data_file(), "the control: the file holds the original before masking"
    mydb.mask()
    found = data_file()
    assert [v for v in (b"@mail.example.com", b"Name 1234", b"+49 170 0001234", b"likes tea 1234") if v in found] == []
    assert digest(SALT, "Name 1234", 32).encode() in found


def test_mysql_where_with_a_like_pattern(mydb: MyDb) -> None:
    mydb.sql("UPDATE customers SET email = CONCAT('staff', id, '@staff.example.com') WHERE id <= 10")
    text = mydb.rules_text.replace("    email: email\n",
                                   "    where: \"email NOT LIKE '%@staff.example.com'\"\n    email: email\n")
    assert mydb.mask(text)["tables"]["{0}.customers".format(mydb.name)]["rows"] == ROWS - 10
    assert mydb.one("SELECT count(*) FROM customers WHERE email LIKE '%@staff.example.com'") == 10


def test_mysql_email_keeps_null(mydb: MyDb) -> None:
    mydb.sql("UPDATE customers SET email = NULL WHERE id <= 3")
    mydb.mask()
    assert mydb.sql("SELECT id FROM customers WHERE email IS NULL ORDER BY id") == [(1,), (2,), (3,)]


def test_mysql_refused_statement_is_an_error_without_the_salt(mydb: MyDb) -> None:
    before = mydb.checksum()
    with pytest.raises(MitosisError) as caught:
        mydb.mask(mydb.rules_text.replace('birth_date: "null"', "birth_date: {fixed: not-a-date}"))
    message = str(caught.value)
    assert caught.value.code == "database"
    assert message.startswith("The database refused UPDATE `{0}`.`customers` SET ".format(mydb.name)), message
    assert "Incorrect date value" in message and SALT not in message
    # Rolled back with its marker: the table as it was.
    assert mydb.checksum() == before and mydb.sql("SELECT relation FROM mitosis_masking") == []
