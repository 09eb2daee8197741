"""Corrections to moto 5.2.5's RDS instance model, so that it behaves like AWS where the collection relies on it.

`install(sim)` patches moto's RDSBackend and DBInstance classes in this process; the patched methods
keep moto's signatures, so moto's request parsing and response serialisation work unchanged.
"""

import copy
import random
import string
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.rds.exceptions import (
    DBInstanceAlreadyExists,
    DBParameterGroupNotFoundError,
    OptionGroupNotFoundFaultError,
    RDSClientError,
)
from moto.rds.models import DBInstance, RDSBackend, rds_backends
from moto.rds.utils import valid_preferred_maintenance_window

from .timeline import Simulation

_sim: Simulation
_moto: dict[str, Any] = {}

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
_NO_BACKUPS = (
    "Automated backups are not enabled for this database instance. To enable automated backups, "
    "use ModifyDBInstance to set the backup retention period to a non-zero value."
)


def install(sim: Simulation) -> None:
    global _sim
    _sim = sim
    for name, patched in [
        ("create_db_instance", _create_db_instance),
        ("create_db_instance_read_replica", _create_db_instance_read_replica),
        ("restore_db_instance_from_db_snapshot", _restore_db_instance_from_db_snapshot),
        ("promote_read_replica", _promote_read_replica),
        ("modify_db_instance", _modify_db_instance),
        ("reboot_db_instance", _reboot_db_instance),
        ("delete_db_instance", _delete_db_instance),
    ]:
        _moto[name] = getattr(RDSBackend, name)
        setattr(RDSBackend, name, patched)
    DBInstance.pending_modified_values = property(_pending_modified_values)
    DBInstance.status_infos = property(_status_infos)


def set_status(identifier: str, status: str, region: str, account_id: str) -> bool:
    """Put an instance into `status` at once, abandoning whatever it was doing."""
    db = rds_backends[account_id][region].databases.get(identifier)
    if db is None:
        return False
    _sim.cancel(db)
    db.status = status
    return True


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


# --- patched RDSBackend methods --------------------------------------------------------------


def _create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    _ensure_free(self, db_kwargs["db_instance_identifier"])
    # AWS's default option groups always exist; moto only knows the ones created through it.
    option_group = db_kwargs.get("option_group_name") or ""
    if option_group.startswith("default:"):
        db_kwargs = {k: v for k, v in db_kwargs.items() if k != "option_group_name"}
    db = _moto["create_db_instance"](self, db_kwargs)
    if option_group.startswith("default:"):
        db.option_group_name = option_group
    db.dbi_resource_id = _new_resource_id()
    if db.db_cluster_identifier is None:
        _sim.start("create", db)
    return db


def _create_db_instance_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    identifier = db_kwargs["db_instance_identifier"]
    self._validate_db_identifier(identifier)
    _ensure_free(self, identifier)
    source = self.find_db_from_id(db_kwargs["source_db_instance_identifier"])
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
    db = _moto["restore_db_instance_from_db_snapshot"](self, from_snapshot_id, overrides)
    # moto copies these from the snapshot's instance; a restored instance starts on its own.
    db.source_db_instance_identifier = None
    db.deletion_protection = bool(overrides.get("deletion_protection"))
    _sim.start("restore", db)
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
    if "db_port_number" in changes:
        changes["port"] = changes.pop("db_port_number")
    new_id = (db_kwargs.get("new_db_instance_identifier") or "").lower()
    if new_id and new_id != db.db_instance_identifier:
        self._validate_db_identifier(new_id)
        _ensure_free(self, new_id)
        changes["db_instance_identifier"] = new_id
    _validate_changes(self, db, changes, bool(db_kwargs.get("apply_immediately")))
    deferred = db.__dict__.setdefault("mitosis_deferred", {})
    if db_kwargs.get("apply_immediately"):
        changes = {**deferred, **changes}
        deferred.clear()
    else:
        deferred.update({k: changes.pop(k) for k in _WINDOWED & changes.keys()})
    if changes:
        _start_modify(self, db, changes)
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
    if not skip_final_snapshot:
        if not final_db_snapshot_identifier:
            raise RDSClientError(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
            )
        self.create_db_snapshot(db.db_instance_identifier, final_db_snapshot_identifier)
    # AWS promotes the replicas of a deleted source to standalone instances.
    for replica_id in list(db.replicas):
        replica = self.databases.get(replica_id)
        if replica is None:
            continue
        if _sim.current(replica):
            _detach(self, replica)
        else:
            _sim.start("promote", replica, on_done=lambda replica=replica: _detach(self, replica))

    def gone() -> None:
        _detach(self, db)
        _moto["delete_db_instance"](
            self,
            db.db_instance_identifier,
            skip_final_snapshot=True,
            delete_automated_backups=delete_automated_backups,
        )

    _sim.start("delete", db, final_status=None, on_done=gone)
    return db


# --- helpers ---------------------------------------------------------------------------------


def _start_modify(backend: RDSBackend, db: DBInstance, changes: dict[str, Any]) -> None:
    new_id = changes.pop("db_instance_identifier", None)
    pending = _shown(changes)

    def apply() -> None:
        db.update(**changes)

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
    else:
        _sim.start("modify", db, pending=pending, on_done=apply)


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
    message = valid_preferred_maintenance_window(
        changes.get("preferred_maintenance_window", db.preferred_maintenance_window),
        changes.get("preferred_backup_window", db.preferred_backup_window),
    )
    if message:
        raise RDSClientError("InvalidParameterValue", message)
    if changes.get("rotate_master_user_password") and not apply_immediately:
        raise RDSClientError(
            "InvalidParameterCombination",
            "You must specify apply immediately when rotating the master user password.",
        )


def _require_available(db: DBInstance) -> None:
    # The brief `available` in the middle of a rename does not count: the reboot is still to come.
    if db.status != "available" or _sim.current(db):
        raise RDSClientError(
            "InvalidDBInstanceState",
            f"Instance {db.db_instance_identifier} is not in available state.",
        )


def _ensure_free(backend: RDSBackend, identifier: str) -> None:
    """An identifier is taken by an instance, or by a rename that has not happened yet."""
    if identifier in backend.databases or _sim.claimed(backend, identifier.lower()):
        raise DBInstanceAlreadyExists()


def _shown(changes: dict[str, Any]) -> dict[str, Any]:
    shown = {_PENDING_NAMES[k]: v for k, v in changes.items() if k in _PENDING_NAMES}
    if "MasterUserPassword" in shown:
        shown["MasterUserPassword"] = "****"
    return shown


def _new_resource_id() -> str:
    return "db-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=26))


# --- extra DBInstance attributes, serialised by moto like any other -------------------------


def _pending_modified_values(db: DBInstance) -> dict[str, Any]:
    op = _sim.current(db)
    return {**_shown(getattr(db, "mitosis_deferred", {})), **(op.pending if op else {})}


def _status_infos(db: DBInstance) -> list[dict[str, Any]] | None:
    if not db.is_replica:
        return None
    return [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]
