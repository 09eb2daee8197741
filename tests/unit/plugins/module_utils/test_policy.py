# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy

from .test_planner import plan_of, seed_account, snapshot_account

PREFIX = "arn:aws:rds:us-east-1:123456789012:"


def statements(policy):
    return {s["Sid"]: s for s in policy["Statement"]}


def db_names(statement):
    return sorted(r[len(PREFIX) + 3:] for r in statement["Resource"] if r.startswith(PREFIX + "db:"))


def test_seed_policy_names_exactly_the_instances_the_plan_touches():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    policy = iam_policy(plan, "123456789012", "us-east-1")
    json.loads(json.dumps(policy))
    by_sid = statements(policy)
    assert all(len(s["Action"]) == 1 and s["Effect"] == "Allow" for s in policy["Statement"])
    assert db_names(by_sid["CreateDBInstanceReadReplica"]) == [
        "mitosis-prod", "temp-mitosis-demo", "temp-mitosis-demo-replica"]
    assert db_names(by_sid["AddTagsToResource"]) == ["temp-mitosis-demo", "temp-mitosis-demo-replica"]
    assert db_names(by_sid["PromoteReadReplica"]) == ["temp-mitosis-demo"]
    assert db_names(by_sid["ModifyDBInstance"]) == sorted([
        "temp-mitosis-demo", "temp-mitosis-demo-replica", "mitosis-demo-replica", "old-mitosis-demo-replica",
        "mitosis-demo", "old-mitosis-demo"])
    assert db_names(by_sid["DeleteDBInstance"]) == ["old-mitosis-demo", "old-mitosis-demo-replica"]
    assert by_sid["DescribeDBInstances"]["Resource"] == [PREFIX + "db:*"]
    touched = set()
    for step in plan.steps:
        if step.action != "Restart":
            touched.update([step.identifier] + ([step.new_identifier] if step.new_identifier else []))
            touched.update([step.params["SourceDBInstanceIdentifier"]] if "SourceDBInstanceIdentifier" in
                           step.params else [])
    named = set()
    for statement in policy["Statement"]:
        named.update(n for n in db_names(statement) if n != "*")
    assert named == touched
    for statement in policy["Statement"]:
        assert all(r.startswith(PREFIX) for r in statement["Resource"])


def test_snapshot_policy_allows_the_restore_of_that_snapshot_only():
    plan = plan_of(snapshot_account(), "prod", "demo", copy_method="snapshot")
    by_sid = statements(iam_policy(plan, "123456789012", "us-east-1"))
    assert PREFIX + "snapshot:rds:prod-new" in by_sid["RestoreDBInstanceFromDBSnapshot"]["Resource"]
    assert "DescribeDBSnapshots" in by_sid
    assert "PromoteReadReplica" not in by_sid


def test_partition_follows_the_region():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    policy = iam_policy(plan, "1", "cn-north-1")
    assert policy["Statement"][0]["Resource"] == ["arn:aws-cn:rds:cn-north-1:1:db:*"]
