# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Masking personal data by rules, over a normal database connection (PostgreSQL, MySQL, MariaDB).

The rules (a YAML file) say, per table, how each personal column is replaced, or that the table is emptied. Before
anything is masked, the database's catalog is read: every table and column the rules name must exist, and every
column that looks personal (by its name, or by sampled values that look like emails or phone numbers) must be masked
by a rule or listed in `allow`. Then each table is masked with one set-based statement, in a transaction of its own
that also records the table in a marker table, so that an interrupted run resumes without masking a table twice.
No old row version of a masked table survives: PostgreSQL rewrites the table (ALTER TABLE ... TYPE <the same> USING
<the masked value>), or updates it and then runs VACUUM FULL; MySQL and MariaDB update it, then OPTIMIZE TABLE. The
proof reads every masked column again, on the primary and on each replica: every value has the masked form, and none
of a sample of the replaced values remains.

Plain Python: the connection is a DB-API one (psycopg 3, PyMySQL), imported only when a database is reached.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .aws import MitosisError

STRATEGIES = ("email", "hash", "null", "empty", "fixed", "template", "keep_first", "keep_last")
TABLE_STRATEGIES = ("truncate",)
# A strategy with its argument: {fixed: basic}, {keep_last: 2}, {template: "user{id}"}.
WITH_ARGUMENT = ("fixed", "template", "keep_first", "keep_last")
NAME = r"[A-Za-z_][A-Za-z0-9_$]*"
TABLE_NAME = re.compile(r"^({0})\.({0})$".format(NAME))
COLUMN_NAME = re.compile(r"^{0}$".format(NAME))
QUALIFIED_COLUMN = re.compile(r"^({0})\.({0})\.({0})$".format(NAME))
TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")
EMAIL_DOMAIN = "example.invalid"
EMAIL_HASH_LENGTH = 16
HASH_LENGTH = 32
# Where an interrupted run finds the tables it masked already (PostgreSQL: a schema of its own; MySQL: a table).
MARKER_SCHEMA = "mitosis_masking"
MARKER_TABLE = "mitosis_masking"
# The setting that holds the salt during a PostgreSQL table rewrite (its transaction only).
SALT_SETTING = "mitosis_masking.salt"
SAMPLE_SIZE = 20
CONTENT_SAMPLE = 200
# Columns that look personal by name (the coverage guard): matched anywhere in the lower-cased name.
PERSONAL_NAME = re.compile(
    r"e_?mail|phone|mobile|fax|name|address|street|city|zip|postal|postcode|birth|dob$|^dob|ssn|social_sec|"
    r"tax_?id|vat_?id|passport|national_id|iban|bic$|card|cvv|account_?n(o|um)|licen[cs]e|(^|_)ip(_|$)|ip_?addr|"
    r"salary|gender|latitude|longitude|(^|_)geo")
EMAIL_VALUE = r"^[^@[:space:]]+@[^@[:space:]]+\.[A-Za-z]{2,}$"
PHONE_VALUE = r"^\+?[0-9][0-9 ().-]{6,19}$"
# Half of the sampled values or more: the column holds emails or phone numbers.
CONTENT_SHARE = 0.5

Rules = Dict[str, Any]
Lines = Dict[Tuple[str, ...], int]


def fail(message: str, hint: Optional[str] = None, identifier: Optional[str] = None) -> None:
    raise MitosisError(message, operation="mask", identifier=identifier, hint=hint)


# --- the rules file ------------------------------------------------------------------------------------------------

def read_rules_option(args: Dict[str, Any], option: str) -> None:
    """An action plugin's `option`, when it names a rules file: the rules it holds, read on the controller."""
    given = args.get(option)
    if isinstance(given, str) and given.strip():
        args[option] = read_rules_file(given)


def read_rules_file(given: str) -> Rules:
    """The rules of the file `given` (relative to the directory ansible-playbook runs in), read on the controller."""
    path = os.path.abspath(os.path.expanduser(given))
    try:
        with open(path, encoding="utf-8") as rules_file:
            text = rules_file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise MitosisError("mask_rules: the rules file {0} cannot be read: {1}.".format(
            given, getattr(error, "strerror", None) or error), operation="options", identifier=given,
            hint="Pass the path of a YAML rules file (absolute, or relative to the directory ansible-playbook runs "
                 "in).") from None
    return load_rules(text, given)


def load_rules(text: str, path: str) -> Rules:
    """The rules of the YAML file `path` (its text), checked, each error naming the file's line."""
    import yaml  # the controller's (ansible-core requires PyYAML)

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = " line {0}".format(mark.line + 1) if mark is not None else ""
        fail("mask_rules: {0}{1} is not YAML: {2}".format(path, where, getattr(error, "problem", error)),
             "Fix the file's syntax.")
    lines = {}  # type: Lines
    duplicates = []  # type: List[Tuple[str, int]]
    data = _plain(root, (), lines, duplicates) if root is not None else None
    if duplicates:
        fail("mask_rules: {0} line {2}: {1!r} appears twice in its mapping (YAML would keep the last only).".format(
            path, *duplicates[0]), "Merge the two entries into one.")
    return check_rules(data, lines, path)


