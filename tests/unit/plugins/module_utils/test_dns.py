# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""swap_method=dns on fake live state: the DnsPlanner's phases from the records and the generations (X, X-a, X-b,
moved aside to old-* or rej-*), its steps, its refusals before any change, dns_create, the IAM policy and the lock of
a stack switched by DNS, and how the zone and the instances behind its records are read."""

from __future__ import annotations

import copy

import pytest
from botocore.exceptions import ClientError

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.dns import (DNS_ROLLBACK_WORDS, DNS_WORDS, DnsGraph,
                                                                      DnsPlanner, Zone, base_of, dns_plan_of,
                                                                      find_zone, generation_of, instance_at,
                                                                      read_zone)
from ansible_collections.mitosis.rds.plugins.module_utils.graph import dns_name_forms, generation_forms
from ansible_collections.mitosis.rds.plugins.module_utils.lock import LockState
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions, flight_plan
from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy

from .rds_state import ACCOUNT, REGION, Account, instance

ZONE_ID = "Z0DEMO"
ZONE = "demo.internal."
PRIMARY, READER, UNRELATED = "db.demo.internal.", "db-ro.demo.internal.", "app.demo.internal."
TARGET = "db.demo.internal"
KEPT = {"Key": "mitosis:kept", "Value": "true"}
REJECTED = {"Key": "mitosis:rejected", "Value": "true"}
GENERATION_A = {"Key": "mitosis:generation", "Value": "a"}
# The switch's record from a run of an older version (or of another switch): not this switch's.
OLDER_SWITCHED = {"Key": "mitosis:switched", "Value": "true"}


def switched(left, resource_id=None):
    """The tag a switch writes on the primary it puts live, for good: it names the instance the records left, by name
    and resource id (an instance created again under that name is another one)."""
    return {"Key": "mitosis:switched", "Value": "from {0} {1}".format(left, resource_id or rid(left))}


def address(name):
    """An instance's endpoint: its identifier is the first label (it changes with a rename, as on AWS)."""
    return "{0}.c1abc.us-east-1.rds.amazonaws.com".format(name)


def created(minute):
    return "2026-11-24T10:{0:02d}:00".format(minute)


def member(name, minute, parent=None, tags=(), **attrs):
    """A DescribeDBInstances entry with its endpoint, creation time and tags: a generation's carries mitosis:generation
    (moved aside too: tags follow an instance through renames)."""
    tag_list = list(tags)
    for generation in ("a", "b"):
        if name.endswith("-" + generation):
            tag_list.append({"Key": "mitosis:generation", "Value": generation})
    return instance(name, parent=parent, Endpoint={"Address": address(name), "Port": 3306},
                    InstanceCreateTime=created(minute), TagList=tag_list, **attrs)


def stack(generation, minute, root_tags=(), replica_tags=(), **attrs):
    """The demo stack (demo and its replica demo-r) as generation `generation` ("" before its first switch)."""
    suffix = "-" + generation if generation else ""
    return [member("demo" + suffix, minute, tags=root_tags, **attrs),
            member("demo-r" + suffix, minute + 1, parent="demo" + suffix, tags=replica_tags)]


PRODUCTION = [member("prod", 0), member("prod-r", 0, parent="prod"), member("other", 0)]


def record(name, holder, ttl=60):
    return {"Name": name, "TTL": ttl, "Value": address(holder)}


def records_at(generation, ttl=60):
    """The application's records on generation `generation` of the stack, and a record of another application."""
    suffix = "-" + generation if generation else ""
    return [record(PRIMARY, "demo" + suffix, ttl), record(READER, "demo-r" + suffix, 30), record(UNRELATED, "other")]


def graph_of(instances, records):
    return DnsGraph(instances, REGION, Zone(ZONE_ID, ZONE, {r["Name"]: r for r in records}))


def planner(rollback=False, **options):
    found = DnsPlanner("" if rollback else "prod", TARGET,
                       CloneOptions(swap_method="dns", dns_zone="demo.internal", rollback=rollback, **options),
                       tags_of=lambda desc: [], snapshots_of=lambda name, identifier: [], route53=None)
    found.base = "demo"
    return found


def plan_of(instances, records, previous_resource_ids=None, **options):
    return planner(**options).plan(graph_of(instances, records), previous_resource_ids)


def status(plan):
    return {s.key: s.status for s in plan.steps}


def ancestors(plan, key):
    """Every step `key` waits for, directly or not."""
    found, queue = set(), list(plan.step(key).depends_on)
    while queue:
        dep = queue.pop()
        if dep not in found:
            found.add(dep)
            queue.extend(plan.step(dep).depends_on)
    return found


def rid(name):
    return instance(name)["DbiResourceId"]


# --- generations ------------------------------------------------------------------------------------------------

def test_generation_names_and_forms():
    assert generation_forms("demo") == ["demo", "demo-a", "demo-b"]
    assert dns_name_forms("demo") == ["demo", "demo-a", "demo-b", "old-demo", "old-demo-a", "old-demo-b",
                                      "rej-demo-a", "rej-demo-b"]
    assert generation_of(member("demo-a", 1)) == "a" and base_of(member("demo-a", 1)) == "demo"
    assert generation_of(member("demo-r-b", 1)) == "b" and base_of(member("demo-r-b", 1)) == "demo-r"
    # Only the tag makes a generation, and only when the name ends with it.
    assert generation_of(instance("demo-a")) == "" and base_of(instance("demo-a")) == "demo-a"
    wrong = instance("demo-a", TagList=[{"Key": "mitosis:generation", "Value": "b"}])
    assert generation_of(wrong) == "" and generation_of(None) == ""


# --- a refresh --------------------------------------------------------------------------------------------------

def test_a_first_refresh_clones_into_generation_a_and_switches_every_record_of_the_stack():
    live = PRODUCTION + stack("", 1)
    plan = plan_of(live, records_at(""))
    assert (plan.phase, plan.mode) == ("copy", "replica") and dns_plan_of(plan.to_dict())
    assert [(s.key, s.kind, s.identifier) for s in plan.steps] == [
        ("create:demo", "create", "demo-a"), ("promote:demo", "promote", "demo-a"),
        ("create:demo-r", "create", "demo-r-a"), ("switch:demo", "switch", "demo-a"),
        ("tag-switched:demo", "switched", "demo-a"), ("restart:demo", "restart", "demo-a"),
        ("retire:demo-r", "retire", "demo-r"), ("delete:demo-r", "delete", "old-demo-r"),
        ("retire:demo", "retire", "demo"), ("delete:demo", "delete", "old-demo")]
    assert all(s.status == "pending" for s in plan.steps)
    # The clones carry their generation, for good; the replica's clone replicates from the primary's.
    generation = {"Key": "mitosis:generation", "Value": "a"}
    assert plan.step("create:demo").params["Tags"] == [generation]
    assert plan.step("create:demo").params["SourceDBInstanceIdentifier"] == "prod"
    assert plan.step("create:demo-r").params["Tags"] == [generation]
    assert plan.step("create:demo-r").params["SourceDBInstanceIdentifier"] == "demo-a"
    # One switch moves every record of the stack, and only those, to the clone of the member it points at.
    switch = plan.switch
    assert switch.params["HostedZoneId"] == ZONE_ID and switch.params["Zone"] == ZONE
    assert switch.params["Records"] == [
        {"Name": READER, "TTL": 30, "Value": address("demo-r"), "Node": "demo-r"},
        {"Name": PRIMARY, "TTL": 60, "Value": address("demo"), "Node": "demo"}]
    assert switch.params["Clones"] == {"demo": "demo-a", "demo-r": "demo-r-a"}
    assert plan.records == [READER, PRIMARY] and switch.ttl == 60
    assert set(switch.depends_on) == {"create:demo", "promote:demo", "create:demo-r"}
    # The new primary records the switch, naming the instance the records left.
    assert plan.step("tag-switched:demo").params["Tags"] == [switched("demo")]
    assert plan.step("tag-switched:demo").depends_on == ["switch:demo"]
    assert plan.step("restart:demo").depends_on == ["tag-switched:demo"]
    # Then the generation the records left: moved aside to old-*, that very instance, then deleted, leaves first.
    retire = plan.step("retire:demo")
    assert retire.params == {"ApplyImmediately": True, "NewDBInstanceIdentifier": "old-demo"}
    assert retire.resource_id == plan.step("delete:demo").resource_id == rid("demo")
    assert retire.depends_on == ["restart:demo"]
    assert plan.step("delete:demo").depends_on == ["retire:demo", "delete:demo-r"]
    assert plan.step("delete:demo-r").depends_on == ["retire:demo-r"]
    # The run's tags here are durable (the generation, the switch): no untag step.
    assert plan.step("untag:demo") is None
    # What the plan says about itself.
    assert plan.node_names() == ["demo", "demo-r"] and plan.clone_name("demo-r") == "demo-r-a"
    assert plan.lock_target() == "demo" and plan.lock_names() == dns_name_forms("demo")
    assert plan.retiring_resource_ids() == [rid("demo-r"), rid("demo")]
    text = " ".join(flight_plan(plan).split())  # unwrapped
    assert "the stack behind db-ro.demo.internal, db.demo.internal in zone demo.internal (2 nodes, switched by " \
           "DNS)" in text
    assert "UPSERT db.demo.internal. CNAME TTL=60: {0} -> the endpoint of demo-a".format(address("demo")) in text
    assert UNRELATED not in text


