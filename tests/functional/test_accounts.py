"""playbooks/clone.yml with the source in another account (issue 23): production (mitosis-prod, encrypted with the
source account's aws/rds key) in account 210987654321, the demo stack in the run's own account 123456789012, reached
through the role devtools.seed.SOURCE_ROLE_ARN; the copy shared is encrypted with alias/mitosis-share (its key policy
lets the target account use it).

On the data plane, production's rows arrive on the demo stack; a run killed -9 while the source account copies, while
the target account copies and while the clone is restored ends right when run again, with each copy made once and
none left over; a run whose source account credentials expired before its copy was deleted goes on, says so, and the
next run deletes that copy first; bad input is refused with no mutating call in either account."""

import json

import psycopg
import pytest

from devtools import shop
from devtools.seed import (DEMO_DATA, PROD_DATA, SOURCE_ACCOUNT, TARGET_ACCOUNT, dns_records, seed_cross_account,
                           seed_cross_account_aurora, source_session)

from .helpers import FAST, instances, kill_when, mutating
from .test_clone import restart_command, restarts

SHARE_KEY = "alias/mitosis-share"
AURORA_PASSWORD = "not-a-real-password"  # the seed's
# The time model where a kill must land in a phase: one simulated minute is 0.02 s.
SPEED = 0.02


def account_vars(facts, log, **extra):
    """The run's variables; an option given as None is left out."""
    given = dict(FAST, source="mitosis-prod", target="mitosis-demo", source_role_arn=facts["role_arn"],
                 source_kms_key=SHARE_KEY, master_password=DEMO_DATA.password, restart_command=restart_command(log))
    given.update(extra)
    return {key: value for key, value in given.items() if value is not None}


def seeded(endpoint):
    facts = seed_cross_account(endpoint.session(), endpoint.url)
    endpoint.clear_calls()
    return facts


def source_client_session(endpoint):
    return source_session(endpoint.session(), endpoint.url)


def source_client(endpoint):
    return endpoint.client("rds", source_client_session(endpoint))


def copies_of_clusters(rds, source_rds):
    """The cluster snapshots of this target's refreshes left in either account."""
    return [s["DBClusterSnapshotIdentifier"] for client in (rds, source_rds)
            for s in client.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
            if s["DBClusterSnapshotIdentifier"].startswith("mitosis-" + TARGET_ACCOUNT)]


def copies(endpoint):
    """The snapshots of this target's refreshes left in each account."""
    found = {}
    for account, rds in (("source", source_client(endpoint)), ("target", endpoint.client("rds"))):
        found[account] = sorted(s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots(
            SnapshotType="manual")["DBSnapshots"] if s["DBSnapshotIdentifier"].startswith("mitosis-" + TARGET_ACCOUNT))
    return found


def made(endpoint, account):
    """The mutating calls of the refresh in `account`, as (operation, identifier)."""
    return [(c["operation"], c["identifier"] or c["params"].get("TargetDBSnapshotIdentifier")
             or c["params"].get("DBSnapshotIdentifier")) for c in changes(endpoint) if c.get("account") == account]


def changes(endpoint):
    """The mutating calls of every account (sts:AssumeRole, which reaches the source account, changes nothing)."""
    return [c for c in mutating(endpoint) if c["service"] != "sts"]


def checksums(address, password):
    with shop.connect(address["Address"], address["Port"], "mitosis", password) as conn:
        return shop.checksums(conn)