def _plain(node: Any, path: Tuple[str, ...], lines: Lines, duplicates: List[Tuple[str, int]]) -> Any:
    """A YAML node as plain data, with the line of each key's value in `lines`."""
    import yaml

    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        found = {}
        for key, value in node.value:
            name = str(key.value)
            if name in found:
                duplicates.append((name, key.start_mark.line + 1))
            found[name] = _plain(value, path + (name,), lines, duplicates)
            lines[path + (name,)] = key.start_mark.line + 1  # an entry's line is its key's
        return found
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, path + (str(i),), lines, duplicates) for i, item in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def check_rules(data: Any, lines: Optional[Lines] = None, path: Optional[str] = None) -> Rules:
    """The rules, checked, in the file's own form (so that checking them again, where the module runs, gives the
    same): {"database": name or None, "tables": {"schema.table": "truncate" or {column: strategy, "where": SQL}},
    "allow": ["schema.table.column", ...]}; an error names the line (when known) and what to do. `tables()` reads
    them."""
    lines = lines or {}

    def bad(where: Tuple[str, ...], message: str, hint: str) -> None:
        line = next((lines[where[:n]] for n in range(len(where), -1, -1) if where[:n] in lines), None)
        where = " ".join(part for part in (path, "line {0}".format(line) if line else "") if part)
        fail("mask_rules: {0}{1}".format(where + ": " if where else "", message), hint)

    if not isinstance(data, dict):
        bad((), "the file must be a mapping with `tables:` (and `allow:`, `database:`).",
            "Start from the example in the README's masking section.")
    unknown = sorted(set(data) - {"tables", "allow", "database"})
    if unknown:
        bad((unknown[0],), "unknown key {0!r}; the keys are tables, allow and database.".format(unknown[0]),
            "Put the table rules under `tables:`.")
    tables = data.get("tables")
    if not isinstance(tables, dict) or not tables:
        bad(("tables",), "`tables:` must map schema.table names to their rules.",
            "For example: tables: {public.customers: {email: email}}.")
    database = data.get("database")
    if database is not None and (not isinstance(database, str) or not COLUMN_NAME.match(database)):
        bad(("database",), "`database:` must be a database name, not {0!r}.".format(database),
            "Name the database that holds the tables (default: the instance's DBName).")
    checked = {}  # type: Dict[str, Any]
    for table, rule in tables.items():
        where = ("tables", table)
        if not TABLE_NAME.match(table):
            bad(where, "{0!r} is not a schema.table name.".format(table), "Write it as schema.table, e.g. "
                "public.customers (MySQL and MariaDB: database.table).")
        _table_rule(table, rule, where, bad)
        checked[table] = rule if isinstance(rule, str) else {
            column: {name: _text(argument) if name == "fixed" else argument for name, argument in strategy.items()}
            if isinstance(strategy, dict) else strategy for column, strategy in rule.items()}
    allow = data.get("allow") or []
    if not isinstance(allow, list):
        bad(("allow",), "`allow:` must be a list of schema.table.column names.", "For example: allow: "
            "[public.customers.city].")
    for index, name in enumerate(allow):
        if not isinstance(name, str) or not QUALIFIED_COLUMN.match(name):
            bad(("allow", str(index)), "{0!r} is not a schema.table.column name.".format(name),
                "List columns known not to be personal as schema.table.column.")
    return {"database": database, "tables": checked, "allow": sorted(set(allow))}


TableRule = Dict[str, Any]  # {"truncate": bool, "where": SQL or None, "columns": {column: [strategy, argument]}}


def tables(rules: Rules) -> Dict[str, TableRule]:
    """Each table's rule of checked rules, as the SQL is built from it."""
    def bad(where: Tuple[str, ...], message: str, hint: str) -> None:
        fail("mask_rules: " + message, hint)
    return {table: _table_rule(table, rule, ("tables", table), bad) for table, rule in rules["tables"].items()}


def _table_rule(table: str, rule: Any, where: Tuple[str, ...], bad: Callable[..., None]) -> Dict[str, Any]:
    if rule in TABLE_STRATEGIES:
        return {"truncate": True, "where": None, "columns": {}}
    if not isinstance(rule, dict) or not rule:
        bad(where, "the rule of {0} must be `truncate` or a mapping of columns to strategies, not {1!r}.".format(
            table, rule), "Known strategies: {0}; for a whole table: truncate.".format(", ".join(STRATEGIES)))
    condition = rule.get("where")
    if condition is not None and (not isinstance(condition, str) or ";" in condition or not condition.strip()):
        bad(where + ("where",), "`where:` of {0} must be one SQL condition (no `;`).".format(table),
            "For example: where: \"country <> 'internal'\".")
    columns = {}  # type: Dict[str, List[Any]]
    for column, strategy in rule.items():
        if column == "where":
            continue
        at = where + (column,)
        if not COLUMN_NAME.match(column):
            bad(at, "{0!r} is not a column name.".format(column), "Name the column as the table's catalog does.")
        columns[column] = _strategy(table, column, strategy, at, bad)
    if not columns:
        bad(where, "{0} has a `where:` and no column to mask.".format(table), "Add the columns' rules.")
    for column, (strategy, argument) in columns.items():
        if strategy == "template":
            for used in TEMPLATE_FIELD.findall(argument):
                if used in columns:
                    bad(where + (column,), "the template of {0}.{1} uses {2}, which a rule masks: the original "
                        "value would be copied into {1}.".format(table, column, used),
                        "Build the template from columns that are not personal (an id, a fixed text).")
    return {"truncate": False, "where": condition, "columns": columns}


