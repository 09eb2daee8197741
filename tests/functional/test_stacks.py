"""playbooks/stacks.yml against the embedded endpoint: two stacks refreshed side by side from one inventory, and
the inventories it refuses before any change."""

import json
import re
import subprocess

import pytest
import yaml

from devtools.seed import seed_example

from .helpers import ANSIBLE_PLAYBOOK, FAST, ROOT, mutating, seed_second_target
from .test_clone import PROBE, assert_refreshed, restarts, snapshot_of_state

PLAY = "playbooks/stacks.yml"
ANSIBLE_INVENTORY = ANSIBLE_PLAYBOOK.replace("ansible-playbook", "ansible-inventory")


def inventory(tmp_path, stacks, group_vars=None, group="mitosis_stacks"):
    """A YAML inventory like docs/stacks.inventory.yml: one host per stack."""
    path = tmp_path / "stacks.inventory.yml"
    path.write_text(yaml.safe_dump({group: {"vars": dict(group_vars or {}), "hosts": stacks}}))
    return path


def seeded_two_stacks(endpoint):
    """mitosis-prod, and two stacks to refresh from it: mitosis-demo (seed example) and mitosis-staging."""
    scenario = seed_example(endpoint.session(), endpoint.url)
    staging = seed_second_target(endpoint)
    sources = [name for name in scenario["instances"] if not name.startswith("mitosis-demo")]
    before = {
        "demo": snapshot_of_state(endpoint, scenario),
        "staging": snapshot_of_state(endpoint, {"instances": sources + staging, "target": "mitosis-staging"}),
    }
    endpoint.clear_calls()
    return before


def stack_calls(endpoint, target):
    """The mutating calls of one stack: on its target graph's names, temp-, old- or not."""
    def ours(identifier):
        return identifier.split("-", 1)[1] if identifier.startswith(("temp-", "old-")) else identifier
    return [c for c in mutating(endpoint) if ours(c["identifier"]) in (target, target + "-replica")]


def refresh_two_stacks(endpoint, playbook, tmp_path, **staging_options):
    """Refresh demo and staging from one inventory with two forks; check both stacks and return their calls."""
    before = seeded_two_stacks(endpoint)
    logs = {name: tmp_path / (name + "-restarts.jsonl") for name in before}
    stacks = {
        "demo": {"target": "mitosis-demo", "restart_command": "{0} {1}".format(PROBE, logs["demo"])},
        "staging": dict({"target": "mitosis-staging", "restart_command": "{0} {1}".format(PROBE, logs["staging"])},
                        **staging_options),
    }
    inv = inventory(tmp_path, stacks, dict(FAST, source="mitosis-prod"))
    result = playbook(PLAY, args=["-i", str(inv), "-f", "2"])
    assert result.rc == 0, result
    for name, state in before.items():
        assert_refreshed(endpoint, state)
        runs = restarts(logs[name])
        assert len(runs) == 1, name
        # Each restart saw its own graph swapped (fresh clones under the names, old-* still there).
        for node, resource_id in state["resource_ids"].items():
            assert runs[0]["instances"][node]["resource_id"] != resource_id and "old-" + node in runs[0]["instances"]
    assert "Cloned mitosis-prod into mitosis-demo" in result.out
    assert "Cloned mitosis-prod into mitosis-staging" in result.out
    demo, staging = stack_calls(endpoint, "mitosis-demo"), stack_calls(endpoint, "mitosis-staging")
    assert len(mutating(endpoint)) == len(demo) + len(staging)
    assert demo[-1]["operation"] == staging[-1]["operation"] == "DeleteDBInstance"
    # Side by side, by the order of the calls: each stack started copying before the other one finished.
    assert staging[0]["seq"] < demo[-1]["seq"] and demo[0]["seq"] < staging[-1]["seq"]
    return demo, staging


