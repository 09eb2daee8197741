# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory RDS account for planner tests: descriptions shaped like DescribeDBInstances (and
DescribeDBClusters) output, and the effect of each planned call applied the way RDS applies it (links and
cluster memberships follow renames)."""

from __future__ import annotations

import copy

from ansible_collections.mitosis.rds.plugins.module_utils.cluster import ClusterGraph
from ansible_collections.mitosis.rds.plugins.module_utils.graph import Graph

REGION = "us-east-1"
ACCOUNT = "123456789012"


def instance(name, engine="mysql", parent=None, **attrs):
    desc = {
        "DBInstanceIdentifier": name,
        "DBInstanceArn": "arn:aws:rds:{0}:{1}:db:{2}".format(REGION, ACCOUNT, name),
        "DbiResourceId": "db-" + name.upper().replace("-", ""),
        "DBInstanceStatus": "available",
        "Engine": engine,
        "DBInstanceClass": "db.t3.micro",
        "BackupRetentionPeriod": 1,
        "ReadReplicaDBInstanceIdentifiers": [],
        "DBSubnetGroup": {"DBSubnetGroupName": "default", "VpcId": "vpc-1"},
        "PendingModifiedValues": {},
    }
    if parent:
        desc["ReadReplicaSourceDBInstanceIdentifier"] = parent
    desc.update(attrs)
    return desc


def seed_attrs(port, tags):
    """The attribute values behind the seed README's flight plan."""
    return dict(
        Endpoint={"Address": "x", "Port": port}, DBInstanceClass="db.t3.micro", StorageType="gp2", MultiAZ=False,
        OptionGroupMemberships=[{"OptionGroupName": "default:mysql-5-7", "Status": "in-sync"}],
        DBParameterGroups=[{"DBParameterGroupName": "default.mysql5.7", "ParameterApplyStatus": "in-sync"}],
        _tags=tags,
    )


AURORA_VERSIONS = {"aurora-mysql": "8.0.mysql_aurora.3.05.2", "aurora-postgresql": "15.4"}
AURORA_PORTS = {"aurora-mysql": 3306, "aurora-postgresql": 5432}


def default_group(engine):
    """The default (cluster) parameter group of an engine at its version here."""
    return "default.{0}{1}".format(engine, AURORA_VERSIONS.get(engine, "8.0")[:3].rstrip("."))


def subnet_group(name="default", vpc="vpc-1", zones=("us-east-1a", "us-east-1b", "us-east-1c")):
    """A DB subnet group as an instance's description holds it."""
    return {"DBSubnetGroupName": name, "VpcId": vpc, "SubnetGroupStatus": "Complete",
            "Subnets": [{"SubnetIdentifier": "subnet-{0}-{1}".format(name, zone), "SubnetStatus": "Active",
                         "SubnetAvailabilityZone": {"Name": zone}} for zone in zones]}


def cluster(name, engine="aurora-mysql", members=(), writer=None, **attrs):
    """A DescribeDBClusters entry; `members` are instance names (the first, or `writer`, is the writer).

    `_data` stands for the data the cluster holds: a restore copies its source's (or snapshot's)."""
    desc = {
        "DBClusterIdentifier": name,
        "DBClusterArn": "arn:aws:rds:{0}:{1}:cluster:{2}".format(REGION, ACCOUNT, name),
        "DbClusterResourceId": "cluster-" + name.upper().replace("-", ""),
        "Status": "available",
        "Engine": engine,
        "EngineVersion": AURORA_VERSIONS.get(engine, "8.0.mysql_aurora.3.05.2"),
        "EngineMode": "provisioned",
        "Endpoint": "{0}.cluster-abc.{1}.rds.amazonaws.com".format(name, REGION),
        "ReaderEndpoint": "{0}.cluster-ro-abc.{1}.rds.amazonaws.com".format(name, REGION),
        "DBSubnetGroup": "default",
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-default", "Status": "active"}],
        "Port": AURORA_PORTS.get(engine, 3306),
        "DBClusterParameterGroup": default_group(engine),
        "BackupRetentionPeriod": 1,
        "PreferredBackupWindow": "07:00-07:30",
        "PreferredMaintenanceWindow": "sat:08:00-sat:08:30",
        "IAMDatabaseAuthenticationEnabled": False,
        "CopyTagsToSnapshot": False,
        "DeletionProtection": False,
        "StorageType": "aurora",
        "StorageEncrypted": True,
        "KmsKeyId": "arn:aws:kms:{0}:{1}:key/{2}".format(REGION, ACCOUNT, name),
        "DBClusterMembers": [{"DBInstanceIdentifier": m, "IsClusterWriter": m == (writer or members[0]),
                              "DBClusterParameterGroupStatus": "in-sync", "PromotionTier": 1} for m in members],
        "_data": name,
    }
    desc.update(attrs)
    return desc


