"""Aurora DB clusters (correction 12): identifiers never overwritten, members that follow their
cluster, restores and clones built like AWS's, deletes with AWS's rules, modifies and credentials
through the time model, pagination, global clusters, the call record and the controls."""

import pytest

from devtools.rds_endpoint.testing import ControlError, aws_error, is_lock_call

PASSWORD = "not-a-real-password"
NEW_PASSWORD = "a-new-Password-1"
EXISTS = ("DBClusterAlreadyExistsFault", 400)
NOT_FOUND = ("DBClusterNotFoundFault", 404)
BAD_STATE = ("InvalidDBClusterStateFault", 400)
COMBINATION = ("InvalidParameterCombination", 400)


def cluster(api, name, engine="aurora-mysql", **attributes):
    """An available cluster, without members."""
    attributes = {
        "EngineVersion": "8.0.mysql_aurora.3.05.2" if engine == "aurora-mysql" else "15.4",
        "MasterUsername": "mitosis",
        "MasterUserPassword": PASSWORD,
        "BackupRetentionPeriod": 7,
        **attributes,
    }
    if attributes.get("ManageMasterUserPassword"):
        del attributes["MasterUserPassword"]
    api.rds.create_db_cluster(DBClusterIdentifier=name, Engine=engine, **attributes)
    api.settle()
    return describe(api, name)


def member(api, name, cluster_name, engine="aurora-mysql", **attributes):
    api.rds.create_db_instance(
        DBInstanceIdentifier=name,
        DBClusterIdentifier=cluster_name,
        Engine=engine,
        DBInstanceClass=attributes.pop("DBInstanceClass", "db.r6g.large"),
        **attributes,
    )
    api.settle()
    return api.describe(name)


def stack(api, name, members=2, **attributes):
    """A cluster `name` with members `name-1` (the writer), `name-2`, ... (tiers 1, 2, ...)."""
    cluster(api, name, **attributes)
    for n in range(1, members + 1):
        member(api, f"{name}-{n}", name, PromotionTier=n)
    return describe(api, name)


def describe(api, name):
    return api.rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]


def exists(api, name):
    code = None
    try:
        describe(api, name)
    except api.rds.exceptions.DBClusterNotFoundFault:
        code = "DBClusterNotFoundFault"
    return code is None


def members(api, name):
    return {m["DBInstanceIdentifier"]: m["IsClusterWriter"] for m in describe(api, name)["DBClusterMembers"]}


def rename(api, name, new_name, **options):
    api.rds.modify_db_cluster(
        DBClusterIdentifier=name, NewDBClusterIdentifier=new_name, ApplyImmediately=True, **options
    )


def clone(api, name, source, **attributes):
    return api.rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier=name,
        SourceDBClusterIdentifier=source,
        RestoreType="copy-on-write",
        UseLatestRestorableTime=True,
        **attributes,
    )["DBCluster"]


def cluster_snapshots(api, **query):
    return {
        s["DBClusterSnapshotIdentifier"]: s
        for s in api.rds.describe_db_cluster_snapshots(**query)["DBClusterSnapshots"]
    }


# --- identifiers are never overwritten -------------------------------------------------------


def test_a_cluster_is_not_created_over_another(api):
    cluster(api, "c", Port=3307)
    created = aws_error(
        api.rds.create_db_cluster,
        DBClusterIdentifier="C",
        Engine="aurora-postgresql",
        MasterUsername="x",
        MasterUserPassword=PASSWORD,
    )
    assert created == EXISTS
    kept = describe(api, "c")
    assert (kept["Engine"], kept["Port"]) == ("aurora-mysql", 3307)


