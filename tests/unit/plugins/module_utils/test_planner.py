# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.planner import plan_clone
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions, flight_plan, own_tags

from .rds_state import Account, instance, repeats, run_waves, seed_attrs

SERVICE = {"Key": "Service", "Value": "Mitosis"}


def seed_account():
    """The seed README's example: mitosis-prod -> mitosis-prod-replica, mitosis-demo -> mitosis-demo-replica."""
    return Account([
        instance("mitosis-prod", DBInstanceClass="db.r5.large", Endpoint={"Port": 3306}),
        instance("mitosis-prod-replica", parent="mitosis-prod", Endpoint={"Port": 3306}),
        instance("mitosis-demo", PreferredMaintenanceWindow="tue:07:02-tue:08:00", PreferredBackupWindow="05:30-06:20",
                 **seed_attrs(5430, [SERVICE])),
        instance("mitosis-demo-replica", parent="mitosis-demo", BackupRetentionPeriod=0,
                 PreferredMaintenanceWindow="mon:07:30-mon:08:00", PreferredBackupWindow="06:40-07:10",
                 **seed_attrs(5431, [SERVICE, {"Key": "IsReplica", "Value": "true"}])),
    ])


def lone_account():
    return Account([instance("prod"), instance("demo", DBInstanceClass="db.t3.small", Endpoint={"Port": 3307})])


WINDOWS = dict(PreferredMaintenanceWindow="sun:05:00-sun:06:00", PreferredBackupWindow="03:00-04:00")


def siblings_account():
    return Account([
        instance("pg-prod", engine="postgres"),
        instance("pg-demo", engine="postgres", Endpoint={"Port": 5433}),
        instance("pg-demo-r1", engine="postgres", parent="pg-demo", BackupRetentionPeriod=0, **WINDOWS),
        instance("pg-demo-r2", engine="postgres", parent="pg-demo", BackupRetentionPeriod=0, **WINDOWS),
    ])


def cascade_account():
    return Account([
        instance("prod"),
        instance("demo"),
        instance("demo-r1", parent="demo"),
        instance("demo-r1a", parent="demo-r1", BackupRetentionPeriod=0, **WINDOWS),
        instance("demo-r2", parent="demo", BackupRetentionPeriod=0),
    ])


def snapshot_account():
    return Account(
        [instance("prod", DBSubnetGroup={"DBSubnetGroupName": "prod-net", "VpcId": "vpc-prod"}),
         instance("demo", BackupRetentionPeriod=7,
                  DBSubnetGroup={"DBSubnetGroupName": "demo-net", "VpcId": "vpc-demo"}),
         instance("demo-r", parent="demo", BackupRetentionPeriod=0,
                  DBSubnetGroup={"DBSubnetGroupName": "demo-net", "VpcId": "vpc-demo"})],
        snapshots=[
            {"DBSnapshotIdentifier": "rds:prod-old", "DBInstanceIdentifier": "prod", "Status": "available",
             "SnapshotCreateTime": "2026-11-01T00:00:00"},
            {"DBSnapshotIdentifier": "rds:prod-new", "DBInstanceIdentifier": "prod", "Status": "available",
             "SnapshotCreateTime": "2026-11-20T00:00:00"},
            {"DBSnapshotIdentifier": "rds:prod-creating", "DBInstanceIdentifier": "prod", "Status": "creating",
             "SnapshotCreateTime": "2026-11-23T00:00:00"},
        ])


def managed_account():
    """A source and a target whose master passwords Secrets Manager manages (the target's with its own key)."""
    secret = {"SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-demo", "SecretStatus": "active",
              "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/demo"}
    return Account([
        instance("prod", MasterUserSecret=dict(secret, SecretArn=secret["SecretArn"] + "prod")),
        instance("prod-r", parent="prod", BackupRetentionPeriod=0),
        instance("demo", MasterUserSecret=secret, BackupRetentionPeriod=7, _tags=[{"Key": "env", "Value": "demo"}]),
        instance("demo-r", parent="demo", BackupRetentionPeriod=0),
    ])