@pytest.mark.parametrize("live, following", [("a", "b"), ("b", "a")])
def test_the_next_refresh_clones_into_the_other_generation(live, following):
    plan = plan_of(PRODUCTION + stack(live, 5), records_at(live))
    assert plan.phase == "copy"
    assert plan.step("create:demo").identifier == "demo-" + following
    assert plan.step("create:demo").params["Tags"] == [{"Key": "mitosis:generation", "Value": following}]
    assert plan.step("create:demo-r").identifier == "demo-r-" + following
    assert plan.switch.params["Clones"] == {"demo": "demo-" + following, "demo-r": "demo-r-" + following}
    assert [r["Value"] for r in plan.switch.params["Records"]] == [address("demo-r-" + live), address("demo-" + live)]
    assert plan.step("retire:demo").identifier == "demo-" + live
    assert plan.step("retire:demo").params["NewDBInstanceIdentifier"] == "old-demo-" + live
    assert plan.step("delete:demo-r").identifier == "old-demo-r-" + live


def test_a_copy_under_way_is_the_clone_and_goes_on():
    """An earlier run's clone (newer than the live generation, no record on it) is the copy to finish."""
    clones = [member("demo-a", 5, parent="prod"), member("demo-r-a", 6, parent="demo-a")]
    plan = plan_of(PRODUCTION + stack("", 1) + clones, records_at(""))
    assert plan.phase == "copy"
    assert status(plan)["create:demo"] == "done" and status(plan)["create:demo-r"] == "done"
    assert status(plan)["promote:demo"] == "pending" and plan.mode == "replica"
    assert "already a read replica of prod" in plan.why


def test_an_older_generation_that_no_record_points_at_is_the_cleanup():
    plan = plan_of(PRODUCTION + stack("", 1) + stack("a", 5, root_tags=[switched("demo")]), records_at("a"))
    assert plan.phase == "cleanup"
    # The records point at the newer generation: it is the clone, and the older one is retired.
    assert plan.switch.params["Clones"] == {"demo": "demo-a", "demo-r": "demo-r-a"}
    assert plan.step("retire:demo").identifier == "demo" and plan.step("retire:demo").resource_id == rid("demo")
    marks = status(plan)
    assert all(marks[k] == "done" for k in ("create:demo", "promote:demo", "create:demo-r", "switch:demo",
                                            "tag-switched:demo"))
    assert all(marks[k] == "pending" for k in ("restart:demo", "retire:demo", "delete:demo", "retire:demo-r",
                                               "delete:demo-r"))
    # The switch's record stays on the new primary: nothing untags it.
    assert plan.step("untag:demo") is None
    assert plan.step("switch:demo").reason == "the records point at the clones, in sync (demo-a has the tag " \
                                              "mitosis:switched=from demo db-DEMO)"
    assert plan.step("restart:demo").reason == DNS_WORDS.restart_pending
    # Records moved but not yet recorded in sync: the same change is sent again and waited for. A mitosis:switched
    # of another value is an older switch's record, not this one's.
    for tags in ([], [OLDER_SWITCHED], [switched("demo-b")]):
        plan = plan_of(PRODUCTION + stack("", 1) + stack("a", 5, root_tags=tags), records_at("a"))
        assert plan.phase == "cleanup", tags
        assert status(plan)["switch:demo"] == status(plan)["tag-switched:demo"] == "pending", tags
        assert plan.step("switch:demo").reason.startswith("the records point at the clones already"), tags
    # Once moved aside, the older generation is found under old-*; once deleted, the restart is done.
    aside = [member("old-demo", 1), member("old-demo-r", 2, parent="old-demo")]
    for index, inst in enumerate(aside):
        inst["DbiResourceId"] = rid(["demo", "demo-r"][index])
    plan = plan_of(PRODUCTION + aside + stack("a", 5, root_tags=[switched("demo")]), records_at("a"))
    assert plan.phase == "cleanup"
    assert status(plan)["retire:demo"] == status(plan)["retire:demo-r"] == "done"
    # The switch's record names the instance the records left as it was called then, not old-demo.
    assert plan.step("tag-switched:demo").params == {"Tags": [switched("demo")]}
    assert status(plan)["switch:demo"] == status(plan)["tag-switched:demo"] == "done"
    assert status(plan)["delete:demo"] == "pending"
    # Once a member's retired instance is gone, a new plan has no step for it.
    plan = plan_of(PRODUCTION + aside[:1] + stack("a", 5, root_tags=[switched("demo")]), records_at("a"))
    assert plan.phase == "cleanup" and plan.step("delete:demo-r") is None and plan.step("retire:demo-r") is None
    assert status(plan)["delete:demo"] == "pending" and status(plan)["restart:demo"] == "pending"


