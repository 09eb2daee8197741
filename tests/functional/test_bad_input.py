"""Issue 17 end to end: a clone whose prepare step failed never goes live without it (a rerun without the prepare
tasks is refused, one with them finishes, discard_clone starts the copy over); a bad task file or numeric option
fails before any change (the lock's tags included), naming the option; a blank optional option is not given."""

import json

import pytest

from .helpers import ROOT, clone_vars, instances, mutating
from .test_clone import assert_refreshed, restart_command, restarts, run_clone, seeded
from .test_real_data import PREPARE_TASKS, own_tags, prepares, renames

REFUSED = "temp-mitosis-demo was copied by a run with a prepare step (tag mitosis:prepare=required)"


def failed_scrub(endpoint, playbook, tmp_path):
    """A refresh whose prepare tasks fail: the copy is made and marked, nothing moves; returns the prepare log."""
    log, prepare_log = tmp_path / "restarts.jsonl", tmp_path / "prepare.jsonl"
    failed = run_clone(playbook, log, prepare_tasks=PREPARE_TASKS, prepare_log=str(prepare_log), prepare_fail=True)
    assert failed.rc != 0 and "injected prepare failure" in failed.out, failed
    assert renames(endpoint) == [] and not endpoint.calls("DeleteDBInstance")
    assert own_tags(endpoint, "temp-mitosis-demo") == ["mitosis:prepare"]
    endpoint.clear_calls()
    return prepare_log


