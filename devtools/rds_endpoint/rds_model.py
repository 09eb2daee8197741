"""Corrections to moto 5.2.5's RDS instance model, so that it behaves like AWS where the collection relies on it.

`install(sim)` patches moto's RDSBackend and DBInstance classes in this process; the patched methods
keep moto's signatures, so moto's request parsing and response serialisation work unchanged.
"""

import copy
import json
import random
import secrets
import string
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.rds.exceptions import (
    DBClusterNotFoundError,
    DBInstanceAlreadyExists,
    DBParameterGroupNotFoundError,
    DBSnapshotAlreadyExistsError,
    InvalidParameterValue,
    OptionGroupNotFoundFaultError,
    RDSClientError,
    SnapshotQuotaExceededFault,
)
from moto.rds.models import DBInstance, DBSnapshot, MasterUserSecret, RDSBackend, rds_backends

from . import accounts, cluster_model, common
from .timeline import Simulation

_sim: Simulation
_moto: dict[str, Any] = {}
# True while moto's StopDBInstance runs: its snapshot stays instant, as moto made it.
_instant_snapshots = False

# ModifyDBInstance parameters that describe the call rather than a change to the instance.
_CALL_OPTIONS = {
    "db_instance_identifier",
    "new_db_instance_identifier",
    "apply_immediately",
    "allow_major_version_upgrade",
}
# Changes AWS holds for the next maintenance window unless ApplyImmediately is set.
_WINDOWED = {
    "db_instance_identifier",
    "db_instance_class",
    "allocated_storage",
    "storage_type",
    "iops",
    "storage_throughput",
    "engine_version",
    "multi_az",
    "db_subnet_group_name",
    "ca_certificate_identifier",
    "license_model",
}
# Instance attribute -> member of the PendingModifiedValues structure.
_PENDING_NAMES = {
    "db_instance_identifier": "DBInstanceIdentifier",
    "db_instance_class": "DBInstanceClass",
    "allocated_storage": "AllocatedStorage",
    "master_user_password": "MasterUserPassword",
    "port": "Port",
    "backup_retention_period": "BackupRetentionPeriod",
    "multi_az": "MultiAZ",
    "engine_version": "EngineVersion",
    "license_model": "LicenseModel",
    "iops": "Iops",
    "storage_type": "StorageType",
    "ca_certificate_identifier": "CACertificateIdentifier",
    "db_subnet_group_name": "DBSubnetGroupName",
    "storage_throughput": "StorageThroughput",
    "enable_iam_database_authentication": "IAMDatabaseAuthenticationEnabled",
}
# ModifyDBInstance parameter -> the attribute moto serialises (moto ignored Performance Insights).
_PERFORMANCE_INSIGHTS = {
    "enable_performance_insights": "performance_insights_enabled",
    "performance_insights_retention_period": "performance_insights_retention_period",
    "performance_insights_kms_key_id": "performance_insights_kms_key_id",
}
# Parameters that turn on a managed master secret; RDS restores never take them (Oracle's aside).
_SECRET_OPTIONS = {"manage_master_user_password", "master_user_secret_kms_key_id"}
# RestoreDBInstanceToPointInTime parameters about the restore rather than the new instance.
_RESTORE_OPTIONS = _SECRET_OPTIONS | {
    "source_db_instance_identifier",
    "target_db_instance_identifier",
    "restore_time",
    "use_latest_restorable_time",
    "source_dbi_resource_id",
    "source_db_instance_automated_backups_arn",
    "tag_specifications",
}
# What a point-in-time restore keeps of its source unless the call says otherwise. The rest are
# AWS's defaults: single-AZ, the default parameter group, subnet group and security group, no deletion
# protection, no tags, no managed secret, no replication links, a new identity.
_RESTORE_KEPT = (
    "engine",
    "engine_version",
    "db_instance_class",
    "allocated_storage",
    "max_allocated_storage",
    "storage_type",
    "iops",
    "storage_throughput",
    "port",
    "master_username",
    "db_name",
    "license_model",
    "character_set_name",
    "storage_encrypted",
    "kms_key_id",
    "auto_minor_version_upgrade",
    "publicly_accessible",
    "backup_retention_period",
    "preferred_backup_window",
    "preferred_maintenance_window",
    "ca_certificate_identifier",
)
# The characters of the passwords RDS generates: printable ASCII except "/", '"', "@" and space.
_PASSWORD_CHARS = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"
_NO_BACKUPS = (
    "Automated backups are not enabled for this database instance. To enable automated backups, "
    "use ModifyDBInstance to set the backup retention period to a non-zero value."
)
# AWS's wording (RestoreDBInstanceToPointInTime, PointInTimeRestoreNotEnabledFault).
_NO_POINT_IN_TIME = (
    "SourceDBInstanceIdentifier refers to a DB instance with BackupRetentionPeriod equal to 0."
)


