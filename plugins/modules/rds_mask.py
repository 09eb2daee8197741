#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_mask
short_description: Mask personal data in a PostgreSQL, MySQL or MariaDB database by rules, and prove it
version_added: 0.2.0
description:
  - Applies masking rules (a YAML file, read on the controller) to one database over a normal connection, the
    database named by the rules on an RDS instance (O(db_instance_identifier)) or on any server (O(login_host)).
    The refresh of M(mitosis.rds.rds_mitosis_step) uses the same code on the new primary, before its backups and
    replicas; this module is for a database outside a refresh (a restored snapshot, a developer's copy).
  - "First, read-only: every table and column the rules name must exist, and every column that looks personal (by
    its name: email, phone, mobile, name, address, street, city, zip, postal, birth, ssn, tax, passport, iban, card,
    ip, ...; or by sampled values that look like emails or phone numbers) must be masked by a rule or listed under
    C(allow). Otherwise the module fails, naming each such column, and changes nothing."
  - Then each table is masked with one statement in a transaction of its own that also records the table in a
    marker table, so a run stopped in the middle resumes without masking a table twice. On PostgreSQL the statement
    rewrites the table once (C(ALTER TABLE ... ALTER COLUMN ... TYPE <its own type> USING <the masked value>)),
    which leaves no old row version; where a view or a policy depends on a masked column, an C(UPDATE) then
    C(VACUUM FULL). On MySQL and MariaDB an C(UPDATE), then C(OPTIMIZE TABLE). C(truncate) empties the table.
    Then every masked column is checked (each value has the masked form, none of a sample of the replaced values
    remains), and the marker goes.
  - "The rules file: C(tables) maps C(schema.table) (MySQL and MariaDB: C(database.table)) to C(truncate) or to a
    mapping of columns to strategies: C(email) (C(u<hash>@example.invalid), unique, deterministic), C(hash) (salted,
    deterministic, fits the column), C(null), C(empty), C({fixed: value}), C({template: 'user{id}'}) (from other
    columns of the row), C({keep_last: N}), C({keep_first: N}); a table's C(where) limits its rows. C(allow) lists
    C(schema.table.column) names known not to be personal; C(database) names the database."
  - Connects with psycopg (PostgreSQL) or PyMySQL (MySQL, MariaDB) where the module runs.
author:
  - mitosis.rds developers (@mitosis-rds)
options:
  rules:
    description:
      - The path of the YAML rules file, on the controller (relative to the directory ansible-playbook runs in),
        which the action plugin reads and checks before anything else (an error names the file's line); or the
        rules themselves, as a mapping of the same form.
    type: raw
    required: true
  db_instance_identifier:
    description:
      - An RDS DB instance whose database is masked; its endpoint, port, engine, master user and database
        (C(DBName)) come from C(DescribeDBInstances).
      - Exactly one of O(db_instance_identifier) and O(login_host).
    type: str
  login_host:
    description:
      - The database server's host, when it is not named by O(db_instance_identifier).
    type: str
  login_port:
    description:
      - Its port. Defaults to 5432 for PostgreSQL and 3306 for MySQL and MariaDB.
    type: int
  login_user:
    description:
      - The user to connect as, who may update, truncate and reclaim the tables. Defaults to the instance's master
        user with O(db_instance_identifier).
    type: str
  login_password:
    description:
      - Its password. Never shown.
    type: str
    required: true
  engine:
    description:
      - The database engine, with O(login_host). With O(db_instance_identifier), the instance's.
    type: str
    choices: [postgres, mysql, mariadb, aurora-postgresql, aurora-mysql]
    default: postgres
  database:
    description:
      - The database to mask. Defaults to the rules' C(database), then to the instance's C(DBName), then to
        C(postgres) (PostgreSQL).
    type: str
  salt:
    description:
      - The salt of the C(hash) and C(email) strategies. Never shown. With the same salt, the same value masks to
        the same text every time.
    type: str
    required: true
extends_documentation_fragment:
  - mitosis.rds.aws
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Checks the rules against the database (read-only) and returns the SQL it would run.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - psycopg >= 3.1 (PostgreSQL), PyMySQL >= 1.0 (MySQL, MariaDB)
seealso:
  - module: mitosis.rds.rds_mitosis_plan
notes:
  - Masking rewrites the masked tables' rows. Copies taken before it (snapshots, automated backups, the WAL or
    binlog) still hold the original values; the refresh masks before the clone's backups and replicas exist.