def test_restores_do_not_overwrite_a_cluster(api):
    stack(api, "src", members=1)
    cluster(api, "taken", Port=3307)
    api.rds.create_db_cluster_snapshot(DBClusterIdentifier="src", DBClusterSnapshotIdentifier="s")
    api.settle()
    for restore_type in ("copy-on-write", "full-copy"):
        assert (
            aws_error(
                api.rds.restore_db_cluster_to_point_in_time,
                DBClusterIdentifier="taken",
                SourceDBClusterIdentifier="src",
                RestoreType=restore_type,
                UseLatestRestorableTime=True,
            )
            == EXISTS
        )
    assert (
        aws_error(
            api.rds.restore_db_cluster_from_snapshot,
            DBClusterIdentifier="taken",
            SnapshotIdentifier="s",
            Engine="aurora-mysql",
        )
        == EXISTS
    )
    assert describe(api, "taken")["Port"] == 3307


def test_a_rename_does_not_overwrite_a_cluster(api):
    cluster(api, "a")
    cluster(api, "b", Port=3307)
    assert aws_error(rename, api, "a", "b") == EXISTS
    assert describe(api, "b")["Port"] == 3307
    assert exists(api, "a")


# --- members follow their cluster ------------------------------------------------------------


def test_a_renamed_cluster_keeps_its_members(api):
    before = stack(api, "c")
    rename(api, "c", "old-c")
    api.settle()
    after = describe(api, "old-c")
    assert members(api, "old-c") == {"c-1": True, "c-2": False}
    assert {api.describe(n)["DBClusterIdentifier"] for n in ("c-1", "c-2")} == {"old-c"}
    assert after["Endpoint"] == before["Endpoint"].replace("c.cluster-", "old-c.cluster-", 1)
    assert after["ReaderEndpoint"].startswith("old-c.cluster-ro-")
    assert after["DbClusterResourceId"] == before["DbClusterResourceId"]
    assert not exists(api, "c")


def test_a_member_is_creating_then_available(api):
    cluster(api, "c")
    api.hold()
    created = api.rds.create_db_instance(
        DBInstanceIdentifier="c-1", DBClusterIdentifier="c", Engine="aurora-mysql",
        DBInstanceClass="db.r6g.large",
    )["DBInstance"]
    assert created["DBInstanceStatus"] == "creating"
    assert api.describe("c-1")["DBInstanceStatus"] == "creating"
    api.settle()
    assert api.describe("c-1")["DBInstanceStatus"] == "available"


def test_no_member_in_a_cluster_that_is_not_available(api):
    cluster(api, "c")
    api.hold()
    api.rds.modify_db_cluster(DBClusterIdentifier="c", Port=3307, ApplyImmediately=True)
    assert (
        aws_error(
            api.rds.create_db_instance,
            DBInstanceIdentifier="c-1",
            DBClusterIdentifier="c",
            Engine="aurora-mysql",
            DBInstanceClass="db.r6g.large",
        )
        == BAD_STATE
    )
    api.settle()
    member(api, "c-1", "c")
    assert members(api, "c") == {"c-1": True}


def test_deleting_the_writer_fails_over_at_once(api):
    cluster(api, "c")
    member(api, "w", "c", PromotionTier=0)
    member(api, "r2", "c", PromotionTier=2)
    member(api, "r1", "c", PromotionTier=1)
    api.hold()
    api.rds.delete_db_instance(DBInstanceIdentifier="w")
    assert api.describe("w")["DBInstanceStatus"] == "deleting"
    assert members(api, "c") == {"w": False, "r2": False, "r1": True}
    api.settle()
    assert members(api, "c") == {"r2": False, "r1": True}


def test_a_member_shows_performance_insights(api):
    cluster(api, "c")
    with_pi = member(api, "c-1", "c", EnablePerformanceInsights=True)
    without = member(api, "c-2", "c")
    assert (with_pi["PerformanceInsightsEnabled"], with_pi["PerformanceInsightsRetentionPeriod"]) == (True, 7)
    assert without["PerformanceInsightsEnabled"] is False
    api.rds.modify_db_instance(DBInstanceIdentifier="c-2", EnablePerformanceInsights=True, ApplyImmediately=True)
    api.settle()
    assert api.describe("c-2")["PerformanceInsightsEnabled"] is True


