"""Masking rules (issue 21) on the data plane: the new primary is masked before its backups and replicas exist and
before any name moves, checked as rows on every server of the refreshed stack, in a snapshot of it restored, and in
the masked table's pages on disk; a personal column no rule covers, an unknown column and a broken rules file stop
the run at the right moment; a run killed while masking resumes without masking anything twice.
"""

import hashlib
import json
import os
import time

import psycopg
import pytest

from devtools import shop
from devtools.seed import DEMO_DATA, PROD_DATA, Seeder, seed_aurora_postgres, seed_postgres_data

from .helpers import clone_vars, instances, kill_when, mutating
from .test_clone import assert_refreshed, assert_safe_history, restart_command, restarts, seeded
from .test_rows import DEMO_NAMES, connect

RULES = "devtools/playbooks/mask_shop.yml"
SALT = "pepper-for-the-demo-7"
AURORA_PASSWORD = "not-a-real-password"  # the seed's


def productions_people(endpoint):
    """Production's customers: id -> (name, email, phone)."""
    with connect(endpoint, "mitosis-prod", PROD_DATA.password) as conn:
        return {row[0]: row[1:] for row in conn.execute("SELECT id, name, email, phone FROM customers")}


def masked_email(salt, email):
    return "u{0}@example.invalid".format(hashlib.sha256((salt + email).encode()).hexdigest()[:16])


def replayed(endpoint, name, password, timeout=30):
    """A connection to `name` once it accepts `password`: a replica replays its primary's new password (a managed
    secret set at the end of the run) a moment later."""
    deadline = time.time() + timeout
    while True:
        try:
            return connect(endpoint, name, password)
        except psycopg.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def assert_masked(endpoint, names, password, people, salt=SALT):
    """On each server: every customer of production is there, each masked exactly once; no original value left."""
    names_, emails, phones = ({p[i] for p in people.values()} for i in range(3))
    for name in names:
        with replayed(endpoint, name, password) as conn:
            rows = {row[0]: row[1:] for row in conn.execute("SELECT id, name, email, phone FROM customers")}
            assert sorted(rows) == sorted(people), name
            assert not {r[0] for r in rows.values()} & names_, name
            assert not {r[1] for r in rows.values()} & emails, name
            assert not {r[2] for r in rows.values()} & phones, name
            for key, (masked_name, email, phone) in rows.items():
                original = people[key]
                assert email == masked_email(salt, original[1]), (name, key, email)  # hashed once, not twice
                assert masked_name == hashlib.sha256((salt + original[0]).encode()).hexdigest()[:32]
                assert phone is None or (phone.endswith(original[2][-2:]) and set(phone[:-2]) == {"*"})
            assert conn.execute("SELECT to_regnamespace('mitosis_masking')").fetchone()[0] is None, name


def assert_no_original_in_the_pages(endpoint, name, password, people):
    """The customers table's files on disk (heap and indexes) hold none of production's emails or names."""
    server = endpoint.servers()[instances(endpoint)[name]["DbiResourceId"]]
    with connect(endpoint, name, password) as conn:
        conn.execute("CHECKPOINT") if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] else None
        files = [row[0] for row in conn.execute(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.relname = 'customers' OR c.oid IN "
            "(SELECT indexrelid FROM pg_index WHERE indrelid = 'customers'::regclass)")]
    data = b"".join(open(os.path.join(server["directory"], "data", path), "rb").read() for path in files)
    assert len(data) > 8192
    originals = [value for person in list(people.values())[:500] for value in person[:2]]
    assert not [value for value in originals if value.encode() in data], name


def run_masked(data_playbook, log, args=(), **extra):
    return data_playbook("playbooks/clone.yml", clone_vars(
        restart_command=restart_command(log), master_password=DEMO_DATA.password, mask_salt=SALT, **extra),
        args=args)


