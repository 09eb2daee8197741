# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy

import pytest
from botocore.exceptions import ClientError

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.executor import (
    Watch, already_done, apply_steps, complete, in_progress, live_plan, not_yet)
from ansible_collections.mitosis.rds.plugins.module_utils.graph import discover, graph_of
from ansible_collections.mitosis.rds.plugins.module_utils.planner import Step

from .rds_state import REGION, Account, instance
from .test_planner import cascade_account, seed_account, siblings_account


def client_error(code, operation):
    return ClientError({"Error": {"Code": code, "Message": code + " injected"}}, operation)


class Pages:
    def __init__(self, items, key):
        self.items, self.key = items, key

    def paginate(self, **params):
        wanted = None
        for flt in params.get("Filters", []):
            wanted = set(flt["Values"])
        yield {self.key: [i for i in self.items if wanted is None or i["DBInstanceIdentifier"] in wanted]}


class SlowRDS:
    """An Account behind the RDS API where each call takes some polls (describes) to complete.

    A call shows its instance busy, then applies its effect; a rename frees the old name after `hold`
    polls and is available again `rest` polls later. `ticks` sets the polls per instance (default 2)."""

    class meta:  # pylint: disable=invalid-name
        region_name = REGION

        class events:  # pylint: disable=invalid-name
            @staticmethod
            def register(*args, **kwargs):
                return None

    def __init__(self, account, ticks=None, hold=1, fail=None):
        self.account = account
        self.ticks = ticks or {}
        self.hold = hold
        self.fail = fail or {}  # (operation, identifier) -> error code, once
        self.running = []  # [polls left, step dict, status while busy, then]
        self.calls = []
        self.statuses = []  # every instance's status when each call was made
        self.describes = []

    def _tick(self):
        for op in list(self.running):
            op[0] -= 1
            if op[0] <= 0:
                self.running.remove(op)
                op[3]()

    def get_paginator(self, name):
        if name == "describe_db_snapshots":
            return Pages(self.account.snapshots, "DBSnapshots")
        self._tick()
        self.describes.append(name)
        return Pages([copy.deepcopy(i) for i in self.account.instances.values()], "DBInstances")

    def list_tags_for_resource(self, ResourceName):  # pylint: disable=invalid-name
        return {"TagList": []}

    def _busy(self, name, status):
        inst = self.account.instances[name]
        if inst["DBInstanceStatus"] != "available":
            raise client_error("InvalidDBInstanceState", "x")
        inst["DBInstanceStatus"] = status

    def __getattr__(self, operation):
        def act(**params):
            name = params.pop("DBInstanceIdentifier")
            action = "".join(p.capitalize() for p in operation.split("_")).replace("Db", "DB")
            self.calls.append((action, name))
            self.statuses.append({n: i["DBInstanceStatus"] for n, i in self.account.instances.items()})
            code = self.fail.pop((action, name), None)
            if code:
                raise client_error(code, action)
            step = {"action": action, "identifier": name, "params": params}
            ticks = self.ticks.get(name, 2)
            if action in ("CreateDBInstanceReadReplica", "RestoreDBInstanceFromDBSnapshot"):
                if name in self.account.instances:
                    raise client_error("DBInstanceAlreadyExists", action)
                self.account.apply(step)
                self.account.instances[name]["DBInstanceStatus"] = "creating"
                self.running.append([ticks, step, "creating", lambda: self._available(name)])
            elif params.get("NewDBInstanceIdentifier"):
                new = params["NewDBInstanceIdentifier"]
                if new in self.account.instances:
                    raise client_error("DBInstanceAlreadyExists", action)
                self._busy(name, "renaming")

                def renamed():
                    self.account.apply(step)
                    self.account.instances[new]["DBInstanceStatus"] = "rebooting"
                    self.running.append([ticks, step, "rebooting", lambda: self._available(new)])
                self.running.append([self.hold, step, "renaming", renamed])
            elif action == "DeleteDBInstance":
                if name not in self.account.instances:
                    raise client_error("DBInstanceNotFound", action)
                self._busy(name, "deleting")
                self.running.append([ticks, step, "deleting", lambda: self.account.apply(step)])
            else:
                self._busy(name, "modifying")
                self.running.append([ticks, step, "modifying",
                                     lambda: (self.account.apply(step), self._available(name))])
            return {}
        return act

    def _available(self, name):
        self.account.instances[name]["DBInstanceStatus"] = "available"