def _strategy(table: str, column: str, strategy: Any, at: Tuple[str, ...], bad: Callable[..., None]) -> List[Any]:
    known = "Known strategies: {0}, {1}; {2} take an argument ({{keep_last: 2}}).".format(
        ", ".join(STRATEGIES), "truncate (a whole table)", ", ".join(WITH_ARGUMENT))
    if isinstance(strategy, str):
        if strategy in STRATEGIES and strategy not in WITH_ARGUMENT:
            return [strategy, None]
        if strategy in WITH_ARGUMENT:
            bad(at, "{0} needs an argument, e.g. {{{0}: ...}}.".format(strategy), known)
        bad(at, "unknown strategy {0!r} for {1}.{2}.".format(strategy, table, column), known)
    if strategy is None:
        bad(at, "{0}.{1} has no strategy (for SQL NULL write \"null\", quoted).".format(table, column), known)
    if not isinstance(strategy, dict) or len(strategy) != 1:
        bad(at, "the strategy of {0}.{1} must be a name or a one-key mapping, not {2!r}.".format(
            table, column, strategy), known)
    name, argument = next(iter(strategy.items()))
    if name not in WITH_ARGUMENT:
        bad(at, "unknown strategy {0!r} for {1}.{2}.".format(name, table, column), known)
    counts = isinstance(argument, int) and not isinstance(argument, bool) and argument >= 0
    if name in ("keep_first", "keep_last") and not counts:
        bad(at, "{0} takes a number of characters, not {1!r}.".format(name, argument), known)
    if name == "fixed":
        if argument is None or isinstance(argument, (dict, list)):
            bad(at, "fixed takes a value (for SQL NULL use the strategy \"null\").", known)
        argument = _text(argument)
    if name == "template":
        if not isinstance(argument, str) or "{" not in argument or argument.count("{") != argument.count("}"):
            bad(at, "template takes a text with {{column}} fields, e.g. \"user{{id}}\", not {0!r}.".format(argument),
                known)
        for used in TEMPLATE_FIELD.findall(argument):
            if not COLUMN_NAME.match(used):
                bad(at, "the template field {{{0}}} is not a column name.".format(used), known)
    return [name, argument]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rules_digest(rules: Rules) -> str:
    """The rules' fingerprint: a table masked under other rules is never masked again on top."""
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def columns_masked(rules: Rules) -> List[str]:
    return ["{0}.{1}".format(table, column) for table, rule in sorted(tables(rules).items())
            for column in sorted(rule["columns"])]


# --- SQL, per dialect ----------------------------------------------------------------------------------------------

class Dialect:
    """What differs between PostgreSQL and MySQL / MariaDB: quoting, functions, catalog, reclaiming, the marker."""

    name = ""
    reclaim = ""

    def quote(self, name: str) -> str:
        raise NotImplementedError

    def table(self, table: str) -> str:
        return ".".join(self.quote(part) for part in table.split("."))

    def text(self, column: str) -> str:
        raise NotImplementedError

    def digest(self, value: str, length: int) -> str:
        raise NotImplementedError

    def length(self, value: str) -> str:
        raise NotImplementedError

    def param(self, key: str) -> str:
        """A text parameter."""
        return "%({0})s".format(key)

    def stars(self, count: str) -> str:
        return "REPEAT('*', {0})".format(count)

    def concat(self, parts: Sequence[str]) -> str:
        """Text joined, a NULL part left out (a template's)."""
        raise NotImplementedError

    def join(self, parts: Sequence[str]) -> str:
        """Text joined, NULL if a part is NULL (a masked NULL stays NULL)."""
        return "CONCAT({0})".format(", ".join(parts))

    def matches(self, value: str, pattern: str) -> str:
        raise NotImplementedError

    def hex_only(self, value: str) -> str:
        """True when `value` holds nothing but lower-case hex digits (no regex anchors: those are slow)."""
        return "NOT ({0})".format(self.matches(value, "[^0-9a-f]"))

    def count_if(self, condition: str) -> str:
        return "SUM(CASE WHEN {0} THEN 1 ELSE 0 END)".format(condition)

    def catalog_sql(self) -> str:
        raise NotImplementedError

    def marker_setup(self) -> List[str]:
        raise NotImplementedError

    @property
    def marker(self) -> str:
        raise NotImplementedError

    def marker_drop(self) -> str:
        raise NotImplementedError


