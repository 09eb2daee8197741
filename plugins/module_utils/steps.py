# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One class per step kind, the one home of everything about that kind.

A step knows its API call and parameters (for a DB instance or an Aurora cluster), when it is done given the
live state (marking a plan), when its call has completed and when it is still under way (applying it), which
refusals mean that it already happened or that its instance is busy, the IAM actions and resources it needs,
and its lines in the flight plan. The planners build steps, the executor runs them, the IAM policy and the
report read them: none of them asks which kind a step is.
"""

from __future__ import annotations

import secrets as random_secrets
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import masking
from .attributes import unmet
from .aws import EXPIRED_CODES, FAILED_STATUSES, MitosisError, call, paginate
from .credentials import managed_secret, secret_active
from .graph import arn_of, described, parse_reference, ref, resource_id_of, status_of
from .names import (CLEANUP, COMPLETE, COPY, CREDENTIALS_TAG, DONE, MASKED_TAG, MODIFY, PENDING, PREPARE,
                    PREPARED_TAG, REBOOT, RESTORE_PIT, ROLLBACK, SWAP, SWITCHED_TAG, TAG, UNTAG)

Description = Dict[str, Any]
Live = Dict[str, Description]  # descriptions by ref: instances by name, clusters by ref(name, cluster=True)
# The clone's new master password, read only when the step that sets it is called.
PasswordSource = Callable[[], str]
# The account a step acts in: the run's own (the target's), or the source's in a refresh across accounts.
TARGET_ACCOUNT, SOURCE_ACCOUNT = "target", "source"
TEMPORARY_PASSWORD_BYTES = 24
# An ARN from a resource type and a name, in the plan's account and region.
ArnOf = Callable[[str, str], str]
Grants = List[Tuple[str, List[str]]]

BUSY_CODES = ("InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault")
# A name still held by the instance (or cluster) moving aside.
TAKEN_CODES = ("DBInstanceAlreadyExists", "DBClusterAlreadyExistsFault")
NOT_FOUND_CODES = ("DBInstanceNotFound", "DBClusterNotFoundFault")
RESETTING = "resetting-master-credentials"


def shown(value: Any) -> str:
    """A parameter's value as a person reads it: no JSON quoting; a tag as key=value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        if set(value) == {"Key", "Value"}:
            return "{0}={1}".format(value["Key"], shown(value["Value"]))
        return "{" + ", ".join("{0}={1}".format(key, shown(item)) for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shown(item) for item in value) + "]"
    return str(value)


def parameters_text(params: Dict[str, Any]) -> str:
    """A call's parameters as `Key=value` pairs, in the call's order."""
    return " ".join("{0}={1}".format(key, shown(value)) for key, value in params.items())


def failed_status(name: str, status: str, doing: str) -> None:
    if status in FAILED_STATUSES or status.startswith("incompatible-"):
        raise MitosisError(
            "{0} is in status '{1}' while {2}; it will not become available on its own.".format(name, status, doing),
            operation="wait", identifier=name, code=status,
            hint="Repair or delete {0} in the RDS console, then run the same command again to resume.".format(name))


class Secrets:
    """What a run holds in memory only and never shows: the clone's new master password (given, read when first
    needed), the masking salt, the temporary password a masking run sets on a clone whose password Secrets Manager
    will manage, and the values the masking replaced (for the proof on the replicas)."""

    def __init__(self, password: Optional[PasswordSource] = None, salt: Optional[Callable[[], str]] = None) -> None:
        self.given = password
        self.salt_source = salt
        self.temporary = None  # type: Optional[str]
        self.samples = {}  # type: masking.Samples

    @property
    def salt(self) -> Optional[str]:
        """The masking salt the run was given (read from its secret when first needed), or None."""
        return self.salt_source() if self.salt_source else None

    @staticmethod
    def of(given: Any) -> Optional["Secrets"]:
        """The secrets of a run given only the new master password (a callable), or none."""
        return given if given is None or isinstance(given, Secrets) else Secrets(given)

    def password(self, step: "Step") -> str:
        """The new master password the run was given."""
        if self.given is None:
            raise MitosisError("{0} needs the clone's master password, and none was given to this run.".format(
                step.key), operation=step.action, identifier=step.identifier,
                hint="Pass the same master_password or master_password_secret as when the plan was made.")
        return self.given()

    def new_temporary(self) -> str:
        """A new random password for the masking's login (a resumed run sets a new one: the old one is gone)."""
        self.temporary = random_secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)
        return self.temporary

    def login(self, step: "Step") -> str:
        """The password the masking logs in with: the temporary one this run set, else the one it was given."""
        return self.temporary or self.password(step)


def has_tag(inst: Optional[Description], key: str, value: Optional[str] = None) -> bool:
    """`inst` carries the tag `key` (with `value`, when given)."""
    return any(t.get("Key") == key and value in (None, t.get("Value")) for t in (inst or {}).get("TagList") or [])


# The calls and fields of DB snapshots, and of Aurora cluster snapshots (by `cluster`).
SNAPSHOT_API = {
    False: {"describe": "DescribeDBSnapshots", "items": "DBSnapshots", "name": "DBSnapshotIdentifier",
            "owner": "DBInstanceIdentifier", "source": "SourceDBSnapshotIdentifier",
            "target": "TargetDBSnapshotIdentifier", "attributes": "DescribeDBSnapshotAttributes",
            "result": "DBSnapshotAttributesResult", "values": "DBSnapshotAttributes", "arn": "snapshot",
            "missing": ("DBSnapshotNotFound",), "taken": ("DBSnapshotAlreadyExists",)},
    True: {"describe": "DescribeDBClusterSnapshots", "items": "DBClusterSnapshots", "name": "DBClusterSnapshotIdentifier",
           "owner": "DBClusterIdentifier", "source": "SourceDBClusterSnapshotIdentifier",
           "target": "TargetDBClusterSnapshotIdentifier", "attributes": "DescribeDBClusterSnapshotAttributes",
           "result": "DBClusterSnapshotAttributesResult", "values": "DBClusterSnapshotAttributes",
           "arn": "cluster-snapshot", "missing": ("DBClusterSnapshotNotFoundFault", "DBClusterSnapshotNotFound"),
           "taken": ("DBClusterSnapshotAlreadyExistsFault", "DBClusterSnapshotAlreadyExists")},
}


def snapshots_named(rds: Any, name: str, cluster: bool = False) -> List[Description]:
    """The snapshot (an Aurora cluster's, with `cluster`) called `name` (a name or an ARN), as a list: empty when
    there is none."""
    api = SNAPSHOT_API[cluster]
    try:
        # A snapshot shared from another account is named by its ARN and listed only with IncludeShared.
        return paginate(rds, api["describe"], api["items"], IncludeShared=name.startswith("arn:"), **{api["name"]: name})
    except MitosisError as error:
        if error.code in api["missing"]:
            return []
        raise


def snapshot_status(rds: Any, name: str, cluster: bool = False) -> Optional[str]:
    """The status of the snapshot `name`, None when there is none."""
    found = snapshots_named(rds, name, cluster)
    return found[0].get("Status") if found else None


class Watch:
    """What one step's instance has been seen doing since its call (a rename completes after its reboot).

    A step follows the instance (its DbiResourceId), not the name: the old name may soon hold another one; a
    discard deletes the very clone its plan names."""

    def __init__(self, step: Optional["Step"] = None, live: Optional[Live] = None) -> None:
        self.busy_seen = False  # a rename's reboot, a password reset: the change was seen under way
        self.available_since = None  # type: Optional[float]
        self.snapshot_status = None  # type: Optional[str]  # a final snapshot's, read at each poll
        self.time_scale = 1.0  # reported seconds per real second (the embedded endpoint's simulated clock)
        inst = {}  # type: Description
        if step is not None and live is not None:
            inst = live.get(step.ref) or live.get(step.new_ref) or {}
        named = step.resource_id if step is not None else None
        self.resource_id = named or resource_id_of(inst)  # type: Optional[str]

    def settled(self, now: float, settle_time: float) -> bool:
        """Over once seen under way; if that was missed between two polls, once `available` has lasted."""
        if self.busy_seen:
            return True
        if self.available_since is None:
            self.available_since = now
        return now - self.available_since >= settle_time

    def holds(self, inst: Optional[Description]) -> bool:
        """`inst` is the instance this step acts on."""
        return inst is not None and (self.resource_id is None or resource_id_of(inst) == self.resource_id)


