"""playbooks/clone.yml with swap_method=dns on the MySQL example (devtools.seed.seed_dns: db.demo.internal ->
mitosis-demo, db-ro.demo.internal -> mitosis-demo-replica, zone demo.internal), without the data plane.

A run killed -9 (every process of it) in each phase of a refresh by DNS, then the same command again, finishes:
during the copy, between the change batch and Route 53's INSYNC, during the cleanup, and while a kept generation
is retired before the copy takes its names. Bad input is refused before any change (the lock's tags included), naming
the problem; check mode shows the change batch; the IAM policy allows the change on that zone only; dns_create makes
the stack's records first, then moves them.

The records keep the seed's TTL of 60 s: report_time_scale=600 makes the run's wait for it after INSYNC 0.1 s (1 s
where a test checks that wait). The time model runs only where a kill must land in a given phase."""

import collections
import json
import re

import pytest

from devtools.seed import dns_records, seed_dns, seed_example

from .helpers import FAST, instances, kill_when, mutating
from .test_clone import restart_command, restarts

ZONE = "demo.internal"
PRIMARY = "db.demo.internal"
RECORDS = {"db.demo.internal": "mitosis-demo", "db-ro.demo.internal": "mitosis-demo-replica"}
SOURCES = ["mitosis-prod", "mitosis-prod-replica"]
TTL = 60
# Reported seconds per real second: the records' TTL is waited for as TTL / REPORT_SCALE real seconds.
REPORT_SCALE = 600
CREATES = ("CreateDBInstanceReadReplica", "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime")
# The time model, where a kill must land in a phase: one simulated minute is 0.02 s.
SPEED = 0.02


# --- helpers ------------------------------------------------------------------------------------------------------

def seeded(endpoint):
    """The MySQL example and its records, the call record cleared. Returns the zone (dns_records' summary)."""
    zone = seed_dns(endpoint.session(), endpoint.url)["dns"]
    assert zone["records"] == RECORDS and zone["ttl"] == TTL
    endpoint.clear_calls()
    return zone


def dns_vars(log, **extra):
    # The generation a switch left is renamed at speed 0 (or 0.02: a 0.2 s rename), its reboot over in 0.2 s.
    return dict(dict(FAST, source="mitosis-prod", target=PRIMARY, swap_method="dns", dns_zone=ZONE,
                     restart_command=restart_command(log), report_time_scale=REPORT_SCALE, rename_settle_time=0.2),
                **extra)


def refresh(playbook, log, **extra):
    result = playbook("playbooks/clone.yml", dns_vars(log, **extra))
    assert result.rc == 0, result
    return result


def last_seq(endpoint):
    calls = endpoint.calls()
    return calls[-1]["seq"] if calls else 0


def record_values(endpoint, zone_id):
    found = endpoint.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {r["Name"].rstrip("."): r["ResourceRecords"][0]["Value"] for r in found if r["Type"] == "CNAME"}


def holders(endpoint, zone_id):
    """Which instance each CNAME record of the zone points at (its value, when that is no instance's endpoint)."""
    by_address = {i["Endpoint"]["Address"]: name for name, i in instances(endpoint).items()}
    return {name: by_address.get(value, value) for name, value in record_values(endpoint, zone_id).items()}


def generation(suffix, records=None):
    return {record: name + suffix for record, name in (records or RECORDS).items()}


def mitosis_tags(endpoint, name):
    """The instance's mitosis:* tags; mitosis:switched's value cut to "from <the instance the records left>" (the
    product may add more after it, such as that instance's resource id)."""
    rds = endpoint.client("rds")
    tags = rds.list_tags_for_resource(ResourceName=instances(endpoint)[name]["DBInstanceArn"])["TagList"]
    found = {t["Key"]: t["Value"] for t in tags if t["Key"].startswith("mitosis:")}
    if "mitosis:switched" in found:
        found["mitosis:switched"] = " ".join(found["mitosis:switched"].split()[:2])
    return found


def changes(endpoint, since_seq=0):
    return [c for c in endpoint.calls("ChangeResourceRecordSets", since_seq) if not c["error"]]


