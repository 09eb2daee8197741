# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory RDS account for planner tests: descriptions shaped like DescribeDBInstances output,
and the effect of each planned call applied the way RDS applies it (links follow renames)."""

from __future__ import annotations

import copy

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


class Account:
    def __init__(self, instances, snapshots=None):
        self.instances = {i["DBInstanceIdentifier"]: copy.deepcopy(i) for i in instances}
        self.snapshots = snapshots or []
        self.clock = 0
        for inst in self.instances.values():
            inst.setdefault("InstanceCreateTime", self._now())
        self._relink()

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

    def tags_of(self, desc):
        return desc.get("_tags", [])

    def snapshots_of(self, name, snapshot_identifier=None):
        if snapshot_identifier:
            return [s for s in self.snapshots if s["DBSnapshotIdentifier"] == snapshot_identifier]
        return [s for s in self.snapshots if s["DBInstanceIdentifier"] == name]

    def apply(self, step):
        """What RDS does for one planned call, completed."""
        action, name, params = step["action"], step["identifier"], dict(step["params"])
        if action == "CreateDBInstanceReadReplica":
            assert name not in self.instances, "created twice: " + name
            src = self.instances[params.pop("SourceDBInstanceIdentifier")]
            assert src["BackupRetentionPeriod"] > 0, "replica of a source without backups"
            assert not src.get("MasterUserSecret"), "replica of a source whose password Secrets Manager manages"
            tags = params.pop("Tags", [])
            new = instance(name, engine=src["Engine"], parent=src["DBInstanceIdentifier"], _tags=tags,
                           BackupRetentionPeriod=0, DBSubnetGroup=src["DBSubnetGroup"])
            self._set(new, params)
            new["InstanceCreateTime"] = self._now()
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
            new["InstanceCreateTime"] = self._now()
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
            new["InstanceCreateTime"] = self._now()
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
                inst = self.instances.pop(name)
                inst["DBInstanceIdentifier"] = new_name
                self.instances[new_name] = inst
                for other in self.instances.values():
                    if other.get("ReadReplicaSourceDBInstanceIdentifier") == name:
                        other["ReadReplicaSourceDBInstanceIdentifier"] = new_name
        elif action == "DeleteDBInstance":
            assert name.startswith(("old-", "rej-")), "deleted an instance neither retired nor rejected: " + name
            assert not any(o.get("ReadReplicaSourceDBInstanceIdentifier") == name for o in self.instances.values()), \
                "deleted a primary before its replicas: " + name
            del self.instances[name]
        elif action not in ("Restart", "Prepare"):
            raise AssertionError("unknown action " + action)
        self._relink()

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
