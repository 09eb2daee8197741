"""Aurora clusters end to end: real ansible-playbook runs of the clone role against the embedded endpoint.

The seed (devtools.seed.seed_aurora): mitosis-aurora-prod (writer -1, reader -2) and mitosis-aurora-demo
(writer -1, readers -2 and -3) with a different value for every cluster and instance attribute.
"""

import json
import sys

import pytest

from devtools.seed import seed_aurora, seed_example

from devtools.rds_endpoint.testing import is_lock_call

from .helpers import ROOT, clone_vars, kill_when, mutating

SOURCE, TARGET = "mitosis-aurora-prod", "mitosis-aurora-demo"
MEMBERS = ["mitosis-aurora-demo-1", "mitosis-aurora-demo-2", "mitosis-aurora-demo-3"]
PROBE = "{0} {1}".format(sys.executable, ROOT / "tests" / "functional" / "restart_probe.py")
CLUSTER_KEYS = ("Engine", "DBSubnetGroup", "Port", "DBClusterParameterGroup", "BackupRetentionPeriod",
                "PreferredBackupWindow", "PreferredMaintenanceWindow", "IAMDatabaseAuthenticationEnabled",
                "EnabledCloudwatchLogsExports", "CopyTagsToSnapshot", "ServerlessV2ScalingConfiguration",
                "DeletionProtection")
INSTANCE_KEYS = ("DBInstanceClass", "PromotionTier", "MonitoringInterval", "MonitoringRoleArn",
                 "PerformanceInsightsEnabled", "AvailabilityZone", "Engine")


def aurora_vars(**extra):
    return clone_vars(**dict({"source": SOURCE, "target": TARGET}, **extra))


def clusters(endpoint):
    rds = endpoint.client("rds")
    return {c["DBClusterIdentifier"]: c for page in rds.get_paginator("describe_db_clusters").paginate()
            for c in page["DBClusters"]}


def cluster_instances(endpoint):
    rds = endpoint.client("rds")
    return {i["DBInstanceIdentifier"]: i for page in rds.get_paginator("describe_db_instances").paginate()
            for i in page["DBInstances"] if i.get("DBClusterIdentifier")}


def tags(endpoint, arn):
    listed = endpoint.client("rds").list_tags_for_resource(ResourceName=arn)["TagList"]
    return sorted((t["Key"], t["Value"]) for t in listed)


