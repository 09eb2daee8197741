# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import json

import pytest
from botocore.exceptions import ClientError

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.executor import apply_steps, live_plan
from ansible_collections.mitosis.rds.plugins.module_utils.graph import discover, graph_of
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions
from ansible_collections.mitosis.rds.plugins.module_utils.steps import Watch, make_step

from .rds_state import ACCOUNT, REGION, Account, instance
from .test_planner import SERVICE, cascade_account, managed_account, seed_account, siblings_account, snapshot_account


ARN = "arn:aws:rds:{0}:{1}:db:".format(REGION, ACCOUNT)


def client_error(code, operation):
    return ClientError({"Error": {"Code": code, "Message": code + " injected"}}, operation)


class Pages:
    def __init__(self, items, key):
        self.items, self.key = items, key

    def paginate(self, **params):
        wanted = None
        for flt in params.get("Filters", []):
            wanted = set(flt["Values"])
        items = [i for i in self.items if wanted is None or i["DBInstanceIdentifier"] in wanted]
        if "DBSnapshotIdentifier" in params:
            # As RDS: a snapshot asked for by name is found, or the call fails.
            items = [i for i in items if i["DBSnapshotIdentifier"] == params["DBSnapshotIdentifier"]]
            if not items:
                raise client_error("DBSnapshotNotFound", "DescribeDBSnapshots")
        yield {self.key: copy.deepcopy(items)}


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

    def __init__(self, account, ticks=None, hold=1, fail=None, discarding=False):
        self.account = account
        self.discarding = discarding  # a discard may delete temp-* clones (the account refuses it otherwise)
        self.ticks = ticks or {}
        self.hold = hold
        self.fail = fail or {}  # (operation, identifier) -> error code, once
        self.running = []  # [polls left, step dict, status while busy, then]
        self.calls = []
        self.sent = []  # (action, identifier, params) of every call, as the client received them
        self.passwords = {}  # identifier -> the MasterUserPassword a ModifyDBInstance set
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
        return Pages(self.account.described(), "DBInstances")

    def list_tags_for_resource(self, ResourceName):  # pylint: disable=invalid-name
        return {"TagList": copy.deepcopy(self.account.instances[self._named(ResourceName)].get("_tags") or [])}

    def _busy(self, name, status):
        inst = self.account.instances[name]
        if inst["DBInstanceStatus"] != "available":
            raise client_error("InvalidDBInstanceState", "x")
        inst["DBInstanceStatus"] = status

    def __getattr__(self, operation):
        def act(**params):
            action = "".join(p.capitalize() for p in operation.split("_")).replace("Db", "DB")
            self.sent.append((action, params.get("DBInstanceIdentifier") or params.get("TargetDBInstanceIdentifier")
                              or params.get("ResourceName"), copy.deepcopy(params)))
            if action in ("AddTagsToResource", "RemoveTagsFromResource"):
                name = self._named(params.pop("ResourceName"))
            elif action == "RestoreDBInstanceToPointInTime":
                name = params.pop("TargetDBInstanceIdentifier")
            else:
                name = params.pop("DBInstanceIdentifier")
            self.calls.append((action, name))
            self.statuses.append({n: i["DBInstanceStatus"] for n, i in self.account.instances.items()})
            code = self.fail.pop((action, name), None)
            if code:
                raise client_error(code, action)
            step = {"action": action, "identifier": name, "params": params}
            ticks = self.ticks.get(name, 2)
            if action in ("CreateDBInstanceReadReplica", "RestoreDBInstanceFromDBSnapshot",
                          "RestoreDBInstanceToPointInTime"):
                if name in self.account.instances:
                    raise client_error("DBInstanceAlreadyExists", action)
                self.account.apply(step)
                self._born(name, params)
                self.account.instances[name]["DBInstanceStatus"] = "creating"
                self.running.append([ticks, step, "creating", lambda: self._available(name)])
            elif action in ("AddTagsToResource", "RemoveTagsFromResource"):
                self.account.apply(step)  # tags apply at once, whatever the instance is doing
            elif "MasterUserPassword" in params:
                # RDS never shows a password: it only reaches the call, and the instance resets its credentials.
                self.passwords[name] = params.pop("MasterUserPassword")
                self._busy(name, "resetting-master-credentials")
                self.running.append([ticks, step, "resetting-master-credentials",
                                     lambda: (self.account.apply(step), self._available(name))])
            elif params.get("ManageMasterUserPassword"):
                self._busy(name, "modifying")
                inst = self.account.instances[name]
                inst["MasterUserSecret"] = {"SecretArn": "arn:aws:secretsmanager:{0}:{1}:secret:rds!{2}".format(
                    REGION, ACCOUNT, inst["DbiResourceId"]), "SecretStatus": "creating"}
                self.running.append([ticks, step, "modifying",
                                     lambda: (self.account.apply(step), self._available(name))])
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
            elif action == "CreateDBSnapshot":
                self._busy(name, "backing-up")
                snapshot = {"DBSnapshotIdentifier": params["DBSnapshotIdentifier"], "DBInstanceIdentifier": name,
                            "DbiResourceId": self.account.instances[name]["DbiResourceId"], "Status": "creating"}
                self.account.snapshots.append(snapshot)
                self.running.append([ticks, step, "backing-up",
                                     lambda: (snapshot.update(Status="available"), self._available(name))])
            elif action == "DeleteDBInstance":
                if name not in self.account.instances:
                    raise client_error("DBInstanceNotFound", action)
                self._busy(name, "deleting")
                deleted = dict(step, kind="discard") if self.discarding else step
                self.running.append([ticks, step, "deleting", lambda: self.account.apply(deleted)])
            else:
                self._busy(name, "modifying")
                self.running.append([ticks, step, "modifying",
                                     lambda: (self.account.apply(step), self._available(name))])
            return {}
        return act

    def _available(self, name):
        self.account.instances[name]["DBInstanceStatus"] = "available"

    def _named(self, arn):
        """The instance an ARN names (the tagging calls take no identifier)."""
        for name, inst in self.account.instances.items():
            if inst["DBInstanceArn"] == arn:
                return name
        raise client_error("DBInstanceNotFound", "AddTagsToResource")

    def _born(self, name, params):
        """What RDS gives a new instance on its own: an endpoint, and the master username of its source."""
        new = self.account.instances[name]
        source = params.get("SourceDBInstanceIdentifier")
        if source is None:
            source = [s["DBInstanceIdentifier"] for s in self.account.snapshots
                      if s["DBSnapshotIdentifier"] == params["DBSnapshotIdentifier"]][0]
        origin = self.account.instances.get(source) or {}
        new["Endpoint"] = {"Address": "{0}.c0ffee.{1}.rds.amazonaws.com".format(name, REGION),
                           "Port": (new.get("Endpoint") or {}).get("Port", 3306)}
        if origin.get("MasterUsername"):
            new["MasterUsername"] = origin["MasterUsername"]


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
    return make_step(kind + ":db", "copy", kind, action, identifier, params, "db")


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
    assert the_step.already_done(rds, error) is expected


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
    assert step(kind).not_yet(MitosisError("refused", code=code)) is expected


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
    seen = [rename().complete(live, watch, now, 1000, REGION) for now, live in enumerate(states)]
    assert seen == [False, False, False, True]


