# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling a refresh back between its swap and its cleanup, and resuming the rollback from anywhere."""

from __future__ import annotations

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.executor import apply_steps, live_plan
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions, flight_plan
from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy
from ansible_collections.mitosis.rds.plugins.module_utils.rollback import plan_rollback

from .rds_state import run_waves
from .test_executor import SlowRDS
from .test_planner import cascade_account, plan_of, seed_account

FAST = dict(poll_interval=0, settle_time=0, sleep=lambda s: None)


def swapped(account, source="mitosis-prod", target="mitosis-demo"):
    """The account after a refresh's swap (and its restart), before its cleanup; with the original resource ids."""
    originals = {n: i["DbiResourceId"] for n, i in account.instances.items() if n.startswith(target)}
    for step in plan_of(account, source, target).steps:
        if step.kind == "restart":
            break
        account.apply(step.to_dict())
    return originals


def rollback_of(account, target="mitosis-demo"):
    return plan_rollback(account.graph(), target)


def run_to_end(account, target="mitosis-demo"):
    """Apply the pending rollback steps wave by wave until nothing is pending; returns the applied keys."""
    def next_plan():
        try:
            return rollback_of(account, target)
        except MitosisError as error:
            assert "Nothing to roll back" in str(error)
            return None
    return run_waves(account, next_plan, attempts=30)


def test_the_rollback_plan_puts_the_originals_back_then_deletes_the_rejected_clones():
    account = seed_account()
    swapped(account)
    plan = rollback_of(account)
    calls = [(s.action, s.identifier, s.params.get("NewDBInstanceIdentifier")) for s in plan.steps]
    assert calls == [
        ("ModifyDBInstance", "mitosis-demo", "rej-mitosis-demo"),
        ("ModifyDBInstance", "mitosis-demo-replica", "rej-mitosis-demo-replica"),
        ("ModifyDBInstance", "old-mitosis-demo", "mitosis-demo"),
        ("ModifyDBInstance", "old-mitosis-demo-replica", "mitosis-demo-replica"),
        ("Restart", "mitosis-demo", None),
        ("DeleteDBInstance", "rej-mitosis-demo-replica", None),
        ("DeleteDBInstance", "rej-mitosis-demo", None),
    ]
    assert plan.step("back:mitosis-demo").depends_on == ["aside:mitosis-demo"]
    assert plan.step("discard:mitosis-demo").depends_on == ["restart:mitosis-demo", "discard:mitosis-demo-replica"]
    assert plan.mode == "rollback" and plan.phase == "swap" and plan.source == ""
    assert flight_plan(plan).startswith("Flight plan: roll back the refresh of the graph of mitosis-demo")


@pytest.mark.parametrize("make", [seed_account, cascade_account])
def test_a_rollback_resumes_from_every_interruption_point(make):
    source, target = ("mitosis-prod", "mitosis-demo") if make is seed_account else ("prod", "demo")
    full_account = make()
    originals = swapped(full_account, source, target)
    full = rollback_of(full_account, target)
    order = sorted(full.steps, key=lambda s: (s.wave, full.steps.index(s)))
    for cut in range(len(order) + 1):
        account = make()
        swapped(account, source, target)
        for step in order[:cut]:
            account.apply(step.to_dict())
        if cut < len(order):
            resumed = rollback_of(account, target)
            done = {s.key for s in order[:cut]}
            still_pending = {s.key for s in resumed.pending} - {"restart:" + target}
            assert still_pending == {s.key for s in order[cut:]} - {"restart:" + target}
            assert not still_pending & done
        run_to_end(account, target)
        # The very instances the refresh retired are back under their names; nothing else is left.
        assert {n: i["DbiResourceId"] for n, i in account.instances.items() if n.startswith(target)} == originals
        assert not [n for n in account.instances if n.startswith(("rej-", "old-", "temp-"))]


def test_nothing_to_roll_back_before_the_swap_or_after_the_cleanup():
    account = seed_account()
    with pytest.raises(MitosisError, match="Nothing to roll back"):
        rollback_of(account)
    plan = plan_of(account, "mitosis-prod", "mitosis-demo")
    account.apply(plan.step("create:mitosis-demo").to_dict())
    with pytest.raises(MitosisError, match="has not finished its swap"):
        rollback_of(account)


def test_a_graph_whose_cleanup_began_cannot_be_rolled_back_and_nothing_is_planned():
    account = seed_account()
    swapped(account)
    del account.instances["old-mitosis-demo-replica"]
    account._relink()
    with pytest.raises(MitosisError, match="cleanup deleted it"):
        rollback_of(account)


def test_a_clone_refuses_to_start_while_a_rollback_is_in_progress():
    account = seed_account()
    swapped(account)
    account.apply(rollback_of(account).step("aside:mitosis-demo-replica").to_dict())
    with pytest.raises(MitosisError, match="rollback of mitosis-demo is in progress") as info:
        plan_of(account, "mitosis-prod", "mitosis-demo")
    assert "mitosis.rds.rollback" in str(info.value)


def test_the_executor_runs_a_rollback_and_a_clone_can_follow():
    account = seed_account()
    originals = swapped(account)
    rds = SlowRDS(account)
    plan = live_plan(rds, "", "mitosis-demo", CloneOptions(rollback=True))[0].to_dict()
    moved = apply_steps(rds, "", "mitosis-demo", plan=plan, phases=["swap"], **FAST)
    assert moved["phase"] == "cleanup"
    restart = [s for s in moved["plan"] if s["kind"] == "restart"][0]
    assert restart["status"] == "pending"
    cleaned = apply_steps(rds, "", "mitosis-demo", plan=moved["plan"], phases=["cleanup"], **FAST)
    assert cleaned["phase"] == "complete"
    assert {n: i["DbiResourceId"] for n, i in account.instances.items() if n.startswith("mitosis-demo")} == originals
    deleted = [name for action, name in rds.calls if action == "DeleteDBInstance"]
    assert deleted == ["rej-mitosis-demo-replica", "rej-mitosis-demo"]
    # A refresh started afterwards is a fresh one.
    assert plan_of(account, "mitosis-prod", "mitosis-demo").phase == "copy"


def test_the_rollback_policy_allows_its_renames_and_deletes_only_on_rej_names():
    account = seed_account()
    swapped(account)
    policy = iam_policy(rollback_of(account), "123456789012", "us-east-1")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    prefix = "arn:aws:rds:us-east-1:123456789012:db:"
    assert by_sid["DeleteDBInstance"]["Resource"] == [prefix + "rej-mitosis-demo-replica", prefix + "rej-mitosis-demo"]
    renamed = {r[len(prefix):] for r in by_sid["ModifyDBInstance"]["Resource"] if r.startswith(prefix)}
    assert renamed == {"mitosis-demo", "mitosis-demo-replica", "rej-mitosis-demo", "rej-mitosis-demo-replica",
                       "old-mitosis-demo", "old-mitosis-demo-replica"}
    assert all(s["Resource"] for s in policy["Statement"])
    assert not {"CreateDBInstanceReadReplica", "PromoteReadReplica"} & set(by_sid)
    # Tags only for the run's lock, on whichever instance holds the target's name.
    lock = ("mitosis-demo", "temp-mitosis-demo", "old-mitosis-demo", "rej-mitosis-demo")
    assert by_sid["AddTagsToResource"]["Resource"] == [prefix + n for n in lock]