SCENARIOS = {
    "seed": (seed_account, "mitosis-prod", "mitosis-demo", {}),
    "lone": (lone_account, "prod", "demo", {}),
    "siblings": (siblings_account, "pg-prod", "pg-demo", {}),
    "cascade": (cascade_account, "prod", "demo", {}),
    "point_in_time": (snapshot_account, "prod", "demo", {}),
    "snapshot": (snapshot_account, "prod", "demo", {"copy_method": "snapshot"}),
    "managed": (managed_account, "prod", "demo", {"prepare": True}),
    "password": (seed_account, "mitosis-prod", "mitosis-demo", {"password": "s3cret-Pass", "prepare": True,
                                                                "password_source": "master_password"}),
}
# Steps whose completion a later tag step records: interrupted before that tag, they run again.


def plan_of(account, source, target, previous_resource_ids=None, **options):
    return plan_clone(account.graph(), source, target, account.tags_of, account.snapshots_of, CloneOptions(**options),
                      previous_resource_ids)


def calls(plan):
    return [(s.action, s.identifier, s.params) for s in plan.steps if s.action != "Restart"]


def test_seed_example_matches_the_seed_flight_plan():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    replica_tags = [SERVICE, {"Key": "IsReplica", "Value": "true"}]
    assert calls(plan) == [
        ("CreateDBInstanceReadReplica", "temp-mitosis-demo",
         {"Port": 5430, "DBInstanceClass": "db.t3.micro", "Tags": [SERVICE], "OptionGroupName": "default:mysql-5-7",
          "SourceDBInstanceIdentifier": "mitosis-prod", "StorageType": "gp2", "MultiAZ": False}),
        # Backups are enabled by the promotion itself (the seed's separate modify did it later).
        ("PromoteReadReplica", "temp-mitosis-demo", {"BackupRetentionPeriod": 1, "PreferredBackupWindow": "05:30-06:20"}),
        ("ModifyDBInstance", "temp-mitosis-demo",
         {"ApplyImmediately": True, "PreferredMaintenanceWindow": "tue:07:02-tue:08:00",
          "DBParameterGroupName": "default.mysql5.7"}),
        ("CreateDBInstanceReadReplica", "temp-mitosis-demo-replica",
         {"Port": 5431, "DBInstanceClass": "db.t3.micro", "Tags": replica_tags,
          "OptionGroupName": "default:mysql-5-7", "SourceDBInstanceIdentifier": "temp-mitosis-demo",
          "StorageType": "gp2", "MultiAZ": False}),
        ("ModifyDBInstance", "temp-mitosis-demo-replica",
         {"ApplyImmediately": True, "PreferredMaintenanceWindow": "mon:07:30-mon:08:00",
          "PreferredBackupWindow": "06:40-07:10", "DBParameterGroupName": "default.mysql5.7"}),
        ("ModifyDBInstance", "mitosis-demo-replica",
         {"ApplyImmediately": True, "NewDBInstanceIdentifier": "old-mitosis-demo-replica"}),
        ("ModifyDBInstance", "mitosis-demo", {"ApplyImmediately": True, "NewDBInstanceIdentifier": "old-mitosis-demo"}),
        ("ModifyDBInstance", "temp-mitosis-demo-replica",
         {"ApplyImmediately": True, "NewDBInstanceIdentifier": "mitosis-demo-replica"}),
        ("ModifyDBInstance", "temp-mitosis-demo", {"ApplyImmediately": True, "NewDBInstanceIdentifier": "mitosis-demo"}),
        ("DeleteDBInstance", "old-mitosis-demo-replica", {"SkipFinalSnapshot": True}),
        ("DeleteDBInstance", "old-mitosis-demo", {"SkipFinalSnapshot": True}),
    ]
    assert all(s.status == "pending" for s in plan.steps)
    # The restart comes after both names point at the clones and before any delete.
    actions = [s.action for s in plan.steps]
    assert actions.index("Restart") == 9
    text = flight_plan(plan)
    assert "CreateDBInstanceReadReplica temp-mitosis-demo  [pending]" in text
    assert "11 of 12 steps pending" not in text and "12 of 12 steps pending." in text