def test_a_stack_is_refreshed_from_another_account_with_productions_rows(data_endpoint, data_playbook, tmp_path):
    facts = seeded(data_endpoint)
    log = tmp_path / "restarts.log"
    checked = data_playbook("playbooks/clone.yml", account_vars(facts, log), args=("--check",))
    assert checked.rc == 0, checked
    assert "CopyDBSnapshot mitosis-{0}-mitosis-demo-".format(TARGET_ACCOUNT) in checked.out
    assert "in the source account" in checked.out and "across accounts only a snapshot" in checked.out
    assert changes(data_endpoint) == []

    result = data_playbook("playbooks/clone.yml", account_vars(facts, log))
    assert result.rc == 0, result
    prod = source_client(data_endpoint).describe_db_instances(DBInstanceIdentifier="mitosis-prod")["DBInstances"][0]
    expected = checksums(prod["Endpoint"], PROD_DATA.password)
    live = instances(data_endpoint)
    for name in ("mitosis-demo", "mitosis-demo-replica-a", "mitosis-demo-replica-b"):
        assert checksums(live[name]["Endpoint"], DEMO_DATA.password) == expected, name
    assert live["mitosis-demo"]["KmsKeyId"] == facts["keys"]["demo"]
    copy = next(t["Value"] for t in live["mitosis-demo"]["TagList"] if t["Key"] == "mitosis:snapshot")
    assert made(data_endpoint, SOURCE_ACCOUNT) == [("CopyDBSnapshot", copy), ("ModifyDBSnapshotAttribute", copy),
                                                   ("DeleteDBSnapshot", copy)]
    target_calls = made(data_endpoint, TARGET_ACCOUNT)
    assert target_calls[:2] == [("CopyDBSnapshot", copy), ("RestoreDBInstanceFromDBSnapshot", "temp-mitosis-demo")]
    assert ("DeleteDBSnapshot", copy) in target_calls
    assert all(name.startswith("old-") for operation, name in target_calls if operation == "DeleteDBInstance")
    assert copies(data_endpoint) == {"source": [], "target": []}
    assert len(restarts(log)) == 1
    assert "the data crossed accounts as " + copy in result.out
    assert DEMO_DATA.password not in result.out and PROD_DATA.password not in result.out


# The phases of a refresh across accounts: the source account copies, then (once shared) the target account copies;
# the restore and what follows resume as within one account (test_real_data.py), every cut in the unit tests.
@pytest.mark.parametrize("kill_at", [("CopyDBSnapshot", SOURCE_ACCOUNT), ("CopyDBSnapshot", TARGET_ACCOUNT)],
                         ids=["source-copy", "target-copy"])
def test_a_run_killed_in_each_account_ends_right_when_run_again(endpoint, playbook, tmp_path, kill_at):
    facts = seeded(endpoint)
    log = tmp_path / "restarts.log"
    endpoint.set_speed(SPEED)
    operation, account = kill_at

    def reached(server):
        return any(c.get("account") == account and c["status"] < 400 for c in server.calls(operation))

    kill_when(endpoint, "playbooks/clone.yml", account_vars(facts, log), tmp_path / "vars.json", reached,
              every_process=True)
    assert copies(endpoint)["source" if account == SOURCE_ACCOUNT else "target"]  # killed with its copy there
    result = playbook("playbooks/clone.yml", account_vars(facts, log))
    assert result.rc == 0, result
    for where in (SOURCE_ACCOUNT, TARGET_ACCOUNT):
        assert len([1 for op, _name in made(endpoint, where) if op == "CopyDBSnapshot"]) == 1, where  # copied once
    assert len([1 for op, _name in made(endpoint, TARGET_ACCOUNT) if op == "RestoreDBInstanceFromDBSnapshot"]) == 1
    assert copies(endpoint) == {"source": [], "target": []}
    assert set(instances(endpoint)) == {"mitosis-demo", "mitosis-demo-replica-a", "mitosis-demo-replica-b"}
    assert len(restarts(log)) == 1