def member(name, cluster_name, engine="aurora-mysql", tier=1, zone="us-east-1a", group=None, **attrs):
    """A DescribeDBInstances entry of an instance of the Aurora cluster `cluster_name`."""
    desc = dict(DBInstanceClass="db.r6g.large", StorageType="aurora", EngineVersion=AURORA_VERSIONS.get(engine),
                DBParameterGroups=[{"DBParameterGroupName": default_group(engine), "ParameterApplyStatus": "in-sync"}])
    desc.update(attrs)
    return instance(name, engine=engine, DBClusterIdentifier=cluster_name, PromotionTier=tier, AvailabilityZone=zone,
                    DBSubnetGroup=group or subnet_group(), **desc)


# What a cluster request key sets in a DescribeDBClusters entry (the others keep their names).
CLUSTER_KEYS = {
    "DBSubnetGroupName": "DBSubnetGroup",
    "DBClusterParameterGroupName": "DBClusterParameterGroup",
    "EnableIAMDatabaseAuthentication": "IAMDatabaseAuthenticationEnabled",
    "EnableCloudwatchLogsExports": "EnabledCloudwatchLogsExports",
}
CLUSTER_ACTIONS = ("RestoreDBClusterToPointInTime", "RestoreDBClusterFromSnapshot", "ModifyDBCluster",
                   "DeleteDBCluster")