def test_a_member_has_no_snapshots_of_its_own(api):
    stack(api, "c", members=1)
    assert api.rds.describe_db_snapshots(DBInstanceIdentifier="c-1")["DBSnapshots"] == []
    # A member created again under the same name within the minute (a resumed refresh) is no snapshot clash.
    api.rds.delete_db_instance(DBInstanceIdentifier="c-1")
    api.settle()
    member(api, "c-1", "c")
    assert api.describe("c-1")["DBClusterIdentifier"] == "c"


def test_no_final_snapshot_of_a_member(api):
    stack(api, "c", members=1)
    deleted = aws_error(
        api.rds.delete_db_instance, DBInstanceIdentifier="c-1", FinalDBSnapshotIdentifier="f"
    )
    assert deleted == COMBINATION
    assert api.describe("c-1")["DBInstanceStatus"] == "available"


# --- restores and clones ---------------------------------------------------------------------


def test_a_clone_is_built_like_aws_builds_it(api):
    api.rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="clone-params",
        DBParameterGroupFamily="aurora-mysql8.0",
        Description="clone",
    )
    source = stack(
        api,
        "src",
        StorageEncrypted=True,
        DeletionProtection=True,
        EnableCloudwatchLogsExports=["slowquery"],
        Tags=[{"Key": "Environment", "Value": "production"}],
        ManageMasterUserPassword=True,
    )
    api.hold()
    created = clone(
        api,
        "clone",
        "src",
        Port=3307,
        DBClusterParameterGroupName="clone-params",
        EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=["audit"],
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
        Tags=[{"Key": "Environment", "Value": "demo"}],
    )
    assert created["Status"] == "creating"
    api.settle()
    restored = describe(api, "clone")
    assert restored["CloneGroupId"] and restored["CloneGroupId"] == describe(api, "src")["CloneGroupId"]
    assert restored["DBClusterMembers"] == []
    kept = ("Engine", "EngineVersion", "MasterUsername", "StorageEncrypted", "KmsKeyId", "BackupRetentionPeriod")
    assert {k: restored[k] for k in kept} == {k: source[k] for k in kept}
    assert restored["Port"] == 3307
    assert restored["DBClusterParameterGroup"] == "clone-params"
    assert restored["IAMDatabaseAuthenticationEnabled"] is True
    assert restored["EnabledCloudwatchLogsExports"] == ["audit"]
    assert restored["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 4.0}
    assert restored["TagList"] == [{"Key": "Environment", "Value": "demo"}]
    assert restored["DeletionProtection"] is False
    assert "MasterUserSecret" not in restored
    assert restored["DbClusterResourceId"] != source["DbClusterResourceId"]


def test_a_full_copy_and_a_snapshot_restore_start_on_their_own(api):
    stack(api, "src", members=1, DeletionProtection=True, Tags=[{"Key": "k", "Value": "v"}])
    api.rds.create_db_cluster_snapshot(DBClusterIdentifier="src", DBClusterSnapshotIdentifier="s")
    api.settle()
    api.rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier="full", SourceDBClusterIdentifier="src", UseLatestRestorableTime=True
    )
    arn = cluster_snapshots(api, DBClusterSnapshotIdentifier="s")["s"]["DBClusterSnapshotArn"]
    api.rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="fromsnap", SnapshotIdentifier=arn, Engine="aurora-mysql", Port=3308
    )
    api.settle()
    for name in ("full", "fromsnap"):
        restored = describe(api, name)
        assert (restored["DeletionProtection"], restored["TagList"], restored["DBClusterMembers"]) == (
            False,
            [],
            [],
        )
        assert "CloneGroupId" not in restored
    assert describe(api, "fromsnap")["Port"] == 3308


