# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guard rails: protected target graphs, and the old primary's final snapshot."""

from __future__ import annotations

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.executor import apply_steps, live_plan
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions
from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy
from ansible_collections.mitosis.rds.plugins.module_utils.report import extend_run, summarize

from .test_executor import SlowRDS
from .test_planner import plan_of, seed_account

RETIRED = "mitosis-demo-final-mitosisdemo"  # from DbiResourceId db-MITOSISDEMO of the retired mitosis-demo


def tagged(account, name, key, value):
    account.instances[name]["_tags"] = list(account.instances[name].get("_tags") or []) + [{"Key": key, "Value": value}]
    return account


@pytest.mark.parametrize("value", ["true", "True"])
def test_a_protected_member_stops_the_plan_before_any_change(value):
    account = tagged(seed_account(), "mitosis-demo-replica", "mitosis:protected", value)
    with pytest.raises(MitosisError, match="mitosis-demo-replica carries the tag mitosis:protected") as info:
        plan_of(account, "mitosis-prod", "mitosis-demo")
    assert "remove-tags-from-resource" in str(info.value) and info.value.identifier == "mitosis-demo-replica"


def test_the_protecting_tag_is_an_option_and_other_values_do_not_protect():
    account = tagged(seed_account(), "mitosis-demo", "env", "production")
    plan_of(account, "mitosis-prod", "mitosis-demo")
    with pytest.raises(MitosisError, match="env=production"):
        plan_of(account, "mitosis-prod", "mitosis-demo", protected_tag=("env", "PRODUCTION"))
    tagged(account, "mitosis-demo", "mitosis:protected", "false")
    plan_of(account, "mitosis-prod", "mitosis-demo")


def test_the_final_snapshot_is_taken_of_the_old_primary_only_before_its_delete():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo", final_snapshot=True)
    snapshot = plan.step("final-snapshot:mitosis-demo")
    assert (snapshot.action, snapshot.identifier, snapshot.params) == (
        "CreateDBSnapshot", "old-mitosis-demo", {"DBSnapshotIdentifier": RETIRED})
    assert snapshot.depends_on == ["restart:mitosis-demo"]
    assert "final-snapshot:mitosis-demo" in plan.step("delete:mitosis-demo").depends_on
    assert "final-snapshot:mitosis-demo" not in plan.step("delete:mitosis-demo-replica").depends_on
    assert [s.key for s in plan.steps if s.kind == "final-snapshot"] == ["final-snapshot:mitosis-demo"]
    assert not [s for s in plan_of(seed_account(), "mitosis-prod", "mitosis-demo").steps if s.kind == "final-snapshot"]


def test_the_final_snapshot_name_is_the_same_in_every_phase():
    account = seed_account()
    full = plan_of(account, "mitosis-prod", "mitosis-demo", final_snapshot=True)
    for step in full.steps:
        if step.kind == "restart":
            break
        account.apply(step.to_dict())
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo", final_snapshot=True)
    assert resumed.phase == "cleanup"
    assert resumed.step("final-snapshot:mitosis-demo").params == {"DBSnapshotIdentifier": RETIRED}


def run_cleanup(rds, plan):
    options = dict(poll_interval=0, settle_time=0, sleep=lambda s: None)
    swapped = apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=plan, phases=["copy", "swap"], **options)
    return apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=swapped["plan"], phases=["cleanup"], **options)


def test_the_snapshot_is_available_before_the_old_primary_is_deleted():
    account = seed_account()
    rds = SlowRDS(account)
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo", CloneOptions(final_snapshot=True))[0].to_dict()
    run_cleanup(rds, plan)
    calls = [(action, name) for action, name in rds.calls if action in ("CreateDBSnapshot", "DeleteDBInstance")]
    assert calls.index(("CreateDBSnapshot", "old-mitosis-demo")) < calls.index(("DeleteDBInstance", "old-mitosis-demo"))
    snapshot = [s for s in account.snapshots if s["DBSnapshotIdentifier"] == RETIRED]
    assert snapshot and snapshot[0]["Status"] == "available" and snapshot[0]["DbiResourceId"] == "db-MITOSISDEMO"
    assert "old-mitosis-demo" not in account.instances


def test_a_resumed_run_finds_the_final_snapshot_and_takes_no_second_one():
    account = seed_account()
    rds = SlowRDS(account, fail={("DeleteDBInstance", "old-mitosis-demo"): "InvalidParameterValue"})
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo", CloneOptions(final_snapshot=True))[0].to_dict()
    with pytest.raises(MitosisError, match="DeleteDBInstance"):
        run_cleanup(rds, plan)
    # Stopped between the snapshot and the delete: the next run plans again and finds the snapshot.
    resumed = live_plan(rds, "mitosis-prod", "mitosis-demo", CloneOptions(final_snapshot=True))[0]
    result = apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=resumed.to_dict(), phases=["cleanup"],
                         poll_interval=0, settle_time=0, sleep=lambda s: None)
    assert [a for a, _n in rds.calls].count("CreateDBSnapshot") == 1
    snapshot_step = [s for s in result["steps"] if s["kind"] == "final-snapshot"][0]
    assert snapshot_step["status"] == "skipped" and RETIRED in snapshot_step["reason"]
    assert "old-mitosis-demo" not in account.instances


def test_the_summary_and_the_policy_name_the_final_snapshot():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo", final_snapshot=True)
    statements = {s["Sid"]: s for s in iam_policy(plan, "123456789012", "us-east-1")["Statement"]}
    snapshot_arn = "arn:aws:rds:us-east-1:123456789012:snapshot:" + RETIRED
    assert statements["CreateDBSnapshot"]["Resource"] == [
        "arn:aws:rds:us-east-1:123456789012:db:old-mitosis-demo", snapshot_arn]
    assert statements["DescribeDBSnapshots"]["Resource"] == [snapshot_arn]
    run = extend_run(None, [], {}, snapshots={"old-mitosis-demo": RETIRED})
    lines = summarize(run, "mitosis-prod", "mitosis-demo", ["mitosis-demo"], "replica")["lines"]
    assert "old-mitosis-demo was kept in the final snapshot {0} before it was deleted".format(RETIRED) in lines