def test_a_rename_without_a_seen_reboot_waits_for_the_settle_time():
    watch = Watch(rename(), {"temp-db": instance("temp-db")})
    live = {"db": instance("temp-db", DBInstanceIdentifier="db")}
    assert [rename().complete(live, watch, now, 10, REGION) for now in (0, 5, 10)] == [False, False, True]


def test_a_rename_follows_the_instance_not_the_name():
    # X moved aside to old-X; another instance (the clone) now holds the name X.
    out = step("swap-out", identifier="db", NewDBInstanceIdentifier="old-db", ApplyImmediately=True)
    watch = Watch(out, {"db": instance("db")})
    live = {"db": instance("clone", DBInstanceIdentifier="db"),
            "old-db": instance("db", DBInstanceIdentifier="old-db", DBInstanceStatus="rebooting")}
    assert out.complete(live, watch, 0, 1000, REGION) is False
    live["old-db"]["DBInstanceStatus"] = "available"
    assert out.complete(live, watch, 1, 1000, REGION) is True


@pytest.mark.parametrize("status", ["failed", "incompatible-parameters", "storage-full", "restore-error"])
def test_a_failed_status_fails_the_wait(status):
    with pytest.raises(MitosisError, match=status):
        step("create", "CreateDBInstanceReadReplica", SourceDBInstanceIdentifier="prod").complete(
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
    assert the_step.in_progress(live) is expected


SECRET = {"SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-TEMPDB"}


@pytest.mark.parametrize("status,secret,expected", [
    ("available", None, False),
    ("available", dict(SECRET, SecretStatus="creating"), False),
    ("modifying", dict(SECRET, SecretStatus="active"), False),
    ("available", dict(SECRET, SecretStatus="active"), True),
])
def test_a_managed_secret_step_completes_once_the_secret_is_active(status, secret, expected):
    manage = step("manage-secret", ApplyImmediately=True, ManageMasterUserPassword=True)
    live = {"temp-db": instance("temp-db", DBInstanceStatus=status, MasterUserSecret=secret)}
    assert manage.complete(live, Watch(), 0, 0, REGION) is expected


@pytest.mark.parametrize("tags,expected", [
    ([], False),
    ([{"Key": "mitosis:prepared", "Value": "true"}], False),
    ([{"Key": "mitosis:credentials", "Value": "master_password"}], True),
])
def test_a_tag_step_completes_once_the_describe_shows_the_tag(tags, expected):
    tag = step("tag", "AddTagsToResource", Tags=[{"Key": "mitosis:credentials", "Value": "master_password"}])
    assert tag.complete({"temp-db": instance("temp-db", TagList=tags)}, Watch(), 0, 0, REGION) is expected


def test_a_password_reset_still_pending_is_not_complete_even_when_available():
    reset = step("password", ApplyImmediately=True, MasterUserPassword="(hidden)")
    watch = Watch()
    pending = {"temp-db": instance("temp-db", PendingModifiedValues={"MasterUserPassword": "****"})}
    assert reset.complete(pending, watch, 0, 1000, REGION) is False
    # Once seen pending, the reset has run: the first describe without it ends the step.
    assert reset.complete({"temp-db": instance("temp-db")}, watch, 1, 1000, REGION) is True


@pytest.mark.parametrize("the_step,live,expected", [
    (step("password"), {"temp-db": instance("temp-db", DBInstanceStatus="resetting-master-credentials")}, True),
    (step("password"), {"temp-db": instance("temp-db", PendingModifiedValues={"MasterUserPassword": "****"})}, True),
    (step("password"), {"temp-db": instance("temp-db")}, False),
    (step("manage-secret"), {"temp-db": instance("temp-db", MasterUserSecret=dict(SECRET, SecretStatus="creating"))},
     True),
    (step("manage-secret"), {"temp-db": instance("temp-db")}, False),
])
def test_which_credential_states_mean_an_earlier_run_is_still_at_it(the_step, live, expected):
    assert the_step.in_progress(live) is expected


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


# --- copy methods and the clone's credentials ------------------------------------------------


PASSWORD = "Secret-Pass-1"


def copy_phase(rds, source, target, **kwargs):
    return apply_steps(rds, source, target, phases=["copy"], poll_interval=0, settle_time=0, sleep=lambda s: None,
                       **kwargs)


def password_calls(rds):
    """The calls that carried the password, anywhere in their parameters."""
    return [(action, name, params) for action, name, params in rds.sent if PASSWORD in json.dumps(params)]


def asked_for(value):
    asked = []

    def password():
        asked.append(1)
        return value
    return password, asked


def test_the_password_reaches_the_modify_call_only_and_the_clone_is_tagged():
    rds = SlowRDS(seed_account())
    password, asked = asked_for(PASSWORD)
    options = CloneOptions(password=PASSWORD, password_source="master_password")
    result = copy_phase(rds, "mitosis-prod", "mitosis-demo", options=options, password=password)
    sent = password_calls(rds)
    assert [(action, name) for action, name, _params in sent] == [("ModifyDBInstance", "temp-mitosis-demo")]
    assert sent[0][2] == {"DBInstanceIdentifier": "temp-mitosis-demo", "ApplyImmediately": True,
                          "MasterUserPassword": PASSWORD}
    assert rds.passwords == {"temp-mitosis-demo": PASSWORD}
    assert asked == [1]  # read once, when the step that sets it is called
    assert PASSWORD not in json.dumps(result, default=str)
    # The credentials tag comes after the reset has finished, on the clone's ARN.
    tag = [(name, params) for action, name, params in rds.sent if action == "AddTagsToResource"]
    assert tag == [(ARN + "temp-mitosis-demo", {
        "ResourceName": ARN + "temp-mitosis-demo",
        "Tags": [{"Key": "mitosis:credentials", "Value": "master_password"}]})]
    at = order(rds).index("AddTagsToResource temp-mitosis-demo")
    reset = [i for i, (_action, _name, params) in enumerate(rds.sent) if "MasterUserPassword" in params]
    assert reset[0] < at
    assert rds.statuses[at]["temp-mitosis-demo"] == "available"
    assert {"Key": "mitosis:credentials", "Value": "master_password"} in \
        rds.account.instances["temp-mitosis-demo"]["_tags"]
    assert {s["id"]: s["status"] for s in result["plan"]}["password:mitosis-demo"] == "done"
    assert result["phase"] == "copy"
    assert not [s for s in result["plan"] if s["phase"] == "copy" and s["status"] == "pending"]


def password_flow(ticks, settle_time):
    """The copy phase of a password plan on a Dataflow whose clock only the polls move (one second each)."""
    rds = SlowRDS(seed_account(), ticks=ticks)
    clock = [0.0]
    seen = []  # temp-mitosis-demo's status at each describe
    real = rds.get_paginator

    def paginator(name):
        pages = real(name)
        seen.append(rds.account.instances.get("temp-mitosis-demo", {}).get("DBInstanceStatus"))
        return pages
    rds.get_paginator = paginator

    def sleep(seconds):
        clock[0] += 1

    from ansible_collections.mitosis.rds.plugins.module_utils import executor
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo", CloneOptions(
        password=PASSWORD, password_source="master_password"))[0].to_dict()
    the_plan, graph = executor.marked_plan(rds, "mitosis-prod", "mitosis-demo", plan)
    todo = [s for s in the_plan.steps if s.phase == "copy"]
    records = executor.Dataflow(rds, the_plan, todo, dict(graph.instances), poll_interval=1, settle_time=settle_time,
                                wait_timeout=500, clock=lambda: clock[0], sleep=sleep, wall=lambda: clock[0],
                                password=lambda: PASSWORD).run()
    return rds, records, seen