class Words:
    """How a planner speaks of its plan in the marks: a refresh's clone, a rollback's original instance."""

    def __init__(self, complete: str, swapped_in: str, retired: str, swap_finished: Optional[str] = None,
                 concluded: Optional[str] = None, restart_pending: Optional[str] = None) -> None:
        self.complete = complete  # why every step is done once the plan is complete ({0}: the node)
        self.swapped_in = swapped_in  # what holds a name once its swap-in is done
        self.retired = retired  # the prefix of the names the cleanup deletes
        self.swap_finished = swap_finished  # why every swap step is done in the cleanup, when it says so
        # Why the restart is done once the cleanup is, and why it runs (again) until then.
        self.concluded = concluded or "every {0}* instance is deleted".format(retired)
        self.restart_pending = restart_pending or "runs (again) before any {0}* instance is deleted".format(retired)


class Marking:
    """What marking reads: the plan's phase (from the live state), the live descriptions by ref, the plan's steps
    and its planner's words."""

    def __init__(self, phase: str, graph: Any, steps: List["Step"], words: Words) -> None:
        self.phase = phase
        self.graph = graph
        self.steps = steps
        self.words = words

    def held(self, key: str) -> Optional[Description]:
        """What holds a name now (an instance by its name, a cluster by its ref)."""
        return self.graph.instances.get(key) if key else None

    def parent(self, inst: Optional[Description]) -> Optional[str]:
        return self.graph.parent(inst["DBInstanceIdentifier"]) if inst else None


def gone(ctx: Marking, step: "Step") -> bool:
    """The instance a step acts on is gone: the one it names by resource id under any name, else its name's."""
    if step.resource_id:
        return all(resource_id_of(inst) != step.resource_id for inst in ctx.graph.instances.values())
    return ctx.held(step.ref) is None


def _summary(inst: Optional[Description]) -> Dict[str, Any]:
    if inst is None:
        return {"exists": False}
    return {
        "exists": True,
        "status": status_of(inst),
        "source": inst.get("ReadReplicaSourceDBInstanceIdentifier"),
        "instance_class": inst.get("DBInstanceClass"),
        "backup_retention_period": inst.get("BackupRetentionPeriod"),
    }


class Step:
    """One call of a plan (or a step the caller runs), with what it depends on and its mark."""

    kind = ""
    caller = False  # run by the caller (the role's task files); the executor only records it
    creates = False  # makes its instance: started before others, whose modify could make its source busy
    takes_freed_name = False  # may start as soon as the name it takes is free, before the step freeing it is done
    retires = False  # deletes what a swap moved aside: never before the swap has finished
    concludes = False  # the restart runs (again) until this cleanup step is done: a delete, keeping a generation
    clears = False  # clears a name for the copy (an earlier run's clone, a kept generation) before it starts
    makes_secret = False  # RDS creates a managed secret with the caller's permissions
    skipped_when_met = False  # when its postcondition holds already, it is done without a call
    met = "already has these values"  # why, then
    window = ""  # "opens" or "closes" the window during which its node's name is unreachable
    in_check_count = True  # counted in a check-mode summary's "would run"
    in_node_order = True  # the plan's order of nodes (parents first) is the order of such steps
    tags_clone = True  # the `Tags` of its call are on the clone (the cleanup removes the run's own)

    def __init__(self, key: str, phase: str, action: str, identifier: str, params: Dict[str, Any], node: str,
                 depends_on: Any = (), cluster: bool = False) -> None:
        self.key = key
        self.phase = phase
        self.action = action
        self.identifier = identifier
        self.params = params
        self.node = node
        self.depends_on = list(depends_on)
        self.cluster = cluster  # the step acts on an Aurora cluster, not on a DB instance
        self.status = PENDING
        self.reason = ""
        self.wave = 0
        # The one instance (or cluster) a discard deletes: a clone made later under the same name is not it.
        self.resource_id = None  # type: Optional[str]
        self.account = TARGET_ACCOUNT

    # --- data --------------------------------------------------------------------------------------------------

    def done(self, reason: str) -> None:
        self.status = DONE
        self.reason = reason

    def pending(self, reason: str = "") -> None:
        self.status = PENDING
        self.reason = reason

    @property
    def new_identifier(self) -> Optional[str]:
        return self.params.get("NewDBClusterIdentifier" if self.cluster else "NewDBInstanceIdentifier")

    @property
    def ref(self) -> str:
        """The key of the step's instance (or cluster) in live state."""
        return ref(self.identifier, self.cluster)

    @property
    def new_ref(self) -> str:
        return ref(self.new_identifier, self.cluster) if self.new_identifier else ""

    @staticmethod
    def from_dict(data: Dict[str, Any]) -> "Step":
        step = make_step(data["id"], data["phase"], data["kind"], data["action"], data["identifier"],
                         dict(data.get("params") or {}), data["node"], data.get("depends_on") or (),
                         bool(data.get("cluster")))
        step.wave = data.get("wave", 0)
        step.resource_id = data.get("resource_id")
        step.account = data.get("account") or TARGET_ACCOUNT
        return step

    def to_dict(self) -> Dict[str, Any]:
        extra = dict({"cluster": True} if self.cluster else {},
                     **({"resource_id": self.resource_id} if self.resource_id else {}))
        if self.account != TARGET_ACCOUNT:
            extra["account"] = self.account
        return dict(extra, **{
            "id": self.key,
            "phase": self.phase,
            "kind": self.kind,
            "action": self.action,
            "identifier": self.identifier,
            "params": self.params,
            "node": self.node,
            "depends_on": self.depends_on,
            "status": self.status,
            "reason": self.reason,
            "wave": self.wave,
        })

    def result(self) -> Dict[str, Any]:
        """The step in a run's results and record."""
        found = {"id": self.key, "kind": self.kind, "action": self.action, "identifier": self.identifier,
                 "params": self.params, "wave": self.wave, "phase": self.phase, "node": self.node}
        if self.window:
            found["window"] = self.window
        if self.account != TARGET_ACCOUNT:
            found["account"] = self.account
        return found

    @property
    def label(self) -> str:
        """How progress lines and errors name the step (and the source account, when it acts there)."""
        where = " in the source account" if self.account == SOURCE_ACCOUNT else ""
        return "{0} {1}{2}".format(self.action, self.identifier, where)

    # --- marking: done or pending, from the live state ------------------------------------------------------------

    def mark(self, ctx: Marking) -> None:
        """Mark the step done (and why) when the live state shows it; it is pending otherwise."""

    def after_marking(self, ctx: Marking) -> None:
        """What the step's mark means for the other steps of the plan."""

    def concluded(self, ctx: Marking) -> bool:
        """A cleanup step that `concludes` the refresh is over: what it retires is gone."""
        return gone(ctx, self)

    # --- applying ----------------------------------------------------------------------------------------------

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        params = dict(self.params)
        params["DBClusterIdentifier" if self.cluster else "DBInstanceIdentifier"] = self.identifier
        return params

    def call(self, rds: Any, live: Live, secrets: Optional[Secrets] = None) -> None:
        call(rds, self.action, self.identifier, **self.call_params(live, secrets))

    def start(self, rds: Any, live: Live, secrets: Optional[Secrets], region: Optional[str]) -> Optional[str]:
        """Make the step's call, unless an earlier run's call is still under way; or say why it is done without
        one."""
        if self.skipped_when_met and self.complete(live, Watch(self), 0, 0, region):
            # Nothing to change (or an earlier run's call finished): a modify that changes nothing is never sent.
            return "{0} {1}".format(self.identifier, self.met)
        if not self.in_progress(live):
            self.call(rds, live, secrets)
        return None

    def poll(self, rds: Any, watch: Watch) -> None:
        """Read what the step's completion needs beyond the describe of its instance."""

    def released(self, live: Live, watch: Watch) -> bool:
        """The name the step frees is free (a swap-out's, before its rename has finished)."""
        return False

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        """The step's postcondition holds in `live` and its instance is available (failed statuses raise)."""
        inst = live.get(self.ref)
        if inst is None:
            return False
        status = status_of(inst)
        failed_status(self.identifier, status, "waiting for {0}".format(self.action))
        self.seen(status, watch)
        if status != "available":
            return False
        return self.holds(inst, watch, now, settle_time, region)

    def seen(self, status: str, watch: Watch) -> None:
        """What a status of the instance says about the step's progress."""

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        """The postcondition, on an available instance."""
        return True

    def in_progress(self, live: Live) -> bool:
        """The step's call was made by an earlier, interrupted run and AWS is still working on it."""
        return False

    def already_done(self, rds: Any, error: MitosisError) -> bool:
        """A call refused because an earlier attempt of itself (a retried request) already did it."""
        return False

    def not_yet(self, error: MitosisError) -> bool:
        """A refusal that only means "later": the instance is busy."""
        return error.code in BUSY_CODES

    def deferred(self, error: MitosisError) -> bool:
        """A refusal that leaves the step to the next run, which does it before anything else; this run goes on."""
        return False

    # --- showing -----------------------------------------------------------------------------------------------

    def detail(self, mode: str) -> str:
        """The flight plan's line under the step: the call's parameters."""
        return parameters_text(self.params)

    def diff(self, graph: Any) -> Dict[str, Any]:
        """Before/after of the instances the step touches, for --diff."""
        names = [self.ref] + ([self.new_ref] if self.new_ref else [])
        before = {n: _summary(graph.instances.get(n)) for n in names}
        after = {n: dict(v) for n, v in before.items()}
        self.changes(after, before)
        return {"before": before, "after": after}

    def changes(self, after: Dict[str, Any], before: Dict[str, Any]) -> None:
        """What the step changes in the --diff's `after`."""

    def grants(self, arn: ArnOf, source: str) -> Grants:
        """The IAM actions the step's call needs, each with its resources."""
        return []

    def tagged(self, arn: ArnOf) -> Optional[str]:
        """The resource the step creates with tags (AddTagsToResource is checked on it)."""
        return None

    def kept_snapshot(self) -> Optional[str]:
        """The final snapshot the step keeps of a retired primary."""
        return None

    def new_secret(self, graph: Any, plan_phase: str) -> Optional[str]:
        """The managed master secret the step gave the clone, once it exists."""
        return None