def test_a_kept_generation_is_cleared_before_the_copy_takes_its_names():
    kept = stack("a", 1, root_tags=[KEPT])
    plan = plan_of(PRODUCTION + kept + stack("b", 5), records_at("b"))
    assert plan.phase == "copy"
    # A step per kept instance, keyed by its name: moved aside to old-*, then deleted, leaves first.
    assert [(s.key, s.kind, s.identifier, s.params.get("NewDBInstanceIdentifier")) for s in plan.steps[:4]] == [
        ("retire-kept:demo-r-a", "retire", "demo-r-a", "old-demo-r-a"),
        ("delete-kept:demo-r-a", "delete-kept", "old-demo-r-a", None),
        ("retire-kept:demo-a", "retire", "demo-a", "old-demo-a"),
        ("delete-kept:demo-a", "delete-kept", "old-demo-a", None)]
    assert plan.step("retire-kept:demo-a").resource_id == plan.step("delete-kept:demo-a").resource_id == rid("demo-a")
    assert plan.step("retire-kept:demo-r-a").resource_id == plan.step("delete-kept:demo-r-a").resource_id == \
        rid("demo-r-a")
    assert sorted(plan.step("delete-kept:demo-a").depends_on) == ["delete-kept:demo-r-a", "retire-kept:demo-a"]
    assert plan.step("delete-kept:demo-r-a").depends_on == ["retire-kept:demo-r-a"]
    clearing = {"retire-kept:demo-r-a", "delete-kept:demo-r-a", "retire-kept:demo-a", "delete-kept:demo-a"}
    # The run that moves the kept generation aside also deletes it: its delete waits while it exists.
    assert all(status(plan)[k] == "pending" for k in clearing)
    # The copy goes into the kept generation's names once they are free.
    assert plan.step("create:demo").identifier == "demo-a"
    for step in plan.steps:
        if step.phase == "copy" and step.key not in clearing:
            assert clearing <= ancestors(plan, step.key), step.key
    assert clearing <= set(plan.switch.depends_on)
    assert plan.step("create:demo").reason == "copied once the kept generation is deleted"
    # The generation the switch leaves (b) is retired as usual after the restart.
    assert plan.step("retire:demo").identifier == "demo-b"
    # A kept generation already moved aside: only its delete.
    aside = [member("old-demo-a", 1, tags=[KEPT]), member("old-demo-r-a", 2, parent="old-demo-a")]
    aside[0]["DbiResourceId"], aside[1]["DbiResourceId"] = rid("demo-a"), rid("demo-r-a")
    plan = plan_of(PRODUCTION + aside + stack("b", 5), records_at("b"))
    assert plan.phase == "copy"
    assert [s.key for s in plan.steps if s.key.startswith(("retire-kept:", "delete-kept:"))] == [
        "delete-kept:demo-r-a", "delete-kept:demo-a"]
    assert status(plan)["delete-kept:demo-a"] == status(plan)["delete-kept:demo-r-a"] == "pending"
    assert plan.step("create:demo").reason == "copied once the kept generation is deleted"
    # Once the replica is gone, only the primary's delete is left.
    plan = plan_of(PRODUCTION + aside[:1] + stack("b", 5), records_at("b"))
    assert [(s.key, s.status) for s in plan.steps if s.key.startswith(("retire-kept:", "delete-kept:"))] == [
        ("delete-kept:demo-a", "pending")]
    assert plan.step("delete-kept:demo-a").depends_on == []


def test_the_run_that_moves_a_kept_generation_aside_also_deletes_it():
    plan = plan_of(PRODUCTION + stack("a", 1, root_tags=[KEPT]) + stack("b", 5), records_at("b"))
    assert status(plan)["delete-kept:demo-a"] == "pending"
    assert status(plan)["retire-kept:demo-a"] == "pending"


def test_each_kept_instance_of_a_member_has_steps_of_its_own():
    """A kept generation (demo-a) and a leftover already moved aside (old-demo) are both cleared: each under its own
    key, a parent's delete after every delete of its children."""
    leftover = [member("old-demo", 0), member("old-demo-r", 0, parent="old-demo")]
    plan = plan_of(PRODUCTION + stack("a", 1, root_tags=[KEPT]) + stack("b", 5) + leftover, records_at("b"))
    assert plan.phase == "copy"
    clearing = [(s.key, s.kind, s.identifier, s.resource_id) for s in plan.steps
                if s.key.startswith(("retire-kept:", "delete-kept:"))]
    assert sorted(clearing) == sorted([
        ("retire-kept:demo-r-a", "retire", "demo-r-a", rid("demo-r-a")),
        ("delete-kept:demo-r-a", "delete-kept", "old-demo-r-a", rid("demo-r-a")),
        ("delete-kept:demo-r", "delete-kept", "old-demo-r", rid("old-demo-r")),
        ("retire-kept:demo-a", "retire", "demo-a", rid("demo-a")),
        ("delete-kept:demo-a", "delete-kept", "old-demo-a", rid("demo-a")),
        ("delete-kept:demo", "delete-kept", "old-demo", rid("old-demo"))])
    children = {"delete-kept:demo-r-a", "delete-kept:demo-r"}
    assert set(plan.step("delete-kept:demo-a").depends_on) == children | {"retire-kept:demo-a"}
    assert set(plan.step("delete-kept:demo").depends_on) == children
    assert {key for key, _kind, _name, _id in clearing} <= set(plan.switch.depends_on)


def test_a_finished_refresh_is_complete_with_the_ids_it_retired():
    plan = plan_of(PRODUCTION + stack("a", 5), records_at("a"), previous_resource_ids=[rid("demo"), rid("demo-r")])
    assert plan.phase == "complete"
    assert {s.status for s in plan.steps} == {"done"}
    assert plan.step("switch:demo").reason == "the refresh is complete: the records of demo point at its new generation"
    # Nothing is left to retire: no step moves aside or deletes anything, and no id is retiring.
    assert [s.kind for s in plan.steps] == ["create", "promote", "create", "switch", "switched", "restart"]
    assert plan.retiring_resource_ids() == []
    # Without them, or when they name the live generation, it is the next refresh.
    assert plan_of(PRODUCTION + stack("a", 5), records_at("a")).phase == "copy"
    assert plan_of(PRODUCTION + stack("a", 5), records_at("a"), previous_resource_ids=[rid("demo-a")]).phase == "copy"


def test_keep_previous_keeps_the_generation_the_switch_leaves():
    plan = plan_of(PRODUCTION + stack("", 1), records_at(""), keep_previous=True)
    # The clone carries no tag of the run to remove: the keep's mark is on the generation it leaves.
    assert [s.kind for s in plan.steps] == ["create", "promote", "create", "switch", "switched", "restart", "keep"]
    keep = plan.step("keep:demo")
    assert (keep.identifier, keep.params, keep.depends_on) == ("demo", {"Tags": [KEPT]}, ["restart:demo"])
    assert keep.resource_id == rid("demo") and keep.concludes
    assert plan.retiring_resource_ids() == [rid("demo")]
    assert not [s for s in plan.steps if s.kind in ("retire", "delete")]
    # After the switch, the restart runs until the previous generation is marked kept.
    after = PRODUCTION + stack("", 1) + stack("a", 5, root_tags=[switched("demo")])
    plan = plan_of(after, records_at("a"), keep_previous=True)
    assert plan.phase == "cleanup" and status(plan)["keep:demo"] == status(plan)["restart:demo"] == "pending"
    assert status(plan)["switch:demo"] == "done"
    kept = PRODUCTION + stack("", 1, root_tags=[KEPT]) + stack("a", 5, root_tags=[switched("demo")])
    plan = plan_of(kept, records_at("a"), previous_resource_ids=[rid("demo")], keep_previous=True)
    assert plan.phase == "complete" and {s.status for s in plan.steps} == {"done"}
    # Complete: the kept generation is no longer this run's to keep.
    assert plan.step("keep:demo") is None and plan.retiring_resource_ids() == []


# --- a rollback -------------------------------------------------------------------------------------------------