def test_no_clone_of_a_cluster_without_instances(api):
    cluster(api, "empty")
    assert aws_error(clone, api, "clone", "empty") == BAD_STATE
    assert not exists(api, "clone")


def test_groups_must_exist(api):
    cluster(api, "c")
    missing = aws_error(
        api.rds.create_db_cluster,
        DBClusterIdentifier="d",
        Engine="aurora-mysql",
        MasterUsername="x",
        MasterUserPassword=PASSWORD,
        DBClusterParameterGroupName="nosuch",
    )
    assert missing == ("DBClusterParameterGroupNotFound", 404)
    assert (
        aws_error(api.rds.modify_db_cluster, DBClusterIdentifier="c", DBSubnetGroupName="nosuch")[0]
        == "DBSubnetGroupNotFoundFault"
    )


# --- deletes ---------------------------------------------------------------------------------


def test_a_cluster_delete_needs_a_final_snapshot_or_skip(api):
    cluster(api, "c")
    assert aws_error(api.rds.delete_db_cluster, DBClusterIdentifier="c") == COMBINATION
    assert (
        aws_error(
            api.rds.delete_db_cluster,
            DBClusterIdentifier="c",
            SkipFinalSnapshot=True,
            FinalDBSnapshotIdentifier="f",
        )
        == COMBINATION
    )
    assert exists(api, "c")


def test_a_final_cluster_snapshot_is_creating_until_the_cluster_is_gone(api):
    source = cluster(api, "c")
    api.hold()
    deleted = api.rds.delete_db_cluster(
        DBClusterIdentifier="c", SkipFinalSnapshot=False, FinalDBSnapshotIdentifier="c-final"
    )["DBCluster"]
    assert deleted["Status"] == "deleting"
    assert describe(api, "c")["Status"] == "deleting"
    assert cluster_snapshots(api, DBClusterSnapshotIdentifier="c-final")["c-final"]["Status"] == "creating"
    api.settle()
    assert not exists(api, "c")
    final = cluster_snapshots(api, DBClusterSnapshotIdentifier="c-final")["c-final"]
    assert (final["Status"], final["SnapshotType"], final["DBClusterIdentifier"]) == ("available", "manual", "c")
    assert final["Engine"] == source["Engine"]


def test_deleting_a_cluster_removes_its_automated_snapshots(api):
    cluster(api, "c")
    cluster(api, "other")
    api.rds.create_db_cluster_snapshot(DBClusterIdentifier="c", DBClusterSnapshotIdentifier="manual")
    api.settle()
    assert {s["DBClusterIdentifier"] for s in cluster_snapshots(api, SnapshotType="automated").values()} == {
        "c",
        "other",
    }
    api.rds.delete_db_cluster(DBClusterIdentifier="c", SkipFinalSnapshot=True)
    api.settle()
    assert {s["DBClusterIdentifier"] for s in cluster_snapshots(api, SnapshotType="automated").values()} == {
        "other"
    }
    assert list(cluster_snapshots(api, SnapshotType="manual")) == ["manual"]


# --- modifies and credentials ----------------------------------------------------------------


def test_a_modify_runs_and_shows_what_is_pending(api):
    cluster(api, "c", Port=3306, BackupRetentionPeriod=7)
    api.hold()
    modified = api.rds.modify_db_cluster(
        DBClusterIdentifier="c",
        ApplyImmediately=True,
        Port=3307,
        BackupRetentionPeriod=1,
        EnableIAMDatabaseAuthentication=True,
    )["DBCluster"]
    assert modified["Status"] == "modifying"
    running = describe(api, "c")
    assert (running["Status"], running["Port"], running["BackupRetentionPeriod"]) == ("modifying", 3306, 1)
    assert running["PendingModifiedValues"] == {"IAMDatabaseAuthenticationEnabled": True}
    api.settle()
    done = describe(api, "c")
    assert (done["Status"], done["Port"], done["IAMDatabaseAuthenticationEnabled"]) == ("available", 3307, True)
    assert "PendingModifiedValues" not in done


