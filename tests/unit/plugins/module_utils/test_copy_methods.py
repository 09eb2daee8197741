# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the new primary gets the source's data: copy_method (auto, replica, point_in_time, snapshot),
restore_snapshot and snapshot_identifier, and the point-in-time restore's parameters."""

from __future__ import annotations

import json

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.plans import flight_plan

from .rds_state import Account, instance
from .test_planner import managed_account, plan_of, seed_account, snapshot_account

MANAGED_SECRET = {"SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-prod",
                  "SecretStatus": "active", "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/prod"}
PROD_SNAPSHOTS = [
    {"DBSnapshotIdentifier": "rds:prod-old", "DBInstanceIdentifier": "prod", "Status": "available",
     "SnapshotCreateTime": "2026-11-01T00:00:00"},
    {"DBSnapshotIdentifier": "rds:prod-new", "DBInstanceIdentifier": "prod", "Status": "available",
     "SnapshotCreateTime": "2026-11-20T00:00:00"},
]


def refused(account, source, target, **options):
    with pytest.raises(MitosisError) as info:
        plan_of(account, source, target, **options)
    assert info.value.operation == "plan"
    return info.value


def first_call(plan):
    return plan.steps[0].action


# --- auto ---------------------------------------------------------------------------------


def test_auto_picks_a_replica_when_source_and_target_share_a_vpc():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    assert plan.mode == "replica"
    assert "share a VPC" in plan.why
    assert first_call(plan) == "CreateDBInstanceReadReplica"
    assert "PromoteReadReplica" in [s.action for s in plan.steps]
    assert "Copy method: replica, because source and target share a VPC" in flight_plan(plan)


def test_auto_picks_point_in_time_for_a_source_whose_password_secrets_manager_manages():
    plan = plan_of(managed_account(), "prod", "demo")
    assert plan.mode == "point_in_time"
    assert "prod manages its master password in Secrets Manager" in plan.why
    assert first_call(plan) == "RestoreDBInstanceToPointInTime"
    # No step makes a read replica of the managed source itself.
    assert not [s for s in plan.steps if s.params.get("SourceDBInstanceIdentifier") == "prod" and
                s.action == "CreateDBInstanceReadReplica"]
    assert ("Copy method: point_in_time, because prod manages its master password in Secrets Manager"
            in flight_plan(plan))


def test_auto_picks_point_in_time_when_the_vpcs_differ():
    plan = plan_of(snapshot_account(), "prod", "demo")
    assert plan.mode == "point_in_time"
    assert "different VPCs" in plan.why and "vpc-prod" in plan.why and "vpc-demo" in plan.why
    assert first_call(plan) == "RestoreDBInstanceToPointInTime"
    assert "Copy method: point_in_time, because source and target are in different VPCs (vpc-prod, vpc-demo)." \
        in flight_plan(plan)


def test_a_sql_server_source_with_a_managed_password_still_gets_a_replica():
    # RDS makes read replicas of SQL Server sources whose password it manages.
    account = Account([instance("prod", engine="sqlserver-se", MasterUserSecret=MANAGED_SECRET),
                       instance("demo", engine="sqlserver-se")])
    assert plan_of(account, "prod", "demo").mode == "replica"


def test_auto_picks_a_snapshot_when_the_vpcs_differ_and_the_source_has_no_backups():
    account = snapshot_account()
    account.instances["prod"]["BackupRetentionPeriod"] = 0
    plan = plan_of(account, "prod", "demo")
    assert plan.mode == "snapshot"
    assert "the VPCs differ" in plan.why and "prod has no automated backups" in plan.why
    assert first_call(plan) == "RestoreDBInstanceFromDBSnapshot"
    assert plan.steps[0].params["DBSnapshotIdentifier"] == "rds:prod-new"
    assert "Copy method: snapshot, because the VPCs differ, and prod has no automated backups" in flight_plan(plan)


def test_auto_picks_a_snapshot_for_a_managed_source_without_backups():
    account = managed_account()
    account.instances["prod"]["BackupRetentionPeriod"] = 0
    account.snapshots = list(PROD_SNAPSHOTS)
    plan = plan_of(account, "prod", "demo")
    assert plan.mode == "snapshot"
    assert "manages its master password in Secrets Manager" in plan.why and "no automated backups" in plan.why
    assert plan.steps[0].params["DBSnapshotIdentifier"] == "rds:prod-new"


# --- copy_method=replica ------------------------------------------------------------------


