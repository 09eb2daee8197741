"""Shared helpers of the ansible-playbook tests."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from devtools.rds_endpoint.testing import is_lock_call

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
# Fast polling for the simulated clock; the rename settle time only matters when a reboot is missed (at speed 0, always:
# the whole rename happens at once), and each run waits it out.
FAST = {"poll_interval": 0.02, "rename_settle_time": 0.15, "lock_settle_time": 0.2}

# The seed README's flight plan: the plan lists the seed's calls in the seed's order.
SEED_FLIGHT_PLAN = [
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
# The calls a clone makes, in order: the same, except that the replica is created (from the promoted clone,
# whose promotion enabled backups) before the root's own modify, which then runs beside it.
SEED_MUTATING_CALLS = SEED_FLIGHT_PLAN[:2] + [SEED_FLIGHT_PLAN[3], SEED_FLIGHT_PLAN[2]] + SEED_FLIGHT_PLAN[4:]


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


def seed_second_target(endpoint, name="mitosis-staging"):
    """After seed_example: another stack to refresh from mitosis-prod, `name` -> `name`-replica, in the same
    VPC with attributes of its own (class, ports, groups, tags). Returns its instance names, parents first."""
    from devtools.seed import Seeder  # appended helper: imported here, where it is used

    seeder = Seeder(endpoint.session(), endpoint.url)
    demo_subnets = seeder.rds.describe_db_subnet_groups(DBSubnetGroupName="mitosis-demo-subnets")["DBSubnetGroups"][0]
    security_group = seeder.security_group(name + "-db", demo_subnets["VpcId"])
    subnet_group = seeder.subnet_group(name + "-subnets", [s["SubnetIdentifier"] for s in demo_subnets["Subnets"]])
    parameter_group = seeder.parameter_group(name + "-mysql80", "mysql")
    tags = [{"Key": "Service", "Value": "Mitosis"}, {"Key": "Environment", "Value": name}]
    seeder.primary(name, "mysql", DBInstanceClass="db.t3.small", AllocatedStorage=30, StorageType="gp2", Port=5440,
                   BackupRetentionPeriod=2, PreferredMaintenanceWindow="wed:06:00-wed:06:30",
                   PreferredBackupWindow="04:00-04:30", DBSubnetGroupName=subnet_group,
                   VpcSecurityGroupIds=[security_group], DBParameterGroupName=parameter_group, Tags=tags)
    seeder.settle()
    replica = seeder.replica(name + "-replica", name, {"PreferredMaintenanceWindow": "thu:06:00-thu:06:30"},
                             DBInstanceClass="db.t3.micro", StorageType="gp2", Port=5441,
                             VpcSecurityGroupIds=[security_group],
                             Tags=tags + [{"Key": "IsReplica", "Value": "true"}])
    return [name, replica]


def mutating(endpoint):
    """The refresh's own mutating calls, in order: every mutating call but the lock's (test_lock.py checks those)."""
    return [call for call in endpoint.mutating_calls() if not is_lock_call(call)]


def kill_when(endpoint, playbook, extra_vars, path, reached, timeout=120, every_process=False):
    """Run `playbook` with `extra_vars` (written to `path`), and kill -9 it (its whole session; with
    `every_process`, Ansible's workers too, which run in sessions of their own) as soon as `reached(endpoint)`; the
    run must not end before."""
    path.write_text(json.dumps(extra_vars))
    process = subprocess.Popen([ANSIBLE_PLAYBOOK, playbook, "-e", "@" + str(path)], cwd=ROOT,
                               env=dict(os.environ, **endpoint.env), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + timeout
        while not reached(endpoint):
            assert process.poll() is None, "the run ended before the kill point"
            assert time.time() < deadline, "the kill point never came"
            time.sleep(0.02)
    finally:
        workers = psutil.Process(process.pid).children(recursive=True) if every_process else []
        os.killpg(process.pid, signal.SIGKILL)
        for worker in workers:
            try:
                worker.kill()
            except psutil.NoSuchProcess:
                pass
        process.wait()
