"""What the data plane adds to the endpoint's RDS model (rds_model.py), for instances of its engines.

Each call the control plane accepts gets its data-plane effect: a create starts a server (the instance reads
`available` only once it accepts connections), a read replica is a streaming standby, a promotion (when the time
model ends it) makes the standby writable, a snapshot is a copy taken at the call, a restore starts a server from
one (a point-in-time restore from a copy of the source taken at the call), a new master password (one set, or a
managed secret's) is set when it applies, a reboot restarts the server, a rename frees the old name at once and gives
the new one the server when it has taken effect, a delete frees the name at once and removes the server when it is
gone. Aurora clusters and their members are cluster.py's, with the helpers here.

Installed over the endpoint's own patches, so that rds_model stays the control plane only.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Tuple

from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.models import DBCluster, DBInstance, DBInstanceClustered, RDSBackend

from .. import accounts, common
from ..timeline import Operation, Simulation
from . import ENGINES
from .process import Client

_plane: Optional[Client] = None
_sim: Simulation
_endpoint_address = DBInstance.address


def install(plane: Client, sim: Simulation) -> None:
    global _plane, _sim
    _plane, _sim = plane, sim
    extend_backend((("create_db_instance", _created), ("create_db_instance_read_replica", _replicated),
                    ("restore_db_instance_from_db_snapshot", _restored),
                    ("restore_db_instance_to_point_in_time", _restored_to_point_in_time),
                    ("promote_read_replica", _promoted), ("modify_db_instance", _modified),
                    ("reboot_db_instance", _rebooted), ("delete_db_instance", _deleted),
                    ("create_db_snapshot", _snapshot_taken), ("delete_db_snapshot", _snapshot_deleted),
                    ("copy_db_snapshot", _snapshot_copied)))
    DBInstance.address = property(_address)


def handled(db: Any) -> bool:
    """An instance the data plane serves: of one of its engines, not an Aurora member (the cluster's server)."""
    return _plane is not None and db.engine in ENGINES and not db.db_cluster_identifier


def extend_backend(effects: Iterable[Tuple[str, Callable[..., None]]]) -> None:
    """Each RDSBackend method named runs as before, then its data-plane effect (given the backend, the method's
    result and its arguments)."""
    for name, effect in effects:
        setattr(RDSBackend, name, _after(getattr(RDSBackend, name), effect))


def _after(control: Callable[..., Any], effect: Callable[..., None]) -> Callable[..., Any]:
    def call(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        result = control(self, *args, **kwargs)
        effect(self, result, *args, **kwargs)
        return result
    return call


def _address(db: DBInstance) -> str:
    """The name's loopback address on the data plane (as DNS answers it), the endpoint's host name otherwise."""
    if handled(db):
        return _plane.address(dns_name(db, db.db_instance_identifier))
    return _endpoint_address.fget(db)


def dns_name(resource: Any, name: str) -> str:
    """The data plane's name of `name` (an instance's identifier, a cluster endpoint's) of `resource`: as it is in the
    default account, with its account in another (AWS's host names differ by account), so that two accounts' instances
    of one name never share an address. Never a DNS record's name (those have no "@")."""
    account = resource.account_id
    return name if account == DEFAULT_ACCOUNT_ID else "{0}@{1}".format(name, account)


def key(resource: Any) -> str:
    """The resource id of the server that holds the data of `resource`: an instance's own, a cluster's, or (an Aurora
    member) its cluster's."""
    if isinstance(resource, DBInstanceClustered):
        resource = resource.cluster
    return resource.db_cluster_resource_id if isinstance(resource, DBCluster) else resource.dbi_resource_id


def then(op: Operation, action: Callable[[], None]) -> None:
    """`action` once `op` is done, after what its end did already."""
    before = op.on_done

    def done() -> None:
        if before:
            before()
        action()
    op.on_done = done


def gate(resource: Any, action: Optional[Callable[[], None]] = None) -> None:
    """The running operation of `resource` completes only once the data plane's work for its server is done; then
    `action`."""
    op = _sim.current(resource)
    if op is None:
        return
    server = key(resource)
    op.ready = lambda: _plane.ready(server)
    if action is not None:
        then(op, action)


def serve_name(db: Any) -> None:
    _plane.resolve(dns_name(db, db.db_instance_identifier), db.port, key(db))


def served(resource: Any, serve: Callable[[], None]) -> None:
    """`resource` has a server (being made), with its master password of now: the automated snapshots moto took in
    the same call copy its first data; `serve` points its names at it once it is ready."""
    resource.mitosis_served = True
    resource.mitosis_password = common.current_password(resource) or ""
    for snapshot in resource.__dict__.pop("mitosis_snapshots", []):
        _plane.snapshot(snapshot, key(resource))
    gate(resource, serve)


def copy_data(resource: Any, snapshot: str) -> bool:
    """Copy the data of `resource` as `snapshot`: now (True), or once its server is being made (an automated snapshot
    moto takes inside the call that makes it)."""
    if not getattr(resource, "mitosis_served", False):
        resource.__dict__.setdefault("mitosis_snapshots", []).append(snapshot)
        return False
    _plane.snapshot(snapshot, key(resource))
    return True


def sync_password(resource: Any) -> None:
    """The server's master password becomes the control plane's (one set, or a managed secret's), if it changed."""
    if getattr(resource, "is_replica", False):
        return  # a standby has its source's (physical replication)
    password = common.current_password(resource) or ""
    if password != resource.__dict__.get("mitosis_password"):
        resource.mitosis_password = password
        _plane.set_password(key(resource), resource.master_username, password)


def move_name(db: Any, op: Operation) -> bool:
    """When `op` is a rename of `db`: the old name refused at once (AWS removes the old DNS name), the new one
    answering once the rename is over."""
    if op.kind != "rename":
        return False
    _plane.resolve(dns_name(db, db.db_instance_identifier), db.port, None)
    then(op, lambda: serve_name(db))
    return True


def _created(backend: RDSBackend, db: Any, db_kwargs: dict[str, Any]) -> None:
    if not handled(db) or db_kwargs.get("mitosis_restore"):
        return  # a restore's server comes from its snapshot
    # A managed secret's password when the create asks for one (rds_model holds it as the master password).
    _plane.create(key(db), db.master_username, common.current_password(db) or "", db.db_name or "postgres")
    served(db, lambda: serve_name(db))


def _replicated(backend: RDSBackend, replica: Any, db_kwargs: dict[str, Any]) -> None:
    if not handled(replica):
        return
    source = backend.find_db_from_id(db_kwargs["source_db_instance_identifier"])
    _plane.replica(key(replica), key(source))
    served(replica, lambda: serve_name(replica))


def _restored(backend: RDSBackend, db: Any, from_snapshot_id: str, overrides: dict[str, Any]) -> None:
    if not handled(db):
        return
    snapshot = accounts.find_snapshot(backend, from_snapshot_id)  # by name or ARN, maybe another account's
    _plane.restore(key(db), snapshot.arn)
    served(db, lambda: serve_name(db))


def _restored_to_point_in_time(backend: RDSBackend, db: Any, source_id: str, target_id: str,
                               overrides: dict[str, Any]) -> None:
    if not handled(db):
        return
    source = backend.describe_db_instances(source_id)[0]
    _plane.point_in_time(key(db), key(source))
    served(db, lambda: serve_name(db))


def _promoted(backend: RDSBackend, db: Any, db_kwargs: dict[str, Any]) -> None:
    op = _sim.current(db)
    if handled(db) and op is not None:
        op.ready = _promotion(key(db))


def _promotion(server: str) -> Callable[[], bool]:
    """An operation's `ready` that promotes the standby `server` when the time model ends the promotion, and is
    true once it is writable: the instance reads `available` only then, as its replicas' base backups need."""
    started = []

    def ready() -> bool:
        if not started:
            _plane.promote(server)
            started.append(True)
        return _plane.ready(server)
    return ready


def _modified(backend: RDSBackend, db: Any, identifier: str, db_kwargs: dict[str, Any]) -> None:
    op = _sim.current(db)
    if not handled(db) or op is None:
        return
    # A new password, or a managed secret turned on or off: the server's once the modify applies.
    then(op, lambda: sync_password(db))
    if move_name(db, op):
        server = key(db)
        op.on_phase[len(op.statuses) - 1] = lambda: _plane.reboot(server)  # the rename's reboot
        # Available again only once its server is back: a loaded machine restarts it slower than the time model.
        op.ready = lambda: _plane.ready(server)


def _rebooted(backend: RDSBackend, db: Any, identifier: str) -> None:
    if handled(db):
        _plane.reboot(key(db))
        gate(db)


def _deleted(backend: RDSBackend, db: Any, *args: Any, **kwargs: Any) -> None:
    if not handled(db):
        return
    _plane.resolve(dns_name(db, db.db_instance_identifier), db.port, None)
    final = kwargs.get("final_db_snapshot_identifier") or (args[1] if len(args) > 1 else None)
    if final and not kwargs.get("skip_final_snapshot"):
        _plane.snapshot(backend.database_snapshots[final.lower()].arn, key(db))
    # AWS promotes the replicas of a deleted source (rds_model's promote operations): their servers too.
    for replica_id in list(db.replicas):
        replica = backend.databases.get(replica_id)
        if replica is not None and handled(replica):
            _promoted(backend, replica, {})
    op = _sim.current(db)
    server = key(db)
    if op is not None:
        then(op, lambda: _plane.delete(server))


def _snapshot_taken(backend: RDSBackend, snapshot: Any, *args: Any, **kwargs: Any) -> None:
    db = backend.databases.get(snapshot.db_instance_identifier)
    if db is None or not handled(db):
        return
    if copy_data(db, snapshot.arn) and snapshot.snapshot_type == "manual":
        gate(db)


def _snapshot_deleted(backend: RDSBackend, snapshot: Any, *args: Any) -> None:
    _plane.forget_snapshot(snapshot.arn)


def copy_snapshot(snapshot: Any) -> None:
    """A snapshot copy (in one account or across two) holds its source's data: the copy reads `available` only once
    its files are copied."""
    if _plane is None:
        return
    job = _plane.copy_snapshot(snapshot.arn, snapshot.mitosis_source_arn)
    op = _sim.current(snapshot)
    if job is not None and op is not None:
        op.ready = lambda: _plane.ready(job)


def _snapshot_copied(backend: RDSBackend, snapshot: Any, *args: Any, **kwargs: Any) -> None:
    copy_snapshot(snapshot)
