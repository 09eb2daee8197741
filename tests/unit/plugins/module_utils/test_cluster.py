# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Aurora cluster planner (cluster.py) against an in-memory account (rds_state.py): the steps and their
parameters, the copy methods, the validations, resuming from every interruption point, refreshing a plan made
earlier, the IAM policy and the flight plan of a cluster refresh."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils.attributes import CLUSTER_READERS, MEMBER_READERS
from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.cluster import ClusterGraph, ClusterPlan, plan_cluster, \
    refresh_cluster
from ansible_collections.mitosis.rds.plugins.module_utils.credentials import PASSWORD_PLACEHOLDER
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions, flight_plan, own_tags
from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy

from .rds_state import REGION, Account, cluster, member, repeats, run_waves, subnet_group

ENV = {"Key": "env", "Value": "demo"}
PROD_NET = subnet_group("prod-net", "vpc-1", ("us-east-1a", "us-east-1b", "us-east-1c"))
DEMO_NET = subnet_group("demo-net", "vpc-1", ("us-east-1a", "us-east-1b"))
DEMO_SECRET = {"SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-demo",
               "SecretStatus": "active", "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/demo-secrets"}
# The target cluster's attributes: every one differs from the source's and from what a restore defaults to.
DEMO_ATTRS = dict(
    DBSubnetGroup="demo-net", Port=3307, DBClusterParameterGroup="demo-cluster-params",
    VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-demo", "Status": "active"},
                       {"VpcSecurityGroupId": "sg-leaving", "Status": "removing"}],
    BackupRetentionPeriod=7, PreferredBackupWindow="03:00-03:30", PreferredMaintenanceWindow="sun:04:00-sun:04:30",
    IAMDatabaseAuthenticationEnabled=True, EnabledCloudwatchLogsExports=["audit", "error"], CopyTagsToSnapshot=True,
    ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 8.0}, BacktrackWindow=3600,
    StorageType="aurora-iopt1", DeletionProtection=False,
    KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/demo",
    _tags=[ENV, {"Key": "mitosis:note", "Value": "left by hand"}],
)
# An instance's own attributes (the cluster holds network, storage and backups).
MEMBER_ATTRS = dict(
    DBParameterGroups=[{"DBParameterGroupName": "demo-params", "ParameterApplyStatus": "in-sync"}],
    PubliclyAccessible=True, AutoMinorVersionUpgrade=False, MonitoringInterval=60,
    MonitoringRoleArn="arn:aws:iam::123456789012:role/rds-monitoring", PerformanceInsightsEnabled=True,
    PerformanceInsightsKMSKeyId="arn:aws:kms:us-east-1:123456789012:key/pi", PerformanceInsightsRetentionPeriod=7,
    CACertificateIdentifier="rds-ca-rsa2048-g1", DeletionProtection=False,
    KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/demo",
)
PROD_SNAPSHOTS = [
    {"DBClusterSnapshotIdentifier": "rds:prod-old", "DBClusterIdentifier": "prod", "Status": "available",
     "SnapshotCreateTime": "2026-11-01T00:00:00", "Engine": "aurora-mysql",
     "EngineVersion": "8.0.mysql_aurora.3.04.0", "_data": "prod"},
    {"DBClusterSnapshotIdentifier": "rds:prod-new", "DBClusterIdentifier": "prod", "Status": "available",
     "SnapshotCreateTime": "2026-11-20T00:00:00", "Engine": "aurora-mysql",
     "EngineVersion": "8.0.mysql_aurora.3.05.2", "_data": "prod"},
    {"DBClusterSnapshotIdentifier": "rds:prod-creating", "DBClusterIdentifier": "prod", "Status": "creating",
     "SnapshotCreateTime": "2026-11-23T00:00:00", "Engine": "aurora-mysql",
     "EngineVersion": "8.0.mysql_aurora.3.05.2", "_data": "prod"},
]


def aurora_account(target_attrs=None, source_attrs=None, demo_group=None, source_members=("prod-w", "prod-r"),
                   extra_instances=(), extra_clusters=()):
    """prod (writer prod-w, reader prod-r) and demo: writer demo-w listed last with the highest promotion tier,
    readers demo-b (tier 1) and demo-a (tier 2), every attribute its own."""
    demo_group = demo_group or DEMO_NET
    prod_members = [member(n, "prod", zone="us-east-1" + "abc"[i], group=PROD_NET)
                    for i, n in enumerate(source_members)]
    demo_members = [
        member("demo-a", "demo", tier=2, zone="us-east-1b", group=demo_group, DBInstanceClass="db.r6g.large",
               PreferredMaintenanceWindow="mon:05:00-mon:05:30", _tags=[ENV, {"Key": "role", "Value": "reader-a"}],
               **MEMBER_ATTRS),
        member("demo-b", "demo", tier=1, zone="us-east-1a", group=demo_group, DBInstanceClass="db.r6g.xlarge",
               PreferredMaintenanceWindow="tue:05:00-tue:05:30",
               _tags=[ENV, {"Key": "mitosis:prepared", "Value": "true"}], **MEMBER_ATTRS),
        member("demo-w", "demo", tier=15, zone="us-east-1b", group=demo_group, DBInstanceClass="db.r6g.2xlarge",
               PreferredMaintenanceWindow="wed:05:00-wed:05:30", _tags=[ENV, {"Key": "role", "Value": "writer"}],
               **MEMBER_ATTRS),
    ]
    demo = cluster("demo", members=["demo-a", "demo-b", "demo-w"], writer="demo-w",
                   **dict(DEMO_ATTRS, **(target_attrs or {})))
    prod = cluster("prod", members=list(source_members), DBSubnetGroup="prod-net", **(source_attrs or {}))
    return Account(prod_members + demo_members + list(extra_instances), clusters=[prod, demo] + list(extra_clusters),
                   cluster_snapshots=PROD_SNAPSHOTS)


def plan_of(account, source="prod", target="demo", previous_resource_ids=None, **options):
    return plan_cluster(account.cluster_graph(), source, target, account.tags_of, account.cluster_snapshots_of,
                        CloneOptions(**options), previous_resource_ids)


def failing(account, match, source="prod", target="demo", **options):
    with pytest.raises(MitosisError, match=match) as info:
        plan_of(account, source, target, **options)
    assert info.value.operation == "plan"
    return info.value


def keys(plan):
    return [s.key for s in plan.steps]


# --- the plan of a writer and two readers ---------------------------------------------------------------------