class Renames(Step):
    """A rename (ModifyDBInstance or ModifyDBCluster with a new identifier): a swap's move."""

    def mark(self, ctx: Marking) -> None:
        if ctx.phase == CLEANUP and ctx.words.swap_finished:
            self.done(ctx.words.swap_finished)
        elif self.finished(ctx):
            self.done(self.finished_reason(ctx))
        elif status_of(ctx.held(self.ref)) == "renaming":
            self.pending("rename in progress")

    def finished(self, ctx: Marking) -> bool:
        raise NotImplementedError

    def finished_reason(self, ctx: Marking) -> str:
        raise NotImplementedError

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        """Old name gone, new name present and available after the reboot that follows `renaming`."""
        if watch.holds(live.get(self.ref)):
            failed_status(self.identifier, status_of(live[self.ref]), "renaming it")
            return False
        inst = live.get(self.new_ref)
        if not watch.holds(inst):
            return False
        status = status_of(inst)
        failed_status(self.new_identifier or "", status, "renaming it")
        if status != "available":
            watch.busy_seen = watch.busy_seen or status == "rebooting"
            watch.available_since = None
            return False
        # The first `available` after an instance's rename comes before its reboot: trust it only once it has lasted.
        # A cluster's rename reboots nothing: available under the new name, it is done.
        return self.cluster or watch.settled(now, settle_time)

    def in_progress(self, live: Live) -> bool:
        inst = live.get(self.ref) or {}
        pending = (inst.get("PendingModifiedValues") or {}).get(
            "DBClusterIdentifier" if self.cluster else "DBInstanceIdentifier")
        return status_of(inst) == "renaming" or pending == self.new_identifier or (
            not inst and self.new_ref in live)

    def changes(self, after: Dict[str, Any], before: Dict[str, Any]) -> None:
        after[self.new_ref] = dict(before[self.ref], status="available")
        after[self.ref] = {"exists": False}

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return modify_grants(self, arn)


def modify_grants(step: Step, arn: ArnOf) -> Grants:
    """A modify's action on every name it touches (before and after a rename); an instance's may reboot it."""
    names = [arn("cluster" if step.cluster else "db", n) for n in [step.identifier, step.new_identifier] if n]
    return [(step.action, names)] + ([(REBOOT, names)] if step.action == MODIFY else [])


class SwapOut(Renames):
    """X moves aside (to old-X in a refresh, rej-X in a rollback): its name is free before the rename is over."""

    kind = "swap-out"
    window = "opens"

    def finished(self, ctx: Marking) -> bool:
        return ctx.phase == CLEANUP or ctx.held(self.new_ref) is not None

    def finished_reason(self, ctx: Marking) -> str:
        return "{0} exists".format(self.new_identifier)

    def released(self, live: Live, watch: Watch) -> bool:
        return not watch.holds(live.get(self.ref))


class SwapIn(Renames):
    """A clone (or, in a rollback, the original instance) takes the name X as soon as it is free."""

    kind = "swap-in"
    window = "closes"
    takes_freed_name = True

    def finished(self, ctx: Marking) -> bool:
        return ctx.phase == CLEANUP or (ctx.phase == SWAP and ctx.held(self.ref) is None
                                        and ctx.held(self.new_ref) is not None)

    def finished_reason(self, ctx: Marking) -> str:
        return "{0} is {1}".format(self.node, ctx.words.swapped_in)

    def not_yet(self, error: MitosisError) -> bool:
        # The name is still held by the instance moving aside.
        return super().not_yet(error) or error.code in TAKEN_CODES


class CopyStep(Step):
    """A step of the copy (or of the prepare step), acting on the clone temp-X before the swap."""

    def mark(self, ctx: Marking) -> None:
        if ctx.phase != COPY:
            self.done("the {0} finished before the swap started".format(self.phase))
        else:
            self.mark_clone(ctx, ctx.held(self.ref))

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        """Done or pending from the clone, during the copy."""


class Creates(CopyStep):
    """A call that makes the clone (a read replica, a restore, an Aurora cluster or instance)."""

    creates = True

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        if status_of(clone) == "creating":
            self.pending("{0} is being created".format(self.identifier))
        elif clone is not None:
            self.done("{0} exists ({1})".format(self.identifier, status_of(clone)))

    def in_progress(self, live: Live) -> bool:
        return bool(live.get(self.ref))  # pending while still `creating`: waited for, never created again

    def already_done(self, rds: Any, error: MitosisError) -> bool:
        if error.code not in TAKEN_CODES:
            return False
        found = described(rds, [self.ref]).get(self.ref)
        return bool(found) and self.made(found, rds.meta.region_name)

    def made(self, found: Description, region: Optional[str]) -> bool:
        """`found`, which holds the name, is what an earlier attempt of this call made."""
        return True

    def changes(self, after: Dict[str, Any], before: Dict[str, Any]) -> None:
        after[self.ref] = {"exists": True, "status": "available",
                           "source": self.params.get("SourceDBInstanceIdentifier")
                           or self.params.get("SourceDBClusterIdentifier") or self.params.get("DBClusterIdentifier"),
                           "instance_class": self.params.get("DBInstanceClass")}

    def tagged(self, arn: ArnOf) -> Optional[str]:
        return arn("cluster" if self.cluster else "db", self.identifier)