def batch(call):
    """A change batch as (action, record, value) triples."""
    found = []
    for change in call["params"]["ChangeBatch"]["Changes"]:
        record = change["ResourceRecordSet"]
        found.append((change["Action"], record["Name"].rstrip("."), record["ResourceRecords"][0]["Value"]))
    return sorted(found)


def deleted(endpoint, since_seq=0):
    return sorted(c["identifier"] for c in endpoint.calls("DeleteDBInstance", since_seq))


def assert_refreshed(endpoint, zone, suffix, left="mitosis-demo", records=None):
    """The records point at generation `suffix`; it is all that is left of the stack, available, and carries no
    mitosis:* tag but the durable ones: its generation, and on its primary the switch that put it live (from `left`,
    the primary the records left); no lock, no mark of a kept or rejected generation. The source has none."""
    wanted = generation(suffix, records)
    assert holders(endpoint, zone["zone_id"]) == wanted
    live = instances(endpoint)
    assert sorted(live) == sorted(SOURCES + list(wanted.values())), sorted(live)
    for name in wanted.values():
        assert live[name]["DBInstanceStatus"] == "available", name
        durable = {"mitosis:generation": suffix[1:]}
        if name == "mitosis-demo" + suffix:
            durable["mitosis:switched"] = "from " + left
        assert mitosis_tags(endpoint, name) == durable, name
    for name in SOURCES:
        assert mitosis_tags(endpoint, name) == {}, name


def assert_safe_history(endpoint, since_seq=0):
    """Since `since_seq` something was created, nothing twice; nothing but old-* was ever deleted."""
    made = collections.Counter(c["identifier"] for c in endpoint.calls(since_seq=since_seq)
                               if c["operation"] in CREATES and not c["error"])
    assert made and all(count == 1 for count in made.values()), made
    gone = deleted(endpoint)
    assert all(name.startswith("old-") for name in gone), gone


def assert_restart_before_deletes(endpoint, log):
    """Every delete came after a change batch moved the records and after a successful restart that followed that
    change: the application had left the generation before any instance of it went."""
    ran = [r["time"] for r in restarts(log) if r["exit"] == 0]
    switched = [c["time"] for c in changes(endpoint)]
    for call in endpoint.calls("DeleteDBInstance"):
        before = [t for t in switched if t < call["time"]]
        assert before, "{0} was deleted before any change of the records".format(call["identifier"])
        assert any(max(before) < t < call["time"] for t in ran), \
            "{0} was deleted with no restart since the records moved".format(call["identifier"])


def kill(endpoint, tmp_path, log, reached, **extra):
    """Run the refresh and kill -9 every process of it (ansible-playbook and the module's worker) at `reached`."""
    kill_when(endpoint, "playbooks/clone.yml", dns_vars(log, **extra), tmp_path / "killed.json", reached,
              every_process=True)


def called(operation, since_seq=0, new_prefix=None):
    """A kill condition: a successful call of `operation` is recorded (a rename to `new_prefix`*, when given)."""
    def reached(endpoint):
        return any(not c["error"] and (new_prefix is None or (c["new_identifier"] or "").startswith(new_prefix))
                   for c in endpoint.calls(operation, since_seq))
    return reached


# --- 1. resume after kill -9 in each phase --------------------------------------------------------------------------

def test_killed_during_the_copy_then_run_again(endpoint, playbook, tmp_path):
    zone = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    endpoint.set_speed(SPEED)
    endpoint.set_duration("create-replica", 150, identifier="mitosis-demo-a")  # 3 s: the kill lands in it
    kill(endpoint, tmp_path, log, called("CreateDBInstanceReadReplica"))
    assert [c["identifier"] for c in endpoint.calls("CreateDBInstanceReadReplica")] == ["mitosis-demo-a"]
    assert not changes(endpoint) and not restarts(log)
    assert holders(endpoint, zone["zone_id"]) == RECORDS
    endpoint.set_speed(0.0)  # the copy under way completes

    result = refresh(playbook, log)
    assert "CreateDBInstanceReadReplica mitosis-demo-a  [skip" in result.out
    assert_refreshed(endpoint, zone, "-a")
    assert_safe_history(endpoint)
    assert deleted(endpoint) == ["old-mitosis-demo", "old-mitosis-demo-replica"]
    assert len(changes(endpoint)) == 1 and len(restarts(log)) == 1
    assert_restart_before_deletes(endpoint, log)