MEMBER_PARAMS = {
    "DBClusterIdentifier": "temp-demo", "Engine": "aurora-mysql", "DBParameterGroupName": "demo-params",
    "PubliclyAccessible": True, "AutoMinorVersionUpgrade": False, "MonitoringInterval": 60,
    "MonitoringRoleArn": "arn:aws:iam::123456789012:role/rds-monitoring", "EnablePerformanceInsights": True,
    "PerformanceInsightsKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/pi",
    "PerformanceInsightsRetentionPeriod": 7, "CACertificateIdentifier": "rds-ca-rsa2048-g1",
}


def test_plan_of_a_writer_and_two_readers_takes_every_parameter_from_the_target():
    plan = plan_of(aurora_account())
    assert plan.mode == "clone" and plan.phase == "copy"
    assert keys(plan) == [
        "restore-cluster:demo", "modify-cluster:demo", "create:demo-w", "create:demo-b", "create:demo-a",
        "swap-out-cluster:demo", "swap-out:demo-w", "swap-out:demo-b", "swap-out:demo-a",
        "swap-in-cluster:demo", "swap-in:demo-w", "swap-in:demo-b", "swap-in:demo-a", "restart:demo",
        "delete:demo-w", "delete:demo-b", "delete:demo-a", "delete-cluster:demo", "untag:demo"]
    assert all(s.status == "pending" for s in plan.steps)
    steps = {s.key: s for s in plan.steps}
    restore = steps["restore-cluster:demo"]
    assert (restore.action, restore.identifier, restore.cluster) == ("RestoreDBClusterToPointInTime", "temp-demo", True)
    assert restore.params == {
        "DBSubnetGroupName": "demo-net", "VpcSecurityGroupIds": ["sg-demo"], "Port": 3307,
        "DBClusterParameterGroupName": "demo-cluster-params", "EnableIAMDatabaseAuthentication": True,
        "EnableCloudwatchLogsExports": ["audit", "error"], "CopyTagsToSnapshot": True,
        "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 8.0}, "BacktrackWindow": 3600,
        "StorageType": "aurora-iopt1", "BackupRetentionPeriod": 7, "PreferredBackupWindow": "03:00-03:30",
        "Tags": [ENV], "SourceDBClusterIdentifier": "prod", "RestoreType": "copy-on-write",
        "UseLatestRestorableTime": True}
    modify = steps["modify-cluster:demo"]
    assert (modify.action, modify.identifier, modify.cluster, modify.depends_on) == (
        "ModifyDBCluster", "temp-demo", True, ["restore-cluster:demo"])
    assert modify.params == {"ApplyImmediately": True, "PreferredMaintenanceWindow": "sun:04:00-sun:04:30"}
    # The writer first (the first instance of a cluster is its writer), the readers once it is up.
    creates = [(s.identifier, s.action, s.depends_on, s.cluster) for s in plan.steps if s.kind == "create"]
    assert creates == [("temp-demo-w", "CreateDBInstance", ["restore-cluster:demo"], False),
                       ("temp-demo-b", "CreateDBInstance", ["create:demo-w"], False),
                       ("temp-demo-a", "CreateDBInstance", ["create:demo-w"], False)]
    assert steps["create:demo-w"].params == dict(
        MEMBER_PARAMS, DBInstanceClass="db.r6g.2xlarge", PromotionTier=15, AvailabilityZone="us-east-1b",
        PreferredMaintenanceWindow="wed:05:00-wed:05:30", Tags=[ENV, {"Key": "role", "Value": "writer"}])
    assert steps["create:demo-b"].params == dict(
        MEMBER_PARAMS, DBInstanceClass="db.r6g.xlarge", PromotionTier=1, AvailabilityZone="us-east-1a",
        PreferredMaintenanceWindow="tue:05:00-tue:05:30", Tags=[ENV])
    assert steps["create:demo-a"].params["Tags"] == [ENV, {"Key": "role", "Value": "reader-a"}]
    for step in plan.steps:
        assert "DeletionProtection" not in step.params and "KmsKeyId" not in step.params, step.key
        assert not any(t["Key"].startswith("mitosis:") for t in step.params.get("Tags") or []), step.key
    copy_keys = ["restore-cluster:demo", "modify-cluster:demo", "create:demo-w", "create:demo-b", "create:demo-a"]
    assert steps["swap-out-cluster:demo"].depends_on == copy_keys
    assert (steps["swap-out-cluster:demo"].identifier, steps["swap-out-cluster:demo"].params) == (
        "demo", {"ApplyImmediately": True, "NewDBClusterIdentifier": "old-demo"})
    assert (steps["swap-in-cluster:demo"].identifier, steps["swap-in-cluster:demo"].params,
            steps["swap-in-cluster:demo"].depends_on) == (
        "temp-demo", {"ApplyImmediately": True, "NewDBClusterIdentifier": "demo"}, ["swap-out-cluster:demo"])
    for name in ("demo-w", "demo-b", "demo-a"):
        out, back = steps["swap-out:" + name], steps["swap-in:" + name]
        assert (out.action, out.identifier, out.params, out.depends_on, out.cluster) == (
            "ModifyDBInstance", name, {"ApplyImmediately": True, "NewDBInstanceIdentifier": "old-" + name},
            copy_keys, False)
        assert (back.identifier, back.params, back.depends_on) == (
            "temp-" + name, {"ApplyImmediately": True, "NewDBInstanceIdentifier": name}, ["swap-out:" + name])
        delete = steps["delete:" + name]
        assert (delete.action, delete.identifier, delete.depends_on) == (
            "DeleteDBInstance", "old-" + name, ["restart:demo"])
    assert sorted(steps["restart:demo"].depends_on) == sorted(
        ["swap-in-cluster:demo", "swap-in:demo-w", "swap-in:demo-b", "swap-in:demo-a"])
    delete_cluster = steps["delete-cluster:demo"]
    assert (delete_cluster.action, delete_cluster.identifier, delete_cluster.params, delete_cluster.cluster) == (
        "DeleteDBCluster", "old-demo", {"SkipFinalSnapshot": True}, True)
    assert sorted(delete_cluster.depends_on) == ["delete:demo-a", "delete:demo-b", "delete:demo-w", "restart:demo"]
    untag = steps["untag:demo"]
    assert (untag.action, untag.identifier, untag.params, untag.depends_on, untag.cluster) == (
        "RemoveTagsFromResource", "demo", {"TagKeys": ["mitosis:note"]}, ["restart:demo"], True)
    for step in plan.steps:
        for dep in step.depends_on:
            assert steps[dep].wave < step.wave, (dep, step.key)
    assert [s.wave for s in plan.steps] == [1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 7, 7, 7, 8, 7]


def test_no_modify_without_a_maintenance_window_and_no_untag_without_own_tags():
    account = aurora_account(target_attrs={"_tags": [ENV]})
    del account.clusters["demo"]["PreferredMaintenanceWindow"]
    plan = plan_of(account)
    assert "modify-cluster:demo" not in keys(plan) and "untag:demo" not in keys(plan)
    assert plan.step("create:demo-w").depends_on == ["restore-cluster:demo"]
    assert plan.step("swap-out:demo-w").depends_on == [
        "restore-cluster:demo", "create:demo-w", "create:demo-b", "create:demo-a"]