def test_two_stacks_are_refreshed_side_by_side(endpoint, playbook, tmp_path):
    demo, staging = refresh_two_stacks(endpoint, playbook, tmp_path)
    assert [c["operation"] for c in demo] == [c["operation"] for c in staging]


def test_each_stack_has_its_own_options(endpoint, playbook, tmp_path):
    # staging restores the newest snapshot of the source instead of a read replica: its plan has other waves.
    demo, staging = refresh_two_stacks(endpoint, playbook, tmp_path, restore_snapshot=True)
    assert demo[0]["operation"] == "CreateDBInstanceReadReplica"
    assert staging[0]["operation"] == "RestoreDBInstanceFromDBSnapshot"
    assert "PromoteReadReplica" not in [c["operation"] for c in staging]


def test_check_mode_shows_every_stacks_flight_plan_and_changes_nothing(endpoint, playbook, tmp_path):
    seeded_two_stacks(endpoint)
    # Another group than mitosis_stacks, named with -e stacks=...
    inv = inventory(tmp_path, {"demo": {"target": "mitosis-demo"}, "staging": {"target": "mitosis-staging"}},
                    dict(FAST, source="mitosis-prod"), group="weekly")
    result = playbook(PLAY, {"stacks": "weekly"}, args=["-i", str(inv), "--check"])
    assert result.rc == 0, result
    assert "Flight plan: clone mitosis-prod" in result.out
    for target in ("mitosis-demo", "mitosis-staging"):
        assert re.search(r"Checked \(check mode, nothing changed\):[^\n]* mitosis-prod into {0} ".format(target),
                         result.out), target
    assert mutating(endpoint) == []


REFUSED = [
    ("same-target", {"demo": {"target": "mitosis-demo"}, "staging": {"target": "mitosis-demo"}},
     ["Stacks demo and staging refresh the same target, mitosis-demo.",
      "Stacks staging and demo refresh the same target, mitosis-demo."]),
    ("target-is-a-source", {"demo": {"target": "mitosis-demo"},
                            "staging": {"target": "mitosis-staging", "source": "mitosis-demo"}},
     ["Stack demo refreshes mitosis-demo, the source of stack staging.",
      "Stack staging clones mitosis-demo, the target of stack demo."]),
    ("no-target", {"demo": {"target": "mitosis-demo"}, "staging": {}},
     ["Stack staging must say what to clone"]),
]


@pytest.mark.parametrize("stacks, messages", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_conflicting_stacks_are_refused_before_any_change(endpoint, playbook, tmp_path, stacks, messages):
    seeded_two_stacks(endpoint)
    inv = inventory(tmp_path, stacks, dict(FAST, source="mitosis-prod"))
    result = playbook(PLAY, args=["-i", str(inv), "-f", "2"])
    assert result.rc != 0, result
    for message in messages:
        assert message in result.out, result
    assert "Nothing was changed" in result.out
    assert mutating(endpoint) == []
    # Neither stack reached the role.
    assert "Validating arguments against arg spec" not in result.out


def test_an_inventory_without_stacks_is_refused(endpoint, playbook, tmp_path):
    inv = inventory(tmp_path, {"demo": {"target": "mitosis-demo"}}, {"source": "mitosis-prod"}, group="weekly")
    result = playbook(PLAY, args=["-i", str(inv)])
    assert result.rc != 0, result
    assert "No stack to refresh: the inventory has no host in mitosis_stacks." in result.out
    assert endpoint.calls() == []


def test_the_example_inventory_names_two_stacks_from_prod():
    listed = subprocess.run([ANSIBLE_INVENTORY, "-i", "docs/stacks.inventory.yml", "--list"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    hosts = json.loads(listed.stdout)["_meta"]["hostvars"]
    assert {name: (host["source"], host["target"]) for name, host in hosts.items()} == {
        "demo": ("mitosis-prod", "mitosis-demo"), "staging": ("mitosis-prod", "mitosis-staging")}
    assert set(json.loads(listed.stdout)["mitosis_stacks"]["hosts"]) == {"demo", "staging"}