def test_a_modify_of_a_missing_cluster_is_not_found(api):
    assert aws_error(api.rds.modify_db_cluster, DBClusterIdentifier="nosuch", Port=3307) == NOT_FOUND


def test_a_password_reset_shows_resetting_master_credentials(api):
    cluster(api, "c")
    api.hold()
    api.rds.modify_db_cluster(DBClusterIdentifier="c", MasterUserPassword=NEW_PASSWORD, ApplyImmediately=True)
    running = describe(api, "c")
    assert running["Status"] == "resetting-master-credentials"
    assert running["PendingModifiedValues"] == {"MasterUserPassword": "****"}
    api.settle()
    assert describe(api, "c")["Status"] == "available"


def test_a_managed_secret_is_creating_until_the_modify_completes(api):
    cluster(api, "c")
    api.hold()
    api.rds.modify_db_cluster(DBClusterIdentifier="c", ManageMasterUserPassword=True, ApplyImmediately=True)
    for _ in range(2):  # moto answered `active` from the second read on
        running = describe(api, "c")
        assert (running["Status"], running["MasterUserSecret"]["SecretStatus"]) == ("modifying", "creating")
    api.settle()
    assert describe(api, "c")["MasterUserSecret"]["SecretStatus"] == "active"
    refused = aws_error(
        api.rds.modify_db_cluster, DBClusterIdentifier="c", MasterUserPassword=NEW_PASSWORD, ApplyImmediately=True
    )
    assert refused == COMBINATION


def test_without_apply_immediately_a_rename_waits(api):
    cluster(api, "c")
    api.rds.modify_db_cluster(DBClusterIdentifier="c", NewDBClusterIdentifier="d", ApplyImmediately=False)
    api.settle()
    assert exists(api, "c") and not exists(api, "d")
    assert describe(api, "c")["PendingModifiedValues"] == {"DBClusterIdentifier": "d"}
    api.rds.modify_db_cluster(DBClusterIdentifier="c", ApplyImmediately=True)
    api.settle()
    assert exists(api, "d") and not exists(api, "c")


# --- describe, tags, global clusters ---------------------------------------------------------


def test_describe_db_clusters_pages(api):
    for n in range(25):
        api.rds.create_db_cluster(
            DBClusterIdentifier=f"c{n:02d}", Engine="aurora-postgresql", MasterUsername="x",
            MasterUserPassword=PASSWORD,
        )
    first = api.rds.describe_db_clusters(MaxRecords=20)
    assert len(first["DBClusters"]) == 20 and first.get("Marker")
    rest = api.rds.describe_db_clusters(MaxRecords=20, Marker=first["Marker"])
    assert "Marker" not in rest
    names = [c["DBClusterIdentifier"] for c in first["DBClusters"] + rest["DBClusters"]]
    assert sorted(names) == [f"c{n:02d}" for n in range(25)]


def test_tags_of_a_missing_cluster_are_not_found(api):
    arn = "arn:aws:rds:us-east-1:123456789012:cluster:nosuch"
    assert aws_error(api.rds.list_tags_for_resource, ResourceName=arn) == NOT_FOUND
    assert (
        aws_error(api.rds.add_tags_to_resource, ResourceName=arn, Tags=[{"Key": "k", "Value": "v"}])
        == NOT_FOUND
    )


def test_a_global_clusters_source_is_its_writer(api):
    source = cluster(api, "primary", engine="aurora-postgresql")
    api.rds.create_global_cluster(GlobalClusterIdentifier="g", SourceDBClusterIdentifier=source["DBClusterArn"])
    [global_cluster] = api.rds.describe_global_clusters()["GlobalClusters"]
    assert [(m["DBClusterArn"], m["IsWriter"]) for m in global_cluster["GlobalClusterMembers"]] == [
        (source["DBClusterArn"], True)
    ]
    assert describe(api, "primary")["GlobalClusterIdentifier"] == "g"