def test_readers_are_ordered_by_promotion_tier_then_name():
    readers = [member(n, "demo", tier=t) for n, t in (("demo-z", 0), ("demo-y", 1), ("demo-x", 1))]
    account = Account([member("prod-w", "prod"), member("demo-w", "demo", tier=0)] + readers, clusters=[
        cluster("prod", members=["prod-w"]),
        cluster("demo", members=["demo-y", "demo-z", "demo-x", "demo-w"], writer="demo-w")])
    plan = plan_of(account)
    assert [s.node for s in plan.steps if s.kind == "create"] == ["demo-w", "demo-z", "demo-x", "demo-y"]
    assert [n.name for n in plan.nodes] == ["demo-w", "demo-z", "demo-x", "demo-y"]
    assert [s.depends_on for s in plan.steps if s.kind == "create"] == [
        ["restore-cluster:demo"], ["create:demo-w"], ["create:demo-w"], ["create:demo-w"]]


def test_a_cluster_of_one_instance():
    account = Account([member("prod-w", "prod"), member("demo-w", "demo")], clusters=[
        cluster("prod", members=["prod-w"]), cluster("demo", members=["demo-w"])])
    plan = plan_of(account)
    assert [s.key for s in plan.steps if s.kind in ("create", "delete")] == [
        "create:demo-w", "delete:demo-w", "delete-cluster:demo"]
    assert "the Aurora cluster demo (1 instance)" in flight_plan(plan)


# --- copy methods ---------------------------------------------------------------------------------------------

def test_point_in_time_is_a_full_copy():
    plan = plan_of(aurora_account(), copy_method="point_in_time")
    assert plan.mode == "point_in_time"
    restore = plan.steps[0]
    assert restore.action == "RestoreDBClusterToPointInTime"
    assert restore.params["RestoreType"] == "full-copy" and restore.params["UseLatestRestorableTime"] is True
    assert restore.params["SourceDBClusterIdentifier"] == "prod"


def test_clone_when_asked():
    plan = plan_of(aurora_account(), copy_method="clone")
    assert plan.mode == "clone" and plan.steps[0].params["RestoreType"] == "copy-on-write"
    assert "copy_method=clone" in plan.why


@pytest.mark.parametrize("options", [{"copy_method": "snapshot"}, {"restore_snapshot": True},
                                     {"copy_method": "snapshot", "restore_snapshot": True}])
def test_snapshot_restores_the_newest_available_cluster_snapshot(options):
    plan = plan_of(aurora_account(), **options)
    assert plan.mode == "snapshot"
    restore = plan.steps[0]
    assert (restore.action, restore.identifier, restore.cluster) == ("RestoreDBClusterFromSnapshot", "temp-demo", True)
    assert restore.params["SnapshotIdentifier"] == "rds:prod-new"
    assert restore.params["Engine"] == "aurora-mysql"
    assert restore.params["EngineVersion"] == "8.0.mysql_aurora.3.05.2"
    assert restore.params["DBSubnetGroupName"] == "demo-net" and restore.params["Port"] == 3307
    assert "SourceDBClusterIdentifier" not in restore.params and "RestoreType" not in restore.params
    assert plan.snapshot["DBClusterSnapshotIdentifier"] == "rds:prod-new"


def test_snapshot_identifier_restores_the_named_snapshot_with_its_version():
    plan = plan_of(aurora_account(), snapshot_identifier="rds:prod-old")
    assert plan.mode == "snapshot" and "snapshot_identifier" in plan.why
    assert plan.steps[0].params["SnapshotIdentifier"] == "rds:prod-old"
    assert plan.steps[0].params["EngineVersion"] == "8.0.mysql_aurora.3.04.0"


def test_snapshot_errors():
    error = failing(aurora_account(), "Cluster snapshot nope was not found", snapshot_identifier="nope")
    assert "describe-db-cluster-snapshots" in error.hint
    failing(aurora_account(), "Cluster snapshot rds:prod-creating is creating, not available",
            snapshot_identifier="rds:prod-creating")
    account = aurora_account()
    account.cluster_snapshots = [s for s in account.cluster_snapshots if s["Status"] != "available"]
    error = failing(account, "No available cluster snapshot of prod", copy_method="snapshot")
    assert "create-db-cluster-snapshot" in error.hint
    failing(aurora_account(), "contradicts copy_method=clone", copy_method="clone", restore_snapshot=True)
    failing(aurora_account(), "contradicts copy_method=point_in_time", copy_method="point_in_time",
            snapshot_identifier="rds:prod-new")


def test_a_named_snapshot_of_another_major_version_is_refused():
    account = aurora_account()
    account.cluster_snapshots.append(dict(PROD_SNAPSHOTS[1], DBClusterSnapshotIdentifier="mysql57",
                                          EngineVersion="5.7.mysql_aurora.2.11.2"))
    failing(account, "Major versions differ", snapshot_identifier="mysql57")


def test_replica_is_refused():
    error = failing(aurora_account(), "copy_method=replica applies to DB instances", copy_method="replica")
    assert "copy_method=clone" in error.hint


def test_unknown_copy_method_is_refused():
    failing(aurora_account(), "copy_method must be one of", copy_method="fork")


def test_a_source_without_instances_falls_back_to_a_snapshot_and_refuses_a_clone():
    account = aurora_account(source_members=())
    plan = plan_of(account)
    assert plan.mode == "snapshot" and "prod has no instances" in plan.why
    assert plan.steps[0].params["SnapshotIdentifier"] == "rds:prod-new"
    error = failing(aurora_account(source_members=()), "copy_method=clone cannot work: prod has no instances",
                    copy_method="clone")
    assert "copy_method=snapshot" in error.hint
    assert plan_of(aurora_account(source_members=()), copy_method="point_in_time").mode == "point_in_time"


def test_another_vpc_in_zones_the_source_lacks_falls_back_to_a_snapshot():
    group = subnet_group("demo-net", "vpc-2", ("us-east-1a", "us-east-1d"))
    plan = plan_of(aurora_account(demo_group=group))
    assert plan.mode == "snapshot"
    assert "vpc-1" in plan.why and "vpc-2" in plan.why and "us-east-1d" in plan.why
    assert "us-east-1a" not in plan.why
    failing(aurora_account(demo_group=group), "copy_method=clone cannot work: prod is in vpc-1", copy_method="clone")