def install(sim: Simulation) -> None:
    global _sim
    _sim = sim
    common.install(sim)
    common.patch(
        RDSBackend,
        _moto,
        [
            ("create_db_instance", _create_db_instance),
            ("create_db_instance_read_replica", _create_db_instance_read_replica),
            ("restore_db_instance_from_db_snapshot", _restore_db_instance_from_db_snapshot),
            ("restore_db_instance_to_point_in_time", _restore_db_instance_to_point_in_time),
            ("promote_read_replica", _promote_read_replica),
            ("modify_db_instance", _modify_db_instance),
            ("reboot_db_instance", _reboot_db_instance),
            ("delete_db_instance", _delete_db_instance),
            ("create_db_snapshot", _create_db_snapshot),
            ("stop_db_instance", _stop_db_instance),
            ("copy_db_snapshot", _copy_db_snapshot),
            ("delete_db_snapshot", _delete_db_snapshot),
            ("describe_db_snapshots", _describe_db_snapshots),
            ("modify_db_snapshot_attribute", _modify_db_snapshot_attribute),
        ],
    )
    # An encrypted instance's KmsKeyId is a key's ARN: the managed key aws/rds without one (moto:
    # "default_kms_key_id"), else the key the call names (an id, alias or ARN), which must exist.
    DBInstance.kms_key_id = property(DBInstance.kms_key_id.fget, _set_kms_key_id)
    accounts.install()
    DBInstance.pending_modified_values = property(_pending_modified_values)
    DBInstance.status_infos = property(_status_infos)
    DBInstance.save_automated_backup = _save_automated_backup
    DBInstance.performance_insights_enabled = False
    DBInstance.performance_insights_retention_period = None
    DBInstance.performance_insights_kms_key_id = None
    _moto["secret_status"] = MasterUserSecret.secret_status
    MasterUserSecret.secret_status = property(_secret_status)
    MasterUserSecret._generate_secret_string = _secret_string
    cluster_model.install(sim)


def _save_automated_backup(instance: DBInstance) -> None:
    if not instance.backup_retention_period:
        return  # backups off: RDS takes no automated snapshot (moto took one at every create)
    name = common.automated_snapshot_name(instance.db_instance_identifier, instance.backend.database_snapshots)
    instance.add_event("DB_INSTANCE_BACKUP_START")
    instance.backend.create_auto_snapshot(instance.db_instance_identifier, name)
    instance.add_event("DB_INSTANCE_BACKUP_FINISH")


def set_status(identifier: str, status: str, region: str, account_id: str) -> bool:
    """Put an instance into `status` at once, abandoning whatever it was doing."""
    return common.set_status(rds_backends[account_id][region].databases.get(identifier), status)


