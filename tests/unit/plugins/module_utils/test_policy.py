# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy

from .test_planner import managed_account, plan_of, seed_account, snapshot_account

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
    # The clones get their tags; the lock is a tag on whichever instance holds the target's name.
    lock = ["mitosis-demo", "old-mitosis-demo", "rej-mitosis-demo", "temp-mitosis-demo"]
    assert db_names(by_sid["AddTagsToResource"]) == sorted(set(lock) | {"temp-mitosis-demo-replica"})
    assert db_names(by_sid["RemoveTagsFromResource"]) == lock
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
    assert named == touched | set(lock)
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


SECRETS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"


def actions(policy):
    return [action for statement in policy["Statement"] for action in statement["Action"]]


def test_point_in_time_policy_allows_the_restore_from_the_source_into_the_clone():
    plan = plan_of(snapshot_account(), "prod", "demo")
    assert plan.mode == "point_in_time"
    by_sid = statements(iam_policy(plan, "123456789012", "us-east-1"))
    restore = by_sid["RestoreDBInstanceToPointInTime"]
    assert restore["Action"] == ["rds:RestoreDBInstanceToPointInTime"]
    assert db_names(restore) == ["prod", "temp-demo"]
    # The subnet group and the other groups the restore names.
    assert PREFIX + "subgrp:*" in restore["Resource"]
    assert db_names(by_sid["AddTagsToResource"]) == ["demo", "old-demo", "rej-demo", "temp-demo", "temp-demo-r"]
    assert db_names(by_sid["CreateDBInstanceReadReplica"]) == ["temp-demo", "temp-demo-r"]
    for absent in ("RestoreDBInstanceFromDBSnapshot", "DescribeDBSnapshots", "PromoteReadReplica"):
        assert absent not in by_sid
    # The source is only read from: nothing else may act on it.
    for sid, statement in by_sid.items():
        if sid not in ("RestoreDBInstanceToPointInTime", "DescribeDBInstances", "ListTagsForResource"):
            assert "prod" not in db_names(statement), sid


def test_a_named_secret_may_be_read_and_nothing_else():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo", password="Secret-Pass-1",
                   password_source="master_password_secret mitosis-demo/app")
    policy = iam_policy(plan, "123456789012", "us-east-1", secret="mitosis-demo/app")
    read = [s for s in policy["Statement"] if any(a.startswith("secretsmanager:") for a in s["Action"])]
    assert len(read) == 1
    assert read[0]["Effect"] == "Allow"
    assert read[0]["Action"] == ["secretsmanager:GetSecretValue"]
    # Secrets Manager appends six random characters to a secret's name.
    assert read[0]["Resource"] == [SECRETS + "mitosis-demo/app-??????"]
    assert not [a for a in actions(policy) if a.startswith("kms:")]
    assert "Secret-Pass-1" not in json.dumps(policy)
    # The reset and its tag are on the clone, which the policy already lets the run modify and tag.
    by_sid = statements(policy)
    assert "temp-mitosis-demo" in db_names(by_sid["ModifyDBInstance"])
    assert "temp-mitosis-demo" in db_names(by_sid["AddTagsToResource"])


def test_a_secret_arn_is_used_as_given():
    arn = SECRETS + "mitosis-demo/app-AbCdEf"
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    policy = iam_policy(plan, "123456789012", "us-east-1", secret=arn)
    read = [s for s in policy["Statement"] if s["Action"] == ["secretsmanager:GetSecretValue"]]
    assert [s["Resource"] for s in read] == [[arn]]


def test_a_secret_name_follows_the_partition_of_the_region():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    policy = iam_policy(plan, "1", "cn-north-1", secret="app")
    read = [s for s in policy["Statement"] if s["Action"] == ["secretsmanager:GetSecretValue"]]
    assert read[0]["Resource"] == ["arn:aws-cn:secretsmanager:cn-north-1:1:secret:app-??????"]


