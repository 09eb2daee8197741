"""Corrections to moto 5.2.5's Aurora DB cluster model, so that it behaves like AWS where the collection
relies on it (the instance side of a cluster, its members, is in rds_model.py).

`install(sim)` patches moto's RDSBackend, DBCluster and RDSResponse; the patched methods keep moto's
signatures, so moto's request parsing and response serialisation work unchanged.
"""

import copy
import re
import uuid
from typing import Any

from moto.core.responses import ActionResult, PaginatedResult
from moto.core.utils import get_pagination_model
from moto.rds.exceptions import (
    DBClusterNotFoundError,
    DBClusterSnapshotAlreadyExistsError,
    DBClusterToBeDeletedHasActiveMembers,
    InvalidParameterValue,
    RDSClientError,
    SnapshotQuotaExceededFault,
)
from moto.rds.models import DBCluster, DBClusterSnapshot, DBInstanceClustered, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

from . import accounts, common, ram_model
from .timeline import Simulation

_sim: Simulation
_moto: dict[str, Any] = {}

# ModifyDBCluster parameters that describe the call rather than a change to the cluster.
_CALL_OPTIONS = {
    "db_cluster_identifier",
    "new_db_cluster_identifier",
    "apply_immediately",
    "allow_major_version_upgrade",
    "allow_engine_mode_change",
}
# AWS (ModifyDBCluster, ApplyImmediately): for Aurora, only these wait for the maintenance window
# without ApplyImmediately; every other change applies regardless.
_WINDOWED = {"db_cluster_identifier", "master_user_password", "enable_iam_database_authentication"}
# Changes that are metadata: they show in the call's response already (the modify still runs).
_AT_ONCE = {
    "backup_retention_period",
    "preferred_backup_window",
    "preferred_maintenance_window",
    "deletion_protection",
    "copy_tags_to_snapshot",
    "auto_minor_version_upgrade",
}
# Change -> member of ClusterPendingModifiedValues.
_PENDING_NAMES = {
    "db_cluster_identifier": "DBClusterIdentifier",
    "master_user_password": "MasterUserPassword",
    "enable_iam_database_authentication": "IAMDatabaseAuthenticationEnabled",
    "engine_version": "EngineVersion",
    "storage_type": "StorageType",
    "iops": "Iops",
    "allocated_storage": "AllocatedStorage",
}
# ModifyDBCluster parameter -> DBCluster attribute, where moto names them differently.
_ATTRIBUTES = {
    "db_cluster_parameter_group_name": "parameter_group",
    "enable_iam_database_authentication": "iam_auth",
}
# Restore parameters about the restore rather than the new cluster (RDS never turns on a managed
# master secret at a restore).
_RESTORE_OPTIONS = {
    "db_cluster_identifier",
    "source_db_cluster_identifier",
    "source_db_cluster_resource_id",
    "snapshot_identifier",
    "restore_type",
    "restore_to_time",
    "use_latest_restorable_time",
    "tag_specifications",
    "manage_master_user_password",
    "master_user_secret_kms_key_id",
}
# What a restored cluster (point in time, clone, or snapshot) keeps of its source; everything else is
# the request's or AWS's default (network, parameter group, port, IAM auth, log exports, scaling,
# tags, deletion protection, windows), and it never gets the source's managed secret.
_RESTORE_KEPT = (
    "engine",
    "engine_version",
    "engine_mode",
    "master_username",
    "database_name",
    "character_set_name",
    "storage_encrypted",
    "kms_key_id",
    "backup_retention_period",
    "storage_type",
    "network_type",
)


