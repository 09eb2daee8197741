"""What the data plane adds to the endpoint's Aurora model (cluster_model.py), for clusters of its Aurora engines.

A cluster's storage is one server, keyed by its DbClusterResourceId; its writer endpoint, its reader endpoint and
the name of each member instance are names of their own (names.py) that reach it. A create starts the server (the
cluster reads `available`, and its endpoints answer, once it accepts connections); a clone or point-in-time restore
copies the source's data of the call; a cluster snapshot (manual, automated, or a delete's final one) is a copy
taken at the call, from which RestoreDBClusterFromSnapshot starts a server; a new master password (one set, or a
managed secret's) is set when the modify applies; a rename frees the endpoints' old names at once and gives the new
ones the server when it is done; a member's name answers once the member is created, moves with its renames and
goes with its delete; a delete frees the endpoints at once and removes the server when the cluster is gone.

Installed over model.install (whose helpers it uses), so that cluster_model stays the control plane only.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from moto.rds.models import DBCluster, DBInstanceClustered, RDSBackend

from .. import accounts, common, ram_model
from ..timeline import Simulation
from . import CLUSTER_ENGINES
from .model import (copy_data, copy_snapshot, dns_name, extend_backend, gate, key, move_name, serve_name, served,
                    sync_password, then)
from .process import Client

_plane: Optional[Client] = None
_sim: Simulation
_member_address = DBInstanceClustered.address


def install(plane: Client, sim: Simulation) -> None:
    global _plane, _sim
    _plane, _sim = plane, sim
    extend_backend((("create_db_cluster", _created), ("restore_db_cluster_to_point_in_time", _cloned),
                    ("restore_db_cluster_from_snapshot", _restored), ("modify_db_cluster", _modified),
                    ("delete_db_cluster", _deleted), ("create_db_cluster_snapshot", _snapshot_taken),
                    ("delete_db_cluster_snapshot", _snapshot_deleted),
                    ("copy_db_cluster_snapshot", lambda backend, snapshot, *args, **kwargs: copy_snapshot(snapshot)),
                    ("create_db_instance", _member_created), ("modify_db_instance", _member_modified),
                    ("delete_db_instance", _member_deleted)))
    DBCluster.endpoint = _endpoint_address(DBCluster.endpoint, 0)
    DBCluster.reader_endpoint = _endpoint_address(DBCluster.reader_endpoint, 1)
    DBInstanceClustered.address = property(_address)


def handled(cluster: Any) -> bool:
    """A cluster the data plane serves: of one of its Aurora engines."""
    return _plane is not None and cluster.engine in CLUSTER_ENGINES


def member(db: Any) -> bool:
    """A member of a cluster the data plane serves: its name reaches the cluster's server."""
    return isinstance(db, DBInstanceClustered) and handled(db.cluster)


# --- names ---------------------------------------------------------------------------------------------------------


def _endpoints(cluster: Any) -> Tuple[str, str]:
    """The names of the writer and reader endpoints. By identifier: AWS's host names of a cluster differ from another
    of the same name only by a suffix fixed per account and region (moto's is per cluster), so a cluster that takes a
    name, as in a rename swap, takes its endpoints. Never an instance's name (those have no dot)."""
    return (dns_name(cluster, cluster.db_cluster_identifier + ".cluster"),
            dns_name(cluster, cluster.db_cluster_identifier + ".cluster-ro"))


def _endpoint_address(moto: property, which: int) -> property:
    """DBCluster.endpoint or .reader_endpoint: its name's loopback address on the data plane, moto's host name
    otherwise."""
    def address(cluster: DBCluster) -> str:
        if handled(cluster):
            return _plane.address(_endpoints(cluster)[which])
        return moto.fget(cluster)
    return property(address)


def _address(db: DBInstanceClustered) -> str:
    if member(db):
        return _plane.address(dns_name(db, db.db_instance_identifier))
    return _member_address.fget(db)


def _point(cluster: Any, server: Optional[str]) -> None:
    """The cluster's endpoints reach `server` now (None: nothing, connections refused)."""
    for name in _endpoints(cluster):
        _plane.resolve(name, cluster.port, server)