def test_a_password_reset_ends_when_rds_is_seen_done_resetting_and_then_the_clone_is_tagged():
    rds, records, seen = password_flow({"temp-mitosis-demo": 3}, settle_time=300)
    assert "resetting-master-credentials" in seen
    reset, tag = records["password:mitosis-demo"], records["tag-credentials:mitosis-demo"]
    # Seen resetting, then available: done at once, without waiting for the settle time.
    assert reset["duration"] < 10
    assert tag["started"] >= reset["finished"]
    at = order(rds).index("AddTagsToResource temp-mitosis-demo")
    assert rds.statuses[at]["temp-mitosis-demo"] == "available"


def test_a_password_reset_never_seen_running_is_trusted_after_the_settle_time():
    # RDS finishes the reset before the next describe: nothing shows that it ran, so the step waits.
    rds, records, seen = password_flow({"temp-mitosis-demo": 0}, settle_time=30)
    assert "resetting-master-credentials" not in seen
    reset = records["password:mitosis-demo"]
    assert 30 <= reset["duration"] < 40
    assert records["tag-credentials:mitosis-demo"]["started"] >= reset["finished"]


def test_a_plan_made_with_a_password_source_gets_the_password_only_when_applied():
    rds = SlowRDS(seed_account())
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo", CloneOptions(
        password=PASSWORD, password_source="master_password_secret mitosis-demo/app"))[0].to_dict()
    assert PASSWORD not in json.dumps(plan)
    password, asked = asked_for(PASSWORD)
    result = copy_phase(rds, "mitosis-prod", "mitosis-demo", plan=plan, password=password)
    assert [(action, name) for action, name, _params in password_calls(rds)] == [
        ("ModifyDBInstance", "temp-mitosis-demo")]
    assert asked == [1]
    assert PASSWORD not in json.dumps(result, default=str)
    assert {"Key": "mitosis:credentials", "Value": "master_password_secret mitosis-demo/app"} in \
        rds.account.instances["temp-mitosis-demo"]["_tags"]


