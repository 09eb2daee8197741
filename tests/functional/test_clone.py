"""playbooks/clone.yml end to end against the embedded endpoint: the seed's example, resume from
every step boundary, a failing restart, check mode, a MySQL cascade, the snapshot path, faults."""

import collections
import json
import sys
import time

import pytest

from devtools.seed import seed_cascade, seed_cross_vpc, seed_example

from .helpers import ROOT, SEED_MUTATING_CALLS, clone_vars, instances, kill_when, mutating, shape

PROBE = "{0} {1}".format(sys.executable, ROOT / "tests" / "functional" / "restart_probe.py")
CREATES = ("CreateDBInstanceReadReplica", "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime")


def restart_command(log, code=0):
    return "{0} {1} {2}".format(PROBE, log, code)


def restarts(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def snapshot_of_state(endpoint, scenario):
    live = instances(endpoint)
    targets = [n for n in scenario["instances"] if n.startswith(scenario["target"])]
    sources = [n for n in scenario["instances"] if n not in targets]
    return {
        "targets": targets,
        "shape": shape(endpoint, targets),
        "resource_ids": {n: live[n]["DbiResourceId"] for n in targets},
        "source_shape": shape(endpoint, sources),
        "source_ids": {n: live[n]["DbiResourceId"] for n in sources},
    }


def seeded(endpoint, seed=seed_example):
    """Seed a scenario; returns the state a refresh must preserve, with the call record cleared."""
    before = snapshot_of_state(endpoint, seed(endpoint.session(), endpoint.url))
    endpoint.clear_calls()
    return before


def run_clone(playbook, log, exit_code=0, args=(), **extra):
    return playbook("playbooks/clone.yml", clone_vars(restart_command=restart_command(log, exit_code), **extra),
                    args=args)


def assert_refreshed(endpoint, before):
    live = instances(endpoint)
    assert not [n for n in live if n.startswith(("temp-", "old-"))], sorted(live)
    assert shape(endpoint, before["targets"]) == before["shape"]
    for name in before["targets"]:
        assert live[name]["DbiResourceId"] != before["resource_ids"][name], name + " was not replaced"
        assert live[name]["DBInstanceStatus"] == "available"
    assert shape(endpoint, list(before["source_ids"])) == before["source_shape"]
    assert {n: live[n]["DbiResourceId"] for n in before["source_ids"]} == before["source_ids"]


def assert_safe_history(endpoint):
    """Nothing created twice, nothing but old-* deleted."""
    created = collections.Counter(c["identifier"] for c in endpoint.calls()
                                  if c["operation"] in CREATES and not c["error"])
    assert all(count == 1 for count in created.values()), created
    deleted = [c["identifier"] for c in endpoint.calls() if c["operation"] == "DeleteDBInstance"]
    assert all(name.startswith("old-") for name in deleted), deleted


def assert_restart_between_swap_and_delete(endpoint, before, log):
    """The first successful restart saw every name on its clone and every old-* still there; no delete
    came before it, and a resumed run restarted again before its own deletes."""
    runs = [run for run in restarts(log) if run["exit"] == 0]
    assert runs, "the restart never succeeded"
    first, last = runs[0], runs[-1]
    for name in before["targets"]:
        assert first["instances"][name]["resource_id"] != before["resource_ids"][name]
        assert "old-" + name in first["instances"]
    deletes = [c["time"] for c in endpoint.calls() if c["operation"] == "DeleteDBInstance"]
    assert deletes and min(deletes) > first["time"] and max(deletes) > last["time"]


def test_seed_example_end_to_end(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert len(restarts(log)) == 1
    assert_restart_between_swap_and_delete(endpoint, before, log)
    assert_safe_history(endpoint)
    assert [(c["operation"], c["identifier"]) for c in mutating(endpoint)] == SEED_MUTATING_CALLS
    assert "Flight plan: clone mitosis-prod" in result.out
    assert "CreateDBInstanceReadReplica temp-mitosis-demo: done in" in result.out
    assert "mitosis-demo was unreachable for" in result.out
    # A check-mode run afterwards plans the next refresh without touching AWS.
    endpoint.clear_calls()
    check = playbook("playbooks/clone.yml", clone_vars(), args=["--check"])
    assert check.rc == 0 and mutating(endpoint) == []


def test_check_mode_changes_nothing(endpoint, playbook, tmp_path):
    seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log, args=["--check", "--diff"])
    assert result.rc == 0, result
    assert mutating(endpoint) == []
    assert not restarts(log)
    assert "12 of 12 steps pending." in result.out
    assert "CreateDBInstanceReadReplica temp-mitosis-demo: would run" in result.out
    assert "DeleteDBInstance old-mitosis-demo: would run" in result.out
    assert '"exists": false' in result.out or "exists: false" in result.out


# One boundary in each phase, through real runs (the planner's unit tests resume from every state, and the kills
# below land in a create, a rename and a delete): the copy's promotion, a swap-out, a delete.
BOUNDARIES = (1, 6, 9)


@pytest.mark.parametrize("index", BOUNDARIES,
                         ids=["{0}-{1}".format(i + 1, SEED_MUTATING_CALLS[i][1]) for i in BOUNDARIES])
def test_resume_after_a_failure_at_every_step_boundary(endpoint, playbook, tmp_path, index):
    operation, identifier = SEED_MUTATING_CALLS[index]
    before = seeded(endpoint)
    nth = SEED_MUTATING_CALLS[:index].count((operation, identifier)) + 1
    endpoint.add_fault(operation, code="InvalidParameterCombination", nth=nth, identifier=identifier,
                       message="injected failure at call {0}".format(index + 1))
    log = tmp_path / "restarts.jsonl"
    first = run_clone(playbook, log)
    assert first.rc != 0, first
    assert "injected failure at call {0}".format(index + 1) in first.out
    assert "run the same command again" in first.out
    second = run_clone(playbook, log)
    assert second.rc == 0, second
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    assert_restart_between_swap_and_delete(endpoint, before, log)


@pytest.mark.parametrize("kill_after,kind", [
    (("CreateDBInstanceReadReplica", "temp-mitosis-demo-replica"), "create-replica"),
    (("ModifyDBInstance", "mitosis-demo"), "rename"),
    (("DeleteDBInstance", "old-mitosis-demo-replica"), "delete"),
], ids=["during-copy", "during-swap", "during-cleanup"])
def test_resume_after_the_run_is_killed_mid_step(endpoint, playbook, tmp_path, kill_after, kind):
    before = seeded(endpoint)
    endpoint.set_speed(0.05)
    # The step the run is killed in lasts long enough for the kill to land while it runs.
    endpoint.set_duration(kind, 60, identifier=kill_after[1])
    log = tmp_path / "restarts.jsonl"
    kill_when(endpoint, "playbooks/clone.yml", clone_vars(restart_command=restart_command(log)),
              tmp_path / "extra.json",
              lambda ep: any((c["operation"], c["identifier"]) == kill_after for c in mutating(ep)))
    result = run_clone(playbook, log)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    assert_restart_between_swap_and_delete(endpoint, before, log)


def test_failing_restart_keeps_the_old_graph_until_a_restart_succeeds(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    failed = run_clone(playbook, log, 3)
    assert failed.rc != 0, failed
    assert "Nothing was lost" in failed.out and "run the same command again" in failed.out
    live = instances(endpoint)
    assert {"old-mitosis-demo", "old-mitosis-demo-replica", "mitosis-demo", "mitosis-demo-replica"} <= set(live)
    assert not [c for c in endpoint.calls() if c["operation"] == "DeleteDBInstance"]
    again = run_clone(playbook, log)
    assert again.rc == 0, again
    assert [run["exit"] for run in restarts(log)] == [3, 0]
    assert_refreshed(endpoint, before)
    assert_restart_between_swap_and_delete(endpoint, before, log)


def test_mysql_cascade_end_to_end_with_the_time_model(endpoint, playbook, tmp_path):
    before = seeded(endpoint, seed_cascade)
    endpoint.set_speed(0.01)
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    assert_restart_between_swap_and_delete(endpoint, before, log)
    # Siblings are created in one wave: the two creates follow each other, no wait between them.
    creates = [c for c in mutating(endpoint) if c["operation"] == "CreateDBInstanceReadReplica"]
    by_name = {c["identifier"]: c["seq"] for c in creates}
    assert abs(by_name["temp-mitosis-demo-r1"] - by_name["temp-mitosis-demo-r2"]) == 1
    deletes = [c["identifier"] for c in endpoint.calls() if c["operation"] == "DeleteDBInstance"]
    assert deletes.index("old-mitosis-demo-r1a") < deletes.index("old-mitosis-demo-r1") < deletes.index("old-mitosis-demo")


def test_snapshot_path_end_to_end(endpoint, playbook, tmp_path):
    before = seeded(endpoint, seed_cross_vpc)
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log, copy_method="snapshot")
    assert result.rc == 0, result
    assert "Copy method: snapshot, because copy_method=snapshot." in result.out
    operations = [c["operation"] for c in mutating(endpoint)]
    assert operations[0] == "RestoreDBInstanceFromDBSnapshot" and "PromoteReadReplica" not in operations
    restore = mutating(endpoint)[0]
    assert restore["params"]["DBSnapshotIdentifier"] == "mitosis-prod-manual-2"
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)


