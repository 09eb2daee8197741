# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attribute rules where they live: each reader, the three request builders, and `unmet`."""

from __future__ import annotations

import copy

import botocore.session
import pytest
from botocore.validate import validate_parameters

from ansible_collections.mitosis.rds.plugins.module_utils.attributes import (
    POST_CREATE_KEYS,
    READERS,
    RESTORE_DEFERRED_KEYS,
    create_replica_params,
    modify_params,
    point_in_time_params,
    restore_params,
    unmet,
)

SERVICE_MODEL = botocore.session.get_session().get_service_model("rds")

LOGS = ["error", "slowquery"]
CPU = [{"Name": "coreCount", "Value": "2"}, {"Name": "threadsPerCore", "Value": "1"}]
TAGS = [{"Key": "Service", "Value": "Mitosis"}, {"Key": "Team", "Value": "Data"}]


def node(**attrs):
    """A DescribeDBInstances entry (shapes as botocore's model has them) with every copied attribute set."""
    desc = {
        "DBInstanceIdentifier": "mitosis-demo",
        "DBInstanceClass": "db.r5.large",
        "StorageType": "io1",
        "Iops": 3000,
        "MultiAZ": True,
        "Endpoint": {"Address": "mitosis-demo.x.us-east-1.rds.amazonaws.com", "Port": 5430},
        "DbInstancePort": 0,
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-demo", "Status": "active"}],
        "OptionGroupMemberships": [{"OptionGroupName": "og-demo", "Status": "in-sync"}],
        "CopyTagsToSnapshot": True,
        "PubliclyAccessible": True,
        "AutoMinorVersionUpgrade": True,
        "MonitoringInterval": 60,
        "MonitoringRoleArn": "arn:aws:iam::123456789012:role/rds-monitoring",
        "PerformanceInsightsEnabled": True,
        "PerformanceInsightsKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/pi",
        "PerformanceInsightsRetentionPeriod": 7,
        "IAMDatabaseAuthenticationEnabled": True,
        "EnabledCloudwatchLogsExports": list(LOGS),
        "ProcessorFeatures": copy.deepcopy(CPU),
        "DBParameterGroups": [{"DBParameterGroupName": "pg-demo", "ParameterApplyStatus": "in-sync"}],
        "PreferredMaintenanceWindow": "tue:07:02-tue:08:00",
        "PreferredBackupWindow": "05:30-06:20",
        "BackupRetentionPeriod": 3,
        "DBSubnetGroup": {"DBSubnetGroupName": "subnets-demo", "VpcId": "vpc-demo"},
        # Never copied: a clone inherits its source's key, and the old graph must stay deletable.
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/storage",
        "StorageEncrypted": True,
        "DeletionProtection": True,
        "PendingModifiedValues": {},
    }
    desc.update(attrs)
    return desc


def without(*keys):
    desc = node()
    for key in keys:
        desc.pop(key, None)
    return desc


def valid_request(operation, params, identifier="temp-mitosis-demo", identifier_key="DBInstanceIdentifier"):
    """Raise if `params` (plus the identifier) is not a valid request of `operation` in botocore's RDS model."""
    validate_parameters(dict(params, **{identifier_key: identifier}),
                        SERVICE_MODEL.operation_model(operation).input_shape)


# One case per reader: the request key, the description, what the request carries.
READER_CASES = [
    ("DBInstanceClass", node(), "db.r5.large"),
    ("StorageType", node(), "io1"),
    ("Iops", node(), 3000),
    ("MultiAZ", node(), True),
    ("Port", node(), 5430),
    ("VpcSecurityGroupIds", node(), ["sg-demo"]),
    ("OptionGroupName", node(), "og-demo"),
    ("CopyTagsToSnapshot", node(), True),
    ("PubliclyAccessible", node(), True),
    ("AutoMinorVersionUpgrade", node(), True),
    ("MonitoringInterval", node(), 60),
    ("MonitoringRoleArn", node(), "arn:aws:iam::123456789012:role/rds-monitoring"),
    ("EnablePerformanceInsights", node(), True),
    ("PerformanceInsightsKMSKeyId", node(), "arn:aws:kms:us-east-1:123456789012:key/pi"),
    ("PerformanceInsightsRetentionPeriod", node(), 7),
    ("EnableIAMDatabaseAuthentication", node(), True),
    ("EnableCloudwatchLogsExports", node(), LOGS),
    ("ProcessorFeatures", node(), CPU),
    ("DBParameterGroupName", node(), "pg-demo"),
    ("PreferredMaintenanceWindow", node(), "tue:07:02-tue:08:00"),
    ("PreferredBackupWindow", node(), "05:30-06:20"),
    ("BackupRetentionPeriod", node(), 3),
    ("DBSubnetGroupName", node(), "subnets-demo"),
]