class Create(Creates):
    """CreateDBInstanceReadReplica of the source (or of its parent's clone); an Aurora clone's CreateDBInstance."""

    kind = "create"

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return self.made(inst, region)

    def made(self, found: Description, region: Optional[str]) -> bool:
        if "DBClusterIdentifier" in self.params:
            return found.get("DBClusterIdentifier") == self.params["DBClusterIdentifier"]
        parent = parse_reference(found.get("ReadReplicaSourceDBInstanceIdentifier"), region)[0]
        return parent == self.params["SourceDBInstanceIdentifier"]

    def grants(self, arn: ArnOf, source: str) -> Grants:
        if "DBClusterIdentifier" in self.params:
            return [(self.action, [arn("db", self.identifier), arn("cluster", self.params["DBClusterIdentifier"]),
                                   arn("pg", "*"), arn("og", "*"), arn("subgrp", "*"), arn("secgrp", "*")])]
        return [(self.action, [arn("db", self.params["SourceDBInstanceIdentifier"]), arn("db", self.identifier)])]


class Restore(Creates):
    """The new primary restored from a snapshot or to a point in time (an Aurora clone is a restore too)."""

    kind = "restore"

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        if self.action == RESTORE_PIT:
            return dict(self.params, TargetDBInstanceIdentifier=self.identifier)
        return super().call_params(live, secrets)

    def grants(self, arn: ArnOf, source: str) -> Grants:
        if not self.cluster:
            # A snapshot restore's snapshot and describe are the plan's (policy.py).
            origin = [arn("db", self.params["SourceDBInstanceIdentifier"])] if self.action == RESTORE_PIT else []
            return [(self.action, origin + [arn("db", self.identifier)])]
        groups = [arn("cluster-pg", "*"), arn("subgrp", "*"), arn("secgrp", "*"), arn("og", "*")]
        if "SourceDBClusterIdentifier" in self.params:
            # A source cluster of another account (shared through AWS RAM) is named by its ARN.
            named = self.params["SourceDBClusterIdentifier"]
            return [(self.action, [named if named.startswith("arn:") else arn("cluster", named),
                                   arn("cluster", self.identifier)] + groups)]
        named = self.params["SnapshotIdentifier"]
        snapshot = named if named.startswith("arn:") else arn("cluster-snapshot", named)
        return [(self.action, [snapshot, arn("cluster", self.identifier)] + groups),
                ("DescribeDBClusterSnapshots", [arn("cluster", source), arn("cluster-snapshot", "*"), snapshot])]


class Promote(CopyStep):
    """PromoteReadReplica of the clone of the source's read replica, with the target's backups."""

    kind = "promote"
    skipped_when_met = True

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        if clone is not None and ctx.parent(clone) is None:
            self.done("{0} is standalone".format(self.identifier))

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        parent = parse_reference(inst.get("ReadReplicaSourceDBInstanceIdentifier"), region)[0]
        return parent is None and not unmet(inst, self.params)

    def changes(self, after: Dict[str, Any], before: Dict[str, Any]) -> None:
        after[self.ref]["source"] = None

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return [(self.action, [arn("db", self.identifier)])]


class Changes(Step):
    """A call that changes an instance's attributes, credentials or tags, shown as the changes in --diff."""

    def changes(self, after: Dict[str, Any], before: Dict[str, Any]) -> None:
        after[self.ref]["changes"] = {k: v for k, v in self.params.items() if k != "ApplyImmediately"}

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return modify_grants(self, arn)


class Modify(Changes, CopyStep):
    """ModifyDBInstance (ModifyDBCluster) with the target's attributes that the create could not take."""

    kind = "modify"
    skipped_when_met = True

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        if clone is None:
            return
        missing = unmet(clone, self.params)
        if not missing:
            self.done("{0} already has these values".format(self.identifier))
        else:
            self.pending("differs in " + ", ".join(missing))

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return not unmet(inst, self.params)


class ManageSecret(Changes, CopyStep):
    """ManageMasterUserPassword on the new primary: a managed secret of its own, like the target's."""

    kind = "manage-secret"
    skipped_when_met = True
    makes_secret = True

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        status = (managed_secret(clone) or {}).get("SecretStatus")
        if secret_active(clone):
            self.done("{0} has a managed master secret".format(self.identifier))
        elif status:
            self.pending("its managed master secret is {0}".format(status))

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return secret_active(inst)

    def in_progress(self, live: Live) -> bool:
        return managed_secret(live.get(self.ref)) is not None

    def new_secret(self, graph: Any, plan_phase: str) -> Optional[str]:
        # Before the swap the clone is temp-X; once temp-X is gone, X is the clone.
        holder = self.ref if self.ref in graph.instances else ref(self.node, self.cluster) \
            if plan_phase != COPY else None
        secret = managed_secret(graph.instances.get(holder or ""))
        return secret["SecretArn"] if holder and secret else None


class Recorded(CopyStep):
    """A step whose success a tag on the clone records (a tag counts with its value, so a run given another password
    sets it again)."""

    records = ""  # the key of the tag, written by the plan's tag step for the same node

    def recording_tag(self, steps: List[Step]) -> Dict[str, str]:
        return next(t for s in steps if isinstance(s, Tag) and s.node == self.node for t in s.params["Tags"]
                    if t["Key"] == self.records)

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        tag = self.recording_tag(ctx.steps)
        if has_tag(clone, tag["Key"], tag["Value"]):
            self.done("{0} has the tag {1}={2}".format(self.identifier, tag["Key"], tag["Value"]))


class Resets(Changes):
    """A new master password on the clone (ModifyDBInstance MasterUserPassword): done once the reset was seen under
    way and the instance is available again."""

    def seen(self, status: str, watch: Watch) -> None:
        if status == RESETTING:
            watch.busy_seen = True

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        if "MasterUserPassword" in (inst.get("PendingModifiedValues") or {}):
            watch.busy_seen = True
            return False
        return watch.settled(now, settle_time)


class Password(Recorded, Resets):
    """MasterUserPassword on the new primary (from the run's options), recorded by the tag step after it."""

    kind = "password"
    records = CREDENTIALS_TAG

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        return dict(super().call_params(live, secrets), MasterUserPassword=(secrets or Secrets()).password(self))

    def in_progress(self, live: Live) -> bool:
        inst = live.get(self.ref) or {}
        return status_of(inst) == RESETTING or "MasterUserPassword" in (inst.get("PendingModifiedValues") or {})


class MaskLogin(Resets, CopyStep):
    """A temporary random master password on a new primary whose password Secrets Manager will manage (its secret
    only comes once the replicas exist): the masking logs in with it; the managed secret replaces it."""

    kind = "mask-login"

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        if secrets is None:
            raise MitosisError("{0} has nowhere to keep the temporary password.".format(self.key),
                               operation=self.action, identifier=self.identifier)
        return dict(super().call_params(live, secrets), MasterUserPassword=secrets.new_temporary())

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        if managed_secret(clone) is not None:
            self.done("the masking is checked: {0} has its managed master secret".format(self.identifier))
        else:
            self.pending("held in this run's memory only: set again by every run until the managed secret")

    def changes(self, after: Dict[str, Any], before: Dict[str, Any]) -> None:
        after[self.ref]["changes"] = {"MasterUserPassword": "(temporary, for the masking)"}

    def detail(self, mode: str) -> str:
        return "ApplyImmediately=true MasterUserPassword=(random, kept in memory only; the managed secret " \
               "replaces it)"