def run(rds, phases=("copy", "swap"), plan=None, **options):
    options.setdefault("poll_interval", 0)
    options.setdefault("settle_time", 0)
    options.setdefault("sleep", lambda seconds: None)
    if plan is None:
        plan = live_plan(rds, "mitosis-prod" if "mitosis-prod" in rds.account.instances else "prod",
                         options.pop("target", "mitosis-demo"))[0].to_dict()
    source = "mitosis-prod" if "mitosis-prod" in rds.account.instances else "prod"
    return apply_steps(rds, source, plan[0]["node"], plan=plan, phases=list(phases), **options)


def order(rds):
    return ["{0} {1}".format(action, name) for action, name in rds.calls]


# --- the dataflow -------------------------------------------------------------------------


def test_seed_example_copy_swap_and_cleanup():
    rds = SlowRDS(seed_account())
    swapped = run(rds)
    assert swapped["phase"] == "cleanup"
    assert order(rds) == [
        "CreateDBInstanceReadReplica temp-mitosis-demo",
        "PromoteReadReplica temp-mitosis-demo",
        # The replica is created before the root's own modify makes its source busy.
        "CreateDBInstanceReadReplica temp-mitosis-demo-replica",
        "ModifyDBInstance temp-mitosis-demo",
        "ModifyDBInstance temp-mitosis-demo-replica",
        "ModifyDBInstance mitosis-demo-replica",
        "ModifyDBInstance mitosis-demo",
        "ModifyDBInstance temp-mitosis-demo-replica",
        "ModifyDBInstance temp-mitosis-demo",
    ]
    restart = [s for s in swapped["plan"] if s["kind"] == "restart"][0]
    assert restart["status"] == "pending"
    rds.calls.clear()
    cleaned = run(rds, phases=["cleanup"], plan=swapped["plan"])
    assert order(rds) == ["DeleteDBInstance old-mitosis-demo-replica", "DeleteDBInstance old-mitosis-demo"]
    assert [s["status"] for s in cleaned["steps"]] == ["changed", "changed"]
    assert sorted(rds.account.instances) == ["mitosis-demo", "mitosis-demo-replica", "mitosis-prod",
                                             "mitosis-prod-replica"]


def test_a_name_is_taken_over_as_soon_as_it_is_free_whatever_the_other_names_do():
    # mitosis-demo's own rename aside takes far longer than the replica's whole rename pair.
    rds = SlowRDS(seed_account(), ticks={"mitosis-demo": 40})
    rds.hold = 1
    run(rds)
    calls = order(rds)
    replica_in = calls.index("ModifyDBInstance temp-mitosis-demo-replica", 6)
    assert replica_in < calls.index("ModifyDBInstance temp-mitosis-demo", 6)


def test_a_step_starts_before_an_unrelated_slower_step_of_the_same_depth_ends():
    rds = SlowRDS(cascade_account(), ticks={"temp-demo-r2": 30})
    run(rds, target="demo")
    calls = order(rds)
    # demo-r1's own replica (depth 2) is created while the slow create of temp-demo-r2 (depth 1) still runs.
    at = calls.index("CreateDBInstanceReadReplica temp-demo-r1a")
    assert rds.statuses[at]["temp-demo-r2"] == "creating"


def test_serial_runs_one_step_at_a_time_in_plan_order():
    rds = SlowRDS(seed_account())
    result = run(rds, serial=True)
    steps = [s for s in result["steps"] if s["status"] == "changed"]
    for before, after in zip(steps, steps[1:]):
        assert before["finished"] <= after["started"]
    assert order(rds)[2] == "ModifyDBInstance temp-mitosis-demo"  # plan order, not creates first


def test_one_describe_per_poll_for_everything_in_flight():
    rds = SlowRDS(siblings_account())
    plan = live_plan(rds, "pg-prod", "pg-demo")[0].to_dict()
    rds.describes.clear()
    polls = []
    apply_steps(rds, "pg-prod", "pg-demo", plan=plan, phases=["copy", "swap"], poll_interval=0, settle_time=0,
                sleep=polls.append)
    # One describe to mark the plan, one per poll, one to mark it again at the end.
    assert len(rds.describes) == len(polls) + 2