def test_every_reader_has_a_case():
    assert sorted(key for key, _desc, _value in READER_CASES) == sorted(READERS)


@pytest.mark.parametrize("key, desc, value", READER_CASES, ids=[case[0] for case in READER_CASES])
def test_reader(key, desc, value):
    assert READERS[key](desc) == value


@pytest.mark.parametrize("key", sorted(READERS))
def test_reader_of_an_absent_attribute_is_none(key):
    assert READERS[key]({"DBInstanceIdentifier": "mitosis-demo"}) is None


# The request name and the description name differ: the reader must use the description's name.
@pytest.mark.parametrize("key, description_key, value", [
    ("EnablePerformanceInsights", "PerformanceInsightsEnabled", True),
    ("EnableIAMDatabaseAuthentication", "IAMDatabaseAuthenticationEnabled", True),
    ("EnableCloudwatchLogsExports", "EnabledCloudwatchLogsExports", ["audit"]),
])
def test_translated_reader_reads_the_description_name(key, description_key, value):
    assert READERS[key]({key: value}) is None
    assert READERS[key]({description_key: value}) == value


@pytest.mark.parametrize("groups, expected", [
    ([{"VpcSecurityGroupId": "sg-1", "Status": "active"}], ["sg-1"]),
    ([{"VpcSecurityGroupId": "sg-1", "Status": "active"}, {"VpcSecurityGroupId": "sg-2", "Status": "inactive"},
      {"VpcSecurityGroupId": "sg-3", "Status": "removing"}, {"VpcSecurityGroupId": "sg-4", "Status": "adding"},
      {"VpcSecurityGroupId": "sg-5", "Status": "active"}], ["sg-1", "sg-5"]),
    ([{"VpcSecurityGroupId": "sg-2", "Status": "inactive"}], None),
    ([{"VpcSecurityGroupId": "sg-3", "Status": "removing"}, {"VpcSecurityGroupId": "sg-2", "Status": "inactive"}],
     None),
    ([{"VpcSecurityGroupId": "sg-1"}], None),
    ([], None),
    (None, None),
], ids=["active", "mixed", "inactive", "none-active", "no-status", "empty", "null"])
def test_only_active_security_groups_are_copied(groups, expected):
    desc = node(VpcSecurityGroups=groups)
    assert READERS["VpcSecurityGroupIds"](desc) == expected
    for params in (create_replica_params(desc, [], "temp-prod"), restore_params(desc, [], "rds:prod")):
        assert params.get("VpcSecurityGroupIds") == expected
        assert ("VpcSecurityGroupIds" in params) == (expected is not None)


@pytest.mark.parametrize("memberships, expected", [
    ([{"OptionGroupName": "og-1", "Status": "in-sync"}], "og-1"),
    ([{"OptionGroupName": "og-new", "Status": "pending-apply"}, {"OptionGroupName": "og-1", "Status": "in-sync"}],
     "og-1"),
    ([{"OptionGroupName": "og-new", "Status": "pending-maintenance-apply"},
      {"OptionGroupName": "og-1", "Status": "in-sync"}], "og-1"),
    ([{"OptionGroupName": "og-new", "Status": "pending-apply"}], None),
    ([{"OptionGroupName": "og-new", "Status": "pending-maintenance-apply"}], None),
    ([], None),
], ids=["in-sync", "pending-apply-first", "pending-maintenance-apply-first", "pending-apply-only",
        "pending-maintenance-apply-only", "empty"])
def test_option_group_only_from_an_in_sync_membership(memberships, expected):
    desc = node(OptionGroupMemberships=memberships)
    assert READERS["OptionGroupName"](desc) == expected
    assert create_replica_params(desc, [], "temp-prod").get("OptionGroupName") == expected


