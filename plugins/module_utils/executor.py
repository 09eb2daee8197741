# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Applying a plan: every step starts as soon as its own dependencies are done, and one filtered
describe per poll watches everything in flight.

The plan is computed once (rds_mitosis_plan) and handed over; before acting, the executor has it marked
again from one describe of the names it holds, so steps already done are skipped and a state that no
plan explains stops the run before any call. What a step does, when it is done and which refusals
only mean "later" are the step's own (steps.py); the executor only runs them. With `serial`, one step
at a time in plan order.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Set

from .accounts import SourceAccount
from .aws import MitosisError
from .graph import described, status_of
from .names import CLEANUP, COPY, DONE, PREPARE, RESUME_HINT, SWAP
from .planning import live_plan, marked_plan
from .plans import CloneOptions, Plan
from .report import duration_text
from .steps import SOURCE_ACCOUNT, Secrets, Step, Watch

PHASES = (COPY, PREPARE, SWAP, CLEANUP)
# Defaults of the step module (its argument spec reads them from here).
WAIT_TIMEOUT = 14400
POLL_INTERVAL = 30.0
RENAME_SETTLE_TIME = 120.0
# While waiting, a progress line at least this often (seconds of reported time).
PROGRESS_EVERY = 300.0

Progress = Callable[[str], None]


class Dataflow:
    """Runs steps as their dependencies complete, polling one describe for everything in flight."""

    def __init__(self, rds: Any, plan: Plan, todo: List[Step], live: Dict[str, Dict[str, Any]], serial: bool = False,
                 wait_timeout: float = WAIT_TIMEOUT, poll_interval: float = POLL_INTERVAL,
                 settle_time: float = RENAME_SETTLE_TIME, time_scale: float = 1.0, progress: Optional[Progress] = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time, alive: Callable[[], bool] = lambda: True,
                 password: Optional[Any] = None, source_rds: Any = None) -> None:
        self.rds = rds
        self.source_rds = source_rds  # a refresh across accounts: the source account's client
        self.password = Secrets.of(password)
        self.plan = plan
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
        self.free = set()  # type: Set[str]  # steps whose name is free (a swap-out's before it is done)
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
        return not self.serial and step.takes_freed_name and dep in self.free

    def _deps(self, step: Step) -> List[str]:
        """The dependencies this executor waits for: the prepare and restart steps are the caller's."""
        return [d for d in step.depends_on if not self.plan.step(d).caller]

    def _deps_met(self, step: Step) -> bool:
        return all(self._satisfied(step, d) for d in self._deps(step))

    def _ready(self) -> List[Step]:
        if self.serial:
            return self.waiting[:1] if not self.running and self.waiting and self._deps_met(self.waiting[0]) else []
        ready = [s for s in self.waiting if self._deps_met(s)]
        # A create needs its source available: start it before a modify makes that source busy.
        return sorted(ready, key=lambda s: not s.creates)

    def client(self, step: Step) -> Any:
        """The client of the account the step acts in."""
        return self.source_rds if step.account == SOURCE_ACCOUNT else self.rds

    def _collect(self) -> None:
        now = self.clock()
        for key, step in list(self.running.items()):
            try:
                step.poll(self.client(step), self.watches[key])
            except MitosisError as error:
                if not step.deferred(error):
                    raise
                del self.running[key]
                self._defer(step, error)
                continue
            if key not in self.free and step.released(self.live, self.watches[key]):
                self.free.add(key)
                self.records[key]["released"] = self.wall()
            if step.complete(self.live, self.watches[key], now, self.settle_time, self.region):
                del self.running[key]
                self.done.add(key)
                self.free.add(key)
                record = self.records[key]
                record["finished"] = self.wall()
                record["duration"] = round(record["finished"] - record["started"], 3)
                self.progress("{0}: done in {1}".format(step.label, duration_text(record["duration"] * self.time_scale)))

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
            try:
                reason = step.start(self.client(step), self.live, self.password, self.region)
            except MitosisError as error:
                if step.not_yet(error):
                    continue
                if step.deferred(error):
                    self.waiting.remove(step)
                    self._defer(step, error)
                    skipped = True
                    continue
                if not step.already_done(self.client(step), error):
                    error.hint = (error.hint + " " if error.hint else "") + RESUME_HINT
                    raise
                reason = "an earlier attempt of this call did it"
            if reason:
                self._finish_without_call(step, reason)
                skipped = True
                continue
            self.waiting.remove(step)
            self.running[step.key] = step
            self.watches[step.key] = Watch(step, self.live)
            self.watches[step.key].time_scale = self.time_scale
            self.since[step.key] = self.clock()
            self.records[step.key] = dict(step.result(), status="changed", started=self.wall())
            self.progress("{0}: started".format(step.label))
        return skipped

    def _finish_without_call(self, step: Step, reason: str) -> None:
        self.waiting.remove(step)
        self.done.add(step.key)
        self.free.add(step.key)
        self.records[step.key] = dict(step.result(), status="skipped", reason=reason)
        self.progress("{0}: skipped, {1}".format(step.label, reason))

    def _defer(self, step: Step, error: MitosisError) -> None:
        """Leave `step` to the next run (which does it before anything else) and go on without it."""
        self.done.add(step.key)
        self.free.add(step.key)
        reason = "left to the next run, which does it first: {0}".format(error.message)
        self.records[step.key] = dict(step.result(), status="deferred", reason=reason)
        self.progress("{0}: {1}".format(step.label, reason))

    def _check_timeouts(self) -> None:
        now = self.clock()
        for step in list(self.running.values()) + self._ready():
            if now - self.since[step.key] > self.wait_timeout:
                what = "{0} ({1})".format(step.label, self._status(step))
                raise MitosisError(
                    "Timed out after {0:.0f} s waiting for {1}.".format(self.wait_timeout, what),
                    operation="wait", identifier=step.identifier,
                    hint="AWS keeps working: run the same command again (or raise wait_timeout) to resume from here.")

    def _status(self, step: Step) -> str:
        inst = self.live.get(step.new_ref) or self.live.get(step.ref)
        status = status_of(inst) if inst else "not found"
        return status if step.key in self.running else "waiting to start, " + status

    def _in_flight_text(self) -> str:
        steps = list(self.running.values()) + self._ready()
        return "still waiting for: " + "; ".join("{0} ({1})".format(s.label, self._status(s)) for s in steps)