class Masks(CopyStep):
    """A step that connects to the clone's database (the rules, engine and database are its parameters); it runs
    when it starts, and its report goes into the run's record under `reported`."""

    reported = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.report = None  # type: Optional[Dict[str, Any]]

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return self.report is not None and super().complete(live, watch, now, settle_time, region)

    def result(self) -> Dict[str, Any]:
        found = super().result()
        if self.report is not None:
            found[self.reported] = self.report
        return found

    @property
    def rules(self) -> masking.Rules:
        return self.params["Rules"]

    def connect(self, inst: Description, secrets: Optional[Secrets]) -> masking.Database:
        """A connection to an instance (its Endpoint) or an Aurora cluster (its writer endpoint)."""
        endpoint = inst.get("Endpoint") or {}
        address, port = (endpoint.get("Address"), endpoint.get("Port")) if isinstance(endpoint, dict) else \
            (endpoint, inst.get("Port"))
        name = inst.get("DBInstanceIdentifier") or inst.get("DBClusterIdentifier")
        if not address:
            raise MitosisError("{0} has no endpoint to connect to yet.".format(name), operation="mask",
                               identifier=name)
        return masking.connect(self.params["Engine"], address, port or 5432, inst.get("MasterUsername") or "",
                               (secrets or Secrets()).login(self), self.params["Database"])

    def detail(self, mode: str) -> str:
        return "\n".join(masking.statements(self.params["Engine"], self.rules))


class Mask(Recorded, Masks):
    """The masking rules applied on the new primary, before its automated backups and its replicas; the tag step
    after it records the rules it applied."""

    kind = "mask"
    records = MASKED_TAG
    reported = "masking"

    def start(self, rds: Any, live: Live, secrets: Optional[Secrets], region: Optional[str]) -> Optional[str]:
        inst = live[self.ref]
        secrets = secrets or Secrets()
        db = self.connect(inst, secrets)
        try:
            # Without a salt of the user's, the clone's own resource id: the same through a resumed run.
            report = masking.mask(db, self.rules, secrets.salt or resource_id_of(inst) or "", self.identifier)
        finally:
            db.close()
        secrets.samples.update(report.pop("samples"))
        self.report = report
        return None

    def detail(self, mode: str) -> str:
        masked = ", ".join(sorted(self.rules["tables"]))
        return "(masks {0} on {1}, database {2}, before its backups and replicas; no old row version is left; " \
               "the salt is never shown)\n".format(masked, self.identifier, self.params["Database"]) + \
            super().detail(mode)


class MaskCheck(Masks):
    """The proof, on the new primary and on each replica: every masked column has the masked form and none of the
    values the masking replaced remains. Then the masking's marker goes."""

    kind = "mask-check"
    reported = "masking_check"

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        if managed_secret(clone) is not None:
            # The check ran before the managed secret (which waits for it) replaced the masking's password.
            self.done("checked before {0} got its managed master secret".format(self.identifier))
        else:
            self.pending("checked again by every run until the swap")

    def start(self, rds: Any, live: Live, secrets: Optional[Secrets], region: Optional[str]) -> Optional[str]:
        secrets = secrets or Secrets()
        began = time.monotonic()
        names = [self.identifier] + list(self.params["Replicas"])
        refs = [self.ref] + [ref(name) for name in self.params["Replicas"]]
        found = described(rds, refs)
        checked = {}
        for name, key in zip(names, refs):
            if key not in found:
                raise MitosisError("{0} is not there to check the masking on.".format(name), operation="mask",
                                   identifier=name)
            db = self.connect(found[key], secrets)
            try:
                checked[name] = masking.prove(db, self.rules, secrets.samples, name)
                if name == self.identifier:
                    masking.forget_markers(db)
            finally:
                db.close()
        self.report = {"instances": checked, "seconds": round(time.monotonic() - began, 3)}
        return None

    def detail(self, mode: str) -> str:
        return "(checks every masked column on {0} and its replicas {1}: the masked form, none of the replaced " \
               "values)".format(self.identifier, ", ".join(self.params["Replicas"]) or "(none)")


class Tag(Recorded, Changes):
    """AddTagsToResource: the run's record on the clone that a step is done."""

    kind = "tag"
    skipped_when_met = True

    def recording_tag(self, steps: List[Step]) -> Dict[str, str]:
        return self.params["Tags"][0]

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        return dict(self.params, ResourceName=arn_of(live[self.ref]))

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return all(has_tag(inst, tag["Key"]) for tag in self.params["Tags"])

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return []  # on a clone the run created: the create's tagging grant covers it


class Prepare(Recorded):
    """The caller's prepare tasks on the clone, before any name moves; the tag step after it records them."""

    kind = "prepare"
    caller = True
    records = PREPARED_TAG

    def detail(self, mode: str) -> str:
        return "(runs the prepare tasks on {0} and its replicas, before any name moves)".format(self.identifier)


class Deletes(Step):
    """DeleteDBInstance (DeleteDBCluster) of one instance (cluster): that one, not another that holds its name now."""

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        held = watch.holds(live.get(self.ref))
        if held:
            failed_status(self.identifier, status_of(live[self.ref]), "deleting it")
        return not held

    def in_progress(self, live: Live) -> bool:
        return status_of(live.get(self.ref) or {}) == "deleting"

    def already_done(self, rds: Any, error: MitosisError) -> bool:
        return error.code in NOT_FOUND_CODES

    def changes(self, after: Dict[str, Any], before: Dict[str, Any]) -> None:
        after[self.ref] = {"exists": False}

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return [(self.action, [arn("cluster" if self.cluster else "db", self.identifier)])]


class Discard(Deletes, CopyStep):
    """The delete of a clone an earlier run copied, that very one, before the copy starts over (discard_clone)."""

    kind = "discard"
    skipped_when_met = True
    met = "is deleted"
    in_node_order = False  # leaves first
    clears = True
    what = "a copy an earlier run made ({0})"
    then = "copied again once the earlier run's clones are deleted"

    def mark_clone(self, ctx: Marking, clone: Optional[Description]) -> None:
        # The very instance, under any name (a kept generation is deleted once renamed to old-*).
        if gone(ctx, self):
            self.done("{0} is deleted".format(self.identifier))
        elif status_of(clone) == "deleting" and resource_id_of(clone) == self.resource_id:
            self.pending("delete in progress")
        else:
            self.pending(self.what.format(self.resource_id))

    def after_marking(self, ctx: Marking) -> None:
        if self.status == PENDING:
            clear_for_copy(ctx, self.then)


class DeleteKept(Discard):
    """The delete of a generation a switch by DNS kept for a way back (keep_previous), once moved aside to old-*,
    before the copy takes its names."""

    kind = "delete-kept"
    what = "the generation an earlier refresh kept ({0})"
    then = "copied once the kept generation is deleted"


def clear_for_copy(ctx: Marking, why: str) -> None:
    """Names are being cleared for the copy: every step of the copy is (done again) after that."""
    for step in ctx.steps:
        if step.phase in (COPY, PREPARE) and not step.clears:
            step.pending(why)


class Delete(Deletes):
    """The delete of what the swap moved aside (the generation a switch by DNS retired), leaves first, once the
    restart succeeded."""

    kind = "delete"
    retires = True
    concludes = True

    def mark(self, ctx: Marking) -> None:
        retired = ctx.held(self.ref)
        if ctx.phase == CLEANUP and gone(ctx, self):
            self.done("{0} is deleted".format(self.identifier))
        elif status_of(retired) == "deleting":
            self.pending("delete in progress")

    def grants(self, arn: ArnOf, source: str) -> Grants:
        found = super().grants(arn, source)
        if self.params.get("FinalDBSnapshotIdentifier"):
            # The final snapshot is the delete's: RDS checks CreateDBClusterSnapshot on both.
            found.append(("CreateDBClusterSnapshot", [arn("cluster", self.identifier),
                                                      arn("cluster-snapshot", self.params["FinalDBSnapshotIdentifier"])]))
        return found

    def kept_snapshot(self) -> Optional[str]:
        return self.params.get("FinalDBSnapshotIdentifier")