def test_a_plan_with_a_password_step_and_no_password_stops_at_that_step():
    rds = SlowRDS(seed_account())
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo", CloneOptions(
        password=PASSWORD, password_source="master_password"))[0].to_dict()
    with pytest.raises(MitosisError, match="needs the clone's master password") as info:
        copy_phase(rds, "mitosis-prod", "mitosis-demo", plan=plan)
    assert info.value.identifier == "temp-mitosis-demo"
    assert not [params for _action, _name, params in rds.sent if "MasterUserPassword" in params]
    assert "AddTagsToResource temp-mitosis-demo" not in order(rds)


@pytest.mark.parametrize("options,match", [
    (CloneOptions(copy_method="replica"), "Secrets Manager"),
    (CloneOptions(password=PASSWORD, password_source="master_password"), "master_password cannot apply"),
])
def test_options_that_cannot_work_for_a_managed_graph_stop_before_any_call(options, match):
    rds = SlowRDS(managed_account())
    with pytest.raises(MitosisError, match=match) as info:
        copy_phase(rds, "prod", "demo", options=options, password=lambda: PASSWORD)
    assert rds.calls == [] and rds.sent == []
    assert PASSWORD not in str(info.value)


def managed_secret_arn(rds, name):
    return "arn:aws:secretsmanager:{0}:{1}:secret:rds!{2}".format(
        REGION, ACCOUNT, rds.account.instances[name]["DbiResourceId"])