def test_a_modify_that_changes_nothing_is_never_sent():
    account = seed_account()
    rds = SlowRDS(account)
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo")[0].to_dict()
    # The replica's clone will already have the values its modify would set.
    modify = [s for s in plan if s["id"] == "modify:mitosis-demo-replica"][0]
    real_apply = account.apply

    def apply(step):
        real_apply(step)
        if step["identifier"] == "temp-mitosis-demo-replica" and step["action"] == "CreateDBInstanceReadReplica":
            account._set(account.instances["temp-mitosis-demo-replica"], dict(modify["params"]))
    account.apply = apply
    result = run(rds, plan=plan)
    assert "ModifyDBInstance temp-mitosis-demo-replica" not in order(rds)[:5]
    skipped = [s for s in result["steps"] if s["id"] == "modify:mitosis-demo-replica"][0]
    assert skipped["status"] == "skipped"


def test_a_busy_instance_is_retried_at_the_next_poll():
    rds = SlowRDS(seed_account(), fail={("PromoteReadReplica", "temp-mitosis-demo"): "InvalidDBInstanceState"})
    result = run(rds)
    assert order(rds).count("PromoteReadReplica temp-mitosis-demo") == 2
    assert result["phase"] == "cleanup"


def test_a_refused_call_stops_with_how_to_resume():
    rds = SlowRDS(seed_account(), fail={("PromoteReadReplica", "temp-mitosis-demo"): "InvalidParameterCombination"})
    with pytest.raises(MitosisError, match="run the same command again") as info:
        run(rds)
    assert info.value.code == "InvalidParameterCombination"


def test_timeout_names_the_step_and_how_to_resume():
    rds = SlowRDS(seed_account(), ticks={"temp-mitosis-demo": 1000})
    clock = [0.0]

    def sleep(seconds):
        clock[0] += 1

    plan = live_plan(rds, "mitosis-prod", "mitosis-demo")[0].to_dict()
    from ansible_collections.mitosis.rds.plugins.module_utils import executor
    the_plan, graph = executor.marked_plan(rds, "mitosis-prod", "mitosis-demo", plan)
    todo = [s for s in the_plan.steps if s.phase == "copy"]
    flow = executor.Dataflow(rds, the_plan, todo, dict(graph.instances), wait_timeout=5, poll_interval=1,
                             clock=lambda: clock[0], sleep=sleep)
    with pytest.raises(MitosisError, match="Timed out after 5 s waiting for CreateDBInstanceReadReplica "
                                           "temp-mitosis-demo") as info:
        flow.run()
    assert "run the same command again" in str(info.value)


def test_failed_status_fails_the_step_with_the_instance_and_how_to_resume():
    account = seed_account()
    rds = SlowRDS(account)
    real = rds._available

    def broken(name):
        real(name)
        if name == "temp-mitosis-demo":
            account.instances[name]["DBInstanceStatus"] = "incompatible-parameters"
    rds._available = broken
    with pytest.raises(MitosisError) as info:
        run(rds)
    assert info.value.identifier == "temp-mitosis-demo"
    assert "incompatible-parameters" in str(info.value) and "run the same command again" in str(info.value)


def test_done_steps_are_skipped_without_a_call():
    rds = SlowRDS(seed_account())
    run(rds)
    rds.calls.clear()
    again = run(rds)
    assert rds.calls == [] and again["changed"] is False
    assert {s["status"] for s in again["steps"]} == {"skipped"}


def test_check_mode_makes_no_call_and_reports_the_call_it_would_make():
    rds = SlowRDS(seed_account())
    result = run(rds, phases=["copy", "swap", "cleanup"], check_mode=True)
    assert rds.calls == [] and result["changed"] is True
    assert {s["status"] for s in result["steps"]} == {"would run"}
    two = apply_steps(rds, "mitosis-prod", "mitosis-demo", steps=["create:mitosis-demo", "swap-out:mitosis-demo"],
                      check_mode=True)
    assert rds.calls == []
    assert two["diff"]["after"]["temp-mitosis-demo"]["exists"] is True
    assert two["diff"]["after"]["mitosis-demo"] == {"exists": False}


def test_out_of_order_steps_are_refused():
    rds = SlowRDS(seed_account())
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo")[0].to_dict()
    with pytest.raises(MitosisError, match="depends on"):
        apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=plan, steps=["promote:mitosis-demo"])
    with pytest.raises(MitosisError, match="Refusing to delete old-mitosis-demo"):
        apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=plan, phases=["cleanup"])
    with pytest.raises(MitosisError, match="not part of the plan"):
        apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=plan, steps=["create:elsewhere"])
    assert rds.calls == []


