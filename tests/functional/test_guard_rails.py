"""Guard rails of issue 10 end to end: a protected target graph is refused before any change, and
final_snapshot keeps the retired primary in a snapshot before its delete, found again by a resumed run
(stopped by a fault between the snapshot and the delete, or killed while the snapshot is being taken)."""

import json

from .helpers import clone_vars, instances, kill_when, mutating
from .test_clone import assert_refreshed, assert_safe_history, restart_command, run_clone, seeded

SPEED = 0.01  # real seconds per simulated minute: a snapshot (10 minutes) takes 0.1 s


def tag(endpoint, name, key, value):
    """Tag an instance, then forget the call: the runs under test must make no mutating call."""
    rds = endpoint.client("rds")
    arn = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": key, "Value": value}])
    endpoint.clear_calls()


def final_snapshots(endpoint):
    """Every manual snapshot, by name."""
    pages = endpoint.client("rds").get_paginator("describe_db_snapshots").paginate(SnapshotType="manual")
    return {s["DBSnapshotIdentifier"]: s for page in pages for s in page["DBSnapshots"]}


def final_name(before):
    return "mitosis-demo-final-" + before["resource_ids"]["mitosis-demo"].lower()[len("db-"):]


def accepted(endpoint, operation, identifier=None):
    return [c for c in endpoint.calls(operation) if not c["error"] and identifier in (None, c["identifier"])]


def assert_kept_in_one_final_snapshot(endpoint, before, *outputs):
    """One CreateDBSnapshot of old-mitosis-demo, before its delete; the snapshot is available with the retired
    instance's DbiResourceId; no snapshot of the replica; the summary names it."""
    name = final_name(before)
    snapshots = final_snapshots(endpoint)
    mine = [n for n in snapshots if n.startswith("mitosis-demo")]
    assert mine == [name], sorted(snapshots)
    kept = snapshots[name]
    assert kept["Status"] == "available"
    assert kept["DbiResourceId"] == before["resource_ids"]["mitosis-demo"]
    assert kept["DBInstanceIdentifier"] == "old-mitosis-demo"
    creates = endpoint.calls("CreateDBSnapshot")
    assert [(c["identifier"], c["params"]["DBSnapshotIdentifier"]) for c in creates] == [("old-mitosis-demo", name)]
    assert not creates[0]["error"]
    deletes = accepted(endpoint, "DeleteDBInstance", "old-mitosis-demo")
    assert len(deletes) == 1 and deletes[0]["seq"] > creates[0]["seq"]
    # Replicas cannot have a final snapshot, and the deletes take none of their own.
    for call in endpoint.calls("DeleteDBInstance"):
        assert call["params"].get("SkipFinalSnapshot") is True and "FinalDBSnapshotIdentifier" not in call["params"]
    assert "old-mitosis-demo-replica" not in [s["DBInstanceIdentifier"] for s in snapshots.values()]
    line = "old-mitosis-demo was kept in the final snapshot {0} before it was deleted".format(name)
    assert line in outputs[-1]
    return name


# --- protected targets ------------------------------------------------------------------------------------------


def test_a_protected_target_is_refused_before_any_change(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    tag(endpoint, "mitosis-demo-replica", "mitosis:protected", "true")
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log)
    assert result.rc != 0, result
    assert mutating(endpoint) == []
    assert "mitosis-demo-replica" in result.out and "mitosis:protected=true" in result.out, result
    assert not log.exists()
    assert {n: i["DbiResourceId"] for n, i in instances(endpoint).items() if n in before["resource_ids"]} == \
        before["resource_ids"]


def test_the_protected_tag_is_configurable(endpoint, playbook, tmp_path):
    seeded(endpoint)
    tag(endpoint, "mitosis-demo", "env", "demo")
    extra = {"protected_tag_key": "env", "protected_tag_value": "demo"}
    refused = run_clone(playbook, tmp_path / "restarts.jsonl", **extra)
    assert refused.rc != 0, refused
    assert mutating(endpoint) == []
    assert "mitosis-demo" in refused.out and "env=demo" in refused.out, refused
    # Another value of the key protects nothing: the plan goes ahead (shown in check mode).
    check = run_clone(playbook, tmp_path / "restarts.jsonl", args=["--check"],
                      protected_tag_key="env", protected_tag_value="production")
    assert check.rc == 0, check
    assert mutating(endpoint) == []
    assert "DeleteDBInstance old-mitosis-demo: would run" in check.out, check


# --- final_snapshot ---------------------------------------------------------------------------------------------


def test_final_snapshot_keeps_the_old_primary_before_its_delete(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    endpoint.set_speed(SPEED)
    result = run_clone(playbook, tmp_path / "restarts.jsonl", final_snapshot=True)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    assert_kept_in_one_final_snapshot(endpoint, before, result.out)
    # The delete waited for the snapshot: the endpoint never had to refuse it as busy.
    assert not [c for c in endpoint.calls("DeleteDBInstance") if c["error"]]


def test_a_run_stopped_between_the_snapshot_and_the_delete_resumes_without_a_second_snapshot(
        endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    endpoint.set_speed(SPEED)
    endpoint.add_fault("DeleteDBInstance", code="InvalidParameterValue", identifier="old-mitosis-demo",
                       message="injected failure after the final snapshot")
    log = tmp_path / "restarts.jsonl"
    stopped = run_clone(playbook, log, final_snapshot=True)
    assert stopped.rc != 0, stopped
    assert "injected failure after the final snapshot" in stopped.out, stopped
    assert "old-mitosis-demo" in instances(endpoint)
    assert final_snapshots(endpoint)[final_name(before)]["Status"] == "available"
    resumed = run_clone(playbook, log, final_snapshot=True)
    assert resumed.rc == 0, resumed
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    assert len(endpoint.calls("CreateDBSnapshot")) == 1
    assert_kept_in_one_final_snapshot(endpoint, before, stopped.out, resumed.out)


def test_a_run_killed_while_the_snapshot_is_creating_resumes_without_a_second_snapshot(
        endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    speed = 0.02
    endpoint.set_speed(speed)
    # The snapshot lasts 4 s: long enough for the kill to land while it is `creating`.
    endpoint.set_duration("snapshot", 200, identifier="old-mitosis-demo")
    log = tmp_path / "restarts.jsonl"
    kill_when(endpoint, "playbooks/clone.yml", clone_vars(restart_command=restart_command(log), final_snapshot=True),
              tmp_path / "extra.json", lambda ep: accepted(ep, "CreateDBSnapshot"))
    name = final_name(before)
    assert final_snapshots(endpoint)[name]["Status"] == "creating"
    assert instances(endpoint)["old-mitosis-demo"]["DBInstanceStatus"] == "backing-up"
    resumed = run_clone(playbook, log, final_snapshot=True)
    assert resumed.rc == 0, resumed
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    assert len(endpoint.calls("CreateDBSnapshot")) == 1
    assert_kept_in_one_final_snapshot(endpoint, before, resumed.out)
    # The resumed run waited for the snapshot instead of having its delete refused as busy.
    assert not [c for c in endpoint.calls("DeleteDBInstance") if c["error"]]
