"""The lower bound of `make bench` (devtools/bench_clone.py): a plan's critical path with the endpoint's durations."""

import sys
from pathlib import Path

import pytest

from devtools import bench_clone
from devtools.rds_endpoint.timeline import OPERATIONS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))
from ansible_collections.mitosis.rds.plugins.module_utils.executor import live_plan  # noqa: E402


def step(key, kind, depends_on=(), **params):
    return {"id": key, "kind": kind, "params": params, "depends_on": list(depends_on)}


def seed_plan():
    """The seed's example as the planner builds it: mitosis-demo -> mitosis-demo-replica."""
    copy = ["create:d", "promote:d", "modify:d", "create:r", "modify:r"]
    return [
        step("create:d", "create", SourceDBInstanceIdentifier="mitosis-prod"),
        step("promote:d", "promote", ["create:d"], BackupRetentionPeriod=1),
        step("modify:d", "modify", ["promote:d"], DBParameterGroupName="g"),
        step("create:r", "create", ["promote:d"], SourceDBInstanceIdentifier="temp-d"),
        step("modify:r", "modify", ["create:r"], DBParameterGroupName="g"),
        step("swap-out:r", "swap-out", copy, NewDBInstanceIdentifier="old-r"),
        step("swap-out:d", "swap-out", copy, NewDBInstanceIdentifier="old-d"),
        step("swap-in:r", "swap-in", ["swap-out:r"], NewDBInstanceIdentifier="r"),
        step("swap-in:d", "swap-in", ["swap-out:d"], NewDBInstanceIdentifier="d"),
        step("restart:d", "restart", ["swap-in:d", "swap-in:r"]),
        step("delete:r", "delete", ["restart:d"]),
        step("delete:d", "delete", ["restart:d", "delete:r"]),
    ]


def test_durations_come_from_the_endpoint():
    assert bench_clone.rename_hold() == OPERATIONS["rename"][0] * 0.6 == 6
    assert bench_clone.step_minutes(step("c", "create")) == OPERATIONS["create-replica"][0]
    assert bench_clone.step_minutes(step("m", "modify", BackupRetentionPeriod=1)) == OPERATIONS["enable-backups"][0]
    assert bench_clone.step_minutes(step("m", "modify", DBParameterGroupName="g")) == OPERATIONS["modify"][0]
    assert bench_clone.step_minutes(step("x", "restart")) == 0


def test_a_switch_by_dns_waits_for_the_change_in_sync_and_the_ttl_instead_of_renames():
    copy = [s["id"] for s in seed_plan()[:5]]
    records = [{"Name": "db.demo.internal.", "TTL": 60}, {"Name": "db-ro.demo.internal.", "TTL": 120}]
    steps = seed_plan()[:5] + [
        step("switch:d", "switch", copy, Records=records),
        step("tag-switched:d", "switched", ["switch:d"]),
        step("restart:d", "restart", ["tag-switched:d"]),
        step("retire:r", "retire", ["restart:d"]), step("retire:d", "retire", ["restart:d"]),
        step("delete:r", "delete", ["retire:r"]), step("delete:d", "delete", ["retire:d", "delete:r"])]
    # The copy's 37, the change in sync (1) and the longest TTL (2): the restart after 40, not 53; the old
    # generation's renames (10) and two deletes after it.
    assert bench_clone.step_minutes(steps[5]) == OPERATIONS["dns-change"][0] + 2
    assert bench_clone.lower_bound(steps) == {"restart": 40, "end": 60}


def test_a_swap_in_waits_for_the_name_not_for_the_reboot():
    steps = [step("out", "swap-out"), step("in", "swap-in", ["out"]), step("restart", "restart", ["in"])]
    assert bench_clone.lower_bound(steps) == {"restart": 16, "end": 16}
    assert bench_clone.serial_expected(steps) == {"restart": 20, "end": 20}


def test_the_seed_example():
    # create 15, promote 5, replica 15, modify 2 = 37; rename hold 6 + rename 10 = 53; two deletes in a row = 63.
    assert bench_clone.lower_bound(seed_plan()) == {"restart": 53, "end": 63}
    assert bench_clone.serial_expected(seed_plan()) == {"restart": 79, "end": 89}


@pytest.mark.parametrize("seed, bound, serial, depth", [
    ("seed", {"restart": 53, "end": 63}, {"restart": 79, "end": 89}, 1),
    # The middle replica turns backups on (5) before its own replica; three levels of deletes.
    ("cascade", {"restart": 73, "end": 88}, {"restart": 156, "end": 176}, 2),
    # Five replicas side by side cost the lower bound nothing.
    ("wide", {"restart": 53, "end": 63}, {"restart": 227, "end": 257}, 1),
])
def test_live_plans(endpoint, seed, bound, serial, depth):
    bench_clone.SCENARIOS[seed][0](endpoint.session(), endpoint.url)
    plan, _graph = live_plan(endpoint.client("rds"), "mitosis-prod", "mitosis-demo")
    assert bench_clone.lower_bound(plan.steps) == bound
    assert bench_clone.lower_bound(plan.to_dict()) == bound
    assert bench_clone.serial_expected(plan.steps) == serial
    assert bench_clone.depth(plan) == depth
