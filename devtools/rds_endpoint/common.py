"""What the instance model (rds_model.py) and the Aurora cluster model (cluster_model.py) share: the
master password rules and managed secret, the modify's deferred and pending changes, a restore's
attributes, a delete's final snapshot, the checks that an identifier is free and a resource available.

A resource here is a moto DBInstance or DBCluster; `kind` is its name in AWS's messages
("DB instance", "DB cluster"). `install(sim)` is called by rds_model.install.
"""

import copy
import hmac
import json
from collections.abc import Callable, Container, Iterable
from typing import Any

from moto.core.utils import utcnow
from moto.rds.exceptions import RDSClientError
from moto.rds.models import MasterUserSecret
from moto.rds.utils import valid_preferred_maintenance_window

from .timeline import Simulation

_sim: Simulation


def install(sim: Simulation) -> None:
    global _sim
    _sim = sim


def patch(cls: type, originals: dict[str, Any], patched: Iterable[tuple[str, Any]]) -> None:
    """Replace methods of `cls`, keeping moto's own in `originals` by name."""
    for name, method in patched:
        originals[name] = getattr(cls, name)
        setattr(cls, name, method)


# --- status ----------------------------------------------------------------------------------


def set_status(resource: Any, status: str) -> bool:
    """Put `resource` (None: unknown) into `status` at once, abandoning whatever it was doing."""
    if resource is None:
        return False
    _sim.cancel(resource)
    resource.status = status
    return True


def busy(resource: Any) -> bool:
    """Not available; the brief `available` in the middle of an operation does not count."""
    return resource.status != "available" or bool(_sim.current(resource))


def ensure_free(
    resources: dict[str, Any], owner: Any, identifier: str, error: Callable[[], Exception]
) -> None:
    """`identifier` is taken by one of `resources`, or by a rename to it claimed for `owner`."""
    if identifier in resources or _sim.claimed(owner, identifier.lower()):
        raise error()


# --- master password rules -------------------------------------------------------------------


def refuse_password_with_secret(manage: Any, password: Any) -> None:
    """ManageMasterUserPassword and MasterUserPassword together (a create or a modify)."""
    if manage and password:
        raise RDSClientError(
            "InvalidParameterCombination",
            "Can't manage the master user password with Secrets Manager if MasterUserPassword is "
            "specified.",
        )


def validate_password_change(
    resource: Any, kind: str, identifier: str, password: str | None, manage: bool | None
) -> None:
    """A modify's MasterUserPassword against its ManageMasterUserPassword (`manage`)."""
    refuse_password_with_secret(manage, password)
    if manage is False and not password:
        raise RDSClientError(
            "InvalidParameterCombination",
            "MasterUserPassword must be provided when ManageMasterUserPassword is set to false.",
        )
    if password and manage is None and manages_password(resource):
        raise RDSClientError(
            "InvalidParameterCombination",
            f"The master user password of {kind} {identifier} is managed by "
            "Secrets Manager: MasterUserPassword can't be specified unless "
            "ManageMasterUserPassword is set to false.",
        )


def validate_rotation(resource: Any, manage: bool | None, rotate: Any) -> None:
    """RotateMasterUserPassword needs a managed secret (or one the same modify turns on)."""
    if rotate and not (manage or manages_password(resource)):
        raise RDSClientError(
            "InvalidParameterCombination",
            "RotateMasterUserPassword is valid only if the master user password is managed by "
            "Secrets Manager.",
        )


def validate_timing(
    resource: Any, changes: dict[str, Any], rotate: Any, apply_immediately: Any
) -> None:
    """The maintenance and backup windows, and a rotation only with ApplyImmediately."""
    message = valid_preferred_maintenance_window(
        changes.get("preferred_maintenance_window", resource.preferred_maintenance_window),
        changes.get("preferred_backup_window", resource.preferred_backup_window),
    )
    if message:
        raise RDSClientError("InvalidParameterValue", message)
    if rotate and not apply_immediately:
        raise RDSClientError(
            "InvalidParameterCombination",
            "You must specify apply immediately when rotating the master user password.",
        )


# --- the managed master secret ---------------------------------------------------------------


def manages_password(resource: Any) -> bool:
    return getattr(resource, "master_user_secret", None) is not None


def manage_change(resource: Any, manage: bool | None) -> bool | None:
    """ManageMasterUserPassword as a change: turning management on again (or off again) is none."""
    if manage is not None and manage == manages_password(resource):
        return None
    return manage


def manage_secret(resource: Any, kms_key_id: str | None) -> None:
    """Give `resource` a managed master secret of its own (`creating` until `activate_secret`)."""
    resource.master_user_secret = MasterUserSecret(resource, kms_key_id)
    resource.manage_master_user_password = True
    hold_secret(resource)


def hold_secret(resource: Any) -> None:
    # RDS sets the master password to the one it generated into the secret.
    resource.master_user_secret.mitosis_creating = True
    resource.master_user_password = current_password(resource)