def test_different_vpcs_take_a_point_in_time_copy_end_to_end(endpoint, playbook, tmp_path):
    before = seeded(endpoint, seed_cross_vpc)
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log)
    assert result.rc == 0, result
    assert "Copy method: point_in_time, because source and target are in different VPCs" in result.out
    restore = mutating(endpoint)[0]
    assert restore["operation"] == "RestoreDBInstanceToPointInTime"
    assert restore["params"]["SourceDBInstanceIdentifier"] == "mitosis-prod"
    assert restore["params"]["UseLatestRestorableTime"] in (True, "true")
    assert "PromoteReadReplica" not in [c["operation"] for c in mutating(endpoint)]
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)


def test_throttling_is_retried(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    endpoint.add_fault("DescribeDBInstances", code="Throttling", nth=3, times=3, message="Rate exceeded")
    endpoint.add_fault("ModifyDBInstance", code="Throttling", nth=1, times=2, message="Rate exceeded")
    result = run_clone(playbook, tmp_path / "restarts.jsonl")
    assert result.rc == 0, result
    assert len([c for c in endpoint.calls() if c["error"] == "Throttling"]) == 5
    assert_refreshed(endpoint, before)


def test_failed_status_stops_the_run_with_the_instance_and_how_to_resume(endpoint, playbook, tmp_path):
    seed_example(endpoint.session(), endpoint.url)
    endpoint.add_fault("CreateDBInstanceReadReplica", identifier="temp-mitosis-demo-replica", status="failed")
    result = playbook("playbooks/clone.yml", clone_vars())
    assert result.rc != 0, result
    assert "temp-mitosis-demo-replica is in status 'failed'" in result.out
    assert "run the same command again" in result.out
    assert not [c for c in endpoint.calls() if c["operation"] == "DeleteDBInstance"]


def test_expired_credentials_say_how_to_resume(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    endpoint.add_fault("PromoteReadReplica", code="ExpiredToken", message="The security token included in the "
                       "request is expired", http_status=400)
    result = playbook("playbooks/clone.yml", clone_vars())
    assert result.rc != 0, result
    assert "credentials expired" in result.out
    again = playbook("playbooks/clone.yml", clone_vars())
    assert again.rc == 0, again
    assert_refreshed(endpoint, before)


def test_iam_policy_playbook_writes_the_policy(endpoint, playbook, tmp_path):
    seeded(endpoint)
    dest = tmp_path / "policy.json"
    result = playbook("playbooks/iam_policy.yml", {"source": "mitosis-prod", "target": "mitosis-demo",
                                                   "dest": str(dest)})
    assert result.rc == 0, result
    policy = json.loads(dest.read_text())
    assert policy["Version"] == "2012-10-17"
    assert "Lock on mitosis-demo: free." in result.out
    assert endpoint.mutating_calls() == []


def test_include_role_with_restart_tasks_and_a_users_own_handler(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    marker = tmp_path / "restart.log"
    result = playbook("tests/functional/playbooks/include_role.yml", {"marker": str(marker)})
    assert result.rc == 0, result
    assert sorted(marker.read_text().splitlines()) == ["restart tasks", "user handler"]
    assert_refreshed(endpoint, before)