def test_another_vpc_in_the_same_zones_is_cloned():
    group = subnet_group("demo-net", "vpc-2", ("us-east-1a", "us-east-1b"))
    plan = plan_of(aurora_account(demo_group=group))
    assert plan.mode == "clone" and plan.steps[0].params["DBSubnetGroupName"] == "demo-net"


# --- resume from every interruption point ---------------------------------------------------------------------

def resume_account():
    """The target without a stray mitosis: tag (see test_a_stray_own_tag_on_the_target_keeps_the_plan_stable)."""
    return aurora_account(target_attrs={"_tags": [ENV]})


def managed_account():
    """A target whose master password Secrets Manager manages, with its own key."""
    return aurora_account(target_attrs={"MasterUserSecret": DEMO_SECRET, "_tags": [ENV]})


def snapshot_source_account():
    """A source without instances: auto falls back to its newest cluster snapshot."""
    return aurora_account(target_attrs={"_tags": [ENV]}, source_members=())


def other_vpc_account():
    """A target in another VPC, with a subnet in a zone where the source has none: auto restores a snapshot."""
    group = subnet_group("demo-net", "vpc-2", ("us-east-1a", "us-east-1b", "us-east-1d"))
    return aurora_account(target_attrs={"_tags": [ENV]}, demo_group=group)


CLUSTER_SCENARIOS = {
    "other_vpc": (other_vpc_account, {}),
    "clone": (resume_account, {}),
    "point_in_time": (resume_account, {"copy_method": "point_in_time"}),
    "snapshot": (resume_account, {"copy_method": "snapshot"}),
    "no_source_instances": (snapshot_source_account, {}),
    "final_snapshot": (resume_account, {"final_snapshot": True}),
    "password": (resume_account, {"password": "s3cret-Pass", "password_source": "master_password"}),
    "managed_prepare": (managed_account, {"prepare": True}),
}
# Steps whose completion a later tag step records: interrupted before that tag, they run again.
MEMBERS = ("demo-w", "demo-b", "demo-a")


def run_to_end(account, previous_resource_ids, **options):
    """Apply the pending steps wave by wave until nothing is pending; returns the applied keys."""
    return run_waves(account, lambda: plan_of(account, previous_resource_ids=previous_resource_ids, **options))


def shape(account, target="demo"):
    """What the refresh must keep: the cluster's attributes, tags, writer and members, each member's own."""
    desc = account.clusters[target]
    members = {m["DBInstanceIdentifier"]: (m["IsClusterWriter"], m["PromotionTier"]) for m in desc["DBClusterMembers"]}
    return {
        "cluster": {key: read(desc) for key, read in CLUSTER_READERS.items()},
        "engine": (desc["Engine"], desc["EngineMode"]),
        "secret_key": (desc.get("MasterUserSecret") or {}).get("KmsKeyId"),
        "tags": own_tags(desc.get("_tags") or []),
        "members": members,
        "instances": {name: ({key: read(account.instances[name]) for key, read in MEMBER_READERS.items()},
                             own_tags(account.instances[name].get("_tags") or []),
                             account.instances[name]["DBClusterIdentifier"]) for name in members},
    }


def source_of(account):
    return copy.deepcopy((account.clusters["prod"],
                          {n: i for n, i in account.instances.items() if n.startswith("prod")}))


@pytest.mark.parametrize("scenario", sorted(CLUSTER_SCENARIOS))
@pytest.mark.parametrize("reverse_within_wave", [False, True])
def test_resume_from_every_interruption_point(scenario, reverse_within_wave):
    make, options = CLUSTER_SCENARIOS[scenario]
    full = plan_of(make(), **options)
    retiring = full.retiring_resource_ids()
    assert sorted(retiring) == ["cluster-DEMO", "db-DEMOA", "db-DEMOB", "db-DEMOW"]
    order = sorted(full.steps, key=lambda s: (s.wave, full.steps.index(s) * (-1 if reverse_within_wave else 1)))
    repeated = {s.key for s in full.steps if repeats(s)}
    for cut in range(len(order) + 1):
        account = make()
        before, source_before = shape(account), source_of(account)
        for step in order[:cut]:
            account.apply(step.to_dict())
        resumed = plan_of(account, previous_resource_ids=retiring, **options)
        assert keys(resumed) == keys(full), (scenario, cut)
        if scenario != "other_vpc":  # test_the_copy_method_stays_the_same_through_the_cleanup
            assert resumed.mode == full.mode, (scenario, cut)
        if resumed.phase in ("copy", "swap"):
            assert sorted(resumed.retiring_resource_ids()) == sorted(retiring)
        done = {s.key for s in order[:cut]}
        still_pending = {s.key for s in resumed.pending} - repeated
        assert still_pending == {s.key for s in order[cut:]} - repeated, (scenario, cut)
        remaining = run_to_end(account, retiring, **options)
        assert not set(remaining) & (done - repeated), (scenario, cut)
        assert sorted(account.clusters) == ["demo", "prod"]
        assert sorted(account.instances) == sorted(set(source_before[1]) | set(MEMBERS))
        assert shape(account) == before, (scenario, cut)
        assert account.writer_of("demo") == "demo-w"
        new = account.clusters["demo"]
        assert new["_data"] == "prod", "the refreshed cluster holds the source's data"
        assert new["DbClusterResourceId"] not in retiring
        assert all(account.instances[n]["DbiResourceId"] not in retiring for n in MEMBERS)
        assert not [t for t in new.get("_tags") or [] if t["Key"].startswith("mitosis:")]
        # The clone got the password given (the executor sends it in place of the plan's placeholder).
        assert new.get("_password") == (PASSWORD_PLACEHOLDER if "password" in options else None)
        assert source_of(account) == source_before, "source changed"
        finished = plan_of(account, previous_resource_ids=retiring, **options)
        assert finished.phase == "complete" and not finished.pending, (scenario, cut)


def cut_after(account, plan, last, first=None):
    """`account` with the plan's steps applied in order through the step `last` (from the step after `first`)."""
    started = first is None
    for step in plan.steps:
        if started:
            account.apply(step.to_dict())
        if step.key == last:
            return account
        started = started or step.key == first
    raise AssertionError(last)


def test_a_failover_in_the_old_cluster_keeps_the_plan():
    """Deleting old-X of the writer first makes Aurora promote a reader of old-C: the writer (and the plan's order
    of instances) is C's, not old-C's."""
    full = plan_of(resume_account())
    retiring = full.retiring_resource_ids()
    # Aurora promotes a reader of old-demo once its writer old-demo-w is deleted.
    account = cut_after(resume_account(), full, "delete:demo-w")
    assert account.writer_of("old-demo") == "old-demo-b" and account.writer_of("demo") == "demo-w"
    resumed = plan_of(account, previous_resource_ids=retiring)
    assert keys(resumed) == keys(full)
    refreshed = refresh_cluster(ClusterPlan.from_dicts("prod", "demo", full.to_dict()), account.cluster_graph(),
                                retiring)
    assert [s.status for s in refreshed.steps] == [s.status for s in resumed.steps]