def take_automated_snapshot(identifier: str, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> str | None:
    """An automated snapshot of the instance now, as RDS takes one a day in the backup window; its name. None for an
    unknown instance; ValueError for one whose backups are off."""
    db = rds_backends[account_id][region].databases.get(identifier)
    if db is None:
        return None
    if not db.backup_retention_period:
        raise ValueError(f"DB instance {identifier} has no automated backups (BackupRetentionPeriod 0)")
    name = common.automated_snapshot_name(db.db_instance_identifier, db.backend.database_snapshots)
    db.backend.create_auto_snapshot(db.db_instance_identifier, name)
    return name


def bulk_create(
    prefix: str, count: int, region: str, account_id: str = DEFAULT_ACCOUNT_ID, **attributes: Any
) -> list[str]:
    """Create `count` available instances straight in moto's backend: seeding, not an API call."""
    backend = rds_backends[account_id][region]
    names = [f"{prefix}-{n:05d}" for n in range(1, count + 1)]
    for name in names:
        _ensure_free(backend, name)
    attributes.setdefault("engine", "mysql")
    attributes.setdefault("engine_version", "8.0.35")
    attributes.setdefault("db_instance_class", "db.t3.micro")
    for name in names:
        db = DBInstance(backend, db_instance_identifier=name, **attributes)
        db.dbi_resource_id = _new_resource_id()
        backend.databases[name] = db
    return names


def check_password(identifier: str, password: str, region: str, account_id: str) -> bool | None:
    """Whether `password` is the instance's master password now; None for an unknown instance."""
    db = rds_backends[account_id][region].databases.get(identifier)
    return common.check_password(db, password)


# --- patched RDSBackend methods --------------------------------------------------------------


def _create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    _ensure_free(self, db_kwargs["db_instance_identifier"])
    db_kwargs = dict(db_kwargs)
    cluster_id = db_kwargs.get("db_cluster_identifier")
    if cluster_id:
        # An Aurora member: its cluster must exist and be available (moto took any status).
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise DBClusterNotFoundError(
                cluster_id,
                f"The source cluster could not be found or cannot be accessed: {cluster_id}",
            )
        cluster_model.require_available(cluster)
        # A member is in its cluster's subnet group (moto: none).
        if not db_kwargs.get("db_subnet_group_name") and cluster.db_subnet_group_name != "default":
            db_kwargs["db_subnet_group_name"] = cluster.db_subnet_group_name
    if db_kwargs.pop("mitosis_restore", False):
        # moto's restore copies the source's attributes, its secret included: RDS recreates none.
        for key in (*_SECRET_OPTIONS, "master_user_secret"):
            db_kwargs.pop(key, None)
        if "mitosis_retention" in db_kwargs:
            db_kwargs["backup_retention_period"] = db_kwargs.pop("mitosis_retention")[0]
    else:
        common.refuse_password_with_secret(
            db_kwargs.get("manage_master_user_password"), db_kwargs.get("master_user_password")
        )
    # AWS's default option groups always exist; moto only knows the ones created through it.
    option_group = db_kwargs.get("option_group_name") or ""
    if option_group.startswith("default:"):
        db_kwargs = {k: v for k, v in db_kwargs.items() if k != "option_group_name"}
    db = _moto["create_db_instance"](self, db_kwargs)
    if option_group.startswith("default:"):
        db.option_group_name = option_group
    db.dbi_resource_id = _new_resource_id()
    # moto ignored Performance Insights.
    _set_performance_insights(db, db_kwargs)
    if db.db_cluster_identifier is None and common.manages_password(db):
        common.hold_secret(db)
    # Aurora members too (moto: available at once).
    _sim.start("create", db, on_done=lambda: common.activate_secret(db))
    return db


def _create_db_instance_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    identifier = db_kwargs["db_instance_identifier"]
    self._validate_db_identifier(identifier)
    _ensure_free(self, identifier)
    source = self.find_db_from_id(db_kwargs["source_db_instance_identifier"])
    if common.manages_password(source) and not source.engine.startswith("sqlserver"):
        raise RDSClientError(
            "InvalidParameterValue",
            f"Creating read replicas for source instance with engine {source.engine} where "
            "ManageMasterUserPassword is enabled is not supported.",
        )
    _require_available(source)
    if not source.backup_retention_period:
        raise RDSClientError("InvalidDBInstanceState", _NO_BACKUPS)
    # moto shallow-copies the source; give the replica its own lists and identity.
    replica = copy.copy(source)
    for name, value in list(vars(replica).items()):
        if isinstance(value, (list, dict)):
            setattr(replica, name, copy.copy(value))
    replica.created = replica.instance_create_time = utcnow()
    replica.dbi_resource_id = _new_resource_id()
    # The source's managed secret (SQL Server) stays the source's: moto shared it.
    replica.__dict__.pop("master_user_secret", None)
    replica.manage_master_user_password = False
    replica.mitosis_deferred = {}
    # AWS defaults, not the source's values, unless the call asks.
    replica.deletion_protection = replica.multi_az = replica.copy_tags_to_snapshot = False
    replica.update(**db_kwargs)
    replica.set_as_replica()
    if source.region == self.region_name:
        replica.source_db_instance_identifier = source.db_instance_identifier
    # AWS starts every replica without automated backups.
    replica.backup_retention_period = 0
    self.databases[identifier] = replica
    source.add_replica(replica)
    _sim.start("create-replica", replica)
    return replica


def _restore_db_instance_from_db_snapshot(
    self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]
) -> DBInstance:
    overrides = {k: v for k, v in overrides.items() if k not in _SECRET_OPTIONS}
    # moto drops every false override, BackupRetentionPeriod=0 among them (the snapshot's retention applied): it goes
    # to the create wrapped, so that the restored instance starts with backups off, as RDS restores it.
    retention = overrides.get("backup_retention_period")
    snapshot = accounts.find_snapshot(self, from_snapshot_id)
    if snapshot.backend is not self and snapshot.encrypted:
        # AWS: "you can't restore a DB instance from a DB snapshot that is both shared and encrypted. Instead, you can
        # make a copy of the DB snapshot and restore the DB instance from the copy." (error code unverified)
        raise InvalidParameterValue(
            f"DB snapshot {from_snapshot_id} is shared with this account and encrypted: a DB instance can't be "
            "restored from it; copy it (CopyDBSnapshot with a KmsKeyId of this account) and restore the copy."
        )
    kept = {"mitosis_retention": (retention,)} if retention is not None else {}
    db = _restore_from(self, snapshot, {**overrides, "mitosis_restore": True, **kept})
    # moto copies these from the snapshot's instance; a restored instance starts on its own.
    db.source_db_instance_identifier = None
    db.deletion_protection = bool(overrides.get("deletion_protection"))
    _sim.start("restore", db)
    return db