def test_a_rollback_moves_the_records_back_in_one_change_then_retires_the_rejected_generation():
    kept = PRODUCTION + stack("", 1, root_tags=[KEPT]) + stack("a", 5, root_tags=[switched("demo")])
    plan = plan_of(kept, records_at("a"), rollback=True)
    assert (plan.phase, plan.mode, plan.source) == ("swap", "rollback", "")
    assert plan.planner.words is DNS_ROLLBACK_WORDS
    assert [(s.key, s.kind, s.identifier) for s in plan.steps] == [
        ("tag-rejected:demo", "switched", "demo-a"), ("switch:demo", "switch", "demo"),
        ("tag-switched:demo", "switched", "demo"), ("restart:demo", "restart", "demo"),
        ("retire:demo-r", "retire", "demo-r-a"), ("delete:demo-r", "delete", "rej-demo-r-a"),
        ("retire:demo", "retire", "demo-a"), ("delete:demo", "delete", "rej-demo-a"), ("untag:demo", "untag", "demo")]
    assert plan.step("tag-rejected:demo").params == {"Tags": [REJECTED]}
    # The switch back records itself on the original primary, naming the generation the records leave.
    assert plan.step("tag-switched:demo").params == {"Tags": [switched("demo-a")]}
    assert plan.switch.params["Clones"] == {"demo": "demo", "demo-r": "demo-r"}
    assert plan.switch.depends_on == ["tag-rejected:demo"]
    assert plan.step("retire:demo").params["NewDBInstanceIdentifier"] == "rej-demo-a"
    assert plan.step("retire:demo").resource_id == rid("demo-a")
    # mitosis:switched is durable: the untag leaves it.
    assert sorted(plan.step("untag:demo").params["TagKeys"]) == ["mitosis:kept", "mitosis:rejected"]
    assert plan.step("untag:demo").depends_on == ["restart:demo"]
    assert all(s.status == "pending" for s in plan.steps)
    # A mitosis:switched of another value on the original (an older switch's) does not record this switch.
    older = PRODUCTION + stack("", 1, root_tags=[KEPT, OLDER_SWITCHED]) + stack("a", 5, root_tags=[switched("demo")])
    assert status(plan_of(older, records_at("a"), rollback=True))["switch:demo"] == "pending"
    # The records back on the earlier generation, the newer one rejected: the cleanup.
    back = PRODUCTION + stack("", 1, root_tags=[KEPT, switched("demo-a")]) + stack(
        "a", 5, root_tags=[switched("demo"), REJECTED])
    plan = plan_of(back, records_at(""), rollback=True)
    assert plan.phase == "cleanup"
    assert plan.step("retire:demo").identifier == "demo-a" and plan.switch.params["Clones"]["demo"] == "demo"
    marks = status(plan)
    assert marks["tag-rejected:demo"] == marks["switch:demo"] == marks["tag-switched:demo"] == "done"
    assert marks["retire:demo"] == marks["delete:demo"] == marks["restart:demo"] == "pending"
    assert plan.step("restart:demo").reason == "runs (again) before any rej-* instance is deleted"
    # Moved aside to rej-*, the rejected generation is still the one the cleanup deletes.
    rejected = [member("rej-demo-a", 5, tags=[REJECTED]), member("rej-demo-r-a", 6, parent="rej-demo-a")]
    rejected[0]["DbiResourceId"], rejected[1]["DbiResourceId"] = rid("demo-a"), rid("demo-r-a")
    plan = plan_of(PRODUCTION + stack("", 1, root_tags=[KEPT, switched("demo-a")]) + rejected, records_at(""),
                   rollback=True)
    assert plan.phase == "cleanup" and plan.step("delete:demo").identifier == "rej-demo-a"
    assert status(plan)["retire:demo"] == "done" and status(plan)["delete:demo"] == "pending"
    assert plan.step("tag-switched:demo").params == {"Tags": [switched("demo-a")]}
    assert status(plan)["switch:demo"] == status(plan)["tag-switched:demo"] == "done"


def test_a_rollback_refuses_when_there_is_no_earlier_generation():
    with pytest.raises(MitosisError, match=r"nothing to roll back to: no earlier generation of demo exists \(the "
                                           r"records point at demo-a\)") as info:
        plan_of(PRODUCTION + stack("a", 5), records_at("a"), rollback=True)
    assert "keep_previous=true" in str(info.value)


def test_a_finished_rollback_is_complete_with_the_ids_it_retired():
    back = PRODUCTION + stack("", 1, root_tags=[KEPT, switched("demo-a")])
    plan = plan_of(back, records_at(""), previous_resource_ids=[rid("demo-a"), rid("demo-r-a")], rollback=True)
    assert plan.phase == "complete" and plan.mode == "rollback"
    assert {s.status for s in plan.steps} == {"done"}
    assert plan.step("switch:demo").reason == "the rollback is complete: the records of demo point at the earlier " \
                                              "generation again"
    # Nothing is left to retire: no step moves aside or deletes anything, and no id is retiring.
    assert not [s for s in plan.steps if s.kind in ("retire", "delete", "delete-kept", "keep")]
    assert plan.retiring_resource_ids() == []
    # Without the ids, there is nothing to roll back to.
    with pytest.raises(MitosisError, match="nothing to roll back to"):
        plan_of(back, records_at(""), rollback=True)


# --- refusals before any change ---------------------------------------------------------------------------------

def test_no_record_on_the_stack_is_refused():
    with pytest.raises(MitosisError, match=r"No CNAME record of zone demo.internal. points at the endpoint of demo: "
                                           r"swap_method=dns moves the records") as info:
        plan_of(PRODUCTION + stack("", 1), [record(UNRELATED, "other")])
    assert "dns_create=true" in str(info.value) and "<instance>.demo.internal" in str(info.value)


def test_records_on_two_generations_are_refused():
    both = records_at("a") + [record("legacy.demo.internal.", "demo")]
    with pytest.raises(MitosisError, match="Records of zone demo.internal. point at demo and demo-a: two generations "
                                           "of the same stack"):
        plan_of(PRODUCTION + stack("", 1) + stack("a", 5), both)


def test_a_replica_record_on_the_generation_the_plan_retires_is_refused():
    half = [record(PRIMARY, "demo-a"), record(READER, "demo-r")]
    with pytest.raises(MitosisError, match=r"Record db-ro\.demo\.internal\. points at demo-r, while the other records "
                                           r"of the stack point at the generation of demo-a: a switch moves every "
                                           r"record of the stack at once") as info:
        plan_of(PRODUCTION + stack("", 1) + stack("a", 5), half)
    assert info.value.identifier == READER
    assert info.value.hint == "Point db-ro.demo.internal. at the generation the other records point at (or delete " \
                              "it), then run again."
    # Any record of the zone on a member's other instance: a newer one (a copy under way), one moved aside.
    copying = [member("demo-a", 5, parent="prod"), member("demo-r-a", 6, parent="demo-a")]
    aside = [member("old-demo", 1), member("old-demo-r", 2, parent="old-demo")]
    legacy = "legacy.demo.internal."
    for instances, records, holder, live in (
            (stack("", 1) + copying, records_at("") + [record(legacy, "demo-r-a")], "demo-r-a", "demo"),
            (aside + stack("a", 5), records_at("a") + [record(legacy, "old-demo-r")], "old-demo-r", "demo-a"),
            (stack("", 1) + stack("a", 5), records_at("a") + [record(legacy, "demo-r")], "demo-r", "demo-a")):
        with pytest.raises(MitosisError, match="Record {0} points at {1}, while the other records of the stack point "
                                               "at the generation of {2}".format(legacy, holder, live)):
            plan_of(PRODUCTION + instances, records)
    # A record of the zone on an instance outside the stack is none of its business.
    assert plan_of(PRODUCTION + stack("", 1), records_at("") + [record(legacy, "prod")]).phase == "copy"


def test_two_generations_no_record_points_at_are_refused():
    leftovers = PRODUCTION + stack("", 1) + stack("a", 3) + stack("b", 5)
    with pytest.raises(MitosisError, match="demo has two generations that no record points at: demo, demo-a") as info:
        plan_of(leftovers, records_at("b"))
    assert "Delete the one that is a leftover" in str(info.value)


