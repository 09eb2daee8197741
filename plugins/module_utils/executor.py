# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the live plan, and applying one wave of its steps idempotently, then waiting for it.

Before acting, every step is re-checked against a plan computed from live state: a step that is
already done is skipped. The calls of a wave are made one after the other, then the whole wave is
waited for with one filtered describe per poll.
"""

from __future__ import annotations

import time

from .attributes import unmet
from .aws import FAILED_STATUSES, MitosisError, call, paginate
from .graph import Graph, describe_instances, parse_reference, tag_reader
from .planner import (CLEANUP, CREATE, DELETE, DONE, MODIFY, PENDING, PROMOTE, RESTART_ACTION, RESTORE, RESUME_HINT,
                      plan_clone)

BUSY_CODES = ("InvalidDBInstanceState", "InvalidDBInstanceStateFault")


def live_plan(rds, source, target, restore_snapshot=False, previous_resource_ids=None):
    """The plan computed from the account's live state (one paginated describe of every instance)."""
    region = rds.meta.region_name
    graph = Graph(describe_instances(rds), region)

    def snapshots_of(name):
        return paginate(rds, "DescribeDBSnapshots", "DBSnapshots", DBInstanceIdentifier=name)

    return plan_clone(graph, source, target, tag_reader(rds), snapshots_of, restore_snapshot=restore_snapshot,
                      previous_resource_ids=previous_resource_ids), graph


def _summary(inst):
    if inst is None:
        return {"exists": False}
    return {
        "exists": True,
        "status": inst.get("DBInstanceStatus"),
        "source": inst.get("ReadReplicaSourceDBInstanceIdentifier"),
        "instance_class": inst.get("DBInstanceClass"),
        "backup_retention_period": inst.get("BackupRetentionPeriod"),
    }


def step_diff(step, graph):
    """Before/after of the instances a step touches, for --diff."""
    names = [step.identifier] + ([step.new_identifier] if step.new_identifier else [])
    before = {n: _summary(graph.get(n)) for n in names}
    after = {n: dict(v) for n, v in before.items()}
    if step.action in (CREATE, RESTORE):
        after[step.identifier] = {"exists": True, "status": "available",
                                  "source": step.params.get("SourceDBInstanceIdentifier"),
                                  "instance_class": step.params.get("DBInstanceClass")}
    elif step.action == PROMOTE:
        after[step.identifier]["source"] = None
    elif step.action == MODIFY and step.new_identifier:
        after[step.new_identifier] = dict(before[step.identifier], status="available")
        after[step.identifier] = {"exists": False}
    elif step.action == MODIFY:
        after[step.identifier]["changes"] = {k: v for k, v in step.params.items() if k != "ApplyImmediately"}
    elif step.action == DELETE:
        after[step.identifier] = {"exists": False}
    return {"before": before, "after": after}