class FinalSnapshot(Step):
    """CreateDBSnapshot of the retired primary before its delete, found again by a resumed run."""

    kind = "final-snapshot"

    def mark(self, ctx: Marking) -> None:
        if ctx.phase == CLEANUP and gone(ctx, self):
            self.done("{0} is deleted, after its final snapshot".format(self.identifier))

    @property
    def snapshot(self) -> str:
        return self.params["DBSnapshotIdentifier"]

    def start(self, rds: Any, live: Live, secrets: Optional[Secrets], region: Optional[str]) -> Optional[str]:
        taken = snapshot_status(rds, self.snapshot)
        if taken == "available":
            # An earlier run took it and was stopped before the delete: never a second one.
            return "the final snapshot {0} exists".format(self.snapshot)
        if not taken and not self.in_progress(live):
            self.call(rds, live, secrets)
        return None

    def poll(self, rds: Any, watch: Watch) -> None:
        watch.snapshot_status = snapshot_status(rds, self.snapshot)

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        failed_status(self.snapshot, watch.snapshot_status or "", "taking the final snapshot")
        return watch.snapshot_status == "available"

    def grants(self, arn: ArnOf, source: str) -> Grants:
        snapshot = arn("snapshot", self.snapshot)
        return [(self.action, [arn("db", self.identifier), snapshot]), ("DescribeDBSnapshots", [snapshot])]

    def kept_snapshot(self) -> Optional[str]:
        return self.snapshot


class Untag(Changes):
    """RemoveTagsFromResource of the run's own tags on the refreshed stack, after the restart."""

    kind = "untag"
    skipped_when_met = True

    def mark(self, ctx: Marking) -> None:
        if ctx.phase == CLEANUP and not any(has_tag(ctx.held(self.ref), key) for key in self.params["TagKeys"]):
            self.done("{0} has none of the run's tags".format(self.identifier))

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        return dict(self.params, ResourceName=arn_of(live[self.ref]))

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return not any(has_tag(inst, key) for key in self.params["TagKeys"])

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return [(UNTAG, [arn("cluster" if self.cluster else "db", self.identifier)])]


class Restart(Step):
    """The caller's restart, after the swap and before any delete; it runs again while retired instances remain."""

    kind = "restart"
    caller = True
    in_check_count = False

    def mark(self, ctx: Marking) -> None:
        if ctx.phase != CLEANUP:
            return
        if all(s.concluded(ctx) for s in ctx.steps if s.concludes):
            self.done(ctx.words.concluded)
        else:
            self.pending(ctx.words.restart_pending)

    def detail(self, mode: str) -> str:
        return "(runs the restart task; the application reconnects to the {0} {1})".format(
            "original" if mode == ROLLBACK else "new", self.identifier)


class Retire(Renames):
    """A generation a switch by DNS left behind moves aside (to old-*, a rollback's rejected one to rej-*), that very
    instance: no record points at it, so no name the application uses moves. Before the copy when it was kept for a
    way back (it holds the names the copy takes), else after the restart."""

    kind = "retire"
    in_node_order = False

    @property
    def clears(self) -> bool:  # type: ignore[override]
        return self.phase == COPY

    def mark(self, ctx: Marking) -> None:
        held = ctx.held(self.ref)
        if held is None or resource_id_of(held) != self.resource_id:
            self.done("{0} is no longer {1}".format(self.identifier, self.resource_id))
        elif status_of(held) == "renaming":
            self.pending("rename in progress")

    def after_marking(self, ctx: Marking) -> None:
        if self.status == PENDING and self.clears:
            clear_for_copy(ctx, "copied once the kept generation has moved aside")


class Switch(Step):
    """The switch by DNS: one Route 53 change batch (atomic) moves every record of the stack to its clone's endpoint.
    Done once Route 53 reports the change in sync and the records' TTL has passed (resolvers have forgotten the old
    answers); the tag step after it records that on the new primary. Sent again by a run that finds the records
    moved but not that tag: the same change, in sync at once."""

    kind = "switch"
    route53 = None  # type: Any  # the planner's Route 53 client

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.change_id = None  # type: Optional[str]
        self.change_status = None  # type: Optional[str]

    @property
    def label(self) -> str:
        return "{0} {1}".format(self.action, self.params["Zone"])

    @property
    def ttl(self) -> int:
        return max(record["TTL"] for record in self.params["Records"])

    def mark(self, ctx: Marking) -> None:
        tag = next((t for s in ctx.steps if isinstance(s, Switched) for t in s.params["Tags"]
                    if t["Key"] == SWITCHED_TAG), None)
        if tag and has_tag(ctx.held(self.ref), tag["Key"], tag["Value"]):
            self.done("the records point at the clones, in sync ({0} has the tag {1}={2})".format(
                self.identifier, tag["Key"], tag["Value"]))
        elif all(getattr(ctx.graph, "records", {}).get(r["Name"], {}).get("Holder") == self.params["Clones"][
                r["Node"]] for r in self.params["Records"]):
            self.pending("the records point at the clones already: sent again and waited for, since the run that "
                         "sent it stopped before it was in sync")

    def call(self, rds: Any, live: Live, secrets: Optional[Secrets] = None) -> None:
        clones = described(rds, self.params["Clones"].values())
        changes = []
        for record in self.params["Records"]:
            name = self.params["Clones"][record["Node"]]
            address = ((clones.get(name) or {}).get("Endpoint") or {}).get("Address")
            if not address:
                raise MitosisError("{0} has no endpoint to point {1} at.".format(name, record["Name"]),
                                   operation=self.action, identifier=name)
            changes.append(self.change(record, address))
        answer = call(self.route53, self.action, self.params["Zone"], HostedZoneId=self.params["HostedZoneId"],
                      ChangeBatch={"Comment": "mitosis.rds: {0} switches to {1}".format(
                          self.node, self.identifier), "Changes": changes})
        self.change_id = answer["ChangeInfo"]["Id"]
        self.change_status = answer["ChangeInfo"]["Status"]

    @staticmethod
    def change(record: Dict[str, Any], address: str) -> Dict[str, Any]:
        """The change of one record: pointed at `address`."""
        return {"Action": "UPSERT", "ResourceRecordSet": {"Name": record["Name"], "Type": "CNAME", "TTL": record["TTL"],
                                                          "ResourceRecords": [{"Value": address}]}}

    def poll(self, rds: Any, watch: Watch) -> None:
        if self.change_id and self.change_status != "INSYNC":
            self.change_status = call(self.route53, "GetChange", self.change_id, Id=self.change_id)[
                "ChangeInfo"]["Status"]

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        # In sync, then the TTL: until then a resolver may still answer with the old endpoint.
        return self.change_status == "INSYNC" and watch.settled(now, self.ttl / watch.time_scale)

    def not_yet(self, error: MitosisError) -> bool:
        return super().not_yet(error) or error.code == "PriorRequestNotComplete"

    def result(self) -> Dict[str, Any]:
        return dict(super().result(), records=[r["Name"].rstrip(".") for r in self.params["Records"]])

    def detail(self, mode: str) -> str:
        lines = ["UPSERT {0} CNAME TTL={1}: {2} -> the endpoint of {3}".format(
            r["Name"], r["TTL"], r["Value"], self.params["Clones"][r["Node"]]) for r in self.params["Records"]]
        return "\n".join(["(one change batch in hosted zone {0}; waits until Route 53 reports it INSYNC, then {1} s, "
                          "the records' TTL)".format(self.params["HostedZoneId"], self.ttl)] + lines)

    def diff(self, graph: Any) -> Dict[str, Any]:
        records = self.params["Records"]
        return {"before": {r["Name"]: r["Value"] for r in records},
                "after": {r["Name"]: "the endpoint of " + self.params["Clones"][r["Node"]] for r in records}}

    def grants(self, arn: ArnOf, source: str) -> Grants:
        partition = arn("db", "x").split(":")[1]
        zone = ["arn:{0}:route53:::hostedzone/{1}".format(partition, self.params["HostedZoneId"])]
        # Planning finds the zone (by id, or by name: a list of every zone) and reads its records.
        return [("route53:GetHostedZone", zone), ("route53:ListHostedZonesByName", ["*"]),
                ("route53:ListResourceRecordSets", zone), ("route53:" + self.action, zone),
                ("route53:GetChange", ["arn:{0}:route53:::change/*".format(partition)])]


