"""playbooks/clone.yml end to end on what real stacks have (issue 9): a source whose master password Secrets
Manager manages (no read replica possible: a point-in-time copy), a target with a managed secret (the clone gets
its own), the clone's master password set from the run's options (never printed, even at -vvv), the user's
prepare tasks before any name moves (run once, resumed by a tag), and the point-in-time and snapshot paths
resumed after a kill."""

import collections
import json
import time

import pytest

from devtools.seed import seed_cross_vpc, seed_example, seed_managed

from .helpers import ROOT, clone_vars, instances, kill_when, mutating
from .test_clone import (assert_refreshed, assert_restart_between_swap_and_delete, restart_command, restarts, run_clone,
                         seeded)

PREPARE_TASKS = str(ROOT / "tests" / "functional" / "playbooks" / "prepare_record.yml")
CREATES = ("CreateDBInstanceReadReplica", "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime")
# Valid MySQL master passwords (8 to 41 printable characters, none of / " @ or a space), unlike anything else in a run.
PASSWORD = "Clone-Pass-7f3kQ9zW"
SECRET_PASSWORD = "Sm-Held-Pass-42xRv8"


def renames(endpoint):
    return [c for c in mutating(endpoint) if c["operation"] == "ModifyDBInstance" and c["new_identifier"]]


def assert_nothing_created_twice(endpoint):
    """Something was created, nothing twice (whatever the create call); something deleted, nothing but old-*."""
    made = collections.Counter(c["identifier"] for c in endpoint.calls() if c["operation"] in CREATES and not c["error"])
    assert made and all(name and count == 1 for name, count in made.items()), made
    deleted = [c["identifier"] for c in endpoint.calls() if c["operation"] == "DeleteDBInstance"]
    assert deleted and all(name.startswith("old-") for name in deleted), deleted


def own_tags(endpoint, name):
    rds = endpoint.client("rds")
    arn = instances(endpoint)[name]["DBInstanceArn"]
    tags = rds.list_tags_for_resource(ResourceName=arn)["TagList"]
    return [t["Key"] for t in tags if t["Key"].startswith("mitosis:")]


def failure_message(out, *needles):
    """The first line of the output that holds every needle (ansible prints a failed task's msg on one line)."""
    lines = [line for line in out.splitlines() if all(needle in line for needle in needles)]
    assert lines, "no line with {0!r} in:\n{1}".format(needles, out[-4000:])
    return lines[0]


def prepares(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


# 1. A source whose master password Secrets Manager manages.

def test_managed_source_is_copied_to_the_latest_restorable_time(endpoint, playbook, tmp_path):
    before = seeded(endpoint, seed_managed)
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log)
    assert result.rc == 0, result
    assert ("Copy method: point_in_time, because mitosis-prod manages its master password in Secrets Manager, "
            "and RDS creates no read replica of such a source.") in result.out
    first = mutating(endpoint)[0]
    assert first["operation"] == "RestoreDBInstanceToPointInTime" and not first["error"], first
    assert first["params"]["SourceDBInstanceIdentifier"] == "mitosis-prod"
    assert first["params"]["TargetDBInstanceIdentifier"] == "temp-mitosis-demo"
    assert first["params"]["UseLatestRestorableTime"] in (True, "true")
    operations = [c["operation"] for c in mutating(endpoint)]
    assert "PromoteReadReplica" not in operations
    # No replica of the managed source was ever asked for (RDS would refuse it).
    assert not [c for c in endpoint.calls("CreateDBInstanceReadReplica") if c["source"] == "mitosis-prod"]
    assert_refreshed(endpoint, before)
    assert_nothing_created_twice(endpoint)
    assert_restart_between_swap_and_delete(endpoint, before, log)
    assert [c for c in mutating(endpoint) if c["error"]] == []