class Postgres(Dialect):
    name = "postgres"
    reclaim = "VACUUM FULL {0}"

    def quote(self, name: str) -> str:
        return '"{0}"'.format(name.replace('"', '""'))

    def text(self, column: str) -> str:
        return "{0}::text".format(column)

    def param(self, key: str) -> str:
        return "%({0})s::text".format(key)

    def digest(self, value: str, length: int) -> str:
        # Only the bytes the text shows are hex-encoded: half the work of cutting the whole digest's hex.
        encoded = "encode(substr(sha256(convert_to({0} || {1}, 'UTF8')), 1, {2}), 'hex')".format(
            self.param("salt"), value, (length + 1) // 2)
        return encoded if length % 2 == 0 else "left({0}, {1})".format(encoded, length)

    def length(self, value: str) -> str:
        return "char_length({0})".format(value)

    def concat(self, parts: Sequence[str]) -> str:
        return "concat({0})".format(", ".join(parts))

    def join(self, parts: Sequence[str]) -> str:
        return "({0})".format(" || ".join(parts))

    def matches(self, value: str, pattern: str) -> str:
        return "{0} ~ '{1}'".format(value, pattern)

    def catalog_sql(self) -> str:
        # With each column's exact type and its own collation: a table rewrite keeps both.
        return ("SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.character_maximum_length, "
                "format_type(a.atttypid, a.atttypmod), CASE WHEN a.attcollation <> ty.typcollation "
                "THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END "
                "FROM information_schema.columns c JOIN information_schema.tables t "
                "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
                "JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_schema) || '.' || "
                "quote_ident(c.table_name))::regclass AND a.attname = c.column_name "
                "JOIN pg_type ty ON ty.oid = a.atttypid LEFT JOIN pg_collation co ON co.oid = a.attcollation "
                "LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace "
                "WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN "
                "('pg_catalog', 'information_schema', '{0}') AND c.table_schema !~ '^pg_' "
                "ORDER BY c.table_schema, c.table_name, c.ordinal_position".format(MARKER_SCHEMA))

    def marker_setup(self) -> List[str]:
        return ["CREATE SCHEMA IF NOT EXISTS {0}".format(MARKER_SCHEMA),
                "CREATE TABLE IF NOT EXISTS {0} (relation text PRIMARY KEY, rules text NOT NULL, "
                "masked bigint NOT NULL, reclaimed boolean NOT NULL DEFAULT false)".format(self.marker)]

    @property
    def marker(self) -> str:
        return "{0}.masked".format(MARKER_SCHEMA)

    def marker_drop(self) -> str:
        return "DROP SCHEMA IF EXISTS {0} CASCADE".format(MARKER_SCHEMA)


class MySQL(Dialect):
    name = "mysql"
    reclaim = "OPTIMIZE TABLE {0}"

    def quote(self, name: str) -> str:
        return "`{0}`".format(name.replace("`", "``"))

    def text(self, column: str) -> str:
        return "CAST({0} AS CHAR)".format(column)

    def digest(self, value: str, length: int) -> str:
        return "LEFT(SHA2(CONCAT({0}, {1}), 256), {2})".format(self.param("salt"), value, length)

    def length(self, value: str) -> str:
        return "CHAR_LENGTH({0})".format(value)

    def concat(self, parts: Sequence[str]) -> str:
        return "CONCAT_WS('', {0})".format(", ".join(parts))

    def matches(self, value: str, pattern: str) -> str:
        return "{0} REGEXP '{1}'".format(value, pattern.replace("\\", "\\\\"))

    def catalog_sql(self) -> str:
        return ("SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.character_maximum_length "
                "FROM information_schema.columns c JOIN information_schema.tables t "
                "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
                "WHERE t.table_type = 'BASE TABLE' AND c.table_schema = DATABASE() AND c.table_name <> '{0}' "
                "ORDER BY c.table_schema, c.table_name, c.ordinal_position".format(MARKER_TABLE))

    def marker_setup(self) -> List[str]:
        return ["CREATE TABLE IF NOT EXISTS {0} (relation varchar(200) PRIMARY KEY, rules varchar(64) NOT NULL, "
                "masked bigint NOT NULL, reclaimed boolean NOT NULL DEFAULT false) ENGINE=InnoDB".format(self.marker)]

    @property
    def marker(self) -> str:
        return MARKER_TABLE

    def marker_drop(self) -> str:
        return "DROP TABLE IF EXISTS {0}".format(MARKER_TABLE)


DIALECTS = {"postgres": Postgres(), "aurora-postgresql": Postgres(), "mysql": MySQL(), "mariadb": MySQL(),
            "aurora-mysql": MySQL()}


def dialect_of(engine: str) -> Dialect:
    if engine not in DIALECTS:
        fail("Masking knows PostgreSQL, MySQL and MariaDB; the engine {0} is none of them.".format(engine),
             "Leave mask_rules out for this stack, and scrub it with prepare_tasks.")
    return DIALECTS[engine]


class Column:
    """A column as the catalog describes it."""

    TEXT_TYPES = ("text", "character varying", "character", "varchar", "char", "tinytext", "mediumtext", "longtext",
                  "citext")

    def __init__(self, data_type: str, max_length: Optional[int], sql_type: Optional[str] = None,
                 collation: Optional[str] = None) -> None:
        self.data_type = data_type
        self.max_length = max_length
        self.sql_type = sql_type or data_type  # with its length: character varying(100)
        self.collation = collation  # quoted, when not its type's default

    @property
    def is_text(self) -> bool:
        return self.data_type.lower() in self.TEXT_TYPES


Catalog = Dict[str, Dict[str, Column]]  # schema.table: column: Column
# A column whose type the flight plan cannot know (no database can be read when the plan is made).
UNKNOWN_TYPE = Column("text", None, "<its type>")


def expression(dialect: Dialect, table: str, column: str, strategy: str, argument: Any, params: Dict[str, Any],
               described: Optional[Column] = None) -> str:
    """The SQL that replaces `column`'s value (parameters such as the salt go in `params`)."""
    quoted = dialect.quote(column)
    value = dialect.text(quoted)
    limit = described.max_length if described is not None else None
    if strategy == "null":
        return "NULL"
    if strategy == "empty":
        return "''"
    if strategy == "fixed":
        key = "fixed_{0}".format(len(params))
        params[key] = argument
        return "%({0})s".format(key)
    if strategy == "email":
        # Joined NULL-strict: a NULL stays NULL (never one shared u@example.invalid).
        return dialect.join(["'u'", dialect.digest(value, EMAIL_HASH_LENGTH), "'@{0}'".format(EMAIL_DOMAIN)])
    if strategy == "hash":
        return dialect.digest(value, min(HASH_LENGTH, limit or HASH_LENGTH))
    if strategy == "template":
        parts = []
        for index, piece in enumerate(TEMPLATE_FIELD.split(argument)):
            if index % 2:
                parts.append(dialect.text(dialect.quote(piece)))
            elif piece:
                key = "text_{0}".format(len(params))
                params[key] = piece
                parts.append(dialect.param(key))
        return dialect.concat(parts)
    keep = int(argument)
    length = dialect.length(quoted)
    # Padded with stars to the value's length; a value no longer than what is kept is all stars.
    if strategy == "keep_last":
        kept = "LPAD(RIGHT({0}, {1}), {2}, '*')".format(quoted, keep, length)
    else:
        kept = "RPAD(LEFT({0}, {1}), {2}, '*')".format(quoted, keep, length)
    return "CASE WHEN {0} > {1} THEN {2} ELSE {3} END".format(length, keep, kept, dialect.stars(length))


def masked_form(dialect: Dialect, column: str, strategy: str, argument: Any, masking: str,
                described: Optional[Column] = None) -> str:
    """A condition true of a value that does NOT have the masked form (the proof counts such rows)."""
    quoted = dialect.quote(column)
    value = dialect.text(quoted)
    if strategy == "null":
        return "{0} IS NOT NULL".format(quoted)
    if strategy in ("fixed", "template"):
        # A fixed value compares in the column's own type (0 and 0.00 are the same number); a template as text.
        compared = quoted if strategy == "fixed" else value
        return "{0} IS DISTINCT FROM {1}".format(compared, masking) if dialect.name == "postgres" else \
            "NOT ({0} <=> {1})".format(compared, masking)
    if strategy == "empty":
        return "{0} <> ''".format(value)
    if strategy == "email":
        digits = dialect.hex_only("SUBSTR({0}, 2, {1})".format(value, EMAIL_HASH_LENGTH))
        return "NOT ({0} LIKE 'u{1}@{2}' AND {3})".format(value, "_" * EMAIL_HASH_LENGTH, EMAIL_DOMAIN, digits)
    if strategy == "hash":
        length = min(HASH_LENGTH, (described.max_length if described else None) or HASH_LENGTH)
        trimmed = "RTRIM({0})".format(value)
        return "NOT ({0} = {1} AND {2})".format(dialect.length(trimmed), length, dialect.hex_only(trimmed))
    if strategy == "keep_last":
        return "({0} <> '' AND LEFT({0}, 1) <> '*')".format(value)
    return "({0} <> '' AND RIGHT({0}, 1) <> '*')".format(value)


def mask_statement(dialect: Dialect, table: str, rule: Dict[str, Any], catalog: Optional[Catalog] = None
                   ) -> Tuple[str, Dict[str, Any]]:
    """The one statement that masks `table` (its parameters besides the salt)."""
    params = {}  # type: Dict[str, Any]
    if rule["truncate"]:
        # PostgreSQL's TRUNCATE is transactional; MySQL's is not, a DELETE is.
        return ("TRUNCATE {0}" if dialect.name == "postgres" else "DELETE FROM {0}").format(
            dialect.table(table)), params
    described = (catalog or {}).get(table, {})
    sets = ["{0} = {1}".format(dialect.quote(column),
                               expression(dialect, table, column, strategy, argument, params, described.get(column)))
            for column, (strategy, argument) in sorted(rule["columns"].items())]
    sql = "UPDATE {0} SET {1}".format(dialect.table(table), ", ".join(sets))
    if rule["where"]:
        sql += " WHERE ({0})".format(_condition(rule))
    return sql, params


def rewrite_statement(dialect: Dialect, table: str, rule: Dict[str, Any], catalog: Catalog
                      ) -> Optional[Tuple[str, Dict[str, Any]]]:
    """PostgreSQL: the same masking as one table rewrite (ALTER TABLE ... ALTER COLUMN ... TYPE <its own type>
    USING <the masked value>), which writes each row once and leaves no old row version: no VACUUM FULL after it.
    Each USING reads the row as it was, as an UPDATE's SET does. None where it does not apply."""
    if dialect.name != "postgres" or rule["truncate"]:
        return None
    params = {}  # type: Dict[str, Any]
    changes = []
    for column, (strategy, argument) in sorted(rule["columns"].items()):
        described = catalog[table][column]
        quoted = dialect.quote(column)
        masked = expression(dialect, table, column, strategy, argument, params, described)
        if strategy == "fixed":
            # A parameter has no type of its own here: the column's (as an UPDATE's SET infers it).
            masked = "CAST({0} AS {1})".format(masked, "text" if described.is_text else described.sql_type)
        if rule["where"]:
            masked = "CASE WHEN ({0}) THEN {1} ELSE {2} END".format(_condition(rule), masked, quoted)
        changes.append("ALTER COLUMN {0} TYPE {1}{2} USING {3}".format(
            quoted, described.sql_type, " COLLATE " + described.collation if described.collation else "", masked))
    # PostgreSQL binds no parameter in ALTER TABLE (a utility statement): the rules' texts are literals of it (a %
    # doubled, as the statement runs with parameters), the salt is read from the transaction's setting that
    # masked_in_place sets (never text of a statement).
    sql = "ALTER TABLE {0} {1}".format(dialect.table(table), ", ".join(changes)).replace(
        dialect.param("salt"), "current_setting('{0}')".format(SALT_SETTING))
    for key, value in params.items():
        sql = sql.replace("%({0})s".format(key), "'{0}'".format(str(value).replace("'", "''").replace("%", "%%")))
    return sql, {}


def _condition(rule: Dict[str, Any]) -> str:
    """The rule's `where:` as text of a statement run with parameters: a LIKE pattern's % doubled."""
    return rule["where"].replace("%", "%%")


def statements(engine: str, rules: Rules, catalog: Optional[Catalog] = None) -> List[str]:
    """The SQL a masking runs, per table, as check mode shows it (the salt is a parameter, never shown). Without
    the database's catalog, a PostgreSQL rewrite names each column's type as `<its type>`."""
    dialect = dialect_of(engine)
    shown = []
    for table, rule in sorted(tables(rules).items()):
        known = {table: {column: (catalog or {}).get(table, {}).get(column, UNKNOWN_TYPE) for column in rule["columns"]}}
        sql, params = rewrite_statement(dialect, table, rule, known) or mask_statement(dialect, table, rule, catalog)
        sql = sql.replace("%%", "%")
        for key, value in params.items():
            sql = sql.replace("%({0})s".format(key), "'{0}'".format(str(value).replace("'", "''")))
        shown.append(sql + ";")
        if dialect.name != "postgres" and not rule["truncate"]:
            shown.append(dialect.reclaim.format(dialect.table(table)) + ";")
    return shown


# --- on a database -------------------------------------------------------------------------------------------------

class Database:
    """A DB-API connection with what masking needs: rows, a statement's row count, a transaction."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect

    def rows(self, sql: str, params: Optional[Dict[str, Any]] = None) -> List[Tuple[Any, ...]]:
        return self.execute(sql, params, lambda cursor: list(cursor.fetchall()) if cursor.description else [])

    def run(self, sql: str, params: Optional[Dict[str, Any]] = None) -> int:
        return self.execute(sql, params, lambda cursor: cursor.rowcount)

    def execute(self, sql: str, params: Optional[Dict[str, Any]], result: Callable[[Any], Any]) -> Any:
        """`sql` run, its `result` read; the database's refusal as a MitosisError (its statement, never the
        parameters: the salt is one)."""
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, params)  # a dict, even empty: the driver reads %% as %
            return result(cursor)
        except MitosisError:
            raise
        except Exception as error:  # pylint: disable=broad-except  # each driver's own errors
            raise MitosisError("The database refused {0}{1}: {2}".format(
                sql[:160], "..." if len(sql) > 160 else "", str(error).strip().splitlines()[0]), operation="mask",
                code="database") from None
        finally:
            cursor.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.dialect.name == "postgres":
            with self.conn.transaction():
                yield
            return
        self.conn.begin()
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def connect(engine: str, host: str, port: int, user: str, password: str, database: str,
            timeout: int = 10) -> Database:
    """A connection to one database of the instance at host:port (autocommit; transactions are explicit)."""
    dialect = dialect_of(engine)
    try:
        if dialect.name == "postgres":
            import psycopg  # optional: only masking needs it
            conn = psycopg.connect(host=host, port=port, user=user, password=password, dbname=database,
                                   connect_timeout=timeout, autocommit=True, application_name="mitosis.rds mask")
        else:
            import pymysql  # optional: only masking needs it
            conn = pymysql.connect(host=host, port=port, user=user, password=password, database=database,
                                   connect_timeout=timeout, autocommit=True, charset="utf8mb4")
    except ImportError as error:
        library = "psycopg" if dialect.name == "postgres" else "PyMySQL"
        raise MitosisError("Masking {0} needs the Python library {1} where the module runs: {2}.".format(
            engine, library, error), operation="mask", hint="Install it (pip install {0}), or use the execution "
            "environment of the collection, which has it.".format(
                "'psycopg[binary]'" if library == "psycopg" else "PyMySQL")) from None
    except Exception as error:  # pylint: disable=broad-except  # each library's own connection errors
        raise MitosisError("Cannot connect to {0}:{1} (database {2}, user {3}): {4}".format(
            host, port, database, user, str(error).strip()), operation="mask", identifier=host,
            hint="The run must reach the clone's endpoint (its security groups, the network), with the "
                 "database the rules name.") from None
    return Database(conn, dialect)


def read_catalog(db: Database) -> Catalog:
    catalog = {}  # type: Catalog
    for schema, table, column, data_type, max_length, *exact in db.rows(db.dialect.catalog_sql()):
        catalog.setdefault("{0}.{1}".format(schema, table), {})[column] = Column(data_type, max_length, *exact)
    return catalog


def unknown_names(rules: Rules, catalog: Catalog) -> List[str]:
    """What the rules name and the database lacks, and the strategies a column's type cannot take."""
    problems = []
    for table, rule in sorted(tables(rules).items()):
        if table not in catalog:
            problems.append("table {0} does not exist".format(table))
            continue
        for column, (strategy, argument) in sorted(rule["columns"].items()):
            described = catalog[table].get(column)
            if described is None:
                problems.append("column {0}.{1} does not exist".format(table, column))
                continue
            if strategy in ("email", "hash", "keep_first", "keep_last", "empty") and not described.is_text:
                problems.append("{0}.{1} is {2}: {3} applies to text columns (use null, fixed or template)".format(
                    table, column, described.data_type, strategy))
            elif strategy == "email" and described.max_length and described.max_length < EMAIL_HASH_LENGTH + 17:
                problems.append("{0}.{1} holds at most {2} characters, fewer than a masked email's {3}".format(
                    table, column, described.max_length, EMAIL_HASH_LENGTH + 17))
            for used in TEMPLATE_FIELD.findall(argument) if strategy == "template" else ():
                if used not in catalog[table]:
                    problems.append("the template of {0}.{1} uses {2}, which does not exist".format(
                        table, column, used))
    for name in rules["allow"]:
        table, column = name.rsplit(".", 1)
        if column not in catalog.get(table, {}):
            problems.append("allowed column {0} does not exist".format(name))
    return problems