class CreateRecords(Switch):
    """dns_create: the stack's records, created pointing at its live generation (`Clones`: what each points at), in
    one change batch, before the copy's switch moves them; done once Route 53 has it in sync."""

    kind = "records"

    @property
    def ttl(self) -> int:
        return 0  # new names: no resolver has an older answer

    def mark(self, ctx: Marking) -> None:
        if all(getattr(ctx.graph, "records", {}).get(r["Name"]) for r in self.params["Records"]):
            self.done("the records exist")

    def change(self, record: Dict[str, Any], address: str) -> Dict[str, Any]:
        return dict(super().change(record, address), Action="CREATE")

    def detail(self, mode: str) -> str:
        return "\n".join(["(one change batch in hosted zone {0}; waits until Route 53 reports it INSYNC)".format(
            self.params["HostedZoneId"])] + ["CREATE {0} CNAME TTL={1}: the endpoint of {2}".format(
                r["Name"], r["TTL"], self.params["Clones"][r["Node"]]) for r in self.params["Records"]])

    def diff(self, graph: Any) -> Dict[str, Any]:
        records = self.params["Records"]
        return {"before": {r["Name"]: None for r in records},
                "after": {r["Name"]: "the endpoint of " + self.params["Clones"][r["Node"]] for r in records}}