def test_replica_of_a_managed_source_is_refused_before_anything_and_points_to_point_in_time():
    error = refused(managed_account(), "prod", "demo", copy_method="replica")
    assert "Secrets Manager" in error.message and "prod" in error.message
    assert "copy_method=point_in_time" in error.hint
    assert error.identifier == "prod"


def test_replica_across_vpcs_is_refused():
    error = refused(snapshot_account(), "prod", "demo", copy_method="replica")
    assert "vpc-prod" in error.message and "vpc-demo" in error.message
    assert "point_in_time" in error.hint


def test_replica_asked_for_in_one_vpc_is_used():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo", copy_method="replica")
    assert plan.mode == "replica" and plan.why == "copy_method=replica"
    assert first_call(plan) == "CreateDBInstanceReadReplica"


# --- snapshot options that contradict the method ----------------------------------------


@pytest.mark.parametrize("method", ["replica", "point_in_time"])
@pytest.mark.parametrize("flag", [{"restore_snapshot": True}, {"snapshot_identifier": "rds:prod-old"}])
def test_snapshot_options_contradict_replica_and_point_in_time(method, flag):
    error = refused(snapshot_account(), "prod", "demo", copy_method=method, **flag)
    assert "contradicts copy_method=" + method in error.message
    assert list(flag)[0] in error.message


@pytest.mark.parametrize("method", ["auto", "snapshot"])
def test_a_snapshot_identifier_makes_auto_and_snapshot_restore_that_snapshot(method):
    # Same VPC, so auto alone would make a replica: the named snapshot wins.
    account = seed_account()
    account.snapshots = [
        {"DBSnapshotIdentifier": "before-upgrade", "DBInstanceIdentifier": "mitosis-prod", "Status": "available",
         "SnapshotCreateTime": "2026-10-01T00:00:00"},
        {"DBSnapshotIdentifier": "rds:mitosis-prod-newest", "DBInstanceIdentifier": "mitosis-prod",
         "Status": "available", "SnapshotCreateTime": "2026-11-20T00:00:00"},
    ]
    plan = plan_of(account, "mitosis-prod", "mitosis-demo", copy_method=method, snapshot_identifier="before-upgrade")
    assert plan.mode == "snapshot"
    assert plan.steps[0].action == "RestoreDBInstanceFromDBSnapshot"
    assert plan.steps[0].params["DBSnapshotIdentifier"] == "before-upgrade"
    assert plan.snapshot["DBSnapshotIdentifier"] == "before-upgrade"


def test_a_missing_named_snapshot_is_refused_with_its_name():
    error = refused(snapshot_account(), "prod", "demo", snapshot_identifier="prod-gone")
    assert "prod-gone" in error.message and "not found" in error.message


def test_a_named_snapshot_that_is_not_available_is_refused_with_its_name_and_status():
    error = refused(snapshot_account(), "prod", "demo", snapshot_identifier="rds:prod-creating")
    assert "rds:prod-creating" in error.message and "creating" in error.message


def test_an_unknown_copy_method_is_refused():
    error = refused(seed_account(), "mitosis-prod", "mitosis-demo", copy_method="copy")
    assert "copy" in error.message and "point_in_time" in error.message


def test_an_aurora_clone_of_a_db_instance_is_refused():
    error = refused(seed_account(), "mitosis-prod", "mitosis-demo", copy_method="clone")
    assert "Aurora clusters" in error.message and "mitosis-prod is a DB instance" in error.message


# --- point in time ------------------------------------------------------------------------


def point_in_time_account():
    return Account([
        instance("prod", BackupRetentionPeriod=3, KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/prod",
                 DBSubnetGroup={"DBSubnetGroupName": "prod-net", "VpcId": "vpc-prod"}),
        instance("demo", DBInstanceClass="db.t3.small", StorageType="gp3", Endpoint={"Address": "x", "Port": 3307},
                 VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-demo", "Status": "active"}],
                 KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/demo", StorageEncrypted=True,
                 DeletionProtection=False, MonitoringInterval=60,
                 MonitoringRoleArn="arn:aws:iam::123456789012:role/rds-monitoring",
                 PreferredMaintenanceWindow="tue:07:00-tue:08:00", PreferredBackupWindow="05:00-06:00",
                 BackupRetentionPeriod=7,
                 DBParameterGroups=[{"DBParameterGroupName": "demo-params", "ParameterApplyStatus": "in-sync"}],
                 DBSubnetGroup={"DBSubnetGroupName": "demo-net", "VpcId": "vpc-demo"},
                 _tags=[{"Key": "env", "Value": "demo"}]),
        instance("demo-r", parent="demo", BackupRetentionPeriod=0,
                 DBSubnetGroup={"DBSubnetGroupName": "demo-net", "VpcId": "vpc-demo"}),
    ])