def test_a_failed_scrub_then_a_rerun_without_it_is_refused_and_a_rerun_with_it_finishes(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    prepare_log = failed_scrub(endpoint, playbook, tmp_path)
    log = tmp_path / "restarts.jsonl"
    for args in ([], ["--check"]):
        refused = run_clone(playbook, log, args=args)
        assert refused.rc != 0, refused
        assert REFUSED in refused.out and "discard_clone=true" in refused.out and "prepare_tasks" in refused.out
        # Not a call that changes anything, not even the lock's tag.
        assert endpoint.mutating_calls() == [], endpoint.mutating_calls()
    assert not restarts(log)
    live = instances(endpoint)
    assert {n: live[n]["DbiResourceId"] for n in before["targets"]} == before["resource_ids"]

    done = run_clone(playbook, log, prepare_tasks=PREPARE_TASKS, prepare_log=str(prepare_log))
    assert done.rc == 0, done
    assert len(prepares(prepare_log)) == 2  # the failed run's and this one's, on the same clone
    assert_refreshed(endpoint, before)
    assert not endpoint.calls("CreateDBInstanceReadReplica")  # the clone of the failed run, prepared, went live
    for name in before["targets"]:
        assert own_tags(endpoint, name) == []


def test_discard_clone_deletes_only_the_earlier_clones_then_copies_again(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    failed_scrub(endpoint, playbook, tmp_path)
    discarded = {n: i["DbiResourceId"] for n, i in instances(endpoint).items() if n.startswith("temp-")}
    log = tmp_path / "restarts.jsonl"

    check = run_clone(playbook, log, args=["--check"], discard_clone=True)
    assert check.rc == 0, check
    assert "DeleteDBInstance temp-mitosis-demo-replica  [pending: a copy an earlier run made" in check.out
    assert "discard_clone: temp-mitosis-demo, temp-mitosis-demo-replica" in check.out
    assert endpoint.mutating_calls() == []

    done = run_clone(playbook, log, discard_clone=True)
    assert done.rc == 0, done
    calls = mutating(endpoint)
    deleted = [c["identifier"] for c in calls if c["operation"] == "DeleteDBInstance"]
    assert deleted == ["temp-mitosis-demo-replica", "temp-mitosis-demo", "old-mitosis-demo-replica",
                       "old-mitosis-demo"], deleted
    first_create = next(i for i, c in enumerate(calls) if c["operation"] == "CreateDBInstanceReadReplica")
    assert first_create > 1 and calls[first_create]["identifier"] == "temp-mitosis-demo"
    assert_refreshed(endpoint, before)
    live = instances(endpoint)
    assert not {live[n]["DbiResourceId"] for n in before["targets"]} & set(discarded.values())


# --- task files -----------------------------------------------------------------------------------------------

BAD_FILES = [
    ("missing", None, "was not found"),
    ("not-yaml", "- [unclosed\n", "is not valid YAML"),
    ("a-mapping", "name: not a list\n", "is not a list of tasks"),
    ("empty", "", "holds no tasks"),
    ("unknown-module", "- name: Scrub\n  no.such.module:\n    x: 1\n",
     "task 1 (Scrub) of {path} is not a task Ansible can run: couldn't resolve module/action 'no.such.module'"),
    ("bad-keyword", "- ansible.builtin.debug:\n    msg: x\n  colour: red\n", "'colour' is not a valid attribute"),
    ("a-playbook", "- hosts: localhost\n  tasks: []\n", "task 1 of {path} is not a task Ansible can run"),
    ("in-a-block", "- block:\n    - ansible.builtin.debug:\n        msg: x\n    - nope: 1\n",
     "couldn't resolve module/action 'nope'"),
]


def bad_file(tmp_path, content):
    path = tmp_path / "tasks.yml"
    if content is not None:
        path.write_text(content)
    return path


@pytest.mark.parametrize("content, message", [f[1:] for f in BAD_FILES], ids=[f[0] for f in BAD_FILES])
@pytest.mark.parametrize("option", ["prepare_tasks", "restart_tasks"])
def test_a_bad_task_file_fails_before_any_change(endpoint, playbook, tmp_path, option, content, message):
    seeded(endpoint)
    path = bad_file(tmp_path, content)
    extra = clone_vars(**{option: str(path)})
    for args in ([], ["--check"]):
        result = playbook("playbooks/clone.yml", extra, args=args)
        assert result.rc != 0, result
        assert "{0}: ".format(option) in result.out and str(path) in result.out, result
        assert message.format(path=path) in result.out, result
        assert endpoint.mutating_calls() == []


@pytest.mark.parametrize("play, option, extra", [
    ("playbooks/rollback.yml", "restart_tasks", {"target": "mitosis-demo"}),
    ("playbooks/iam_policy.yml", "prepare_tasks", {"source": "mitosis-prod", "target": "mitosis-demo"}),
], ids=["rollback", "iam-policy"])
def test_the_other_plays_check_their_task_files_too(endpoint, playbook, tmp_path, play, option, extra):
    seeded(endpoint)
    path = tmp_path / "no-such-file.yml"
    result = playbook(play, dict(extra, **{option: str(path)}))
    assert result.rc != 0 and "{0}: the task file {1} was not found".format(option, path) in result.out, result
    assert endpoint.mutating_calls() == []


def test_a_relative_task_file_is_read_from_the_directory_ansible_playbook_runs_in(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    prepare_log = tmp_path / "prepare.jsonl"
    relative = str((ROOT / PREPARE_TASKS).relative_to(ROOT))
    done = run_clone(playbook, tmp_path / "restarts.jsonl", prepare_tasks=relative, prepare_log=str(prepare_log))
    assert done.rc == 0, done
    assert len(prepares(prepare_log)) == 1
    assert_refreshed(endpoint, before)


# --- numeric options and types ----------------------------------------------------------------------------------

MFA = {"role_arn": "arn:aws:iam::123456789012:role/mitosis-refresh",
       "mfa_serial": "arn:aws:iam::123456789012:mfa/alice", "mfa_token": "123456"}
BAD_VALUES = [
    ("poll_interval", -5, {}, "poll_interval must be between 0.01 and 3600, not -5.0"),
    ("poll_interval", 0, {}, "poll_interval must be between 0.01 and 3600, not 0.0"),
    ("wait_timeout", -1, {}, "wait_timeout must be between 1 and 604800, not -1"),
    ("wait_timeout", 0, {}, "wait_timeout must be between 1 and 604800, not 0"),
    ("rename_settle_time", -3, {}, "rename_settle_time must be between 0 and 3600, not -3.0"),
    ("report_time_scale", 0, {}, "report_time_scale must be between 0.001 and 1000000, not 0.0"),
    ("lock_max_age", -1, {}, "lock_max_age must be at least 1 second, not -1"),
    ("lock_settle_time", -1, {}, "lock_settle_time (the lock's settle_time) cannot be negative"),
    ("session_duration", 60, MFA, "session_duration (duration_seconds) must be between 900"),
    ("poll_interval", "abc", {}, "mitosis_poll_interval' is of type"),
    ("wait_timeout", "soon", {}, "mitosis_wait_timeout' is of type"),
    ("serial", "maybe", {}, "mitosis_serial' is of type"),
    ("final_snapshot", "perhaps", {}, "mitosis_final_snapshot' is of type"),
    ("copy_method", "teleport", {}, "mitosis_copy_method"),
    ("restart_command", "./no-such-restart.sh --now", {}, "restart_command: ./no-such-restart.sh was not found"),
    ("role_arn", "nope", dict(MFA, role_arn="nope"), "role_arn 'nope' is not the ARN of an IAM role"),
    ("source", 7, {}, "Source instance 7 was not found"),
]


@pytest.mark.parametrize("option, value, more, message", BAD_VALUES,
                         ids=["{0}={1}".format(v[0], v[1]) for v in BAD_VALUES])
def test_a_bad_option_value_fails_before_any_change_naming_the_option(endpoint, playbook, tmp_path, option, value,
                                                                     more, message):
    seeded(endpoint)
    result = playbook("playbooks/clone.yml", clone_vars(**dict(more, **{option: value})))
    assert result.rc != 0, result
    assert message in result.out, result
    assert "Traceback" not in result.out
    assert endpoint.mutating_calls() == []


@pytest.mark.parametrize("option, value", [("poll_interval", -5), ("wait_timeout", 0)])
def test_the_rollback_play_checks_its_numbers_before_any_change(endpoint, playbook, option, value):
    seeded(endpoint)
    result = playbook("playbooks/rollback.yml", {"target": "mitosis-demo", option: value})
    assert result.rc != 0 and "{0} must be between".format(option) in result.out, result
    assert endpoint.mutating_calls() == []


def test_a_stack_with_a_bad_option_fails_alone_before_any_change_to_it(endpoint, playbook, tmp_path):
    seeded(endpoint)
    inventory = tmp_path / "stacks.yml"
    inventory.write_text(json.dumps({"mitosis_stacks": {"vars": dict(clone_vars(), restart_command="true"), "hosts": {
        "demo": {"target": "mitosis-demo", "poll_interval": -5}}}}))
    result = playbook("playbooks/stacks.yml", args=["-i", str(inventory)])
    assert result.rc != 0 and "poll_interval must be between 0.01 and 3600, not -5.0" in result.out, result
    assert endpoint.mutating_calls() == []


def test_blank_optional_options_count_as_not_given(endpoint, playbook, tmp_path):
    """As an AWX survey sends them: every optional option an empty string."""
    before = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    blank = {name: "" for name in (
        "copy_method", "restore_snapshot", "snapshot_identifier", "master_password", "master_password_secret",
        "prepare_tasks", "discard_clone", "final_snapshot", "break_lock", "lock_max_age", "protected_tag_key",
        "protected_tag_value", "serial", "restart_tasks", "wait_timeout", "report_time_scale", "role_arn",
        "mfa_serial", "mfa_token", "session_duration")}
    done = playbook("playbooks/clone.yml", dict(clone_vars(restart_command=restart_command(log)), **blank))
    assert done.rc == 0, done
    assert_refreshed(endpoint, before)
    assert len(restarts(log)) == 1


@pytest.mark.parametrize("play", ["playbooks/clone.yml", "playbooks/rollback.yml"])
def test_a_blank_target_is_refused(endpoint, playbook, play):
    seeded(endpoint)
    result = playbook(play, {"source": "mitosis-prod", "target": ""})
    assert result.rc != 0 and "-e target=" in result.out, result
    assert endpoint.mutating_calls() == []


def test_an_aurora_clone_whose_scrub_failed_is_refused_then_discarded_and_copied_again(endpoint, playbook, tmp_path):
    from .test_aurora import TARGET, assert_refreshed as assert_aurora_refreshed, clusters, run_clone as aurora_clone, \
        seeded as aurora_seeded, tags

    before = aurora_seeded(endpoint)
    failed = aurora_clone(playbook, tmp_path, prepare_tasks=PREPARE_TASKS, prepare_log=str(tmp_path / "p.jsonl"),
                          prepare_fail=True)
    assert failed.rc != 0 and "injected prepare failure" in failed.out, failed
    temp = clusters(endpoint)["temp-" + TARGET]
    assert ("mitosis:prepare", "required") in tags(endpoint, temp["DBClusterArn"])
    endpoint.clear_calls()

    refused = aurora_clone(playbook, tmp_path)
    assert refused.rc != 0 and "temp-{0} was copied by a run with a prepare step".format(TARGET) in refused.out, refused
    assert endpoint.mutating_calls() == []

    done = aurora_clone(playbook, tmp_path, discard_clone=True)
    assert done.rc == 0, done
    deletes = [(c["operation"], c["identifier"]) for c in mutating(endpoint) if c["operation"].startswith("Delete")]
    discarded = [d for d in deletes if d[1].startswith("temp-")]
    assert discarded[-1] == ("DeleteDBCluster", "temp-" + TARGET) and len(discarded) == 4, deletes
    assert all(name.startswith(("temp-", "old-")) for _op, name in deletes)
    assert_aurora_refreshed(endpoint, before)
    assert clusters(endpoint)[TARGET]["DbClusterResourceId"] != temp["DbClusterResourceId"]