def test_the_copy_method_stays_the_same_through_the_cleanup():
    full = plan_of(other_vpc_account())
    assert full.mode == "snapshot"
    account = cut_after(other_vpc_account(), full, "delete:demo-a")
    resumed = plan_of(account, previous_resource_ids=full.retiring_resource_ids())
    assert resumed.phase == "cleanup"
    assert (resumed.mode, resumed.steps[0].action) == ("snapshot", "RestoreDBClusterFromSnapshot")


def test_a_stray_own_tag_on_the_target_keeps_the_plan_stable():
    full = plan_of(aurora_account())
    assert full.step("untag:demo").params == {"TagKeys": ["mitosis:note"]}
    account = cut_after(aurora_account(), full, "swap-out-cluster:demo")
    assert keys(plan_of(account)) == keys(full)


# --- a plan made earlier, refreshed ---------------------------------------------------------------------------

def described_names(account, plan):
    """The graph refresh_cluster gets: a describe of the names the plan reads, nothing else."""
    instances, clusters = plan.read_names()
    return ClusterGraph([i for i in account.described() if i["DBInstanceIdentifier"] in instances],
                        [c for c in account.described_clusters() if c["DBClusterIdentifier"] in clusters], REGION)


@pytest.mark.parametrize("scenario", ["clone", "snapshot", "point_in_time", "managed_prepare", "password"])
def test_refresh_of_an_earlier_plan_marks_as_a_fresh_plan(scenario):
    make, options = CLUSTER_SCENARIOS[scenario]
    full = plan_of(make(), **options)
    retiring = full.retiring_resource_ids()
    given = full.to_dict()
    for cut in range(len(full.steps) + 1):
        account = make()
        for step in full.steps[:cut]:
            account.apply(step.to_dict())
        earlier = ClusterPlan.from_dicts("prod", "demo", given)
        assert earlier.mode == full.mode
        refreshed = refresh_cluster(earlier, described_names(account, earlier), retiring)
        fresh = plan_of(account, previous_resource_ids=retiring, **options)
        assert refreshed.phase == fresh.phase, cut
        assert [(s.key, s.status, s.reason) for s in refreshed.steps] == \
            [(s.key, s.status, s.reason) for s in fresh.steps], (scenario, cut)
        assert refreshed.member_names() == [n.name for n in fresh.nodes] == list(MEMBERS)
        assert sorted(refreshed.retiring_resource_ids()) == sorted(fresh.retiring_resource_ids())


def test_refresh_refuses_a_plan_whose_cluster_gained_an_instance():
    account = resume_account()
    plan = plan_of(account)
    account.apply({"action": "CreateDBInstance", "identifier": "demo-new",
                   "params": {"DBClusterIdentifier": "demo", "Engine": "aurora-mysql", "PromotionTier": 3}})
    earlier = ClusterPlan.from_dicts("prod", "demo", plan.to_dict())
    with pytest.raises(MitosisError, match="The instances of demo changed since the plan was made: it now has "
                                           "demo-w, demo-b, demo-a, demo-new") as info:
        refresh_cluster(earlier, account.cluster_graph())
    assert "Run the same command again" in info.value.hint


def test_a_plan_of_instances_is_not_a_cluster_plan():
    steps = plan_of(resume_account()).to_dict()
    with pytest.raises(MitosisError, match="not a plan for the cluster other"):
        ClusterPlan.from_dicts("prod", "other", steps)
    with pytest.raises(MitosisError, match="not a plan for the cluster demo"):
        ClusterPlan.from_dicts("prod", "demo", steps[2:])


# --- validations: each fails before any change, names the resource and what to do ----------------------------

def test_validation_same_missing_source_and_missing_target():
    error = failing(aurora_account(), r"Source and target are the same cluster \(demo\)", source="demo")
    assert "pick a different one" in error.hint
    error = failing(aurora_account(), "Source cluster nope was not found in region us-east-1", source="nope")
    assert error.identifier == "nope" and "Check the identifier" in error.hint
    error = failing(aurora_account(), "Target cluster nope was not found in region us-east-1", target="nope")
    assert error.identifier == "nope" and "Check the identifier" in error.hint


def test_validation_engines_differ():
    account = aurora_account(source_attrs={"Engine": "aurora-postgresql", "EngineVersion": "15.4"})
    error = failing(account, "Engines differ: source prod runs aurora-postgresql but target demo runs aurora-mysql")
    assert "same engine" in error.hint


@pytest.mark.parametrize("engine,source,target,refused", [
    ("aurora-mysql", "5.7.mysql_aurora.2.11.2", "8.0.mysql_aurora.3.05.2", True),
    ("aurora-mysql", "8.0.mysql_aurora.3.04.0", "8.0.mysql_aurora.3.05.2", False),
    ("aurora-postgresql", "15.4", "14.9", True),
    ("aurora-postgresql", "15.6", "15.4", False),
])
def test_validation_major_versions(engine, source, target, refused):
    account = aurora_account(source_attrs={"Engine": engine, "EngineVersion": source},
                             target_attrs={"Engine": engine, "EngineVersion": target})
    for inst in account.instances.values():
        inst["Engine"] = engine
    if refused:
        error = failing(account, "Major versions differ: source prod runs {0} {1} but target demo runs {2}".format(
            engine, source, target))
        assert "Upgrade the target" in error.hint and error.identifier == "demo"
    else:
        assert plan_of(account).mode == "clone"


def test_validation_target_instance_in_the_source_cluster():
    account = aurora_account()
    account.clusters["demo"]["DBClusterMembers"].append(
        {"DBInstanceIdentifier": "prod-r", "IsClusterWriter": False, "PromotionTier": 1})
    error = failing(account, "Target instance prod-r is a member of the source cluster prod")
    assert error.identifier == "prod-r" and "cluster of its own" in error.hint


def test_validation_global_database_and_read_replica_cluster():
    error = failing(aurora_account(target_attrs={"GlobalClusterIdentifier": "global-demo"}),
                    "Target cluster demo is a member of the global database global-demo")
    assert "remove-from-global-cluster" in error.hint
    error = failing(aurora_account(target_attrs={"ReplicationSourceIdentifier": "arn:aws:rds:eu-west-1:1:cluster:x"}),
                    "Target cluster demo is a read replica of arn:aws:rds:eu-west-1:1:cluster:x")
    assert "promote-read-replica-db-cluster" in error.hint


