"""Correction 5: mutating calls move instances through AWS statuses over (simulated) time."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from devtools.rds_endpoint.testing import ControlError, aws_error


def test_a_replica_is_creating_before_it_is_available(api):
    api.primary("src")
    if api.endpoint:
        api.endpoint.set_speed(0.02)  # 15 simulated minutes = 0.3 s
    api.rds.create_db_instance_read_replica(
        DBInstanceIdentifier="rep", SourceDBInstanceIdentifier="src"
    )
    assert api.statuses("rep") == ["creating", "available"]


def test_modified_values_stay_pending_until_the_modify_completes(api):
    api.primary("db", DBInstanceClass="db.t3.micro")
    api.hold()
    api.rds.modify_db_instance(
        DBInstanceIdentifier="db", DBInstanceClass="db.m5.large", ApplyImmediately=True
    )
    running = api.describe("db")
    assert running["DBInstanceStatus"] == "modifying"
    assert running["DBInstanceClass"] == "db.t3.micro"
    assert running["PendingModifiedValues"] == {"DBInstanceClass": "db.m5.large"}
    api.settle()
    done = api.describe("db")
    assert (done["DBInstanceStatus"], done["DBInstanceClass"]) == ("available", "db.m5.large")
    assert done["PendingModifiedValues"] == {}


def test_busy_instances_refuse_mutating_calls(api):
    api.primary("src")
    api.hold()
    api.rds.create_db_instance_read_replica(
        DBInstanceIdentifier="rep", SourceDBInstanceIdentifier="src"
    )
    api.rds.modify_db_instance(
        DBInstanceIdentifier="src", PreferredBackupWindow="01:00-01:30", ApplyImmediately=True
    )
    refused = ("InvalidDBInstanceState", 400)
    assert aws_error(api.rds.promote_read_replica, DBInstanceIdentifier="rep") == refused
    assert (
        aws_error(
            api.rds.modify_db_instance,
            DBInstanceIdentifier="rep",
            NewDBInstanceIdentifier="rep2",
            ApplyImmediately=True,
        )
        == refused
    )
    assert (
        aws_error(
            api.rds.create_db_instance_read_replica,
            DBInstanceIdentifier="rep3",
            SourceDBInstanceIdentifier="src",
        )
        == refused
    )
    assert aws_error(api.rds.reboot_db_instance, DBInstanceIdentifier="src") == refused


def test_a_renaming_instance_keeps_its_old_name(api):
    api.primary("db")
    api.hold()
    api.rds.modify_db_instance(
        DBInstanceIdentifier="db", NewDBInstanceIdentifier="old-db", ApplyImmediately=True
    )
    assert api.describe("db")["DBInstanceStatus"] == "renaming"
    assert api.describe("db")["PendingModifiedValues"] == {"DBInstanceIdentifier": "old-db"}
    assert not api.exists("old-db")
    # ... but the new name is already taken.
    taken = aws_error(
        api.rds.create_db_instance,
        DBInstanceIdentifier="old-db",
        DBInstanceClass="db.t3.micro",
        Engine="mysql",
        AllocatedStorage=20,
    )
    assert taken == ("DBInstanceAlreadyExists", 400)


def test_a_deleted_instance_is_deleting_then_gone(api):
    api.primary("db")
    api.hold()
    api.rds.delete_db_instance(DBInstanceIdentifier="db", SkipFinalSnapshot=True)
    assert api.describe("db")["DBInstanceStatus"] == "deleting"
    api.settle()
    assert not api.exists("db")


def test_a_restored_instance_starts_creating_on_its_own(api):
    api.primary("src", DeletionProtection=True)
    api.replica("src-replica", "src")
    api.rds.create_db_snapshot(DBInstanceIdentifier="src", DBSnapshotIdentifier="snap")
    api.hold()
    api.rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="restored", DBSnapshotIdentifier="snap"
    )
    restored = api.describe("restored")
    assert restored["DBInstanceStatus"] == "creating"
    assert restored["DeletionProtection"] is False
    assert restored["ReadReplicaDBInstanceIdentifiers"] == []


# The rest uses the endpoint's control API (advance, settle, speed), which plain moto lacks.


@pytest.fixture
def held(endpoint_api):
    endpoint_api.hold()
    return endpoint_api


def test_rename_status_sequence(held):
    held.primary("db")
    held.rds.modify_db_instance(
        DBInstanceIdentifier="db", NewDBInstanceIdentifier="old-db", ApplyImmediately=True
    )
    assert _observe(held, "db", "old-db") == ("renaming", None)
    held.endpoint.advance(6.5)
    assert _observe(held, "db", "old-db") == (None, "available")
    # This `available` is not the end: the reboot is still to come.
    busy = aws_error(
        held.rds.modify_db_instance,
        DBInstanceIdentifier="old-db",
        BackupRetentionPeriod=2,
        ApplyImmediately=True,
    )
    assert busy == ("InvalidDBInstanceState", 400)
    held.endpoint.advance(1)
    assert _observe(held, "db", "old-db") == (None, "rebooting")
    held.endpoint.advance(3)
    assert _observe(held, "db", "old-db") == (None, "available")


def test_enabling_backups_goes_through_backing_up(held):
    held.primary("db", BackupRetentionPeriod=0)
    held.rds.modify_db_instance(
        DBInstanceIdentifier="db", BackupRetentionPeriod=1, ApplyImmediately=True
    )
    db = held.describe("db")
    assert db["DBInstanceStatus"] == "modifying"
    assert db["PendingModifiedValues"] == {"BackupRetentionPeriod": 1}
    held.endpoint.advance(2.5)
    assert held.describe("db")["DBInstanceStatus"] == "backing-up"
    held.endpoint.advance(3)
    db = held.describe("db")
    assert (db["DBInstanceStatus"], db["BackupRetentionPeriod"]) == ("available", 1)


# (operation, typical minutes, status while it runs, the call that starts it)
DURATIONS = [
    (
        "create",
        10,
        "creating",
        "create_db_instance",
        {
            "DBInstanceIdentifier": "db",
            "DBInstanceClass": "db.t3.micro",
            "Engine": "mysql",
            "AllocatedStorage": 20,
        },
    ),
    (
        "create-replica",
        15,
        "creating",
        "create_db_instance_read_replica",
        {"DBInstanceIdentifier": "db", "SourceDBInstanceIdentifier": "src"},
    ),
    (
        "restore",
        20,
        "creating",
        "restore_db_instance_from_db_snapshot",
        {"DBInstanceIdentifier": "db", "DBSnapshotIdentifier": "snap"},
    ),
    ("promote", 5, "modifying", "promote_read_replica", {"DBInstanceIdentifier": "rep"}),
    (
        "modify",
        2,
        "modifying",
        "modify_db_instance",
        {"DBInstanceIdentifier": "src", "MultiAZ": True, "ApplyImmediately": True},
    ),
    ("reboot", 2, "rebooting", "reboot_db_instance", {"DBInstanceIdentifier": "src"}),
    (
        "delete",
        5,
        "deleting",
        "delete_db_instance",
        {"DBInstanceIdentifier": "rep", "SkipFinalSnapshot": True},
    ),
]


@pytest.mark.parametrize(
    ("minutes", "status", "method", "params"),
    [row[1:] for row in DURATIONS],
    ids=[row[0] for row in DURATIONS],
)
def test_operation_durations(held, minutes, status, method, params):
    held.primary("src")
    held.replica("rep", "src")
    held.rds.create_db_snapshot(DBInstanceIdentifier="src", DBSnapshotIdentifier="snap")
    held.settle()  # src is backing-up until its snapshot is taken
    identifier = getattr(held.rds, method)(**params)["DBInstance"]["DBInstanceIdentifier"]
    held.endpoint.advance(minutes - 0.1)
    assert held.describe(identifier)["DBInstanceStatus"] == status
    held.endpoint.advance(0.2)
    if status == "deleting":
        assert not held.exists(identifier)
    else:
        assert held.describe(identifier)["DBInstanceStatus"] == "available"


def test_speed_zero_completes_every_operation_at_once(endpoint_api):
    endpoint_api.primary("src")
    created = endpoint_api.rds.create_db_instance_read_replica(
        DBInstanceIdentifier="rep", SourceDBInstanceIdentifier="src"
    )
    assert created["DBInstance"]["DBInstanceStatus"] == "creating"
    assert endpoint_api.describe("rep")["DBInstanceStatus"] == "available"


def test_setting_speed_zero_completes_running_operations(held):
    held.primary("src")
    held.rds.create_db_instance_read_replica(
        DBInstanceIdentifier="rep", SourceDBInstanceIdentifier="src"
    )
    assert held.describe("rep")["DBInstanceStatus"] == "creating"
    held.endpoint.set_speed(0)
    assert held.describe("rep")["DBInstanceStatus"] == "available"


def test_changes_without_apply_immediately_wait_for_the_window(endpoint_api):
    api = endpoint_api
    api.primary("db", DBInstanceClass="db.t3.micro")
    api.rds.modify_db_instance(DBInstanceIdentifier="db", DBInstanceClass="db.m5.large")
    db = api.describe("db")
    assert (db["DBInstanceStatus"], db["DBInstanceClass"]) == ("available", "db.t3.micro")
    assert db["PendingModifiedValues"] == {"DBInstanceClass": "db.m5.large"}
    # An immediate modify applies what was waiting, as on AWS.
    api.rds.modify_db_instance(
        DBInstanceIdentifier="db", BackupRetentionPeriod=3, ApplyImmediately=True
    )
    db = api.describe("db")
    assert (db["DBInstanceClass"], db["BackupRetentionPeriod"]) == ("db.m5.large", 3)
    assert db["PendingModifiedValues"] == {}


# Duration overrides: one instance's operation slower or faster than the table.


def test_a_slow_rename_does_not_hold_back_another(endpoint_api):
    api = endpoint_api
    api.primary("slow")
    api.primary("quick")
    api.endpoint.set_speed(0.02)  # the table's rename (10 minutes) = 0.2 s
    api.endpoint.set_duration("rename", 100, identifier="slow")  # 2 s, keyed by the old name
    for name in ("slow", "quick"):
        api.rds.modify_db_instance(
            DBInstanceIdentifier=name, NewDBInstanceIdentifier=f"{name}-new", ApplyImmediately=True
        )
    # A client that reboots each instance as soon as its rename is over. The brief `available`
    # in the middle of a rename refuses the reboot, so retry until one is accepted.
    waiting = {"slow-new", "quick-new"}
    deadline = time.monotonic() + 10
    while waiting and time.monotonic() < deadline:
        for name in sorted(waiting):
            if _observe(api, name, name)[0] != "available":
                continue
            try:
                api.rds.reboot_db_instance(DBInstanceIdentifier=name)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "InvalidDBInstanceState"
                continue
            waiting.discard(name)
        time.sleep(0.02)
    assert not waiting
    reboots = api.endpoint.calls("RebootDBInstance")
    assert [call["identifier"] for call in reboots if call["status"] == 200] == [
        "quick-new",
        "slow-new",
    ]
    # The quick one was done about 1.8 s before the slow one.
    accepted = {call["identifier"]: call["time"] for call in reboots if call["status"] == 200}
    assert accepted["slow-new"] - accepted["quick-new"] > 1


def test_a_kind_wide_duration_keeps_the_phase_shares(held):
    held.endpoint.set_duration("rename", 20)
    held.primary("db")
    held.rds.modify_db_instance(
        DBInstanceIdentifier="db", NewDBInstanceIdentifier="old-db", ApplyImmediately=True
    )
    held.endpoint.advance(11.9)  # renaming: 60% of 20 minutes
    assert _observe(held, "db", "old-db") == ("renaming", None)
    held.endpoint.advance(0.2)
    assert _observe(held, "db", "old-db") == (None, "available")
    held.endpoint.advance(2)  # rebooting from 70%
    assert _observe(held, "db", "old-db") == (None, "rebooting")
    held.endpoint.advance(5.7)  # 19.8 minutes
    assert _observe(held, "db", "old-db") == (None, "rebooting")
    held.endpoint.advance(0.3)
    assert _observe(held, "db", "old-db") == (None, "available")
    assert held.endpoint.durations() == [{"kind": "rename", "identifier": None, "minutes": 20.0}]


def test_an_instance_duration_wins_over_the_kind_wide_one(held):
    held.primary("a")
    held.primary("b")
    held.primary("c")
    held.endpoint.set_duration("modify", 20)
    held.endpoint.set_duration("modify", 4, identifier="B")  # identifiers are case-insensitive
    for name in ("a", "b", "c"):
        held.rds.modify_db_instance(DBInstanceIdentifier=name, MultiAZ=True, ApplyImmediately=True)
    held.endpoint.advance(3.9)
    assert [held.describe(name)["DBInstanceStatus"] for name in "abc"] == ["modifying"] * 3
    held.endpoint.advance(0.2)
    assert [held.describe(name)["DBInstanceStatus"] for name in "abc"] == [
        "modifying",
        "available",
        "modifying",
    ]
    held.endpoint.advance(16)
    assert [held.describe(name)["DBInstanceStatus"] for name in "abc"] == ["available"] * 3
    # Other kinds keep the table's duration.
    held.rds.reboot_db_instance(DBInstanceIdentifier="b")
    held.endpoint.advance(2.1)
    assert held.describe("b")["DBInstanceStatus"] == "available"


def test_reset_clears_the_durations(held):
    held.endpoint.set_duration("modify", 50)
    held.endpoint.set_duration("reboot", 0.5, identifier="db")
    assert len(held.endpoint.durations()) == 2
    held.endpoint.reset()
    assert held.endpoint.durations() == []
    held.primary("db")
    held.rds.modify_db_instance(DBInstanceIdentifier="db", MultiAZ=True, ApplyImmediately=True)
    held.endpoint.advance(2.1)  # the table's 2 minutes
    assert held.describe("db")["DBInstanceStatus"] == "available"
    held.endpoint.set_duration("delete", 1)
    held.endpoint.clear_durations()
    assert held.endpoint.durations() == []


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "resize", "minutes": 5},
        {"kind": "rename", "minutes": -1},
        {"kind": "rename", "minutes": "soon"},
        {"kind": "rename", "minutes": 5, "identifier": 7},
        {"minutes": 5},
    ],
    ids=["unknown-kind", "negative", "not-a-number", "identifier-not-a-string", "no-kind"],
)
def test_a_malformed_duration_is_refused(endpoint, payload):
    with pytest.raises(ControlError) as refused:
        endpoint.control("POST", "durations", payload)
    assert refused.value.status == 400
    assert endpoint.durations() == []


def test_an_unknown_kind_names_the_known_ones(endpoint):
    with pytest.raises(ControlError) as refused:
        endpoint.set_duration("resize", 5)
    error = json.loads(refused.value.payload)["error"]
    assert "unknown operation kind 'resize'" in error
    assert "rename" in error


def _observe(api, old, new):
    """The status under each of two names (None: no such instance), from one filtered describe."""
    found = {
        db["DBInstanceIdentifier"]: db["DBInstanceStatus"]
        for db in api.rds.describe_db_instances(
            Filters=[{"Name": "db-instance-id", "Values": [old, new]}]
        )["DBInstances"]
    }
    return found.get(old), found.get(new)


def test_a_name_can_be_taken_once_its_holder_is_renamed_before_the_holders_reboot(held):
    # Rename pairs lean on this: temp-X takes the name X while old-X is still rebooting.
    held.primary("db")
    held.primary("temp-db")
    held.rds.modify_db_instance(DBInstanceIdentifier="db", NewDBInstanceIdentifier="old-db", ApplyImmediately=True)
    still_held = aws_error(held.rds.modify_db_instance, DBInstanceIdentifier="temp-db",
                           NewDBInstanceIdentifier="db", ApplyImmediately=True)
    assert still_held == ("DBInstanceAlreadyExists", 400)
    held.endpoint.advance(6.5)
    held.rds.modify_db_instance(DBInstanceIdentifier="temp-db", NewDBInstanceIdentifier="db", ApplyImmediately=True)
    assert _observe(held, "temp-db", "db") == ("renaming", None)
    held.endpoint.advance(10)
    assert _observe(held, "old-db", "db") == ("available", "available")