def test_each_step_depends_only_on_what_it_needs():
    plan = plan_of(siblings_account(), "pg-prod", "pg-demo")
    deps = {s.key: s.depends_on for s in plan.steps}
    kinds = {s.key: s.kind for s in plan.steps}
    # Replicas need their source's backups, which the promotion enables: not the root's own modify,
    # which runs beside them.
    assert deps["create:pg-demo-r1"] == deps["create:pg-demo-r2"] == ["promote:pg-demo"]
    seed_deps = {s.key: s.depends_on for s in plan_of(seed_account(), "mitosis-prod", "mitosis-demo").steps}
    assert seed_deps["modify:mitosis-demo"] == seed_deps["create:mitosis-demo-replica"] == ["promote:mitosis-demo"]
    # A root with nothing to change after its promotion gets no modify at all.
    assert "modify:pg-demo" not in deps
    # The swap waits for the whole copy; each name is taken over once its own holder has moved aside.
    copy = [s.key for s in plan.steps if s.phase == "copy"]
    assert all(deps["swap-out:" + n] == copy for n in ("pg-demo", "pg-demo-r1", "pg-demo-r2"))
    assert all(deps["swap-in:" + n] == ["swap-out:" + n] for n in ("pg-demo", "pg-demo-r1", "pg-demo-r2"))
    assert sorted(deps["restart:pg-demo"]) == ["swap-in:pg-demo", "swap-in:pg-demo-r1", "swap-in:pg-demo-r2"]
    # Leaves are deleted before their parent.
    assert sorted(deps["delete:pg-demo"]) == ["delete:pg-demo-r1", "delete:pg-demo-r2", "restart:pg-demo"]
    assert {kinds[k] for k in deps} == {"create", "promote", "modify", "swap-out", "swap-in", "restart", "delete"}
    by_key = {s.key: s for s in plan.steps}
    for step in plan.steps:
        for dep in step.depends_on:
            assert by_key[dep].wave < step.wave
    waves = {}
    for step in plan.steps:
        waves.setdefault(step.wave, []).append(step.key)
    assert sorted(waves[3]) == ["create:pg-demo-r1", "create:pg-demo-r2"]


def test_cascade_enables_backups_on_intermediate_replicas_only():
    plan = plan_of(cascade_account(), "prod", "demo")
    modifies = {s.identifier: s.params for s in plan.steps if s.key.startswith("modify:")}
    assert modifies["temp-demo-r1"]["BackupRetentionPeriod"] == 1
    assert "BackupRetentionPeriod" not in modifies["temp-demo-r1a"]
    # A leaf with nothing to change after create gets no modify at all.
    assert "temp-demo-r2" not in modifies
    creates = {s.identifier: s.params["SourceDBInstanceIdentifier"] for s in plan.steps
               if s.action == "CreateDBInstanceReadReplica"}
    assert creates == {"temp-demo": "prod", "temp-demo-r1": "temp-demo", "temp-demo-r2": "temp-demo",
                       "temp-demo-r1a": "temp-demo-r1"}
    deletes = [s.identifier for s in plan.steps if s.action == "DeleteDBInstance"]
    assert deletes.index("old-demo-r1a") < deletes.index("old-demo-r1") < deletes.index("old-demo")


def test_snapshot_path_restores_the_newest_available_snapshot_without_promote():
    plan = plan_of(snapshot_account(), "prod", "demo", copy_method="snapshot")
    assert plan.mode == "snapshot"
    first = plan.steps[0]
    assert first.action == "RestoreDBInstanceFromDBSnapshot"
    assert first.params["DBSnapshotIdentifier"] == "rds:prod-new"
    assert first.params["DBSubnetGroupName"] == "demo-net"
    assert "PromoteReadReplica" not in [s.action for s in plan.steps]
    assert plan.steps[1].params["BackupRetentionPeriod"] == 7


def test_restore_snapshot_flag_forces_the_snapshot_path():
    account = seed_account()
    account.snapshots = [{"DBSnapshotIdentifier": "s1", "DBInstanceIdentifier": "mitosis-prod",
                          "Status": "available", "SnapshotCreateTime": "2026-11-01"}]
    plan = plan_of(account, "mitosis-prod", "mitosis-demo", restore_snapshot=True)
    assert plan.steps[0].action == "RestoreDBInstanceFromDBSnapshot"


def run_to_end(account, source, target, **kwargs):
    """Apply the pending steps wave by wave until nothing is pending; returns the applied keys."""
    return run_waves(account, lambda: plan_of(account, source, target, **kwargs))


def structure(account, names):
    return {n: (account.instances[n].get("ReadReplicaSourceDBInstanceIdentifier"),
                (account.instances[n].get("Endpoint") or {}).get("Port"),
                own_tags(account.instances[n].get("_tags") or []),
                account.instances[n].get("DBInstanceClass")) for n in names}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("reverse_within_wave", [False, True])