def test_a_managed_target_lets_rds_manage_the_clone_secret_with_the_target_key():
    plan = plan_of(managed_account(), "prod", "demo")
    policy = iam_policy(plan, "123456789012", "us-east-1")
    managed = [s for s in policy["Statement"] if "secretsmanager:CreateSecret" in s["Action"]]
    assert len(managed) == 1
    assert sorted(managed[0]["Action"]) == ["secretsmanager:CreateSecret", "secretsmanager:TagResource"]
    assert managed[0]["Resource"] == [SECRETS + "rds!*"]
    keys = [s for s in policy["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
    assert len(keys) == 1
    assert sorted(keys[0]["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    assert keys[0]["Resource"] == ["arn:aws:kms:us-east-1:123456789012:key/demo"]
    # No secret is read: the clone's password is RDS's to make.
    assert "secretsmanager:GetSecretValue" not in actions(policy)
    by_sid = statements(policy)
    assert db_names(by_sid["RestoreDBInstanceToPointInTime"]) == ["prod", "temp-demo"]
    assert "temp-demo" in db_names(by_sid["ModifyDBInstance"])


def test_a_managed_target_secret_without_a_known_key_allows_the_accounts_keys():
    account = managed_account()
    del account.instances["demo"]["MasterUserSecret"]["KmsKeyId"]
    policy = iam_policy(plan_of(account, "prod", "demo"), "123456789012", "us-east-1")
    assert "secretsmanager:CreateSecret" in actions(policy)
    keys = [s for s in policy["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
    assert keys[0]["Resource"] == ["arn:aws:kms:us-east-1:123456789012:key/*"]


def test_a_plain_replica_plan_allows_no_secret_key_or_point_in_time_restore():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    policy = iam_policy(plan, "123456789012", "us-east-1")
    assert not [a for a in actions(policy) if a.startswith(("secretsmanager:", "kms:"))]
    assert "rds:RestoreDBInstanceToPointInTime" not in actions(policy)
    assert all(a.startswith("rds:") for a in actions(policy))


def test_a_shared_snapshot_named_by_its_arn_is_allowed_as_given():
    shared = "arn:aws:rds:us-east-1:999999999999:snapshot:shared-prod"
    account = snapshot_account()
    account.snapshots.append({"DBSnapshotIdentifier": shared, "DBInstanceIdentifier": "prod", "Status": "available",
                              "SnapshotCreateTime": "2026-11-21T00:00:00"})
    plan = plan_of(account, "prod", "demo", snapshot_identifier=shared)
    assert plan.steps[0].params["DBSnapshotIdentifier"] == shared
    restore = statements(iam_policy(plan, "123456789012", "us-east-1"))["RestoreDBInstanceFromDBSnapshot"]
    assert shared in restore["Resource"]
    assert not [r for r in restore["Resource"] if r.count("arn:") > 1]


def test_a_step_kind_the_layouts_do_not_name_yet_gets_its_own_statement_last():
    """A new kind of step brings its grants: the policy needs no change for it (another service's actions too)."""
    from ansible_collections.mitosis.rds.plugins.module_utils.steps import Step

    class SwitchRecord(Step):
        kind = "switch-record"

        def grants(self, arn, source):
            return [("route53:ChangeResourceRecordSets", ["arn:aws:route53:::hostedzone/Z123"])]

    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    before = iam_policy(plan, "123456789012", "us-east-1")["Statement"]
    plan.steps.append(SwitchRecord("switch:mitosis-demo", "swap", "ChangeResourceRecordSets", "demo.example.", {},
                                   "mitosis-demo"))
    after = iam_policy(plan, "123456789012", "us-east-1")["Statement"]
    assert after[:len(before)] == before
    assert after[len(before):] == [{"Sid": "ChangeResourceRecordSets", "Effect": "Allow",
                                    "Action": ["route53:ChangeResourceRecordSets"],
                                    "Resource": ["arn:aws:route53:::hostedzone/Z123"]}]
