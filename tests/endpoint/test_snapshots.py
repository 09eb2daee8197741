"""Correction 11: CreateDBSnapshot takes time (the instance `backing-up`, the snapshot `creating`),
needs an available instance, and the snapshot keeps the instance's DbiResourceId after the instance
is deleted."""

import time

import pytest

from devtools.rds_endpoint.testing import aws_error

REFUSED = ("InvalidDBInstanceState", 400)


def snapshot(api, name):
    """The snapshot `name`, found by DBSnapshotIdentifier (as a waiter polls it)."""
    return api.rds.describe_db_snapshots(DBSnapshotIdentifier=name)["DBSnapshots"][0]


def test_a_snapshot_is_creating_while_its_instance_is_backing_up(api):
    api.primary("db")
    api.hold()
    created = api.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="db-snap")
    assert created["DBSnapshot"]["Status"] == "creating"
    assert api.describe("db")["DBInstanceStatus"] == "backing-up"
    assert snapshot(api, "db-snap")["Status"] == "creating"
    api.settle()
    assert snapshot(api, "db-snap")["Status"] == "available"
    assert api.describe("db")["DBInstanceStatus"] == "available"


def test_a_snapshot_goes_through_creating_to_available(api):
    api.primary("db")
    if api.endpoint:
        api.endpoint.set_speed(0.02)  # 10 simulated minutes = 0.2 s
    api.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="db-snap")
    seen = []
    deadline = time.monotonic() + 10
    while (not seen or seen[-1] != "available") and time.monotonic() < deadline:
        status = snapshot(api, "db-snap")["Status"]
        if not seen or seen[-1] != status:
            seen.append(status)
    assert seen == ["creating", "available"]
    assert api.describe("db")["DBInstanceStatus"] == "available"


def test_no_snapshot_of_a_modifying_instance(api):
    api.primary("db")
    api.hold()
    api.rds.modify_db_instance(DBInstanceIdentifier="db", MultiAZ=True, ApplyImmediately=True)
    assert (
        aws_error(api.rds.create_db_snapshot, DBInstanceIdentifier="db", DBSnapshotIdentifier="s")
        == REFUSED
    )
    api.settle()
    api.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="s")
    api.settle()
    assert snapshot(api, "s")["Status"] == "available"


def test_no_second_snapshot_while_the_first_is_taken(api):
    api.primary("db")
    api.hold()
    api.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="first")
    assert (
        aws_error(
            api.rds.create_db_snapshot, DBInstanceIdentifier="db", DBSnapshotIdentifier="second"
        )
        == REFUSED
    )
    api.settle()
    api.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="second")
    api.settle()
    assert [snapshot(api, n)["Status"] for n in ("first", "second")] == ["available", "available"]


def test_no_delete_while_a_snapshot_is_taken(api):
    api.primary("db")
    api.hold()
    api.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="db-snap")
    assert (
        aws_error(api.rds.delete_db_instance, DBInstanceIdentifier="db", SkipFinalSnapshot=True)
        == REFUSED
    )
    assert api.describe("db")["DBInstanceStatus"] == "backing-up"
    api.settle()
    api.rds.delete_db_instance(DBInstanceIdentifier="db", SkipFinalSnapshot=True)
    api.settle()
    assert not api.exists("db")
    assert snapshot(api, "db-snap")["Status"] == "available"


def test_a_snapshot_keeps_its_instances_resource_id_after_the_instance_is_deleted(api):
    instances = {name: api.primary(name) for name in ("a", "b")}
    for name in instances:
        api.rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=name + "-snap")
        api.settle()
    resource_ids = {name: snapshot(api, name + "-snap")["DbiResourceId"] for name in instances}
    assert resource_ids == {name: inst["DbiResourceId"] for name, inst in instances.items()}
    assert resource_ids["a"] != resource_ids["b"]  # each instance's own, not a shared value
    api.rds.delete_db_instance(DBInstanceIdentifier="a", SkipFinalSnapshot=True)
    api.settle()
    assert not api.exists("a")
    kept = snapshot(api, "a-snap")
    assert (kept["Status"], kept["DbiResourceId"], kept["DBInstanceIdentifier"]) == (
        "available",
        resource_ids["a"],
        "a",
    )
    # Still found by the deleted instance's name.
    by_instance = api.rds.describe_db_snapshots(DBInstanceIdentifier="a", SnapshotType="manual")[
        "DBSnapshots"
    ]
    assert [s["DBSnapshotIdentifier"] for s in by_instance] == ["a-snap"]


def test_a_final_snapshot_is_creating_until_the_instance_is_gone(api):
    db = api.primary("db")
    api.hold()
    api.rds.delete_db_instance(DBInstanceIdentifier="db", FinalDBSnapshotIdentifier="db-final")
    assert api.describe("db")["DBInstanceStatus"] == "deleting"
    assert snapshot(api, "db-final")["Status"] == "creating"
    api.settle()
    assert not api.exists("db")
    final = snapshot(api, "db-final")
    assert (final["Status"], final["DbiResourceId"]) == ("available", db["DbiResourceId"])


