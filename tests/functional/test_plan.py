"""rds_graph_facts and rds_mitosis_plan through ansible-playbook, against the embedded endpoint."""

import json

import pytest

from devtools.seed import seed_cascade, seed_cross_vpc, seed_example

from .helpers import SEED_FLIGHT_PLAN, mutating

# The flight plan of the seed README: its calls, with the restart before the deletes.
SEED_CALLS = SEED_FLIGHT_PLAN[:9] + [("Restart", "mitosis-demo")] + SEED_FLIGHT_PLAN[9:]


def plan(playbook, tmp_path, **extra):
    out = tmp_path / "plan.json"
    result = playbook("tests/functional/playbooks/plan.yml", dict(extra, out=str(out)))
    assert result.rc == 0, result
    return json.loads(out.read_text())


def test_graph_facts(endpoint, playbook, tmp_path):
    seed_example(endpoint.session(), endpoint.url)
    out = tmp_path / "graph.json"
    result = playbook("tests/functional/playbooks/graph.yml", {"identifier": "mitosis-demo-replica", "out": str(out)})
    assert result.rc == 0, result
    graph = json.loads(out.read_text())
    assert graph["root"] == "mitosis-demo"
    assert graph["members"] == ["mitosis-demo", "mitosis-demo-replica"]
    replica = graph["nodes"][1]
    assert replica["parent"] == "mitosis-demo" and replica["depth"] == 1
    assert replica["tags"]["IsReplica"] == "true"


def test_seed_example_flight_plan_and_policy(endpoint, playbook, tmp_path):
    seed_example(endpoint.session(), endpoint.url)
    demo = endpoint.client("rds").describe_db_instances(DBInstanceIdentifier="mitosis-demo")["DBInstances"][0]
    endpoint.clear_calls()
    result = plan(playbook, tmp_path, source="mitosis-prod", target="mitosis-demo")
    assert [(s["action"], s["identifier"]) for s in result["plan"]] == SEED_CALLS
    assert all(s["status"] == "pending" for s in result["plan"])
    create = result["plan"][0]["params"]
    assert create["SourceDBInstanceIdentifier"] == "mitosis-prod"
    assert create["DBInstanceClass"] == demo["DBInstanceClass"]
    assert create["Port"] == demo["Endpoint"]["Port"]
    assert "KmsKeyId" not in create and "DeletionProtection" not in create and "DBSubnetGroupName" not in create
    renames = [s["params"]["NewDBInstanceIdentifier"] for s in result["plan"] if "NewDBInstanceIdentifier" in s["params"]]
    assert renames == ["old-mitosis-demo-replica", "old-mitosis-demo", "mitosis-demo-replica", "mitosis-demo"]
    assert "CreateDBInstanceReadReplica temp-mitosis-demo  [pending]" in result["flight_plan"]
    assert mutating(endpoint) == []

    named = set()
    for statement in result["iam_policy"]["Statement"]:
        assert len(statement["Action"]) == 1
        for arn in statement["Resource"]:
            assert arn.startswith("arn:aws:rds:us-east-1:123456789012:")
            if ":db:" in arn and not arn.endswith(":db:*"):
                named.add(arn.rsplit(":db:", 1)[1])
    touched = {s["identifier"] for s in result["plan"] if s["action"] != "Restart"}
    touched |= {s["params"][k] for s in result["plan"] for k in ("NewDBInstanceIdentifier", "SourceDBInstanceIdentifier")
                if k in s["params"]}
    # And the run's lock: a tag on whichever instance holds the target's name (rej-X: a rollback's).
    assert named == touched | {"rej-mitosis-demo"}
    deletes = [s for s in result["iam_policy"]["Statement"] if s["Action"] == ["rds:DeleteDBInstance"]][0]
    assert all(arn.split(":db:")[1].startswith("old-") for arn in deletes["Resource"])


def test_cascade_and_snapshot_plans(endpoint, playbook, tmp_path):
    seed_cascade(endpoint.session(), endpoint.url)
    result = plan(playbook, tmp_path, source="mitosis-prod", target="mitosis-demo")
    assert result["nodes"] == ["mitosis-demo", "mitosis-demo-r1", "mitosis-demo-r2", "mitosis-demo-r1a"]
    assert result["mode"] == "replica"
    endpoint.reset()
    seed_cross_vpc(endpoint.session(), endpoint.url)
    result = plan(playbook, tmp_path, source="mitosis-prod", target="mitosis-demo")
    assert result["mode"] == "point_in_time"
    assert result["mode_reason"].startswith("source and target are in different VPCs")
    assert result["plan"][0]["action"] == "RestoreDBInstanceToPointInTime"
    result = plan(playbook, tmp_path, source="mitosis-prod", target="mitosis-demo", copy_method="snapshot")
    assert result["mode"] == "snapshot"
    assert result["plan"][0]["action"] == "RestoreDBInstanceFromDBSnapshot"
    assert result["plan"][0]["params"]["DBSnapshotIdentifier"] == "mitosis-prod-manual-2"