def test_a_masked_refresh_leaves_no_original_value_anywhere(data_endpoint, data_playbook, tmp_path):
    before = seeded(data_endpoint, seed_postgres_data)
    people = productions_people(data_endpoint)
    log = tmp_path / "restarts.jsonl"
    result = run_masked(data_playbook, log, args=("-vvv",), mask_rules=RULES)
    assert result.rc == 0, result
    assert SALT not in result.out and DEMO_DATA.password not in result.out
    assert len(restarts(log)) == 1
    assert_refreshed(data_endpoint, before)
    assert_masked(data_endpoint, DEMO_NAMES, DEMO_DATA.password, people)
    # Orders are not personal: they arrive as production holds them.
    with connect(data_endpoint, "mitosis-prod", PROD_DATA.password) as conn:
        expected = shop.checksums(conn, ("name", "email", "phone"))
    for name in DEMO_NAMES:
        with connect(data_endpoint, name, DEMO_DATA.password) as conn:
            assert shop.checksums(conn, ("name", "email", "phone")) == expected, name
    for name in DEMO_NAMES:
        assert_no_original_in_the_pages(data_endpoint, name, DEMO_DATA.password, people)
    # The primary was masked before its backups and before its replicas: the calls in that order.
    calls = [(c["operation"], c["identifier"], c["params"]) for c in mutating(data_endpoint)]
    promote = next(i for i, c in enumerate(calls) if c[0] == "PromoteReadReplica")
    assert calls[promote][2].get("BackupRetentionPeriod") == 0
    masked_tag = next(i for i, c in enumerate(calls) if c[0] == "AddTagsToResource"
                      and "mitosis:masked" in json.dumps(c[2]))
    backups = next(i for i, c in enumerate(calls) if c[0] == "ModifyDBInstance" and c[2].get("BackupRetentionPeriod"))
    replicas = [i for i, c in enumerate(calls) if c[0] == "CreateDBInstanceReadReplica"
                and c[1].startswith("temp-mitosis-demo-replica")]
    assert promote < masked_tag < backups < min(replicas)
    # The summary: rows per table, the columns checked on each server.
    assert "masked public.customers: {0} rows".format(shop.PRODUCTION.customers) in result.out
    assert "checked 3 masked columns on temp-mitosis-demo, temp-mitosis-demo-replica-a, " \
           "temp-mitosis-demo-replica-b" in result.out

    # A snapshot of the refreshed primary, restored: masked too.
    rds = data_endpoint.client("rds")
    rds.create_db_snapshot(DBInstanceIdentifier="mitosis-demo", DBSnapshotIdentifier="after-refresh")
    wait(lambda: rds.describe_db_snapshots(DBSnapshotIdentifier="after-refresh")["DBSnapshots"][0]["Status"]
         == "available")
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="restored-check",
                                             DBSnapshotIdentifier="after-refresh")
    wait(lambda: instances(data_endpoint)["restored-check"]["DBInstanceStatus"] == "available")
    assert_masked(data_endpoint, ["restored-check"], DEMO_DATA.password, people)


def wait(condition, timeout=120):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline
        time.sleep(0.2)


def test_rules_that_do_not_fit_stop_before_any_name_moves_and_the_fixed_rules_resume(
        data_endpoint, data_playbook, tmp_path):
    seeded(data_endpoint, seed_postgres_data)
    people = productions_people(data_endpoint)
    log = tmp_path / "restarts.jsonl"
    # Check mode: the SQL, and no change.
    checked = run_masked(data_playbook, log, args=("--check",), mask_rules=RULES)
    assert checked.rc == 0, checked
    shown = checked.out.replace('\\"', '"')  # the flight plan's lines are JSON strings
    assert 'ALTER TABLE "public"."customers" ALTER COLUMN "email" TYPE <its type> USING' in shown
    assert mutating(data_endpoint) == [] and SALT not in checked.out

    unknown = tmp_path / "unknown.yml"
    unknown.write_text("database: shop\ntables:\n  public.customers:\n    mail: email\n  public.clients: truncate\n")
    result = run_masked(data_playbook, log, mask_rules=str(unknown))
    assert result.rc != 0
    assert "table public.clients does not exist" in result.out, result
    assert "column public.customers.mail does not exist" in result.out, result
    uncovered = tmp_path / "uncovered.yml"
    uncovered.write_text("database: shop\ntables:\n  public.customers:\n    name: hash\n    email: email\n")
    result = run_masked(data_playbook, log, mask_rules=str(uncovered))
    assert result.rc != 0
    assert "public.customers.phone (its name)" in result.out, result
    # No name moved, nothing restarted, and the demo serves its own old rows.
    assert not [c for c in mutating(data_endpoint) if c["new_identifier"] or c["operation"] == "DeleteDBInstance"]
    assert not restarts(log)
    with connect(data_endpoint, "mitosis-demo", DEMO_DATA.password) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == shop.DEMO.customers
    # Nothing was masked on the clone: its rows are still production's, unmasked.
    with connect(data_endpoint, "temp-mitosis-demo", DEMO_DATA.password) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE email LIKE %s",
                            ("%@" + shop.PRODUCTION.domain,)).fetchone()[0] == shop.PRODUCTION.customers

    result = run_masked(data_playbook, log, mask_rules=RULES)
    assert result.rc == 0, result
    assert len(restarts(log)) == 1
    assert_safe_history(data_endpoint)
    assert len([c for c in mutating(data_endpoint) if c["operation"] == "CreateDBInstanceReadReplica"
                and c["identifier"] == "temp-mitosis-demo"]) == 1
    assert_masked(data_endpoint, DEMO_NAMES, DEMO_DATA.password, people)