def test_a_copy_left_by_expired_credentials_is_deleted_first_by_the_next_run(endpoint, playbook, tmp_path):
    facts = seeded(endpoint)
    log = tmp_path / "restarts.log"
    # The source account's credentials expire just before its copy is deleted (the target's delete comes after).
    endpoint.add_fault("DeleteDBSnapshot", code="ExpiredToken", message="The security token included in the request "
                       "is expired", http_status=403)
    first = playbook("playbooks/clone.yml", account_vars(facts, log))
    assert first.rc == 0, first
    left = copies(endpoint)
    assert len(left["source"]) == 1 and left["target"] == []
    assert "{0} in the source account was not deleted".format(left["source"][0]) in first.out
    endpoint.clear_calls()
    second = playbook("playbooks/clone.yml", account_vars(facts, log))
    assert second.rc == 0, second
    source_calls = made(endpoint, SOURCE_ACCOUNT)
    assert source_calls[0] == ("DeleteDBSnapshot", left["source"][0])
    assert copies(endpoint) == {"source": [], "target": []}


def test_bad_input_is_refused_before_any_change_in_either_account(endpoint, playbook, tmp_path):
    facts = seeded(endpoint)
    log = tmp_path / "restarts.log"
    rds = endpoint.client("rds")
    # A target without encryption: production's encrypted data cannot become an unencrypted clone.
    rds.create_db_instance(DBInstanceIdentifier="mitosis-plain", Engine="postgres", DBInstanceClass="db.t3.micro",
                           MasterUsername="mitosis", MasterUserPassword="Plain-Pass-3", AllocatedStorage=20)
    endpoint.settle()
    endpoint.clear_calls()
    # Through the whole play once: the snapshot under the default key.
    result = playbook("playbooks/clone.yml", account_vars(facts, log, source_kms_key=None))
    assert result.rc != 0 and "cannot be shared with another account" in result.out, result
    assert "Pass source_kms_key" in result.out
    assert changes(endpoint) == [], changes(endpoint)  # in either account, the lock's included
    # The others through the plan module, in one play; the role the run may not assume last (one refusal of it).
    cases = [
        (dict(source_kms_key="alias/mitosis-private"), "does not let account {0} use it".format(TARGET_ACCOUNT)),
        (dict(target="mitosis-plain"), "is encrypted and the target mitosis-plain is not"),
        (dict(copy_method="replica"), "cannot work across accounts"),
        (dict(source="arn:aws:rds:us-east-1:111111111111:db:mitosis-prod"), "is in account 111111111111"),
        (dict(source="mitosis-nowhere"), "was not found in account {0}".format(SOURCE_ACCOUNT)),
        ({}, "The source account could not be reached through the role " + facts["role_arn"]),
    ]
    endpoint.add_fault("AssumeRole", code="AccessDenied", http_status=403, nth=len(cases),
                       message="User is not authorized to perform: sts:AssumeRole on " + facts["role_arn"])
    out = tmp_path / "plans.json"
    planned = playbook("tests/functional/playbooks/plan_cases.yml", dict(
        source="mitosis-prod", target="mitosis-demo", source_role_arn=facts["role_arn"], source_kms_key=SHARE_KEY,
        cases=[extra for extra, _message in cases], out=str(out)))
    assert planned.rc == 0, planned
    for (extra, message), msg in zip(cases, json.loads(out.read_text())):
        assert message in msg, (extra, msg)
    assert changes(endpoint) == [], changes(endpoint)
    policies = playbook("playbooks/iam_policy.yml", dict(source="mitosis-prod", target="mitosis-demo",
                                                         source_role_arn=facts["role_arn"], source_kms_key=SHARE_KEY,
                                                         dest=str(tmp_path / "policy.json")))
    assert policies.rc == 0, policies
    source_policy = json.loads((tmp_path / "policy-source.json").read_text())
    target_policy = json.loads((tmp_path / "policy.json").read_text())
    share = next(s for s in source_policy["Statement"] if s["Action"] == ["rds:ModifyDBSnapshotAttribute"])
    assert all(":{0}:snapshot:mitosis-{1}-mitosis-demo-".format(SOURCE_ACCOUNT, TARGET_ACCOUNT) in r
               for r in share["Resource"])
    allowed = ("rds:DescribeDBInstances", "rds:DescribeDBSnapshots", "rds:CopyDBSnapshot",
               "rds:ModifyDBSnapshotAttribute", "rds:DescribeDBSnapshotAttributes", "rds:DeleteDBSnapshot",
               "rds:AddTagsToResource")
    assert not any(a.startswith("rds:") and a not in allowed for s in source_policy["Statement"] for a in s["Action"])
    restore = next(s for s in target_policy["Statement"] if s["Action"] == ["rds:RestoreDBInstanceFromDBSnapshot"])
    assert all(SOURCE_ACCOUNT not in r for r in restore["Resource"])
    assert changes(endpoint) == []


