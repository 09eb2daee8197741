# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record of one refresh across the modules that carry it out, and its summary.

A run record is plain data that each module returns and the next one takes back: the steps that ran
(when each was called, when its name was freed, when it finished), the restart, and the API calls by
operation. The summary (phase times, how long each name was unreachable, calls) is computed from it.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from .graph import strip_prefix

MUTATING_PREFIXES = ("Create", "Delete", "Modify", "Promote", "Reboot", "Restore", "AddTags", "RemoveTags")
PHASE_ORDER = ("copy", "prepare", "swap", "restart", "cleanup")


def new_run() -> Dict[str, Any]:
    return {"timeline": [], "calls": {}, "secrets": {}, "snapshots": {}, "waiting": {}, "masking": {}, "left": {}}


def extend_run(run: Optional[Dict[str, Any]], records: List[Dict[str, Any]], calls: Dict[str, int],
               secrets: Optional[Dict[str, str]] = None, snapshots: Optional[Dict[str, str]] = None,
               ran: Iterable[str] = (), began: Optional[float] = None, waits: Optional[str] = None,
               ended: Optional[float] = None) -> Dict[str, Any]:
    """The run record with this module's finished steps, the clone's new managed secrets, the retired primary's
    final snapshot and the calls added.

    The caller's steps (the prepare step, the restart) are timed here too: `waits` names the one this call stopped
    before, waiting from `ended`; `ran` those the caller ran since, which end when this call `began`."""
    run = run or new_run()
    timeline = list(run.get("timeline") or [])
    waiting = run.get("waiting") or {}
    for name in ran:
        if waiting.get("for") == name:
            timeline.append({"id": name, "phase": name, "started": float(waiting["since"]), "finished": float(began)})
    for record in records:
        if record.get("status") == "changed" and "finished" in record:
            timeline.append({key: record[key] for key in ("id", "kind", "phase", "node", "action", "identifier",
                                                          "window", "started", "released", "finished", "records",
                                                          "account")
                             if key in record})
    # What a step left to the next run (the source account's copy, when its credentials expired), and why.
    left = dict(run.get("left") or {})
    left.update((r["identifier"], r["reason"]) for r in records if r.get("status") == "deferred")
    # What the masking steps report (rows per table, the proof on each server), for the summary.
    masking = dict(run.get("masking") or {})
    for record in records:
        for key, name in (("masking", "masked"), ("masking_check", "checked")):
            if record.get(key):
                masking[name] = record[key]
    total = dict(run.get("calls") or {})
    for operation, count in calls.items():
        total[operation] = total.get(operation, 0) + count
    return {"timeline": timeline, "calls": total, "secrets": dict(run.get("secrets") or {}, **(secrets or {})),
            "snapshots": dict(run.get("snapshots") or {}, **(snapshots or {})),
            "waiting": {"for": waits, "since": ended} if waits else {}, "masking": masking, "left": left}


def call_counts(calls: Dict[str, int]) -> Dict[str, int]:
    return {
        "total": sum(calls.values()),
        "mutating": sum(n for op, n in calls.items() if op.startswith(MUTATING_PREFIXES)),
        "describe_instances": calls.get("DescribeDBInstances", 0),
        "describe_clusters": calls.get("DescribeDBClusters", 0),
        "list_tags": calls.get("ListTagsForResource", 0),
    }


def describes_text(calls: Dict[str, int]) -> str:
    """The describes of a call count, an Aurora refresh's cluster describes included."""
    text = "{0} DescribeDBInstances".format(calls["describe_instances"])
    if calls["describe_clusters"]:
        text += ", {0} DescribeDBClusters".format(calls["describe_clusters"])
    return "{0}, {1} ListTagsForResource".format(text, calls["list_tags"])