def test_a_run_killed_while_masking_resumes_without_masking_twice(data_endpoint, data_playbook, tmp_path):
    seeded(data_endpoint, seed_postgres_data)
    people = productions_people(data_endpoint)
    log = tmp_path / "restarts.jsonl"
    rules = tmp_path / "two-tables.yml"
    # Two tables: the kill comes once the first is masked (its transaction committed) and before the second is.
    rules.write_text("database: shop\ntables:\n  public.customers:\n    name: hash\n    email: email\n"
                     "    phone: {keep_last: 2}\n  public.orders:\n    total: {fixed: 0}\n")
    extra = clone_vars(restart_command=restart_command(log), master_password=DEMO_DATA.password, mask_salt=SALT,
                       mask_rules=str(rules))

    # The test holds the orders table (SHARE lock: reads go on, the masking's UPDATE waits) from the moment the clone
    # takes the demo's password, so that the kill lands after customers are masked and before orders are.
    holder = []

    def one_table_masked(endpoint):
        try:
            if not holder:
                conn = connect(endpoint, "temp-mitosis-demo", DEMO_DATA.password)
                conn.execute("BEGIN")
                conn.execute("LOCK TABLE orders IN SHARE MODE")
                holder.append(conn)
            with connect(endpoint, "temp-mitosis-demo", DEMO_DATA.password) as conn:
                return conn.execute("SELECT count(*) FROM mitosis_masking.masked").fetchone()[0] == 1
        except (KeyError, psycopg.Error):  # no clone yet, not its password yet, no marker yet
            return False

    try:
        # Every process of the run, the worker that masks included (it runs in a session of its own).
        kill_when(data_endpoint, "playbooks/clone.yml", extra, tmp_path / "killed.json", one_table_masked,
                  timeout=300, every_process=True)
    finally:
        for conn in holder:
            conn.close()
    assert not [c for c in mutating(data_endpoint) if c["new_identifier"]]
    result = data_playbook("playbooks/clone.yml", extra)
    assert result.rc == 0, result
    assert "masked public.orders: {0} rows".format(shop.PRODUCTION.orders) in result.out
    assert "masked public.customers" not in result.out  # masked before the kill, not again
    assert len(restarts(log)) == 1
    assert_masked(data_endpoint, DEMO_NAMES, DEMO_DATA.password, people)
    with connect(data_endpoint, "mitosis-demo-replica-a", DEMO_DATA.password) as conn:
        assert conn.execute("SELECT count(*) FROM orders WHERE total <> 0").fetchone()[0] == 0


def test_a_managed_target_is_masked_with_a_temporary_password_the_managed_secret_replaces(
        data_endpoint, data_playbook, tmp_path):
    seeded(data_endpoint, seed_postgres_data)
    Seeder(data_endpoint.session(), data_endpoint.url).manage_password("mitosis-demo")
    data_endpoint.clear_calls()
    people = productions_people(data_endpoint)
    log = tmp_path / "restarts.jsonl"
    # A restore this time (to the latest restorable time), without backups until it is masked.
    result = data_playbook("playbooks/clone.yml", clone_vars(restart_command=restart_command(log), mask_rules=RULES,
                                                             mask_salt=SALT, copy_method="point_in_time"),
                           args=("-vvv",))
    assert result.rc == 0, result
    calls = mutating(data_endpoint)
    restore = next(i for i, c in enumerate(calls) if c["operation"] == "RestoreDBInstanceToPointInTime")
    assert calls[restore]["params"]["BackupRetentionPeriod"] == 0
    temporary = [i for i, c in enumerate(calls) if c["operation"] == "ModifyDBInstance"
                 and "MasterUserPassword" in c["params"]]
    backups = next(i for i, c in enumerate(calls) if c["operation"] == "ModifyDBInstance"
                   and c["params"].get("BackupRetentionPeriod"))
    assert len(temporary) == 1 and calls[temporary[0]]["identifier"] == "temp-mitosis-demo"
    assert restore < temporary[0] < backups
    secret = instances(data_endpoint)["mitosis-demo"]["MasterUserSecret"]["SecretArn"]
    password = json.loads(data_endpoint.client("secretsmanager").get_secret_value(SecretId=secret)[
        "SecretString"])["password"]
    assert password not in result.out
    assert_masked(data_endpoint, DEMO_NAMES, password, people)