@pytest.mark.parametrize("groups, expected", [
    pytest.param([{"DBParameterGroupName": "pg-1", "ParameterApplyStatus": "in-sync"}], "pg-1", id="in-sync"),
    pytest.param([{"DBParameterGroupName": "pg-new", "ParameterApplyStatus": "pending-reboot"},
                  {"DBParameterGroupName": "pg-1", "ParameterApplyStatus": "in-sync"}], "pg-1",
                 id="pending-reboot-first"),
    # No group in sync: the instance's own group all the same (a reboot pending does not make it another's).
    pytest.param([{"DBParameterGroupName": "pg-new", "ParameterApplyStatus": "applying"}], "pg-new",
                 id="applying-only"),
    pytest.param([{"DBParameterGroupName": "pg-new", "ParameterApplyStatus": "pending-reboot"}], "pg-new",
                 id="pending-reboot-only"),
    pytest.param([], None, id="empty"),
])
def test_parameter_group_in_sync_first(groups, expected):
    desc = node(DBParameterGroups=groups)
    assert READERS["DBParameterGroupName"](desc) == expected
    assert modify_params(desc).get("DBParameterGroupName") == expected


@pytest.mark.parametrize("attrs, expected", [
    ({"Endpoint": {"Address": "a", "Port": 5430}, "DbInstancePort": 0}, 5430),
    ({"Endpoint": {"Address": "a", "Port": 5430}, "DbInstancePort": 3307}, 5430),
    ({"Endpoint": None, "DbInstancePort": 3307}, 3307),
    ({"Endpoint": {}, "DbInstancePort": 3307}, 3307),
    ({"Endpoint": None, "DbInstancePort": None}, None),
], ids=["endpoint", "endpoint-wins", "no-endpoint", "endpoint-without-port", "neither"])
def test_port_from_the_endpoint_with_instance_port_fallback(attrs, expected):
    desc = node(**attrs)
    if attrs["Endpoint"] is None:
        del desc["Endpoint"]
    assert READERS["Port"](desc) == expected
    assert create_replica_params(desc, [], "temp-prod").get("Port") == expected


@pytest.mark.parametrize("key, attrs", [
    ("EnableCloudwatchLogsExports", {"EnabledCloudwatchLogsExports": []}),
    ("ProcessorFeatures", {"ProcessorFeatures": []}),
    ("VpcSecurityGroupIds", {"VpcSecurityGroups": []}),
    ("OptionGroupName", {"OptionGroupMemberships": []}),
])
def test_empty_lists_are_omitted(key, attrs):
    desc = node(**attrs)
    assert READERS[key](desc) is None
    assert key not in create_replica_params(desc, [], "temp-prod")
    assert key not in restore_params(desc, [], "rds:prod")


FALSE_VALUES = [
    ("MultiAZ", "MultiAZ", False),
    ("CopyTagsToSnapshot", "CopyTagsToSnapshot", False),
    ("PubliclyAccessible", "PubliclyAccessible", False),
    ("AutoMinorVersionUpgrade", "AutoMinorVersionUpgrade", False),
    ("EnableIAMDatabaseAuthentication", "IAMDatabaseAuthenticationEnabled", False),
    ("EnablePerformanceInsights", "PerformanceInsightsEnabled", False),
    ("MonitoringInterval", "MonitoringInterval", 0),
]


@pytest.mark.parametrize("key, description_key, value", FALSE_VALUES, ids=[case[0] for case in FALSE_VALUES])
def test_false_values_are_kept(key, description_key, value):
    desc = node(**{description_key: value})
    assert READERS[key](desc) is value
    params = create_replica_params(desc, [], "temp-prod")
    assert key in params and params[key] is value
    if key not in RESTORE_DEFERRED_KEYS:
        assert restore_params(desc, [], "rds:prod")[key] is value


def test_false_values_are_kept_in_the_modify():
    desc = node(BackupRetentionPeriod=0, PerformanceInsightsEnabled=False, MonitoringInterval=0)
    params = modify_params(desc, restored=True)
    assert params["EnablePerformanceInsights"] is False and params["MonitoringInterval"] == 0