class Account:
    def __init__(self, instances, snapshots=None, clusters=None, cluster_snapshots=None):
        self.instances = {i["DBInstanceIdentifier"]: copy.deepcopy(i) for i in instances}
        self.snapshots = snapshots or []
        self.clusters = {c["DBClusterIdentifier"]: copy.deepcopy(c) for c in clusters or []}
        self.cluster_snapshots = copy.deepcopy(cluster_snapshots or [])
        self.clock = 0
        self.births = {}  # resource id -> how many instances were born with it
        for inst in self.instances.values():
            inst.setdefault("InstanceCreateTime", self._now())
        self.subnet_groups = {}
        for inst in self.instances.values():
            group = inst.get("DBSubnetGroup") or {}
            if group.get("Subnets"):
                self.subnet_groups.setdefault(group["DBSubnetGroupName"], copy.deepcopy(group))
        for desc in self.clusters.values():
            desc.setdefault("ClusterCreateTime", self._now())
            for entry in desc["DBClusterMembers"]:
                inst = self.instances.get(entry["DBInstanceIdentifier"])
                if inst is not None:
                    assert inst.get("DBClusterIdentifier") == desc["DBClusterIdentifier"], entry
                    entry["PromotionTier"] = inst.get("PromotionTier", 1)
        self._relink()

    def _born(self, new):
        """A new instance (or cluster): created now, with a resource id of its own even when its name held another
        one before (a discarded clone copied again)."""
        cluster_key = "DbClusterResourceId" if "DBClusterIdentifier" in new and "DBInstanceIdentifier" not in new \
            else None
        key = cluster_key or "DbiResourceId"
        self.births[new[key]] = self.births.get(new[key], 0) + 1
        if self.births[new[key]] > 1:
            new[key] += str(self.births[new[key]])
        new["ClusterCreateTime" if cluster_key else "InstanceCreateTime"] = self._now()

    def _now(self):
        self.clock += 1
        return "2026-11-24T10:{0:02d}:00".format(self.clock)

    def _relink(self):
        for inst in self.instances.values():
            inst["ReadReplicaDBInstanceIdentifiers"] = sorted(
                n for n, o in self.instances.items() if o.get("ReadReplicaSourceDBInstanceIdentifier") ==
                inst["DBInstanceIdentifier"])

    def described(self):
        """DescribeDBInstances output: copies, with each instance's tags in TagList as RDS returns them."""
        return [dict(copy.deepcopy(i), TagList=copy.deepcopy(i.get("_tags") or [])) for i in self.instances.values()]

    def graph(self):
        return Graph(self.described(), REGION)

    def described_clusters(self):
        """DescribeDBClusters output: copies, with each cluster's tags in TagList."""
        return [dict(copy.deepcopy(c), TagList=copy.deepcopy(c.get("_tags") or [])) for c in self.clusters.values()]

    def cluster_graph(self):
        return ClusterGraph(self.described(), self.described_clusters(), REGION)

    def cluster_snapshots_of(self, name, snapshot_identifier=None):
        if snapshot_identifier:
            return [s for s in self.cluster_snapshots if s["DBClusterSnapshotIdentifier"] == snapshot_identifier]
        return [s for s in self.cluster_snapshots if s["DBClusterIdentifier"] == name]

    def writer_of(self, name):
        return next((m["DBInstanceIdentifier"] for m in self.clusters[name]["DBClusterMembers"]
                     if m["IsClusterWriter"]), None)

    def tags_of(self, desc):
        return desc.get("_tags", [])

    def snapshots_of(self, name, snapshot_identifier=None):
        if snapshot_identifier:
            return [s for s in self.snapshots if s["DBSnapshotIdentifier"] == snapshot_identifier]
        return [s for s in self.snapshots if s["DBInstanceIdentifier"] == name]

    def apply(self, step):
        """What RDS does for one planned call, completed."""
        action, name, params = step["action"], step["identifier"], dict(step["params"])
        # Only retired and rejected instances are ever deleted, and a discard's earlier clone of the target.
        deletable = ("old-", "rej-", "temp-") if step.get("kind") == "discard" else ("old-", "rej-")
        if step.get("cluster") or action in CLUSTER_ACTIONS:
            if action not in ("Restart", "Prepare"):
                self._apply_cluster(action, name, params, deletable)
            return
        if action == "CreateDBInstance":
            self._create_member(name, params)
        elif action == "CreateDBInstanceReadReplica":
            assert name not in self.instances, "created twice: " + name
            src = self.instances[params.pop("SourceDBInstanceIdentifier")]
            assert src["BackupRetentionPeriod"] > 0, "replica of a source without backups"
            assert not src.get("MasterUserSecret"), "replica of a source whose password Secrets Manager manages"
            tags = params.pop("Tags", [])
            new = instance(name, engine=src["Engine"], parent=src["DBInstanceIdentifier"], _tags=tags,
                           BackupRetentionPeriod=0, DBSubnetGroup=src["DBSubnetGroup"])
            self._set(new, params)
            self._born(new)
            self.instances[name] = new
        elif action == "RestoreDBInstanceFromDBSnapshot":
            assert name not in self.instances, "created twice: " + name
            snap = params.pop("DBSnapshotIdentifier")
            assert any(s["DBSnapshotIdentifier"] == snap for s in self.snapshots)
            tags = params.pop("Tags", [])
            subnet = params.pop("DBSubnetGroupName", "default")
            new = instance(name, _tags=tags, BackupRetentionPeriod=0,
                           DBSubnetGroup={"DBSubnetGroupName": subnet, "VpcId": "vpc-" + subnet})
            self._set(new, params)
            self._born(new)
            self.instances[name] = new
        elif action == "RestoreDBInstanceToPointInTime":
            assert name not in self.instances, "created twice: " + name
            src = self.instances[params.pop("SourceDBInstanceIdentifier")]
            assert src["BackupRetentionPeriod"] > 0, "point-in-time restore of a source without backups"
            assert params.pop("UseLatestRestorableTime") is True
            tags = params.pop("Tags", [])
            subnet = params.pop("DBSubnetGroupName", "default")
            new = instance(name, engine=src["Engine"], _tags=tags, BackupRetentionPeriod=src["BackupRetentionPeriod"],
                           DBSubnetGroup={"DBSubnetGroupName": subnet, "VpcId": "vpc-" + subnet})
            self._set(new, params)
            self._born(new)
            self.instances[name] = new
        elif action == "AddTagsToResource":
            inst = self.instances[name]
            keys = {t["Key"] for t in params["Tags"]}
            inst["_tags"] = [t for t in inst.get("_tags") or [] if t["Key"] not in keys] + params["Tags"]
        elif action == "RemoveTagsFromResource":
            inst = self.instances[name]
            inst["_tags"] = [t for t in inst.get("_tags") or [] if t["Key"] not in params["TagKeys"]]
        elif action == "PromoteReadReplica":
            assert self.instances[name].pop("ReadReplicaSourceDBInstanceIdentifier", None), "promoted a non-replica"
            self._set(self.instances[name], params)
        elif action == "ModifyDBInstance":
            inst = self.instances[name]
            new_name = params.pop("NewDBInstanceIdentifier", None)
            self._set(inst, params)
            if new_name:
                assert new_name not in self.instances, "rename onto an existing name: " + new_name
                memberships = self._memberships(inst)
                inst = self.instances.pop(name)
                inst["DBInstanceIdentifier"] = new_name
                self.instances[new_name] = inst
                inst["DBInstanceArn"] = "arn:aws:rds:{0}:{1}:db:{2}".format(REGION, ACCOUNT, new_name)
                for other in self.instances.values():
                    if other.get("ReadReplicaSourceDBInstanceIdentifier") == name:
                        other["ReadReplicaSourceDBInstanceIdentifier"] = new_name
                for entry in memberships:
                    entry["DBInstanceIdentifier"] = new_name
        elif action == "DeleteDBInstance":
            assert name.startswith(deletable), "deleted an instance neither retired nor rejected: " + name
            assert not any(o.get("ReadReplicaSourceDBInstanceIdentifier") == name for o in self.instances.values()), \
                "deleted a primary before its replicas: " + name
            inst = self.instances.pop(name)
            if inst.get("DBClusterIdentifier"):
                self._leave_cluster(inst)
        elif action not in ("Restart", "Prepare"):
            raise AssertionError("unknown action " + action)
        self._relink()

    def _memberships(self, inst):
        owner = self.clusters.get(inst.get("DBClusterIdentifier") or "") or {}
        return [m for m in owner.get("DBClusterMembers") or [] if m["DBInstanceIdentifier"] ==
                inst["DBInstanceIdentifier"]]

    def _leave_cluster(self, inst):
        """An instance deleted from its cluster; when it was the writer and readers remain, Aurora fails over to
        the reader of the lowest promotion tier."""
        owner = self.clusters[inst["DBClusterIdentifier"]]
        entry = self._memberships(inst)[0]
        owner["DBClusterMembers"].remove(entry)
        if entry["IsClusterWriter"] and owner["DBClusterMembers"]:
            promoted = min(owner["DBClusterMembers"], key=lambda m: (m["PromotionTier"], m["DBInstanceIdentifier"]))
            promoted["IsClusterWriter"] = True

    def _create_member(self, name, params):
        """CreateDBInstance in an Aurora cluster: the cluster's first instance is its writer."""
        assert name not in self.instances, "created twice: " + name
        cluster_name = params.pop("DBClusterIdentifier")
        assert cluster_name in self.clusters, "instance of a missing cluster: " + cluster_name
        owner = self.clusters[cluster_name]
        assert params.pop("Engine") == owner["Engine"], "instance of another engine than its cluster's"
        for key in ("DBSubnetGroupName", "VpcSecurityGroupIds", "Port", "BackupRetentionPeriod", "StorageType",
                    "MasterUserPassword", "DBClusterParameterGroupName"):
            assert key not in params, key + " belongs to the cluster, not to its instances"
        group = copy.deepcopy(self.subnet_groups.get(owner["DBSubnetGroup"]) or subnet_group(owner["DBSubnetGroup"]))
        zones = [s["SubnetAvailabilityZone"]["Name"] for s in group["Subnets"]]
        assert params.get("AvailabilityZone", zones[0]) in zones, "no subnet of the cluster in that zone"
        new = member(name, cluster_name, engine=owner["Engine"], tier=params.pop("PromotionTier", 1),
                     zone=params.pop("AvailabilityZone", zones[0]), group=group, _tags=params.pop("Tags", []),
                     EngineVersion=owner["EngineVersion"], BackupRetentionPeriod=owner["BackupRetentionPeriod"])
        self._set(new, params)
        self._born(new)
        self.instances[name] = new
        owner["DBClusterMembers"].append({"DBInstanceIdentifier": name, "IsClusterWriter":
                                          not owner["DBClusterMembers"], "DBClusterParameterGroupStatus": "in-sync",
                                          "PromotionTier": new["PromotionTier"]})

    def _restored(self, name, engine, version, data, params):
        """A new cluster, without instances, with the request's attributes (the others RDS's defaults)."""
        assert name not in self.clusters, "created twice: cluster " + name
        new = cluster(name, engine=engine, EngineVersion=version, _data=data, _tags=params.pop("Tags", []))
        for key in ("DeletionProtection", "KmsKeyId"):
            assert key not in params, key + " in a restore"
        self._set_cluster(new, params)
        self._born(new)
        self.clusters[name] = new
        return new

    def _apply_cluster(self, action, name, params, deletable):
        if action == "RestoreDBClusterToPointInTime":
            src = self.clusters[params.pop("SourceDBClusterIdentifier")]
            restore_type = params.pop("RestoreType")
            assert restore_type in ("copy-on-write", "full-copy"), restore_type
            assert params.pop("UseLatestRestorableTime") is True
            if restore_type == "copy-on-write":
                assert src["DBClusterMembers"], "clone of a cluster without instances"
                mine = self.subnet_groups.get(src["DBSubnetGroup"]) or {}
                theirs = self.subnet_groups.get(params.get("DBSubnetGroupName", "default")) or {}
                if mine.get("VpcId") != theirs.get("VpcId"):
                    zones = {s["SubnetAvailabilityZone"]["Name"] for s in mine.get("Subnets") or []}
                    assert {s["SubnetAvailabilityZone"]["Name"] for s in theirs.get("Subnets") or []} <= zones, \
                        "cross-VPC clone into zones the source has no subnets in"
            self._restored(name, src["Engine"], src["EngineVersion"], src["_data"], params)
        elif action == "RestoreDBClusterFromSnapshot":
            named = params.pop("SnapshotIdentifier")
            found = [s for s in self.cluster_snapshots if s["DBClusterSnapshotIdentifier"] == named]
            assert found and found[0]["Status"] == "available", "restore of a missing or unavailable snapshot"
            assert params.pop("Engine") == found[0]["Engine"], "restore with another engine than the snapshot's"
            params.pop("EngineVersion", None)
            self._restored(name, found[0]["Engine"], found[0]["EngineVersion"], found[0]["_data"], params)
        elif action == "ModifyDBCluster":
            desc = self.clusters[name]
            new_name = params.pop("NewDBClusterIdentifier", None)
            self._set_cluster(desc, params)
            if new_name:
                assert new_name not in self.clusters, "rename onto an existing cluster: " + new_name
                desc = self.clusters.pop(name)
                desc.update(DBClusterIdentifier=new_name,
                            DBClusterArn="arn:aws:rds:{0}:{1}:cluster:{2}".format(REGION, ACCOUNT, new_name),
                            Endpoint="{0}.cluster-abc.{1}.rds.amazonaws.com".format(new_name, REGION))
                self.clusters[new_name] = desc
                for entry in desc["DBClusterMembers"]:
                    self.instances[entry["DBInstanceIdentifier"]]["DBClusterIdentifier"] = new_name
        elif action == "DeleteDBCluster":
            assert name.startswith(deletable), "deleted a cluster neither retired nor rejected: " + name
            desc = self.clusters[name]
            assert not desc["DBClusterMembers"], "deleted a cluster that still has instances: " + name
            assert not desc.get("DeletionProtection"), "deleted a protected cluster"
            final = params.get("FinalDBSnapshotIdentifier")
            assert bool(final) != bool(params.get("SkipFinalSnapshot")), "a final snapshot, or skip it"
            if final:
                assert not self.cluster_snapshots_of(name, final), "final snapshot exists: " + final
                self.cluster_snapshots.append({
                    "DBClusterSnapshotIdentifier": final, "DBClusterIdentifier": name, "Status": "available",
                    "SnapshotType": "manual", "SnapshotCreateTime": self._now(), "Engine": desc["Engine"],
                    "EngineVersion": desc["EngineVersion"], "_data": desc["_data"]})
            del self.clusters[name]
        elif action == "AddTagsToResource":
            desc = self.clusters[name]
            keys = {t["Key"] for t in params["Tags"]}
            desc["_tags"] = [t for t in desc.get("_tags") or [] if t["Key"] not in keys] + params["Tags"]
        elif action == "RemoveTagsFromResource":
            desc = self.clusters[name]
            desc["_tags"] = [t for t in desc.get("_tags") or [] if t["Key"] not in params["TagKeys"]]
        else:
            raise AssertionError("unknown cluster action " + action)

    @staticmethod
    def _set_cluster(desc, params):
        params.pop("ApplyImmediately", None)
        for key, value in params.items():
            if key == "VpcSecurityGroupIds":
                desc["VpcSecurityGroups"] = [{"VpcSecurityGroupId": g, "Status": "active"} for g in value]
            elif key == "ManageMasterUserPassword":
                assert "MasterUserPassword" not in params, "password and managed secret in one call"
                desc["MasterUserSecret"] = {"SecretArn": "arn:aws:secretsmanager:{0}:{1}:secret:rds!{2}".format(
                    REGION, ACCOUNT, desc["DbClusterResourceId"]), "SecretStatus": "active",
                    "KmsKeyId": params.get("MasterUserSecretKmsKeyId", "aws/secretsmanager")}
            elif key == "MasterUserPassword":
                desc["_password"] = value
            elif key != "MasterUserSecretKmsKeyId":
                desc[CLUSTER_KEYS.get(key, key)] = value

    @staticmethod
    def _set(inst, params):
        params.pop("ApplyImmediately", None)
        for key, value in params.items():
            if key == "DBParameterGroupName":
                inst["DBParameterGroups"] = [{"DBParameterGroupName": value, "ParameterApplyStatus": "in-sync"}]
            elif key == "OptionGroupName":
                inst["OptionGroupMemberships"] = [{"OptionGroupName": value, "Status": "in-sync"}]
            elif key == "Port":
                inst["Endpoint"] = {"Address": "x", "Port": value}
            elif key == "VpcSecurityGroupIds":
                inst["VpcSecurityGroups"] = [{"VpcSecurityGroupId": g, "Status": "active"} for g in value]
            elif key == "EnablePerformanceInsights":
                inst["PerformanceInsightsEnabled"] = value
            elif key == "EnableIAMDatabaseAuthentication":
                inst["IAMDatabaseAuthenticationEnabled"] = value
            elif key == "EnableCloudwatchLogsExports":
                inst["EnabledCloudwatchLogsExports"] = value
            elif key == "ManageMasterUserPassword":
                assert "MasterUserPassword" not in params, "password and managed secret in one call"
                inst["MasterUserSecret"] = {"SecretArn": "arn:aws:secretsmanager:{0}:{1}:secret:rds!{2}".format(
                    REGION, ACCOUNT, inst["DbiResourceId"]), "SecretStatus": "active",
                    "KmsKeyId": params.get("MasterUserSecretKmsKeyId", "aws/secretsmanager")}
            elif key == "MasterUserSecretKmsKeyId":
                continue
            else:
                inst[key] = value


# A resumed run repeats these once applied: the restart (pending while old-* remain), and the steps recorded only
# by the tag step after them.
RECORDED_BY_TAG = ("prepare:", "password:")


def repeats(step):
    return step.kind == "restart" or step.key.startswith(RECORDED_BY_TAG)


def run_waves(account, next_plan, attempts=50):
    """Apply the pending steps of `next_plan()` wave by wave until nothing is pending (or it returns None); a step
    that repeats is not applied twice. Returns the applied keys."""
    applied = []
    for _attempt in range(attempts):
        plan = next_plan()
        pending = [s for s in (plan.pending if plan else []) if not (repeats(s) and s.key in applied)]
        if not pending:
            return applied
        wave = min(s.wave for s in pending)
        for step in [s for s in pending if s.wave == wave]:
            account.apply(step.to_dict())
            applied.append(step.key)
    raise AssertionError("no progress")