def test_a_name_too_long_for_its_generation_moved_aside_is_refused():
    longest = "d" * 57  # old-<57>-a has 63 characters, what RDS allows
    live = PRODUCTION + [member(longest, 1)]
    dns = planner()
    dns.base = longest
    assert dns.plan(graph_of(live, [record(PRIMARY, longest)])).step("create:" + longest).identifier == longest + "-a"
    too_long = "d" * 58
    dns.base = too_long
    refused = "{0} is too long for a switch by DNS: its generation moved aside, old-{0}-a, would have 64 characters " \
              "and RDS allows 63".format(too_long)
    with pytest.raises(MitosisError, match=refused) as info:
        dns.plan(graph_of(PRODUCTION + [member(too_long, 1)], [record(PRIMARY, too_long)]))
    assert "at most 57 characters" in str(info.value)


def test_a_ttl_over_an_hour_is_refused():
    with pytest.raises(MitosisError, match="Record db.demo.internal. has a TTL of 7200 s") as info:
        plan_of(PRODUCTION + stack("", 1), records_at("", ttl=7200))
    assert "at most 3600 s" in str(info.value)
    assert plan_of(PRODUCTION + stack("", 1), records_at("", ttl=3600)).phase == "copy"


def test_a_refresh_during_a_rollback_is_refused():
    rejected = PRODUCTION + stack("", 1, root_tags=[KEPT]) + stack("a", 5, root_tags=[REJECTED])
    with pytest.raises(MitosisError, match="A rollback of demo is in progress: demo-a is rejected") as info:
        plan_of(rejected, records_at(""))
    assert "mitosis.rds.rollback" in str(info.value)
    aside = PRODUCTION + stack("", 1, root_tags=[KEPT]) + [member("rej-demo-a", 5, tags=[REJECTED])]
    with pytest.raises(MitosisError, match="rej-demo-a is rejected"):
        plan_of(aside, records_at(""))
    with pytest.raises(MitosisError, match="A rollback of demo is in progress: demo is the earlier generation again"):
        plan_of(PRODUCTION + stack("", 1, root_tags=[KEPT]), records_at(""))


def test_deletion_protection_on_a_generation_to_retire_is_refused():
    with pytest.raises(MitosisError, match="demo has deletion protection enabled, which would block its "
                                           "retirement") as info:
        plan_of(PRODUCTION + stack("", 1, DeletionProtection=True), records_at(""))
    assert "--no-deletion-protection" in str(info.value)
    with pytest.raises(MitosisError, match="demo has deletion protection"):
        plan_of(PRODUCTION + stack("", 1, DeletionProtection=True) + stack("a", 5), records_at("a"))
    # A kept generation that the next copy clears, too.
    with pytest.raises(MitosisError, match="demo-a has deletion protection"):
        plan_of(PRODUCTION + stack("a", 1, root_tags=[KEPT], DeletionProtection=True) + stack("b", 5),
                records_at("b"))
    # The rejected generation a rollback retires, too.
    with pytest.raises(MitosisError, match="demo-a has deletion protection"):
        plan_of(PRODUCTION + stack("", 1, root_tags=[KEPT]) + stack("a", 5, DeletionProtection=True), records_at("a"),
                rollback=True)


def test_deletion_protection_on_the_generation_keep_previous_keeps_is_no_obstacle():
    # The live generation, which this refresh only keeps: before and after the switch.
    plan = plan_of(PRODUCTION + stack("", 1, DeletionProtection=True), records_at(""), keep_previous=True)
    assert plan.phase == "copy" and plan.step("keep:demo").identifier == "demo"
    after = PRODUCTION + stack("", 1, DeletionProtection=True) + stack("a", 5, root_tags=[switched("demo")])
    plan = plan_of(after, records_at("a"), keep_previous=True)
    assert plan.phase == "cleanup" and plan.step("keep:demo").identifier == "demo"
    # A kept generation this run clears is deleted: still refused.
    with pytest.raises(MitosisError, match="demo-a has deletion protection enabled, which would block its "
                                           "retirement"):
        plan_of(PRODUCTION + stack("a", 1, root_tags=[KEPT], DeletionProtection=True) + stack("b", 5),
                records_at("b"), keep_previous=True)
    plan = plan_of(PRODUCTION + stack("a", 1, root_tags=[KEPT]) + stack("b", 5, DeletionProtection=True),
                   records_at("b"), keep_previous=True)
    assert plan.step("keep:demo").identifier == "demo-b" and plan.step("delete-kept:demo-a").identifier == "old-demo-a"
    # A rollback deletes the generation it rejects, keep_previous or not.
    with pytest.raises(MitosisError, match="demo-a has deletion protection"):
        plan_of(PRODUCTION + stack("", 1, root_tags=[KEPT]) + stack("a", 5, DeletionProtection=True), records_at("a"),
                rollback=True, keep_previous=True)


def test_an_aurora_member_is_refused():
    with pytest.raises(MitosisError, match="demo is an instance of the Aurora cluster demo-cluster: swap_method=dns "
                                           "refreshes a graph of DB instances so far") as info:
        plan_of(PRODUCTION + stack("", 1, DBClusterIdentifier="demo-cluster"), records_at(""))
    assert "swap_method=rename" in str(info.value)


def test_a_protected_stack_and_a_replica_target_are_refused():
    protected = stack("", 1, root_tags=[{"Key": "mitosis:protected", "Value": "true"}])
    with pytest.raises(MitosisError, match="demo carries the tag mitosis:protected"):
        plan_of(PRODUCTION + protected, records_at(""))
    with pytest.raises(MitosisError, match="Engines differ"):
        plan_of([member("prod", 0, engine="postgres")] + stack("", 1), records_at(""))


# --- dns_create ------------------------------------------------------------------------------------------------

def test_dns_create_makes_the_records_first_then_switches_them():
    plan = plan_of(PRODUCTION + stack("", 1), [record(UNRELATED, "other")], dns_create=True)
    assert plan.phase == "copy"
    first = plan.step("create-records:demo")
    assert (first.kind, first.identifier, first.phase, first.wave) == ("records", "demo", "copy", 1)
    made = [{"Name": "demo-r.demo.internal.", "TTL": 60, "Value": address("demo-r"), "Node": "demo-r"},
            {"Name": "demo.demo.internal.", "TTL": 60, "Value": address("demo"), "Node": "demo"}]
    assert first.params == {"HostedZoneId": ZONE_ID, "Zone": ZONE, "Records": made,
                            "Clones": {"demo": "demo", "demo-r": "demo-r"}}
    assert first.status == "pending" and first.depends_on == []
    assert plan.switch.params["Records"] == made and "create-records:demo" in plan.switch.depends_on
    assert plan.switch.params["Clones"] == {"demo": "demo-a", "demo-r": "demo-r-a"}
    assert "CREATE demo.demo.internal. CNAME TTL=60: the endpoint of demo" in " ".join(flight_plan(plan).split())
    # Once created, the records are the stack's: no step makes them again.
    created_records = [record("demo.demo.internal.", "demo"), record("demo-r.demo.internal.", "demo-r")]
    plan = plan_of(PRODUCTION + stack("", 1), created_records, dns_create=True)
    assert plan.step("create-records:demo") is None and plan.switch.params["Records"] == made
    # Without dns_create, or with two generations to choose from, it is refused.
    with pytest.raises(MitosisError, match="No CNAME record"):
        plan_of(PRODUCTION + stack("", 1), [record(UNRELATED, "other")])
    with pytest.raises(MitosisError, match="No CNAME record of zone demo.internal. points at the endpoint of demo or "
                                           "demo-a"):
        plan_of(PRODUCTION + stack("", 1) + stack("a", 5), [], dns_create=True)