def covered(rules: Rules, parsed: Dict[str, TableRule], table: str, column: str) -> bool:
    rule = parsed.get(table)
    return bool(rule and (rule["truncate"] or column in rule["columns"])) or \
        "{0}.{1}".format(table, column) in rules["allow"]


def uncovered(db: Database, rules: Rules, catalog: Catalog) -> List[str]:
    """Columns that look personal (by name, or by sampled values) that no rule masks and `allow` does not list."""
    dialect, parsed = db.dialect, tables(rules)
    found = []
    for table, columns in sorted(catalog.items()):
        for column, described in columns.items():
            if covered(rules, parsed, table, column):
                continue
            if PERSONAL_NAME.search(column.lower()):
                found.append("{0}.{1} (its name)".format(table, column))
                continue
            if not described.is_text:
                continue
            value = dialect.quote(column)
            looks = [dialect.count_if(dialect.matches("v", pattern)) for pattern in (EMAIL_VALUE, PHONE_VALUE)]
            row = db.rows("SELECT COUNT(*), {0}, {1} FROM (SELECT {2} AS v FROM {3} WHERE {2} IS NOT NULL "
                          "LIMIT {4}) sampled".format(looks[0], looks[1], value, dialect.table(table),
                                                      CONTENT_SAMPLE))[0]
            total, emails, phones = (int(x or 0) for x in row)
            if total and emails >= CONTENT_SHARE * total:
                found.append("{0}.{1} (its values look like emails)".format(table, column))
            elif total and phones >= CONTENT_SHARE * total:
                found.append("{0}.{1} (its values look like phone numbers)".format(table, column))
    return found


