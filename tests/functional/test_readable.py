"""A run a person can read, and a plan a person approves (issue 20): the flight plan is one line per step with its
parameters under it as Key=value pairs (no escaped JSON), a run without MFA prints at most two `skipping:` lines,
the summary comes last; a check-mode run keeps its plan (plan_file, and set_stats), and a refresh given that plan
runs only while the live plan is still the approved one.
"""

import json
import re

import yaml

from .helpers import ROOT, clone_vars, instances, mutating
from .test_clone import assert_refreshed, restart_command, restarts, run_clone, seeded

ESCAPED_QUOTE = '\\"'


def skipping(result):
    return [line for line in result.out.splitlines() if line.startswith("skipping:")]


def flight_plan(result):
    """The flight plan's lines, as the default callback prints them (each a JSON string of the debug's list)."""
    block = result.out.split("TASK [mitosis.rds.clone : Show the flight plan]", 1)[1].split("TASK [", 1)[0]
    return [json.loads(line.strip().rstrip(",")) for line in block.splitlines() if line.strip().startswith('"')
            and not line.strip().startswith('"msg"')]


def test_the_check_mode_flight_plan_reads_at_a_glance(endpoint, playbook, tmp_path):
    seeded(endpoint)
    check = run_clone(playbook, tmp_path / "restarts.jsonl", args=["--check"])
    assert check.rc == 0, check
    assert ESCAPED_QUOTE not in check.out
    assert len(skipping(check)) <= 2, skipping(check)
    lines = flight_plan(check)
    assert lines[0].startswith("Flight plan: clone mitosis-prod into the graph of mitosis-demo")
    assert lines[1].startswith("Copy method: replica, because")
    assert lines[-1] == "12 of 12 steps pending."
    steps = [i for i, line in enumerate(lines) if re.match(r"wave +\d+  ", line)]
    assert len(steps) == 12
    assert all(lines[i + 1].startswith(" " * 10) and "=" in lines[i + 1] or lines[i + 1].startswith(" " * 10 + "(")
               for i in steps), lines
    # Each step's parameters under it, as Key=value pairs, wrapped to fit a terminal.
    text = "\n".join(lines)
    for shown in ("wave  1  CreateDBInstanceReadReplica temp-mitosis-demo  [pending]\n          DBInstanceClass=",
                  "SourceDBInstanceIdentifier=mitosis-prod", "Tags=[Service=Mitosis, Environment=demo]",
                  "wave  5  ModifyDBInstance mitosis-demo  [pending]\n"
                  "          ApplyImmediately=true NewDBInstanceIdentifier=old-mitosis-demo",
                  "wave  9  DeleteDBInstance old-mitosis-demo  [pending]\n          SkipFinalSnapshot=true"):
        assert shown in text, shown
    assert max(len(line) for line in lines if line.startswith(" ")) <= 96
    # The summary is the last thing the run prints.
    assert check.out.rstrip().split("PLAY RECAP", 1)[0].rstrip().endswith("]\n}")
    assert "Checked (check mode, nothing changed)" in check.out.split("TASK [")[-1]
    # Ansible's YAML result format reads as well: a list item per line.
    yaml = playbook("playbooks/clone.yml", clone_vars(), args=["--check"],
                    env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml"})
    assert yaml.rc == 0, yaml
    assert ESCAPED_QUOTE not in yaml.out
    assert "- wave  1  CreateDBInstanceReadReplica temp-mitosis-demo  [pending]" in yaml.out, yaml
    assert "SourceDBInstanceIdentifier=mitosis-prod" in yaml.out


def test_a_refresh_prints_no_line_per_option_and_ends_with_its_summary(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    result = run_clone(playbook, log)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert len(skipping(result)) <= 2, skipping(result)
    assert not [line for line in result.out.splitlines() if "(item=" in line and "included:" not in line]
    last = result.out.split("TASK [")[-1]
    assert last.startswith("mitosis.rds.clone : Show the clone summary") and "was unreachable for" in last


def test_an_approved_plan_runs(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    plan_file = tmp_path / "plan.json"
    check = playbook("playbooks/clone.yml", clone_vars(plan_file=str(plan_file)), args=["--check"])
    assert check.rc == 0, check
    assert mutating(endpoint) == []
    approved = json.loads(plan_file.read_text())
    assert approved["target"] == "mitosis-demo" and len(approved["steps"]) == 12
    assert approved["flight_plan"].splitlines()[-1] == "12 of 12 steps pending."
    # As an AWX workflow passes it from the check job to the refresh job: the published plan, as a variable.
    log = tmp_path / "restarts.jsonl"
    result = playbook("playbooks/clone.yml", clone_vars(restart_command=restart_command(log),
                                                        approved_plan=approved))
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert len(restarts(log)) == 1


def test_a_plan_that_changed_since_its_approval_refuses_before_any_change(endpoint, playbook, tmp_path):
    seeded(endpoint)
    plan_file = tmp_path / "plan.json"
    check = playbook("playbooks/clone.yml", clone_vars(plan_file=str(plan_file)), args=["--check"])
    assert check.rc == 0, check
    # Someone adds a replica to the target after the approval.
    demo = instances(endpoint)["mitosis-demo"]
    endpoint.client("rds").create_db_instance_read_replica(
        DBInstanceIdentifier="mitosis-demo-replica-2", SourceDBInstanceIdentifier="mitosis-demo",
        DBInstanceClass=demo["DBInstanceClass"])
    assert instances(endpoint)["mitosis-demo-replica-2"]["DBInstanceStatus"] == "available"
    endpoint.clear_calls()
    log = tmp_path / "restarts.jsonl"
    refused = playbook("playbooks/clone.yml", clone_vars(restart_command=restart_command(log),
                                                         approved_plan=str(plan_file)))
    assert refused.rc != 0
    assert endpoint.mutating_calls() == [] and not restarts(log)
    assert "differs from the approved plan" in refused.out, refused
    assert "a new step: wave" in refused.out and "CreateDBInstanceReadReplica temp-mitosis-demo-replica-2" in \
        refused.out, refused


def test_the_plays_hand_every_option_of_the_role_to_it():
    """playbooks/tasks/options.yml sets each option mitosis.rds.role_options may find given: every one of the role's
    (its connection options aside)."""
    specs = yaml.safe_load((ROOT / "roles/clone/meta/argument_specs.yml").read_text())
    options = yaml.safe_load((ROOT / "playbooks/tasks/options.yml").read_text())[0]["ansible.builtin.set_fact"]
    assert sorted(options) == sorted(set(specs["argument_specs"]["main"]["options"]) - {"mitosis_aws"})
    for name, value in options.items():
        assert value == "{{{{ clone_given.{0} | default(omit) }}}}".format(name)