def install(sim: Simulation) -> None:
    global _sim
    _sim = sim
    common.patch(
        RDSBackend,
        _moto,
        [
            ("create_db_cluster", _create_db_cluster),
            ("restore_db_cluster_to_point_in_time", _restore_db_cluster_to_point_in_time),
            ("restore_db_cluster_from_snapshot", _restore_db_cluster_from_snapshot),
            ("modify_db_cluster", _modify_db_cluster),
            ("delete_db_cluster", _delete_db_cluster),
            ("create_global_cluster", _create_global_cluster),
            ("_get_resource_for_tagging", _get_resource_for_tagging),
            ("copy_db_cluster_snapshot", _copy_db_cluster_snapshot),
            ("delete_db_cluster_snapshot", _delete_db_cluster_snapshot),
            ("describe_db_cluster_snapshots", _describe_db_cluster_snapshots),
            ("modify_db_cluster_snapshot_attribute", _modify_db_cluster_snapshot_attribute),
        ],
    )
    # An encrypted cluster's KmsKeyId is a key's ARN (the managed key aws/rds without one), an unencrypted one has none
    # (moto: "default_kms_key_id" for both).
    DBCluster.kms_key_id = property(_get_kms_key_id, _set_kms_key_id)
    RDSResponse.describe_db_clusters = _describe_db_clusters_response
    # moto's pagination needs a unique attribute, which its model gives DescribeDBInstances only.
    get_pagination_model("rds")["DescribeDBClusters"].setdefault("unique_attribute", "resource_id")
    RDSResponse.delete_db_cluster = _delete_db_cluster_response
    # moto turned `creating` into `available` on the first read; the time model drives it here.
    DBCluster.status = property(_get_status, _set_status)
    DBCluster.pending_modified_values = property(_pending_modified_values)
    DBCluster.clone_group_id = None
    ram_model.install()
    DBCluster.save_automated_backup = _save_automated_backup
    # An Aurora instance has no backups of its own (its data is the cluster's): moto took one named by the minute,
    # which failed the create of a member whose name had one from the same minute.
    DBInstanceClustered.save_automated_backup = lambda instance: None


def set_status(identifier: str, status: str, region: str, account_id: str) -> bool:
    """Put a cluster into `status` at once, abandoning whatever it was doing."""
    return common.set_status(rds_backends[account_id][region].clusters.get(identifier), status)


def take_automated_snapshot(identifier: str, region: str, account_id: str) -> str | None:
    """An automated snapshot of the cluster now, as RDS takes one a day in the backup window; its name. None for an
    unknown cluster."""
    cluster = rds_backends[account_id][region].clusters.get(identifier)
    if cluster is None:
        return None
    name = common.automated_snapshot_name(cluster.db_cluster_identifier, cluster.backend.cluster_snapshots)
    cluster.backend.create_auto_cluster_snapshot(cluster.db_cluster_identifier, name)
    return name


def check_password(identifier: str, password: str, region: str, account_id: str) -> bool | None:
    """Whether `password` is the cluster's master password now; None for an unknown cluster."""
    cluster = rds_backends[account_id][region].clusters.get(identifier)
    return common.check_password(cluster, password)


def is_deleting(db: Any) -> bool:
    op = _sim.current(db)
    return bool(op and op.kind in ("delete", "cluster-delete"))


def require_available(cluster: DBCluster) -> None:
    if common.busy(cluster):
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"DB cluster {cluster.db_cluster_identifier} is not in the available state.",
        )


# --- patched RDSBackend methods --------------------------------------------------------------


def _create_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
    identifier = kwargs["db_cluster_identifier"]
    self._validate_db_identifier(identifier)
    _ensure_free(self, identifier)
    common.refuse_password_with_secret(
        kwargs.get("manage_master_user_password"), kwargs.get("master_user_password")
    )
    _validate_groups(self, kwargs)
    cluster = _moto["create_db_cluster"](self, kwargs)
    if common.manages_password(cluster):
        # The secret is `creating` until the cluster is; its password is the master password.
        common.hold_secret(cluster)
    _sim.start("cluster-create", cluster, on_done=lambda: common.activate_secret(cluster))
    return cluster


