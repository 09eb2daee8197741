# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy

import pytest
from botocore.exceptions import ClientError

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.executor import Waiter, apply_wave
from ansible_collections.mitosis.rds.plugins.module_utils.planner import Step

from .rds_state import Account, instance
from .test_planner import seed_account


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
        yield {self.key: items}


class FakeRDS:
    """Describes a scripted sequence of states (one per describe), or an Account's live state."""

    class meta:  # pylint: disable=invalid-name
        region_name = "us-east-1"

    def __init__(self, states=None, account=None):
        self.states = list(states or [])
        self.account = account
        self.calls = []

    def get_paginator(self, name):
        if name == "describe_db_snapshots":
            return Pages([], "DBSnapshots")
        if self.account is not None:
            current = [copy.deepcopy(i) for i in self.account.instances.values()]
        else:
            current = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return Pages(current, "DBInstances")

    def list_tags_for_resource(self, ResourceName):  # pylint: disable=invalid-name
        return {"TagList": []}

    def __getattr__(self, name):
        def mutate(**params):
            self.calls.append((name, params))
            return {}
        return mutate


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def rename_step():
    return Step("swap-in:db", "swap", "ModifyDBInstance", "temp-db",
                {"ApplyImmediately": True, "NewDBInstanceIdentifier": "db"}, "db")


def waiter(rds, clock, timeout=100, settle=10):
    return Waiter(rds, timeout, 1, settle, clock=clock, sleep=clock.sleep)


def test_rename_completes_only_after_the_reboot_that_follows_renaming():
    states = [
        [instance("temp-db", DBInstanceStatus="renaming")],
        [instance("db")],
        [instance("db", DBInstanceStatus="rebooting")],
        [instance("db")],
    ]
    clock = Clock()
    rds = FakeRDS(states)
    waiter(rds, clock, settle=1000).wave([rename_step()])
    assert clock.now == 3


def test_rename_without_a_seen_reboot_waits_for_the_settle_time():
    clock = Clock()
    rds = FakeRDS([[instance("temp-db", DBInstanceStatus="renaming")], [instance("db")]])
    waiter(rds, clock, settle=10).wave([rename_step()])
    assert clock.now == 11


def test_failed_status_fails_the_step_with_the_instance_and_how_to_resume():
    clock = Clock()
    rds = FakeRDS([[instance("temp-db", DBInstanceStatus="incompatible-parameters")]])
    with pytest.raises(MitosisError) as info:
        waiter(rds, clock).wave([rename_step()])
    assert info.value.identifier == "temp-db"
    assert "incompatible-parameters" in str(info.value) and "run the same command again" in str(info.value)


def test_timeout_fails_with_how_to_resume():
    clock = Clock()
    rds = FakeRDS([[instance("temp-db", DBInstanceStatus="renaming")]])
    with pytest.raises(MitosisError, match="Timed out after 5 s waiting for ModifyDBInstance temp-db"):
        waiter(rds, clock, timeout=5).wave([rename_step()])


def test_a_wave_polls_one_describe_for_all_its_steps():
    clock = Clock()
    states = [[instance("old-a"), instance("old-b")]]
    rds = FakeRDS(states)
    steps = [Step("swap-out:" + n, "swap", "ModifyDBInstance", n, {"NewDBInstanceIdentifier": "old-" + n}, n)
             for n in ("a", "b")]
    waiter(rds, clock, settle=0).wave(steps)
    assert clock.now == 0


def test_done_steps_are_skipped_without_a_call():
    account = seed_account()
    rds = FakeRDS(account=account)
    first = apply_wave(rds, "mitosis-prod", "mitosis-demo", ["create:mitosis-demo"], wait=False)
    assert first["changed"] is True
    assert [name for name, _params in rds.calls] == ["create_db_instance_read_replica"]
    account.apply({"action": "CreateDBInstanceReadReplica", "identifier": "temp-mitosis-demo",
                   "params": {"SourceDBInstanceIdentifier": "mitosis-prod"}})
    rds.calls.clear()
    again = apply_wave(rds, "mitosis-prod", "mitosis-demo", ["create:mitosis-demo"])
    assert rds.calls == [] and again["changed"] is False
    assert again["steps"][0]["status"] == "skipped"


def test_check_mode_makes_no_call_and_reports_the_call_it_would_make():
    rds = FakeRDS(account=seed_account())
    result = apply_wave(rds, "mitosis-prod", "mitosis-demo", ["create:mitosis-demo", "swap-out:mitosis-demo"],
                        check_mode=True)
    assert rds.calls == [] and result["changed"] is True
    assert [s["status"] for s in result["steps"]] == ["would run", "would run"]
    assert result["diff"]["after"]["temp-mitosis-demo"]["exists"] is True
    assert result["diff"]["after"]["mitosis-demo"] == {"exists": False}


def test_out_of_order_steps_are_refused():
    rds = FakeRDS(account=seed_account())
    with pytest.raises(MitosisError, match="depends on"):
        apply_wave(rds, "mitosis-prod", "mitosis-demo", ["promote:mitosis-demo"])
    with pytest.raises(MitosisError, match="Refusing to delete old-mitosis-demo"):
        apply_wave(rds, "mitosis-prod", "mitosis-demo", ["delete:mitosis-demo"])
    with pytest.raises(MitosisError, match="not part of the plan"):
        apply_wave(rds, "mitosis-prod", "mitosis-demo", ["create:elsewhere"])
    assert rds.calls == []


def test_a_busy_instance_is_waited_out_then_the_call_is_retried():
    account = Account([instance("prod"), instance("demo")])
    rds = FakeRDS(account=account)
    calls = []

    def create(**params):
        calls.append(params)
        if len(calls) == 1:
            raise client_error("InvalidDBInstanceState", "CreateDBInstanceReadReplica")
        account.apply({"action": "CreateDBInstanceReadReplica", "identifier": params["DBInstanceIdentifier"],
                       "params": {"SourceDBInstanceIdentifier": params["SourceDBInstanceIdentifier"]}})
        return {}

    rds.create_db_instance_read_replica = create
    result = apply_wave(rds, "prod", "demo", ["create:demo"], poll_interval=0, wait_timeout=5, sleep=lambda s: None)
    assert len(calls) == 2 and result["changed"] is True
    assert result["steps"][0]["status"] == "changed"