def check_database(db: Database, rules: Rules, where: str) -> Catalog:
    """Every name of the rules exists and every personal-looking column is covered, before anything is masked."""
    catalog = read_catalog(db)
    problems = unknown_names(rules, catalog)
    if problems:
        fail("mask_rules do not fit the database on {0}: {1}.".format(where, "; ".join(problems)),
             "Fix the rules file and run the same command again: nothing was masked and no name moved.", where)
    missing = uncovered(db, rules, catalog)
    if missing:
        fail("Columns on {0} look personal and no rule masks them: {1}.".format(where, ", ".join(missing)),
             "Add a rule for each (or list it under `allow:` when it is not personal) and run the same command "
             "again: nothing was masked and no name moved.", where)
    return catalog


Samples = Dict[str, List[Any]]  # schema.table.column: some of the values the masking replaced


def mask(db: Database, rules: Rules, salt: str, where: str, log: Callable[[str], None] = lambda text: None,
         catalog: Optional[Catalog] = None) -> Dict[str, Any]:
    """Mask every table of the rules not masked yet (one transaction each, recorded in the marker table), reclaim
    the old row versions, and prove it on this database; returns the report and the samples for the replicas.
    `catalog`: what check_database returned for these rules, when the caller checked them already."""
    started = time.monotonic()
    catalog = catalog if catalog is not None else check_database(db, rules, where)
    dialect = db.dialect
    for sql in dialect.marker_setup():
        db.run(sql)
    marked = {relation: (done_rules, masked, reclaimed)
              for relation, done_rules, masked, reclaimed in db.rows(
                  "SELECT relation, rules, masked, reclaimed FROM {0}".format(dialect.marker))}
    masked_tables, samples = {}, {}  # type: Dict[str, Dict[str, Any]], Samples
    for table, rule in sorted(tables(rules).items()):
        # The table's own rule: fixing another table's rule after a failed run still resumes this one.
        digest = rules_digest({"table": table, "rule": rules["tables"][table]})
        if table in marked:
            done_rules, masked, reclaimed = marked[table]
            if done_rules != digest:
                fail("{0} on {1} was masked by an earlier run with other rules; masking it again would mask "
                     "masked values.".format(table, where),
                     "Run again with the rules of that run, or with discard_clone=true to copy anew.", where)
            masked_tables[table] = {"rows": masked, "resumed": True}
        else:
            table_started = time.monotonic()
            with db.transaction():
                samples.update(sample(db, table, rule))
                count, reclaimed, refused = masked_in_place(db, table, rule, catalog, salt)
                db.run("INSERT INTO {0} (relation, rules, masked, reclaimed) VALUES (%(relation)s, %(rules)s, "
                       "%(rows)s, %(reclaimed)s)".format(dialect.marker),
                       {"relation": table, "rules": digest, "rows": count, "reclaimed": reclaimed})
            masked_tables[table] = dict({"rows": count, "seconds": round(time.monotonic() - table_started, 3)},
                                        **({"rewrite_refused": refused} if refused else {}))
            log("masked {0}: {1} rows".format(table, count))
        if not reclaimed:
            db.run(dialect.reclaim.format(dialect.table(table)))
            db.run("UPDATE {0} SET reclaimed = true WHERE relation = %(relation)s".format(dialect.marker),
                   {"relation": table})
    report = {"instance": where, "tables": masked_tables, "columns": columns_masked(rules)}
    report["proof"] = prove(db, rules, samples, where, catalog)
    report["seconds"] = round(time.monotonic() - started, 3)
    return dict(report, samples=samples)