# --- the IAM policy and the lock --------------------------------------------------------------------------------

def statements(policy):
    return {s["Sid"]: s for s in policy["Statement"]}


def db_names(statement):
    prefix = "arn:aws:rds:{0}:{1}:db:".format(REGION, ACCOUNT)
    return sorted(r[len(prefix):] for r in statement["Resource"] if r.startswith(prefix))


def test_the_iam_policy_allows_route53_on_that_zone_only():
    plan = plan_of(PRODUCTION + stack("", 1), records_at(""))
    policy = iam_policy(plan, ACCOUNT, REGION)
    by_sid = statements(policy)
    assert len(by_sid) == len(policy["Statement"])  # one statement per action, each Sid once
    zone = ["arn:aws:route53:::hostedzone/" + ZONE_ID]
    assert by_sid["ChangeResourceRecordSets"]["Action"] == ["route53:ChangeResourceRecordSets"]
    assert by_sid["ChangeResourceRecordSets"]["Resource"] == zone
    assert by_sid["ListResourceRecordSets"]["Action"] == ["route53:ListResourceRecordSets"]
    assert by_sid["ListResourceRecordSets"]["Resource"] == zone
    assert by_sid["GetChange"]["Action"] == ["route53:GetChange"]
    assert by_sid["GetChange"]["Resource"] == ["arn:aws:route53:::change/*"]
    assert by_sid["GetHostedZone"]["Resource"] == zone
    route53 = [s for s in policy["Statement"] if s["Action"][0].startswith("route53:")]
    assert sorted(a for s in route53 for a in s["Action"]) == [
        "route53:ChangeResourceRecordSets", "route53:GetChange", "route53:GetHostedZone",
        "route53:ListHostedZonesByName", "route53:ListResourceRecordSets"]
    assert all(s["Action"][0].startswith("rds:") for s in policy["Statement"] if s not in route53)
    # The lock is a tag on any of the stack's names; only the generation a switch leaves is ever deleted.
    lock = dns_name_forms("demo")
    assert set(lock) <= set(db_names(by_sid["AddTagsToResource"]))
    assert set(lock) <= set(db_names(by_sid["RemoveTagsFromResource"]))
    assert db_names(by_sid["DeleteDBInstance"]) == ["old-demo", "old-demo-r"]
    assert set(db_names(by_sid["ModifyDBInstance"])) >= {"demo", "old-demo", "demo-r", "old-demo-r"}
    # dns_create needs nothing more on Route 53.
    making = iam_policy(plan_of(PRODUCTION + stack("", 1), [], dns_create=True), ACCOUNT, REGION)
    assert statements(making)["ChangeResourceRecordSets"]["Resource"] == zone
    # A kept generation is deleted under old-*, and a rollback's rejected one under rej-*.
    kept = plan_of(PRODUCTION + stack("a", 1, root_tags=[KEPT]) + stack("b", 5), records_at("b"))
    assert db_names(statements(iam_policy(kept, ACCOUNT, REGION))["DeleteDBInstance"]) == [
        "old-demo-a", "old-demo-b", "old-demo-r-a", "old-demo-r-b"]
    back = plan_of(PRODUCTION + stack("", 1, root_tags=[KEPT]) + stack("a", 5), records_at("a"), rollback=True)
    deleted = statements(iam_policy(back, ACCOUNT, REGION))["DeleteDBInstance"]
    assert db_names(deleted) == ["rej-demo-a", "rej-demo-r-a"]


def test_the_lock_of_a_stack_switched_by_dns_is_on_its_newest_generation():
    lock = {"Key": "mitosis:lock:run1", "Value": "started=2026-11-24T10:00:00Z user=bob host=ws2"}
    both = [member("demo", 1), member("demo-a", 5, tags=[lock]), member("old-demo-b", 9)]
    state = LockState("demo", both, dns=True)
    assert state.forms == dns_name_forms("demo")
    assert state.home()["DBInstanceIdentifier"] == "demo-a"
    assert state.locks["run1"].carriers == [("demo-a", both[1]["DBInstanceArn"])]
    # The newest generation, whichever name it has; what moved aside only when no generation is left.
    assert LockState("demo", [member("demo-b", 1), member("demo-a", 5)], dns=True).home()[
        "DBInstanceIdentifier"] == "demo-a"
    assert LockState("demo", [member("old-demo-a", 9)], dns=True).home()["DBInstanceIdentifier"] == "old-demo-a"
    # The rename path reads X first, and never X-a.
    renamed = LockState("demo", both)
    assert renamed.home()["DBInstanceIdentifier"] == "demo" and not renamed.locks
    with pytest.raises(MitosisError, match="Target demo was not found"):
        LockState("demo", [member("temp-demo", 1)], dns=True).home()


# --- reading the zone and the instances behind its records ------------------------------------------------------

def not_found(code, operation):
    return ClientError({"Error": {"Code": code, "Message": "not found"}}, operation)


class FakeRoute53:
    """Hosted zones, and the record sets of every zone as pages."""

    def __init__(self, zones, pages=()):
        self.zones = zones
        self.pages = list(pages)
        self.calls = []

    def get_hosted_zone(self, Id):  # pylint: disable=invalid-name
        self.calls.append(("GetHostedZone", Id))
        for zone in self.zones:
            if zone["Id"].split("/")[-1] == Id:
                return {"HostedZone": zone}
        raise not_found("NoSuchHostedZone", "GetHostedZone")

    def list_hosted_zones_by_name(self, DNSName, MaxItems):  # pylint: disable=invalid-name
        self.calls.append(("ListHostedZonesByName", DNSName))
        # Route 53 lists the zones in name order from the one given on.
        return {"HostedZones": sorted([z for z in self.zones if z["Name"] >= DNSName], key=lambda z: z["Name"])}

    def get_paginator(self, name):
        assert name == "list_resource_record_sets"
        fake = self

        class Pages:
            @staticmethod
            def paginate(**params):
                fake.calls.append(("ListResourceRecordSets", params))
                for page in fake.pages:
                    yield {"ResourceRecordSets": page}
        return Pages()


class DeniedRoute53(FakeRoute53):
    def get_hosted_zone(self, Id):  # pylint: disable=invalid-name
        raise not_found("AccessDenied", "GetHostedZone")


class FakeRDS:
    """DescribeDBInstances, filtered by identifier or of the whole region, with each call's parameters."""

    class meta:  # pylint: disable=invalid-name
        region_name = REGION

    def __init__(self, *instances):
        self.instances = instances
        self.calls = []

    def get_paginator(self, name):
        assert name == "describe_db_instances"
        fake = self

        class Pages:
            @staticmethod
            def paginate(**params):
                fake.calls.append(params)
                wanted = set(params["Filters"][0]["Values"]) if params.get("Filters") else None
                yield {"DBInstances": [copy.deepcopy(i) for i in fake.instances
                                       if wanted is None or i["DBInstanceIdentifier"] in wanted]}
        return Pages()


ZONES = [{"Id": "/hostedzone/Z0DEMO", "Name": "demo.internal."}, {"Id": "/hostedzone/Z0OTHER", "Name": "other."}]