class Waiter:
    """Polls one filtered describe for a whole wave until every step's postcondition holds."""

    def __init__(self, rds, timeout, poll_interval, settle_time, clock=time.monotonic, sleep=time.sleep):
        self.rds = rds
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.settle_time = settle_time
        self.clock = clock
        self.sleep = sleep

    def _describe(self, names):
        found = describe_instances(self.rds, names)
        return {i["DBInstanceIdentifier"]: i for i in found}

    def until_available(self, names, started=None):
        """Wait until each of `names` is `available` (or gone); used before acting on a busy instance."""
        started = self.clock() if started is None else started
        while True:
            live = self._describe(names)
            busy = {n: i["DBInstanceStatus"] for n, i in live.items() if i["DBInstanceStatus"] != "available"}
            for name, status in busy.items():
                self._fail_if_failed(name, status, "waiting to act on it")
            if not busy:
                return
            self.check_timeout(started, ", ".join("{0} ({1})".format(n, s) for n, s in sorted(busy.items())))
            self.sleep(self.poll_interval)

    def _fail_if_failed(self, name, status, doing):
        if status in FAILED_STATUSES or status.startswith("incompatible-"):
            raise MitosisError(
                "{0} is in status '{1}' while {2}; it will not become available on its own.".format(name, status, doing),
                operation="wait", identifier=name, code=status,
                hint="Repair or delete {0} in the RDS console, then run the same command again to resume.".format(name))

    def check_timeout(self, started, what):
        if self.clock() - started > self.timeout:
            raise MitosisError(
                "Timed out after {0:.0f} s waiting for {1}.".format(self.timeout, what), operation="wait",
                hint="AWS keeps working: run the same command again (or raise wait_timeout) to resume from here.")

    def wave(self, steps):
        """Wait for every executed step; returns {step key: completion time (epoch seconds)}."""
        started = self.clock()
        names = set()
        for step in steps:
            names.add(step.identifier)
            if step.new_identifier:
                names.add(step.new_identifier)
        progress = {step.key: {} for step in steps}
        finished = {}
        while True:
            live = self._describe(names)
            for step in steps:
                if step.key in finished:
                    continue
                if self._complete(step, live, progress[step.key]):
                    finished[step.key] = time.time()
            if len(finished) == len(steps):
                return finished
            waiting = [s for s in steps if s.key not in finished]
            self.check_timeout(started, "; ".join(
                "{0} {1} ({2})".format(s.action, s.identifier, self._status_text(s, live)) for s in waiting))
            self.sleep(self.poll_interval)

    @staticmethod
    def _status_text(step, live):
        inst = live.get(step.new_identifier) or live.get(step.identifier)
        return inst["DBInstanceStatus"] if inst else "not found"

    def _complete(self, step, live, seen):
        inst = live.get(step.identifier)
        if step.action == DELETE:
            if inst is not None:
                self._fail_if_failed(step.identifier, inst["DBInstanceStatus"], "deleting it")
            return inst is None
        if step.action == MODIFY and step.new_identifier:
            return self._renamed(step, live, seen)
        if inst is None:
            return False
        status = inst["DBInstanceStatus"]
        self._fail_if_failed(step.identifier, status, "waiting for {0}".format(step.action))
        if status != "available":
            return False
        parent = parse_reference(inst.get("ReadReplicaSourceDBInstanceIdentifier"), self.rds.meta.region_name)[0]
        if step.action == CREATE:
            return parent == step.params["SourceDBInstanceIdentifier"]
        if step.action == PROMOTE:
            return parent is None
        if step.action == MODIFY:
            return not unmet(inst, step.params)
        return True

    def _renamed(self, step, live, seen):
        """Old name gone, new name present and available after the reboot that follows `renaming`."""
        if step.identifier in live:
            status = live[step.identifier]["DBInstanceStatus"]
            self._fail_if_failed(step.identifier, status, "renaming it")
            return False
        inst = live.get(step.new_identifier)
        if inst is None:
            return False
        status = inst["DBInstanceStatus"]
        self._fail_if_failed(step.new_identifier, status, "renaming it")
        if status != "available":
            if status == "rebooting":
                seen["rebooted"] = True
            seen.pop("available_since", None)
            return False
        if seen.get("rebooted"):
            return True
        # The first `available` after a rename comes before its reboot: trust it only once it has lasted.
        since = seen.setdefault("available_since", self.clock())
        return self.clock() - since >= self.settle_time


def _call_step(rds, step):
    params = dict(step.params)
    params["DBInstanceIdentifier"] = step.identifier
    return call(rds, step.action, step.identifier, **params)


def apply_wave(rds, source, target, steps, restore_snapshot=False, check_mode=False, wait=True,
               wait_timeout=14400, poll_interval=30, settle_time=120, sleep=time.sleep):
    """Apply the given plan steps (one wave); returns the module result."""
    waiter = Waiter(rds, wait_timeout, poll_interval, settle_time, sleep=sleep)
    started = time.monotonic()
    plan, graph = live_plan(rds, source, target, restore_snapshot)
    todo, results = _select(plan, steps, check_mode)
    if todo and not check_mode:
        busy = [s.identifier for s in todo if _busy(graph.get(s.identifier))]
        if busy:
            # A resumed run can find an instance still busy with a call of the interrupted run.
            waiter.until_available(busy, started)
            plan, graph = live_plan(rds, source, target, restore_snapshot)
            todo, results = _select(plan, steps, check_mode)
    diff = {"before": {}, "after": {}}
    for step in todo:
        one = step_diff(step, graph)
        diff["before"].update(one["before"])
        diff["after"].update(one["after"])
    if check_mode or not todo:
        for step in todo:
            results[step.key] = dict(_result(step), status="would run")
        return _finish(steps, results, bool(todo), diff)
    begun = {}
    for step in todo:
        begun[step.key] = time.time()
        _call_until_accepted(rds, step, waiter, started)
    finished = waiter.wave(todo) if wait else {}
    for step in todo:
        result = dict(_result(step), status="changed", started=begun[step.key])
        if step.key in finished:
            result["finished"] = finished[step.key]
            result["duration"] = round(finished[step.key] - begun[step.key], 3)
        results[step.key] = result
    return _finish(steps, results, True, diff)