def test_the_managed_secret_is_made_after_the_replicas_exist_and_named_by_node():
    rds = SlowRDS(managed_account(), ticks={"temp-demo-r": 6})
    result = copy_phase(rds, "prod", "demo")
    calls = order(rds)
    assert calls[0] == "RestoreDBInstanceToPointInTime temp-demo"
    manage = [i for i, (action, name, params) in enumerate(rds.sent) if params.get("ManageMasterUserPassword")]
    assert len(manage) == 1
    assert rds.sent[manage[0]][1:] == ("temp-demo", {
        "DBInstanceIdentifier": "temp-demo", "ApplyImmediately": True, "ManageMasterUserPassword": True,
        "MasterUserSecretKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/demo"})
    # The clone's replica was created, and had finished creating, before its source's password became managed.
    assert calls.index("CreateDBInstanceReadReplica temp-demo-r") < manage[0]
    assert rds.statuses[manage[0]]["temp-demo-r"] == "available"
    assert "ManageMasterUserPassword" not in json.dumps([p for a, n, p in rds.sent if n == "temp-demo-r"])
    new_arn = managed_secret_arn(rds, "temp-demo")
    assert rds.account.instances["temp-demo"]["MasterUserSecret"]["SecretStatus"] == "active"
    assert result["secrets"] == {"demo": new_arn}
    assert new_arn != rds.account.instances["demo"]["MasterUserSecret"]["SecretArn"]