def _long_target(endpoint):
    endpoint.client("rds").create_db_instance(
        DBInstanceIdentifier="d" * 60, Engine="mysql", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="admin", MasterUserPassword="password1", BackupRetentionPeriod=1)


def _postgres_target(endpoint):
    endpoint.client("rds").create_db_instance(
        DBInstanceIdentifier="pg-demo", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="admin", MasterUserPassword="password1", BackupRetentionPeriod=1)


def _protected_replica(endpoint):
    endpoint.client("rds").modify_db_instance(DBInstanceIdentifier="mitosis-demo-replica", DeletionProtection=True,
                                              ApplyImmediately=True)


def _leftover_temp(endpoint):
    endpoint.client("rds").create_db_instance_read_replica(DBInstanceIdentifier="temp-mitosis-demo",
                                                           SourceDBInstanceIdentifier="mitosis-demo")


def _leftover_old(endpoint):
    endpoint.client("rds").create_db_instance(
        DBInstanceIdentifier="old-mitosis-demo", Engine="mysql", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="admin", MasterUserPassword="password1", BackupRetentionPeriod=1)


def _aurora_target(endpoint):
    rds = endpoint.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="aurora-demo", Engine="aurora-mysql", MasterUsername="admin",
                          MasterUserPassword="password1")
    rds.create_db_instance(DBInstanceIdentifier="aurora-demo-1", DBClusterIdentifier="aurora-demo",
                           Engine="aurora-mysql", DBInstanceClass="db.r5.large")


def _no_snapshot(endpoint):
    rds = endpoint.client("rds")
    for snapshot in rds.describe_db_snapshots(DBInstanceIdentifier="mitosis-prod")["DBSnapshots"]:
        rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"])


VALIDATIONS = [
    ("missing-source", None, {"source": "nope"}, "Source instance nope was not found"),
    ("missing-target", None, {"target": "nope"}, "Target instance nope was not found"),
    ("same", None, {"target": "mitosis-prod"}, "same instance"),
    ("target-in-source-graph", None, {"target": "mitosis-prod-replica"}, "part of the source's replication graph"),
    ("source-in-target-graph", None, {"source": "mitosis-demo-replica"}, "part of the source's replication graph"),
    ("name-too-long", _long_target, {"target": "d" * 60}, "too long to clone"),
    ("engines-differ", _postgres_target, {"target": "pg-demo"}, "Engines differ"),
    ("deletion-protection", _protected_replica, {}, "deletion protection enabled"),
    ("snapshot-without-snapshot", _no_snapshot, {"restore_snapshot": True}, "No available snapshot of mitosis-prod"),
    ("aurora", _aurora_target, {"target": "aurora-demo-1"},
     "The target is an Aurora cluster (aurora-demo) but mitosis-prod is a DB instance outside any cluster"),
    ("leftover-temp", _leftover_temp, {}, "does not fit a clone"),
    ("leftover-old", _leftover_old, {}, "does not fit this clone"),
]


@pytest.mark.parametrize("prepare, overrides, message", [v[1:] for v in VALIDATIONS], ids=[v[0] for v in VALIDATIONS])
def test_validation_fails_before_any_change(endpoint, playbook, tmp_path, prepare, overrides, message):
    seed_example(endpoint.session(), endpoint.url)
    if prepare:
        prepare(endpoint)
        endpoint.settle()
    endpoint.clear_calls()
    extra = dict({"source": "mitosis-prod", "target": "mitosis-demo", "out": str(tmp_path / "x.json")}, **overrides)
    result = playbook("tests/functional/playbooks/plan.yml", extra)
    assert result.rc != 0, result
    assert message in result.out, result
    assert "Traceback" not in result.out
    assert mutating(endpoint) == []
    # The clone playbook stops on the same error, before any change.
    clone = playbook("playbooks/clone.yml", dict({"source": "mitosis-prod", "target": "mitosis-demo"}, **overrides))
    assert clone.rc != 0 and message in clone.out, clone
    assert mutating(endpoint) == []
