# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 21: a plan with masking rules copies the new primary without backups, masks it (logged in with the password
the run was given, or a temporary one when Secrets Manager will manage it), records the rules, switches its backups on
and only then creates its replicas, and checks the masking on all of them before any name moves. Without a way to log
in, or with an unmasked clone of an earlier run and no rules, it refuses before any change."""

from __future__ import annotations

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils import masking
from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.credentials import secret_salt
from ansible_collections.mitosis.rds.plugins.module_utils.plans import flight_plan
from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy
from ansible_collections.mitosis.rds.plugins.module_utils.steps import Secrets

from . import test_cluster
from .rds_state import ACCOUNT, REGION
from .test_credentials import FakeSecrets
from .test_planner import managed_account, plan_of, seed_account, siblings_account, snapshot_account

RULES = masking.check_rules({"database": "shop", "tables": {"public.customers": {"email": "email", "phone": "null"}}})
PASSWORD = dict(password="s3cret-Pass!", password_source="master_password")


def keys(plan):
    return [s.key for s in plan.steps]


def step(plan, key):
    return next(s for s in plan.steps if s.key == key)


def depends(plan, key, on):
    """`key` waits for `on`, directly or through other steps."""
    seen, todo = set(), [key]
    while todo:
        current = todo.pop()
        for dep in step(plan, current).depends_on:
            if dep == on:
                return True
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return False


def test_the_primary_is_masked_before_its_backups_and_replicas_and_checked_before_any_name_moves():
    plan = plan_of(siblings_account(), "pg-prod", "pg-demo", mask_rules=RULES, **PASSWORD)
    assert step(plan, "promote:pg-demo").params == {"BackupRetentionPeriod": 0}
    assert {"Key": "mitosis:mask", "Value": "required"} in step(plan, "create:pg-demo").params["Tags"]
    mask = step(plan, "mask:pg-demo")
    assert mask.params == {"Engine": "postgres", "Database": "shop", "Rules": RULES}
    assert depends(plan, "mask:pg-demo", "tag-credentials:pg-demo") and depends(plan, "mask:pg-demo",
                                                                                "promote:pg-demo")
    digest = masking.rules_digest(RULES)
    assert step(plan, "tag-masked:pg-demo").params["Tags"] == [{"Key": "mitosis:masked", "Value": digest}]
    backups = step(plan, "backups:pg-demo")
    assert backups.params["BackupRetentionPeriod"] == 1 and backups.depends_on == ["tag-masked:pg-demo"]
    for replica in ("pg-demo-r1", "pg-demo-r2"):
        assert depends(plan, "create:" + replica, "backups:pg-demo")
        assert depends(plan, "mask-check:pg-demo", "create:" + replica)
        assert depends(plan, "swap-out:" + replica, "mask-check:pg-demo")
    assert step(plan, "mask-check:pg-demo").params["Replicas"] == ["temp-pg-demo-r1", "temp-pg-demo-r2"]
    assert keys(plan).count("password:pg-demo") == 1
    untag = step(plan, "untag:pg-demo").params["TagKeys"]
    assert "mitosis:mask" in untag and "mitosis:masked" in untag
    text = flight_plan(plan)
    assert "Mask temp-pg-demo" in text
    assert 'ALTER TABLE "public"."customers" ALTER COLUMN "email" TYPE <its type> USING' in text
    # No rules: the promotion switches the backups on itself, as before.
    plain = plan_of(siblings_account(), "pg-prod", "pg-demo", **PASSWORD)
    assert step(plain, "promote:pg-demo").params["BackupRetentionPeriod"] == 1
    assert not [k for k in keys(plain) if k.startswith(("mask", "backups", "tag-masked"))]


def test_a_managed_target_is_masked_with_a_temporary_password_and_gets_its_secret_after_the_check():
    account = managed_account()
    for inst in account.instances.values():
        inst["Engine"] = "postgres"
    plan = plan_of(account, "prod", "demo", mask_rules=RULES)
    assert "password:demo" not in keys(plan)
    assert step(plan, "mask-login:demo").params["MasterUserPassword"] != "s3cret-Pass!"
    assert depends(plan, "mask:demo", "mask-login:demo")
    assert depends(plan, "manage-secret:demo", "mask-check:demo")
    restore = step(plan, "restore:demo")
    assert restore.params["BackupRetentionPeriod"] == 0
    assert step(plan, "backups:demo").params["BackupRetentionPeriod"] == 7
    policy = iam_policy(plan, ACCOUNT, REGION)
    modify = [s for s in policy["Statement"] if "rds:ModifyDBInstance" in s["Action"]]
    assert any("db:temp-demo" in r for s in modify for r in s["Resource"])


def test_a_snapshot_restore_is_restored_without_backups_then_masked():
    plan = plan_of(snapshot_account(), "prod", "demo", copy_method="snapshot",
                   mask_rules=masking.check_rules({"tables": {"shop.customers": {"email": "email"}},
                                                   "database": "shop"}), **PASSWORD)
    assert step(plan, "restore:demo").params["BackupRetentionPeriod"] == 0
    assert "BackupRetentionPeriod" not in (step(plan, "modify:demo").params if "modify:demo" in keys(plan) else {})
    assert step(plan, "mask:demo").params["Engine"] == "mysql"
    assert depends(plan, "create:demo-r", "backups:demo")


def test_masking_without_a_way_to_log_in_is_refused_before_any_change():
    with pytest.raises(MitosisError, match="does not know that password") as refused:
        plan_of(siblings_account(), "pg-prod", "pg-demo", mask_rules=RULES)
    assert "master_password" in refused.value.hint
    mysql_rules = masking.check_rules({"tables": {"shop.customers": {"email": "email"}}})
    with pytest.raises(MitosisError, match="names no database"):
        plan_of(seed_account(), "mitosis-prod", "mitosis-demo", mask_rules=mysql_rules, **PASSWORD)


def test_an_unmasked_clone_of_an_earlier_run_is_never_swapped_in_by_a_run_without_rules():
    account = siblings_account()
    plan = plan_of(account, "pg-prod", "pg-demo", mask_rules=RULES, **PASSWORD)
    for copy in plan.steps:
        if copy.kind == "mask":
            break
        account.apply(copy.to_dict())
    assert "temp-pg-demo" in account.instances
    with pytest.raises(MitosisError, match="unmasked") as refused:
        plan_of(account, "pg-prod", "pg-demo", **PASSWORD)
    assert "mask_rules" in refused.value.hint and "discard_clone" in refused.value.hint
    # With the rules again, the masking goes on on that clone; with discard_clone, it is copied anew.
    again = plan_of(account, "pg-prod", "pg-demo", mask_rules=RULES, **PASSWORD)
    assert step(again, "mask:pg-demo").status == "pending" and step(again, "create:pg-demo").status == "done"
    anew = plan_of(account, "pg-prod", "pg-demo", discard_clone=True, **PASSWORD)
    assert "discard-clone:pg-demo" in keys(anew)


def test_an_aurora_clone_is_masked_through_its_writer_before_its_readers_exist():
    rules = masking.check_rules({"database": "shop", "tables": {"public.customers": {"email": "email"}}})
    for account, options in ((test_cluster.aurora_account(), PASSWORD), (test_cluster.managed_account(), {})):
        plan = test_cluster.plan_of(account, mask_rules=rules, **options)
        writer, readers = "create:demo-w", ["create:demo-a", "create:demo-b"]
        assert depends(plan, "mask:demo", writer) and step(plan, "mask:demo").cluster
        for reader in readers:
            assert depends(plan, reader, "tag-masked:demo") and depends(plan, "mask-check:demo", reader)
        assert "backups:demo" not in keys(plan)  # Aurora's backups are always on: the flight plan says so
        assert any("continuous backups" in warning for warning in plan.warnings)
        assert sorted(step(plan, "mask-check:demo").params["Replicas"]) == ["temp-demo-a", "temp-demo-b",
                                                                            "temp-demo-w"]
        if options:
            assert depends(plan, "mask:demo", "tag-credentials:demo") and "mask-login:demo" not in keys(plan)
        else:
            assert step(plan, "mask-login:demo").action == "ModifyDBCluster"
            assert depends(plan, "manage-secret:demo", "mask-check:demo")


@pytest.mark.parametrize("stored", ['{"salt": "Pepper-1"}', "Pepper-1"])
def test_a_salt_secret_is_read_as_json_or_text_and_only_it_is_readable_by_the_policy(stored):
    assert secret_salt(FakeSecrets(stored), "demo/mask-salt") == "Pepper-1"
    with pytest.raises(MitosisError, match="holds no salt"):
        secret_salt(FakeSecrets('{"password": "x"}'), "demo/mask-salt")
    plan = plan_of(siblings_account(), "pg-prod", "pg-demo", mask_rules=RULES, **PASSWORD)
    by_sid = {s["Sid"]: s for s in iam_policy(plan, ACCOUNT, REGION, salt_secret="demo/mask-salt")["Statement"]}
    assert by_sid["ReadMaskSaltSecret"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert by_sid["ReadMaskSaltSecret"]["Resource"] == [
        "arn:aws:secretsmanager:{0}:{1}:secret:demo/mask-salt-??????".format(REGION, ACCOUNT)]
    assert "ReadMasterPasswordSecret" not in by_sid


def test_the_salt_of_a_secret_is_read_once_when_first_needed():
    read = []
    secrets = Secrets(salt=lambda: read.append(1) or "Pepper-1")
    assert not read and secrets.salt == "Pepper-1" and read == [1]
    assert Secrets().salt is None