def test_replica_of_a_managed_source_fails_before_any_change(endpoint, playbook, tmp_path):
    before = seeded(endpoint, seed_managed)
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log, copy_method="replica")
    assert result.rc != 0, result
    assert mutating(endpoint) == []
    assert not restarts(log)
    message = failure_message(result.out, "copy_method=replica cannot work")
    assert "Secrets Manager" in message and "copy_method=point_in_time" in message, message
    live = instances(endpoint)
    assert {n: live[n]["DbiResourceId"] for n in before["resource_ids"]} == before["resource_ids"]


# 2. A target whose master password Secrets Manager manages.

def test_managed_target_gets_a_new_managed_secret_once_its_replicas_exist(endpoint, playbook, tmp_path):
    seed = seed_managed(endpoint.session(), endpoint.url)
    before = seeded(endpoint, lambda session, url: seed)
    old_secret = instances(endpoint)["mitosis-demo"]["MasterUserSecret"]
    assert old_secret["KmsKeyId"] == seed["secrets"]["demo_kms_key"]
    secrets = endpoint.client("secretsmanager")
    secrets.get_secret_value(SecretId=old_secret["SecretArn"])  # it exists before the run
    # Time model on, the replica's creation slow: the managed secret must wait for it to complete.
    speed, replica_minutes = 0.02, 50
    endpoint.set_speed(speed)
    endpoint.set_duration("create-replica", replica_minutes, identifier="temp-mitosis-demo-replica")
    log = tmp_path / "restarts.jsonl"
    result = playbook("playbooks/clone.yml", clone_vars(restart_command=restart_command(log)),
                      env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    assert result.rc == 0, result

    new_secret = instances(endpoint)["mitosis-demo"].get("MasterUserSecret")
    assert new_secret and new_secret["SecretArn"] != old_secret["SecretArn"], new_secret
    assert new_secret["KmsKeyId"] == seed["secrets"]["demo_kms_key"]
    assert new_secret["SecretStatus"] == "active"
    assert json.loads(secrets.get_secret_value(SecretId=new_secret["SecretArn"])["SecretString"])["password"]
    # The old secret went with the old instance.
    with pytest.raises(secrets.exceptions.ResourceNotFoundException):
        secrets.get_secret_value(SecretId=old_secret["SecretArn"])
    # The summary names the new secret, where the application must now read the password.
    assert ("mitosis-demo's master password is in a new managed secret (the application must read it): "
            + new_secret["SecretArn"]) in result.out
    # And so does mitosis_clone.secrets, published with set_stats for AWX workflows.
    stats = result.out[result.out.index("CUSTOM STATS"):]
    assert '"mitosis-demo": "{0}"'.format(new_secret["SecretArn"]) in stats, stats[:3000]

    calls = mutating(endpoint)
    manage = [c for c in calls if c["operation"] == "ModifyDBInstance" and "ManageMasterUserPassword" in c["params"]]
    assert [(c["identifier"], c["error"]) for c in manage] == [("temp-mitosis-demo", None)], manage
    create = [c for c in calls if c["operation"] == "CreateDBInstanceReadReplica"
              and c["identifier"] == "temp-mitosis-demo-replica"]
    assert len(create) == 1 and not create[0]["error"]
    # After the replica's creation completed (it lasts replica_minutes simulated minutes), not merely started.
    assert manage[0]["time"] >= create[0]["time"] + replica_minutes * speed * 0.95, (create[0], manage[0])
    assert manage[0]["time"] < renames(endpoint)[0]["time"]
    assert_refreshed(endpoint, before)
    assert_nothing_created_twice(endpoint)


# 3. The clone's master password from the run's options.

def assert_password_set_before_the_swap(endpoint, resets=(1,)):
    """The password was set (a number of times in `resets`) on temp-mitosis-demo, then tagged once, all before
    the first rename."""
    calls = mutating(endpoint)
    sent = [c for c in calls if c["operation"] == "ModifyDBInstance" and "MasterUserPassword" in c["params"]]
    assert len(sent) in resets, sent
    assert {(c["identifier"], c["error"]) for c in sent} == {("temp-mitosis-demo", None)}, sent
    tagged = [c for c in calls if c["operation"] == "AddTagsToResource" and c["identifier"] == "temp-mitosis-demo"
              and any(t["Key"] == "mitosis:credentials" for t in c["params"]["Tags"])]
    assert len(tagged) == 1, tagged
    assert calls.index(sent[-1]) < calls.index(tagged[0]) < calls.index(renames(endpoint)[0])


def test_master_password_is_set_on_the_clone_before_the_swap_and_never_printed(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    log, prepare_log = tmp_path / "restarts.jsonl", tmp_path / "prepare.jsonl"
    assert not endpoint.check_password("mitosis-demo", PASSWORD)
    result = run_clone(playbook, log, args=["-vvv"], master_password=PASSWORD, prepare_tasks=PREPARE_TASKS,
                       prepare_log=str(prepare_log))
    assert result.rc == 0, result
    # -vvv prints every module's arguments: the password's is masked, and it shows nowhere else.
    assert '"master_password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in result.out
    assert PASSWORD not in result.out
    assert "Warning: The clone keeps" not in result.out
    assert endpoint.check_password("mitosis-demo", PASSWORD)
    assert_password_set_before_the_swap(endpoint)
    # The prepare tasks get the password the run was given, to reach the clone.
    [prepared] = prepares(prepare_log)
    assert prepared["prepare"]["master_password"] == PASSWORD
    assert PASSWORD not in json.dumps(endpoint.calls())
    assert_refreshed(endpoint, before)  # the tags compared include the run's own: none is left
    assert_nothing_created_twice(endpoint)


def test_master_password_secret_is_set_on_the_clone_and_never_printed(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    secret = endpoint.client("secretsmanager").create_secret(
        Name="mitosis-demo/master", SecretString=json.dumps({"username": "admin", "password": SECRET_PASSWORD}))
    endpoint.clear_calls()
    # Time model on, the password's reset slow: no name moves before it completed.
    speed, reset_minutes = 0.02, 50
    endpoint.set_speed(speed)
    endpoint.set_duration("reset-credentials", reset_minutes, identifier="temp-mitosis-demo")
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log, args=["-vvv"], master_password_secret=secret["ARN"])
    assert result.rc == 0, result
    reset = [c for c in mutating(endpoint) if "MasterUserPassword" in c["params"]][0]
    assert renames(endpoint)[0]["time"] >= reset["time"] + reset_minutes * speed * 0.95
    assert '"master_password_secret": "{0}"'.format(secret["ARN"]) in result.out  # -vvv shows the arguments
    assert SECRET_PASSWORD not in result.out
    assert endpoint.check_password("mitosis-demo", SECRET_PASSWORD)
    assert_password_set_before_the_swap(endpoint)
    assert [c["params"]["SecretId"] for c in endpoint.calls("GetSecretValue")] != []
    assert SECRET_PASSWORD not in json.dumps(endpoint.calls())
    assert_refreshed(endpoint, before)
    assert_nothing_created_twice(endpoint)


def test_no_password_option_warns_that_the_clone_keeps_the_sources_password(endpoint, playbook, tmp_path):
    seeded(endpoint)
    result = run_clone(playbook, tmp_path / "restarts.jsonl", args=["--check"])
    assert result.rc == 0, result
    assert "Warning: The clone keeps mitosis-prod's master password" in result.out
    assert mutating(endpoint) == []


def test_master_password_on_a_managed_target_fails_before_any_change(endpoint, playbook, tmp_path):
    seeded(endpoint, seed_managed)
    result = run_clone(playbook, tmp_path / "restarts.jsonl", args=["-vvv"], master_password=PASSWORD)
    assert result.rc != 0, result
    assert mutating(endpoint) == []
    message = failure_message(result.out, "manages its master password in Secrets Manager")
    assert "mitosis-demo" in message and "master_password cannot apply" in message, message
    assert PASSWORD not in result.out


def test_a_master_password_rds_would_refuse_fails_before_any_change_without_showing_it(endpoint, playbook, tmp_path):
    seeded(endpoint)
    refused = "Has@Sign-9xQ2"
    result = run_clone(playbook, tmp_path / "restarts.jsonl", args=["-vvv"], master_password=refused)
    assert result.rc != 0, result
    assert mutating(endpoint) == []
    message = failure_message(result.out, "The master password from master_password")
    assert "contains a character RDS refuses" in message, message
    assert refused not in result.out


@pytest.mark.parametrize("stored,expected", [
    (json.dumps({"username": "admin", "pass": SECRET_PASSWORD}), 'has no "password" key'),
    (None, "GetSecretValue on mitosis-demo/master failed"),
], ids=["without-password-key", "missing"])
def test_an_unusable_master_password_secret_fails_before_any_change(endpoint, playbook, tmp_path, stored, expected):
    seeded(endpoint)
    if stored is not None:
        endpoint.client("secretsmanager").create_secret(Name="mitosis-demo/master", SecretString=stored)
        endpoint.clear_calls()
    result = run_clone(playbook, tmp_path / "restarts.jsonl", args=["-vvv"],
                       master_password_secret="mitosis-demo/master")
    assert result.rc != 0, result
    assert mutating(endpoint) == []
    message = failure_message(result.out, "stopped in task 'Plan the clone from the live state'", expected)
    assert "mitosis-demo/master" in message, message
    assert SECRET_PASSWORD not in result.out


# 4. The user's prepare tasks.

def assert_prepared_before_any_name_moved(endpoint, record, before):
    """The prepare tasks saw the whole copy under its temp- names, and the target's names untouched."""
    prepare = record["prepare"]
    described = record["described"]
    assert prepare["identifier"] == "temp-mitosis-demo"
    assert prepare["address"] == described["temp-mitosis-demo"]["address"]
    assert prepare["port"] == described["temp-mitosis-demo"]["port"] == before["shape"]["mitosis-demo"]["port"]
    assert prepare["engine"] == "mysql" and prepare["master_username"]
    assert {i["identifier"] for i in prepare["instances"]} == {"temp-mitosis-demo", "temp-mitosis-demo-replica"}
    for name in before["targets"]:
        assert described[name]["resource_id"] == before["resource_ids"][name]
        assert "old-" + name not in described
    assert described["temp-mitosis-demo-replica"]["status"] == "available"
    moved = renames(endpoint)
    assert moved and record["time"] < min(c["time"] for c in moved)
    copy_calls = [c for c in mutating(endpoint) if c["time"] < moved[0]["time"]]
    assert max(c["time"] for c in copy_calls if c["operation"] != "AddTagsToResource") < record["time"]


def test_prepare_tasks_run_once_on_the_clone_before_any_name_moves(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    log, prepare_log = tmp_path / "restarts.jsonl", tmp_path / "prepare.jsonl"
    result = run_clone(playbook, log, prepare_tasks=PREPARE_TASKS, prepare_log=str(prepare_log))
    assert result.rc == 0, result
    records = prepares(prepare_log)
    assert len(records) == 1, records
    assert_prepared_before_any_name_moved(endpoint, records[0], before)
    assert "master_password" not in records[0]["prepare"]
    assert_refreshed(endpoint, before)
    assert_nothing_created_twice(endpoint)
    for name in before["targets"]:
        assert own_tags(endpoint, name) == []


def test_the_flight_plan_shows_the_prepare_step_and_the_swap_after_it(endpoint, playbook, tmp_path):
    seeded(endpoint)
    prepare_log = tmp_path / "prepare.jsonl"
    result = run_clone(playbook, tmp_path / "restarts.jsonl", args=["--check"], prepare_tasks=PREPARE_TASKS,
                       prepare_log=str(prepare_log))
    assert result.rc == 0, result
    out = result.out
    assert "Prepare temp-mitosis-demo  [pending]" in out
    # The copy call stops before the prepare step; the swap's calls follow the prepare tasks' line.
    assert out.index("CreateDBInstanceReadReplica temp-mitosis-demo: would run") < \
        out.index("Would run {0} on temp-mitosis-demo".format(PREPARE_TASKS)) < \
        out.index("AddTagsToResource temp-mitosis-demo: would run") < \
        out.index("ModifyDBInstance mitosis-demo: would run")
    assert not prepare_log.exists() and mutating(endpoint) == []


def test_failing_prepare_tasks_move_no_name_and_run_again_on_the_next_run(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    log, prepare_log = tmp_path / "restarts.jsonl", tmp_path / "prepare.jsonl"
    options = dict(prepare_tasks=PREPARE_TASKS, prepare_log=str(prepare_log))
    failed = run_clone(playbook, log, prepare_fail=True, **options)
    assert failed.rc != 0, failed
    assert "injected prepare failure" in failed.out
    assert len(prepares(prepare_log)) == 1
    assert renames(endpoint) == []
    live = instances(endpoint)
    assert {n: live[n]["DbiResourceId"] for n in before["targets"]} == before["resource_ids"]
    assert {"temp-mitosis-demo", "temp-mitosis-demo-replica"} <= set(live)
    assert not [n for n in live if n.startswith("old-")]
    assert "mitosis:prepared" not in own_tags(endpoint, "temp-mitosis-demo")
    assert not restarts(log)

    again = run_clone(playbook, log, prepare_fail=False, **options)
    assert again.rc == 0, again
    records = prepares(prepare_log)
    assert len(records) == 2, records
    assert_prepared_before_any_name_moved(endpoint, records[1], before)
    assert_refreshed(endpoint, before)
    assert_nothing_created_twice(endpoint)
    for name in before["targets"]:
        assert own_tags(endpoint, name) == []


@pytest.mark.parametrize("fault,moved", [
    (("mitosis-demo-replica", 1), False),       # its move aside fails: no name moves
    (("temp-mitosis-demo-replica", 2), True),   # its move in (its 2nd modify) fails: the swap is half done
], ids=["nothing-moved", "half-swapped"])
def test_prepare_tasks_are_not_run_again_when_the_swap_is_resumed(endpoint, playbook, tmp_path, fault, moved):
    before = seeded(endpoint)
    endpoint.add_fault("ModifyDBInstance", code="InvalidParameterValue", identifier=fault[0], nth=fault[1],
                       message="injected swap failure on " + fault[0])
    log, prepare_log = tmp_path / "restarts.jsonl", tmp_path / "prepare.jsonl"
    options = dict(prepare_tasks=PREPARE_TASKS, prepare_log=str(prepare_log))
    failed = run_clone(playbook, log, **options)
    assert failed.rc != 0, failed
    assert "injected swap failure on " + fault[0] in failed.out
    assert [f["spent"] for f in endpoint.faults()] == [True]
    assert len(prepares(prepare_log)) == 1
    assert not restarts(log)
    live = instances(endpoint)
    if moved:
        assert "old-mitosis-demo-replica" in live and "temp-mitosis-demo-replica" in live
    else:  # only the tag on the clone says that the prepare tasks succeeded
        assert renames(endpoint) and all(c["error"] for c in renames(endpoint))
        assert {n: live[n]["DbiResourceId"] for n in before["targets"]} == before["resource_ids"]
        assert own_tags(endpoint, "temp-mitosis-demo") == ["mitosis:prepare", "mitosis:prepared"]

    again = run_clone(playbook, log, **options)
    assert again.rc == 0, again
    assert len(prepares(prepare_log)) == 1, prepares(prepare_log)
    assert_refreshed(endpoint, before)
    assert_nothing_created_twice(endpoint)
    assert_restart_between_swap_and_delete(endpoint, before, log)
    for name in before["targets"]:
        assert own_tags(endpoint, name) == []


# 5. The point-in-time and snapshot paths resume after a kill -9.

PIT, SNAPSHOT = "RestoreDBInstanceToPointInTime", "RestoreDBInstanceFromDBSnapshot"
# The kills of test_clone.py on other copy methods and steps (the managed secret's resume: the unit tests).
KILLS = {
    # id: (seed, extra vars, (duration kind, instance) made slow, the call after which the run is killed
    #      (operation, instance, keys its parameters have), the first mutating call)
    "point-in-time-during-copy": (seed_managed, {}, ("restore-point-in-time", "temp-mitosis-demo"),
                                  (PIT, "temp-mitosis-demo"), PIT),
    "point-in-time-during-swap": (seed_managed, {"copy_method": "point_in_time"}, ("rename", "mitosis-demo"),
                                  ("ModifyDBInstance", "mitosis-demo", "NewDBInstanceIdentifier"), PIT),
    "snapshot-during-copy": (seed_cross_vpc, {"copy_method": "snapshot"}, ("restore", "temp-mitosis-demo"),
                             (SNAPSHOT, "temp-mitosis-demo"), SNAPSHOT),
    "replica-during-password-reset": (seed_example, {"master_password": PASSWORD},
                                      ("reset-credentials", "temp-mitosis-demo"),
                                      ("ModifyDBInstance", "temp-mitosis-demo", "MasterUserPassword"),
                                      "CreateDBInstanceReadReplica"),
}


def reached(call, kill_after):
    operation, identifier = kill_after[:2]
    return (call["operation"] == operation and call["identifier"] == identifier and not call["error"]
            and all(key in call["params"] for key in kill_after[2:]))


@pytest.mark.parametrize("case", list(KILLS))
def test_resume_after_the_run_is_killed_mid_step(endpoint, playbook, tmp_path, case):
    seed, extra, (kind, slow), kill_after, first_operation = KILLS[case]
    before = seeded(endpoint, seed)
    endpoint.set_speed(0.05)
    # The step the run is killed in lasts long enough (3 s) for the kill to land while it runs.
    endpoint.set_duration(kind, 60, identifier=slow)
    log = tmp_path / "restarts.jsonl"
    kill_when(endpoint, "playbooks/clone.yml", clone_vars(restart_command=restart_command(log), **extra),
              tmp_path / "extra.json", lambda ep: any(reached(c, kill_after) for c in mutating(ep)))
    # Killed while that step still ran: its instance was not available.
    assert instances(endpoint)[kill_after[1]]["DBInstanceStatus"] != "available"
    assert not restarts(log)

    result = run_clone(playbook, log, **extra)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert_nothing_created_twice(endpoint)
    assert_restart_between_swap_and_delete(endpoint, before, log)
    calls = mutating(endpoint)
    assert calls[0]["operation"] == first_operation
    if first_operation == SNAPSHOT:
        assert calls[0]["params"]["DBSnapshotIdentifier"] == "mitosis-prod-manual-2"
    if first_operation != "CreateDBInstanceReadReplica":
        assert "PromoteReadReplica" not in [c["operation"] for c in calls]
    if seed is seed_managed:
        secret = instances(endpoint)["mitosis-demo"].get("MasterUserSecret")
        assert secret and secret["SecretStatus"] == "active"
        manage = [c for c in calls if "ManageMasterUserPassword" in c["params"] and not c["error"]]
        assert len(manage) == 1, manage
        # The resumed run's summary still names the new secret, made by the run that was killed or by itself.
        assert ("mitosis-demo's master password is in a new managed secret (the application must read it): "
                + secret["SecretArn"]) in result.out
    if extra.get("master_password"):
        assert endpoint.check_password("mitosis-demo", PASSWORD)
        # The reset may be sent again on the resumed run (no tag said it was done); never after a name moved.
        assert_password_set_before_the_swap(endpoint, resets=(1, 2))
