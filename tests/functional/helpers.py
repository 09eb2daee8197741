"""Shared helpers of the ansible-playbook tests."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
# Fast polling for the simulated clock; the rename settle time only matters when a reboot is missed.
FAST = {"poll_interval": 0.05, "rename_settle_time": 0.5}

# The mutating calls of the seed's example, in order: the seed README's flight plan.
SEED_MUTATING_CALLS = [
    ("CreateDBInstanceReadReplica", "temp-mitosis-demo"),
    ("PromoteReadReplica", "temp-mitosis-demo"),
    ("ModifyDBInstance", "temp-mitosis-demo"),
    ("CreateDBInstanceReadReplica", "temp-mitosis-demo-replica"),
    ("ModifyDBInstance", "temp-mitosis-demo-replica"),
    ("ModifyDBInstance", "mitosis-demo-replica"),
    ("ModifyDBInstance", "mitosis-demo"),
    ("ModifyDBInstance", "temp-mitosis-demo-replica"),
    ("ModifyDBInstance", "temp-mitosis-demo"),
    ("DeleteDBInstance", "old-mitosis-demo-replica"),
    ("DeleteDBInstance", "old-mitosis-demo"),
]


def clone_vars(source="mitosis-prod", target="mitosis-demo", **extra):
    return dict(FAST, source=source, target=target, **extra)


def instances(endpoint):
    rds = endpoint.client("rds")
    found = {}
    for page in rds.get_paginator("describe_db_instances").paginate():
        for inst in page["DBInstances"]:
            found[inst["DBInstanceIdentifier"]] = inst
    return found


def shape(endpoint, names):
    """What must survive a refresh: links, class, port, tags, groups, windows, security groups."""
    rds = endpoint.client("rds")
    live = instances(endpoint)
    out = {}
    for name in names:
        inst = live[name]
        out[name] = {
            "source": inst.get("ReadReplicaSourceDBInstanceIdentifier"),
            "class": inst["DBInstanceClass"],
            "port": inst["Endpoint"]["Port"],
            "tags": sorted((t["Key"], t["Value"]) for t in
                           rds.list_tags_for_resource(ResourceName=inst["DBInstanceArn"])["TagList"]),
            "parameter_groups": [g["DBParameterGroupName"] for g in inst.get("DBParameterGroups", [])],
            "option_groups": [g["OptionGroupName"] for g in inst.get("OptionGroupMemberships", [])],
            "maintenance_window": inst.get("PreferredMaintenanceWindow"),
            "backup_window": inst.get("PreferredBackupWindow"),
            "security_groups": sorted(g["VpcSecurityGroupId"] for g in inst.get("VpcSecurityGroups", [])),
            "storage": inst.get("StorageType"),
            "vpc": inst.get("DBSubnetGroup", {}).get("VpcId"),
        }
    return out