def masked_in_place(db: Database, table: str, rule: Dict[str, Any], catalog: Catalog, salt: str
                    ) -> Tuple[int, bool, Optional[str]]:
    """Mask `table` in the current transaction: (rows masked, whether no old row version is left, why the rewrite
    was refused). PostgreSQL rewrites the table once (rewrite_statement); where it cannot (a view or a policy
    depends on a column) it updates it, and the old row versions are reclaimed after the commit."""
    dialect = db.dialect
    condition = " WHERE ({0})".format(_condition(rule)) if rule["where"] else ""
    count = int(db.rows("SELECT COUNT(*) FROM {0}{1}".format(dialect.table(table), condition), {})[0][0])
    rewritten = rewrite_statement(dialect, table, rule, catalog)
    if rewritten is not None:
        try:
            with db.transaction():  # a savepoint: a refused rewrite leaves the transaction usable
                # The salt as a setting of this transaction only: ALTER TABLE takes no parameter.
                db.run("SELECT set_config('{0}', %(salt)s, true)".format(SALT_SETTING), {"salt": salt})
                db.run(*rewritten)
            return count, True, None
        except MitosisError as error:
            refused = error.message.rsplit(": ", 1)[-1]  # the database's reason, for the report
    else:
        refused = None
    sql, params = mask_statement(dialect, table, rule, catalog)
    db.run(sql, dict(params, salt=salt))
    # A TRUNCATE (PostgreSQL) gives the table new files; MySQL's DELETE leaves pages to reclaim.
    return count, rule["truncate"] and dialect.name == "postgres", refused