def _restore_db_instance_to_point_in_time(
    self: RDSBackend,
    source_db_identifier: str,
    target_db_identifier: str,
    overrides: dict[str, Any],
) -> DBInstance:
    # moto deep-copied every attribute of the source (its replication links and managed secret
    # included) into the new instance; build it from what RDS keeps instead.
    if overrides.get("restore_time") and overrides.get("use_latest_restorable_time"):
        raise RDSClientError(
            "InvalidParameterCombination",
            "RestoreTime can't be specified together with UseLatestRestorableTime.",
        )
    source = self.describe_db_instances(source_db_identifier)[0]
    target = (target_db_identifier or "").lower()
    self._validate_db_identifier(target)
    _ensure_free(self, target)
    if not source.backup_retention_period:
        raise RDSClientError("PointInTimeRestoreNotEnabled", _NO_POINT_IN_TIME)
    if (overrides.get("allocated_storage") or source.allocated_storage) < source.allocated_storage:
        raise RDSClientError(
            "InvalidParameterValue",
            "The allocated storage size can't be less than the source instance size.",
        )
    extra: dict[str, Any] = {
        "enable_cloudwatch_logs_exports": list(source.enabled_cloudwatch_logs_exports)
    }
    if getattr(source, "option_group_supplied", False):
        extra["option_group_name"] = source.option_group_name
    kwargs = common.restore_kwargs(source, _RESTORE_KEPT, overrides, _RESTORE_OPTIONS, extra)
    kwargs["db_instance_identifier"] = target
    db = _create_db_instance(self, kwargs)
    _sim.start("restore-point-in-time", db)
    return db


def _promote_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    db = self.describe_db_instances(db_kwargs["db_instance_identifier"])[0]
    if not db.is_replica:
        raise RDSClientError("InvalidDBInstanceState", "DB Instance is not a read replica.")
    _require_available(db)
    retention = db_kwargs.get("backup_retention_period", 1)
    window = db_kwargs.get("preferred_backup_window")

    def done() -> None:
        _detach(self, db)
        db.update(backup_retention_period=retention, preferred_backup_window=window)

    _sim.start("promote", db, on_done=done)
    return db


