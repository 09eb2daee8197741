"""One run per target, end to end: two runs started together on one target (exactly one refreshes, the other is
refused naming the lock, nothing is created twice), a lock left by a run that is gone (refused, then broken with
break_lock; or stale by age), check mode shows the lock and takes none, and a source that another run is
refreshing is refused."""

import json
import os
import subprocess
import time

from .helpers import ANSIBLE_PLAYBOOK, ROOT, clone_vars, instances, kill_when
from .test_clone import assert_refreshed, assert_safe_history, restart_command, run_clone, seeded

LOCK_PREFIX = "mitosis:lock:"


def lock_tags(endpoint, names=("mitosis-demo", "temp-mitosis-demo", "old-mitosis-demo", "rej-mitosis-demo")):
    rds = endpoint.client("rds")
    live = instances(endpoint)
    return {t["Key"]: t["Value"] for n in names if n in live
            for t in rds.list_tags_for_resource(ResourceName=live[n]["DBInstanceArn"])["TagList"]
            if t["Key"].startswith(LOCK_PREFIX)}


def plant_lock(endpoint, run_id, started, host="gone-host"):
    """The lock of a run on another machine that is gone (its start time as given)."""
    rds = endpoint.client("rds")
    arn = instances(endpoint)["mitosis-demo"]["DBInstanceArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{
        "Key": LOCK_PREFIX + run_id, "Value": "started={0} user=awx host={1} pid=4242".format(started, host)}])


def test_two_runs_started_together_one_refreshes_and_the_other_is_refused(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    endpoint.set_speed(0.02)
    runs = []
    for name in ("a", "b"):
        log = tmp_path / (name + ".jsonl")
        extra = tmp_path / (name + ".json")
        extra.write_text(json.dumps(clone_vars(restart_command=restart_command(log), lock_settle_time=3)))
        out = open(tmp_path / (name + ".out"), "w")
        runs.append((subprocess.Popen([ANSIBLE_PLAYBOOK, "playbooks/clone.yml", "-e", "@" + str(extra)], cwd=ROOT,
                                      env=dict(os.environ, **endpoint.env, ANSIBLE_NOCOLOR="1"), stdout=out,
                                      stderr=subprocess.STDOUT), out, tmp_path / (name + ".out")))
    codes = []
    for process, out, path in runs:
        codes.append(process.wait(timeout=300))
        out.close()
    outputs = [path.read_text() for _process, _out, path in runs]
    assert sorted(codes) == [0, 2], (codes, [o[-3000:] for o in outputs])
    refused = outputs[codes.index(2)]
    assert "is locked by run" in refused and "break_lock" in refused, refused[-3000:]
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    # The winner released its lock at its end.
    assert lock_tags(endpoint) == {}


def test_a_lock_of_a_run_that_is_gone_is_refused_then_broken_and_the_run_goes_on(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    plant_lock(endpoint, "0123456789ab", now)
    log = tmp_path / "restarts.jsonl"
    refused = run_clone(playbook, log)
    assert refused.rc != 0 and "is locked by run 0123456789ab" in refused.out and "gone-host" in refused.out
    assert [c for c in endpoint.mutating_calls() if not c["operation"].endswith("TagsFromResource")
            and c["operation"] != "AddTagsToResource"] == []
    check = run_clone(playbook, log, args=["--check"])
    assert check.rc == 0 and "Target mitosis-demo is locked by run 0123456789ab" in check.out, check
    result = run_clone(playbook, log, break_lock=True)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert lock_tags(endpoint) == {}


def test_a_lock_older_than_lock_max_age_counts_as_stale(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    plant_lock(endpoint, "ba9876543210", "2026-01-01T00:00:00Z")
    result = run_clone(playbook, tmp_path / "restarts.jsonl")
    assert result.rc == 0, result
    assert "is stale" in result.out or "stale" in result.err
    assert_refreshed(endpoint, before)
    assert lock_tags(endpoint) == {}


def test_check_mode_takes_no_lock(endpoint, playbook, tmp_path):
    seeded(endpoint)
    result = run_clone(playbook, tmp_path / "restarts.jsonl", args=["--check"])
    assert result.rc == 0, result
    assert "Would take the lock on mitosis-demo for run" in result.out
    assert endpoint.mutating_calls() == []


def test_a_source_that_another_run_is_refreshing_is_refused(endpoint, playbook, tmp_path):
    seeded(endpoint)
    endpoint.client("rds").create_db_instance(
        DBInstanceIdentifier="sales-demo", Engine="mysql", EngineVersion="8.0.35", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password1", BackupRetentionPeriod=1)
    endpoint.clear_calls()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    plant_lock(endpoint, "00aa11bb22cc", now)
    # mitosis-demo-replica lives in the graph of mitosis-demo, which the planted run is refreshing.
    result = run_clone(playbook, tmp_path / "restarts.jsonl", source="mitosis-demo-replica", target="sales-demo")
    assert result.rc != 0, result
    assert "Source mitosis-demo-replica is in the graph of mitosis-demo, which another run is refreshing" in result.out
    assert [c for c in endpoint.mutating_calls() if c["operation"] != "AddTagsToResource"] == []


def test_a_run_killed_on_another_machine_is_resumed_with_break_lock(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    endpoint.set_speed(0.05)
    endpoint.set_duration("create-replica", 60, identifier="temp-mitosis-demo-replica")
    log = tmp_path / "restarts.jsonl"
    kill_when(endpoint, "playbooks/clone.yml", clone_vars(restart_command=restart_command(log)),
              tmp_path / "extra.json",
              lambda ep: any(c["identifier"] == "temp-mitosis-demo-replica" for c in ep.mutating_calls()))
    # As if that run had been an AWX job on a machine now gone: its process cannot be checked from here.
    [(key, value)] = lock_tags(endpoint).items()
    rds = endpoint.client("rds")
    arn = instances(endpoint)["mitosis-demo"]["DBInstanceArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": key, "Value": value.replace("host=", "host=gone-")}])
    endpoint.clear_durations()
    endpoint.set_speed(0.0)
    refused = run_clone(playbook, log)
    assert refused.rc != 0 and "is locked by run " + key[len(LOCK_PREFIX):] in refused.out, refused
    assert "-e break_lock=true" in refused.out
    result = run_clone(playbook, log, break_lock=True)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    assert lock_tags(endpoint) == {}