# The rest uses the endpoint's controls, or checks what moto already does right.


@pytest.fixture
def held(endpoint_api):
    endpoint_api.hold()
    return endpoint_api


def test_what_moto_already_does_right(endpoint_api):
    api = endpoint_api
    cluster(api, "c", DeletionProtection=True)
    assert aws_error(api.rds.describe_db_clusters, DBClusterIdentifier="nosuch") == NOT_FOUND
    assert aws_error(api.rds.delete_db_cluster, DBClusterIdentifier="nosuch", SkipFinalSnapshot=True) == NOT_FOUND
    assert (
        aws_error(api.rds.delete_db_cluster, DBClusterIdentifier="c", SkipFinalSnapshot=True) == COMBINATION
    )
    missing = aws_error(
        api.rds.create_db_instance,
        DBInstanceIdentifier="x-1",
        DBClusterIdentifier="nosuch",
        Engine="aurora-mysql",
        DBInstanceClass="db.r6g.large",
    )
    assert missing == NOT_FOUND
    # The first member is the writer, the others readers; each keeps its tier and takes the cluster's
    # engine version.
    member(api, "c-b", "c", PromotionTier=3)
    member(api, "c-a", "c", PromotionTier=0)
    assert members(api, "c") == {"c-b": True, "c-a": False}
    assert api.describe("c-a")["PromotionTier"] == 0
    assert api.describe("c-a")["EngineVersion"] == "8.0.mysql_aurora.3.05.2"
    # Renaming a member shows in the cluster's members.
    api.rename("c-a", "c-z")
    assert members(api, "c") == {"c-b": True, "c-z": False}
    # The db-cluster-id filter, of clusters and of instances.
    cluster(api, "d")
    found = api.rds.describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": ["d", "nosuch"]}])
    assert [c["DBClusterIdentifier"] for c in found["DBClusters"]] == ["d"]
    by_cluster = api.rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["c"]}])
    assert sorted(i["DBInstanceIdentifier"] for i in by_cluster["DBInstances"]) == ["c-b", "c-z"]
    # Tags on a cluster's ARN.
    arn = describe(api, "d")["DBClusterArn"]
    api.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert describe(api, "d")["TagList"] == [{"Key": "k", "Value": "v"}]
    api.rds.remove_tags_from_resource(ResourceName=arn, TagKeys=["k"])
    assert api.rds.list_tags_for_resource(ResourceName=arn)["TagList"] == []


def test_a_member_is_deleted_without_snapshot_options_and_a_cluster_whose_members_are_deleting_can_be(held):
    stack(held, "c", members=2)
    assert aws_error(held.rds.delete_db_cluster, DBClusterIdentifier="c", SkipFinalSnapshot=True) == BAD_STATE
    held.rds.delete_db_instance(DBInstanceIdentifier="c-1")
    assert aws_error(held.rds.delete_db_cluster, DBClusterIdentifier="c", SkipFinalSnapshot=True) == BAD_STATE
    held.rds.delete_db_instance(DBInstanceIdentifier="c-2")
    held.rds.delete_db_cluster(DBClusterIdentifier="c", SkipFinalSnapshot=True)
    assert describe(held, "c")["Status"] == "deleting"
    assert (
        aws_error(held.rds.delete_db_cluster, DBClusterIdentifier="c", SkipFinalSnapshot=True) == BAD_STATE
    )
    held.settle()
    assert not exists(held, "c")
    assert not held.exists("c-1") and not held.exists("c-2")