def test_killed_between_the_change_batch_and_insync_then_run_again(endpoint, playbook, tmp_path):
    zone = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    endpoint.set_speed(SPEED)
    endpoint.set_duration("dns-change", 1000)  # 20 s PENDING: the run is killed while it polls GetChange
    kill(endpoint, tmp_path, log, called("ChangeResourceRecordSets"), report_time_scale=TTL)
    # Route 53 answers with the new values at once; only the change's status says it is not yet everywhere.
    assert holders(endpoint, zone["zone_id"]) == generation("-a")
    assert mitosis_tags(endpoint, "mitosis-demo-a") == {"mitosis:generation": "a"}
    assert not restarts(log) and not endpoint.calls("DeleteDBInstance")
    assert not [c for c in mutating(endpoint) if c["new_identifier"]]
    sent = changes(endpoint)
    # The rerun's own change is PENDING for 1 s (50 simulated minutes); the killed run's stays PENDING.
    endpoint.set_duration("dns-change", 50)

    result = refresh(playbook, log, report_time_scale=TTL)  # the TTL waited for in 1 s
    assert "ChangeResourceRecordSets demo.internal.  [pending: the records point at the clones already" in result.out
    again = changes(endpoint, sent[-1]["seq"])
    assert len(sent) == 1 and len(again) == 1, "the rerun sends the change once more"
    assert batch(again[0]) == batch(sent[0]) and {a for a, _r, _v in batch(again[0])} == {"UPSERT"}
    # It waited for its change (PENDING for 1 s), then for the records' TTL (1 s), before the tag that records the
    # switch.
    tagged = [c for c in endpoint.calls("AddTagsToResource", sent[-1]["seq"])
              if any(t["Key"] == "mitosis:switched" for t in c["params"]["Tags"])]
    assert len(tagged) == 1 and tagged[0]["time"] - again[0]["time"] >= 1.0 + 1.0 - 0.1, tagged
    assert len(endpoint.calls("GetChange", again[0]["seq"])) >= 2
    assert [r["exit"] for r in restarts(log)] == [0]
    assert restarts(log)[0]["time"] > tagged[0]["time"]
    assert_refreshed(endpoint, zone, "-a")
    assert_safe_history(endpoint)
    assert deleted(endpoint) == ["old-mitosis-demo", "old-mitosis-demo-replica"]
    assert_restart_before_deletes(endpoint, log)


def test_killed_during_the_cleanup_then_run_again(endpoint, playbook, tmp_path):
    zone = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    endpoint.set_speed(SPEED)
    endpoint.set_duration("rename", 500)  # 10 s: the kill lands while the left generation moves aside
    kill(endpoint, tmp_path, log, called("ModifyDBInstance", new_prefix="old-"))
    assert holders(endpoint, zone["zone_id"]) == generation("-a")
    assert [r["exit"] for r in restarts(log)] == [0]
    assert not endpoint.calls("DeleteDBInstance")
    endpoint.set_speed(0.0)  # the renames under way complete

    refresh(playbook, log)
    assert_refreshed(endpoint, zone, "-a")
    assert_safe_history(endpoint)
    assert deleted(endpoint) == ["old-mitosis-demo", "old-mitosis-demo-replica"]
    # The resumed cleanup restarts again before its deletes (the generation left is still there).
    assert [r["exit"] for r in restarts(log)] == [0, 0]
    assert min(c["time"] for c in endpoint.calls("DeleteDBInstance")) > restarts(log)[-1]["time"]
    assert_restart_before_deletes(endpoint, log)
    # The switch was in sync (mitosis:switched says so, for good): the resumed cleanup does not send it again.
    assert len(changes(endpoint)) == 1