# Request key -> the description keys it is read from.
SOURCES = {
    "DBInstanceClass": ("DBInstanceClass",),
    "StorageType": ("StorageType",),
    "Iops": ("Iops",),
    "MultiAZ": ("MultiAZ",),
    "Port": ("Endpoint", "DbInstancePort"),
    "VpcSecurityGroupIds": ("VpcSecurityGroups",),
    "OptionGroupName": ("OptionGroupMemberships",),
    "CopyTagsToSnapshot": ("CopyTagsToSnapshot",),
    "PubliclyAccessible": ("PubliclyAccessible",),
    "AutoMinorVersionUpgrade": ("AutoMinorVersionUpgrade",),
    "MonitoringInterval": ("MonitoringInterval",),
    "MonitoringRoleArn": ("MonitoringRoleArn",),
    "EnablePerformanceInsights": ("PerformanceInsightsEnabled",),
    "PerformanceInsightsKMSKeyId": ("PerformanceInsightsKMSKeyId",),
    "PerformanceInsightsRetentionPeriod": ("PerformanceInsightsRetentionPeriod",),
    "EnableIAMDatabaseAuthentication": ("IAMDatabaseAuthenticationEnabled",),
    "EnableCloudwatchLogsExports": ("EnabledCloudwatchLogsExports",),
    "ProcessorFeatures": ("ProcessorFeatures",),
    "DBParameterGroupName": ("DBParameterGroups",),
    "PreferredMaintenanceWindow": ("PreferredMaintenanceWindow",),
    "PreferredBackupWindow": ("PreferredBackupWindow",),
    "BackupRetentionPeriod": ("BackupRetentionPeriod",),
    "DBSubnetGroupName": ("DBSubnetGroup",),
}


def test_every_reader_has_its_sources():
    assert sorted(SOURCES) == sorted(READERS)


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_absent_keys_are_omitted(key):
    desc = without(*SOURCES[key])
    assert READERS[key](desc) is None
    assert key not in create_replica_params(desc, TAGS, "temp-prod")
    assert key not in restore_params(desc, TAGS, "rds:prod")
    assert key not in modify_params(desc, restored=True)
    assert key not in unmet(desc, {}) and unmet(desc, {key: READERS[key](node())}) == [key]


def test_create_replica_params_copy_the_node():
    tags = [dict(tag, Extra="dropped") for tag in TAGS]
    assert create_replica_params(node(), tags, "temp-mitosis-prod") == {
        "DBInstanceClass": "db.r5.large",
        "StorageType": "io1",
        "Iops": 3000,
        "MultiAZ": True,
        "Port": 5430,
        "VpcSecurityGroupIds": ["sg-demo"],
        "OptionGroupName": "og-demo",
        "CopyTagsToSnapshot": True,
        "PubliclyAccessible": True,
        "AutoMinorVersionUpgrade": True,
        "MonitoringInterval": 60,
        "MonitoringRoleArn": "arn:aws:iam::123456789012:role/rds-monitoring",
        "EnablePerformanceInsights": True,
        "PerformanceInsightsKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/pi",
        "PerformanceInsightsRetentionPeriod": 7,
        "EnableIAMDatabaseAuthentication": True,
        "EnableCloudwatchLogsExports": LOGS,
        "ProcessorFeatures": CPU,
        "Tags": TAGS,
        "SourceDBInstanceIdentifier": "temp-mitosis-prod",
    }


def test_restore_params_copy_the_node_with_its_subnet_group():
    assert restore_params(node(), TAGS, "rds:mitosis-prod-2026-11-24") == {
        "DBInstanceClass": "db.r5.large",
        "StorageType": "io1",
        "Iops": 3000,
        "MultiAZ": True,
        "Port": 5430,
        "VpcSecurityGroupIds": ["sg-demo"],
        "OptionGroupName": "og-demo",
        "CopyTagsToSnapshot": True,
        "PubliclyAccessible": True,
        "AutoMinorVersionUpgrade": True,
        "EnableIAMDatabaseAuthentication": True,
        "EnableCloudwatchLogsExports": LOGS,
        "ProcessorFeatures": CPU,
        "DBSubnetGroupName": "subnets-demo",
        "Tags": TAGS,
        "DBSnapshotIdentifier": "rds:mitosis-prod-2026-11-24",
    }


