# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan a person approves, and the check that a refresh runs the plan that was approved.

A check-mode run publishes its plan (`approval`): source, target, copy method, and each step's call with its
parameters (secrets are placeholders in every plan) and its mark, with the flight plan's text. A refresh given that
plan back compares it with the plan it made from the live state and refuses, before any change, when they differ in
anything but the marks: a step more or less, another call or instance, other parameters, another copy method. The
one difference that is not a refusal is the snapshot a snapshot copy picks by itself: the newest, which may have
been taken since the approval.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from .aws import MitosisError
from .plans import Plan
from .steps import Step, parameters_text

# The parameter of a restore step that names the snapshot it restores (an instance's, a cluster's).
SNAPSHOT_PARAMETERS = ("DBSnapshotIdentifier", "SnapshotIdentifier")
APPROVAL_KEYS = ("source", "target", "copy_method", "steps")


def _step(step: Step) -> Dict[str, Any]:
    return {"id": step.key, "wave": step.wave, "action": step.action, "identifier": step.identifier,
            "params": step.params, "status": step.status}


def approval(plan: Plan, flight_plan: str) -> Dict[str, Any]:
    """What a person approves: the plan's calls, with its flight plan."""
    return {"source": plan.source, "target": plan.target, "copy_method": plan.mode,
            "steps": [_step(step) for step in plan.steps], "flight_plan": flight_plan}


def _plain(value: Any) -> Any:
    """As the approval comes back (through JSON: AWX's artifacts, a file): tuples are lists."""
    return json.loads(json.dumps(value, default=str))


def _call(step: Dict[str, Any]) -> str:
    return "{0} {1}".format(step.get("action"), step.get("identifier"))


def differences(approved: Any, live: Dict[str, Any], picked_snapshot: bool) -> Tuple[List[str], List[str]]:
    """How the live plan differs from the approved one: (what refuses the run, what it only says)."""
    if not isinstance(approved, dict) or not all(key in approved for key in APPROVAL_KEYS) \
            or not isinstance(approved["steps"], list):
        raise MitosisError(
            "approved_plan is not a plan published by a check-mode run: it needs {0}.".format(", ".join(APPROVAL_KEYS)),
            operation="approve",
            hint="Pass the mitosis_plan a check-mode run published (set_stats, or the file written with plan_file).")
    approved, live = _plain(approved), _plain(live)
    refusals, notes = [], []
    for key, what in (("source", "the source"), ("target", "the target"), ("copy_method", "the copy method")):
        if approved[key] != live[key]:
            refusals.append("{0} is {1} (approved: {2})".format(what, live[key], approved[key]))
    before = {step.get("id"): step for step in approved["steps"]}
    now = {step["id"]: step for step in live["steps"]}
    for key, step in now.items():
        if key not in before:
            refusals.append("a new step: wave {0} {1} {2}".format(
                step["wave"], _call(step), parameters_text(step["params"])).rstrip())
            continue
        old = before[key]
        if _call(old) != _call(step):
            refusals.append("step {0} is now {1} (approved: {2})".format(key, _call(step), _call(old)))
            continue
        changed = sorted(name for name in set(old.get("params") or {}) | set(step["params"])
                         if (old.get("params") or {}).get(name) != step["params"].get(name))
        if not changed:
            continue
        said = "{0}: {1}".format(_call(step), ", ".join(
            "{0}={1} (approved: {2})".format(name, step["params"].get(name), (old.get("params") or {}).get(name))
            for name in changed))
        if picked_snapshot and set(changed) <= set(SNAPSHOT_PARAMETERS):
            notes.append("{0}: the newest snapshot, taken since the approval".format(said))
        else:
            refusals.append(said)
    refusals += ["a step no longer planned: {0}".format(_call(step)) for key, step in before.items() if key not in now]
    return refusals, notes


def check_approved(approved: Any, plan: Plan, flight_plan: str, picked_snapshot: bool) -> List[str]:
    """Refuse when the live plan is not the approved one; what differs without refusing (warnings)."""
    refusals, notes = differences(approved, approval(plan, flight_plan), picked_snapshot)
    if refusals:
        raise MitosisError(
            "The plan of {0} from the live state differs from the approved plan, so this run changes nothing: "
            "{1}.".format(plan.target, "; ".join(refusals)),
            operation="approve", identifier=plan.target,
            hint="Run in check mode again to see the plan as it is now, and have that one approved.")
    return notes
