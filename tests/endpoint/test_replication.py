"""Corrections 1-4: replication links across renames, promotion, existing names, backups, deletes."""

from devtools.rds_endpoint.testing import aws_error


def test_renaming_a_source_moves_its_replicas_link(api):
    api.primary("src")
    api.replica("rep", "src")
    api.rename("src", "old-src")
    assert api.describe("rep")["ReadReplicaSourceDBInstanceIdentifier"] == "old-src"
    assert api.describe("old-src")["ReadReplicaDBInstanceIdentifiers"] == ["rep"]


def test_renaming_a_replica_moves_its_sources_link(api):
    api.primary("src")
    api.replica("rep", "src")
    api.rename("rep", "old-rep")
    assert api.describe("src")["ReadReplicaDBInstanceIdentifiers"] == ["old-rep"]
    assert api.describe("old-rep")["ReadReplicaSourceDBInstanceIdentifier"] == "src"


def test_deleting_a_replica_after_renames(api):
    api.primary("src")
    api.replica("rep", "src")
    api.rename("src", "old-src")
    api.rename("rep", "old-rep")
    api.rds.delete_db_instance(DBInstanceIdentifier="old-rep", SkipFinalSnapshot=True)
    api.settle()
    assert not api.exists("old-rep")
    assert api.describe("old-src")["ReadReplicaDBInstanceIdentifiers"] == []


def test_promote_detaches_both_sides(api):
    api.primary("src")
    api.replica("rep", "src")
    api.rds.promote_read_replica(DBInstanceIdentifier="rep")
    api.settle()
    assert "ReadReplicaSourceDBInstanceIdentifier" not in api.describe("rep")
    assert api.describe("src")["ReadReplicaDBInstanceIdentifiers"] == []
    assert api.describe("rep")["BackupRetentionPeriod"] == 1


def test_promoting_a_non_replica_is_an_invalid_state(api):
    api.primary("src")
    assert aws_error(api.rds.promote_read_replica, DBInstanceIdentifier="src") == (
        "InvalidDBInstanceState",
        400,
    )


def test_promoting_a_missing_instance_is_not_found(api):
    assert aws_error(api.rds.promote_read_replica, DBInstanceIdentifier="nope") == (
        "DBInstanceNotFound",
        404,
    )


def test_creating_a_replica_onto_an_existing_identifier(api):
    api.primary("src")
    api.primary("taken", DBInstanceClass="db.m5.large")
    assert aws_error(
        api.rds.create_db_instance_read_replica,
        DBInstanceIdentifier="taken",
        SourceDBInstanceIdentifier="src",
    ) == ("DBInstanceAlreadyExists", 400)
    assert api.describe("taken")["DBInstanceClass"] == "db.m5.large"


def test_renaming_onto_an_existing_identifier(api):
    api.primary("a")
    api.primary("b")
    assert aws_error(
        api.rds.modify_db_instance,
        DBInstanceIdentifier="a",
        NewDBInstanceIdentifier="b",
        ApplyImmediately=True,
    ) == ("DBInstanceAlreadyExists", 400)
    assert api.exists("a")


def test_replica_of_a_source_without_backups_is_refused(api):
    api.primary("src", BackupRetentionPeriod=0)
    assert aws_error(
        api.rds.create_db_instance_read_replica,
        DBInstanceIdentifier="rep",
        SourceDBInstanceIdentifier="src",
    ) == ("InvalidDBInstanceState", 400)


def test_new_replicas_start_without_backups(api):
    api.primary("src", BackupRetentionPeriod=7)
    assert api.replica("rep", "src")["BackupRetentionPeriod"] == 0


def test_replicas_get_their_own_identity_and_aws_defaults(api):
    source = api.primary("src", MultiAZ=True, DeletionProtection=True, CopyTagsToSnapshot=True)
    replica = api.replica("rep", "src")
    assert replica["DbiResourceId"] != source["DbiResourceId"]
    assert replica["InstanceCreateTime"] > source["InstanceCreateTime"]
    assert not (
        replica["MultiAZ"] or replica["DeletionProtection"] or replica["CopyTagsToSnapshot"]
    )


def test_deleting_a_source_promotes_its_replicas(api):
    api.primary("src")
    api.replica("rep", "src")
    api.rds.delete_db_instance(DBInstanceIdentifier="src", SkipFinalSnapshot=True)
    api.settle()
    assert not api.exists("src")
    assert "ReadReplicaSourceDBInstanceIdentifier" not in api.describe("rep")


def test_delete_needs_a_final_snapshot_or_skip(api):
    api.primary("src")
    assert aws_error(api.rds.delete_db_instance, DBInstanceIdentifier="src") == (
        "InvalidParameterCombination",
        400,
    )
    api.rds.delete_db_instance(DBInstanceIdentifier="src", FinalDBSnapshotIdentifier="src-final")
    api.settle()
    assert not api.exists("src")
    assert api.rds.describe_db_snapshots(DBSnapshotIdentifier="src-final")["DBSnapshots"]


def test_promote_enables_backups_with_the_settings_it_is_given(api):
    # The clone's plan leans on this: backups come with the promotion, no separate modify.
    api.primary("src")
    api.replica("rep", "src")
    assert api.describe("rep")["BackupRetentionPeriod"] == 0
    api.rds.promote_read_replica(DBInstanceIdentifier="rep", BackupRetentionPeriod=3,
                                 PreferredBackupWindow="05:30-06:20")
    api.settle()
    promoted = api.describe("rep")
    assert (promoted["BackupRetentionPeriod"], promoted["PreferredBackupWindow"]) == (3, "05:30-06:20")