def test_the_managed_secret_stays_named_by_node_after_the_swap():
    rds = SlowRDS(managed_account())
    plan = live_plan(rds, "prod", "demo")[0].to_dict()
    swapped = apply_steps(rds, "prod", "demo", plan=plan, phases=["copy", "swap"], poll_interval=0, settle_time=0,
                          sleep=lambda s: None)
    assert swapped["phase"] == "cleanup"
    assert swapped["secrets"] == {"demo": managed_secret_arn(rds, "demo")}
    assert rds.account.instances["demo"]["DbiResourceId"] == "db-TEMPDEMO"


def test_the_result_of_the_cleanup_still_names_the_clone_secret_and_no_pending_step():
    rds = SlowRDS(managed_account())
    plan = live_plan(rds, "prod", "demo")[0].to_dict()
    kwargs = dict(poll_interval=0, settle_time=0, sleep=lambda s: None)
    swapped = apply_steps(rds, "prod", "demo", plan=plan, phases=["copy", "swap"], **kwargs)
    cleaned = apply_steps(rds, "prod", "demo", plan=swapped["plan"], phases=["cleanup"], **kwargs)
    assert sorted(rds.account.instances) == ["demo", "demo-r", "prod", "prod-r"]
    assert cleaned["secrets"] == {"demo": managed_secret_arn(rds, "demo")}
    assert cleaned["phase"] != "copy"
    assert not [s["id"] for s in cleaned["plan"] if s["status"] == "pending"]


def test_a_point_in_time_plan_runs_copy_swap_and_cleanup_to_the_end():
    account = snapshot_account()
    source_before = copy.deepcopy(account.instances["prod"])
    rds = SlowRDS(account)
    swapped = run(rds, target="demo")
    assert swapped["mode"] == "point_in_time" and swapped["phase"] == "cleanup"
    assert order(rds)[0] == "RestoreDBInstanceToPointInTime temp-demo"
    restore = [params for action, name, params in rds.sent if action == "RestoreDBInstanceToPointInTime"]
    assert restore == [{"TargetDBInstanceIdentifier": "temp-demo", "SourceDBInstanceIdentifier": "prod",
                        "UseLatestRestorableTime": True, "DBInstanceClass": "db.t3.micro",
                        "DBSubnetGroupName": "demo-net"}]
    assert "PromoteReadReplica" not in [action for action, _name in rds.calls]
    run(rds, phases=["cleanup"], plan=swapped["plan"])
    assert sorted(account.instances) == ["demo", "demo-r", "prod"]
    assert account.instances["demo"]["DbiResourceId"] == "db-TEMPDEMO"
    assert account.instances["demo"]["DBSubnetGroup"]["DBSubnetGroupName"] == "demo-net"
    assert account.instances["demo"]["BackupRetentionPeriod"] == 7
    assert account.instances["demo-r"]["ReadReplicaSourceDBInstanceIdentifier"] == "demo"
    assert account.instances["demo-r"]["DbiResourceId"] == "db-TEMPDEMOR"
    assert account.instances["prod"]["DBInstanceStatus"] == "available"
    assert {k: v for k, v in account.instances["prod"].items() if k != "ReadReplicaDBInstanceIdentifiers"} == \
        {k: v for k, v in source_before.items() if k != "ReadReplicaDBInstanceIdentifiers"}
    again = live_plan(rds, "prod", "demo", previous_resource_ids=[source_before["DbiResourceId"], "db-DEMO",
                                                                  "db-DEMOR"])[0]
    assert again.phase == "complete"