def test_keep_previous_then_a_refresh_killed_while_it_retires_the_kept_generation(endpoint, playbook, tmp_path):
    zone = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    refresh(playbook, log)  # -> mitosis-demo-a
    refresh(playbook, log, keep_previous=True)  # -> mitosis-demo-b, and -a kept for a way back
    assert holders(endpoint, zone["zone_id"]) == generation("-b")
    assert mitosis_tags(endpoint, "mitosis-demo-a") == {"mitosis:generation": "a", "mitosis:kept": "true",
                                                        "mitosis:switched": "from mitosis-demo"}
    assert {"mitosis-demo-a", "mitosis-demo-replica-a"} < set(instances(endpoint))
    mark = last_seq(endpoint)

    endpoint.set_speed(SPEED)
    endpoint.set_duration("rename", 500)  # 10 s: the kill lands while the kept generation moves aside
    kill(endpoint, tmp_path, log, called("ModifyDBInstance", mark, "old-"))
    retiring = [(c["identifier"], c["new_identifier"]) for c in endpoint.calls("ModifyDBInstance", mark)
                if c["new_identifier"]]
    assert retiring and all(new == "old-" + name and name.endswith("-a") for name, new in retiring), retiring
    assert not endpoint.calls("CreateDBInstanceReadReplica", mark) and not changes(endpoint, mark)
    endpoint.set_speed(0.0)

    refresh(playbook, log)
    # The copy went into the names the kept generation held, once it had moved aside and gone.
    assert_refreshed(endpoint, zone, "-a", left="mitosis-demo-b")
    assert_safe_history(endpoint, mark)
    assert deleted(endpoint, mark) == sorted("old-" + n for n in list(generation("-a").values())
                                             + list(generation("-b").values()))
    first_create = min(c["seq"] for c in endpoint.calls("CreateDBInstanceReadReplica", mark))
    assert max(c["seq"] for c in endpoint.calls("DeleteDBInstance", mark)
               if c["identifier"].endswith("-a")) < first_create
    assert [r["exit"] for r in restarts(log)] == [0, 0, 0]
    assert_restart_before_deletes(endpoint, log)


# --- 2. bad input: refused before any change --------------------------------------------------------------------

def no_record_of_the_stack(endpoint, zone):
    return dict(target="mitosis-demo", dns_zone=dns_records(endpoint.session(), endpoint.url,
                                                            {"x.other.internal": "mitosis-prod"}, "other.internal",
                                                            TTL)["zone"])