def _modify_db_instance(
    self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]
) -> DBInstance:
    db = self.describe_db_instances(db_instance_identifier)[0]
    _require_available(db)
    changes = {k: v for k, v in db_kwargs.items() if k not in _CALL_OPTIONS and v is not None}
    for name, attribute in _PERFORMANCE_INSIGHTS.items():
        if name in changes:
            changes[attribute] = changes.pop(name)
    if "db_port_number" in changes:
        changes["port"] = changes.pop("db_port_number")
    new_id = (db_kwargs.get("new_db_instance_identifier") or "").lower()
    if new_id and new_id != db.db_instance_identifier:
        self._validate_db_identifier(new_id)
        _ensure_free(self, new_id)
        changes["db_instance_identifier"] = new_id
    _validate_changes(self, db, changes, bool(db_kwargs.get("apply_immediately")))
    manage = changes.pop("manage_master_user_password", None)
    kms_key_id = changes.pop("master_user_secret_kms_key_id", None)
    _validate_credentials(db, changes, manage)
    manage = common.manage_change(db, manage)
    changes = common.split_deferred(db, changes, db_kwargs.get("apply_immediately"), _WINDOWED)
    if changes or manage is not None:
        _start_modify(self, db, changes, manage, kms_key_id)
    return db


def _reboot_db_instance(self: RDSBackend, db_instance_identifier: str) -> DBInstance:
    db = self.describe_db_instances(db_instance_identifier)[0]
    _require_available(db)
    _sim.start("reboot", db)
    return db


def _delete_db_instance(
    self: RDSBackend,
    db_instance_identifier: str,
    final_db_snapshot_identifier: str | None = None,
    skip_final_snapshot: bool | None = False,
    delete_automated_backups: bool | None = True,
    **_: Any,
) -> DBInstance:
    self._validate_db_identifier(db_instance_identifier)
    db = self.describe_db_instances(db_instance_identifier)[0]
    running = _sim.current(db)
    if running and running.kind == "delete":
        raise RDSClientError(
            "InvalidDBInstanceState",
            f"Instance {db.db_instance_identifier} is already being deleted.",
        )
    # Unlike other calls, a delete is accepted in any status that no operation is driving
    # (e.g. failed or storage-full), as AWS does.
    if running:
        _require_available(db)
    if db.deletion_protection:
        raise RDSClientError(
            "InvalidParameterCombination",
            "Cannot delete protected DB Instance, please disable deletion protection and try again.",
        )
    final_snapshot = None
    member = db.db_cluster_identifier is not None
    if member and final_db_snapshot_identifier:
        # AWS's words: a member's data is the cluster's, snapshots are the cluster's.
        raise RDSClientError(
            "InvalidParameterCombination",
            "FinalDBSnapshotIdentifier can not be specified when deleting a cluster instance",
        )
    if member:
        # SkipFinalSnapshot/FinalDBSnapshotIdentifier do not apply (moto's rule above wanted one).
        _fail_over(self, db)
    elif not skip_final_snapshot:
        common.require_final_snapshot_name(final_db_snapshot_identifier)
        # The final snapshot is a CreateDBSnapshot: only of an available instance (AWS's words).
        _ensure_snapshot_free(self, final_db_snapshot_identifier)
        _require_snapshot_source(db)
        final_snapshot = _moto["create_db_snapshot"](
            self, db.db_instance_identifier, final_db_snapshot_identifier
        )
        # `creating` while the instance is `deleting`, `available` once it is gone.
        final_snapshot.status = "creating"
    # AWS promotes the replicas of a deleted source to standalone instances.
    for replica_id in list(db.replicas):
        replica = self.databases.get(replica_id)
        if replica is None:
            continue
        if _sim.current(replica):
            _detach(self, replica)
        else:
            _sim.start("promote", replica, on_done=lambda replica=replica: _detach(self, replica))

    def remove() -> None:
        _detach(self, db)
        _moto["delete_db_instance"](
            self,
            db.db_instance_identifier,
            skip_final_snapshot=True,
            delete_automated_backups=delete_automated_backups,
        )

    common.start_delete("delete", db, final_snapshot, remove)
    return db


def _stop_db_instance(self: RDSBackend, *args: Any, **kwargs: Any) -> DBInstance:
    # StopDBInstance keeps moto's behaviour, its snapshot (DBSnapshotIdentifier) included.
    global _instant_snapshots
    _instant_snapshots = True
    try:
        return _moto["stop_db_instance"](self, *args, **kwargs)
    finally:
        _instant_snapshots = False


