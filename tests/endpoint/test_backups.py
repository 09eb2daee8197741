"""Correction 7 (backups): an instance whose backups are off has no automated snapshot, and a snapshot restore takes
BackupRetentionPeriod=0 as RDS does (a masked clone must not be backed up before it is masked)."""

import time


def automated(api, name):
    return [s for s in api.rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
            if s["DBInstanceIdentifier"] == name]


def test_an_instance_without_backups_has_no_automated_snapshot(api):
    api.primary("db", BackupRetentionPeriod=0)
    assert api.describe("db")["BackupRetentionPeriod"] == 0
    assert automated(api, "db") == []


def test_a_snapshot_restore_without_backups_starts_with_backups_off(api):
    api.primary("db", BackupRetentionPeriod=7)
    api.rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="db-snap")
    api.settle()
    deadline = time.monotonic() + 10
    while api.rds.describe_db_snapshots(DBSnapshotIdentifier="db-snap")["DBSnapshots"][0]["Status"] != "available":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    api.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="restored", DBSnapshotIdentifier="db-snap",
                                                 DBInstanceClass="db.t3.micro", BackupRetentionPeriod=0)
    api.settle()
    assert api.describe("restored")["BackupRetentionPeriod"] == 0
    assert automated(api, "restored") == []
    # Without the parameter, the snapshot's retention.
    api.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="kept", DBSnapshotIdentifier="db-snap",
                                                 DBInstanceClass="db.t3.micro")
    api.settle()
    assert api.describe("kept")["BackupRetentionPeriod"] == 7