def test_find_zone_by_id_or_by_name():
    route53 = FakeRoute53(ZONES)
    assert find_zone(route53, "Z0DEMO") == ("Z0DEMO", "demo.internal.")
    assert find_zone(route53, "/hostedzone/Z0DEMO") == ("Z0DEMO", "demo.internal.")
    assert find_zone(route53, " demo.internal ") == ("Z0DEMO", "demo.internal.")
    assert find_zone(route53, "Demo.Internal.") == ("Z0DEMO", "demo.internal.")
    assert ("ListHostedZonesByName", "demo.internal.") in route53.calls
    with pytest.raises(MitosisError, match="dns_zone: no Route 53 hosted zone has the id Z0NONE") as info:
        find_zone(route53, "Z0NONE")
    assert info.value.operation == "plan" and "list-hosted-zones" in str(info.value)
    with pytest.raises(MitosisError, match=r"dns_zone: no Route 53 hosted zone is called demo\.example\."):
        find_zone(route53, "demo.example")
    # A zone whose name only starts like it is another zone.
    with pytest.raises(MitosisError, match="no Route 53 hosted zone is called demo."):
        find_zone(FakeRoute53([{"Id": "/hostedzone/Z1", "Name": "demo.internal."}]), "demo")
    # Other refusals are not "no such zone".
    with pytest.raises(MitosisError, match="AccessDenied") as info:
        find_zone(DeniedRoute53(ZONES), "Z0DEMO")
    assert info.value.code == "AccessDenied"


def test_two_zones_of_the_same_name_are_refused_naming_both_ids():
    twins = ZONES + [{"Id": "/hostedzone/Z0PRIVATE", "Name": "demo.internal.", "Config": {"PrivateZone": True}}]
    with pytest.raises(MitosisError, match=r"2 hosted zones are called demo\.internal \(") as info:
        find_zone(FakeRoute53(twins), "demo.internal")
    assert "Z0DEMO, Z0PRIVATE" in str(info.value)
    # By id, either one.
    assert find_zone(FakeRoute53(twins), "Z0PRIVATE") == ("Z0PRIVATE", "demo.internal.")


def test_read_zone_keeps_the_simple_cname_records():
    pages = [[{"Name": "demo.internal.", "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns"}]},
              {"Name": "db.demo.internal.", "Type": "CNAME", "TTL": 60, "ResourceRecords": [
                  {"Value": address("demo")}]},
              {"Name": "www.demo.internal.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]}],
             [{"Name": "db-ro.demo.internal.", "Type": "CNAME", "TTL": "30", "ResourceRecords": [
                 {"Value": address("demo-r")}]},
              {"Name": "weighted.demo.internal.", "Type": "CNAME", "TTL": 60, "SetIdentifier": "blue",
               "Weight": 1, "ResourceRecords": [{"Value": address("demo")}]},
              {"Name": "alias.demo.internal.", "Type": "CNAME", "AliasTarget": {"DNSName": "x."}}]]
    route53 = FakeRoute53(ZONES, pages)
    zone = read_zone(route53, ZONE_ID, ZONE)
    assert (zone.zone_id, zone.name) == (ZONE_ID, ZONE)
    assert zone.records == {
        "db.demo.internal.": {"Name": "db.demo.internal.", "TTL": 60, "Value": address("demo")},
        "db-ro.demo.internal.": {"Name": "db-ro.demo.internal.", "TTL": 30, "Value": address("demo-r")}}
    assert route53.calls == [("ListResourceRecordSets", {"HostedZoneId": ZONE_ID})]
    # A record by its name, with or without the final dot, in any case.
    assert zone.record("DB.demo.internal")["Value"] == address("demo")
    assert zone.record("db-ro.demo.internal.")["TTL"] == 30 and zone.record("www.demo.internal") is None


def test_instance_at_finds_the_instance_behind_an_endpoint():
    demo, other = member("demo-a", 5), member("other", 0)
    rds = FakeRDS(demo, other)
    assert instance_at(rds, address("demo-a") + ".")["DBInstanceIdentifier"] == "demo-a"
    # One describe filtered on the endpoint's first label: the instance's identifier.
    assert rds.calls == [{"Filters": [{"Name": "db-instance-id", "Values": ["demo-a"]}]}]
    # An endpoint whose first label is no identifier (or names another instance): the region's instances.
    custom = instance("custom", Endpoint={"Address": "Primary_DB.corp.example", "Port": 3306})
    rds = FakeRDS(demo, custom)
    assert instance_at(rds, "primary_db.corp.example.")["DBInstanceIdentifier"] == "custom"
    assert rds.calls == [{}]
    renamed = instance("old-demo", Endpoint={"Address": address("demo"), "Port": 3306})
    rds = FakeRDS(renamed, other)
    assert instance_at(rds, address("demo"))["DBInstanceIdentifier"] == "old-demo"
    assert len(rds.calls) == 2
    assert instance_at(FakeRDS(other), address("gone")) is None


def test_read_finds_the_stack_behind_a_record_and_every_generation_of_it():
    kept = [member("demo", 1, tags=[KEPT]), member("demo-r", 2, parent="demo")]
    live = [member("demo-a", 5, ReadReplicaDBInstanceIdentifiers=["demo-r-a"]),
            member("demo-r-a", 6, parent="demo-a")]
    rds = FakeRDS(*(PRODUCTION + kept + live))
    pages = [[{"Name": r["Name"], "Type": "CNAME", "TTL": r["TTL"], "ResourceRecords": [{"Value": r["Value"]}]}
              for r in records_at("a")]]
    dns = DnsPlanner("prod", TARGET, CloneOptions(swap_method="dns", dns_zone="demo.internal"),
                     tags_of=lambda desc: [], snapshots_of=lambda name, identifier: [],
                     route53=FakeRoute53(ZONES, pages))
    graph = dns.read(rds)
    assert dns.base == "demo"
    assert sorted(graph.instances) == ["demo", "demo-a", "demo-r", "demo-r-a", "prod"]
    assert graph.zone.zone_id == ZONE_ID
    assert {name: r["Holder"] for name, r in graph.records.items()} == {
        PRIMARY: "demo-a", READER: "demo-r-a", UNRELATED: None}
    plan = dns.plan(graph)
    assert plan.phase == "copy" and plan.steps[0].key == "retire-kept:demo-r"
    assert plan.switch.params["HostedZoneId"] == ZONE_ID
    # The target may name the primary itself.
    dns = DnsPlanner("prod", "demo-a", CloneOptions(swap_method="dns", dns_zone="Z0DEMO"),
                     route53=FakeRoute53(ZONES, pages))
    assert sorted(dns.read(rds).instances) == ["demo", "demo-a", "demo-r", "demo-r-a", "prod"]
    assert dns.base == "demo"