def apply_steps(rds: Any, source: str, target: str, plan: Optional[List[Dict[str, Any]]] = None,
                steps: Optional[List[str]] = None, phases: Optional[List[str]] = None,
                options: Optional[CloneOptions] = None, password: Optional[Any] = None,
                prepared: bool = False,
                check_mode: bool = False, wait: bool = True, serial: bool = False, wait_timeout: float = WAIT_TIMEOUT,
                poll_interval: float = POLL_INTERVAL, settle_time: float = RENAME_SETTLE_TIME,
                time_scale: float = 1.0, progress: Optional[Progress] = None,
                sleep: Callable[[float], None] = time.sleep, alive: Callable[[], bool] = lambda: True,
                route53: Any = None, account: Optional[SourceAccount] = None) -> Dict[str, Any]:
    """Apply the chosen steps of a plan (given, or computed from live state with `options`); returns the module
    result. `password` gives the clone's new master password when a step sets it; `prepared` says the caller ran
    its prepare step, so what follows it may run; `route53` is the client of a switch by DNS, `account` the source
    account of a refresh across accounts."""
    if plan:
        the_plan, graph = marked_plan(rds, source, target, plan, bool(options and options.rollback), route53, account)
    else:
        the_plan, graph = live_plan(rds, source, target, options, route53=route53, account=account)
    chosen, todo, results = the_plan.select(steps, phases or list(PHASES), check_mode, prepared)
    diff = {"before": {}, "after": {}}  # type: Dict[str, Dict[str, Any]]
    for step in todo:
        one = step.diff(graph)
        diff["before"].update(one["before"])
        diff["after"].update(one["after"])
    show = progress or (lambda text: None)
    password = Secrets.of(password)  # `password`: the run's Secrets, or the new master password's callable
    if check_mode or not todo:
        for step in todo:
            results[step.key] = dict(step.result(), status="would run")
            show("{0}: would run".format(step.label))
    elif not wait:
        for step in todo:
            step.call(account.rds if account and step.account == SOURCE_ACCOUNT else rds, graph.instances, password)
            results[step.key] = dict(step.result(), status="changed", started=time.time())
    else:
        flow = Dataflow(rds, the_plan, todo, dict(graph.instances), serial=serial, wait_timeout=wait_timeout,
                        poll_interval=poll_interval, settle_time=settle_time, time_scale=time_scale,
                        progress=progress, sleep=sleep, alive=alive, password=password,
                        source_rds=account.rds if account else None)
        retiring = the_plan.retiring_resource_ids()
        results.update(flow.run())
        # Once the last old-* instance is gone, only the retired instances' ids tell a finished clone from a new one.
        the_plan, graph = the_plan.planner.remark(rds, the_plan, retiring)
    changed = any(r["status"] in ("changed", "would run") for r in results.values())
    kept = {s.identifier: s.kept_snapshot() for s in chosen
            if s.kept_snapshot() and results[s.key]["status"] in ("changed", "skipped")}
    return {"changed": changed, "steps": [results[s.key] for s in chosen], "plan": the_plan.to_dict(),
            "phase": the_plan.phase, "nodes": the_plan.node_names(), "mode": the_plan.mode, "diff": diff,
            "clone": the_plan.clone_facts(graph), "secrets": the_plan.new_secrets(graph), "snapshots": kept,
            "pending": len([s for s in the_plan.pending if s.in_check_count]), "waits_for": the_plan.waits_for,
            "caller_steps": [s.phase for s in the_plan.pending if s.caller],
            "waiting_for_prepare": the_plan.waiting_for_prepare}
