"""What the data plane adds to the endpoint's RDS model (rds_model.py), for instances of its engines.

Each call the control plane accepts gets its data-plane effect: a create starts a server (the instance reads
`available` only once it accepts connections), a read replica is a streaming standby, a promotion (when the time
model ends it) makes the standby writable, a snapshot is a copy taken at the call, a restore starts a server from
one (a point-in-time restore from a copy of the source taken at the call), a new master password is set when it
applies, a reboot restarts the server, a rename frees the old name at once and gives the new one the server when
it has taken effect, a delete frees the name at once and removes the server when it is gone.

Installed over the endpoint's own patches, so that rds_model stays the control plane only.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from moto.rds.models import DBInstance, RDSBackend

from ..timeline import Simulation
from .process import Client

_plane: Optional[Client] = None
_sim: Simulation
_endpoint_address = DBInstance.address


def install(plane: Client, sim: Simulation) -> None:
    global _plane, _sim
    _plane, _sim = plane, sim
    for name, extend in (("create_db_instance", _created), ("create_db_instance_read_replica", _replicated),
                         ("restore_db_instance_from_db_snapshot", _restored),
                         ("restore_db_instance_to_point_in_time", _restored_to_point_in_time),
                         ("promote_read_replica", _promoted), ("modify_db_instance", _modified),
                         ("reboot_db_instance", _rebooted), ("delete_db_instance", _deleted),
                         ("create_db_snapshot", _snapshot_taken), ("delete_db_snapshot", _snapshot_deleted)):
        setattr(RDSBackend, name, _after(getattr(RDSBackend, name), extend))
    DBInstance.address = property(_address)


def handled(db: Any) -> bool:
    """An instance the data plane serves: of one of its engines, not an Aurora member (the cluster's server)."""
    return _plane is not None and db.engine == "postgres" and not db.db_cluster_identifier


def _after(control: Callable[..., Any], extend: Callable[..., None]) -> Callable[..., Any]:
    def call(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
        result = control(self, *args, **kwargs)
        extend(self, result, *args, **kwargs)
        return result
    return call


def _address(db: DBInstance) -> str:
    """The name's loopback address on the data plane (as DNS answers it), the endpoint's host name otherwise."""
    if handled(db):
        return _plane.address(db.db_instance_identifier)
    return _endpoint_address.fget(db)


def _key(db: Any) -> str:
    return db.dbi_resource_id


def _gate(db: Any, then: Optional[Callable[[], None]] = None) -> None:
    """The running operation of `db` completes only once the data plane's work for it is done; then `then`."""
    op = _sim.current(db)
    if op is None:
        return
    key = _key(db)
    op.ready = lambda: _plane.ready(key)
    if then is not None:
        before = op.on_done

        def done() -> None:
            if before:
                before()
            then()
        op.on_done = done


def _serve_name(db: Any) -> None:
    _plane.resolve(db.db_instance_identifier, db.port, _key(db))


def _served(db: Any) -> None:
    """`db` has a server (being made): the automated snapshots moto took in the same call copy its first data."""
    db.mitosis_served = True
    for name in db.__dict__.pop("mitosis_snapshots", []):
        _plane.snapshot(name, _key(db))
    _gate(db, lambda: _serve_name(db))


def _created(backend: RDSBackend, db: Any, db_kwargs: dict[str, Any]) -> None:
    if not handled(db) or db_kwargs.get("mitosis_restore"):
        return  # a restore's server comes from its snapshot
    _plane.create(_key(db), db.master_username, db_kwargs.get("master_user_password") or "",
                  db.db_name or "postgres")
    _served(db)


def _replicated(backend: RDSBackend, replica: Any, db_kwargs: dict[str, Any]) -> None:
    if not handled(replica):
        return
    source = backend.find_db_from_id(db_kwargs["source_db_instance_identifier"])
    _plane.replica(_key(replica), _key(source))
    _served(replica)


def _restored(backend: RDSBackend, db: Any, from_snapshot_id: str, overrides: dict[str, Any]) -> None:
    if not handled(db):
        return
    snapshot = backend.describe_db_snapshots(None, from_snapshot_id.split(":")[-1])[0]
    _plane.restore(_key(db), snapshot.db_snapshot_identifier)
    _served(db)


def _restored_to_point_in_time(backend: RDSBackend, db: Any, source_id: str, target_id: str,
                               overrides: dict[str, Any]) -> None:
    if not handled(db):
        return
    source = backend.describe_db_instances(source_id)[0]
    _plane.point_in_time(_key(db), _key(source))
    _served(db)


def _promoted(backend: RDSBackend, db: Any, db_kwargs: dict[str, Any]) -> None:
    if handled(db):
        op = _sim.current(db)
        before = op.on_done if op else None

        def done() -> None:
            if before:
                before()
            _plane.promote(_key(db))
        if op is not None:
            op.on_done = done


def _modified(backend: RDSBackend, db: Any, identifier: str, db_kwargs: dict[str, Any]) -> None:
    if not handled(db):
        return
    op = _sim.current(db)
    if op is None:
        return
    password = db_kwargs.get("master_user_password")
    new_id = (db_kwargs.get("new_db_instance_identifier") or "").lower()
    before = op.on_done
    if new_id and new_id != identifier.lower():
        # AWS removes the old DNS name at once; the new one answers once the rename (and its reboot) is over.
        _plane.resolve(identifier.lower(), db.port, None)
        reboot_phase = len(op.statuses) - 1
        op.on_phase[reboot_phase] = lambda: _plane.reboot(_key(db))

    def done() -> None:
        if before:
            before()
        if password:
            _plane.set_password(_key(db), db.master_username, password)
        if new_id:
            _serve_name(db)
    op.on_done = done


def _rebooted(backend: RDSBackend, db: Any, identifier: str) -> None:
    if handled(db):
        _plane.reboot(_key(db))
        _gate(db)


def _deleted(backend: RDSBackend, db: Any, *args: Any, **kwargs: Any) -> None:
    if not handled(db):
        return
    _plane.resolve(db.db_instance_identifier, db.port, None)
    final = kwargs.get("final_db_snapshot_identifier") or (args[1] if len(args) > 1 else None)
    if final and not kwargs.get("skip_final_snapshot"):
        _plane.snapshot(final, _key(db))
    # AWS promotes the replicas of a deleted source (rds_model's promote operations): their servers too.
    for replica_id in list(db.replicas):
        replica = backend.databases.get(replica_id)
        if replica is not None and handled(replica):
            _promoted(backend, replica, {})
    op = _sim.current(db)
    key = _key(db)
    if op is not None:
        before = op.on_done

        def done() -> None:
            if before:
                before()
            _plane.delete(key)
        op.on_done = done


def _snapshot_taken(backend: RDSBackend, snapshot: Any, *args: Any, **kwargs: Any) -> None:
    db = backend.databases.get(snapshot.db_instance_identifier)
    if db is None or not handled(db):
        return
    if not getattr(db, "mitosis_served", False):
        # An automated snapshot taken by moto inside the call that makes the instance: once its server is made.
        db.__dict__.setdefault("mitosis_snapshots", []).append(snapshot.db_snapshot_identifier)
        return
    _plane.snapshot(snapshot.db_snapshot_identifier, _key(db))
    if snapshot.snapshot_type == "manual":
        _gate(db)


def _snapshot_deleted(backend: RDSBackend, snapshot: Any, *args: Any) -> None:
    _plane.forget_snapshot(snapshot.db_snapshot_identifier)