def test_an_aurora_stack_is_refreshed_from_another_account_with_productions_rows(
        data_endpoint, data_playbook, tmp_path):
    facts = seed_cross_account_aurora(data_endpoint.session(), data_endpoint.url)
    source_rds = source_client(data_endpoint)
    prod = source_rds.describe_db_clusters(DBClusterIdentifier="mitosis-aurora-prod")["DBClusters"][0]
    with psycopg.connect(host=prod["Endpoint"], port=prod["Port"], user="mitosis", password=AURORA_PASSWORD,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE shop")
    with shop.connect(prod["Endpoint"], prod["Port"], "mitosis", AURORA_PASSWORD) as conn:
        shop.load(conn, shop.Dataset(customers=2000, orders=4000, until="2026-12-04", domain="mail.example.com"))
        expected = shop.checksums(conn)
    # Production's nightly snapshot, taken after its rows: the newest, which the refresh copies.
    source_rds.create_db_cluster_snapshot(DBClusterIdentifier="mitosis-aurora-prod",
                                          DBClusterSnapshotIdentifier="mitosis-aurora-prod-nightly")
    data_endpoint.settle()
    data_endpoint.clear_calls()
    log = tmp_path / "restarts.log"
    result = data_playbook("playbooks/clone.yml", account_vars(facts, log, source="mitosis-aurora-prod",
                                                               target="mitosis-aurora-demo",
                                                               master_password="Aurora-demo-1"))
    assert result.rc == 0, result
    assert "which no Aurora clone across accounts may use" in result.out  # why the snapshot path
    source_calls = [op for op, _name in made(data_endpoint, SOURCE_ACCOUNT)]
    assert source_calls == ["CopyDBClusterSnapshot", "ModifyDBClusterSnapshotAttribute", "DeleteDBClusterSnapshot"]
    target_calls = [op for op, _name in made(data_endpoint, TARGET_ACCOUNT)]
    assert target_calls[:2] == ["CopyDBClusterSnapshot", "RestoreDBClusterFromSnapshot"]
    assert "DeleteDBClusterSnapshot" in target_calls
    rds = data_endpoint.client("rds")
    clusters = {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}
    assert set(clusters) == {"mitosis-aurora-demo"}
    demo = clusters["mitosis-aurora-demo"]
    assert demo["KmsKeyId"] == facts["keys"]["demo"]
    with shop.connect(demo["Endpoint"], demo["Port"], "mitosis", "Aurora-demo-1") as conn:
        assert shop.checksums(conn) == expected
    assert copies_of_clusters(rds, source_rds) == []
    assert len(restarts(log)) == 1


def test_a_switch_by_dns_from_another_account(endpoint, playbook, tmp_path):
    facts = seeded(endpoint)
    records = {"db.demo.internal": "mitosis-demo", "db-ro-a.demo.internal": "mitosis-demo-replica-a",
               "db-ro-b.demo.internal": "mitosis-demo-replica-b"}
    zone = dns_records(endpoint.session(), endpoint.url, records, "demo.internal", 60)
    endpoint.clear_calls()
    log = tmp_path / "restarts.log"
    result = playbook("playbooks/clone.yml", account_vars(facts, log, target="db.demo.internal", swap_method="dns",
                                                          dns_zone="demo.internal", report_time_scale=600))
    assert result.rc == 0, result
    by_address = {i["Endpoint"]["Address"]: name for name, i in instances(endpoint).items()}
    found = endpoint.client("route53").list_resource_record_sets(HostedZoneId=zone["zone_id"])["ResourceRecordSets"]
    assert {r["Name"].rstrip("."): by_address.get(r["ResourceRecords"][0]["Value"]) for r in found
            if r["Type"] == "CNAME"} == {record: name + "-a" for record, name in records.items()}
    assert set(instances(endpoint)) == {name + "-a" for name in records.values()}
    assert [op for op, _name in made(endpoint, SOURCE_ACCOUNT)] == [
        "CopyDBSnapshot", "ModifyDBSnapshotAttribute", "DeleteDBSnapshot"]
    assert [op for op, name in made(endpoint, TARGET_ACCOUNT) if op == "RestoreDBInstanceFromDBSnapshot"] == [
        "RestoreDBInstanceFromDBSnapshot"]
    tags = {t["Key"]: t["Value"] for t in instances(endpoint)["mitosis-demo-a"]["TagList"]}
    assert tags["mitosis:generation"] == "a" and tags["mitosis:snapshot"].startswith("mitosis-" + TARGET_ACCOUNT)
    assert copies(endpoint) == {"source": [], "target": []}
    assert len(restarts(log)) == 1


def test_an_aurora_clone_across_accounts_where_aws_allows_one_else_the_snapshot_path(endpoint, playbook, tmp_path):
    facts = seed_cross_account_aurora(endpoint.session(), endpoint.url, shareable=True)
    endpoint.clear_calls()
    log = tmp_path / "restarts.log"
    given = account_vars(facts, log, source="mitosis-aurora-prod", target="mitosis-aurora-demo", master_password=None)
    first = playbook("playbooks/clone.yml", given)
    assert first.rc == 0, first
    assert "an Aurora clone of it (copy-on-write" in first.out
    source_arn = facts["source_cluster_arn"]
    assert [(c["service"], c["operation"]) for c in changes(endpoint) if c["account"] == SOURCE_ACCOUNT] == [
        ("ram", "CreateResourceShare"), ("ram", "DeleteResourceShare")]
    restore = next(c for c in changes(endpoint) if c["operation"] == "RestoreDBClusterToPointInTime")
    assert restore["account"] == TARGET_ACCOUNT and restore["params"]["SourceDBClusterIdentifier"] == source_arn
    assert restore["params"]["RestoreType"] == "copy-on-write"
    rds, source_rds = endpoint.client("rds"), source_client(endpoint)
    prod = source_rds.describe_db_clusters(DBClusterIdentifier="mitosis-aurora-prod")["DBClusters"][0]
    demo = rds.describe_db_clusters(DBClusterIdentifier="mitosis-aurora-demo")["DBClusters"][0]
    assert demo["CloneGroupId"] == prod["CloneGroupId"]
    assert endpoint.client("ram", source_client_session(endpoint)).get_resource_shares(
        resourceOwner="SELF", resourceShareStatus="ACTIVE")["resourceShares"] == []

    # The next refresh: the demo cluster is that clone, and AWS allows one per cluster and account.
    source_rds.create_db_cluster_snapshot(DBClusterIdentifier="mitosis-aurora-prod",
                                          DBClusterSnapshotIdentifier="mitosis-aurora-prod-nightly")
    endpoint.settle()
    endpoint.clear_calls()
    second = playbook("playbooks/clone.yml", given)
    assert second.rc == 0, second
    assert "mitosis-aurora-demo is an Aurora clone of mitosis-aurora-prod already" in second.out
    assert [c["operation"] for c in changes(endpoint) if c["account"] == SOURCE_ACCOUNT] == [
        "CopyDBClusterSnapshot", "ModifyDBClusterSnapshotAttribute", "DeleteDBClusterSnapshot"]
    assert "RestoreDBClusterFromSnapshot" in [c["operation"] for c in changes(endpoint)]
    assert copies_of_clusters(rds, source_rds) == []
    assert len(restarts(log)) == 2