def stack(endpoint, name):
    """What a refresh must keep of cluster `name`: its attributes, tags, writer and each instance's."""
    cluster = clusters(endpoint)[name]
    live = cluster_instances(endpoint)
    members = {m["DBInstanceIdentifier"]: m for m in cluster["DBClusterMembers"]}
    return {
        "cluster": {key: cluster.get(key) for key in CLUSTER_KEYS},
        "security_groups": sorted(g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups") or []),
        "tags": tags(endpoint, cluster["DBClusterArn"]),
        "writer": [n for n, m in members.items() if m["IsClusterWriter"]],
        "instances": {n: dict({key: live[n].get(key) for key in INSTANCE_KEYS},
                              parameter_groups=[g["DBParameterGroupName"] for g in live[n].get("DBParameterGroups", [])],
                              tags=tags(endpoint, live[n]["DBInstanceArn"]))
                      for n in sorted(members)},
    }


def identities(endpoint, name):
    cluster = clusters(endpoint)[name]
    live = cluster_instances(endpoint)
    return {name: cluster["DbClusterResourceId"],
            **{m["DBInstanceIdentifier"]: live[m["DBInstanceIdentifier"]]["DbiResourceId"]
               for m in cluster["DBClusterMembers"]}}


def seeded(endpoint, engine="aurora-mysql", **options):
    seed_aurora(endpoint.session(), endpoint.url, engine=engine, **options)
    endpoint.settle()
    endpoint.clear_calls()
    return {"target": stack(endpoint, TARGET), "source": stack(endpoint, SOURCE),
            "target_ids": identities(endpoint, TARGET), "source_ids": identities(endpoint, SOURCE)}


def assert_refreshed(endpoint, before):
    """Same names and attributes, new clusters and instances under them, production untouched, nothing left over."""
    assert stack(endpoint, TARGET) == before["target"]
    after = identities(endpoint, TARGET)
    assert sorted(after) == sorted(before["target_ids"])
    assert not set(after.values()) & set(before["target_ids"].values())
    assert stack(endpoint, SOURCE) == before["source"]
    assert identities(endpoint, SOURCE) == before["source_ids"]
    leftovers = [n for n in list(clusters(endpoint)) + list(cluster_instances(endpoint))
                 if n.startswith(("temp-", "old-"))]
    assert leftovers == []


def restart_log(tmp_path):
    return tmp_path / "restarts.jsonl"


def run_clone(playbook, tmp_path, code=0, **extra):
    command = "{0} {1} {2}".format(PROBE, restart_log(tmp_path), code)
    return playbook("playbooks/clone.yml", aurora_vars(restart_command=command, **extra))


def assert_safe_history(endpoint):
    """Deletes only of old-* names, the cluster after all of its instances, each create once."""
    calls = mutating(endpoint)
    ok = [c for c in calls if not c["error"]]
    deletes = [c for c in ok if c["operation"] in ("DeleteDBInstance", "DeleteDBCluster")]
    assert deletes and all(c["identifier"].startswith("old-") for c in deletes)
    assert deletes[-1]["operation"] == "DeleteDBCluster"
    creates = [c["identifier"] for c in ok if c["operation"] in ("CreateDBInstance", "RestoreDBClusterToPointInTime",
                                                                 "RestoreDBClusterFromSnapshot")]
    assert sorted(creates) == sorted(set(creates))
    last_rename = max(i for i, c in enumerate(ok) if c["operation"] in ("ModifyDBCluster", "ModifyDBInstance"))
    first_delete = min(i for i, c in enumerate(ok) if c["operation"].startswith("Delete"))
    assert last_rename < first_delete


@pytest.mark.parametrize("engine", ["aurora-mysql", "aurora-postgresql"])
def test_refresh_keeps_every_attribute_of_the_cluster_and_its_instances(endpoint, playbook, tmp_path, engine):
    before = seeded(endpoint, engine)
    flight = playbook("playbooks/clone.yml", aurora_vars(), args=["--check"])
    assert flight.rc == 0, flight
    assert "Flight plan: clone mitosis-aurora-prod into the Aurora cluster mitosis-aurora-demo (3 instances" in flight.out
    assert "Copy method: clone" in flight.out
    assert mutating(endpoint) == []
    result = run_clone(playbook, tmp_path)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    calls = mutating(endpoint)
    assert (calls[0]["operation"], calls[0]["identifier"]) == ("RestoreDBClusterToPointInTime", "temp-" + TARGET)
    assert calls[0]["params"]["RestoreType"] == "copy-on-write"
    creates = [c["identifier"] for c in calls if c["operation"] == "CreateDBInstance"]
    assert creates[0] == "temp-mitosis-aurora-demo-1"  # the writer first
    assert sorted(creates) == ["temp-" + n for n in MEMBERS]
    runs = [json.loads(line) for line in restart_log(tmp_path).read_text().splitlines()]
    assert len(runs) == 1
    assert "mitosis-aurora-demo was unreachable for" in result.out
    # The run's lock is a tag on the cluster that holds the target's name, taken and released.
    lock = [c for c in endpoint.mutating_calls() if is_lock_call(c)]
    assert [c["operation"] for c in lock] == ["AddTagsToResource", "AddTagsToResource", "RemoveTagsFromResource"]
    assert all(":cluster:" in c["params"]["ResourceName"] for c in lock)


def test_clusters_named_by_one_of_their_instances(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    result = run_clone(playbook, tmp_path, source="mitosis-aurora-prod-2", target="mitosis-aurora-demo-3")
    assert result.rc == 0, result
    assert "into the Aurora cluster mitosis-aurora-demo (3 instances)" in result.out
    assert_refreshed(endpoint, before)
    # The lock sits on the cluster, where a run naming the cluster looks for it.
    lock = [c for c in endpoint.mutating_calls() if is_lock_call(c)]
    assert lock and all(c["params"]["ResourceName"].endswith(":cluster:" + TARGET) for c in lock)


def test_failing_restart_keeps_the_old_cluster_until_a_restart_succeeds(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    failed = run_clone(playbook, tmp_path, code=3)
    assert failed.rc != 0, failed
    assert "Nothing was lost" in failed.out
    assert {"old-" + TARGET, TARGET} <= set(clusters(endpoint))
    assert {"old-" + n for n in MEMBERS} <= set(cluster_instances(endpoint))
    assert not [c for c in endpoint.calls() if c["operation"].startswith("Delete")]
    again = run_clone(playbook, tmp_path)
    assert again.rc == 0, again
    assert [json.loads(line)["exit"] for line in restart_log(tmp_path).read_text().splitlines()] == [3, 0]
    assert_refreshed(endpoint, before)


def test_a_rollback_of_a_cluster_is_refused_before_any_change(endpoint, playbook):
    seeded(endpoint)
    options = clone_vars(target=TARGET)
    del options["source"]
    result = playbook("playbooks/rollback.yml", options)
    assert result.rc != 0, result
    assert "rolls back refreshes of DB instances; mitosis-aurora-demo is an Aurora cluster" in result.out
    assert mutating(endpoint) == []


# An instance's rename and delete are killed mid-step in test_clone; here the cluster's own steps (unit tests resume an
# Aurora plan from every state).
@pytest.mark.parametrize("operation, identifier, kind", [
    ("CreateDBInstance", "temp-mitosis-aurora-demo-2", "create"),
    ("DeleteDBCluster", "old-" + TARGET, "cluster-delete"),
], ids=["copy", "cleanup-cluster"])
def test_resume_after_a_kill_at_each_phase(endpoint, playbook, tmp_path, operation, identifier, kind):
    before = seeded(endpoint)
    endpoint.set_speed(0.05)
    # The step the run is killed in lasts long enough for the kill to land while it runs, and for the resumed run
    # to find it running (a refresh whose last delete has finished looks like a finished one: a new refresh).
    endpoint.set_duration(kind, 200, identifier=identifier)
    command = "{0} {1} 0".format(PROBE, restart_log(tmp_path))
    kill_when(endpoint, "playbooks/clone.yml", aurora_vars(restart_command=command), tmp_path / "extra.json",
              lambda ep: any((c["operation"], c["identifier"]) == (operation, identifier) for c in mutating(ep)))
    endpoint.clear_durations()
    result = run_clone(playbook, tmp_path)
    assert result.rc == 0, result.out[-20000:]
    assert_refreshed(endpoint, before)
    assert_safe_history(endpoint)
    # The restart ran (again) once everything was swapped, before the first delete of the resumed run.
    assert restart_log(tmp_path).exists()


def test_snapshot_fallback_when_the_target_is_in_zones_the_source_has_none_in(endpoint, playbook, tmp_path):
    before = seeded(endpoint, cross_vpc=True)
    flight = playbook("playbooks/clone.yml", aurora_vars(), args=["--check"])
    assert flight.rc == 0, flight
    assert "Copy method: snapshot, because mitosis-aurora-prod is in" in flight.out
    result = run_clone(playbook, tmp_path)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    restores = [c for c in mutating(endpoint) if c["operation"].startswith("RestoreDBCluster")]
    assert [c["operation"] for c in restores] == ["RestoreDBClusterFromSnapshot"]


def test_copy_method_snapshot_and_a_final_snapshot(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    result = run_clone(playbook, tmp_path, copy_method="snapshot", final_snapshot=True)
    assert result.rc == 0, result
    assert_refreshed(endpoint, before)
    final = "{0}-final-{1}".format(TARGET, before["target_ids"][TARGET].lower()[len("cluster-"):])
    assert "kept in the final snapshot " + final in result.out
    rds = endpoint.client("rds")
    snapshot = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=final)["DBClusterSnapshots"][0]
    assert snapshot["Status"] == "available"


def test_clone_credentials_and_prepare_step_on_the_cluster(endpoint, playbook, tmp_path):
    before = seeded(endpoint)
    log = tmp_path / "prepare.jsonl"
    result = run_clone(playbook, tmp_path, master_password="Demo-Password-1",
                       prepare_tasks=str(ROOT / "tests" / "functional" / "playbooks" / "prepare_record.yml"),
                       prepare_log=str(log))
    assert result.rc == 0, result
    assert "Demo-Password-1" not in result.out
    assert_refreshed(endpoint, before)
    assert endpoint.check_cluster_password(TARGET, "Demo-Password-1")
    record = json.loads(log.read_text().splitlines()[0])
    prepare = record["prepare"]
    assert prepare["identifier"] == "temp-" + TARGET
    assert prepare["address"].startswith("temp-" + TARGET + ".cluster-")
    assert sorted(i["identifier"] for i in prepare["instances"]) == ["temp-" + n for n in MEMBERS]
    # The prepare tasks ran before any name moved.
    assert set(MEMBERS) <= set(record["described"])
    tagged = tags(endpoint, clusters(endpoint)[TARGET]["DBClusterArn"])
    assert not [key for key, _ in tagged if key.startswith("mitosis:")]


def test_a_target_with_a_managed_secret_gets_a_clone_with_its_own(endpoint, playbook, tmp_path):
    seed_aurora(endpoint.session(), endpoint.url)
    endpoint.client("rds").modify_db_cluster(DBClusterIdentifier=TARGET, ManageMasterUserPassword=True,
                                             ApplyImmediately=True)
    endpoint.settle()
    old_secret = clusters(endpoint)[TARGET]["MasterUserSecret"]["SecretArn"]
    endpoint.clear_calls()
    result = run_clone(playbook, tmp_path)
    assert result.rc == 0, result
    secret = clusters(endpoint)[TARGET]["MasterUserSecret"]
    assert secret["SecretStatus"] == "active" and secret["SecretArn"] != old_secret
    assert "master password is in a new managed secret (the application must read it): " + secret["SecretArn"] \
        in result.out
    manage = [c for c in mutating(endpoint) if c["params"].get("ManageMasterUserPassword")]
    assert [(c["operation"], c["identifier"]) for c in manage] == [("ModifyDBCluster", "temp-" + TARGET)]


def _make_cluster(endpoint, name, engine="aurora-mysql", version="8.0.mysql_aurora.3.05.2", members=1, **extra):
    rds = endpoint.client("rds")
    rds.create_db_cluster(DBClusterIdentifier=name, Engine=engine, EngineVersion=version, MasterUsername="admin",
                          MasterUserPassword="password1", **extra)
    endpoint.settle()
    for number in range(1, members + 1):
        rds.create_db_instance(DBInstanceIdentifier="{0}-{1}".format(name, number), DBClusterIdentifier=name,
                               Engine=engine, DBInstanceClass="db.r6g.large")
        endpoint.settle()


def _postgres_target(endpoint):
    _make_cluster(endpoint, "pg-demo", engine="aurora-postgresql", version="15.4")


def _old_major_target(endpoint):
    _make_cluster(endpoint, "v57-demo", version="5.7.mysql_aurora.2.11.2")


def _long_target(endpoint):
    _make_cluster(endpoint, "a" * 60)


def _serverless_v1_target(endpoint):
    endpoint.client("rds").create_db_cluster(
        DBClusterIdentifier="v1-demo", Engine="aurora-mysql", EngineVersion="8.0.mysql_aurora.3.05.2",
        EngineMode="serverless", MasterUsername="admin", MasterUserPassword="password1")
    endpoint.settle()


def _global_target(endpoint):
    rds = endpoint.client("rds")
    arn = clusters(endpoint)[TARGET]["DBClusterArn"]
    rds.create_global_cluster(GlobalClusterIdentifier="mitosis-global", SourceDBClusterIdentifier=arn)
    endpoint.settle()


def _protected_target(endpoint):
    endpoint.client("rds").modify_db_cluster(DBClusterIdentifier=TARGET, DeletionProtection=True,
                                             ApplyImmediately=True)
    endpoint.settle()


def _tagged_protected(endpoint):
    arn = clusters(endpoint)[TARGET]["DBClusterArn"]
    endpoint.client("rds").add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "mitosis:protected",
                                                                         "Value": "true"}])