def test_a_password_and_prepare_clone_runs_to_the_end_and_keeps_only_the_target_tags():
    account = seed_account()
    rds = SlowRDS(account)
    options = CloneOptions(password=PASSWORD, password_source="master_password", prepare=True)
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo", options)[0].to_dict()
    for phases in (["copy"], ["prepare", "swap"], ["cleanup"]):
        result = apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=plan, phases=phases, password=lambda: PASSWORD,
                             prepared=phases != ["copy"], poll_interval=0, settle_time=0, sleep=lambda s: None)
        plan = result["plan"]
        assert PASSWORD not in json.dumps(result, default=str)
    assert [action for action, _name in rds.calls].count("AddTagsToResource") == 2
    # The run's own tags served the resume; the clone ends with the target's tags only.
    assert account.instances["mitosis-demo"]["_tags"] == [SERVICE]
    assert account.instances["mitosis-demo"]["DbiResourceId"] == "db-TEMPMITOSISDEMO"
    assert sorted(account.instances) == ["mitosis-demo", "mitosis-demo-replica", "mitosis-prod",
                                         "mitosis-prod-replica"]
    assert [name for action, name, _params in password_calls(rds)] == ["temp-mitosis-demo"]


def test_clone_facts_list_the_temp_instances_before_the_swap():
    account = seed_account()
    for name in account.instances:
        account.instances[name]["MasterUsername"] = "admin"
    rds = SlowRDS(account)
    result = copy_phase(rds, "mitosis-prod", "mitosis-demo")
    clone = result["clone"]
    assert clone["identifier"] == "temp-mitosis-demo" and clone["node"] == "mitosis-demo"
    assert [(i["identifier"], i["node"], i["address"], i["port"], i["engine"], i["master_username"], i["status"])
            for i in clone["instances"]] == [
        ("temp-mitosis-demo", "mitosis-demo", "temp-mitosis-demo.c0ffee.us-east-1.rds.amazonaws.com", 5430, "mysql",
         "admin", "available"),
        ("temp-mitosis-demo-replica", "mitosis-demo-replica",
         "temp-mitosis-demo-replica.c0ffee.us-east-1.rds.amazonaws.com", 5431, "mysql", "admin", "available")]
    assert clone["address"] == clone["instances"][0]["address"]
    assert clone["resource_id"] == account.instances["temp-mitosis-demo"]["DbiResourceId"]


def test_clone_facts_are_empty_before_the_clone_exists():
    rds = SlowRDS(seed_account())
    result = apply_steps(rds, "mitosis-prod", "mitosis-demo", phases=["copy"], check_mode=True)
    assert result["clone"] == {} and result["secrets"] == {}


@pytest.mark.parametrize("prepare", [True, False])
def test_a_call_for_copy_prepare_and_swap_stops_before_a_pending_prepare_step(prepare):
    rds = SlowRDS(seed_account())
    plan = live_plan(rds, "mitosis-prod", "mitosis-demo", CloneOptions(prepare=prepare))[0].to_dict()
    result = apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=plan, phases=["copy", "prepare", "swap"],
                         poll_interval=0, settle_time=0, sleep=lambda s: None)
    renamed = [name for action, name in rds.calls if action == "ModifyDBInstance" and name.startswith("mitosis-demo")]
    if prepare:
        # The copy only: the caller scrubs the clone before anything after its prepare step runs.
        assert result["phase"] == "copy" and not renamed
        assert {s["phase"] for s in result["steps"]} == {"copy"}
        with pytest.raises(MitosisError, match="waits for the caller's prepare step"):
            apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=result["plan"], steps=["swap-out:mitosis-demo"])
        result = apply_steps(rds, "mitosis-prod", "mitosis-demo", plan=result["plan"], phases=["prepare", "swap"],
                             prepared=True, poll_interval=0, settle_time=0, sleep=lambda s: None)
    # Without a prepare step (or once the caller ran it), the same call goes on through the swap.
    assert result["phase"] == "cleanup"