def _create_db_snapshot(
    self: RDSBackend,
    db_instance_identifier: str,
    db_snapshot_identifier: str,
    snapshot_type: str = "manual",
    tags: list[dict[str, str]] | None = None,
    original_created_at: Any = None,
    kms_key_id: str | None = None,
) -> DBSnapshot:
    if snapshot_type != "manual" or _instant_snapshots:
        # moto's automated snapshots (taken when an instance is created) and StopDBInstance's: not modelled.
        return _moto["create_db_snapshot"](
            self,
            db_instance_identifier,
            db_snapshot_identifier,
            snapshot_type,
            tags,
            original_created_at,
            kms_key_id,
        )
    db = self.describe_db_instances(db_instance_identifier)[0]
    _ensure_snapshot_free(self, db_snapshot_identifier)
    _require_snapshot_source(db)
    snapshot = _moto["create_db_snapshot"](
        self,
        db.db_instance_identifier,
        db_snapshot_identifier,
        snapshot_type,
        tags,
        original_created_at,
        kms_key_id,
    )
    # moto made the snapshot `available` at once and left the instance `available`: the instance is
    # `backing-up` and the snapshot `creating` until the snapshot is taken.
    snapshot.status = "creating"

    def taken() -> None:
        snapshot.status = "available"

    def abandoned() -> None:
        snapshot.status = "failed"

    _sim.start("snapshot", db, on_done=taken, on_cancel=abandoned)
    return snapshot


def _copy_db_snapshot(
    self: RDSBackend,
    source_db_snapshot_identifier: str,
    target_db_snapshot_identifier: str,
    kms_key_id: str | None = None,
    tags: list[dict[str, str]] | None = None,
    copy_tags: bool | None = False,
    **_: Any,
) -> DBSnapshot:
    # moto looked for a snapshot named by ARN in the caller's own account, gave the copy the key of the snapshot's
    # instance rather than the snapshot's, and made the copy available at once.
    source = accounts.find_snapshot(self, source_db_snapshot_identifier)
    shared = source.backend is not self
    if source.status != "available":
        raise RDSClientError(
            "InvalidDBSnapshotState",
            f"Snapshot {source.db_snapshot_identifier} is not in available state: it can't be copied.",
        )
    _ensure_snapshot_free(self, target_db_snapshot_identifier)
    if len([s for s in self.database_snapshots.values() if s.snapshot_type == "manual"]) >= self.SNAPSHOT_QUOTA:
        raise SnapshotQuotaExceededFault()
    if shared and source.encrypted:
        # The API reference: a copy of an encrypted snapshot shared from another account must name a key of its own.
        if not kms_key_id:
            raise accounts.not_accessible("target", None)
        accounts.require_source_key(source, self.account_id)
    key_arn = accounts.resolve_key(self.account_id, self.region_name, kms_key_id) if kms_key_id else None
    if copy_tags and not tags:
        tags = source.tags or []
    copied = DBSnapshot(
        self,
        source.database,
        target_db_snapshot_identifier,
        tags=tags,
        kms_key_id=key_arn or (source.kms_key_id if source.encrypted else None),
        original_created_at=source.original_snapshot_create_time,
    )
    if shared:
        # The copy's instance is this account's: another account's groups mean nothing here (a restore takes the
        # request's, or AWS's defaults).
        copied.database.backend = self
        _forget_account_groups(copied.database)
    copied.mitosis_source_arn = source.arn
    self.database_snapshots[copied.db_snapshot_identifier] = copied
    _start_copy("snapshot-copy", copied, copied.db_snapshot_identifier)
    return copied


def _start_copy(kind: str, snapshot: Any, name: str) -> None:
    """The copy is `creating` for the `kind` operation of the time model (named by the copy's identifier), then
    `available`; `failed` if abandoned."""
    snapshot.timeline_name = name

    def abandoned() -> None:
        snapshot.status = "failed"

    _sim.start(kind, snapshot, final_status="available", on_cancel=abandoned)


def _delete_db_snapshot(self: RDSBackend, db_snapshot_identifier: str) -> DBSnapshot:
    snapshot = _moto["delete_db_snapshot"](self, db_snapshot_identifier)
    _sim.cancel(snapshot)  # a copy still `creating` is gone (deleting stays instant)
    return snapshot


_describe_db_snapshots, _modify_db_snapshot_attribute = accounts.snapshot_calls(
    _moto, "db", "DB", "describe_db_snapshots", "modify_db_snapshot_attribute"
)


# --- helpers ---------------------------------------------------------------------------------