def _restore_db_cluster_to_point_in_time(
    self: RDSBackend,
    db_cluster_identifier: str,
    source_db_cluster_identifier: str,
    restore_type: str = "full-copy",
    restore_to_time: Any = None,
    use_latest_restorable_time: bool = False,
    **overrides: Any,
) -> DBCluster:
    # moto copied every attribute of the source (its tags, deletion protection and managed secret
    # included) and overwrote an existing cluster of the target's name.
    if restore_to_time is not None and use_latest_restorable_time:
        raise RDSClientError(
            "InvalidParameterCombination",
            "Cannot specify both RestoreToTime and UseLatestRestorableTime",
        )
    restore_type = restore_type or "full-copy"
    if restore_to_time is not None and restore_type == "copy-on-write":
        raise RDSClientError(
            "InvalidParameterCombination",
            "RestoreToTime cannot be specified when RestoreType is copy-on-write",
        )
    # The source by name or ARN; another account's by its ARN, when it shares the cluster through AWS RAM (moto:
    # looked up in the caller's own account).
    source = ram_model.source_cluster(self, source_db_cluster_identifier)
    cross_account = source.account_id != self.account_id
    target = (db_cluster_identifier or "").lower()
    self._validate_db_identifier(target)
    _ensure_free(self, target)
    if cross_account:
        ram_model.check_clone(self, source, restore_type)
    if restore_type == "copy-on-write":
        require_available(source)
        if not source._members:
            raise RDSClientError(
                "InvalidDBClusterStateFault",
                f"Cannot clone DB cluster {source.db_cluster_identifier}: it has no DB instances.",
            )
    cluster = _restored(self, source, target, overrides)
    if restore_type == "copy-on-write":
        # AWS shows the clone group on the source and on every clone of it.
        group = source.clone_group_id or str(uuid.uuid4())
        source.clone_group_id = cluster.clone_group_id = group
        # Still one after renames: the mark is the cluster's, not its name's.
        cluster.mitosis_cross_account = cross_account
        _sim.start("cluster-clone", cluster)
    else:
        _sim.start("cluster-restore-point-in-time", cluster)
    return cluster


def _restore_db_cluster_from_snapshot(
    self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]
) -> DBCluster:
    # AWS takes the snapshot's ARN too, another account's that it shares with the caller included (moto: 404).
    snapshot = accounts.find_snapshot(self, from_snapshot_id, "cluster")
    if snapshot.backend is not self and snapshot.encrypted:
        # Aurora restores a shared encrypted cluster snapshot directly, when its key lets the caller use it.
        accounts.require_source_key(snapshot, self.account_id)
    target = (overrides.get("db_cluster_identifier") or "").lower()
    self._validate_db_identifier(target)
    _ensure_free(self, target)
    if snapshot.status != "available":
        raise RDSClientError(
            "InvalidDBClusterSnapshotStateFault",
            f"DBClusterSnapshot {snapshot.db_cluster_snapshot_identifier} is not available.",
        )
    source = copy.copy(snapshot.cluster)
    source.engine_version = snapshot.engine_version
    cluster = _restored(self, source, target, overrides)
    _sim.start("cluster-restore", cluster)
    return cluster


def _modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
    # moto: a missing cluster was a 500 (KeyError), a rename overwrote the cluster of that name and
    # left the members behind, every change applied at once.
    cluster = self.describe_db_clusters(db_cluster_identifier=kwargs["db_cluster_identifier"])[0]
    require_available(cluster)
    changes = {k: v for k, v in kwargs.items() if k not in _CALL_OPTIONS and v is not None}
    new_id = (kwargs.get("new_db_cluster_identifier") or "").lower()
    if new_id and new_id != cluster.db_cluster_identifier:
        ram_model.check_rename(cluster)
        self._validate_db_identifier(new_id)
        _ensure_free(self, new_id)
        changes["db_cluster_identifier"] = new_id
    manage = changes.pop("manage_master_user_password", None)
    kms_key_id = changes.pop("master_user_secret_kms_key_id", None)
    rotate = changes.pop("rotate_master_user_password", None)
    _validate_credentials(cluster, changes, manage, rotate)
    _validate_groups(self, changes)
    common.validate_timing(cluster, changes, rotate, kwargs.get("apply_immediately"))
    manage = common.manage_change(cluster, manage)
    changes = common.split_deferred(cluster, changes, kwargs.get("apply_immediately"), _WINDOWED)
    at_once = {k: changes.pop(k) for k in _AT_ONCE & changes.keys()}
    _apply(cluster, at_once)
    if rotate:
        cluster.master_user_secret.rotate_secret()
    if changes or at_once or manage is not None:
        _start_modify(self, cluster, changes, manage, kms_key_id)
    return cluster