@pytest.mark.parametrize("subnet_group", [None, {}, {"DBSubnetGroupName": ""}])
def test_restore_without_a_subnet_group_omits_it(subnet_group):
    params = restore_params(node(DBSubnetGroup=subnet_group), [], "rds:prod")
    assert "DBSubnetGroupName" not in params


@pytest.mark.parametrize("tags", [None, []])
def test_no_tags_no_tags_key(tags):
    assert "Tags" not in create_replica_params(node(), tags, "temp-prod")
    assert "Tags" not in restore_params(node(), tags, "rds:prod")


@pytest.mark.parametrize("build, forbidden", [
    (lambda d: create_replica_params(d, TAGS, "temp-prod"), ("KmsKeyId", "DeletionProtection", "DBSubnetGroupName")),
    (lambda d: restore_params(d, TAGS, "rds:prod"), ("KmsKeyId", "DeletionProtection") + RESTORE_DEFERRED_KEYS),
    (modify_params, ("KmsKeyId", "DeletionProtection", "DBSubnetGroupName")),
    (lambda d: modify_params(d, enable_backups=True), ("KmsKeyId", "DeletionProtection", "DBSubnetGroupName")),
    (lambda d: modify_params(d, enable_backups=True, restored=True), ("KmsKeyId", "DeletionProtection")),
], ids=["replica", "restore", "modify", "modify-backups", "modify-restored"])
def test_never_sent(build, forbidden):
    # node() carries KmsKeyId, DeletionProtection and a subnet group; the request name too, for a naive reader.
    params = build(node(DBSubnetGroupName="subnets-demo"))
    assert not set(forbidden) & set(params)


def test_replica_path_has_no_post_create_keys():
    params = create_replica_params(node(), TAGS, "temp-prod")
    assert not set(POST_CREATE_KEYS) & set(params)
    assert "BackupRetentionPeriod" not in params


@pytest.mark.parametrize("operation, params", [
    ("CreateDBInstanceReadReplica", create_replica_params(node(), TAGS, "temp-prod")),
    ("RestoreDBInstanceFromDBSnapshot", restore_params(node(), TAGS, "rds:prod")),
    ("ModifyDBInstance", modify_params(node(), enable_backups=True, restored=True)),
    ("ModifyDBInstance", {"ApplyImmediately": True, "ManageMasterUserPassword": True,
                          "MasterUserSecretKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/demo"}),
    ("ModifyDBInstance", {"ApplyImmediately": True, "MasterUserPassword": "Clone-Pass-1"}),
])
def test_requests_are_valid_for_the_api(operation, params):
    valid_request(operation, params)


def test_a_point_in_time_restore_is_valid_for_the_api_and_names_the_new_instance_as_its_target():
    params = point_in_time_params(node(), TAGS, "mitosis-prod")
    valid_request("RestoreDBInstanceToPointInTime", params, identifier_key="TargetDBInstanceIdentifier")
    assert params["SourceDBInstanceIdentifier"] == "mitosis-prod" and params["UseLatestRestorableTime"] is True
    assert params["DBSubnetGroupName"] == "subnets-demo"
    assert "DBSnapshotIdentifier" not in params and "KmsKeyId" not in params


def test_modify_params_of_a_replica():
    assert modify_params(node()) == {
        "ApplyImmediately": True,
        "DBParameterGroupName": "pg-demo",
        "PreferredMaintenanceWindow": "tue:07:02-tue:08:00",
        "PreferredBackupWindow": "05:30-06:20",
    }


def test_modify_params_of_a_restore_carry_the_deferred_keys():
    params = modify_params(node(), restored=True)
    assert params == {
        "ApplyImmediately": True,
        "DBParameterGroupName": "pg-demo",
        "PreferredMaintenanceWindow": "tue:07:02-tue:08:00",
        "PreferredBackupWindow": "05:30-06:20",
        "MonitoringInterval": 60,
        "MonitoringRoleArn": "arn:aws:iam::123456789012:role/rds-monitoring",
        "EnablePerformanceInsights": True,
        "PerformanceInsightsKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/pi",
        "PerformanceInsightsRetentionPeriod": 7,
    }
    assert set(RESTORE_DEFERRED_KEYS) <= set(params)