def test_a_plan_for_another_graph_shape_is_refused_before_any_call():
    rds = SlowRDS(seed_account())
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo")[0].to_dict()
    del rds.account.instances["mitosis-demo-replica"]
    rds.account._relink()
    with pytest.raises(MitosisError, match="changed since the plan was made"):
        run(rds, plan=plan)
    assert rds.calls == []


# --- discovery ----------------------------------------------------------------------------


@pytest.mark.parametrize("unrelated", [0, 50, 5000])
def test_discovery_reads_the_same_few_names_whatever_the_account_size(unrelated):
    account = cascade_account()
    for n in range(unrelated):
        account.instances["other-{0:05d}".format(n)] = instance("other-{0:05d}".format(n))
    rds = SlowRDS(account)
    filters = []
    real = rds.get_paginator

    def paginator(name):
        pages = real(name)
        inner = pages.paginate

        def paginate(**params):
            filters.append(params.get("Filters"))
            return inner(**params)
        pages.paginate = paginate
        return pages
    rds.get_paginator = paginator
    graph = discover(rds, "prod", "demo", REGION)
    assert all(f is not None for f in filters), "an unfiltered describe pages through the whole account"
    # demo (depth 0) -> demo-r1, demo-r2 (1) -> demo-r1a (2): one describe per level.
    assert len(filters) == 3
    assert {"demo", "demo-r1", "demo-r1a", "demo-r2", "prod"} <= set(graph.instances)
    assert not any(name.startswith("other-") for name in graph.instances)


# --- the rules, one at a time -------------------------------------------------------------


def step(kind, action="ModifyDBInstance", identifier="temp-db", **params):
    return Step(kind + ":db", "copy", kind, action, identifier, params, "db")


@pytest.mark.parametrize("kind,action,code,found,expected", [
    ("delete", "DeleteDBInstance", "DBInstanceNotFound", None, True),
    ("delete", "DeleteDBInstance", "InvalidDBInstanceState", None, False),
    ("delete", "DeleteDBInstance", "InvalidParameterCombination", None, False),
    ("delete", "DeleteDBInstance", "AccessDenied", None, False),
    ("create", "CreateDBInstanceReadReplica", "DBInstanceAlreadyExists", "prod", True),
    ("create", "CreateDBInstanceReadReplica", "DBInstanceAlreadyExists", "elsewhere", False),
    ("create", "CreateDBInstanceReadReplica", "DBInstanceAlreadyExists", None, False),
    ("create", "CreateDBInstanceReadReplica", "InvalidParameterCombination", "prod", False),
    ("restore", "RestoreDBInstanceFromDBSnapshot", "DBInstanceAlreadyExists", "", True),
    ("restore", "RestoreDBInstanceFromDBSnapshot", "DBSnapshotNotFound", "", False),
    ("modify", "ModifyDBInstance", "DBInstanceNotFound", None, False),
    ("promote", "PromoteReadReplica", "InvalidDBInstanceState", None, False),
])
def test_which_refusals_mean_already_done(kind, action, code, found, expected):
    instances = [instance("prod")]
    if found is not None:
        instances.append(instance("temp-db", parent=found or None))
    rds = SlowRDS(Account(instances))
    the_step = step(kind, action, SourceDBInstanceIdentifier="prod")
    error = MitosisError("refused", code=code)
    assert already_done(rds, error, the_step) is expected


@pytest.mark.parametrize("kind,code,expected", [
    ("create", "InvalidDBInstanceState", True),
    ("modify", "InvalidDBInstanceStateFault", True),
    ("swap-in", "DBInstanceAlreadyExists", True),
    ("swap-out", "DBInstanceAlreadyExists", False),
    ("create", "DBInstanceAlreadyExists", False),
    ("delete", "DBInstanceNotFound", False),
    ("modify", "Throttling", False),
])
def test_which_refusals_mean_not_yet(kind, code, expected):
    assert not_yet(MitosisError("refused", code=code), step(kind)) is expected


def rename(kind="swap-in"):
    return step(kind, identifier="temp-db", NewDBInstanceIdentifier="db", ApplyImmediately=True)


def test_a_rename_completes_only_after_the_reboot_that_follows_renaming():
    watch = Watch(rename(), {"temp-db": instance("temp-db")})
    states = [
        {"temp-db": instance("temp-db", DBInstanceStatus="renaming")},
        {"db": instance("temp-db", DBInstanceIdentifier="db")},
        {"db": instance("temp-db", DBInstanceIdentifier="db", DBInstanceStatus="rebooting")},
        {"db": instance("temp-db", DBInstanceIdentifier="db")},
    ]
    seen = [complete(rename(), live, watch, now, 1000, REGION) for now, live in enumerate(states)]
    assert seen == [False, False, False, True]


