"""Fixtures that run real `ansible-playbook` against the embedded RDS endpoint.

One endpoint serves the session; every test starts from a reset account (speed 0 unless the test
turns the time model on) and seeds what it needs with devtools.seed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.rds_endpoint.testing import running_endpoint

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
# Fast polling for the simulated clock; the rename settle time only matters when a reboot is missed.
FAST = {"poll_interval": 0.05, "rename_settle_time": 0.5}


@pytest.fixture(scope="session")
def endpoint_server():
    with running_endpoint(speed=0.0) as server:
        yield server


@pytest.fixture
def endpoint(endpoint_server):
    endpoint_server.reset()
    endpoint_server.set_speed(0.0)
    return endpoint_server


class Result:
    def __init__(self, process):
        self.rc = process.returncode
        self.out = process.stdout + process.stderr

    def __repr__(self):
        return "rc={0}\n{1}".format(self.rc, self.out[-6000:])


@pytest.fixture
def playbook(endpoint, tmp_path):
    """Run a playbook (a path relative to the repository) with extra vars; returns a Result."""

    def run(path, extra=None, args=(), env=None, timeout=600):
        extra_file = tmp_path / "extra-vars.json"
        extra_file.write_text(json.dumps(extra or {}))
        command = [ANSIBLE_PLAYBOOK, path, "-e", "@" + str(extra_file), *args]
        environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **endpoint.env)
        environment.update(env or {})
        process = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True,
                                 timeout=timeout, check=False)
        return Result(process)

    return run


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