def _an_instance_stack(endpoint):
    seed_example(endpoint.session(), endpoint.url)


def _bare_source(endpoint):
    _make_cluster(endpoint, "bare-prod", members=0)


AURORA_VALIDATIONS = [
    ("same", None, {"target": SOURCE}, "Source and target are the same cluster"),
    ("target-in-source-cluster", None, {"target": "mitosis-aurora-prod-2"}, "Source and target are the same cluster"),
    ("missing-source", None, {"source": "nope"}, "Source cluster nope was not found"),
    ("missing-target", None, {"target": "nope"}, "Target cluster nope was not found"),
    ("engines-differ", _postgres_target, {"target": "pg-demo"}, "Engines differ"),
    ("major-versions-differ", _old_major_target, {"target": "v57-demo"}, "Major versions differ"),
    ("name-too-long", _long_target, {"target": "a" * 60}, "too long to clone"),
    ("serverless-v1", _serverless_v1_target, {"target": "v1-demo"}, "Aurora Serverless v1"),
    ("global-database", _global_target, {}, "member of the global database"),
    ("deletion-protection", _protected_target, {}, "deletion protection enabled"),
    ("protected-tag", _tagged_protected, {}, "its graph is protected"),
    ("cluster-and-instance", _an_instance_stack, {"source": "mitosis-prod"},
     "is a DB instance outside any cluster"),
    ("replica-method", None, {"copy_method": "replica"}, "copy_method=replica applies to DB instances"),
    ("missing-snapshot", None, {"snapshot_identifier": "nope"}, "Cluster snapshot nope was not found"),
    ("clone-without-source-instances", _bare_source, {"source": "bare-prod", "copy_method": "clone"},
     "copy_method=clone cannot work: bare-prod has no instances"),
]