def test_a_rename_without_a_seen_reboot_waits_for_the_settle_time():
    watch = Watch(rename(), {"temp-db": instance("temp-db")})
    live = {"db": instance("temp-db", DBInstanceIdentifier="db")}
    assert [complete(rename(), live, watch, now, 10, REGION) for now in (0, 5, 10)] == [False, False, True]


def test_a_rename_follows_the_instance_not_the_name():
    # X moved aside to old-X; another instance (the clone) now holds the name X.
    out = step("swap-out", identifier="db", NewDBInstanceIdentifier="old-db", ApplyImmediately=True)
    watch = Watch(out, {"db": instance("db")})
    live = {"db": instance("clone", DBInstanceIdentifier="db"),
            "old-db": instance("db", DBInstanceIdentifier="old-db", DBInstanceStatus="rebooting")}
    assert complete(out, live, watch, 0, 1000, REGION) is False
    live["old-db"]["DBInstanceStatus"] = "available"
    assert complete(out, live, watch, 1, 1000, REGION) is True


@pytest.mark.parametrize("status", ["failed", "incompatible-parameters", "storage-full", "restore-error"])
def test_a_failed_status_fails_the_wait(status):
    with pytest.raises(MitosisError, match=status):
        complete(step("create", "CreateDBInstanceReadReplica", SourceDBInstanceIdentifier="prod"),
                 {"temp-db": instance("temp-db", DBInstanceStatus=status)}, Watch(), 0, 0, REGION)


@pytest.mark.parametrize("the_step,live,expected", [
    (rename(), {"temp-db": instance("temp-db", DBInstanceStatus="renaming")}, True),
    (rename(), {"temp-db": instance("temp-db")}, False),
    (rename(), {"db": instance("db")}, True),
    (step("delete", "DeleteDBInstance", identifier="old-db"), {"old-db": instance("old-db", DBInstanceStatus="deleting")},
     True),
    (step("delete", "DeleteDBInstance", identifier="old-db"), {"old-db": instance("old-db")}, False),
    (step("modify"), {"temp-db": instance("temp-db", DBInstanceStatus="modifying")}, False),
])
def test_which_states_mean_an_earlier_run_is_still_at_it(the_step, live, expected):
    assert in_progress(the_step, live) is expected


@pytest.mark.parametrize("start", ["demo", "demo-r1", "demo-r1a"])
def test_the_graph_of_an_instance_is_walked_by_levels(start):
    account = cascade_account()
    for n in range(300):
        account.instances["other-{0:05d}".format(n)] = instance("other-{0:05d}".format(n))
    rds = SlowRDS(account)
    graph = graph_of(rds, start, REGION)
    assert sorted(graph.instances) == ["demo", "demo-r1", "demo-r1a", "demo-r2"]
    assert graph.tree(graph.root(start)) == ["demo", "demo-r1", "demo-r2", "demo-r1a"]
    # Up to the root one level at a time, then down one level at a time (each level one filtered describe).
    assert len(rds.describes) <= 2 * 3


def test_progress_a_line_per_start_and_end_and_one_at_least_every_five_minutes_while_waiting():
    rds = SlowRDS(seed_account(), ticks={"temp-mitosis-demo": 25})
    clock = [0.0]

    def sleep(seconds):
        clock[0] += seconds

    from ansible_collections.mitosis.rds.plugins.module_utils import executor
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo")[0].to_dict()
    the_plan, graph = executor.marked_plan(rds, "mitosis-prod", "mitosis-demo", plan)
    lines = []
    todo = [s for s in the_plan.steps if s.key == "create:mitosis-demo"]
    executor.Dataflow(rds, the_plan, todo, dict(graph.instances), poll_interval=60, clock=lambda: clock[0],
                      sleep=sleep, wall=lambda: clock[0], progress=lines.append).run()
    assert lines[0] == "CreateDBInstanceReadReplica temp-mitosis-demo: started"
    assert lines[-1] == "CreateDBInstanceReadReplica temp-mitosis-demo: done in 25m 00s"
    waiting = [line for line in lines if line.startswith("still waiting for:")]
    # 25 minutes of creating: a line every 5 minutes, each naming the step and its status, and no more.
    assert 4 <= len(waiting) <= 5
    assert all("CreateDBInstanceReadReplica temp-mitosis-demo (creating)" in line for line in waiting)