@pytest.mark.parametrize("side", ["source", "target"])
def test_validation_serverless_v1(side):
    attrs = {"EngineMode": "serverless"}
    account = aurora_account(**{side + "_attrs": attrs})
    name = "prod" if side == "source" else "demo"
    error = failing(account, "{0} cluster {1} is Aurora Serverless v1".format(side.capitalize(), name))
    assert error.identifier == name and "Serverless v2" in error.hint


@pytest.mark.parametrize("side", ["source", "target"])
def test_validation_multi_az_db_cluster(side):
    account = aurora_account(**{side + "_attrs": {"Engine": "mysql", "EngineVersion": "8.0.35"}})
    name = "prod" if side == "source" else "demo"
    failing(account, "{0} {1} is a mysql cluster, not an Aurora cluster".format(
        side.capitalize(), name))


def test_validation_names_too_long():
    long_cluster = "c" * 59
    account = Account([member("prod-w", "prod"), member("demo-w", long_cluster)], clusters=[
        cluster("prod", members=["prod-w"]), cluster(long_cluster, members=["demo-w"])])
    error = failing(account, "too long", target=long_cluster)
    assert error.identifier == long_cluster and "at most 58 characters" in error.hint
    long_member = "m" * 59
    account = Account([member("prod-w", "prod"), member(long_member, "demo")], clusters=[
        cluster("prod", members=["prod-w"]), cluster("demo", members=[long_member])])
    assert failing(account, "too long").identifier == long_member
    longest = "c" * 58
    account = Account([member("prod-w", "prod"), member("m" * 58, longest)], clusters=[
        cluster("prod", members=["prod-w"]), cluster(longest, members=["m" * 58])])
    assert plan_of(account, target=longest).steps[0].identifier == "temp-" + longest


def test_validation_reserved_prefixes():
    account = Account([member("prod-w", "prod"), member("demo-w", "old-demo")], clusters=[
        cluster("prod", members=["prod-w"]), cluster("old-demo", members=["demo-w"])])
    error = failing(account, "Target graph member old-demo starts with 'old-'", target="old-demo")
    assert "Rename it" in error.hint


@pytest.mark.parametrize("name", ["temp-x", "old-timer", "rej-y"])
def test_validation_reserved_prefix_of_an_instance(name):
    account = Account([member("prod-w", "prod"), member("demo-w", "demo"), member(name, "demo")], clusters=[
        cluster("prod", members=["prod-w"]), cluster("demo", members=["demo-w", name])])
    # Refused in any case, before any change; the message must say why and must not advise deleting it.
    with pytest.raises(MitosisError) as info:
        plan_of(account)
    assert info.value.identifier == name
    assert "Target graph member {0} starts with '{1}'".format(name, name.split("-")[0] + "-") in str(info.value)
    assert "Rename it" in info.value.hint


def test_validation_deletion_protection_on_the_target_cluster():
    error = failing(aurora_account(target_attrs={"DeletionProtection": True}),
                    "Target cluster demo has deletion protection enabled, which would block the cleanup of old-demo")
    assert error.identifier == "demo"
    assert "modify-db-cluster --db-cluster-identifier demo --no-deletion-protection" in error.hint
    # Protection on the source is none of the refresh's business.
    assert plan_of(aurora_account(source_attrs={"DeletionProtection": True})).mode == "clone"


def test_validation_deletion_protection_on_old_c_during_the_swap():
    account = aurora_account()
    full = plan_of(account)
    cut_after(account, full, "swap-out-cluster:demo")
    account.clusters["old-demo"]["DeletionProtection"] = True
    error = failing(account, "Target cluster old-demo has deletion protection enabled")
    assert "--db-cluster-identifier old-demo" in error.hint


PROTECTED = {"Key": "mitosis:protected", "Value": "True"}


def test_validation_protected_tag_on_the_cluster_or_an_instance():
    error = failing(aurora_account(target_attrs={"_tags": [ENV, PROTECTED]}), "Target member demo carries the tag "
                    "mitosis:protected=True")
    assert "remove-tags-from-resource --resource-name arn:aws:rds:us-east-1:123456789012:cluster:demo" in error.hint
    account = aurora_account()
    account.instances["demo-a"]["_tags"].append(PROTECTED)
    error = failing(account, "Target member demo-a carries the tag mitosis:protected")
    assert "arn:aws:rds:us-east-1:123456789012:db:demo-a" in error.hint
    account = aurora_account(target_attrs={"_tags": [{"Key": "stage", "Value": "prod"}]})
    failing(account, "stage=prod", protected_tag=("stage", "prod"))


def test_validation_rejected_cluster_and_rollback():
    account = aurora_account(extra_clusters=[cluster("rej-demo")])
    error = failing(account, "rej-demo exists")
    assert error.identifier == "rej-demo" and "delete or rename it by hand" in error.hint
    error = failing(aurora_account(), "rolls back refreshes of DB instances; demo is an Aurora cluster", rollback=True)
    assert "snapshot_identifier" in error.hint


def test_validation_managed_target_secret_with_a_password():
    error = failing(managed_account(), "demo manages its master password in Secrets Manager.*master_password cannot "
                    "apply", password="s3cret-Pass", password_source="master_password")
    assert "Leave it out" in error.hint
    plan = plan_of(managed_account())
    assert plan.warnings == []
    step = plan.step("manage-secret:demo")
    assert (step.action, step.identifier, step.cluster) == ("ModifyDBCluster", "temp-demo", True)
    assert step.params == {"ApplyImmediately": True, "ManageMasterUserPassword": True,
                           "MasterUserSecretKmsKeyId": DEMO_SECRET["KmsKeyId"]}
    assert step.depends_on == ["restore-cluster:demo", "modify-cluster:demo"]


def test_validation_password_rules_and_the_warning_without_one():
    failing(aurora_account(), "The master password from master_password has 3 characters", password="abc",
            password_source="master_password")
    plan = plan_of(aurora_account())
    assert len(plan.warnings) == 1 and "demo (every instance of the clone) will accept prod's master" in \
        plan.warnings[0]


def test_validation_leftover_temp_cluster_of_another_engine():
    account = aurora_account(extra_clusters=[cluster("temp-demo", engine="aurora-postgresql")])
    error = failing(account, "temp-demo runs aurora-postgresql, not demo's engine: it is not a clone for demo")
    assert "Delete the leftover cluster temp-demo" in error.hint