def _set_kms_key_id(db: DBInstance, value: str | None) -> None:
    encrypted = bool(db.__dict__.get("_storage_encrypted"))
    db._kms_key_id = accounts.storage_key(db.account_id, db.region, value, encrypted)


def _restore_from(backend: RDSBackend, snapshot: DBSnapshot, overrides: dict[str, Any]) -> DBInstance:
    """moto's restore, from `snapshot` (found by name or ARN, maybe another account's): the snapshot's instance's
    attributes, its encryption, then the request's overrides (moto drops the false ones)."""
    original = snapshot.database
    if overrides["db_instance_identifier"] in backend.databases:
        raise DBInstanceAlreadyExists()
    props: dict[str, Any] = {}
    for key, value in original.__dict__.items():
        key = key[1:] if key.startswith("_") else key
        if key not in ("backend", "db_parameter_group_name", "vpc_security_group_ids", "max_allocated_storage"):
            props[key] = copy.copy(value)
    props["kms_key_id"] = snapshot.kms_key_id
    props["storage_encrypted"] = snapshot.encrypted
    if not original.option_group_supplied or snapshot.backend is not backend:
        del props["option_group_name"]
    if snapshot.backend is not backend:
        # Another account's snapshot: its subnet group is that account's (AWS: the request's, or the default).
        props.pop("db_subnet_group_name", None)
        props.pop("db_subnet_group", None)
    if "allocated_storage" in overrides and overrides["allocated_storage"] < snapshot.allocated_storage:
        raise InvalidParameterValue(
            "The allocated storage size can't be less than the source snapshot or backup size."
        )
    props.update((key, value) for key, value in overrides.items() if value)
    return backend.create_db_instance(props)


def _forget_account_groups(db: DBInstance) -> None:
    """A snapshot's instance as another account sees it: no subnet group, default option group."""
    db.db_subnet_group_name = None
    db.db_subnet_group = None
    db.option_group_supplied = False


def _start_modify(
    backend: RDSBackend,
    db: DBInstance,
    changes: dict[str, Any],
    manage: bool | None = None,
    kms_key_id: str | None = None,
) -> None:
    """Start the modify; `manage` True/False turns the managed master secret on/off with it."""
    new_id = changes.pop("db_instance_identifier", None)
    pending = _shown(changes)
    apply = common.secret_change(db, manage, kms_key_id, lambda: db.update(**changes))

    if new_id:
        pending["DBInstanceIdentifier"] = new_id
        op = _sim.start("rename", db, pending=pending, on_done=apply, claim=(backend, new_id))

        def rename() -> None:
            _rename(backend, db, new_id)
            pending.pop("DBInstanceIdentifier")
            op.claim = None

        op.on_phase[1] = rename
    elif changes.get("backup_retention_period") and not db.backup_retention_period:
        _sim.start("enable-backups", db, pending=pending, on_done=apply)
    elif changes.keys() == {"master_user_password"} and manage is None:
        _sim.start("reset-credentials", db, pending=pending, on_done=apply)
    else:
        _sim.start("modify", db, pending=pending, on_done=apply)


def _set_performance_insights(db: DBInstance, kwargs: dict[str, Any]) -> None:
    if kwargs.get("enable_performance_insights"):
        db.performance_insights_enabled = True
        db.performance_insights_retention_period = kwargs.get(
            "performance_insights_retention_period", 7
        )
        db.performance_insights_kms_key_id = kwargs.get("performance_insights_kms_key_id")


def _fail_over(backend: RDSBackend, db: DBInstance) -> None:
    """Deleting the writer of a cluster makes the reader with the lowest PromotionTier the writer."""
    if not getattr(db, "is_cluster_writer", False):
        return
    cluster = backend.clusters.get(db.db_cluster_identifier)
    if cluster is None:
        return
    readers = [
        m for m in cluster._members if m is not db and not cluster_model.is_deleting(m)
    ]
    if readers:
        db.is_cluster_writer = False
        min(readers, key=lambda m: m.promotion_tier).is_cluster_writer = True


def _rename(backend: RDSBackend, db: DBInstance, new_id: str) -> None:
    """Move the instance to its new name, and both ends of its replication links with it."""
    old_id = db.db_instance_identifier
    del backend.databases[old_id]
    db.db_instance_identifier = new_id
    backend.databases[new_id] = db
    for replica_id in db.replicas:
        replica = backend.databases.get(replica_id)
        if replica is not None:
            replica.source_db_instance_identifier = new_id
    source = backend.databases.get(db.source_db_instance_identifier or "")
    if source is not None:
        source.replicas = [new_id if r == old_id else r for r in source.replicas]


