# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Applying a plan: every step starts as soon as its own dependencies are done, and one filtered
describe per poll watches everything in flight.

The plan is computed once (rds_mitosis_plan) and handed over; before acting, the executor marks it
again from one describe of the names it holds, so steps already done are skipped and a state that no
clone explains stops the run before any call. A swap-in starts as soon as its name is free, not when
the instance that held it has finished rebooting. With `serial`, one step at a time in plan order.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Set

from .attributes import unmet
from .aws import FAILED_STATUSES, MitosisError, call, paginate
from .cluster import (ClusterPlan, cluster_names, cluster_snapshots_of, discover_cluster, plan_cluster, read_plan_graph,
                      refresh_cluster)
from .graph import (Graph, arn_of, describe_instances, described, discover, parse_reference, ref, resource_id_of,
                    status_of, tag_reader, temp_name)
from .report import duration_text
from .credentials import managed_secret, secret_active
from .planner import (CALLER_KINDS, CLEANUP, COPY, DONE, K_CREATE, K_DELETE, K_DISCARD, K_MANAGE, K_MODIFY,
                      K_PASSWORD, K_PREPARE, K_PROMOTE, K_RESTORE, K_SNAPSHOT, K_SWAP_IN, K_SWAP_OUT, K_TAG, K_UNTAG, PENDING, PREPARE, RESTORE_PIT,
                      RESUME_HINT, ROLLBACK, SWAP, CloneOptions, Plan, Step, has_tag, plan_clone, plan_names, refresh)
from .rollback import plan_rollback, refresh_rollback

BUSY_CODES = ("InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault")
# A name still held by the instance (or cluster) moving aside.
TAKEN_CODES = ("DBInstanceAlreadyExists", "DBClusterAlreadyExistsFault")
PHASES = (COPY, PREPARE, SWAP, CLEANUP)
# What waits for the caller's prepare step while it is pending.
AFTER_PREPARE = (PREPARE, SWAP, CLEANUP)
# Defaults of the step module (its argument spec reads them from here).
WAIT_TIMEOUT = 14400
POLL_INTERVAL = 30.0
RENAME_SETTLE_TIME = 120.0
# While waiting, a progress line at least this often (seconds of reported time).
PROGRESS_EVERY = 300.0

Progress = Callable[[str], None]
# The clone's new master password, read only when the step that sets it is called.
PasswordSource = Callable[[], str]
RESETTING = "resetting-master-credentials"


def live_plan(rds: Any, source: str, target: str, options: Optional[CloneOptions] = None,
              previous_resource_ids: Optional[List[str]] = None):
    """The plan computed from live state, read with filtered describes from the target and the source (a rollback,
    with `options.rollback`, reads the target's graph only)."""
    region = rds.meta.region_name
    graph = discover(rds, "" if options is not None and options.rollback else source, target, region)
    clusters = cluster_names(rds, source, target, graph)
    if clusters:
        # An Aurora stack: the clusters and their instances (a rollback is refused by the cluster planner).
        cluster_graph = discover_cluster(rds, clusters[0], clusters[1], region)
        return plan_cluster(cluster_graph, clusters[0], clusters[1], tag_reader(rds), cluster_snapshots_of(rds),
                            options=options, previous_resource_ids=previous_resource_ids), cluster_graph
    if options is not None and options.rollback:
        return plan_rollback(graph, target), graph

    def snapshots_of(name: str, snapshot_identifier: Optional[str]) -> List[Dict[str, Any]]:
        if snapshot_identifier:
            return snapshots_named(rds, snapshot_identifier)
        return paginate(rds, "DescribeDBSnapshots", "DBSnapshots", DBInstanceIdentifier=name)

    return plan_clone(graph, source, target, tag_reader(rds), snapshots_of, options=options,
                      previous_resource_ids=previous_resource_ids), graph