def _delete_db_cluster(
    self: RDSBackend,
    cluster_identifier: str,
    snapshot_name: str | None = None,
    skip_final_snapshot: bool | None = None,
    delete_automated_backups: bool | None = None,
) -> DBCluster:
    cluster = self.describe_db_clusters(db_cluster_identifier=cluster_identifier)[0]
    running = _sim.current(cluster)
    if running and running.kind == "cluster-delete":
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"Cluster {cluster.db_cluster_identifier} is already being deleted.",
        )
    if running:
        require_available(cluster)
    if cluster.deletion_protection:
        raise RDSClientError(
            "InvalidParameterCombination",
            "Cannot delete protected Cluster, please disable deletion protection and try again.",
        )
    # AWS: "Cluster cannot be deleted, it still contains DB instances in non-deleting state."
    if any(not is_deleting(member) for member in cluster._members):
        raise DBClusterToBeDeletedHasActiveMembers()
    final_snapshot = None
    if skip_final_snapshot and snapshot_name:
        raise RDSClientError(
            "InvalidParameterCombination",
            "You cannot specify both FinalDBSnapshotIdentifier and SkipFinalSnapshot",
        )
    if not skip_final_snapshot:
        common.require_final_snapshot_name(snapshot_name)
        if snapshot_name.lower() in self.cluster_snapshots:
            raise DBClusterSnapshotAlreadyExistsError(snapshot_name)
        final_snapshot = self.create_db_cluster_snapshot(cluster.db_cluster_identifier, snapshot_name)
        # `creating` while the cluster is `deleting`, `available` once it is gone.
        final_snapshot.status = "creating"

    def remove() -> None:
        identifier = cluster.db_cluster_identifier
        for global_cluster in self.global_clusters.values():
            if cluster in global_cluster.members:
                global_cluster.members.remove(cluster)
        if common.manages_password(cluster):
            cluster.master_user_secret.delete_secret()
        self.clusters.pop(identifier, None)
        if delete_automated_backups is not False:
            # AWS removes the automated backups of a deleted cluster (DeleteAutomatedBackups, default
            # true); moto kept them.
            for name, snapshot in list(self.cluster_snapshots.items()):
                if (
                    snapshot.snapshot_type == "automated"
                    and snapshot.cluster.db_cluster_resource_id == cluster.db_cluster_resource_id
                ):
                    del self.cluster_snapshots[name]

    common.start_delete("cluster-delete", cluster, final_snapshot, remove)
    return cluster


