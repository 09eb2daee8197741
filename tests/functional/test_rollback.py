"""playbooks/rollback.yml end to end against the embedded endpoint: after a refresh whose restart failed, the
original instances come back under their names (same DbiResourceId), the application restarts, the rejected
clones are deleted and nothing else; an interrupted rollback resumes; a refresh started afterwards is a fresh one."""

import json
import time

from .helpers import clone_vars, instances, kill_when, mutating, shape
from .test_clone import restart_command, restarts, run_clone, seeded

NAMES = ["mitosis-demo", "mitosis-demo-replica"]


def run_rollback(playbook, log, args=(), **extra):
    options = dict(clone_vars(restart_command=restart_command(log)), **extra)
    del options["source"]
    return playbook("playbooks/rollback.yml", options, args=args)


def refreshed_with_a_failing_restart(endpoint, playbook, log):
    """A refresh stopped by its restart: the clones hold the names, old-* still exist."""
    before = seeded(endpoint)
    failed = run_clone(playbook, log, 3)
    assert failed.rc != 0, failed
    live = instances(endpoint)
    assert {"old-mitosis-demo", "old-mitosis-demo-replica"} <= set(live)
    return before


def assert_rolled_back(endpoint, before):
    live = instances(endpoint)
    assert {n: live[n]["DbiResourceId"] for n in NAMES} == {n: before["resource_ids"][n] for n in NAMES}
    assert not [n for n in live if n.startswith(("temp-", "old-", "rej-"))], sorted(live)
    assert shape(endpoint, NAMES) == before["shape"]
    assert all(live[n]["DBInstanceStatus"] == "available" for n in NAMES)


def test_a_failed_restart_is_rolled_back_to_the_original_instances(endpoint, playbook, tmp_path):
    log = tmp_path / "restarts.jsonl"
    before = refreshed_with_a_failing_restart(endpoint, playbook, log)
    endpoint.clear_calls()
    check = run_rollback(playbook, log, args=["--check"])
    assert check.rc == 0, check
    assert "Flight plan: roll back the refresh of the graph of mitosis-demo" in check.out
    assert mutating(endpoint) == []
    result = run_rollback(playbook, log)
    assert result.rc == 0, result
    assert "Did the rollback of the refresh of mitosis-demo" in result.out
    assert_rolled_back(endpoint, before)
    calls = mutating(endpoint)
    deletes = [c["identifier"] for c in calls if c["operation"] == "DeleteDBInstance"]
    assert deletes == ["rej-mitosis-demo-replica", "rej-mitosis-demo"]
    # The restart ran with every name on its original instance, before any delete.
    run = restarts(log)[-1]
    assert run["exit"] == 0
    assert {n: run["instances"][n]["resource_id"] for n in NAMES} == {n: before["resource_ids"][n] for n in NAMES}
    assert run["time"] < min(c["time"] for c in calls if c["operation"] == "DeleteDBInstance")
    # A refresh started afterwards is a fresh one: it copies again.
    endpoint.clear_calls()
    check = run_clone(playbook, log, args=["--check"])
    assert check.rc == 0 and "phase: copy" in check.out, check


def test_an_interrupted_rollback_resumes_and_a_refresh_waits_for_it(endpoint, playbook, tmp_path):
    log = tmp_path / "restarts.jsonl"
    before = refreshed_with_a_failing_restart(endpoint, playbook, log)
    endpoint.set_speed(0.05)
    endpoint.set_duration("rename", 60, identifier="old-mitosis-demo")
    options = dict(clone_vars(restart_command=restart_command(log)))
    del options["source"]
    kill_when(endpoint, "playbooks/rollback.yml", options, tmp_path / "extra.json",
              lambda ep: any((c["operation"], c["identifier"]) == ("ModifyDBInstance", "old-mitosis-demo")
                             for c in mutating(ep)))
    # Mid-rollback, a refresh refuses to start and says how to finish the rollback.
    refused = run_clone(playbook, log, args=["--check"])
    assert refused.rc != 0 and "A rollback of mitosis-demo is in progress" in refused.out, refused
    endpoint.clear_durations()
    endpoint.set_speed(0.0)
    result = run_rollback(playbook, log)
    assert result.rc == 0, result
    assert_rolled_back(endpoint, before)
    renames = [(c["identifier"], c["new_identifier"]) for c in endpoint.calls()
               if c["operation"] == "ModifyDBInstance" and c["new_identifier"] and not c["error"]]
    assert renames.count(("old-mitosis-demo", "mitosis-demo")) == 1


def test_nothing_to_roll_back_after_a_finished_refresh(endpoint, playbook, tmp_path):
    log = tmp_path / "restarts.jsonl"
    seeded(endpoint)
    assert run_clone(playbook, log).rc == 0
    endpoint.clear_calls()
    result = run_rollback(playbook, log)
    assert result.rc != 0 and "Nothing to roll back" in result.out, result
    assert mutating(endpoint) == []