def test_resume_from_every_interruption_point(scenario, reverse_within_wave):
    make, source, target, options = SCENARIOS[scenario]
    full = plan_of(make(), source, target, **options)
    order = sorted(full.steps, key=lambda s: (s.wave, full.steps.index(s) * (-1 if reverse_within_wave else 1)))
    target_names = [n.name for n in full.nodes]
    for cut in range(len(order) + 1):
        account = make()
        before = structure(account, target_names)
        source_before = copy.deepcopy({n: i for n, i in account.instances.items() if not n.startswith(target)})
        for step in order[:cut]:
            account.apply(step.to_dict())
        resumed = plan_of(account, source, target, previous_resource_ids=full.retiring_resource_ids(), **options)
        assert [s.key for s in resumed.steps] == [s.key for s in full.steps]
        if resumed.phase in ("copy", "swap"):
            assert sorted(resumed.retiring_resource_ids()) == sorted(full.retiring_resource_ids())
        done = {s.key for s in order[:cut]}
        # Restart re-runs on a resumed run while old-* instances remain; a step recorded by a tag re-runs when
        # interrupted before its tag: the only steps that repeat.
        repeated = {s.key for s in full.steps if repeats(s)}
        still_pending = {s.key for s in resumed.pending} - repeated
        assert still_pending == {s.key for s in order[cut:]} - repeated, scenario
        assert not (still_pending & done)
        remaining = run_to_end(account, source, target, previous_resource_ids=full.retiring_resource_ids(), **options)
        assert not set(remaining) & (done - repeated)
        assert sorted(account.instances) == sorted(set(source_before) | set(target_names))
        assert structure(account, target_names) == before
        for name in source_before:
            assert account.instances[name] == source_before[name], "source graph changed"
        finished = plan_of(account, source, target, previous_resource_ids=full.retiring_resource_ids(), **options)
        assert finished.phase == "complete" and not finished.pending


def test_restart_runs_again_while_old_instances_remain():
    account = seed_account()
    full = plan_of(account, "mitosis-prod", "mitosis-demo")
    for step in full.steps:
        if step.action == "Restart":
            break
        account.apply(step.to_dict())
    account.apply(full.step("delete:mitosis-demo-replica").to_dict())
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo")
    assert resumed.step("restart:mitosis-demo").status == "pending"
    assert [s.identifier for s in resumed.pending] == ["mitosis-demo", "old-mitosis-demo"]


def test_modify_translated_keys_compare():
    account = seed_account()
    full = plan_of(account, "mitosis-prod", "mitosis-demo")
    for step in full.steps[:3]:
        account.apply(step.to_dict())
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo")
    assert resumed.step("modify:mitosis-demo").status == "done"
    account.instances["temp-mitosis-demo"]["DBParameterGroups"] = [{"DBParameterGroupName": "other"}]
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo")
    assert resumed.step("modify:mitosis-demo").status == "pending"
    assert "DBParameterGroupName" in resumed.step("modify:mitosis-demo").reason


def failing(account, source, target, match, **kwargs):
    with pytest.raises(MitosisError, match=match) as info:
        plan_of(account, source, target, **kwargs)
    return info.value


def test_validation_missing_source_and_target():
    assert failing(seed_account(), "nope", "mitosis-demo", "Source instance nope was not found").identifier == "nope"
    failing(seed_account(), "mitosis-prod", "nope", "Target instance nope was not found")


def test_validation_same_instance():
    failing(seed_account(), "mitosis-demo", "mitosis-demo", "same instance")


def test_validation_target_in_source_graph_and_vice_versa():
    failing(seed_account(), "mitosis-prod", "mitosis-prod-replica", "part of the source's replication graph")
    failing(seed_account(), "mitosis-demo-replica", "mitosis-demo", "part of the source's replication graph")


def test_validation_target_must_be_a_root():
    account = seed_account()
    account.instances["mitosis-prod-replica"]["ReadReplicaSourceDBInstanceIdentifier"] = "mitosis-demo"
    failing(Account(list(account.instances.values())), "mitosis-prod", "mitosis-demo-replica", "root of its")


def test_validation_name_too_long():
    long_name = "d" * 60
    failing(Account([instance("prod"), instance(long_name)]), "prod", long_name, "too long")