def sample(db: Database, table: str, rule: Dict[str, Any]) -> Samples:
    """Some of the values the masking is about to replace (kept in memory only, for the proof)."""
    dialect = db.dialect
    found = {}  # type: Samples
    condition = " AND ({0})".format(_condition(rule)) if rule["where"] else ""
    for column in sorted(rule["columns"]):
        value = dialect.text(dialect.quote(column))
        rows = db.rows("SELECT {0} FROM {1} WHERE {0} IS NOT NULL AND {0} <> ''{2} LIMIT {3}".format(
            value, dialect.table(table), condition, SAMPLE_SIZE), {})
        found["{0}.{1}".format(table, column)] = [row[0] for row in rows]
    return found


def prove(db: Database, rules: Rules, samples: Samples, where: str, catalog: Optional[Catalog] = None
          ) -> Dict[str, Any]:
    """Every masked column has the masked form and holds none of the sampled values (one scan per table); an
    emptied table is empty."""
    dialect = db.dialect
    catalog = catalog if catalog is not None else read_catalog(db)
    problems, checked = [], 0
    for table, rule in sorted(tables(rules).items()):
        if rule["truncate"]:
            left = db.rows("SELECT COUNT(*) FROM {0}".format(dialect.table(table)))[0][0]
            if left:
                problems.append("{0} still has {1} rows".format(table, left))
            checked += 1
            continue
        params, counts, names = {}, [], []  # type: Dict[str, Any], List[str], List[Tuple[str, str]]
        for column, (strategy, argument) in sorted(rule["columns"].items()):
            described = catalog.get(table, {}).get(column)
            masking = expression(dialect, table, column, strategy, argument, params, described)
            name = "{0}.{1}".format(table, column)
            counts.append(dialect.count_if("{0} IS NOT NULL AND {1}".format(
                dialect.quote(column), masked_form(dialect, column, strategy, argument, masking, described))))
            names.append((name, "values that are not masked"))
            originals = [v for v in samples.get(name, []) if v is not None]
            if originals:
                marks = []
                for value in originals:
                    key = "v{0}".format(len(params))
                    params[key] = value
                    marks.append("%({0})s".format(key))
                counts.append(dialect.count_if("{0} IN ({1})".format(dialect.text(dialect.quote(column)),
                                                                     ", ".join(marks))))
                names.append((name, "of {0} sampled original values".format(len(originals))))
            checked += 1
        condition = " WHERE ({0})".format(_condition(rule)) if rule["where"] else ""
        found = db.rows("SELECT {0} FROM {1}{2}".format(", ".join(counts), dialect.table(table), condition),
                        params)[0]
        problems += ["{0} still holds {1} {2}".format(name, int(left), what)
                     for (name, what), left in zip(names, found) if left]
    if problems:
        fail("The masking proof failed on {0}: {1}.".format(where, "; ".join(problems)),
             "Nothing moved: check the rules (a `where:` that changed?) and run again.", where)
    return {"columns_checked": checked, "sampled_values": sum(len(v) for v in samples.values())}


def forget_markers(db: Database) -> None:
    """The marker of masked tables served the resume; the refreshed stack does not keep it."""
    db.run(db.dialect.marker_drop())