def test_point_in_time_restores_the_source_latest_time_with_the_target_attributes():
    plan = plan_of(point_in_time_account(), "prod", "demo")
    restore = plan.step("restore:demo")
    assert plan.steps[0] is restore
    assert restore.action == "RestoreDBInstanceToPointInTime"
    assert restore.identifier == "temp-demo"
    assert restore.depends_on == []
    assert restore.params == {
        "SourceDBInstanceIdentifier": "prod",
        "UseLatestRestorableTime": True,
        "DBSubnetGroupName": "demo-net",  # the target's, not the source's prod-net
        "DBInstanceClass": "db.t3.small",
        "StorageType": "gp3",
        "Port": 3307,
        "VpcSecurityGroupIds": ["sg-demo"],
        "Tags": [{"Key": "env", "Value": "demo"}],
    }


def test_point_in_time_never_sends_a_key_deletion_protection_or_snapshot():
    plan = plan_of(point_in_time_account(), "prod", "demo")
    text = json.dumps(plan.to_dict())
    for key in ("KmsKeyId", "DeletionProtection", "DBSnapshotIdentifier", "StorageEncrypted"):
        assert key not in text


def test_point_in_time_is_followed_by_a_modify_that_enables_backups_and_the_deferred_attributes():
    plan = plan_of(point_in_time_account(), "prod", "demo")
    modify = plan.step("modify:demo")
    assert modify.depends_on == ["restore:demo"] and modify.identifier == "temp-demo"
    assert modify.params == {
        "ApplyImmediately": True,
        "BackupRetentionPeriod": 7,
        "PreferredMaintenanceWindow": "tue:07:00-tue:08:00",
        "PreferredBackupWindow": "05:00-06:00",
        "DBParameterGroupName": "demo-params",
        "MonitoringInterval": 60,
        "MonitoringRoleArn": "arn:aws:iam::123456789012:role/rds-monitoring",
    }
    # The restored primary is standalone: no promotion; its replicas wait for the backups the modify enables.
    assert "PromoteReadReplica" not in [s.action for s in plan.steps]
    create = plan.step("create:demo-r")
    assert create.params["SourceDBInstanceIdentifier"] == "temp-demo"
    assert create.depends_on == ["modify:demo"]


def test_point_in_time_asked_for_in_one_vpc_uses_the_target_subnet_group():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo", copy_method="point_in_time")
    assert plan.mode == "point_in_time" and plan.why == "copy_method=point_in_time"
    restore = plan.steps[0]
    assert restore.action == "RestoreDBInstanceToPointInTime"
    assert restore.params["SourceDBInstanceIdentifier"] == "mitosis-prod"
    assert restore.params["DBSubnetGroupName"] == "default"


def test_point_in_time_of_a_source_without_backups_is_refused():
    account = snapshot_account()
    account.instances["prod"]["BackupRetentionPeriod"] = 0
    error = refused(account, "prod", "demo", copy_method="point_in_time")
    assert "automated backups" in error.message and "copy_method=snapshot" in error.hint


def test_an_earlier_runs_read_replica_is_copied_on_as_a_replica_whatever_the_method_now():
    account = seed_account()
    full = plan_of(account, "mitosis-prod", "mitosis-demo")
    account.apply(full.step("create:mitosis-demo").to_dict())
    plan = plan_of(account, "mitosis-prod", "mitosis-demo", copy_method="point_in_time")
    # Swapping it in unpromoted would put a replica of production in the target's place.
    assert plan.mode == "replica" and "already a read replica of mitosis-prod" in plan.why
    assert plan.step("promote:mitosis-demo").status == "pending"
    assert not [s for s in plan.steps if s.action == "RestoreDBInstanceToPointInTime"]


def test_a_clone_still_being_created_is_waited_for_not_created_again():
    account = seed_account()
    full = plan_of(account, "mitosis-prod", "mitosis-demo")
    account.apply(full.step("create:mitosis-demo").to_dict())
    account.instances["temp-mitosis-demo"]["DBInstanceStatus"] = "creating"
    create = plan_of(account, "mitosis-prod", "mitosis-demo").step("create:mitosis-demo")
    assert create.status == "pending" and create.reason == "temp-mitosis-demo is being created"
    assert create.in_progress({"temp-mitosis-demo": account.instances["temp-mitosis-demo"]})