def test_validation_leftover_temp_cluster_without_c():
    account = aurora_account()
    cut_after(account, plan_of(account), "swap-out-cluster:demo")
    account.apply({"action": "ModifyDBCluster", "identifier": "old-demo", "cluster": True,
                   "params": {"NewDBClusterIdentifier": "elsewhere"}})
    account.apply({"action": "ModifyDBInstance", "identifier": "demo-w",
                   "params": {"NewDBInstanceIdentifier": "elsewhere-w"}})
    account.apply({"action": "ModifyDBInstance", "identifier": "demo-b",
                   "params": {"NewDBInstanceIdentifier": "elsewhere-b"}})
    account.apply({"action": "ModifyDBInstance", "identifier": "demo-a",
                   "params": {"NewDBInstanceIdentifier": "elsewhere-a"}})
    error = failing(account, "temp-demo exists but demo does not: it does not fit this refresh")
    assert error.identifier == "temp-demo" and "Delete or rename the leftover cluster temp-demo" in error.hint


@pytest.mark.parametrize("owner", [None, "other"])
def test_validation_leftover_temp_instance_outside_temp_c(owner):
    extra = member("temp-demo-b", owner or "none")
    if owner is None:
        del extra["DBClusterIdentifier"]
    account = aurora_account(extra_instances=[extra], extra_clusters=[cluster("other")] if owner else [])
    error = failing(account, "temp-demo-b belongs to {0}, not to temp-demo".format(owner or "no cluster"))
    assert error.identifier == "temp-demo-b" and "Delete the leftover instance temp-demo-b" in error.hint


def test_validation_leftover_temp_instance_without_x():
    account = aurora_account(extra_instances=[member("temp-demo-z", "temp-demo")],
                             extra_clusters=[cluster("temp-demo", members=["temp-demo-z"])])
    error = failing(account, "temp-demo-z exists but demo-z is not an instance of demo")
    assert "Delete the leftover instance temp-demo-z" in error.hint


# --- the IAM policy of a cluster refresh ----------------------------------------------------------------------

ARN = "arn:aws:rds:us-east-1:123456789012:"


def policy_of(plan, secret=None):
    document = iam_policy(plan, "123456789012", "us-east-1", secret)
    assert all(len(s["Action"]) == 1 and s["Effect"] == "Allow" for s in document["Statement"])
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(sids) == len(set(sids))
    return {s["Sid"]: s["Resource"] for s in document["Statement"]}


def named(resources, kind):
    """The names of `kind` (db, cluster, cluster-snapshot...) among ARNs of the account and region."""
    return sorted(r[len(ARN) + len(kind) + 1:] for r in resources if r.startswith(ARN + kind + ":"))


def test_policy_of_a_clone_names_clusters_for_cluster_calls_and_instances_for_theirs():
    plan = plan_of(aurora_account())
    rds = policy_of(plan)
    # The target's Enhanced Monitoring role is passed to RDS with the instance that uses it.
    assert rds.pop("PassMonitoringRole") == ["arn:aws:iam::123456789012:role/rds-monitoring"]
    assert all(r.startswith(ARN) for resources in rds.values() for r in resources)
    assert rds["DescribeDBClusters"] == [ARN + "cluster:*"] and rds["DescribeDBInstances"] == [ARN + "db:*"]
    assert named(rds["RestoreDBClusterToPointInTime"], "cluster") == ["prod", "temp-demo"]
    assert {ARN + "cluster-pg:*", ARN + "subgrp:*", ARN + "secgrp:*"} <= set(rds["RestoreDBClusterToPointInTime"])
    assert named(rds["ModifyDBCluster"], "cluster") == ["demo", "old-demo", "temp-demo"]
    assert named(rds["CreateDBInstance"], "db") == ["temp-demo-a", "temp-demo-b", "temp-demo-w"]
    assert named(rds["CreateDBInstance"], "cluster") == ["temp-demo"]
    assert named(rds["ModifyDBInstance"], "db") == sorted(
        n for x in MEMBERS for n in (x, "old-" + x, "temp-" + x))
    assert named(rds["ModifyDBInstance"], "cluster") == []
    assert rds["DeleteDBCluster"] == [ARN + "cluster:old-demo"]
    assert named(rds["DeleteDBInstance"], "db") == ["old-demo-a", "old-demo-b", "old-demo-w"]
    assert len(rds["DeleteDBInstance"]) == 3
    # The lock is a tag on whichever cluster holds the target's name; the clones get their tags at creation.
    lock = ["demo", "old-demo", "rej-demo", "temp-demo"]
    assert named(rds["AddTagsToResource"], "cluster") == lock
    assert named(rds["AddTagsToResource"], "db") == ["temp-demo-a", "temp-demo-b", "temp-demo-w"]
    assert named(rds["RemoveTagsFromResource"], "cluster") == lock
    assert named(rds["RemoveTagsFromResource"], "db") == []
    for sid in ("RestoreDBClusterFromSnapshot", "DescribeDBClusterSnapshots", "CreateDBClusterSnapshot",
                "DeleteDBSnapshot", "CreateDBInstanceReadReplica", "PromoteReadReplica"):
        assert sid not in rds
    # The source cluster only as the clone's source, none of its instances anywhere, nothing deleted but old-*.
    for sid, resources in rds.items():
        assert not [r for r in resources if r.startswith(ARN + "db:prod")], sid
        if sid != "RestoreDBClusterToPointInTime":
            assert ARN + "cluster:prod" not in resources, sid
    assert not any(s["Sid"].startswith("Managed") for s in iam_policy(plan, "123456789012", "us-east-1")["Statement"])


def test_policy_of_a_snapshot_restore_and_a_final_snapshot():
    plan = plan_of(aurora_account(), copy_method="snapshot", final_snapshot=True)
    rds = policy_of(plan)
    assert "RestoreDBClusterToPointInTime" not in rds
    assert named(rds["RestoreDBClusterFromSnapshot"], "cluster-snapshot") == ["rds:prod-new"]
    assert named(rds["RestoreDBClusterFromSnapshot"], "cluster") == ["temp-demo"]
    assert sorted(rds["DescribeDBClusterSnapshots"]) == sorted(
        [ARN + "cluster:prod", ARN + "cluster-snapshot:*", ARN + "cluster-snapshot:rds:prod-new"])
    final = plan.step("delete-cluster:demo").params
    assert final == {"SkipFinalSnapshot": False, "FinalDBSnapshotIdentifier": "demo-final-demo"}
    assert rds["DeleteDBCluster"] == [ARN + "cluster:old-demo"]
    assert rds["CreateDBClusterSnapshot"] == [ARN + "cluster:old-demo", ARN + "cluster-snapshot:demo-final-demo"]
    for sid, resources in rds.items():
        assert not [r for r in resources if r.startswith(ARN + "db:prod")], sid


def test_policy_of_a_snapshot_shared_by_arn_names_that_arn():
    shared = "arn:aws:rds:us-east-1:999999999999:cluster-snapshot:shared"
    account = aurora_account()
    account.cluster_snapshots.append(dict(PROD_SNAPSHOTS[1], DBClusterSnapshotIdentifier=shared))
    rds = policy_of(plan_of(account, snapshot_identifier=shared))
    assert shared in rds["RestoreDBClusterFromSnapshot"] and shared in rds["DescribeDBClusterSnapshots"]