@pytest.mark.parametrize("text, expected", [
    ("tables: [oops", "line 1"),
    ("tables:\n  public.customers:\n    email: scramble\n",
     "line 3: unknown strategy 'scramble' for public.customers.email"),
    ("tables:\n  customers:\n    email: email\n", "line 2: 'customers' is not a schema.table name"),
])
def test_a_broken_rules_file_fails_before_any_change_naming_the_line(endpoint, playbook, tmp_path, text, expected):
    seeded(endpoint)
    rules = tmp_path / "rules.yml"
    rules.write_text(text)
    result = playbook("playbooks/clone.yml", clone_vars(mask_rules=str(rules), master_password="Demo-pass-1"))
    assert result.rc != 0
    assert "mask_rules: {0}".format(rules) in result.out and expected in result.out, result
    assert endpoint.mutating_calls() == []


def test_an_aurora_postgresql_clone_is_masked_through_its_writer_before_its_readers_exist(
        data_endpoint, data_playbook, tmp_path):
    seeded(data_endpoint, seed_aurora_postgres)
    rds = data_endpoint.client("rds")
    prod = rds.describe_db_clusters(DBClusterIdentifier="mitosis-aurora-prod")["DBClusters"][0]
    with psycopg.connect(host=prod["Endpoint"], port=prod["Port"], user="mitosis", password=AURORA_PASSWORD,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE shop")
    with shop.connect(prod["Endpoint"], prod["Port"], "mitosis", AURORA_PASSWORD) as conn:
        shop.load(conn, shop.Dataset(customers=2000, orders=4000, until="2026-12-04", domain="mail.example.com"))
        people = {row[0]: row[1:] for row in conn.execute("SELECT id, name, email, phone FROM customers")}
    data_endpoint.clear_calls()
    log = tmp_path / "restarts.jsonl"
    result = data_playbook("playbooks/clone.yml", clone_vars(
        source="mitosis-aurora-prod", target="mitosis-aurora-demo", restart_command=restart_command(log),
        master_password="Aurora-demo-1", mask_salt=SALT, mask_rules=RULES))
    assert result.rc == 0, result
    assert "Aurora keeps continuous backups of temp-mitosis-aurora-demo" in result.out
    calls = mutating(data_endpoint)
    masked = next(i for i, c in enumerate(calls) if c["operation"] == "AddTagsToResource"
                  and "mitosis:masked" in json.dumps(c["params"]))
    creates = [i for i, c in enumerate(calls) if c["operation"] == "CreateDBInstance"]
    assert creates[0] < masked < creates[1], calls  # the writer, the masking, then the readers
    demo = rds.describe_db_clusters(DBClusterIdentifier="mitosis-aurora-demo")["DBClusters"][0]
    members = [m["DBInstanceIdentifier"] for m in demo["DBClusterMembers"]]
    assert len(members) == 3
    for name in members:
        assert_masked(data_endpoint, [name], "Aurora-demo-1", people)


def test_the_mask_module_masks_one_database_outside_a_refresh(data_endpoint, data_playbook):
    seeded(data_endpoint, seed_postgres_data)
    people = productions_people(data_endpoint)
    extra = {"identifier": "mitosis-prod", "rules": RULES, "password": PROD_DATA.password, "salt": SALT}
    checked = data_playbook("tests/functional/playbooks/mask.yml", extra, args=("--check", "-vvv"))
    assert checked.rc == 0, checked
    assert 'ALTER TABLE \\"public\\".\\"customers\\" ALTER COLUMN \\"email\\" TYPE text USING' in checked.out
    assert SALT not in checked.out and PROD_DATA.password not in checked.out
    assert productions_people(data_endpoint) == people  # check mode changed nothing
    result = data_playbook("tests/functional/playbooks/mask.yml", extra, args=("-vvv",))
    assert result.rc == 0, result
    assert SALT not in result.out and PROD_DATA.password not in result.out
    assert_masked(data_endpoint, ["mitosis-prod", "mitosis-prod-replica"], PROD_DATA.password, people)