def _detach(backend: RDSBackend, db: DBInstance) -> None:
    source = backend.databases.get(db.source_db_instance_identifier or "")
    if source is not None and db.db_instance_identifier in source.replicas:
        source.replicas.remove(db.db_instance_identifier)
    db.is_replica = False
    db.source_db_instance_identifier = None


def _validate_changes(
    backend: RDSBackend, db: DBInstance, changes: dict[str, Any], apply_immediately: bool
) -> None:
    group = changes.get("db_parameter_group_name")
    if (
        group
        and group not in backend.db_parameter_groups
        and not db.is_default_parameter_group(group)
    ):
        raise DBParameterGroupNotFoundError(group)
    if changes.get("db_subnet_group_name"):
        backend.describe_db_subnet_groups(changes["db_subnet_group_name"])  # raises if missing
    option_group = changes.get("option_group_name")
    if (
        option_group
        and option_group not in backend.option_groups
        and not option_group.startswith("default:")
    ):
        raise OptionGroupNotFoundFaultError(option_group)
    rotate = changes.get("rotate_master_user_password")
    common.validate_timing(db, changes, rotate, apply_immediately)


def _validate_credentials(db: DBInstance, changes: dict[str, Any], manage: bool | None) -> None:
    """The master password rules of ModifyDBInstance (`manage`: its ManageMasterUserPassword)."""
    password = changes.get("master_user_password")
    common.validate_password_change(db, "DB instance", db.db_instance_identifier, password, manage)
    if password and db.is_replica and db.engine == "postgres":
        raise RDSClientError(
            "InvalidParameterCombination",
            "Cannot change master user password on an RDS postgres Read Replica because it uses "
            "physical replication and therefore cannot differ from its parent.",
        )
    common.validate_rotation(db, manage, changes.get("rotate_master_user_password"))


def _require_available(db: DBInstance) -> None:
    # The brief `available` in the middle of a rename does not count: the reboot is still to come.
    if common.busy(db):
        raise RDSClientError(
            "InvalidDBInstanceState",
            f"Instance {db.db_instance_identifier} is not in available state.",
        )


def _require_snapshot_source(db: DBInstance) -> None:
    """CreateDBSnapshot (and a delete's final snapshot) needs an available instance, no operation running."""
    if common.busy(db):
        raise RDSClientError(
            "InvalidDBInstanceState",
            f"Cannot create a snapshot because the database instance {db.db_instance_identifier} "
            "is not currently in the available state.",
        )


def _ensure_snapshot_free(backend: RDSBackend, identifier: str) -> None:
    """A snapshot identifier is taken by any snapshot, one still `creating` included (without case)."""
    if identifier.lower() in backend.database_snapshots:
        raise DBSnapshotAlreadyExistsError(identifier)


def _ensure_free(backend: RDSBackend, identifier: str) -> None:
    """An identifier is taken by an instance, or by a rename that has not happened yet."""
    common.ensure_free(backend.databases, backend, identifier, DBInstanceAlreadyExists)


def _shown(changes: dict[str, Any]) -> dict[str, Any]:
    return common.shown(changes, _PENDING_NAMES)


def _new_resource_id() -> str:
    return "db-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=26))


# --- extra DBInstance attributes, serialised by moto like any other -------------------------


def _pending_modified_values(db: DBInstance) -> dict[str, Any]:
    return common.pending_values(db, _shown)


def _status_infos(db: DBInstance) -> list[dict[str, Any]] | None:
    if not db.is_replica:
        return None
    return [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]


def _secret_status(secret: MasterUserSecret) -> str:
    # moto turned `creating` into `active` on the first read; here it lasts until the instance's
    # operation completes.
    if getattr(secret, "mitosis_creating", False):
        return "creating"
    return _moto["secret_status"].fget(secret)


def _secret_string(secret: MasterUserSecret) -> str:
    # RDS stores the master username and a password it generates (moto: "admin" and a fixed one).
    password = "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(32))
    return json.dumps({"username": secret.resource.master_username, "password": password})