def test_serverless_v1_and_global_clusters_can_be_seeded(endpoint_api):
    api = endpoint_api
    api.rds.create_db_cluster(
        DBClusterIdentifier="sv1",
        Engine="aurora-mysql",
        EngineMode="serverless",
        EngineVersion="5.7.mysql_aurora.2.11.4",
        MasterUsername="x",
        MasterUserPassword=PASSWORD,
        ScalingConfiguration={"MinCapacity": 1, "MaxCapacity": 8},
    )
    api.rds.create_global_cluster(GlobalClusterIdentifier="g", Engine="aurora-postgresql", EngineVersion="15.4")
    api.rds.create_db_cluster(
        DBClusterIdentifier="gc", Engine="aurora-postgresql", EngineVersion="15.4",
        GlobalClusterIdentifier="g", MasterUsername="x", MasterUserPassword=PASSWORD,
    )
    api.settle()
    sv1 = describe(api, "sv1")
    assert (sv1["EngineMode"], sv1["Status"]) == ("serverless", "available")
    assert sv1["ScalingConfigurationInfo"]["MaxCapacity"] == 8
    gc = describe(api, "gc")
    [g] = api.rds.describe_global_clusters()["GlobalClusters"]
    assert [m["DBClusterArn"] for m in g["GlobalClusterMembers"]] == [gc["DBClusterArn"]]
    assert gc["GlobalClusterIdentifier"] == "g"


# --- the time model --------------------------------------------------------------------------


def _statuses(api, name):
    return describe(api, name)["Status"] if exists(api, name) else None


@pytest.mark.parametrize(
    "kind, minutes, start",
    [
        ("cluster-create", 5, lambda api: api.rds.create_db_cluster(
            DBClusterIdentifier="new", Engine="aurora-mysql", MasterUsername="x", MasterUserPassword=PASSWORD)),
        ("cluster-clone", 10, lambda api: clone(api, "new", "src")),
        ("cluster-restore-point-in-time", 20, lambda api: api.rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier="new", SourceDBClusterIdentifier="src", UseLatestRestorableTime=True)),
        ("cluster-restore", 20, lambda api: api.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="new", SnapshotIdentifier="snap", Engine="aurora-mysql")),
    ],
)
def test_cluster_creations_take_their_time(held, kind, minutes, start):
    stack(held, "src", members=1)
    held.rds.create_db_cluster_snapshot(DBClusterIdentifier="src", DBClusterSnapshotIdentifier="snap")
    held.settle()
    start(held)
    held.endpoint.advance(minutes - 0.1)
    assert _statuses(held, "new") == "creating"
    held.endpoint.advance(0.2)
    assert _statuses(held, "new") == "available"


@pytest.mark.parametrize(
    "kind, minutes, status, call",
    [
        ("cluster-modify", 2, "modifying", {"Port": 3307}),
        ("cluster-modify", 2, "modifying", {"ManageMasterUserPassword": True}),
        ("cluster-reset-credentials", 2, "resetting-master-credentials", {"MasterUserPassword": NEW_PASSWORD}),
    ],
)
def test_cluster_modifies_take_their_time(held, kind, minutes, status, call):
    cluster(held, "c")
    held.rds.modify_db_cluster(DBClusterIdentifier="c", ApplyImmediately=True, **call)
    held.endpoint.advance(minutes - 0.1)
    assert _statuses(held, "c") == status
    held.endpoint.advance(0.2)
    assert _statuses(held, "c") == "available"
    if "MasterUserPassword" in call:
        assert held.endpoint.check_cluster_password("c", NEW_PASSWORD)
        assert not held.endpoint.check_cluster_password("c", PASSWORD)