def _busy(inst):
    return inst is not None and inst.get("DBInstanceStatus") != "available"


def _call_until_accepted(rds, step, waiter, started):
    """Make the step's call; an instance still busy is waited out, not fatal."""
    while True:
        try:
            _call_step(rds, step)
            return
        except MitosisError as error:
            if error.code in BUSY_CODES:
                involved = [step.identifier]
                if "SourceDBInstanceIdentifier" in step.params:
                    involved.append(step.params["SourceDBInstanceIdentifier"])
                waiter.check_timeout(started, "{0} to accept {1}".format(step.identifier, step.action))
                waiter.sleep(waiter.poll_interval)
                waiter.until_available(involved, started)
                continue
            if _already_done(rds, error, step):
                return
            error.hint = (error.hint + " " if error.hint else "") + RESUME_HINT
            raise


def _already_done(rds, error, step):
    """A call that raced an earlier attempt of itself (a retried request): the postcondition holds."""
    if step.action == DELETE:
        return error.code == "DBInstanceNotFound"
    if step.action in (CREATE, RESTORE) and error.code == "DBInstanceAlreadyExists":
        found = describe_instances(rds, [step.identifier])
        if step.action == RESTORE:
            return bool(found)
        parent = found[0].get("ReadReplicaSourceDBInstanceIdentifier") if found else None
        return parse_reference(parent, rds.meta.region_name)[0] == step.params["SourceDBInstanceIdentifier"]
    return False


def _result(step):
    return {"id": step.key, "action": step.action, "identifier": step.identifier, "params": step.params,
            "wave": step.wave, "phase": step.phase}


def _key(given):
    return given.get("id") if isinstance(given, dict) else given


def _select(plan, steps, check_mode):
    """The live counterparts of the given steps that still need a call; done ones become results.

    In check mode nothing earlier really ran, so the order checks are left to the real run."""
    todo, results = [], {}
    batch = [_key(g) for g in steps]
    for key in batch:
        live = plan.step(key)
        if live is None:
            raise MitosisError("Step {0} is not part of the plan for cloning {1} into {2}.".format(
                key, plan.source, plan.target), operation="step",
                hint="Pass steps from the `plan` returned by mitosis.rds.rds_mitosis_plan for the same source/target.")
        if live.action == RESTART_ACTION:
            raise MitosisError("The restart step is run by the caller (the clone role's handler), not by "
                               "rds_mitosis_step.", operation="step", identifier=live.identifier)
        if live.status == DONE:
            results[live.key] = dict(_result(live), status="skipped", reason=live.reason)
            continue
        if check_mode:
            todo.append(live)
            continue
        if live.action == DELETE and plan.phase != CLEANUP:
            raise MitosisError("Refusing to delete {0}: the swap has not finished, so {1} is not yet in place."
                               .format(live.identifier, live.node), operation=DELETE, identifier=live.identifier,
                               hint="Run the swap waves (and the restart) first.")
        for dep in live.depends_on:
            dep_step = plan.step(dep)
            if dep_step.status == PENDING and dep_step.action != RESTART_ACTION and dep not in batch:
                raise MitosisError("{0} {1} depends on {2} ({3} {4}), which is still pending.".format(
                    live.action, live.identifier, dep, dep_step.action, dep_step.identifier), operation="step",
                    identifier=live.identifier, hint="Apply the waves in order; the plan lists them.")
        todo.append(live)
    return todo, results


def _finish(steps, results, changed, diff):
    return {"changed": changed, "steps": [results[_key(g)] for g in steps], "diff": diff}
