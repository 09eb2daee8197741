"""The approved plan: what refuses a run, what only warns."""

import copy

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils.approval import approval, check_approved, differences
from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.plans import flight_plan

from .test_planner import plan_of, seed_account


def seed_plan():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    return plan, approval(plan, flight_plan(plan))


def test_the_same_plan_is_approved_whatever_its_marks():
    plan, approved = seed_plan()
    for step in approved["steps"][:3]:
        step["status"] = "done"
    assert check_approved(approved, plan, flight_plan(plan), picked_snapshot=True) == []


def test_a_new_step_a_dropped_step_and_other_parameters_refuse_naming_each():
    plan, approved = seed_plan()
    live = copy.deepcopy(approved)
    del live["steps"][-2]  # no more delete of old-mitosis-demo-replica
    live["steps"].append(dict(live["steps"][3], id="create:mitosis-demo-replica-2",
                              identifier="temp-mitosis-demo-replica-2"))
    live["steps"][0]["params"]["DBInstanceClass"] = "db.r6g.large"
    refusals, notes = differences(approved, live, picked_snapshot=True)
    assert notes == []
    assert len(refusals) == 3
    assert refusals[0] == ("CreateDBInstanceReadReplica temp-mitosis-demo: DBInstanceClass=db.r6g.large "
                           "(approved: db.t3.micro)")
    assert refusals[1].startswith("a new step: wave 3 CreateDBInstanceReadReplica temp-mitosis-demo-replica-2 ")
    assert refusals[2] == "a step no longer planned: DeleteDBInstance old-mitosis-demo-replica"
    assert "SourceDBInstanceIdentifier=temp-mitosis-demo" in refusals[1]


def test_another_copy_method_refuses_and_a_newer_snapshot_it_picked_only_warns():
    _plan, approved = seed_plan()
    live = copy.deepcopy(approved)
    live["copy_method"] = "snapshot"
    assert differences(approved, live, picked_snapshot=True)[0] == ["the copy method is snapshot (approved: replica)"]
    approved["steps"][0]["params"]["DBSnapshotIdentifier"] = "rds:mitosis-prod-2026-12-04"
    live = copy.deepcopy(approved)
    live["steps"][0]["params"]["DBSnapshotIdentifier"] = "rds:mitosis-prod-2026-12-05"
    refusals, notes = differences(approved, live, picked_snapshot=True)
    assert refusals == [] and "the newest snapshot, taken since the approval" in notes[0]
    # A snapshot the user named must be the approved one.
    assert differences(approved, live, picked_snapshot=False)[0]


def test_something_else_than_a_published_plan_is_refused_with_what_to_pass():
    plan, _approved = seed_plan()
    with pytest.raises(MitosisError, match="not a plan published by a check-mode run") as raised:
        check_approved({"steps": "no"}, plan, flight_plan(plan), picked_snapshot=True)
    assert "mitosis_plan" in str(raised.value)


def test_a_refusal_says_what_to_do():
    plan, approved = seed_plan()
    approved["target"] = "mitosis-staging"
    with pytest.raises(MitosisError, match="differs from the approved plan") as raised:
        check_approved(approved, plan, flight_plan(plan), picked_snapshot=True)
    assert "the target is mitosis-demo (approved: mitosis-staging)" in str(raised.value)
    assert "Run in check mode again" in str(raised.value)