def test_policy_of_a_managed_secret_and_of_a_password_from_a_secret():
    document = iam_policy(plan_of(managed_account()), "123456789012", "us-east-1")
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["ManagedMasterSecretKey"]["Resource"] == [DEMO_SECRET["KmsKeyId"]]
    assert by_sid["ManagedMasterSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!*"]
    plan = plan_of(aurora_account(), password="s3cret-Pass", password_source="master_password_secret app/db")
    by_sid = {s["Sid"]: s for s in iam_policy(plan, "123456789012", "us-east-1", "app/db")["Statement"]}
    assert by_sid["ReadMasterPasswordSecret"]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-??????"]
    assert "temp-demo" in named(by_sid["ModifyDBCluster"]["Resource"], "cluster")


# --- the flight plan --------------------------------------------------------------------------------------------

def test_flight_plan_names_the_cluster_and_the_copy_method():
    text = flight_plan(plan_of(aurora_account()))
    lines = text.splitlines()
    assert lines[0] == "Flight plan: clone prod into the Aurora cluster demo (3 instances) (clone path, phase: copy)"
    assert lines[1] == ("Copy method: clone, because an Aurora clone (copy-on-write) of prod is ready in minutes "
                        "whatever its size.")
    assert lines[2].startswith("Warning: The clone keeps prod's master password")
    assert "wave  1  RestoreDBClusterToPointInTime temp-demo  [pending]" in lines
    assert "wave  6  Restart demo  [pending]" in lines
    assert "wave  8  DeleteDBCluster old-demo  [pending]" in lines
    assert lines[-1] == "19 of 19 steps pending."
    text = flight_plan(plan_of(aurora_account(source_members=())))
    assert "(snapshot path, phase: copy)" in text
    assert "Copy method: snapshot, because prod has no instances, and Aurora clones only a cluster that has one." \
        in text
    assert "RestoreDBClusterFromSnapshot temp-demo  [pending]" in text


def test_flight_plan_of_a_resumed_refresh_says_why_steps_are_skipped():
    account = resume_account()
    full = plan_of(account)
    cut_after(account, full, "swap-in-cluster:demo")
    plan = plan_of(account, previous_resource_ids=full.retiring_resource_ids())
    text = flight_plan(plan)
    assert "(clone path, phase: swap)" in text
    assert "ModifyDBCluster demo  [skip: old-demo exists]" in text
    assert "ModifyDBCluster temp-demo  [skip: demo is the clone]" in text
    assert "ModifyDBInstance demo-w  [skip: old-demo-w exists]" in text
    assert "ModifyDBInstance temp-demo-w  [pending]" in text
    assert text.splitlines()[-1] == "8 of 18 steps pending."


def test_calls_in_progress_stay_pending_with_their_reason():
    account = resume_account()
    full = plan_of(account)
    cut_after(account, full, "restore-cluster:demo")
    account.clusters["temp-demo"]["Status"] = "creating"
    plan = plan_of(account)
    assert (plan.step("restore-cluster:demo").status, plan.step("restore-cluster:demo").reason) == (
        "pending", "temp-demo is being created")
    account.clusters["temp-demo"]["Status"] = "available"
    account.clusters["temp-demo"]["PreferredMaintenanceWindow"] = "SUN:04:00-SUN:04:30"
    assert plan_of(account).step("modify-cluster:demo").status == "done"
    account.clusters["temp-demo"]["PendingModifiedValues"] = {"PreferredMaintenanceWindow": "sun:04:00-sun:04:30"}
    assert plan_of(account).step("modify-cluster:demo").reason == "differs in PreferredMaintenanceWindow"
    del account.clusters["temp-demo"]["PendingModifiedValues"]
    cut_after(account, full, "create:demo-a", first="restore-cluster:demo")
    account.clusters["demo"]["Status"] = "renaming"
    step = plan_of(account).step("swap-out-cluster:demo")
    assert (step.status, step.reason) == ("pending", "rename in progress")
    account.clusters["demo"]["Status"] = "available"
    cut_after(account, full, "delete:demo-a", first="create:demo-a")
    account.clusters["old-demo"]["Status"] = "deleting"
    step = plan_of(account).step("delete-cluster:demo")
    assert (step.status, step.reason) == ("pending", "delete in progress")


# --- review fixes ------------------------------------------------------------------------------------------------

def test_a_plan_handed_over_with_instance_names_is_the_clusters_plan():
    full = plan_of(aurora_account())
    plan = ClusterPlan.from_dicts("prod-r", "demo-a", full.to_dict())
    assert (plan.source, plan.target) == ("prod", "demo")
    with pytest.raises(MitosisError, match="not a plan for the cluster other"):
        ClusterPlan.from_dicts("prod", "other", full.to_dict())


def test_a_temp_cluster_cloned_from_another_cluster_is_refused():
    account = aurora_account(source_attrs={"CloneGroupId": "group-prod"}, extra_clusters=[
        cluster("temp-demo", members=[], CloneGroupId="group-staging")])
    error = failing(account, "temp-demo is a clone of another cluster than prod")
    assert error.identifier == "temp-demo" and "Delete the leftover cluster temp-demo" in error.hint


def test_integrations_network_type_and_data_api_are_carried_over():
    roles = [{"RoleArn": "arn:aws:iam::123456789012:role/s3-import", "FeatureName": "s3Import", "Status": "ACTIVE"},
             {"RoleArn": "arn:aws:iam::123456789012:role/pending", "Status": "PENDING"}]
    plan = plan_of(aurora_account(target_attrs={"AssociatedRoles": roles, "NetworkType": "DUAL",
                                                "HttpEndpointEnabled": True}))
    restore = plan.step("restore-cluster:demo").params
    assert restore["AssociatedRoles"] == [{"RoleArn": "arn:aws:iam::123456789012:role/s3-import",
                                           "FeatureName": "s3Import"}]
    assert restore["NetworkType"] == "DUAL"
    assert plan.step("modify-cluster:demo").params["EnableHttpEndpoint"] is True
    passed = [s for s in iam_policy(plan, "123456789012", "us-east-1")["Statement"] if s["Sid"] == "PassClusterRoles"]
    assert passed[0]["Resource"] == ["arn:aws:iam::123456789012:role/s3-import"]


def test_custom_endpoints_are_named_in_a_warning():
    plan = plan_of(aurora_account(target_attrs={"CustomEndpoints": [
        "reporting.cluster-custom-abc.us-east-1.rds.amazonaws.com"]}))
    assert any("custom endpoints (reporting)" in w and "old-demo" in w for w in plan.warnings)
