# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 17: a clone copied for a prepare step never goes live before that step succeeded; discard_clone deletes
an earlier run's temp-* clones (those only, that very instance only) and copies again; numeric options are
checked with their ranges before anything is called."""

from __future__ import annotations

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils import planning
from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.executor import apply_steps, live_plan
from ansible_collections.mitosis.rds.plugins.module_utils.module import RANGES, check_ranges
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions, flight_plan, refresh
from ansible_collections.mitosis.rds.plugins.module_utils.steps import Watch
from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy

from . import test_cluster
from .rds_state import ACCOUNT, REGION, run_waves
from .test_executor import SlowRDS
from .test_planner import SERVICE, plan_of, seed_account, snapshot_account

MARK = {"Key": "mitosis:prepare", "Value": "required"}
SOURCE, TARGET = "mitosis-prod", "mitosis-demo"


def copied(account, plan_for, **options):
    """Apply the copy of a plan (stopping before its prepare step, as a failed prepare step leaves it)."""
    plan = plan_for(account, **options)
    for step in plan.steps:
        if step.phase != "copy":
            break
        account.apply(step.to_dict())
    return plan


def seed_plan(account, **options):
    return plan_of(account, SOURCE, TARGET, **options)


def cluster_plan(account, **options):
    return test_cluster.plan_of(account, **options)


# --- the mark written with the copy ---------------------------------------------------------------------------


def test_a_copy_planned_with_a_prepare_step_marks_its_root_in_the_create_call_only():
    plan = seed_plan(seed_account(), prepare=True)
    assert plan.step("create:mitosis-demo").params["Tags"] == [SERVICE, MARK]
    assert MARK not in plan.step("create:mitosis-demo-replica").params["Tags"]
    # The run's own tags are removed at the end, this one too.
    assert plan.step("untag:mitosis-demo").params["TagKeys"] == ["mitosis:prepare", "mitosis:prepared"]
    # Without a prepare step, no mark.
    assert MARK not in seed_plan(seed_account()).step("create:mitosis-demo").params["Tags"]


@pytest.mark.parametrize("copy_method, key", [("snapshot", "restore:demo"), ("point_in_time", "restore:demo")])
def test_a_restore_carries_the_mark_too(copy_method, key):
    plan = plan_of(snapshot_account(), "prod", "demo", prepare=True, copy_method=copy_method)
    assert MARK in plan.step(key).params["Tags"]


def test_an_aurora_clone_marks_its_cluster():
    plan = cluster_plan(test_cluster.aurora_account(), prepare=True)
    assert MARK in plan.step("restore-cluster:demo").params["Tags"]
    assert all(MARK not in s.params.get("Tags", []) for s in plan.steps if s.key.startswith("create:"))


# --- a run without the prepare step is refused ------------------------------------------------------------------


def test_a_clone_copied_for_a_prepare_step_that_failed_is_refused_without_one():
    account = seed_account()
    copied(account, seed_plan, prepare=True)
    with pytest.raises(MitosisError) as info:
        seed_plan(account)
    error = info.value
    assert error.operation == "plan" and error.identifier == "temp-mitosis-demo"
    assert "mitosis:prepare=required" in error.message and "Nothing was changed" in error.message
    assert "prepare_tasks" in error.hint and "discard_clone=true" in error.hint
    assert "temp-mitosis-demo, temp-mitosis-demo-replica" in error.hint


def test_with_its_prepare_step_the_same_clone_is_prepared_then_swapped():
    account = seed_account()
    copied(account, seed_plan, prepare=True)
    plan = seed_plan(account, prepare=True)
    assert plan.step("prepare:mitosis-demo").status == "pending"
    assert plan.step("create:mitosis-demo").status == "done"
    assert all(s.kind != "discard" for s in plan.steps)


def test_a_clone_prepared_before_the_run_stopped_goes_on_without_the_prepare_step():
    account = seed_account()
    plan = copied(account, seed_plan, prepare=True)
    account.apply(plan.step("tag-prepared:mitosis-demo").to_dict())
    resumed = seed_plan(account)
    assert resumed.step("swap-out:mitosis-demo").status == "pending"


def test_a_clone_copied_without_a_prepare_step_is_not_refused():
    account = seed_account()
    copied(account, seed_plan)
    assert seed_plan(account).step("swap-out:mitosis-demo").status == "pending"


def test_an_aurora_clone_copied_for_a_failed_prepare_step_is_refused_without_one():
    account = test_cluster.aurora_account()
    copied(account, cluster_plan, prepare=True)
    with pytest.raises(MitosisError, match="temp-demo was copied by a run with a prepare step") as info:
        cluster_plan(account)
    assert info.value.identifier == "temp-demo"


# --- discard_clone -------------------------------------------------------------------------------------------


def test_discard_deletes_the_earlier_clones_leaves_first_then_copies_again():
    account = seed_account()
    copied(account, seed_plan, prepare=True)
    old_ids = {n: account.instances[n]["DbiResourceId"] for n in ("temp-mitosis-demo", "temp-mitosis-demo-replica")}
    plan = seed_plan(account, discard_clone=True)
    discards = [s for s in plan.steps if s.kind == "discard"]
    assert [(s.action, s.identifier, s.params, s.resource_id) for s in discards] == [
        ("DeleteDBInstance", "temp-mitosis-demo-replica", {"SkipFinalSnapshot": True},
         old_ids["temp-mitosis-demo-replica"]),
        ("DeleteDBInstance", "temp-mitosis-demo", {"SkipFinalSnapshot": True}, old_ids["temp-mitosis-demo"])]
    assert discards[1].depends_on == [discards[0].key]
    assert plan.step("create:mitosis-demo").depends_on == [s.key for s in discards]
    # Everything of the copy is done again, with the target's tags read again; no prepare step, no mark.
    assert all(s.status == "pending" for s in plan.steps if s.phase == "copy")
    assert plan.step("create:mitosis-demo").params["Tags"] == [SERVICE]
    assert plan.node_names() == [TARGET, "mitosis-demo-replica"]
    assert any("discard_clone: temp-mitosis-demo, temp-mitosis-demo-replica" in w for w in plan.warnings)
    text = flight_plan(plan)
    assert "DeleteDBInstance temp-mitosis-demo-replica  [pending: a copy an earlier run made" in text

    retiring = plan.retiring_resource_ids()
    # The same plan marked again from the account after each wave, as the executor does.
    applied = run_waves(account, lambda: refresh(plan, account.graph(), retiring))
    assert applied[:2] == [s.key for s in discards]
    live = account.instances
    assert sorted(live) == [TARGET, "mitosis-demo-replica", SOURCE, "mitosis-prod-replica"]
    assert live[TARGET]["DbiResourceId"] not in list(old_ids.values()) + retiring


def test_a_plan_with_discards_marked_again_after_them_keeps_them_done_and_the_new_copy_pending():
    account = seed_account()
    copied(account, seed_plan)
    plan = seed_plan(account, discard_clone=True)
    for key in ("discard-clone:mitosis-demo-replica", "discard-clone:mitosis-demo", "create:mitosis-demo"):
        account.apply(plan.step(key).to_dict())
    # The name temp-mitosis-demo holds the new copy now: its discard is done, not to be repeated.
    again = refresh(planning.handed_plan(SOURCE, TARGET, plan.to_dict()), account.graph())
    assert again.step("discard-clone:mitosis-demo").status == "done"
    assert again.step("create:mitosis-demo").status == "done"
    assert again.step("promote:mitosis-demo").status == "pending"
    assert again.node_names() == [TARGET, "mitosis-demo-replica"]


def test_discard_with_a_prepare_step_copies_again_with_the_mark():
    account = seed_account()
    copied(account, seed_plan, prepare=True)
    plan = seed_plan(account, discard_clone=True, prepare=True)
    assert MARK in plan.step("create:mitosis-demo").params["Tags"]
    assert plan.step("prepare:mitosis-demo").depends_on[:2] == ["discard-clone:mitosis-demo-replica",
                                                                "discard-clone:mitosis-demo"]


def test_discard_without_clones_plans_nothing_more():
    plain = seed_plan(seed_account())
    plan = seed_plan(seed_account(), discard_clone=True)
    assert [s.key for s in plan.steps] == [s.key for s in plain.steps]
    assert plan.warnings == plain.warnings


def test_discard_does_not_apply_once_the_swap_has_started():
    account = seed_account()
    plan = copied(account, seed_plan)
    account.apply(plan.step("swap-out:mitosis-demo-replica").to_dict())
    resumed = seed_plan(account, discard_clone=True)
    assert resumed.phase == "swap" and all(s.kind != "discard" for s in resumed.steps)
    assert any("discard_clone does not apply: the swap of mitosis-demo has started" in w for w in resumed.warnings)


def test_discard_of_an_aurora_clone_deletes_its_instances_then_its_cluster():
    account = test_cluster.aurora_account()
    copied(account, cluster_plan, prepare=True)
    cluster_id = account.clusters["temp-demo"]["DbClusterResourceId"]
    plan = cluster_plan(account, discard_clone=True)
    discards = [s for s in plan.steps if s.kind == "discard"]
    assert [(s.action, s.identifier) for s in discards] == [
        ("DeleteDBInstance", "temp-demo-w"), ("DeleteDBInstance", "temp-demo-b"), ("DeleteDBInstance", "temp-demo-a"),
        ("DeleteDBCluster", "temp-demo")]
    assert discards[-1].cluster and discards[-1].params == {"SkipFinalSnapshot": True}
    assert discards[-1].resource_id == cluster_id
    assert discards[-1].depends_on == [s.key for s in discards[:-1]]
    assert plan.step("restore-cluster:demo").depends_on == [discards[-1].key]
    # The plan handed to the step module reads the same, root first.
    assert test_cluster.ClusterPlan.from_dicts("prod", "demo", plan.to_dict()).node_names() == plan.node_names()

    # Handed to the step module, it is read back as the cluster's plan, whatever step comes first.
    assert isinstance(planning.handed_plan("prod", "demo", plan.to_dict()), test_cluster.ClusterPlan)

    retiring = plan.retiring_resource_ids()
    run_waves(account, lambda: test_cluster.refresh_cluster(plan, account.cluster_graph(), retiring))
    assert sorted(account.clusters) == ["demo", "prod"]
    assert account.clusters["demo"]["DbClusterResourceId"] not in (cluster_id, retiring[0])


def test_the_iam_policy_allows_deleting_the_targets_temp_clones_only_with_discard_clone():
    def deletes(plan, action="DeleteDBInstance"):
        found = [s["Resource"] for s in iam_policy(plan, ACCOUNT, REGION)["Statement"] if s["Sid"] == action]
        return sorted(r.rsplit(":", 1)[1] for r in found[0]) if found else []

    assert deletes(seed_plan(seed_account())) == ["old-mitosis-demo", "old-mitosis-demo-replica"]
    assert deletes(seed_plan(seed_account(), discard_clone=True)) == [
        "old-mitosis-demo", "old-mitosis-demo-replica", "temp-mitosis-demo", "temp-mitosis-demo-replica"]
    aurora = cluster_plan(test_cluster.aurora_account(), discard_clone=True)
    assert deletes(aurora) == ["old-demo-a", "old-demo-b", "old-demo-w", "temp-demo-a", "temp-demo-b", "temp-demo-w"]
    assert deletes(aurora, "DeleteDBCluster") == ["old-demo", "temp-demo"]
    assert deletes(cluster_plan(test_cluster.aurora_account()), "DeleteDBCluster") == ["old-demo"]


# --- the executor's rules for a discard ----------------------------------------------------------------------


def discard_step(plan):
    return next(s for s in plan.steps if s.kind == "discard" and s.identifier == "temp-mitosis-demo")


def test_a_discard_is_complete_once_its_clone_is_gone_whoever_holds_the_name_now():
    account = seed_account()
    copied(account, seed_plan)
    step = discard_step(seed_plan(account, discard_clone=True))
    clone = account.described()
    live = {d["DBInstanceIdentifier"]: d for d in clone}
    watch = Watch(step, live)
    assert not step.complete(live, watch, 0, 0, REGION)
    assert not step.in_progress(live)
    live["temp-mitosis-demo"]["DBInstanceStatus"] = "deleting"
    assert step.in_progress(live) and not step.complete(live, watch, 0, 0, REGION)
    # A new copy under the same name is not the clone this step deletes.
    live["temp-mitosis-demo"] = dict(live["temp-mitosis-demo"], DbiResourceId="db-NEW", DBInstanceStatus="creating")
    assert step.complete(live, watch, 0, 0, REGION) and step.complete(live, Watch(step), 0, 0, REGION)
    del live["temp-mitosis-demo"]
    assert step.complete(live, watch, 0, 0, REGION)
    assert step.already_done(None, MitosisError("gone", code="DBInstanceNotFound"))


def test_the_executor_discards_then_copies_again_and_never_deletes_the_new_copy():
    account = seed_account()
    copied(account, seed_plan, prepare=True)
    rds = SlowRDS(account, discarding=True)
    plan = live_plan(rds, SOURCE, TARGET, CloneOptions(discard_clone=True))[0].to_dict()
    result = apply_steps(rds, SOURCE, TARGET, plan=plan, phases=["copy"], poll_interval=0, settle_time=0,
                         sleep=lambda s: None)
    deletes = [name for action, name in rds.calls if action == "DeleteDBInstance"]
    assert deletes == ["temp-mitosis-demo-replica", "temp-mitosis-demo"]
    assert rds.calls[:3] == [("DeleteDBInstance", "temp-mitosis-demo-replica"),
                             ("DeleteDBInstance", "temp-mitosis-demo"),
                             ("CreateDBInstanceReadReplica", "temp-mitosis-demo")]
    # Marked again from the live state once the copy is done: the discards stay done.
    assert all(s["status"] == "done" for s in result["plan"] if s["kind"] == "discard")
    again = apply_steps(rds, SOURCE, TARGET, plan=result["plan"], phases=["copy", "swap"], poll_interval=0,
                        settle_time=0, sleep=lambda s: None)
    assert [name for action, name in rds.calls if action == "DeleteDBInstance"] == deletes
    assert again["phase"] == "cleanup"


# --- ranges of the numeric options ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RANGES))
def test_each_numeric_option_is_refused_out_of_its_range_naming_it(name):
    lowest, highest = RANGES[name]
    check_ranges({name: lowest})
    check_ranges({name: highest})
    check_ranges({name: None})
    for wrong in (lowest - 1, highest * 2, -5):
        with pytest.raises(MitosisError) as info:
            check_ranges({name: wrong})
        assert info.value.message.startswith("{0} must be between".format(name))
        assert info.value.operation == "options" and name in info.value.hint


def test_the_refusal_of_a_refused_call_is_not_a_discard_done():
    account = seed_account()
    copied(account, seed_plan)
    step = discard_step(seed_plan(account, discard_clone=True))
    assert not step.already_done(None, MitosisError("busy", code="InvalidDBInstanceState"))


# --- the restart command's program (the plan's action plugin) ---------------------------------------------------

@pytest.fixture
def check_command(monkeypatch, tmp_path):
    """rds_mitosis_plan's check of a restart command, run from `tmp_path` as ansible-playbook's directory."""
    from ansible_collections.mitosis.rds.plugins.action.rds_mitosis_plan import check_command as checked

    monkeypatch.chdir(tmp_path)
    return checked


@pytest.mark.parametrize("command", ["", "true", "sh -c 'exit 0'", "FOO=1 env", ". ./profile && restart",
                                     "./restart.sh demo", "{0} --quick"])
def test_a_restart_command_whose_program_exists_passes(check_command, tmp_path, command):
    script = tmp_path / "restart.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    check_command(command.format(script))


@pytest.mark.parametrize("command, message", [
    ("./no-such-restart.sh", "restart_command: ./no-such-restart.sh was not found (looked for {0}/no-such-restart.sh)"),
    ("MODE=fast ./no-such.sh now", "restart_command: ./no-such.sh was not found"),
    ("./plain.txt", "restart_command: {0}/plain.txt is not executable."),
    ("no-such-program-anywhere --now", "restart_command: the program no-such-program-anywhere was not found on PATH"),
    ("./restart.sh 'unclosed", "is not a shell command line"),
])
def test_a_restart_command_whose_program_is_missing_is_refused(check_command, tmp_path, command, message):
    (tmp_path / "plain.txt").write_text("not a program\n")
    with pytest.raises(MitosisError) as info:
        check_command(command)
    assert message.format(tmp_path) in info.value.message and info.value.operation == "options"