def test_validation_engines_differ():
    failing(Account([instance("prod", engine="postgres"), instance("demo")]), "prod", "demo", "Engines differ")


def test_validation_deletion_protection():
    error = failing(Account([instance("prod"), instance("demo"), instance("demo-r", parent="demo",
                                                                          DeletionProtection=True)]),
                    "prod", "demo", "deletion protection")
    assert error.identifier == "demo-r" and "no-deletion-protection" in str(error)


def test_validation_snapshot_mode_without_snapshot():
    failing(seed_account(), "mitosis-prod", "mitosis-demo", "No available snapshot of mitosis-prod",
            restore_snapshot=True)
    account = snapshot_account()
    account.snapshots = [s for s in account.snapshots if s["Status"] != "available"]
    failing(account, "prod", "demo", "copy_method=snapshot", copy_method="snapshot")
    account.instances["prod"]["BackupRetentionPeriod"] = 0
    failing(account, "prod", "demo", "the VPCs differ, and prod has no automated backups")


def test_validation_aurora():
    failing(Account([instance("prod", engine="aurora-mysql", DBClusterIdentifier="c1"),
                     instance("demo", engine="aurora-mysql")]), "prod", "demo",
            "prod is an instance of the Aurora cluster c1, and the target is not an Aurora cluster")
    failing(Account([instance("prod"), instance("demo", DBClusterIdentifier="c2")]), "prod", "demo", "Aurora")


def test_validation_reserved_prefix():
    failing(Account([instance("prod"), instance("old-demo")]), "prod", "old-demo", "reserves")
    failing(Account([instance("prod"), instance("demo"), instance("old-timer", parent="demo")]), "prod", "demo",
            "old-timer")


def test_prefix_only_stripped_at_the_start():
    plan = plan_of(Account([instance("prod"), instance("db-temp-x")]), "prod", "db-temp-x")
    assert plan.steps[0].identifier == "temp-db-temp-x"
    assert plan.steps[-1].identifier == "old-db-temp-x"


def test_leftover_temp_with_the_wrong_source_is_an_error():
    account = seed_account()
    account.instances["temp-mitosis-demo"] = instance("temp-mitosis-demo", parent="mitosis-demo-replica")
    failing(Account(list(account.instances.values())), "mitosis-prod", "mitosis-demo", "does not fit")


def test_leftover_temp_child_without_temp_parent_is_an_error():
    account = seed_account()
    account.instances["temp-mitosis-demo-replica"] = instance("temp-mitosis-demo-replica", parent="mitosis-prod")
    failing(Account(list(account.instances.values())), "mitosis-prod", "mitosis-demo", "does not fit")


def test_leftover_old_without_a_clone_is_an_error():
    account = seed_account()
    account.instances["old-mitosis-demo"] = instance("old-mitosis-demo")
    failing(Account(list(account.instances.values())), "mitosis-prod", "mitosis-demo", "old-mitosis-demo does not fit")
    account = seed_account()
    account.apply({"action": "ModifyDBInstance", "identifier": "mitosis-demo-replica",
                   "params": {"NewDBInstanceIdentifier": "old-mitosis-demo-replica"}})
    failing(account, "mitosis-prod", "mitosis-demo", "no clone explains")


def test_cross_region_member_is_reported_not_mistaken_for_local():
    account = seed_account()
    account.instances["mitosis-demo"]["ReadReplicaDBInstanceIdentifiers"] = []
    graph_instances = list(account.instances.values())
    graph_instances[2] = dict(graph_instances[2], ReadReplicaDBInstanceIdentifiers=[
        "mitosis-demo-replica", "arn:aws:rds:eu-west-1:123456789012:db:mitosis-demo-eu"])
    from ansible_collections.mitosis.rds.plugins.module_utils.graph import Graph, graph_facts
    graph = Graph(graph_instances, "us-east-1")
    facts = graph_facts(graph, "mitosis-demo")
    assert facts["members"] == ["mitosis-demo", "mitosis-demo-replica"]
    assert facts["cross_region"] == [{"identifier": "mitosis-demo", "source": None, "replicas": [
        {"identifier": "mitosis-demo-eu", "region": "eu-west-1"}]}]
    with pytest.raises(MitosisError, match="cross-region"):
        plan_clone(graph, "mitosis-prod", "mitosis-demo", account.tags_of, account.snapshots_of)
