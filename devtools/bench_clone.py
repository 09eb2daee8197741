"""`make bench`, part 1: how long a clone takes, against the critical path of its plan.

Real `ansible-playbook` runs (devtools/bench_clone.yml: the mitosis.rds.clone role, then its summary
as JSON) against the embedded endpoint with the time model on, for four targets: the seed's
example (a primary and one replica), a primary with five replicas ("wide"), the seed's cascade and an
Aurora cluster with a writer and two readers ("aurora", refreshed with an Aurora clone);
each in serial mode (one step at a time, in plan order) and in the default mode (every step as soon
as its own dependencies are done). Times are simulated minutes: real seconds / speed.

- to restart: from the first mutating call (the lock's tag calls aside) to the restart command (its own log of `date`);
- to end: the run summary's total (first step started to last step finished);
- unreachable: the longest time any target name was unreachable (the summary's, swap-out call to
  swap-in done);
- calls: the endpoint's call record for the whole run (planning included);
- bound: the longest path through the plan's dependencies with the endpoint's durations
  (devtools/rds_endpoint/timeline.py OPERATIONS); for serial, the sum of the durations in plan order.

Then, on the endpoint's data plane (every PostgreSQL instance a real server), the default-mode clone of a
PostgreSQL stack (the postgres-data seed: a primary and two replicas) while a client connects to each of its names
every 50 ms: how long each name really refused connections, beside the run summary's figure and the time model's.

The same stack is then refreshed again with masking rules (devtools/playbooks/mask_shop.yml): the new primary
is promoted without backups, masked, its backups switched on, and only then are its replicas created; the time to
the restart of both runs, and of both plans' critical paths, shows what that ordering costs.

Then the collection's own overhead per step, with the time model off (speed 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from devtools.reachability import Prober, name_addresses, records_of
from devtools.rds_endpoint.testing import EndpointHandle, is_lock_call, running_endpoint
from devtools.rds_endpoint.timeline import OPERATIONS
from devtools.seed import (DEMO_DATA, DNS_TTL, DNS_ZONE, Seeder, _demo_replica, dns_records, seed_aurora, seed_cascade,
                           seed_example, seed_postgres_data)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".collections"))
from ansible_collections.mitosis.rds.plugins.module_utils.executor import apply_steps, live_plan  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.lock import SETTLE_TIME  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.masking import read_rules_file  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.report import masking_lines  # noqa: E402

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
PLAYBOOK = "devtools/bench_clone.yml"
OUTPUT = ROOT / "build" / "bench"
SOURCE, TARGET = "mitosis-prod", "mitosis-demo"
# The application's records of the postgres-data stack, for the switch by DNS: record -> instance.
DNS_RECORDS = {"db.demo.internal": TARGET, "db-ro-a.demo.internal": "mitosis-demo-replica-a",
               "db-ro-b.demo.internal": "mitosis-demo-replica-b"}
PRIMARY_RECORD = "db.demo.internal"
# Every step in default mode within this factor of the critical path; names unreachable as long at most
# (times the same factor) as the rename hold plus one rename.
BOUND_FACTOR = 1.10


def seed_wide(session: Any, endpoint_url: str) -> dict[str, Any]:
    """The seed's example plus four more replicas of mitosis-demo (mitosis-demo-replica-2 to -5, ports
    5432 to 5435), built like mitosis-demo-replica: a primary with five replicas."""
    scenario = seed_example(session, endpoint_url)
    seeder = Seeder(session, endpoint_url)
    sg = seeder.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["mitosis-demo-db"]}])
    demo = {"security_group": sg["SecurityGroups"][0]["GroupId"],
            "replica_parameter_group": "mitosis-demo-replica-mysql80"}
    for number in range(2, 6):
        name = "mitosis-demo-replica-{0}".format(number)
        scenario["instances"].append(_demo_replica(seeder, name, TARGET, 5430 + number, demo, scenario["engine"]))
    seeder.settle()
    return scenario


# name: (seed function, target for default/serial, source, target)
SCENARIOS: dict[str, tuple[Callable[[Any, str], dict[str, Any]], float, str, str]] = {
    "seed": (seed_example, 0.70, SOURCE, TARGET),
    "wide": (seed_wide, 0.30, SOURCE, TARGET),
    "cascade": (seed_cascade, 0.55, SOURCE, TARGET),
    # An Aurora cluster with a writer and two readers, refreshed with an Aurora clone.
    "aurora": (seed_aurora, 0.50, "mitosis-aurora-prod", "mitosis-aurora-demo"),
}
DESCRIBES = ("DescribeDBInstances", "DescribeDBClusters")


# --- The critical path of a plan, with the endpoint's durations -------------------------------------------

def minutes(kind: str) -> float:
    return float(OPERATIONS[kind][0])


def rename_hold(kind: str = "rename") -> float:
    """Simulated minutes a rename keeps the old name (the `renaming` share of the rename; a cluster's whole rename)."""
    duration, phases = OPERATIONS[kind]
    return duration * dict(phases)["renaming"]


def cluster_minutes(kind: str, params: dict[str, Any]) -> float:
    """The endpoint's duration of an Aurora cluster's step."""
    if kind == "restore":
        if "SnapshotIdentifier" in params:
            return minutes("cluster-restore")
        return minutes("cluster-clone" if params.get("RestoreType") == "copy-on-write"
                       else "cluster-restore-point-in-time")
    if kind in ("swap-out", "swap-in"):
        return minutes("cluster-rename")
    if kind in ("password", "mask-login"):
        return minutes("cluster-reset-credentials")
    if kind in ("modify", "manage-secret"):
        return minutes("cluster-modify")
    if kind == "delete":
        return minutes("cluster-delete")
    return 0.0


def step_minutes(step: Any) -> float:
    """The endpoint's duration of a step (Step objects or plan dicts)."""
    kind, params = _kind(step), _params(step)
    if _cluster(step):
        return cluster_minutes(kind, params)
    if kind == "create" and "DBClusterIdentifier" in params:
        return minutes("create")  # an Aurora instance
    if kind == "create":
        return minutes("create-replica")
    if kind == "restore" and "SourceDBInstanceIdentifier" in params:
        return minutes("restore-point-in-time")
    if kind in ("restore", "promote", "delete"):
        return minutes(kind)
    if kind in ("password", "mask-login"):
        return minutes("reset-credentials")
    if kind == "manage-secret":
        return minutes("modify")
    if kind == "final-snapshot":
        return minutes("snapshot")
    if kind == "modify":
        # A new replica has backups off: turning them on is the longer modify.
        return minutes("enable-backups") if (params.get("BackupRetentionPeriod") or 0) > 0 else minutes("modify")
    if kind in ("swap-out", "swap-in", "retire"):
        return minutes("rename")
    if kind in ("switch", "records"):
        # In sync after Route 53's propagation; a switch then waits the records' TTL (seconds).
        ttl = max([r.get("TTL") or 0 for r in params.get("Records") or []] or [0]) if kind == "switch" else 0
        return minutes("dns-change") + ttl / 60.0
    if kind in ("switched", "keep"):
        return 0.0
    # Across accounts: the snapshot copies take their time; the share and the deletes are at once.
    if kind == "copy-snapshot":
        return minutes("snapshot-copy")
    if kind in ("share-snapshot", "drop-snapshot"):
        return 0.0
    # The masking and its check are database work: real seconds, no simulated AWS minute.
    if kind in ("restart", "prepare", "tag", "untag", "mask", "mask-check"):
        return 0.0
    raise ValueError("unknown step kind {0!r}".format(kind))


def _key(step: Any) -> str:
    return step["id"] if isinstance(step, dict) else step.key


def _kind(step: Any) -> str:
    return step["kind"] if isinstance(step, dict) else step.kind


def _params(step: Any) -> dict[str, Any]:
    return (step["params"] if isinstance(step, dict) else step.params) or {}


def _cluster(step: Any) -> bool:
    return bool(step.get("cluster") if isinstance(step, dict) else step.cluster)


def _deps(step: Any) -> list[str]:
    return list(step["depends_on"] if isinstance(step, dict) else step.depends_on)


def lower_bound(steps: list[Any]) -> dict[str, float]:
    """Earliest restart and end if every step started the moment its dependencies allowed it.

    A swap-in waits for its swap-out to free the name (the rename hold), not for the swap-out's reboot."""
    by_key = {_key(s): s for s in steps}
    finish: dict[str, float] = {}
    start: dict[str, float] = {}

    def ready(key: str, dep: str) -> float:
        end = visit(dep)
        if _kind(by_key[key]) == "swap-in" and _kind(by_key[dep]) == "swap-out":
            return start[dep] + rename_hold("cluster-rename" if _cluster(by_key[dep]) else "rename")
        return end

    def visit(key: str) -> float:
        if key not in finish:
            start[key] = max([ready(key, dep) for dep in _deps(by_key[key])] or [0.0])
            finish[key] = start[key] + step_minutes(by_key[key])
        return finish[key]

    for step in steps:
        visit(_key(step))
    restarts = [start[_key(s)] for s in steps if _kind(s) == "restart"]
    return {"restart": max(restarts) if restarts else 0.0, "end": max(finish.values() or [0.0])}


def serial_expected(steps: list[Any]) -> dict[str, float]:
    """One step at a time in plan order: the sum of the durations (to the restart, and in all)."""
    elapsed, restart = 0.0, 0.0
    for step in steps:
        if _kind(step) == "restart":
            restart = elapsed
        elapsed += step_minutes(step)
    return {"restart": restart, "end": elapsed}


def depth(plan: Any) -> int:
    """Levels of replication below the target's root (the planner's describes grow with it)."""
    parents = {}
    for step in plan.steps:
        if step.kind == "create" and step.params.get("SourceDBInstanceIdentifier", "").startswith("temp-"):
            parents[step.node] = step.params["SourceDBInstanceIdentifier"][len("temp-"):]

    def level(node: str) -> int:
        return 1 + level(parents[node]) if node in parents else 0

    return max([level(n) for n in plan.node_names()] or [0])


# --- Running a clone ------------------------------------------------------------------------------------

class RunFailed(RuntimeError):
    pass


def prepare(endpoint: EndpointHandle, scenario: str) -> Any:
    """Reset the endpoint, seed `scenario` at speed 0, and return the plan of the clone."""
    endpoint.reset()
    endpoint.set_speed(0.0)
    seed, _target, source, target = SCENARIOS[scenario]
    seed(endpoint.session(), endpoint.url)
    endpoint.settle()
    plan, _graph = live_plan(endpoint.client("rds"), source, target)
    endpoint.clear_calls()
    return plan


def playbook(endpoint: EndpointHandle, label: str, speed: float, serial: bool, poll: float, settle: float,
             timeout: float, source: str = SOURCE, target: str = TARGET, **more: Any) -> dict[str, Any]:
    """Run the wrapper playbook; its summary, the restart time and the real seconds it took."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    restart_log, summary_file, log = (OUTPUT / "{0}.{1}".format(label, ext) for ext in ("restart", "json", "log"))
    for path in (restart_log, summary_file):
        path.unlink(missing_ok=True)
    extra = {
        "source": source, "target": target, "serial": serial, "poll_interval": poll, "rename_settle_time": settle,
        "report_time_scale": 60.0 / speed if speed else 1.0,
        # The lock's wait is real seconds on AWS: scaled like AWS's minutes, not left 120 times longer.
        "lock_settle_time": SETTLE_TIME * speed / 60.0,
        "restart_command": "date +%s.%N >> {0}".format(restart_log), "summary_file": str(summary_file), **more,
    }
    env = dict(os.environ, **endpoint.env)
    env["ANSIBLE_NOCOLOR"] = "1"
    started = time.time()
    with open(log, "w") as out:
        try:
            run = subprocess.run([ANSIBLE_PLAYBOOK, PLAYBOOK, "-e", json.dumps(extra)], cwd=ROOT, env=env,
                                 stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
            code = run.returncode
        except subprocess.TimeoutExpired:
            code = None
    wall = time.time() - started
    if code != 0 or not summary_file.exists():
        tail = "\n".join(log.read_text().splitlines()[-40:])
        why = "timed out after {0:.0f} s".format(timeout) if code is None else "exited with {0}".format(code)
        raise RunFailed("ansible-playbook {0} ({1}) {2}; the end of {3}:\n{4}".format(
            PLAYBOOK, label, why, log.relative_to(ROOT), tail))
    restarts = [float(line) for line in restart_log.read_text().split()] if restart_log.exists() else []
    return {"summary": json.loads(summary_file.read_text()), "restart": restarts[0] if restarts else None,
            "wall": wall, "log": log}


def clone(endpoint: EndpointHandle, scenario: str, serial: bool, args: argparse.Namespace) -> dict[str, Any]:
    plan = prepare(endpoint, scenario)
    endpoint.set_speed(args.speed)
    mode = "serial" if serial else "default"
    expected_minutes = serial_expected(plan.steps)["end"] if serial else lower_bound(plan.steps)["end"]
    # Generous: three times the expected simulated time, plus Ansible's start-up.
    timeout = expected_minutes * args.speed * 3 + 120
    run = playbook(endpoint, "{0}-{1}".format(scenario, mode), args.speed, serial, args.poll_interval,
                   args.rename_settle_time, timeout, plan.source, plan.target)
    calls = endpoint.calls()
    endpoint.set_speed(0.0)
    run["log"].with_suffix(".calls.json").write_text(json.dumps(calls, indent=1))
    summary = run["summary"]
    # The refresh's own calls: the lock is taken before its first change (and waits its settle time there).
    mutating = [c for c in calls if c["mutating"] and not is_lock_call(c)]
    errors = [c for c in calls if c["error"]]
    describes = [c for c in calls if c["operation"] in DESCRIBES]
    span = calls[-1]["time"] - calls[0]["time"]
    return {
        "scenario": scenario, "mode": mode, "nodes": len(plan.node_names()), "depth": depth(plan),
        "steps": len([s for s in plan.steps if s.kind != "restart"]),
        "bound": serial_expected(plan.steps) if serial else lower_bound(plan.steps),
        "to_restart": to_restart(calls, run, args.speed),
        "to_end": summary.get("total_seconds", float("nan")) / 60.0,
        "unreachable": max((summary.get("unreachable_seconds") or {"-": float("nan")}).values()) / 60.0,
        "mutating": len(mutating), "describes": len(describes),
        # An Aurora refresh watches clusters and instances: a describe of each per poll.
        "describe_kinds": len({c["operation"] for c in describes}) or 1,
        "list_tags": len([c for c in calls if c["operation"] == "ListTagsForResource"]),
        "errors": len(errors), "error_codes": sorted({c["error"] for c in errors}),
        # Poll intervals the run lasted: the most describes that "one per poll" allows while waiting.
        "polls": span / args.poll_interval,
        # Time outside the step modules' phases: Ansible's tasks and module start-ups between them, the restart.
        "outside": summary.get("total_seconds", 0.0) / 60.0 - sum(
            (summary.get("phase_seconds") or {}).get(p, 0.0) for p in ("copy", "swap", "cleanup")) / 60.0,
        "summary_calls": summary.get("calls"), "wall": run["wall"],
    }


# --- Output ---------------------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = ("{0:<8} {1:>5} {2:>5} {3:<8} {4:>10} {5:>6} {6:>7}  {7:>7} {8:>6} {9:>7}  {10:>11} {11:>8} {12:>9} "
            "{13:>9} {14:>7} {15:>7}")
    print(head.format("graph", "nodes", "depth", "mode", "to restart", "bound", "x bound", "to end", "bound",
                      "x bound", "unreachable", "mutating", "describes", "list-tags", "outside", "wall s"))
    line = ("{scenario:<8} {nodes:>5} {depth:>5} {mode:<8} {to_restart:>10.1f} {br:>6.1f} {xr:>7.2f}  {to_end:>7.1f} "
            "{be:>6.1f} {xe:>7.2f}  {unreachable:>11.1f} {mutating:>8} {describes:>9} {list_tags:>9} {outside:>7.1f} "
            "{wall:>7.1f}")
    for row in rows:
        print(line.format(br=row["bound"]["restart"], be=row["bound"]["end"],
                          xr=row["to_restart"] / row["bound"]["restart"], xe=row["to_end"] / row["bound"]["end"],
                          **row))


def print_targets(rows: list[dict[str, Any]], speed: float, poll_interval: float) -> None:
    hold, rename = rename_hold(), minutes("rename")
    limit = hold + rename
    # A name's window is measured from the swap-out call to the poll that sees the swap-in done, and the swap-in
    # starts at the poll that sees the name free: up to one poll interval late at each of the two observations.
    resolution = 2 * poll_interval / speed
    by = {(r["scenario"], r["mode"]): r for r in rows}
    for scenario in SCENARIOS:
        serial, default = by.get((scenario, "serial")), by.get((scenario, "default"))
        if default is None:
            continue
        print("{0} ({1} nodes, depth {2}, {3} steps):".format(scenario, default["nodes"], default["depth"],
                                                             default["steps"]))
        if serial is not None:
            target = SCENARIOS[scenario][1]
            restart, end = (default[k] / serial[k] for k in ("to_restart", "to_end"))
            best = (default["bound"]["restart"] / serial["bound"]["restart"],
                    default["bound"]["end"] / serial["bound"]["end"])
            # The target is on the time to the restart, as the baselines (82 / 156 / 230 min) are.
            print("  default/serial: to restart {0:.2f} {1} (target <= {2:.2f}), to end {3:.2f} "
                  "(bounds/serial expected: {4:.2f}, {5:.2f}; the cleanup deletes leaves first in both modes)".format(
                      restart, verdict(restart <= target), target, end, *best))
        xr = default["to_restart"] / default["bound"]["restart"]
        xe = default["to_end"] / default["bound"]["end"]
        inner = (default["to_end"] - default["outside"]) / default["bound"]["end"]
        print("  default achieved/lower bound: to restart {0:.2f} {1}, to end {2:.2f} {3} (target <= {4:.2f}; "
              "to end without the minutes outside the step modules' phases: {5:.2f})".format(
                  xr, verdict(xr <= BOUND_FACTOR), xe, verdict(xe <= BOUND_FACTOR), BOUND_FACTOR, inner))
        print("  longest unreachable (default): {0:.1f} min {1} (rename hold {2:g} + rename {3:g} = {4:g} min, measured "
              "to a poll's resolution: two polls of {5:g} min)".format(
                  default["unreachable"], verdict(default["unreachable"] <= limit + resolution), hold, rename,
                  limit, resolution / 2))
        for row in (serial, default):
            if row is None:
                continue
            print("  {0}: {1} describes for {2:.0f} poll intervals of the run ({3:.2f} per interval; at most {4}: one "
                  "per kind of resource watched) {5}; {6} calls refused{7}".format(
                      row["mode"], row["describes"], row["polls"], row["describes"] / row["polls"],
                      row["describe_kinds"], verdict(row["describes"] <= row["polls"] * row["describe_kinds"]),
                      row["errors"], "".join(" " + code for code in row["error_codes"])))


MASK_RULES = "devtools/playbooks/mask_shop.yml"


def to_restart(calls: list[dict[str, Any]], run: dict[str, Any], speed: float) -> float:
    """Simulated minutes from the refresh's first mutating call (the lock's aside; the first call without one) to
    the restart command."""
    mutating = [c for c in calls if c["mutating"] and not is_lock_call(c)]
    first = mutating[0]["time"] if mutating else calls[0]["time"]
    return (run["restart"] - first) / speed if run["restart"] else float("nan")


def measured_windows(args: argparse.Namespace) -> None:
    """The unreachable window of each name as a probing client sees it, on the data plane; then what masking's
    ordering costs, refreshing the same stack again with masking rules."""
    print("\n== Unreachable windows on the data plane: the postgres-data seed's mitosis-demo (a primary, two "
          "replicas; real PostgreSQL servers), default mode, a client connecting to each name every 50 ms")
    with running_endpoint(speed=0.0, data_plane=True) as endpoint:
        seeded = seed_postgres_data(endpoint.session(), endpoint.url)
        rds = endpoint.client("rds")
        names = name_addresses(rds, [n for n in seeded["instances"] if n.startswith(TARGET)])
        endpoint.clear_calls()
        endpoint.set_speed(args.speed)
        timeout = lower_bound(live_plan(rds, SOURCE, TARGET)[0].steps)["end"] * args.speed * 3 + 120
        with Prober(names, "mitosis", DEMO_DATA.password) as prober:
            run = playbook(endpoint, "postgres-data-default", args.speed, False, args.poll_interval,
                           args.rename_settle_time, timeout, master_password=DEMO_DATA.password)
        plain = to_restart(endpoint.calls(), run, args.speed)
        endpoint.set_speed(0.0)
        endpoint.clear_calls()
        rules = read_rules_file(MASK_RULES)
        bounds = [lower_bound(live_plan(rds, SOURCE, TARGET, CloneOptions(
            password_source="master_password", mask_rules=masked))[0].steps)["restart"] for masked in (None, rules)]
        endpoint.set_speed(args.speed)
        masked_run = playbook(endpoint, "postgres-data-masked", args.speed, False, args.poll_interval,
                              args.rename_settle_time, timeout, master_password=DEMO_DATA.password,
                              mask_rules=MASK_RULES)
        masked = to_restart(endpoint.calls(), masked_run, args.speed)
        endpoint.set_speed(0.0)
        dns = switch_by_dns(endpoint, args, timeout)
    summary = run["summary"].get("unreachable_seconds") or {}
    hold, rename = rename_hold(), minutes("rename")
    # The summary's window runs from the swap-out call to the poll that sees the swap-in done: within a poll of
    # the refused connections at either end; the probe adds its own interval.
    resolution = (2 * args.poll_interval + 0.05 + 0.05) / args.speed
    print("{0:<24} {1:>9} {2:>9} {3:>11}".format("name", "measured", "summary", "time model"))
    for name, seconds in prober.longest().items():
        measured, reported = seconds / args.speed, summary.get(name, float("nan")) / 60.0
        print("{0:<24} {1:>9.1f} {2:>9.1f} {3:>11g}  measured within {4:.1f} min of the summary's {5}".format(
            name, measured, reported, hold + rename, resolution, verdict(abs(measured - reported) <= resolution)))
    print("minutes; measured: the longest span of refused connections the probing client saw; summary: the run's own "
          "figure (swap-out call to the poll that sees the swap-in done); time model: rename hold {0:g} + rename "
          "{1:g} min.".format(hold, rename))
    print("\n== The same stack switched by DNS (swap_method=dns): its application's records {0} (zone {1}, TTL {2} s) "
          "move in one Route 53 change to the clones <name>-a, a client connecting through each record every 50 ms"
          .format(", ".join(DNS_RECORDS), DNS_ZONE, DNS_TTL))
    print("{0:<28} {1:>9} {2:>12}".format("record", "measured", "its instance"))
    for record, seconds in dns["windows"].items():
        print("{0:<28} {1:>9.1f} {2:>12}".format(record, seconds / args.speed, DNS_RECORDS[record]))
    longest_rename = max(prober.longest().values()) / args.speed
    longest_dns = max(dns["windows"].values()) / args.speed
    print("unreachable window, the longest of the stack's names (minutes): rename {0:.1f}, dns {1:.1f} (a switch "
          "by DNS {2}); to the restart: rename {3:.1f} min, dns {4:.1f} min (the plans' critical paths: {5:g} and "
          "{6:g}; dns waits for the change in sync, {7:g} min, and the TTL instead of the renames); the switch itself: "
          "{8}".format(longest_rename, longest_dns, verdict(longest_dns == 0.0), plain, dns["to_restart"], bounds[0],
                       dns["bound"], minutes("dns-change"), "; ".join(dns["switch"])))
    print("\n== What masking's ordering costs on the same stack (promoted without backups, masked, backups on, then "
          "the replicas)")
    print("to the restart: {0:.1f} min without rules, {1:.1f} min with them: +{2:.1f} min (the plans' critical paths: "
          "{3:g} and {4:g} min, +{5:g}); the masking itself: {6}".format(
              plain, masked, masked - plain, bounds[0], bounds[1], bounds[1] - bounds[0],
              "; ".join(masking_lines(masked_run["summary"].get("masking") or {})[:2])))


def switch_by_dns(endpoint: EndpointHandle, args: argparse.Namespace, timeout: float) -> dict[str, Any]:
    """The postgres-data stack again, reached through Route 53 records, refreshed with swap_method=dns while a client
    connects through each record: its windows (real seconds), the simulated minutes to the restart, the summary's
    line about the switch."""
    endpoint.set_speed(0.0)
    endpoint.reset()
    seed_postgres_data(endpoint.session(), endpoint.url)
    dns_records(endpoint.session(), endpoint.url, DNS_RECORDS, DNS_ZONE, DNS_TTL)
    records = records_of(endpoint, endpoint.client("rds"), DNS_RECORDS)
    planned = CloneOptions(password_source="master_password", swap_method="dns", dns_zone=DNS_ZONE)
    bound = lower_bound(live_plan(endpoint.client("rds"), SOURCE, PRIMARY_RECORD, planned,
                                  route53=endpoint.client("route53"))[0].steps)["restart"]
    endpoint.clear_calls()
    endpoint.set_speed(args.speed)
    with Prober(records, "mitosis", DEMO_DATA.password) as prober:
        run = playbook(endpoint, "postgres-data-dns", args.speed, False, args.poll_interval, args.rename_settle_time,
                       timeout, target=PRIMARY_RECORD, master_password=DEMO_DATA.password, swap_method="dns",
                       dns_zone=DNS_ZONE)
    endpoint.set_speed(0.0)
    switched = [line for line in run["summary"]["lines"] if "Route 53" in line]
    return {"windows": prober.longest(), "to_restart": to_restart(endpoint.calls(), run, args.speed),
            "switch": switched, "bound": bound}


def overhead(endpoint: EndpointHandle, args: argparse.Namespace) -> None:
    """The seed's clone with the time model off: every operation is done at the next request."""
    print("\n== Overhead per step, time model off (speed 0): the seed's example, rename_settle_time 0")
    plan = prepare(endpoint, "seed")
    steps = len([s for s in plan.steps if s.kind != "restart"])
    waves = len({s.wave for s in plan.steps if s.kind != "restart"})
    # At speed 0 a rename's reboot is over before any describe sees it: no settle time to wait.
    run = playbook(endpoint, "seed-speed0", 0.0, False, args.poll_interval, 0.0, 300)
    phases = run["summary"].get("phase_seconds", {})
    inside = sum(phases.get(p, 0.0) for p in ("copy", "swap", "cleanup"))
    print("ansible-playbook (start-up, planning, copy and swap, restart, cleanup): {0:.1f} s for {1} steps = "
          "{2:.2f} s per step ({3} API calls)".format(run["wall"], steps, run["wall"] / steps, len(endpoint.calls())))
    print("  in the step modules' copy, swap and cleanup phases: {0:.1f} s = {1:.2f} s per step, including at least "
          "one poll_interval ({2:g} s) per wave ({3} waves)".format(inside, inside / steps, args.poll_interval, waves))
    # The executor alone, in this process: no Ansible, no poll sleeps; the endpoint's round trips included.
    prepare(endpoint, "seed")
    rds = endpoint.client("rds")
    started = time.perf_counter()
    for phases_run in (["copy", "swap"], ["cleanup"]):
        apply_steps(rds, SOURCE, TARGET, phases=phases_run, poll_interval=0.0, settle_time=0.0,
                    sleep=lambda seconds: None)
    alone = time.perf_counter() - started
    print("  the executor alone (two apply_steps in this process, planning included, no sleeps): {0:.2f} s = "
          "{1:.0f} ms per step ({2} API calls)".format(alone, alone / steps * 1000, len(endpoint.calls())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=0.5, help="real seconds per simulated minute (default 0.5)")
    parser.add_argument("--poll-interval", type=float, default=0.25, help="the role's poll_interval (default 0.25)")
    parser.add_argument("--rename-settle-time", type=float, default=5.0, help="the role's rename_settle_time")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="of: " + ", ".join(SCENARIOS))
    parser.add_argument("--modes", default="serial,default", help="serial, default or both")
    parser.add_argument("--no-overhead", action="store_true", help="skip the speed-0 overhead run")
    parser.add_argument("--no-data-plane", action="store_true", help="skip the windows measured on the data plane")
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be > 0 (the time model on)")
    scenarios = [s for s in args.scenarios.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    unknown = [s for s in scenarios if s not in SCENARIOS] + [m for m in modes if m not in ("serial", "default")]
    if unknown:
        parser.error("unknown scenario or mode: " + ", ".join(unknown))
    print("== Clone benchmark: ansible-playbook {0} against the embedded endpoint, time model on "
          "(1 simulated minute = {1:g} s, poll_interval {2:g} s); times in simulated minutes".format(
              PLAYBOOK, args.speed, args.poll_interval), flush=True)
    rows, failures = [], []
    started = time.time()
    with running_endpoint(speed=0.0) as endpoint:
        for scenario in scenarios:
            for mode in modes:
                try:
                    rows.append(clone(endpoint, scenario, mode == "serial", args))
                except RunFailed as failure:
                    failures.append(str(failure))
                    print("  {0} {1}: FAILED".format(scenario, mode), flush=True)
                    continue
                print("  {0} {1}: {2:.1f} s".format(scenario, mode, rows[-1]["wall"]), flush=True)
        if rows:
            print()
            print_table(rows)
            print("\n".join([
                "bound: the plan's critical path with the endpoint's durations (timeline.OPERATIONS; a swap-in starts",
                "  when its swap-out frees the name, after {0:g} min); serial: the sum of the durations in plan order."
                .format(rename_hold()),
                "x bound: achieved / bound. outside: minutes outside the step modules' copy, swap and cleanup phases",
                "  (Ansible's tasks between them, module start-ups, the restart). wall s: real seconds of the run."]))
            print("\nTargets")
            print_targets(rows, args.speed, args.poll_interval)
        if not args.no_overhead:
            try:
                overhead(endpoint, args)
            except RunFailed as failure:
                failures.append(str(failure))
    if not args.no_data_plane:
        try:
            measured_windows(args)
        except RunFailed as failure:
            failures.append(str(failure))
    for failure in failures:
        print("\nFAILED: " + failure)
    print("\n(clone benchmark: {0:.0f} s)".format(time.time() - started))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