def _create_global_cluster(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
    global_cluster = _moto["create_global_cluster"](self, *args, **kwargs)
    for member in global_cluster.members:
        # The source cluster becomes the primary (writer), and shows the global cluster's identifier
        # (moto: its ARN, and no writer).
        member.global_cluster_identifier = global_cluster.global_cluster_identifier
        member.is_writer = True
    return global_cluster


def _get_resource_for_tagging(self: RDSBackend, arn: str) -> Any:
    resource = _moto["_get_resource_for_tagging"](self, arn)
    match = re.match(r"^arn:[^:]+:rds:[^:]*:[^:]*:cluster:(?P<name>.+)$", arn)
    if resource is None and match:
        # AWS answers 404 for a cluster that does not exist (moto: an empty tag list).
        raise DBClusterNotFoundError(match["name"])
    return resource


def _copy_db_cluster_snapshot(
    self: RDSBackend,
    source_db_cluster_snapshot_identifier: str,
    target_db_cluster_snapshot_identifier: str,
    kms_key_id: str | None = None,
    copy_tags: bool = False,
    tags: list[dict[str, str]] | None = None,
    **_: Any,
) -> DBClusterSnapshot:
    # moto looked for a snapshot named by ARN in the caller's own account, encrypted an unencrypted snapshot's copy,
    # and made the copy available at once.
    source = accounts.find_snapshot(self, source_db_cluster_snapshot_identifier, "cluster")
    shared = source.backend is not self
    if source.status != "available":
        raise RDSClientError(
            "InvalidDBClusterSnapshotStateFault",
            f"DBClusterSnapshot {source.db_cluster_snapshot_identifier} is not available: it can't be copied.",
        )
    target = target_db_cluster_snapshot_identifier
    if target.lower() in self.cluster_snapshots:
        raise DBClusterSnapshotAlreadyExistsError(target)
    if len([s for s in self.cluster_snapshots.values() if s.snapshot_type == "manual"]) >= self.SNAPSHOT_QUOTA:
        raise SnapshotQuotaExceededFault()
    if kms_key_id and not source.encrypted:
        # The API reference: "If you copy an unencrypted DB cluster snapshot and specify a value for the KmsKeyId
        # parameter, an error is returned." (its code unverified)
        raise InvalidParameterValue(
            "KmsKeyId can't be specified when copying an unencrypted DB cluster snapshot."
        )
    if shared and source.encrypted:
        if not kms_key_id:
            raise accounts.not_accessible("target", None)
        accounts.require_source_key(source, self.account_id)
    key_arn = accounts.resolve_key(self.account_id, self.region_name, kms_key_id) if kms_key_id else None
    if copy_tags and not tags:
        tags = source.tags or []
    # The copy's cluster is this account's (its key, if it gets none, stays the source's).
    cluster = copy.copy(source.cluster)
    cluster.__dict__["_mitosis_kms_key_id"] = source.cluster.kms_key_id
    cluster.backend = self
    copied = DBClusterSnapshot(self, cluster, target, tags=tags, kms_key_id=key_arn)
    copied.mitosis_source_arn = source.arn
    self.cluster_snapshots[copied.db_cluster_snapshot_identifier] = copied
    copied.timeline_name = copied.db_cluster_snapshot_identifier

    def abandoned() -> None:
        copied.status = "failed"

    _sim.start("cluster-snapshot-copy", copied, final_status="available", on_cancel=abandoned)
    return copied


def _delete_db_cluster_snapshot(self: RDSBackend, db_snapshot_identifier: str) -> DBClusterSnapshot:
    snapshot = _moto["delete_db_cluster_snapshot"](self, db_snapshot_identifier)
    _sim.cancel(snapshot)  # a copy still `creating` is gone (deleting stays instant)
    return snapshot


_describe_db_cluster_snapshots, _modify_db_cluster_snapshot_attribute = accounts.snapshot_calls(
    _moto, "cluster", "DB cluster", "describe_db_cluster_snapshots", "modify_db_cluster_snapshot_attribute"
)


# --- patched responses -----------------------------------------------------------------------


def _describe_db_clusters_response(self: RDSResponse) -> ActionResult:
    # moto ignored MaxRecords and Marker.
    filters = {f["Name"]: f["Values"] for f in self.params.get("Filters", [])}
    clusters = self.backend.describe_db_clusters(
        db_cluster_identifier=self.params.get("DBClusterIdentifier"), filters=filters
    )
    return PaginatedResult({"DBClusters": clusters})


def _delete_db_cluster_response(self: RDSResponse) -> ActionResult:
    # moto ignored SkipFinalSnapshot and DeleteAutomatedBackups.
    cluster = self.backend.delete_db_cluster(
        cluster_identifier=self.params.get("DBClusterIdentifier"),
        snapshot_name=self.params.get("FinalDBSnapshotIdentifier"),
        skip_final_snapshot=self.params.get("SkipFinalSnapshot"),
        delete_automated_backups=self.params.get("DeleteAutomatedBackups"),
    )
    return ActionResult({"DBCluster": cluster})


# --- helpers ---------------------------------------------------------------------------------


def _restored(
    backend: RDSBackend, source: DBCluster, target: str, overrides: dict[str, Any]
) -> DBCluster:
    """A new cluster from `source` (a cluster, or a snapshot's copy of one): no members, no managed
    secret, the source's data attributes, the request's (or AWS's default) for the rest."""
    kwargs = common.restore_kwargs(source, _RESTORE_KEPT, overrides, _RESTORE_OPTIONS)
    kwargs["db_cluster_identifier"] = target
    _validate_groups(backend, kwargs)
    cluster = _moto["create_db_cluster"](backend, kwargs)
    return cluster


def _start_modify(
    backend: RDSBackend,
    cluster: DBCluster,
    changes: dict[str, Any],
    manage: bool | None,
    kms_key_id: str | None,
) -> None:
    new_id = changes.pop("db_cluster_identifier", None)
    pending = _shown(changes)
    # A new secret's password becomes the master password.
    apply = common.secret_change(cluster, manage, kms_key_id, lambda: _apply(cluster, changes))

    if new_id:
        pending["DBClusterIdentifier"] = new_id

        def rename() -> None:
            apply()
            _rename(backend, cluster, new_id)

        # `renaming` under the old name; the new name is taken meanwhile.
        _sim.start(
            "cluster-rename",
            cluster,
            pending=pending,
            on_done=rename,
            claim=((backend, "cluster"), new_id),
        )
    elif changes.keys() == {"master_user_password"} and manage is None:
        _sim.start("cluster-reset-credentials", cluster, pending=pending, on_done=apply)
    else:
        _sim.start("cluster-modify", cluster, pending=pending, on_done=apply)


def _apply(cluster: DBCluster, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if key == "cloudwatch_logs_export_configuration":
            exports = list(cluster.enabled_cloudwatch_logs_exports or [])
            disable = value.get("DisableLogTypes") or []
            exports = [e for e in exports if e not in disable]
            exports += [e for e in value.get("EnableLogTypes") or [] if e not in exports]
            cluster.enabled_cloudwatch_logs_exports = exports
        else:
            setattr(cluster, _ATTRIBUTES.get(key, key), value)


def _rename(backend: RDSBackend, cluster: DBCluster, new_id: str) -> None:
    """Move the cluster to its new name, its members with it (moto left them on the old name)."""
    members = cluster._members
    del backend.clusters[cluster.db_cluster_identifier]
    cluster.db_cluster_identifier = new_id
    backend.clusters[new_id] = cluster
    for member in members:
        member.db_cluster_identifier = new_id


def _validate_credentials(
    cluster: DBCluster, changes: dict[str, Any], manage: bool | None, rotate: bool | None
) -> None:
    """The master password rules of ModifyDBCluster (`manage`: its ManageMasterUserPassword)."""
    password = changes.get("master_user_password")
    common.validate_password_change(
        cluster, "DB cluster", cluster.db_cluster_identifier, password, manage
    )
    if password is not None and len(password) < 8:
        raise RDSClientError(
            "InvalidParameterValue",
            "The parameter MasterUserPassword is not a valid password because it is shorter than "
            "8 characters.",
        )
    common.validate_rotation(cluster, manage, rotate)


def _validate_groups(backend: RDSBackend, kwargs: dict[str, Any]) -> None:
    """The cluster parameter group and subnet group must exist (moto accepted any name)."""
    group = kwargs.get("db_cluster_parameter_group_name")
    if group and not group.startswith("default.") and group not in backend.db_cluster_parameter_groups:
        raise RDSClientError(
            "DBClusterParameterGroupNotFound", f"DBClusterParameterGroup not found: {group}"
        )
    subnets = kwargs.get("db_subnet_group_name")
    if subnets and subnets != "default":
        backend.describe_db_subnet_groups(subnets)  # raises DBSubnetGroupNotFoundFault


def _ensure_free(backend: RDSBackend, identifier: str) -> None:
    """A cluster identifier is taken by a cluster, or by a cluster rename still to happen."""
    common.ensure_free(backend.clusters, (backend, "cluster"), identifier, _cluster_exists)


def _cluster_exists() -> RDSClientError:
    return RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")


def _shown(changes: dict[str, Any]) -> dict[str, Any]:
    shown = common.shown(changes, _PENDING_NAMES)
    logs = changes.get("cloudwatch_logs_export_configuration")
    if logs:
        shown["PendingCloudwatchLogsExports"] = {
            "LogTypesToEnable": list(logs.get("EnableLogTypes") or []),
            "LogTypesToDisable": list(logs.get("DisableLogTypes") or []),
        }
    return shown


def _get_kms_key_id(cluster: DBCluster) -> str | None:
    if not cluster.storage_encrypted:
        return None
    key = cluster.__dict__.get("_mitosis_kms_key_id")
    return key or accounts.managed_key(cluster.account_id, cluster.region).arn


def _set_kms_key_id(cluster: DBCluster, value: str | None) -> None:
    if value in (None, "", "default_kms_key_id"):
        cluster._mitosis_kms_key_id = None
    else:
        cluster._mitosis_kms_key_id = accounts.resolve_key(cluster.account_id, cluster.region, value)


def _get_status(cluster: DBCluster) -> str:
    return cluster._status


def _set_status(cluster: DBCluster, value: str) -> None:
    cluster._status = value


def _pending_modified_values(cluster: DBCluster) -> dict[str, Any] | None:
    shown = common.pending_values(cluster, _shown)
    # AWS leaves PendingModifiedValues out of a cluster with nothing pending.
    return shown or None


def _save_automated_backup(cluster: DBCluster) -> None:
    name = common.automated_snapshot_name(cluster.db_cluster_identifier, cluster.backend.cluster_snapshots)
    cluster.backend.create_auto_cluster_snapshot(cluster.db_cluster_identifier, name)