def _serve(cluster: Any) -> Callable[[], None]:
    return lambda: _point(cluster, key(cluster))


# --- patched RDSBackend methods ------------------------------------------------------------------------------------


def _created(backend: RDSBackend, cluster: Any, kwargs: dict[str, Any]) -> None:
    if not handled(cluster):
        return
    # A managed secret's password when the create asks for one (cluster_model holds it as the master password).
    _plane.create(key(cluster), cluster.master_username, common.current_password(cluster) or "",
                  cluster.database_name or "postgres")
    served(cluster, _serve(cluster))


def _cloned(backend: RDSBackend, cluster: Any, db_cluster_identifier: str, source_db_cluster_identifier: str,
            *args: Any, **kwargs: Any) -> None:
    # Copy-on-write or full-copy, RestoreToTime or the latest restorable time: the source's data of the call.
    if not handled(cluster):
        return
    # By name or ARN; another account's (a clone across accounts) by its ARN.
    source = ram_model.source_cluster(backend, source_db_cluster_identifier)
    _plane.point_in_time(key(cluster), key(source))
    served(cluster, _serve(cluster))


def _restored(backend: RDSBackend, cluster: Any, from_snapshot_id: str, overrides: dict[str, Any]) -> None:
    if not handled(cluster):
        return
    # The snapshot's identifier or its ARN, maybe another account's.
    snapshot = accounts.find_snapshot(backend, from_snapshot_id, "cluster")
    _plane.restore(key(cluster), snapshot.arn)
    served(cluster, _serve(cluster))


def _modified(backend: RDSBackend, cluster: Any, kwargs: dict[str, Any]) -> None:
    op = _sim.current(cluster)
    if not handled(cluster) or op is None:
        return
    # A new password (maybe one deferred before), or a managed secret turned on or off: once the modify applies.
    then(op, lambda: sync_password(cluster))
    if op.kind == "cluster-rename":
        # AWS removes the old DNS names at once; the new ones answer once the rename is done.
        _point(cluster, None)
        then(op, _serve(cluster))


def _deleted(backend: RDSBackend, cluster: Any, *args: Any, **kwargs: Any) -> None:
    op = _sim.current(cluster)
    if not handled(cluster) or op is None:
        return
    _point(cluster, None)
    server = key(cluster)
    automated = [(name, snapshot.arn) for name, snapshot in backend.cluster_snapshots.items()
                 if snapshot.snapshot_type == "automated" and snapshot.cluster.db_cluster_resource_id == server]

    def gone() -> None:
        _plane.delete(server)
        for name, arn in automated:
            if name not in backend.cluster_snapshots:  # removed with the cluster (DeleteAutomatedBackups)
                _plane.forget_snapshot(arn)
    then(op, gone)


def _snapshot_taken(backend: RDSBackend, snapshot: Any, *args: Any, **kwargs: Any) -> None:
    cluster = backend.clusters.get(snapshot.cluster.db_cluster_identifier)
    if cluster is None or not handled(cluster):
        return
    if copy_data(cluster, snapshot.arn):
        # No operation shows a cluster snapshot being taken (it reads `available` at once): the copy is the data of
        # the call's moment, taken during the call.
        _plane.wait(key(cluster))


def _snapshot_deleted(backend: RDSBackend, snapshot: Any, *args: Any) -> None:
    _plane.forget_snapshot(snapshot.arn)


def _member_created(backend: RDSBackend, db: Any, db_kwargs: dict[str, Any]) -> None:
    if member(db):
        gate(db, lambda: serve_name(db))


def _member_modified(backend: RDSBackend, db: Any, identifier: str, db_kwargs: dict[str, Any]) -> None:
    op = _sim.current(db)
    if member(db) and op is not None:
        move_name(db, op)  # no reboot: the server is the cluster's


def _member_deleted(backend: RDSBackend, db: Any, *args: Any, **kwargs: Any) -> None:
    if member(db):
        _plane.resolve(dns_name(db, db.db_instance_identifier), db.port, None)