def secret_change(
    resource: Any, manage: bool | None, kms_key_id: str | None, update: Callable[[], None]
) -> Callable[[], None]:
    """Begin a modify's ManageMasterUserPassword change (`manage` True/False: on/off, None: none):
    a new secret shows at once, `creating` until the modify completes. Returns what completes the
    modify: `update`, the secret dropped before it or activated after it."""
    if manage:
        manage_secret(resource, kms_key_id)

    def apply() -> None:
        if manage is False:
            drop_secret(resource)
        update()
        if manage:
            activate_secret(resource)

    return apply


def activate_secret(resource: Any) -> None:
    secret = getattr(resource, "master_user_secret", None)
    if secret is not None:
        secret.mitosis_creating = False
        secret._status = "active"


def drop_secret(resource: Any) -> None:
    resource.master_user_secret.delete_secret()
    del resource.master_user_secret
    resource.manage_master_user_password = False


def current_password(resource: Any) -> str | None:
    """The master password: the managed secret's current value, else the one last set."""
    secret = getattr(resource, "master_user_secret", None)
    if secret is not None:
        try:
            value = secret.secretsmanager.get_secret_value(secret.secret_arn, None, None)
            return json.loads(value["SecretString"])["password"]
        except Exception:  # the secret is gone (a snapshot's copy of a deleted cluster)
            pass
    # moto's getter refuses to answer (as the API never shows it); the setter stores it here.
    return resource.__dict__.get("_master_user_password")


def check_password(resource: Any, password: str) -> bool | None:
    """Whether `password` is the master password of `resource` now; None for an unknown one."""
    if resource is None:
        return None
    current = current_password(resource) or ""
    return hmac.compare_digest(password.encode(), current.encode())


# --- a modify's deferred and pending changes, a restore's attributes -------------------------


def split_deferred(
    resource: Any, changes: dict[str, Any], apply_immediately: Any, windowed: set[str]
) -> dict[str, Any]:
    """The changes to make now: with ApplyImmediately those held before too, else all but the
    `windowed` ones, which wait (in `mitosis_deferred`) for the next maintenance window."""
    deferred = resource.__dict__.setdefault("mitosis_deferred", {})
    if apply_immediately:
        changes = {**deferred, **changes}
        deferred.clear()
    else:
        deferred.update({k: changes.pop(k) for k in windowed & changes.keys()})
    return changes


def shown(changes: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """`changes` as PendingModifiedValues shows them (`names`: attribute -> member), the password
    masked."""
    result = {names[k]: v for k, v in changes.items() if k in names}
    if "MasterUserPassword" in result:
        result["MasterUserPassword"] = "****"
    return result


def pending_values(
    resource: Any, show: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """The deferred changes and those of the running operation, as `show` shows them."""
    op = _sim.current(resource)
    return {**show(resource.__dict__.get("mitosis_deferred", {})), **(op.pending if op else {})}


def restore_kwargs(
    source: Any,
    kept: Iterable[str],
    overrides: dict[str, Any],
    options: set[str],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A restore's new resource: the `kept` attributes and master password of `source`, then
    `extra`, then the request's `overrides` but its `options`; each value a copy, None left out."""
    kwargs = {name: getattr(source, name, None) for name in kept}
    kwargs["master_user_password"] = current_password(source)
    kwargs.update(extra or {})
    kwargs.update((k, v) for k, v in overrides.items() if k not in options)
    return {k: copy.deepcopy(v) for k, v in kwargs.items() if v is not None}


# --- a delete's final snapshot ---------------------------------------------------------------


def require_final_snapshot_name(name: str | None) -> None:
    if not name:
        raise RDSClientError(
            "InvalidParameterCombination",
            "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
        )


def start_delete(
    kind: str, resource: Any, final_snapshot: Any, remove: Callable[[], None]
) -> None:
    """Start the delete operation `kind`; once done, `remove` the resource. The final snapshot (if
    any) is `creating` while the resource is `deleting`, `available` once it is gone, `failed` if
    the delete is abandoned."""

    def gone() -> None:
        remove()
        if final_snapshot is not None:
            final_snapshot.status = "available"

    def abandoned() -> None:
        if final_snapshot is not None:
            final_snapshot.status = "failed"

    _sim.start(kind, resource, final_status=None, on_done=gone, on_cancel=abandoned)


def automated_snapshot_name(identifier: str, taken: Container[str]) -> str:
    """The name of an automated snapshot of `identifier` taken now. moto names it by the minute and failed the create
    (after making the instance or cluster) when that name had one from the same minute, e.g. a name used again after
    a rename or a discard; AWS never refuses a create for it, so a later one of the same minute gets a suffix."""
    base = f"rds:{identifier}-{utcnow().strftime('%Y-%m-%d-%H-%M')}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name