def marked_plan(rds: Any, source: str, target: str, steps: List[Dict[str, Any]]):
    """A plan handed over by the caller, marked again from one describe of the names it holds."""
    if any(s.get("cluster") for s in steps):
        return remarked(rds, ClusterPlan.from_dicts(source, target, steps))
    return remarked(rds, Plan.from_dicts(source, target, steps))


def remarked(rds: Any, plan: Plan, previous_resource_ids: Optional[List[str]] = None):
    """`plan` marked again from one describe of the names it holds; with that live graph."""
    if isinstance(plan, ClusterPlan):
        cluster_graph = read_plan_graph(rds, plan, rds.meta.region_name)
        return refresh_cluster(plan, cluster_graph, previous_resource_ids), cluster_graph
    graph = Graph(describe_instances(rds, plan_names(plan.source, plan.node_names())), rds.meta.region_name)
    if plan.mode == ROLLBACK:
        return refresh_rollback(plan, graph), graph
    return refresh(plan, graph, previous_resource_ids), graph


def _summary(inst: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    if inst is None:
        return {"exists": False}
    return {
        "exists": True,
        "status": status_of(inst),
        "source": inst.get("ReadReplicaSourceDBInstanceIdentifier"),
        "instance_class": inst.get("DBInstanceClass"),
        "backup_retention_period": inst.get("BackupRetentionPeriod"),
    }


def step_diff(step: Step, graph: Graph) -> Dict[str, Any]:
    """Before/after of the instances a step touches, for --diff."""
    names = [step.ref] + ([step.new_ref] if step.new_ref else [])
    before = {n: _summary(graph.instances.get(n)) for n in names}
    after = {n: dict(v) for n, v in before.items()}
    if step.kind in (K_CREATE, K_RESTORE):
        after[step.ref] = {"exists": True, "status": "available",
                           "source": step.params.get("SourceDBInstanceIdentifier")
                           or step.params.get("SourceDBClusterIdentifier") or step.params.get("DBClusterIdentifier"),
                           "instance_class": step.params.get("DBInstanceClass")}
    elif step.kind == K_PROMOTE:
        after[step.ref]["source"] = None
    elif step.new_ref:
        after[step.new_ref] = dict(before[step.ref], status="available")
        after[step.ref] = {"exists": False}
    elif step.kind in (K_MODIFY, K_PASSWORD, K_MANAGE, K_TAG, K_UNTAG):
        after[step.ref]["changes"] = {k: v for k, v in step.params.items() if k != "ApplyImmediately"}
    elif step.kind in (K_DELETE, K_DISCARD):
        after[step.ref] = {"exists": False}
    return {"before": before, "after": after}


def failed_status(name: str, status: str, doing: str) -> None:
    if status in FAILED_STATUSES or status.startswith("incompatible-"):
        raise MitosisError(
            "{0} is in status '{1}' while {2}; it will not become available on its own.".format(name, status, doing),
            operation="wait", identifier=name, code=status,
            hint="Repair or delete {0} in the RDS console, then run the same command again to resume.".format(name))


class Watch:
    """What one step's instance has been seen doing since its call (a rename completes after its reboot).

    A rename follows the instance (its DbiResourceId), not the name: the old name may soon hold another one."""

    def __init__(self, step: Optional[Step] = None, live: Optional[Dict[str, Dict[str, Any]]] = None) -> None:
        self.busy_seen = False  # a rename's reboot, a password reset: the change was seen under way
        self.available_since = None  # type: Optional[float]
        self.snapshot_status = None  # type: Optional[str]  # a final snapshot's, read at each poll
        inst = {}  # type: Dict[str, Any]
        if step is not None and live is not None:
            inst = live.get(step.ref) or live.get(step.new_ref) or {}
        # A discard deletes the clone its plan names, whatever holds that name later.
        named = step.resource_id if step is not None else None
        self.resource_id = named or resource_id_of(inst)  # type: Optional[str]

    def settled(self, now: float, settle_time: float) -> bool:
        """Over once seen under way; if that was missed between two polls, once `available` has lasted."""
        if self.busy_seen:
            return True
        if self.available_since is None:
            self.available_since = now
        return now - self.available_since >= settle_time

    def holds(self, inst: Optional[Dict[str, Any]]) -> bool:
        """`inst` is the instance this step acts on."""
        return inst is not None and (self.resource_id is None or resource_id_of(inst) == self.resource_id)


def released(step: Step, live: Dict[str, Dict[str, Any]], watch: Watch) -> bool:
    """A swap-out has freed its name: describe no longer finds the instance under X."""
    return step.kind == K_SWAP_OUT and not watch.holds(live.get(step.ref))


def complete(step: Step, live: Dict[str, Dict[str, Any]], watch: Watch, now: float, settle_time: float,
             region: Optional[str]) -> bool:
    """The step's postcondition holds in `live` and its instance is available (failed statuses raise)."""
    inst = live.get(step.ref)
    if step.kind in (K_DELETE, K_DISCARD):
        if watch.holds(inst):
            failed_status(step.identifier, status_of(inst), "deleting it")
        return not watch.holds(inst)
    if step.new_identifier:
        return _renamed(step, live, watch, now, settle_time)
    if inst is None:
        return False
    status = status_of(inst)
    failed_status(step.identifier, status, "waiting for {0}".format(step.action))
    if step.kind == K_PASSWORD and status == RESETTING:
        watch.busy_seen = True
    if status != "available":
        return False
    parent = parse_reference(inst.get("ReadReplicaSourceDBInstanceIdentifier"), region)[0]
    if step.kind == K_CREATE and "DBClusterIdentifier" in step.params:
        return inst.get("DBClusterIdentifier") == step.params["DBClusterIdentifier"]
    if step.kind == K_CREATE:
        return parent == step.params["SourceDBInstanceIdentifier"]
    if step.kind == K_PROMOTE:
        return parent is None and not unmet(inst, step.params)
    if step.kind == K_MODIFY:
        return not unmet(inst, step.params)
    if step.kind == K_TAG:
        return all(has_tag(inst, tag["Key"]) for tag in step.params["Tags"])
    if step.kind == K_UNTAG:
        return not any(has_tag(inst, key) for key in step.params["TagKeys"])
    if step.kind == K_MANAGE:
        return secret_active(inst)
    if step.kind == K_SNAPSHOT:
        failed_status(step.params["DBSnapshotIdentifier"], watch.snapshot_status or "", "taking the final snapshot")
        return watch.snapshot_status == "available"
    if step.kind == K_PASSWORD:
        if "MasterUserPassword" in (inst.get("PendingModifiedValues") or {}):
            watch.busy_seen = True
            return False
        return watch.settled(now, settle_time)
    return True


def _renamed(step: Step, live: Dict[str, Dict[str, Any]], watch: Watch, now: float, settle_time: float) -> bool:
    """Old name gone, new name present and available after the reboot that follows `renaming`."""
    if watch.holds(live.get(step.ref)):
        failed_status(step.identifier, status_of(live[step.ref]), "renaming it")
        return False
    inst = live.get(step.new_ref)
    if not watch.holds(inst):
        return False
    status = status_of(inst)
    failed_status(step.new_identifier or "", status, "renaming it")
    if status != "available":
        watch.busy_seen = watch.busy_seen or status == "rebooting"
        watch.available_since = None
        return False
    # The first `available` after an instance's rename comes before its reboot: trust it only once it has lasted.
    # A cluster's rename reboots nothing: available under the new name, it is done.
    return step.cluster or watch.settled(now, settle_time)


def in_progress(step: Step, live: Dict[str, Dict[str, Any]]) -> bool:
    """The step's call was made by an earlier, interrupted run and AWS is still working on it."""
    inst = live.get(step.ref) or {}
    status = status_of(inst)
    if step.new_identifier:
        pending = (inst.get("PendingModifiedValues") or {}).get(
            "DBClusterIdentifier" if step.cluster else "DBInstanceIdentifier")
        return status == "renaming" or pending == step.new_identifier or (
            not inst and step.new_ref in live)
    if step.kind in (K_DELETE, K_DISCARD):
        return status == "deleting"
    if step.kind in (K_CREATE, K_RESTORE):
        return bool(inst)  # pending while still `creating`: waited for, never created again
    if step.kind == K_PASSWORD:
        return status == RESETTING or "MasterUserPassword" in (inst.get("PendingModifiedValues") or {})
    if step.kind == K_MANAGE:
        return managed_secret(inst) is not None
    return False


def already_done(rds: Any, error: MitosisError, step: Step) -> bool:
    """A call refused because an earlier attempt of itself (a retried request) already did it."""
    if step.kind in (K_DELETE, K_DISCARD):
        return error.code in ("DBInstanceNotFound", "DBClusterNotFoundFault")
    if step.kind in (K_CREATE, K_RESTORE) and error.code in TAKEN_CODES:
        found = described(rds, [step.ref]).get(step.ref)
        if step.kind == K_RESTORE or not found:
            return bool(found)
        if "DBClusterIdentifier" in step.params:
            return found.get("DBClusterIdentifier") == step.params["DBClusterIdentifier"]
        parent = found.get("ReadReplicaSourceDBInstanceIdentifier")
        return parse_reference(parent, rds.meta.region_name)[0] == step.params["SourceDBInstanceIdentifier"]
    return False


def snapshots_named(rds: Any, name: str) -> List[Dict[str, Any]]:
    """The snapshot called `name` (a name or an ARN), as a list: empty when there is none."""
    try:
        # A snapshot shared from another account is named by its ARN and listed only with IncludeShared.
        return paginate(rds, "DescribeDBSnapshots", "DBSnapshots", DBSnapshotIdentifier=name,
                        IncludeShared=name.startswith("arn:"))
    except MitosisError as error:
        if error.code == "DBSnapshotNotFound":
            return []
        raise


def snapshot_status(rds: Any, name: str) -> Optional[str]:
    """The status of the snapshot `name`, None when there is none."""
    found = snapshots_named(rds, name)
    return found[0].get("Status") if found else None


def not_yet(error: MitosisError, step: Step) -> bool:
    """Refusals that only mean "later": a busy instance, or a name still held by the instance moving aside."""
    return error.code in BUSY_CODES or (step.kind == K_SWAP_IN and error.code in TAKEN_CODES)


def _call_step(rds: Any, step: Step, live: Dict[str, Dict[str, Any]], password: Optional[PasswordSource]) -> None:
    params = dict(step.params)
    if step.kind in (K_TAG, K_UNTAG):
        params["ResourceName"] = arn_of(live[step.ref])
    elif step.action == RESTORE_PIT:
        params["TargetDBInstanceIdentifier"] = step.identifier
    elif step.cluster:
        params["DBClusterIdentifier"] = step.identifier
    else:
        params["DBInstanceIdentifier"] = step.identifier
    if step.kind == K_PASSWORD:
        if password is None:
            raise MitosisError("{0} needs the clone's master password, and none was given to this run.".format(
                step.key), operation=step.action, identifier=step.identifier,
                hint="Pass the same master_password or master_password_secret as when the plan was made.")
        params["MasterUserPassword"] = password()
    call(rds, step.action, step.identifier, **params)


class Dataflow:
    """Runs steps as their dependencies complete, polling one describe for everything in flight."""

    def __init__(self, rds: Any, plan: Plan, todo: List[Step], live: Dict[str, Dict[str, Any]], serial: bool = False,
                 wait_timeout: float = WAIT_TIMEOUT, poll_interval: float = POLL_INTERVAL,
                 settle_time: float = RENAME_SETTLE_TIME, time_scale: float = 1.0, progress: Optional[Progress] = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time, alive: Callable[[], bool] = lambda: True,
                 password: Optional[PasswordSource] = None) -> None:
        self.rds = rds
        self.password = password
        self.plan = plan
        self.todo = todo
        self.live = live
        self.serial = serial
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.settle_time = settle_time
        self.time_scale = time_scale
        self.progress = progress or (lambda text: None)
        self.clock, self.sleep, self.wall = clock, sleep, wall
        self.alive = alive
        self.done = {s.key for s in plan.steps if s.status == DONE}  # type: Set[str]
        self.free = set()  # type: Set[str]  # swap-outs whose name is free
        self.waiting = list(todo)
        self.running = {}  # type: Dict[str, Step]
        self.watches = {}  # type: Dict[str, Watch]
        self.since = {}  # type: Dict[str, float]  # when a step became ready or was called (for its timeout)
        self.records = {}  # type: Dict[str, Dict[str, Any]]
        self.region = rds.meta.region_name
        self.watched = set(live)  # type: Set[str]  # the names the last describe asked for

    def run(self) -> Dict[str, Dict[str, Any]]:
        last_report = self.clock()
        while True:
            self._collect()
            if not self.alive():
                # ansible-playbook was killed; its worker must not go on alone (AWS finishes what was started).
                raise MitosisError("The run that started these steps is gone; stopping before any further call.",
                                   operation="step", hint=RESUME_HINT)
            self._start_ready()
            if not self.waiting and not self.running:
                return self.records
            if not self.running and not self._ready():
                raise MitosisError("No step can start: {0} wait for steps that are not done.".format(
                    ", ".join(s.key for s in self.waiting)), operation="step", hint=RESUME_HINT)
            self._check_timeouts()
            if (self.clock() - last_report) * self.time_scale >= PROGRESS_EVERY:
                last_report = self.clock()
                self.progress(self._in_flight_text())
            self.sleep(self.poll_interval)
            self.live = described(self.rds, self._watched_names())

    def _watched_names(self) -> Set[str]:
        """The instances of the steps in flight and of those that may start after this poll."""
        names = set()  # type: Set[str]
        near = [s for s in self.waiting if all(self._satisfied(s, d) or d in self.running for d in self._deps(s))]
        for step in list(self.running.values()) + near:
            names.add(step.ref)
            if step.new_ref:
                names.add(step.new_ref)
        self.watched = names
        return names

    def _satisfied(self, step: Step, dep: str) -> bool:
        if dep in self.done:
            return True
        # A name is taken over as soon as it is free (not in serial mode, which waits for each step).
        return not self.serial and step.kind == K_SWAP_IN and dep in self.free

    def _deps(self, step: Step) -> List[str]:
        """The dependencies this executor waits for: the prepare and restart steps are the caller's."""
        return [d for d in step.depends_on if self.plan.step(d).kind not in CALLER_KINDS]

    def _deps_met(self, step: Step) -> bool:
        return all(self._satisfied(step, d) for d in self._deps(step))

    def _ready(self) -> List[Step]:
        if self.serial:
            return self.waiting[:1] if not self.running and self.waiting and self._deps_met(self.waiting[0]) else []
        ready = [s for s in self.waiting if self._deps_met(s)]
        # A create needs its source available: start it before a modify makes that source busy.
        return sorted(ready, key=lambda s: s.kind not in (K_CREATE, K_RESTORE))

    def _collect(self) -> None:
        now = self.clock()
        for key, step in list(self.running.items()):
            if step.kind == K_SNAPSHOT:
                self.watches[key].snapshot_status = snapshot_status(self.rds, step.params["DBSnapshotIdentifier"])
            if key not in self.free and released(step, self.live, self.watches[key]):
                self.free.add(key)
                self.records[key]["released"] = self.wall()
            if complete(step, self.live, self.watches[key], now, self.settle_time, self.region):
                del self.running[key]
                self.done.add(key)
                self.free.add(key)
                record = self.records[key]
                record["finished"] = self.wall()
                record["duration"] = round(record["finished"] - record["started"], 3)
                self.progress("{0} {1}: done in {2}".format(step.action, step.identifier,
                                                            duration_text(record["duration"] * self.time_scale)))

    def _start_ready(self) -> None:
        skipped = True
        while skipped:  # a step done without a call may let others start at once
            skipped = self._start_ready_once()

    def _start_ready_once(self) -> bool:
        skipped = False
        for step in self._ready():
            self.since.setdefault(step.key, self.clock())
            if step.ref not in self.watched:
                continue  # its instance is read at the next poll, before anything is called
            if step.kind in (K_PROMOTE, K_MODIFY, K_MANAGE, K_TAG, K_UNTAG, K_DISCARD) and \
                    complete(step, self.live, Watch(step), self.clock(), 0, self.region):
                # Nothing to change (or an earlier run's call finished): a modify that changes nothing is never sent.
                self._finish_without_call(step, "{0} {1}".format(step.identifier, "is deleted" if step.kind == K_DISCARD
                                                                 else "already has these values"))
                skipped = True
                continue
            taken = snapshot_status(self.rds, step.params["DBSnapshotIdentifier"]) if step.kind == K_SNAPSHOT else None
            if taken == "available":
                # An earlier run took it and was stopped before the delete: never a second one.
                self._finish_without_call(step, "the final snapshot {0} exists".format(
                    step.params["DBSnapshotIdentifier"]))
                skipped = True
                continue
            if not taken and not in_progress(step, self.live):
                try:
                    _call_step(self.rds, step, self.live, self.password)
                except MitosisError as error:
                    if not_yet(error, step):
                        continue
                    if already_done(self.rds, error, step):
                        self._finish_without_call(step, "an earlier attempt of this call did it")
                        skipped = True
                        continue
                    error.hint = (error.hint + " " if error.hint else "") + RESUME_HINT
                    raise
            self.waiting.remove(step)
            self.running[step.key] = step
            self.watches[step.key] = Watch(step, self.live)
            self.since[step.key] = self.clock()
            self.records[step.key] = dict(step_result(step), status="changed", started=self.wall())
            self.progress("{0} {1}: started".format(step.action, step.identifier))
        return skipped

    def _finish_without_call(self, step: Step, reason: str) -> None:
        self.waiting.remove(step)
        self.done.add(step.key)
        self.free.add(step.key)
        self.records[step.key] = dict(step_result(step), status="skipped", reason=reason)
        self.progress("{0} {1}: skipped, {2}".format(step.action, step.identifier, reason))

    def _check_timeouts(self) -> None:
        now = self.clock()
        for step in list(self.running.values()) + self._ready():
            if now - self.since[step.key] > self.wait_timeout:
                what = "{0} {1} ({2})".format(step.action, step.identifier, self._status(step))
                raise MitosisError(
                    "Timed out after {0:.0f} s waiting for {1}.".format(self.wait_timeout, what), operation="wait",
                    identifier=step.identifier,
                    hint="AWS keeps working: run the same command again (or raise wait_timeout) to resume from here.")

    def _status(self, step: Step) -> str:
        inst = self.live.get(step.new_ref) or self.live.get(step.ref)
        status = status_of(inst) if inst else "not found"
        return status if step.key in self.running else "waiting to start, " + status

    def _in_flight_text(self) -> str:
        steps = list(self.running.values()) + self._ready()
        return "still waiting for: " + "; ".join(
            "{0} {1} ({2})".format(s.action, s.identifier, self._status(s)) for s in steps)


def step_result(step: Step) -> Dict[str, Any]:
    return {"id": step.key, "kind": step.kind, "action": step.action, "identifier": step.identifier,
            "params": step.params, "wave": step.wave, "phase": step.phase, "node": step.node}


def select(plan: Plan, keys: Optional[List[str]], phases: Optional[List[str]], check_mode: bool,
           prepared: bool = False):
    """The steps to run (pending, in plan order) and results for the requested steps already done.

    Dependencies outside the selection must be done (the restart is the caller's); deletes only once
    the swap is finished. In check mode nothing earlier really ran, so these checks are left to the real run.
    While the caller's prepare step is pending, nothing after it is chosen, unless the caller says it ran it."""
    held = not prepared and any(s.kind == K_PREPARE and s.status == PENDING for s in plan.steps)
    if keys is None:
        chosen = [s for s in plan.steps if s.phase in (phases or PHASES) and s.kind not in CALLER_KINDS
                  and not (held and s.phase in AFTER_PREPARE)]
    else:
        chosen = []
        for key in keys:
            step = plan.step(key)
            if step is None:
                raise MitosisError("Step {0} is not part of the plan for cloning {1} into {2}.".format(
                    key, plan.source, plan.target), operation="step",
                    hint="Pass steps from the `plan` returned by mitosis.rds.rds_mitosis_plan for the same source/target.")
            if step.kind in CALLER_KINDS:
                raise MitosisError("The {0} step is run by the caller (the clone role's task files), not by "
                                   "rds_mitosis_step.".format(step.kind), operation="step", identifier=step.identifier)
            if held and step.phase in AFTER_PREPARE:
                raise MitosisError("Step {0} waits for the caller's prepare step, which is pending.".format(key),
                                   operation="step", identifier=step.identifier,
                                   hint="Run the prepare step on the clone first, then pass `prepared`.")
            chosen.append(step)
        chosen.sort(key=plan.steps.index)
    todo, results = [], {}
    keys_chosen = {s.key for s in chosen}
    for step in chosen:
        if step.status == DONE:
            results[step.key] = dict(step_result(step), status="skipped", reason=step.reason)
            continue
        todo.append(step)
        if check_mode:
            continue
        if step.kind == K_DELETE and plan.phase != CLEANUP:
            raise MitosisError("Refusing to delete {0}: the swap has not finished, so {1} is not yet in place."
                               .format(step.identifier, step.node), operation=step.action, identifier=step.identifier,
                               hint="Run the copy and the swap (and the restart) first.")
        for dep in step.depends_on:
            dep_step = plan.step(dep)
            if dep_step.status == PENDING and dep_step.kind not in CALLER_KINDS and dep not in keys_chosen:
                raise MitosisError("{0} {1} depends on {2} ({3} {4}), which is still pending.".format(
                    step.action, step.identifier, dep, dep_step.action, dep_step.identifier), operation="step",
                    identifier=step.identifier, hint="Apply the phases in order; the plan lists them.")
    return chosen, todo, results


def clone_facts(plan: Plan, graph: Graph) -> Dict[str, Any]:
    """How to reach the new primary (an Aurora clone: its cluster's writer endpoint) and every temp-* instance
    before the swap (the prepare step's variable)."""
    def facts(node: str, cluster: bool = False) -> Dict[str, Any]:
        inst = graph.instances.get(ref(temp_name(node), cluster)) or {}
        endpoint = inst.get("Endpoint") or {}
        found = {"identifier": inst.get("DBClusterIdentifier" if cluster else "DBInstanceIdentifier"), "node": node,
                 "address": endpoint if cluster else endpoint.get("Address"),
                 "port": inst.get("Port") if cluster else endpoint.get("Port"), "engine": inst.get("Engine"),
                 "status": status_of(inst), "master_username": inst.get("MasterUsername"),
                 "resource_id": resource_id_of(inst), "master_secret_arn": (managed_secret(inst) or {}).get("SecretArn")}
        if cluster:
            found["reader_address"] = inst.get("ReaderEndpoint")
        return found

    names = plan.node_names()
    cluster = isinstance(plan, ClusterPlan)
    if not graph.instances.get(ref(temp_name(names[0]), cluster)):
        return {}
    members = names[1:] if cluster else names
    return dict(facts(names[0], cluster), instances=[facts(n) for n in members if graph.get(temp_name(n))])


def new_secrets(plan: Plan, graph: Graph) -> Dict[str, str]:
    """The managed master secrets the clone got, by target member (the application must read these)."""
    found = {}  # type: Dict[str, str]
    for step in plan.steps:
        if step.kind != K_MANAGE:
            continue
        # Before the swap the clone is temp-X; once temp-X is gone, X is the clone.
        holder = step.ref if step.ref in graph.instances else ref(step.node, step.cluster) \
            if plan.phase != COPY else None
        secret = managed_secret(graph.instances.get(holder or ""))
        if holder and secret:
            found[step.node] = secret["SecretArn"]
    return found


def apply_steps(rds: Any, source: str, target: str, plan: Optional[List[Dict[str, Any]]] = None,
                steps: Optional[List[str]] = None, phases: Optional[List[str]] = None,
                options: Optional[CloneOptions] = None, password: Optional[PasswordSource] = None,
                prepared: bool = False,
                check_mode: bool = False, wait: bool = True, serial: bool = False, wait_timeout: float = WAIT_TIMEOUT,
                poll_interval: float = POLL_INTERVAL, settle_time: float = RENAME_SETTLE_TIME,
                time_scale: float = 1.0, progress: Optional[Progress] = None,
                sleep: Callable[[float], None] = time.sleep, alive: Callable[[], bool] = lambda: True) -> Dict[str, Any]:
    """Apply the chosen steps of a plan (given, or computed from live state with `options`); returns the module
    result. `password` gives the clone's new master password when a step sets it; `prepared` says the caller ran
    its prepare step, so what follows it may run."""
    if plan:
        the_plan, graph = marked_plan(rds, source, target, plan)
    else:
        the_plan, graph = live_plan(rds, source, target, options)
    chosen, todo, results = select(the_plan, steps, phases, check_mode, prepared)
    diff = {"before": {}, "after": {}}  # type: Dict[str, Dict[str, Any]]
    for step in todo:
        one = step_diff(step, graph)
        diff["before"].update(one["before"])
        diff["after"].update(one["after"])
    show = progress or (lambda text: None)
    if check_mode or not todo:
        for step in todo:
            results[step.key] = dict(step_result(step), status="would run")
            show("{0} {1}: would run".format(step.action, step.identifier))
    elif not wait:
        for step in todo:
            _call_step(rds, step, graph.instances, password)
            results[step.key] = dict(step_result(step), status="changed", started=time.time())
    else:
        flow = Dataflow(rds, the_plan, todo, dict(graph.instances), serial=serial, wait_timeout=wait_timeout,
                        poll_interval=poll_interval, settle_time=settle_time, time_scale=time_scale,
                        progress=progress, sleep=sleep, alive=alive, password=password)
        retiring = the_plan.retiring_resource_ids()
        results.update(flow.run())
        # Once the last old-* instance is gone, only the retired instances' ids tell a finished clone from a new one.
        the_plan, graph = remarked(rds, the_plan, retiring)
    changed = any(r["status"] in ("changed", "would run") for r in results.values())
    return {"changed": changed, "steps": [results[s.key] for s in chosen], "plan": the_plan.to_dict(),
            "phase": the_plan.phase, "nodes": the_plan.node_names(), "mode": the_plan.mode, "diff": diff,
            "clone": clone_facts(the_plan, graph), "secrets": new_secrets(the_plan, graph),
            "waiting_for_prepare": any(s.kind == K_PREPARE and s.status == PENDING for s in the_plan.steps)}
