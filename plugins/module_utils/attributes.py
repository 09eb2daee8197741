# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A target node's attributes turned into the parameters of the calls that recreate it.

Attributes always come from the target node, never from the source. A key absent from the
description is omitted; `false` is kept. Never sent: `KmsKeyId` (a same-region replica inherits the
source's key and AWS refuses it), `DeletionProtection` (the old graph must stay deletable), and
`DBSubnetGroupName` on the replica path (a replica lives in its source's subnet group).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple


def _first(memberships: Optional[Iterable[Mapping[str, Any]]], name_key: str, status: str = "in-sync") -> Optional[str]:
    for item in memberships or []:
        if item.get("Status", status) == status and item.get(name_key):
            return item[name_key]
    return None


def _active_security_groups(desc: Mapping[str, Any]) -> Optional[List[str]]:
    groups = [g["VpcSecurityGroupId"] for g in desc.get("VpcSecurityGroups") or [] if g.get("Status") == "active"]
    return groups or None


def _parameter_group(desc: Dict[str, Any]) -> Optional[str]:
    """The in-sync group; else the group the instance is assigned (its static parameters may await a reboot:
    it is still the target's own group, which the clone must not lose)."""
    groups = [g for g in desc.get("DBParameterGroups") or [] if g.get("DBParameterGroupName")]
    for group in groups:
        if group.get("ParameterApplyStatus", "in-sync") == "in-sync":
            return group["DBParameterGroupName"]
    return groups[0]["DBParameterGroupName"] if groups else None


def _port(desc: Mapping[str, Any]) -> Optional[int]:
    endpoint = desc.get("Endpoint") or {}
    return endpoint.get("Port", desc.get("DbInstancePort"))


# Request key -> how to read it from a description. One table serves building the requests and
# checking that a modify already holds, so the two can never disagree.
READERS: Dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "DBInstanceClass": lambda d: d.get("DBInstanceClass"),
    "StorageType": lambda d: d.get("StorageType"),
    "Iops": lambda d: d.get("Iops"),
    "MultiAZ": lambda d: d.get("MultiAZ"),
    "Port": _port,
    "VpcSecurityGroupIds": _active_security_groups,
    "OptionGroupName": lambda d: _first(d.get("OptionGroupMemberships"), "OptionGroupName"),
    "CopyTagsToSnapshot": lambda d: d.get("CopyTagsToSnapshot"),
    "PubliclyAccessible": lambda d: d.get("PubliclyAccessible"),
    "AutoMinorVersionUpgrade": lambda d: d.get("AutoMinorVersionUpgrade"),
    "MonitoringInterval": lambda d: d.get("MonitoringInterval"),
    "MonitoringRoleArn": lambda d: d.get("MonitoringRoleArn"),
    "EnablePerformanceInsights": lambda d: d.get("PerformanceInsightsEnabled"),
    "PerformanceInsightsKMSKeyId": lambda d: d.get("PerformanceInsightsKMSKeyId"),
    "PerformanceInsightsRetentionPeriod": lambda d: d.get("PerformanceInsightsRetentionPeriod"),
    "EnableIAMDatabaseAuthentication": lambda d: d.get("IAMDatabaseAuthenticationEnabled"),
    "EnableCloudwatchLogsExports": lambda d: d.get("EnabledCloudwatchLogsExports") or None,
    "ProcessorFeatures": lambda d: d.get("ProcessorFeatures") or None,
    "DBParameterGroupName": _parameter_group,
    "PreferredMaintenanceWindow": lambda d: d.get("PreferredMaintenanceWindow"),
    "PreferredBackupWindow": lambda d: d.get("PreferredBackupWindow"),
    "BackupRetentionPeriod": lambda d: d.get("BackupRetentionPeriod"),
    "DBSubnetGroupName": lambda d: (d.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
}

CREATE_KEYS: Tuple[str, ...] = (
    "DBInstanceClass", "StorageType", "Iops", "MultiAZ", "Port", "VpcSecurityGroupIds", "OptionGroupName",
    "CopyTagsToSnapshot", "PubliclyAccessible", "AutoMinorVersionUpgrade", "MonitoringInterval",
    "MonitoringRoleArn", "EnablePerformanceInsights", "PerformanceInsightsKMSKeyId",
    "PerformanceInsightsRetentionPeriod", "EnableIAMDatabaseAuthentication", "EnableCloudwatchLogsExports",
    "ProcessorFeatures",
)
# Same-region replicas reject these at create time: they follow in a ModifyDBInstance.
POST_CREATE_KEYS: Tuple[str, ...] = ("DBParameterGroupName", "PreferredMaintenanceWindow", "PreferredBackupWindow")
# RestoreDBInstanceFromDBSnapshot has no monitoring or Performance Insights options.
RESTORE_DEFERRED_KEYS: Tuple[str, ...] = ("MonitoringInterval", "MonitoringRoleArn", "EnablePerformanceInsights",
                                          "PerformanceInsightsKMSKeyId", "PerformanceInsightsRetentionPeriod")


def _pick(desc: Mapping[str, Any], keys: Iterable[str]) -> Dict[str, Any]:
    params: Dict[str, Any] = {}
    for key in keys:
        value = READERS[key](desc)
        if value is not None:
            params[key] = value
    return params


def create_replica_params(desc: Mapping[str, Any], tags: Optional[Iterable[Mapping[str, str]]],
                          source_identifier: str) -> Dict[str, Any]:
    """CreateDBInstanceReadReplica parameters for a clone of the node `desc` (identifier excluded)."""
    params = _with_tags(_pick(desc, CREATE_KEYS), tags)
    params["SourceDBInstanceIdentifier"] = source_identifier
    return params


def restore_params(desc: Mapping[str, Any], tags: Optional[Iterable[Mapping[str, str]]],
                   snapshot_identifier: str) -> Dict[str, Any]:
    """RestoreDBInstanceFromDBSnapshot parameters: the node's own subnet group, no monitoring/PI."""
    params = _pick(desc, [k for k in CREATE_KEYS if k not in RESTORE_DEFERRED_KEYS])
    subnet_group = READERS["DBSubnetGroupName"](desc)
    if subnet_group:
        params["DBSubnetGroupName"] = subnet_group
    _with_tags(params, tags)
    params["DBSnapshotIdentifier"] = snapshot_identifier
    return params


def point_in_time_params(desc: Mapping[str, Any], tags: Optional[Iterable[Mapping[str, str]]],
                         source_identifier: str) -> Dict[str, Any]:
    """RestoreDBInstanceToPointInTime parameters: the source's data of a few minutes ago, with the node's own
    subnet group and attributes (the same restore options as a snapshot restore)."""
    params = restore_params(desc, tags, "")
    del params["DBSnapshotIdentifier"]
    params["SourceDBInstanceIdentifier"] = source_identifier
    params["UseLatestRestorableTime"] = True
    return params


def _backup_retention(desc: Mapping[str, Any]) -> int:
    """At least one day: a clone that feeds replicas (or is a primary) needs automated backups."""
    return max(1, desc.get("BackupRetentionPeriod") or 0)


def backup_params(desc: Mapping[str, Any]) -> Dict[str, Any]:
    """The target's automated backups, on a clone that feeds replicas (or is a primary)."""
    params: Dict[str, Any] = {"BackupRetentionPeriod": _backup_retention(desc)}
    params.update(_pick(desc, ["PreferredBackupWindow"]))
    return params


def promote_params(desc: Mapping[str, Any], backups: bool = True) -> Dict[str, Any]:
    """PromoteReadReplica enables backups itself, which saves a modify on the critical path; without `backups`
    (to be masked first) it turns them off (PromoteReadReplica's default is one day)."""
    return backup_params(desc) if backups else {"BackupRetentionPeriod": 0}


def modify_params(desc: Mapping[str, Any], enable_backups: bool = False, restored: bool = False,
                  promoted: bool = False) -> Dict[str, Any]:
    """The follow-up ModifyDBInstance: post-create attributes, backups when the clone feeds replicas.

    With `promoted`, the backup settings come with the promotion (see promote_params) or after the masking."""
    params: Dict[str, Any] = {"ApplyImmediately": True}
    params.update(_pick(desc, [k for k in POST_CREATE_KEYS if not (promoted and k == "PreferredBackupWindow")]))
    if restored:
        params.update(_pick(desc, RESTORE_DEFERRED_KEYS))
    if enable_backups:
        params["BackupRetentionPeriod"] = _backup_retention(desc)
    return params


# --- Aurora: a cluster's attributes, and its instances' ---------------------------------------------------------

def _roles(desc: Mapping[str, Any]) -> Optional[List[Dict[str, str]]]:
    """The IAM roles the cluster uses for its integrations (S3, Lambda, ...), as the restores take them."""
    roles = [dict({"RoleArn": r["RoleArn"]}, **({"FeatureName": r["FeatureName"]} if r.get("FeatureName") else {}))
             for r in desc.get("AssociatedRoles") or [] if r.get("RoleArn") and r.get("Status", "ACTIVE") == "ACTIVE"]
    return roles or None


def _scaling(desc: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    given = desc.get("ServerlessV2ScalingConfiguration") or {}
    picked = {k: given[k] for k in ("MinCapacity", "MaxCapacity") if given.get(k) is not None}
    return picked or None


CLUSTER_READERS: Dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "DBSubnetGroupName": lambda d: d.get("DBSubnetGroup"),
    "VpcSecurityGroupIds": _active_security_groups,
    "Port": lambda d: d.get("Port"),
    "DBClusterParameterGroupName": lambda d: d.get("DBClusterParameterGroup"),
    "EnableIAMDatabaseAuthentication": lambda d: d.get("IAMDatabaseAuthenticationEnabled"),
    "EnableCloudwatchLogsExports": lambda d: d.get("EnabledCloudwatchLogsExports") or None,
    "CopyTagsToSnapshot": lambda d: d.get("CopyTagsToSnapshot"),
    "ServerlessV2ScalingConfiguration": _scaling,
    "BacktrackWindow": lambda d: d.get("BacktrackWindow") or None,
    "AssociatedRoles": _roles,
    "NetworkType": lambda d: d.get("NetworkType"),
    "EnableHttpEndpoint": lambda d: d.get("HttpEndpointEnabled") or None,
    # Aurora's own storage types (standard, I/O-optimized); anything else is not a cluster's to pass on.
    "StorageType": lambda d: d.get("StorageType") if str(d.get("StorageType")).startswith("aurora") else None,
    "BackupRetentionPeriod": lambda d: d.get("BackupRetentionPeriod"),
    "PreferredBackupWindow": lambda d: d.get("PreferredBackupWindow"),
    "PreferredMaintenanceWindow": lambda d: d.get("PreferredMaintenanceWindow"),
}
# What RestoreDBClusterToPointInTime and RestoreDBClusterFromSnapshot take; the rest follows in a ModifyDBCluster.
CLUSTER_RESTORE_KEYS: Tuple[str, ...] = (
    "DBSubnetGroupName", "VpcSecurityGroupIds", "Port", "DBClusterParameterGroupName",
    "EnableIAMDatabaseAuthentication", "EnableCloudwatchLogsExports", "CopyTagsToSnapshot",
    "ServerlessV2ScalingConfiguration", "BacktrackWindow", "StorageType", "BackupRetentionPeriod",
    "PreferredBackupWindow", "AssociatedRoles", "NetworkType",
)
CLUSTER_MODIFY_KEYS: Tuple[str, ...] = ("PreferredMaintenanceWindow", "EnableHttpEndpoint")
# CreateDBInstance in a cluster: what belongs to the instance (network, storage, backups and logs are the cluster's).
MEMBER_READERS: Dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "DBInstanceClass": READERS["DBInstanceClass"],
    "PromotionTier": lambda d: d.get("PromotionTier"),
    "AvailabilityZone": lambda d: d.get("AvailabilityZone"),
    "DBParameterGroupName": _parameter_group,
    "PubliclyAccessible": READERS["PubliclyAccessible"],
    "AutoMinorVersionUpgrade": READERS["AutoMinorVersionUpgrade"],
    "MonitoringInterval": READERS["MonitoringInterval"],
    "MonitoringRoleArn": READERS["MonitoringRoleArn"],
    "EnablePerformanceInsights": READERS["EnablePerformanceInsights"],
    "PerformanceInsightsKMSKeyId": READERS["PerformanceInsightsKMSKeyId"],
    "PerformanceInsightsRetentionPeriod": READERS["PerformanceInsightsRetentionPeriod"],
    "PreferredMaintenanceWindow": READERS["PreferredMaintenanceWindow"],
    "CACertificateIdentifier": lambda d: d.get("CACertificateIdentifier"),
}


def _with_tags(params: Dict[str, Any], tags: Optional[Iterable[Mapping[str, str]]]) -> Dict[str, Any]:
    if tags:
        params["Tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    return params


def cluster_restore_params(desc: Mapping[str, Any], tags: Optional[Iterable[Mapping[str, str]]]) -> Dict[str, Any]:
    """The target cluster's attributes as restore parameters (the source, or snapshot, is the caller's to add).

    Never DeletionProtection (the old cluster must stay deletable, and the clone gets the target's tags, not a
    protection of its own) nor KmsKeyId (a clone keeps its source's key)."""
    params: Dict[str, Any] = {}
    for key in CLUSTER_RESTORE_KEYS:
        value = CLUSTER_READERS[key](desc)
        if value is not None:
            params[key] = value
    return _with_tags(params, tags)


def cluster_modify_params(desc: Mapping[str, Any]) -> Dict[str, Any]:
    """The ModifyDBCluster after the restore: what no restore call takes (the maintenance window, the Data API)."""
    params: Dict[str, Any] = {"ApplyImmediately": True}
    for key in CLUSTER_MODIFY_KEYS:
        value = CLUSTER_READERS[key](desc)
        if value is not None:
            params[key] = value
    return params


def member_params(desc: Mapping[str, Any], tags: Optional[Iterable[Mapping[str, str]]], cluster: str,
                  engine: str) -> Dict[str, Any]:
    """CreateDBInstance parameters for the clone of cluster member `desc` in `cluster` (identifier excluded)."""
    params: Dict[str, Any] = {"DBClusterIdentifier": cluster, "Engine": engine}
    for key, read in MEMBER_READERS.items():
        value = read(desc)
        if value is not None:
            params[key] = value
    return _with_tags(params, tags)


def _same(key: str, want: Any, have: Any) -> bool:
    if key in ("PreferredMaintenanceWindow", "PreferredBackupWindow"):
        return str(want).lower() == str(have or "").lower()
    if key in ("VpcSecurityGroupIds", "EnableCloudwatchLogsExports"):
        return sorted(want) == sorted(have or [])
    if key == "AssociatedRoles":
        return sorted(r["RoleArn"] for r in want) == sorted(r["RoleArn"] for r in have or [])
    if key == "ProcessorFeatures":
        return sorted((f["Name"], str(f["Value"])) for f in want) == \
            sorted((f["Name"], str(f["Value"])) for f in have or [])
    return want == have


def unmet(desc: Mapping[str, Any], params: Mapping[str, Any]) -> List[str]:
    """The keys of a ModifyDBInstance (or ModifyDBCluster) request that do not yet hold in `desc` (translated
    keys compare)."""
    missing: List[str] = []
    readers = CLUSTER_READERS if "DBClusterArn" in desc and "DBInstanceIdentifier" not in desc else READERS
    for key, want in params.items():
        if key == "ApplyImmediately":
            continue
        if key == "DBParameterGroupName" and readers is READERS:
            groups = [g.get("DBParameterGroupName") for g in desc.get("DBParameterGroups") or []]
            if want not in groups:
                missing.append(key)
        elif key in readers:
            if not _same(key, want, readers[key](desc)):
                missing.append(key)
        else:
            missing.append(key)
    pending = desc.get("PendingModifiedValues") or {}
    for key in params:
        if key in pending and key not in missing:
            missing.append(key)
    return missing