def duration_text(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return "{0}h {1:02d}m {2:02d}s".format(seconds // 3600, seconds % 3600 // 60, seconds % 60)
    return "{0}m {1:02d}s".format(seconds // 60, seconds % 60)


def masking_lines(masking: Dict[str, Any]) -> List[str]:
    """Rows masked per table, and the proof on each server (real seconds: database work, not AWS's)."""
    lines = []
    masked, checked = masking.get("masked") or {}, masking.get("checked") or {}
    for table, done in sorted((masked.get("tables") or {}).items()):
        if done.get("resumed"):
            lines.append("{0} was masked by an earlier run ({1} rows)".format(table, done["rows"]))
        else:
            lines.append("masked {0}: {1} rows in {2:.1f} s{3}".format(
                table, done["rows"], done.get("seconds", 0), " (an UPDATE and VACUUM FULL: the table rewrite was "
                "refused: {0})".format(done["rewrite_refused"]) if done.get("rewrite_refused") else ""))
    if masked:
        lines.append("masking {0} (with reclaiming the old row versions and the proof on it): {1:.1f} s".format(
            masked["instance"], masked["seconds"]))
    proofs = checked.get("instances") or {}
    if proofs:
        first = next(iter(proofs.values()))
        sampled = max(p["sampled_values"] for p in proofs.values())
        lines.append("checked {0} masked columns on {1}: every value masked{2} ({3:.1f} s)".format(
            first["columns_checked"], ", ".join(proofs),
            ", none of {0} sampled original values left".format(sampled) if sampled else "", checked["seconds"]))
    return lines


def summarize(run: Dict[str, Any], source: str, target: str, nodes: List[str], mode: str, serial: bool = False,
              check_mode: bool = False, pending: int = 0, time_scale: float = 1.0) -> Dict[str, Any]:
    """Phase times, each name's unreachable window and the calls, with the lines a person reads.

    Times are seconds multiplied by `time_scale` (1 on AWS; the embedded endpoint's simulated clock in the demo)."""
    timeline = run.get("timeline") or []
    calls = call_counts(run.get("calls") or {})
    secrets, snapshots = run.get("secrets") or {}, run.get("snapshots") or {}
    summary = {"source": source, "target": target, "nodes": nodes, "mode": mode, "serial": serial,
               "check_mode": check_mode, "steps_run": len([e for e in timeline if e.get("kind")]),
               "calls": calls, "secrets": secrets, "snapshots": snapshots}  # type: Dict[str, Any]
    how = "{0} path{1}".format(mode, ", one step at a time" if serial else "")
    what = "{0} into {1} ({2}) by {3}".format(source, target, ", ".join(nodes), how)
    if mode == "rollback":
        what = "the rollback of the refresh of {0} ({1}){2}".format(
            target, ", ".join(nodes), ", one step at a time" if serial else "")
    if check_mode:
        summary["lines"] = [
            "Checked (check mode, nothing changed): {0}: {1} step{2} would run.".format(
                what, pending, "" if pending == 1 else "s"),
            "API calls to plan and check: {0} ({1}).".format(calls["total"], describes_text(calls))]
        return summary

    def scaled(seconds: float) -> float:
        return round(seconds * time_scale, 1)

    phases = {}  # type: Dict[str, float]
    for phase in PHASE_ORDER:
        events = [e for e in timeline if e["phase"] == phase]
        if events:
            phases[phase] = scaled(max(e["finished"] for e in events) - min(e["started"] for e in events))
    by_id = {e["id"]: e for e in timeline}
    # Each name moves by a rename pair: the instance that holds it moves aside (the window opens), the other one
    # moves in (it closes).
    windows = {(e.get("node"), e.get("window")): e for e in timeline if e.get("window")}
    unreachable = {}  # type: Dict[str, float]
    for node in nodes:
        out, into = windows.get((node, "opens")), windows.get((node, "closes"))
        if out and into:
            unreachable[node] = scaled(into["finished"] - out["started"])
    summary.update(phase_seconds=phases, unreachable_seconds=unreachable)
    lines = ["{0} {1}: {2} step{3} run.".format(
        "Did" if mode == "rollback" else "Cloned", what, summary["steps_run"],
        "" if summary["steps_run"] == 1 else "s")]
    lines += ["{0}: {1}".format(phase, duration_text(seconds)) for phase, seconds in phases.items()]
    if timeline:
        begin = min(e["started"] for e in timeline)
        restart = by_id.get("restart")
        if restart:
            summary["to_restart_seconds"] = scaled(restart["started"] - begin)
            lines.append("to the restart: " + duration_text(summary["to_restart_seconds"]))
        summary["total_seconds"] = scaled(max(e["finished"] for e in timeline) - begin)
        lines.append("total: " + duration_text(summary["total_seconds"]))
    for node, seconds in unreachable.items():
        lines.append("{0} was unreachable for {1} during the swap".format(strip_prefix(node), duration_text(seconds)))
    for switch in [e for e in timeline if e.get("kind") == "switch"]:
        summary["switch_seconds"] = scaled(switch["finished"] - switch["started"])
        lines.append("{0} moved to {1} in one Route 53 change, in sync and past their TTL after {2}: no name the "
                     "application uses was unreachable".format(", ".join(switch.get("records") or []),
                                                               switch["identifier"],
                                                               duration_text(summary["switch_seconds"])))
    copies = [e for e in timeline if e.get("kind") == "copy-snapshot"]
    if copies:
        lines.append("the data crossed accounts as {0}: copied {1}".format(copies[0]["identifier"], ", then ".join(
            "in the {0} account in {1}".format(e.get("account", "target"), duration_text(
                scaled(e["finished"] - e["started"]))) for e in copies)))
    for name, reason in (run.get("left") or {}).items():
        lines.append("{0} in the source account was not deleted, {1}".format(name, reason))
    for name, arn in secrets.items():
        lines.append("{0}'s master password is in a new managed secret (the application must read it): {1}".format(
            name, arn))
    for name, snapshot in snapshots.items():
        lines.append("{0} was kept in the final snapshot {1} before it was deleted".format(name, snapshot))
    summary["masking"] = run.get("masking") or {}
    lines += masking_lines(summary["masking"])
    lines.append("API calls: {0} ({1} mutating, {2}).".format(calls["total"], calls["mutating"], describes_text(calls)))
    summary["lines"] = lines
    return summary