def test_read_refuses_a_record_that_points_at_no_instance_or_no_zone():
    pages = [[{"Name": PRIMARY, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": address("gone")}]}]]
    dns = DnsPlanner("prod", TARGET, CloneOptions(swap_method="dns", dns_zone="demo.internal"),
                     route53=FakeRoute53(ZONES, pages))
    with pytest.raises(MitosisError, match="db.demo.internal. is a record of zone demo.internal., and its value {0} is "
                                           "the endpoint of no DB instance".format(address("gone"))):
        dns.read(FakeRDS(*PRODUCTION))
    with pytest.raises(MitosisError, match="Target nothing is neither a record of zone demo.internal. nor a DB "
                                           "instance"):
        DnsPlanner("prod", "nothing", CloneOptions(swap_method="dns", dns_zone="demo.internal"),
                   route53=FakeRoute53(ZONES, pages)).read(FakeRDS(*PRODUCTION))
    with pytest.raises(MitosisError, match="swap_method=dns needs dns_zone"):
        DnsPlanner("prod", TARGET, CloneOptions(swap_method="dns")).read(FakeRDS())


# --- a whole refresh, resumed from every interruption -----------------------------------------------------------

class World:
    """An RDS account (rds_state.Account) and the zone's records; a step applied the way AWS applies it."""

    def __init__(self, instances, holders):
        self.account = Account(instances)
        self.records = {name: {"Name": name, "TTL": 60, "Value": address(holder)} for name, holder in holders.items()}
        self.batches = 0

    def graph(self):
        described = self.account.described()
        for desc in described:
            desc["Endpoint"] = {"Address": address(desc["DBInstanceIdentifier"]), "Port": 3306}
        return graph_of(described, copy.deepcopy(list(self.records.values())))

    def apply(self, step):
        if step.kind in ("switch", "records"):
            self.batches += 1
            for found in step.params["Records"]:
                self.records[found["Name"]] = {"Name": found["Name"], "TTL": found["TTL"],
                                               "Value": address(step.params["Clones"][found["Node"]])}
        else:
            self.account.apply(step.to_dict())

    def holders(self):
        by_address = {address(name): name for name in self.account.instances}
        return {name: by_address.get(r["Value"]) for name, r in self.records.items()}

    def run(self, cut=None, **options):
        """One run: the plan from the live state, its pending steps in wave order (the first `cut` of them)."""
        plan = planner(**options).plan(self.graph())
        order = sorted(plan.pending, key=lambda s: (s.wave, plan.steps.index(s)))
        for step in order[:cut]:
            self.apply(step)
        return plan, order


def demo_world():
    return World([instance("prod"), instance("demo"), instance("demo-r", parent="demo")],
                 {PRIMARY: "demo", READER: "demo-r"})


@pytest.mark.parametrize("keep_previous", [False, True], ids=["retire", "keep"])
def test_a_refresh_resumes_from_every_interruption_and_never_leaves_a_record_on_a_retired_instance(keep_previous):
    _plan, order = demo_world().run(keep_previous=keep_previous)
    keys = [s.key for s in order]
    # With keep_previous, once the previous generation is kept the refresh is over: a run after that is a new one.
    last = keys.index("keep:demo") if keep_previous else len(order) - 1
    for cut in range(last + 1):
        world = demo_world()
        plan, _order = world.run(cut, keep_previous=keep_previous)
        retiring = plan.retiring_resource_ids()
        resumed, _order = world.run(keep_previous=keep_previous)
        assert resumed.phase == ("cleanup" if "switch:demo" in keys[:cut] else "copy"), cut
        assert world.holders() == {PRIMARY: "demo-a", READER: "demo-r-a"}, cut
        expected = ["demo-a", "demo-r-a", "prod"] + (["demo", "demo-r"] if keep_previous else [])
        assert sorted(world.account.instances) == sorted(expected), cut
        finished = planner(keep_previous=keep_previous).plan(world.graph(), retiring)
        assert finished.phase == "complete" and not finished.pending, cut
        if keep_previous:
            assert world.account.instances["demo"]["_tags"] == [KEPT], cut
        # The change is sent once; again only by the run that finds the records moved but not yet recorded in sync.
        resent = keys.index("switch:demo") < cut <= keys.index("tag-switched:demo")
        assert world.batches == (2 if resent else 1), cut
        # The new generation keeps its durable tags, and only those.
        assert world.account.instances["demo-a"]["_tags"] == [GENERATION_A, switched("demo")], cut
        assert world.account.instances["demo-r-a"]["_tags"] == [GENERATION_A], cut


def test_generations_alternate_refresh_after_refresh():
    world = demo_world()
    for generation, left in (("a", "demo"), ("b", "demo-a"), ("a", "demo-b")):
        plan, _order = world.run()
        assert plan.step("create:demo").identifier == "demo-" + generation
        assert world.holders() == {PRIMARY: "demo-" + generation, READER: "demo-r-" + generation}
        assert world.account.instances["demo-" + generation]["_tags"] == [
            {"Key": "mitosis:generation", "Value": generation}, switched(left)]
        assert sorted(world.account.instances) == sorted(["prod", "demo-" + generation, "demo-r-" + generation])
        assert planner().plan(world.graph(), plan.retiring_resource_ids()).phase == "complete"
    assert world.batches == 3


def kept_world():
    """The demo stack refreshed once with keep_previous: the records on demo-a, demo kept."""
    world = demo_world()
    world.run(keep_previous=True)
    return world


def test_keep_previous_then_a_rollback_puts_the_records_back_in_one_change():
    world = kept_world()
    batches = world.batches
    plan, _order = world.run(rollback=True)
    assert plan.phase == "swap" and world.batches == batches + 1
    assert world.holders() == {PRIMARY: "demo", READER: "demo-r"}
    assert sorted(world.account.instances) == ["demo", "demo-r", "prod"]
    # The rollback's own tags are gone; the switch's record stays, naming the generation the records left.
    assert world.account.instances["demo"]["_tags"] == [switched("demo-a")]
    assert not world.account.instances["demo-r"].get("_tags")
    with pytest.raises(MitosisError, match="nothing to roll back to"):
        world.run(rollback=True)
    # The stack refreshes again from there.
    plan, _order = world.run()
    assert plan.step("create:demo").identifier == "demo-a" and world.holders()[PRIMARY] == "demo-a"


def test_a_second_rollback_to_the_same_generation_moves_the_records_back_again():
    """Refresh with keep_previous, roll back, then the same again: the original primary still carries the record of
    the first rollback's switch (mitosis:switched=from demo-a, durable), whose value is the second one's too."""
    world = kept_world()
    world.run(rollback=True)
    world.run(keep_previous=True)
    assert world.holders() == {PRIMARY: "demo-a", READER: "demo-r-a"} and world.batches == 3
    plan, _order = world.run(rollback=True)
    # Never a record on an instance the rollback deleted.
    assert world.holders() == {PRIMARY: "demo", READER: "demo-r"}
    assert plan.phase == "swap" and plan.step("switch:demo").status == "pending" and world.batches == 4
    assert sorted(world.account.instances) == ["demo", "demo-r", "prod"]


def test_a_second_refresh_with_keep_previous_retires_the_kept_generation():
    world = kept_world()
    world.run(keep_previous=True)
    assert sorted(world.account.instances) == ["demo-a", "demo-b", "demo-r-a", "demo-r-b", "prod"]
    assert world.holders() == {PRIMARY: "demo-b", READER: "demo-r-b"} and world.batches == 2
    assert world.account.instances["demo-a"]["_tags"] == [GENERATION_A, switched("demo"), KEPT]


def test_a_cleanup_resumed_after_its_untag_sends_no_second_change():
    """The untag leaves mitosis:switched: a run resumed after it still finds the switch done."""
    _plan, order = kept_world().run(rollback=True)
    keys = [s.key for s in order]
    assert keys.index("untag:demo") < keys.index("delete:demo")
    world = kept_world()
    world.run(keys.index("untag:demo") + 1, rollback=True)
    assert world.batches == 2 and world.account.instances["demo"]["_tags"] == [switched("demo-a")]
    plan, _order = world.run(rollback=True)
    assert plan.phase == "cleanup" and plan.step("switch:demo").status == "done" and world.batches == 2
    assert sorted(world.account.instances) == ["demo", "demo-r", "prod"]


def test_a_run_resumed_after_the_switch_leaves_only_the_durable_tags():
    _plan, order = demo_world().run()
    world = demo_world()
    world.run([s.key for s in order].index("switch:demo") + 1)
    world.run()
    assert world.account.instances["demo-a"]["_tags"] == [GENERATION_A, switched("demo")]
    # A rollback resumed after its switch: of its tags, only the switch's record stays.
    _plan, order = kept_world().run(rollback=True)
    world = kept_world()
    world.run([s.key for s in order].index("switch:demo") + 1, rollback=True)
    world.run(rollback=True)
    assert world.holders() == {PRIMARY: "demo", READER: "demo-r"}
    assert world.account.instances["demo"]["_tags"] == [switched("demo-a")]