def test_a_cluster_rename_is_renaming_under_the_old_name_then_available_under_the_new(held):
    stack(held, "c", members=1)
    cluster(held, "other")
    rename(held, "c", "old-c")
    assert (_statuses(held, "c"), _statuses(held, "old-c")) == ("renaming", None)
    assert describe(held, "c")["PendingModifiedValues"] == {"DBClusterIdentifier": "old-c"}
    # The new name is taken meanwhile, for a create and for another rename.
    assert aws_error(rename, held, "other", "old-c") == EXISTS
    assert (
        aws_error(
            held.rds.create_db_cluster,
            DBClusterIdentifier="old-c",
            Engine="aurora-mysql",
            MasterUsername="x",
            MasterUserPassword=PASSWORD,
        )
        == EXISTS
    )
    held.endpoint.advance(4.9)
    assert (_statuses(held, "c"), _statuses(held, "old-c")) == ("renaming", None)
    held.endpoint.advance(0.2)
    assert (_statuses(held, "c"), _statuses(held, "old-c")) == (None, "available")
    assert members(held, "old-c") == {"c-1": True}
    # The old name is free at once.
    cluster(held, "c")


def test_a_cluster_delete_lasts_five_minutes(held):
    cluster(held, "c")
    held.rds.delete_db_cluster(DBClusterIdentifier="c", SkipFinalSnapshot=True)
    held.endpoint.advance(4.9)
    assert _statuses(held, "c") == "deleting"
    held.endpoint.advance(0.2)
    assert _statuses(held, "c") is None


def test_durations_can_be_set_for_one_cluster(held):
    cluster(held, "slow")
    cluster(held, "fast")
    held.endpoint.set_duration("cluster-rename", 50, identifier="slow")
    rename(held, "slow", "slow2")
    rename(held, "fast", "fast2")
    held.endpoint.advance(5.1)
    assert (_statuses(held, "fast2"), _statuses(held, "slow")) == ("available", "renaming")
    held.endpoint.advance(45)
    assert _statuses(held, "slow2") == "available"
    assert {"kind": "cluster-rename", "identifier": "slow", "minutes": 50.0} in held.endpoint.durations()


# --- call record, faults, controls -----------------------------------------------------------


def test_cluster_calls_are_recorded_as_mutating(endpoint_api, endpoint):
    stack(endpoint_api, "c", members=1)
    endpoint.clear_calls()
    rename(endpoint_api, "c", "old-c")
    endpoint_api.settle()
    arn = describe(endpoint_api, "old-c")["DBClusterArn"]
    endpoint_api.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "mitosis:lock:run", "Value": "x"}])
    endpoint_api.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "Service", "Value": "x"}])
    endpoint_api.rds.remove_tags_from_resource(ResourceName=arn, TagKeys=["mitosis:lock:run"])
    calls = endpoint.calls()
    summary = [(c["operation"], c["identifier"], c["new_identifier"], c["cluster"], c["mutating"]) for c in calls]
    assert summary[0] == ("ModifyDBCluster", "c", "old-c", "c", True)
    assert summary[1] == ("DescribeDBClusters", "old-c", None, "old-c", False)
    assert [c[3] for c in summary[2:]] == ["old-c"] * 3
    assert [is_lock_call(c) for c in calls[2:]] == [True, False, True]
    assert [c["mutating"] for c in endpoint.mutating_calls()] == [True] * 4


def test_a_fault_status_on_a_cluster_call_and_set_cluster_status(endpoint_api, endpoint):
    stack(endpoint_api, "src", members=1)
    endpoint.add_fault("RestoreDBClusterToPointInTime", identifier="clone", status="failed")
    clone(endpoint_api, "clone", "src")
    assert describe(endpoint_api, "clone")["Status"] == "failed"
    endpoint.set_cluster_status("src", "storage-optimization")
    assert describe(endpoint_api, "src")["Status"] == "storage-optimization"
    assert endpoint_api.describe("src-1")["DBInstanceStatus"] == "available"
    with pytest.raises(ControlError) as missing:
        endpoint.set_cluster_status("nosuch", "failed")
    assert missing.value.status == 404
    with pytest.raises(ControlError) as missing:
        endpoint.check_cluster_password("nosuch", PASSWORD)
    assert missing.value.status == 404
    assert endpoint.check_cluster_password("src", PASSWORD)