def not_an_endpoint(endpoint, zone):
    endpoint.client("route53").change_resource_record_sets(HostedZoneId=zone["zone_id"], ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": "web.demo.internal", "Type": "CNAME", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "lb.example.com"}]}}]})
    return dict(target="web.demo.internal")


def long_ttl(endpoint, zone):
    dns_records(endpoint.session(), endpoint.url, {"db-ro.demo.internal": "mitosis-demo-replica"}, ZONE, 7200)
    return {}


BAD_INPUT = [
    ("no-such-zone-name", lambda endpoint, zone: dict(dns_zone="nope.internal"),
     "dns_zone: no Route 53 hosted zone is called nope.internal."),
    ("no-such-zone-id", lambda endpoint, zone: dict(dns_zone="/hostedzone/Z0NOSUCHZONE"),
     "dns_zone: no Route 53 hosted zone has the id Z0NOSUCHZONE."),
    ("no-dns-zone", lambda endpoint, zone: dict(dns_zone=None), "swap_method is dns but all of the following are "
     "missing: dns_zone"),
    ("no-record-of-the-stack", no_record_of_the_stack,
     "No CNAME record of zone other.internal. points at the endpoint of mitosis-demo"),
    ("record-not-an-rds-endpoint", not_an_endpoint,
     "web.demo.internal. is a record of zone demo.internal., and its value lb.example.com is the endpoint of no DB "
     "instance"),
    ("ttl-7200", long_ttl, "Record db-ro.demo.internal. has a TTL of 7200 s"),
    ("swap-method-bogus", lambda endpoint, zone: dict(swap_method="bogus"),
     "value of mitosis_swap_method must be one of: rename, dns, got: bogus"),
]


@pytest.mark.parametrize("given, message", [b[1:] for b in BAD_INPUT], ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_refused_before_any_change(endpoint, playbook, tmp_path, given, message):
    zone = seeded(endpoint)
    extra = given(endpoint, zone)
    endpoint.clear_calls()
    log = tmp_path / "restarts.jsonl"
    result = playbook("playbooks/clone.yml", {k: v for k, v in dns_vars(log, **extra).items() if v is not None})
    assert result.rc != 0, result
    assert message in result.out, result
    assert "Traceback" not in result.out
    # Not a call that changes anything, the lock's tags included.
    assert endpoint.mutating_calls() == [], endpoint.mutating_calls()
    assert not restarts(log)


def flight_plan(out):
    """The flight plan the run showed, its wrapped lines joined, spaces collapsed."""
    lines, inside = [], False
    for line in out.splitlines():
        match = re.match(r'^\s+"(.*)",?$', line)
        text = json.loads('"{0}"'.format(match.group(1))) if match else ""
        inside = inside or text.startswith("Flight plan:")
        if inside and match:
            lines.append(" ".join(text.split()))
            if text.endswith("steps pending."):
                break
    return " ".join(lines)


def test_check_mode_shows_the_change_batch_and_changes_nothing(endpoint, playbook, tmp_path):
    zone = seeded(endpoint)
    log = tmp_path / "restarts.jsonl"
    result = playbook("playbooks/clone.yml", dns_vars(log), args=["--check"])
    assert result.rc == 0, result
    plan = flight_plan(result.out)
    assert "switched by DNS" in plan
    assert "ChangeResourceRecordSets demo.internal. [pending]" in plan
    live = instances(endpoint)
    for record, name in sorted(RECORDS.items()):
        assert "UPSERT {0}. CNAME TTL={1}: {2} -> the endpoint of {3}-a".format(
            record, TTL, live[name]["Endpoint"]["Address"], name) in plan, plan
    assert "ChangeResourceRecordSets demo.internal.: would run" in result.out
    assert endpoint.mutating_calls() == []
    assert not restarts(log)
    assert holders(endpoint, zone["zone_id"]) == RECORDS


# --- 3. the IAM policy ---------------------------------------------------------------------------------------------

def route53_grants(policy):
    """route53 action -> the resources the policy allows it on."""
    found = collections.defaultdict(list)
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            if action.lower().startswith("route53:") or action == "*":
                found[action].extend(resources)
    return found


def assert_dns_policy(policy, zone):
    grants = route53_grants(policy)
    assert grants["route53:ChangeResourceRecordSets"] == ["arn:aws:route53:::hostedzone/" + zone["zone_id"]], grants
    assert grants["route53:GetChange"], grants
    assert "*" not in grants and "route53:*" not in grants, grants


def test_the_iam_policy_play_with_swap_method_dns(endpoint, playbook, tmp_path):
    zone = seeded(endpoint)
    dest = tmp_path / "policy.json"
    result = playbook("playbooks/iam_policy.yml", {"source": "mitosis-prod", "target": PRIMARY, "swap_method": "dns",
                                                   "dns_zone": ZONE, "dest": str(dest)})
    assert endpoint.mutating_calls() == []
    assert result.rc == 0, result
    assert_dns_policy(json.loads(dest.read_text()), zone)
    assert "Lock on mitosis-demo: free." in result.out


# --- 4. dns_create ------------------------------------------------------------------------------------------------

def test_dns_create_makes_the_stacks_records_then_moves_them(endpoint, playbook, tmp_path):
    seed_example(endpoint.session(), endpoint.url)
    zone = dns_records(endpoint.session(), endpoint.url, {}, ZONE)  # the zone, no record yet
    before = {name: i["Endpoint"]["Address"] for name, i in instances(endpoint).items()}
    endpoint.clear_calls()
    log = tmp_path / "restarts.jsonl"
    refresh(playbook, log, target="mitosis-demo", dns_create=True)  # the records made get a TTL of 60 s
    made = {"mitosis-demo.demo.internal": "mitosis-demo", "mitosis-demo-replica.demo.internal": "mitosis-demo-replica"}
    sent = changes(endpoint)
    assert len(sent) == 2, sent
    assert batch(sent[0]) == sorted(("CREATE", record, before[name]) for record, name in made.items())
    live = instances(endpoint)
    assert batch(sent[1]) == sorted(("UPSERT", record, live[name + "-a"]["Endpoint"]["Address"])
                                    for record, name in made.items())
    assert_refreshed(endpoint, zone, "-a", records=made)
    assert_safe_history(endpoint)
    assert deleted(endpoint) == ["old-mitosis-demo", "old-mitosis-demo-replica"]
    assert len(restarts(log)) == 1
    assert_restart_before_deletes(endpoint, log)