class Switched(Tag):
    """The record, on the new primary, that the switch is in sync (the value names the generation the records
    left, so that an older record on the same instance is not this switch's): the restart waits for it."""

    kind = "switched"

    def mark(self, ctx: Marking) -> None:
        tag = self.params["Tags"][0]
        if has_tag(ctx.held(self.ref), tag["Key"], tag["Value"]):
            self.done("{0} has the tag {1}={2}".format(self.identifier, tag["Key"], tag["Value"]))

    def holds(self, inst: Description, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return all(has_tag(inst, tag["Key"], tag["Value"]) for tag in self.params["Tags"])

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return [(self.action, [arn("db", self.identifier)])]


class Keep(Switched):
    """keep_previous: the generation the switch left behind stays, marked on its primary, for a way back in one
    change (the rollback); the next refresh retires it first."""

    kind = "keep"
    concludes = True

    def concluded(self, ctx: Marking) -> bool:
        return has_tag(ctx.held(self.ref), self.params["Tags"][0]["Key"])


class SnapshotStep(Step):
    """A call on one of the snapshots that carry the source's data across accounts (a refresh across accounts): its
    copy in the source account, encrypted with a key the target account may use, the share of that copy, the target
    account's copy of it, and their deletes. Both copies carry one name (the step's identifier), in their accounts.
    Marked from the snapshots the planner read (`graph.snapshots`: by account, then name), followed by the
    snapshot's status, read at each poll with the client of the step's account. `Clone` (not sent) names the clone
    restored from the copies: once it exists the copies have done their work."""

    tags_clone = False
    unsent = ("Clone", "Received", "Keys")  # what marking and the IAM policy read, not AWS

    @property
    def snapshot(self) -> str:
        return self.identifier

    @property
    def api(self) -> Dict[str, Any]:
        return SNAPSHOT_API[self.cluster]

    def snapshots(self, ctx: Marking, account: Optional[str] = None) -> Dict[str, Description]:
        return (getattr(ctx.graph, "snapshots", None) or {}).get(account or self.account, {})

    def restored(self, ctx: Marking) -> bool:
        """The clone restored from the copies exists (or the swap has begun)."""
        clone = self.params.get("Clone")
        return ctx.phase != COPY or bool(clone and ctx.held(clone))

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        return {key: value for key, value in self.params.items() if key not in self.unsent}

    def poll(self, rds: Any, watch: Watch) -> None:
        watch.snapshot_status = snapshot_status(rds, self.snapshot, self.cluster)

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        failed_status(self.snapshot, watch.snapshot_status or "", "waiting for {0}".format(self.action))
        return watch.snapshot_status == "available"

    def detail(self, mode: str) -> str:
        return parameters_text(self.call_params({}, None))

    def diff(self, graph: Any) -> Dict[str, Any]:
        name = "{0} snapshot {1}".format(self.account, self.snapshot)
        before = {name: {"exists": self.snapshot in (getattr(graph, "snapshots", None) or {}).get(self.account, {})}}
        return {"before": before, "after": {name: {"exists": not isinstance(self, DropSnapshot)}}}

    def snapshot_arn(self, arn: ArnOf, name: str) -> str:
        return name if name.startswith("arn:") else arn(self.api["arn"], name)


class CopySnapshot(SnapshotStep):
    """CopyDBSnapshot: in the source account, the source's snapshot into a manual copy encrypted with a key the
    target account may use (an automated snapshot, or one under the default key, cannot be shared); in the target
    account, the shared copy (named by its ARN) into the target's own, with the target's key. Found again by a
    resumed run, never made twice."""

    kind = "copy-snapshot"

    def mark(self, ctx: Marking) -> None:
        found = self.snapshots(ctx).get(self.snapshot)
        if self.restored(ctx):
            self.done("{0} is restored from the copies".format(self.params.get("Clone") or "the clone"))
        elif self.account == SOURCE_ACCOUNT and self.snapshot in self.snapshots(ctx, TARGET_ACCOUNT):
            self.done("the target account has its copy")
        elif found and found.get("Status") == "available":
            self.done("{0} exists".format(self.snapshot))
        elif found:
            self.pending("{0} is being copied".format(self.snapshot))

    def start(self, rds: Any, live: Live, secrets: Optional[Secrets], region: Optional[str]) -> Optional[str]:
        status = snapshot_status(rds, self.snapshot, self.cluster)
        if status == "available":
            return "{0} exists (an earlier run copied it)".format(self.snapshot)
        if status is None:
            self.call(rds, live, secrets)
        return None

    def already_done(self, rds: Any, error: MitosisError) -> bool:
        return error.code in self.api["taken"]

    def tagged(self, arn: ArnOf) -> Optional[str]:
        # The copy is made with its Tags: RDS checks AddTagsToResource on it (the target account's policy reads this).
        return self.snapshot_arn(arn, self.snapshot)

    def grants(self, arn: ArnOf, source: str) -> Grants:
        copied = self.snapshot_arn(arn, self.params[self.api["source"]])
        own = self.snapshot_arn(arn, self.snapshot)
        owners = arn("cluster" if self.cluster else "db", "*")
        found = [(self.api["describe"], [owners, own] + ([] if copied == own else [copied])),
                 (self.action, [copied, own]), (TAG, [own])]
        if self.params.get("KmsKeyId"):
            # RDS re-encrypts the copy with the key given, under a grant it creates with the caller's permissions.
            keys = [self.params["KmsKeyId"]] + list(self.params.get("Keys") or [])
            found.append(("kms:CreateGrant", keys))
            found.append(("kms:DescribeKey", keys))
        return found


class ShareSnapshot(SnapshotStep):
    """ModifyDBSnapshotAttribute: the source account's copy may be restored (copied) by the target account."""

    kind = "share-snapshot"

    def mark(self, ctx: Marking) -> None:
        shared = (getattr(ctx.graph, "shared_with", None) or {}).get(self.snapshot) or []
        if self.restored(ctx) or self.snapshot in self.snapshots(ctx, TARGET_ACCOUNT):
            self.done("the target account has its copy")
        elif all(account in shared for account in self.params["ValuesToAdd"]):
            self.done("{0} is shared with account {1}".format(self.snapshot, ", ".join(self.params["ValuesToAdd"])))

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        return dict(super().call_params(live, secrets), **{self.api["name"]: self.snapshot})

    def poll(self, rds: Any, watch: Watch) -> None:
        """The attribute is changed by the call itself."""

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return True

    def grants(self, arn: ArnOf, source: str) -> Grants:
        own = self.snapshot_arn(arn, self.snapshot)
        return [(self.action, [own]), (self.api["attributes"], [own])]


class DropSnapshot(SnapshotStep):
    """DeleteDBSnapshot of a copy this refresh (or an earlier one) made, once the next one holds the data: the
    source account's once the target account has its copy (`Received`), the target account's once the clone is
    restored (`Clone`); an earlier refresh's copy at once. A run whose source account credentials expired leaves the
    source account's copy to the next run, which deletes it before anything else."""

    kind = "drop-snapshot"

    def moved_on(self, ctx: Marking) -> bool:
        if "Received" in self.params and self.params["Received"] in self.snapshots(ctx, TARGET_ACCOUNT):
            return True
        return "Clone" not in self.params or self.restored(ctx)

    def mark(self, ctx: Marking) -> None:
        expired = getattr(ctx.graph, "source_expired", None)
        if self.account == SOURCE_ACCOUNT and expired:
            self.pending("the source account could not be read ({0}): the next run deletes it first".format(expired))
        elif self.snapshot not in self.snapshots(ctx) and self.moved_on(ctx):
            self.done("{0} is deleted".format(self.snapshot))

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        return {self.api["name"]: self.snapshot}

    def start(self, rds: Any, live: Live, secrets: Optional[Secrets], region: Optional[str]) -> Optional[str]:
        status = snapshot_status(rds, self.snapshot, self.cluster)
        if status is None:
            return "{0} is deleted already".format(self.snapshot)
        if status != "deleting":
            self.call(rds, live, secrets)
        return None

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return watch.snapshot_status is None

    def already_done(self, rds: Any, error: MitosisError) -> bool:
        return error.code in self.api["missing"]

    def deferred(self, error: MitosisError) -> bool:
        return self.account == SOURCE_ACCOUNT and error.code in EXPIRED_CODES

    def grants(self, arn: ArnOf, source: str) -> Grants:
        own = self.snapshot_arn(arn, self.snapshot)
        return [(self.action, [own]), (self.api["describe"], [arn("cluster" if self.cluster else "db", "*"), own])]


def resource_share(ram: Any, name: str) -> Optional[Description]:
    """The source account's active AWS RAM resource share called `name`, None when there is none."""
    shares = call(ram, "GetResourceShares", name, resourceOwner="SELF", name=name,
                  resourceShareStatus="ACTIVE").get("resourceShares") or []
    return shares[0] if shares else None


class RamStep(Step):
    """A call of AWS RAM in the source account (an Aurora clone across accounts): the share of the source cluster with
    the target account, named by the step's identifier, and its delete once the clone exists. `Clone` (not sent)
    names the clone (its ref); `ram` is the source account's RAM client (the planner's)."""

    ram = None  # type: Any
    tags_clone = False

    def shared(self, ctx: Marking) -> bool:
        return self.identifier in (getattr(ctx.graph, "ram_shares", None) or {})

    def cloned(self, ctx: Marking) -> bool:
        return ctx.phase != COPY or bool(ctx.held(self.params["Clone"]))

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        return {key: value for key, value in self.params.items() if key != "Clone"}

    def call(self, rds: Any, live: Live, secrets: Optional[Secrets] = None) -> None:
        call(self.ram, self.action, self.identifier, **self.call_params(live, secrets))

    def complete(self, live: Live, watch: Watch, now: float, settle_time: float, region: Optional[str]) -> bool:
        return True  # RAM answers with the share as it now is

    def detail(self, mode: str) -> str:
        return parameters_text(self.call_params({}, None))

    def share_arns(self, arn: ArnOf) -> List[str]:
        parts = arn("db", "x").split(":")
        return ["arn:{0}:ram:{1}:{2}:resource-share/*".format(parts[1], parts[3], parts[4])]


class ShareCluster(RamStep):
    """ram:CreateResourceShare: the source cluster shared with the target account, which clones it (copy-on-write)."""

    kind = "share-cluster"

    def mark(self, ctx: Marking) -> None:
        if self.cloned(ctx):
            self.done("{0} is cloned".format(self.params["resourceArns"][0].split(":")[-1]))
        elif self.shared(ctx):
            self.done("the resource share {0} exists".format(self.identifier))

    def start(self, rds: Any, live: Live, secrets: Optional[Secrets], region: Optional[str]) -> Optional[str]:
        if resource_share(self.ram, self.identifier):
            return "the resource share {0} exists (an earlier run made it)".format(self.identifier)
        self.call(rds, live, secrets)
        return None

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return [("ram:" + self.action, self.share_arns(arn) + list(self.params["resourceArns"])),
                ("ram:GetResourceShares", ["*"])]


class Unshare(RamStep):
    """ram:DeleteResourceShare once the clone exists (it stays): the source cluster is no longer shared. A run whose
    source account credentials expired leaves it to the next run, which deletes it before anything else."""

    kind = "unshare-cluster"

    def mark(self, ctx: Marking) -> None:
        expired = getattr(ctx.graph, "source_expired", None)
        if expired:
            self.pending("the source account could not be read ({0}): the next run deletes it first".format(expired))
        elif not self.shared(ctx) and ("Clone" not in self.params or self.cloned(ctx)):
            self.done("the resource share {0} is deleted".format(self.identifier))

    def start(self, rds: Any, live: Live, secrets: Optional[Secrets], region: Optional[str]) -> Optional[str]:
        share = resource_share(self.ram, self.identifier)
        if share is None:
            return "the resource share {0} is deleted already".format(self.identifier)
        call(self.ram, self.action, self.identifier, resourceShareArn=share["resourceShareArn"])
        return None

    def call_params(self, live: Live, secrets: Optional[Secrets]) -> Dict[str, Any]:
        return {"resourceShareArn": "(the ARN of {0})".format(self.identifier)}

    def deferred(self, error: MitosisError) -> bool:
        return error.code in EXPIRED_CODES

    def grants(self, arn: ArnOf, source: str) -> Grants:
        return [("ram:" + self.action, self.share_arns(arn)), ("ram:GetResourceShares", ["*"])]


# The step kinds, by the name a plan's dicts carry.
KINDS = {cls.kind: cls for cls in (Create, Restore, Promote, Modify, Password, ManageSecret, Tag, Prepare, Discard,
                                   MaskLogin, Mask, MaskCheck, SwapOut, SwapIn, Restart, FinalSnapshot, Delete,
                                   Untag, Retire, Switch, CreateRecords, Switched, Keep, DeleteKept, CopySnapshot,
                                   ShareSnapshot, DropSnapshot, ShareCluster, Unshare)}


def make_step(key: str, phase: str, kind: str, action: str, identifier: str, params: Dict[str, Any], node: str,
              depends_on: Any = (), cluster: bool = False) -> Step:
    """A step of the kind named `kind`."""
    if kind not in KINDS:
        raise MitosisError("Unknown step kind {0!r} in the plan given.".format(kind), operation="plan",
                           hint="Pass the `plan` returned by mitosis.rds.rds_mitosis_plan.")
    return KINDS[kind](key, phase, action, identifier, params, node, depends_on, cluster)


def mark_steps(ctx: Marking) -> None:
    """Each step pending or done (and why), from the phase and the live state."""
    for step in ctx.steps:
        step.pending()
        if ctx.phase == COMPLETE:
            step.done(ctx.words.complete.format(step.node))
        else:
            step.mark(ctx)
    for step in ctx.steps:
        step.after_marking(ctx)