"""

EXAMPLES = r"""
- name: Mask a restored snapshot before handing it to developers
  mitosis.rds.rds_mask:
    db_instance_identifier: restored-for-dev
    rules: masking/shop.yml
    login_password: "{{ restored_master_password }}"
    salt: "{{ masking_salt }}"
  register: masked

- name: Show rows masked per table
  ansible.builtin.debug:
    msg: "{{ masked.masking.tables }}"

- name: Show the SQL it would run on a local copy (check mode)
  mitosis.rds.rds_mask:
    login_host: 127.0.0.1
    login_user: postgres
    login_password: "{{ local_password }}"
    database: shop
    rules: masking/shop.yml
    salt: "{{ masking_salt }}"
  check_mode: true
"""

RETURN = r"""
sql:
  description: The statements, per table, as they run (the salt is a parameter, never shown).
  returned: always
  type: list
  elements: str
  sample: ["ALTER TABLE \"public\".\"customers\" ALTER COLUMN \"email\" TYPE text USING ('u' || ...), ...;"]
database:
  description: The database masked (or checked, in check mode).
  returned: always
  type: str
  sample: shop
masking:
  description: What the masking did; absent in check mode.
  returned: success and not check mode
  type: dict
  contains:
    tables:
      description: Per table, C(rows) masked and C(seconds) (or C(resumed), masked by an earlier run).
      type: dict
      sample: {"public.customers": {"rows": 20000, "seconds": 0.8}}
    columns:
      description: The masked columns, C(schema.table.column).
      type: list
      elements: str
    proof:
      description: C(columns_checked) and C(sampled_values) (originals looked for and not found).
      type: dict
    seconds:
      description: The whole masking's time.
      type: float
"""

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.masking import (check_database, check_rules, connect,
                                                                          dialect_of, forget_markers, mask, statements)
from ansible_collections.mitosis.rds.plugins.module_utils.module import MitosisModule

DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


def target_of(module):
    """(engine, host, port, user, database) of the database to mask."""
    p = module.params
    rules = p["rules"]
    if p["db_instance_identifier"]:
        found = module.connection.client("rds").describe_db_instances(
            DBInstanceIdentifier=p["db_instance_identifier"])["DBInstances"][0]
        endpoint = found.get("Endpoint") or {}
        engine = found["Engine"]
        host, port, user = endpoint.get("Address"), endpoint.get("Port"), p["login_user"] or found.get("MasterUsername")
        named = found.get("DBName")
    else:
        engine, host, port, user, named = p["engine"], p["login_host"], p["login_port"], p["login_user"], None
    dialect = dialect_of(engine)
    database = p["database"] or rules.get("database") or named or ("postgres" if dialect.name == "postgres" else None)
    if not host or not user or not database:
        raise MitosisError("Nothing to connect to: the host, the user and the database are needed ({0}).".format(
            ", ".join(n for n, v in (("host", host), ("login_user", user), ("database", database)) if not v)),
            operation="mask", hint="Pass login_user and database (or a `database:` in the rules file).")
    return engine, host, port or DEFAULT_PORTS[dialect.name], user, database


def run(module):
    p = module.params
    rules = check_rules(p["rules"])
    engine, host, port, user, database = target_of(module)
    db = connect(engine, host, port, user, p["login_password"], database)
    try:
        # The statements with each column's own type, once the catalog says the rules fit the database.
        catalog = check_database(db, rules, host)
        result = {"changed": not module.check_mode, "database": database, "sql": statements(engine, rules, catalog)}
        if module.check_mode:
            return result
        report = mask(db, rules, p["salt"], host, catalog=catalog)
        report.pop("samples")
        forget_markers(db)
    finally:
        db.close()
    return dict(result, masking=report)


def main():
    module = MitosisModule(
        argument_spec=dict(
            rules=dict(type="raw", required=True),
            db_instance_identifier=dict(type="str"),
            login_host=dict(type="str"),
            login_port=dict(type="int"),
            login_user=dict(type="str"),
            login_password=dict(type="str", required=True, no_log=True),
            engine=dict(type="str", default="postgres",
                        choices=["postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"]),
            database=dict(type="str"),
            salt=dict(type="str", required=True, no_log=True),
        ),
        mutually_exclusive=[["db_instance_identifier", "login_host"]],
        required_one_of=[["db_instance_identifier", "login_host"]],
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