@pytest.mark.parametrize("retention, expected", [(0, 1), (None, 1), (1, 1), (7, 7), (35, 35)])
def test_enable_backups_keeps_at_least_one_day(retention, expected):
    desc = node(BackupRetentionPeriod=retention)
    assert modify_params(desc, enable_backups=True)["BackupRetentionPeriod"] == expected


def test_enable_backups_without_retention_in_the_description():
    assert modify_params(without("BackupRetentionPeriod"), enable_backups=True)["BackupRetentionPeriod"] == 1


def test_backups_not_enabled_leave_retention_alone():
    assert "BackupRetentionPeriod" not in modify_params(node(BackupRetentionPeriod=7))


# unmet: (description, request, the keys that do not hold yet)
UNMET_CASES = [
    pytest.param(node(), {"DBParameterGroupName": "pg-demo"}, [], id="parameter-group-met"),
    pytest.param(node(DBParameterGroups=[{"DBParameterGroupName": "pg-old", "ParameterApplyStatus": "in-sync"},
                                         {"DBParameterGroupName": "pg-demo", "ParameterApplyStatus": "in-sync"}]),
                 {"DBParameterGroupName": "pg-demo"}, [], id="parameter-group-among-several"),
    pytest.param(node(), {"DBParameterGroupName": "pg-other"}, ["DBParameterGroupName"], id="parameter-group-other"),
    pytest.param(without("DBParameterGroups"), {"DBParameterGroupName": "pg-demo"}, ["DBParameterGroupName"],
                 id="parameter-group-absent"),
    pytest.param(node(DBParameterGroupName="pg-demo", DBParameterGroups=[]), {"DBParameterGroupName": "pg-demo"},
                 ["DBParameterGroupName"], id="parameter-group-request-name-ignored"),
    pytest.param(node(PerformanceInsightsEnabled=True), {"EnablePerformanceInsights": True}, [], id="pi-met"),
    pytest.param(node(PerformanceInsightsEnabled=False), {"EnablePerformanceInsights": True},
                 ["EnablePerformanceInsights"], id="pi-off"),
    pytest.param(node(PerformanceInsightsEnabled=False, EnablePerformanceInsights=True),
                 {"EnablePerformanceInsights": True}, ["EnablePerformanceInsights"], id="pi-request-name-ignored"),
    pytest.param(node(IAMDatabaseAuthenticationEnabled=False), {"EnableIAMDatabaseAuthentication": False}, [],
                 id="iam-auth-false-met"),
    pytest.param(node(IAMDatabaseAuthenticationEnabled=False), {"EnableIAMDatabaseAuthentication": True},
                 ["EnableIAMDatabaseAuthentication"], id="iam-auth-off"),
    pytest.param(node(), {"PreferredMaintenanceWindow": "TUE:07:02-Tue:08:00"}, [], id="maintenance-window-case"),
    pytest.param(node(), {"PreferredMaintenanceWindow": "wed:07:02-wed:08:00"}, ["PreferredMaintenanceWindow"],
                 id="maintenance-window-other"),
    pytest.param(without("PreferredMaintenanceWindow"), {"PreferredMaintenanceWindow": "tue:07:02-tue:08:00"},
                 ["PreferredMaintenanceWindow"], id="maintenance-window-absent"),
    pytest.param(node(PreferredBackupWindow="05:30-06:20"), {"PreferredBackupWindow": "05:30-06:20"}, [],
                 id="backup-window-met"),
    pytest.param(node(), {"PreferredBackupWindow": "05:31-06:20"}, ["PreferredBackupWindow"], id="backup-window-other"),
    pytest.param(node(VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-1", "Status": "active"},
                                         {"VpcSecurityGroupId": "sg-2", "Status": "active"}]),
                 {"VpcSecurityGroupIds": ["sg-2", "sg-1"]}, [], id="security-groups-any-order"),
    pytest.param(node(VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-1", "Status": "active"},
                                         {"VpcSecurityGroupId": "sg-2", "Status": "adding"}]),
                 {"VpcSecurityGroupIds": ["sg-1", "sg-2"]}, ["VpcSecurityGroupIds"],
                 id="security-group-not-yet-active"),
    pytest.param(node(), {"VpcSecurityGroupIds": ["sg-demo", "sg-extra"]}, ["VpcSecurityGroupIds"],
                 id="security-groups-missing-one"),
    pytest.param(without("VpcSecurityGroups"), {"VpcSecurityGroupIds": ["sg-demo"]}, ["VpcSecurityGroupIds"],
                 id="security-groups-absent"),
    pytest.param(node(), {"EnableCloudwatchLogsExports": ["slowquery", "error"]}, [], id="log-exports-any-order"),
    pytest.param(node(), {"EnableCloudwatchLogsExports": ["audit"]}, ["EnableCloudwatchLogsExports"],
                 id="log-exports-other"),
    pytest.param(node(), {"ProcessorFeatures": list(reversed(CPU))}, [], id="processor-features-any-order"),
    pytest.param(node(), {"ProcessorFeatures": [{"Name": "coreCount", "Value": 2},
                                                {"Name": "threadsPerCore", "Value": 1}]}, [],
                 id="processor-features-value-as-text"),
    pytest.param(node(), {"ProcessorFeatures": [{"Name": "coreCount", "Value": "4"},
                                                {"Name": "threadsPerCore", "Value": "1"}]}, ["ProcessorFeatures"],
                 id="processor-features-other"),
    pytest.param(without("ProcessorFeatures"), {"ProcessorFeatures": CPU}, ["ProcessorFeatures"],
                 id="processor-features-absent"),
    pytest.param(node(), {"Port": 5430}, [], id="port-met"),
    pytest.param(node(), {"Port": 5431}, ["Port"], id="port-other"),
    pytest.param(node(BackupRetentionPeriod=0), {"BackupRetentionPeriod": 1}, ["BackupRetentionPeriod"],
                 id="backups-off"),
    pytest.param(node(PendingModifiedValues={"DBInstanceClass": "db.r5.large"}), {"DBInstanceClass": "db.r5.large"},
                 ["DBInstanceClass"], id="pending-counts-as-unmet"),
    pytest.param(node(BackupRetentionPeriod=0, PendingModifiedValues={"BackupRetentionPeriod": 1}),
                 {"BackupRetentionPeriod": 1}, ["BackupRetentionPeriod"], id="pending-and-unmet-once"),
    pytest.param(node(PendingModifiedValues={"Port": 5431}), {"DBInstanceClass": "db.r5.large"}, [],
                 id="pending-other-key"),
    pytest.param(node(), {"Foo": "bar"}, ["Foo"], id="unknown-key"),
    pytest.param(node(), {"ApplyImmediately": True}, [], id="apply-immediately-ignored"),
    pytest.param(node(), {"ApplyImmediately": False}, [], id="apply-immediately-false-ignored"),
    pytest.param(node(), {"NewDBInstanceIdentifier": "mitosis-demo"}, ["NewDBInstanceIdentifier"],
                 id="rename-unmet"),
    pytest.param(node(), {"ApplyImmediately": True, "Foo": 1, "Port": 1, "DBInstanceClass": "db.r5.large",
                          "PreferredBackupWindow": "00:00-00:30"},
                 ["Foo", "Port", "PreferredBackupWindow"], id="several-in-request-order"),
]


@pytest.mark.parametrize("desc, params, expected", UNMET_CASES)
def test_unmet(desc, params, expected):
    assert unmet(desc, params) == expected


@pytest.mark.parametrize("key", sorted(READERS))
def test_unmet_of_the_node_own_value_is_met(key):
    desc = node()
    assert unmet(desc, {key: READERS[key](desc)}) == []


@pytest.mark.parametrize("enable_backups", [False, True])
@pytest.mark.parametrize("restored", [False, True])
def test_the_modify_built_from_a_node_holds_on_that_node(enable_backups, restored):
    desc = node()
    assert unmet(desc, modify_params(desc, enable_backups=enable_backups, restored=restored)) == []


def test_the_modify_enabling_backups_on_a_node_without_them_is_unmet():
    desc = node(BackupRetentionPeriod=0)
    assert unmet(desc, modify_params(desc, enable_backups=True)) == ["BackupRetentionPeriod"]