@pytest.mark.parametrize("prepare, overrides, message", [v[1:] for v in AURORA_VALIDATIONS],
                         ids=[v[0] for v in AURORA_VALIDATIONS])
def test_validation_fails_before_any_change(endpoint, playbook, tmp_path, prepare, overrides, message):
    seed_aurora(endpoint.session(), endpoint.url)
    if prepare:
        prepare(endpoint)
        endpoint.settle()
    endpoint.clear_calls()
    extra = dict({"source": SOURCE, "target": TARGET, "out": str(tmp_path / "x.json")}, **overrides)
    result = playbook("tests/functional/playbooks/plan.yml", extra)
    assert result.rc != 0, result
    assert message in result.out, result
    assert "Traceback" not in result.out
    assert mutating(endpoint) == []
    clone = playbook("playbooks/clone.yml", aurora_vars(**overrides))
    assert clone.rc != 0 and message in clone.out, clone
    assert mutating(endpoint) == []


def test_iam_policy_of_a_cluster_refresh(endpoint, playbook, tmp_path):
    seeded(endpoint)
    out = tmp_path / "plan.json"
    result = playbook("tests/functional/playbooks/plan.yml", {"source": SOURCE, "target": TARGET, "out": str(out)})
    assert result.rc == 0, result
    planned = json.loads(out.read_text())
    assert planned["nodes"] == [TARGET] + MEMBERS
    statements = {s["Sid"]: s for s in planned["iam_policy"]["Statement"]}
    # The demo writer's Enhanced Monitoring role is passed to RDS with the clone that uses it.
    assert statements.pop("PassMonitoringRole")["Resource"] == ["arn:aws:iam::123456789012:role/mitosis-rds-monitoring"]
    for statement in statements.values():
        assert len(statement["Action"]) == 1
        assert all(arn.startswith("arn:aws:rds:us-east-1:123456789012:") for arn in statement["Resource"])
    prefix = "arn:aws:rds:us-east-1:123456789012:"
    restore = statements["RestoreDBClusterToPointInTime"]["Resource"]
    assert prefix + "cluster:" + SOURCE in restore and prefix + "cluster:temp-" + TARGET in restore
    assert statements["DeleteDBCluster"]["Resource"] == [prefix + "cluster:old-" + TARGET]
    assert sorted(statements["DeleteDBInstance"]["Resource"]) == sorted(prefix + "db:old-" + n for n in MEMBERS)
    creates = statements["CreateDBInstance"]["Resource"]
    assert {prefix + "db:temp-" + n for n in MEMBERS} | {prefix + "cluster:temp-" + TARGET} <= set(creates)
    renamed = set(statements["ModifyDBCluster"]["Resource"])
    assert renamed == {prefix + "cluster:" + n for n in (TARGET, "temp-" + TARGET, "old-" + TARGET)}
    named_dbs = {arn.split(":db:")[1] for s in statements.values() for arn in s["Resource"] if ":db:" in arn}
    assert not [n for n in named_dbs if n != "*" and n.startswith(SOURCE)]
    assert mutating(endpoint) == []


def test_graph_facts_of_a_cluster(endpoint, playbook, tmp_path):
    seeded(endpoint)
    out = tmp_path / "graph.json"
    result = playbook("tests/functional/playbooks/graph.yml", {"identifier": "mitosis-aurora-demo-3", "out": str(out)})
    assert result.rc == 0, result
    graph = json.loads(out.read_text())
    assert graph["root"] == TARGET and graph["members"] == MEMBERS
    assert graph["cluster"]["writer"] == "mitosis-aurora-demo-1"
    assert graph["cluster"]["tags"] == {"Service": "Mitosis", "Environment": "demo"}
    assert [n["writer"] for n in graph["nodes"]] == [True, False, False]