def test_a_name_used_again_within_the_minute_gets_its_automated_backup(api):
    # moto named an instance's automated snapshot by the minute and refused a create (DBSnapshotAlreadyExists) when
    # the name had one from the same minute: a clone's name taken again after a rename, or after a discard.
    api.primary("db")
    api.rename("db", "db-aside")
    created = api.primary("db")
    assert created["DBInstanceStatus"] == "available"
    automated = api.rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
    assert len({s["DBSnapshotIdentifier"] for s in automated}) == len(automated) >= 2


# The rest uses the endpoint's controls (advance, durations, statuses, faults), or checks what moto already does.


@pytest.fixture
def held(endpoint_api):
    endpoint_api.hold()
    return endpoint_api


def test_a_snapshot_lasts_ten_minutes(held):
    held.primary("db")
    held.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="db-snap")
    held.endpoint.advance(9.9)
    assert (held.describe("db")["DBInstanceStatus"], snapshot(held, "db-snap")["Status"]) == (
        "backing-up",
        "creating",
    )
    held.endpoint.advance(0.2)
    assert (held.describe("db")["DBInstanceStatus"], snapshot(held, "db-snap")["Status"]) == (
        "available",
        "available",
    )


def test_one_instances_snapshot_can_be_made_slower(held):
    held.primary("slow")
    held.primary("fast")
    held.endpoint.set_duration("snapshot", 60, identifier="slow")
    for name in ("slow", "fast"):
        held.rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=name + "-snap")
    held.endpoint.advance(10.1)
    assert snapshot(held, "fast-snap")["Status"] == "available"
    assert snapshot(held, "slow-snap")["Status"] == "creating"
    assert held.describe("slow")["DBInstanceStatus"] == "backing-up"
    held.endpoint.advance(50)
    assert snapshot(held, "slow-snap")["Status"] == "available"
    assert {"kind": "snapshot", "identifier": "slow", "minutes": 60.0} in held.endpoint.durations()


def test_a_taken_snapshot_identifier_is_refused(held):
    # moto already refuses it; the endpoint keeps that, for a snapshot still `creating` too.
    held.primary("a")
    held.primary("b")
    held.rds.create_db_snapshot(DBInstanceIdentifier="a", DBSnapshotIdentifier="taken")
    taken = ("DBSnapshotAlreadyExists", 400)
    assert snapshot(held, "taken")["Status"] == "creating"
    assert (
        aws_error(
            held.rds.create_db_snapshot, DBInstanceIdentifier="b", DBSnapshotIdentifier="taken"
        )
        == taken
    )
    assert (
        aws_error(
            held.rds.create_db_snapshot, DBInstanceIdentifier="b", DBSnapshotIdentifier="TAKEN"
        )
        == taken
    )
    assert held.describe("b")["DBInstanceStatus"] == "available"  # the refused call started nothing
    held.settle()
    assert (
        aws_error(
            held.rds.create_db_snapshot, DBInstanceIdentifier="b", DBSnapshotIdentifier="taken"
        )
        == taken
    )
    # A delete whose final snapshot name is taken deletes nothing.
    assert (
        aws_error(
            held.rds.delete_db_instance, DBInstanceIdentifier="b", FinalDBSnapshotIdentifier="taken"
        )
        == taken
    )
    assert held.describe("b")["DBInstanceStatus"] == "available"
    assert snapshot(held, "taken")["DBInstanceIdentifier"] == "a"


def test_no_final_snapshot_of_a_failed_instance(held):
    held.primary("db")
    held.endpoint.set_instance_status("db", "failed")
    assert (
        aws_error(
            held.rds.delete_db_instance, DBInstanceIdentifier="db", FinalDBSnapshotIdentifier="f"
        )
        == REFUSED
    )
    assert held.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    # Without a final snapshot, a failed instance can be deleted (correction 5).
    held.rds.delete_db_instance(DBInstanceIdentifier="db", SkipFinalSnapshot=True)
    held.settle()
    assert not held.exists("db")


def test_an_abandoned_snapshot_fails(held):
    held.primary("db")
    held.endpoint.add_fault("CreateDBSnapshot", identifier="db", status="failed")
    held.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="db-snap")
    assert held.describe("db")["DBInstanceStatus"] == "failed"
    assert snapshot(held, "db-snap")["Status"] == "failed"


def test_speed_zero_completes_a_snapshot_at_once(endpoint_api):
    endpoint_api.primary("db")
    created = endpoint_api.rds.create_db_snapshot(
        DBInstanceIdentifier="db", DBSnapshotIdentifier="db-snap"
    )
    assert created["DBSnapshot"]["Status"] == "creating"
    assert snapshot(endpoint_api, "db-snap")["Status"] == "available"
    assert endpoint_api.describe("db")["DBInstanceStatus"] == "available"
