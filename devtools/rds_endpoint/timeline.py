"""The time model: a mutating RDS call walks its instance (or cluster) through AWS statuses over time.

Nothing runs in the background. Each operation knows when its phases start; `tick()` (called
before every request) applies, in time order, every phase change that is due. (One exception: on the data
plane, while a Route 53 change or a record's TTL is pending, server.py ticks every 20 ms, so that a DNS
record switches at its time with no request.) `schedule` runs an action after some simulated minutes. One simulated
minute lasts `speed` real seconds, so speed 0 completes every operation on the next request.
Tests may override the duration of a kind of operation, on every instance or one (`set_duration`).
"""

import itertools
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# kind: (typical duration in simulated minutes, [(status shown, share of the duration)])
OPERATIONS: dict[str, tuple[float, list[tuple[str, float]]]] = {
    "create": (10, [("creating", 1.0)]),
    "create-replica": (15, [("creating", 1.0)]),
    "restore": (20, [("creating", 1.0)]),
    "restore-point-in-time": (20, [("creating", 1.0)]),
    "promote": (5, [("modifying", 1.0)]),
    "enable-backups": (5, [("modifying", 0.4), ("backing-up", 0.6)]),
    "modify": (2, [("modifying", 1.0)]),
    # A ModifyDBInstance that only sets MasterUserPassword: no outage, its own status.
    "reset-credentials": (2, [("resetting-master-credentials", 1.0)]),
    # AWS shows `renaming` under the old name, then the new name `available`, then a reboot.
    "rename": (10, [("renaming", 0.6), ("available", 0.1), ("rebooting", 0.3)]),
    "reboot": (2, [("rebooting", 1.0)]),
    "delete": (5, [("deleting", 1.0)]),
    # CreateDBSnapshot: the instance is `backing-up` (its snapshot `creating`) until the snapshot is taken.
    "snapshot": (10, [("backing-up", 1.0)]),
    # CopyDBSnapshot: the copy is `creating` (identifier: the copy's) until it is made, then `available`.
    "snapshot-copy": (5, [("creating", 1.0)]),
    # Aurora DB clusters (the cluster's Status; its member instances use the kinds above).
    "cluster-create": (5, [("creating", 1.0)]),
    # RestoreDBClusterToPointInTime RestoreType=copy-on-write.
    "cluster-clone": (10, [("creating", 1.0)]),
    # RestoreDBClusterToPointInTime RestoreType=full-copy (the default).
    "cluster-restore-point-in-time": (20, [("creating", 1.0)]),
    # RestoreDBClusterFromSnapshot.
    "cluster-restore": (20, [("creating", 1.0)]),
    "cluster-modify": (2, [("modifying", 1.0)]),
    # A ModifyDBCluster that only sets MasterUserPassword.
    "cluster-reset-credentials": (2, [("resetting-master-credentials", 1.0)]),
    # `renaming` under the old name, then the new name `available` (no reboot).
    "cluster-rename": (5, [("renaming", 1.0)]),
    "cluster-delete": (5, [("deleting", 1.0)]),
    # CopyDBClusterSnapshot: the copy is `creating` (identifier: the copy's), then `available`.
    "cluster-snapshot-copy": (5, [("creating", 1.0)]),
    # Route 53 ChangeResourceRecordSets: the change is PENDING until it has reached every Route 53 server (AWS:
    # typically within 60 s), then INSYNC (route53_model.py); an identifier names the hosted zone.
    "dns-change": (1, [("PENDING", 1.0)]),
}


@dataclass
class Operation:
    kind: str
    instance: Any
    seq: int
    statuses: list[str]
    # bounds[i] is when phase i starts; bounds[-1] is when the operation completes.
    bounds: list[float]
    # Changes shown in PendingModifiedValues while the operation runs.
    pending: dict[str, Any] = field(default_factory=dict)
    on_phase: dict[int, Callable[[], None]] = field(default_factory=dict)
    on_done: Callable[[], None] | None = None
    # Called when the operation is abandoned before its end (cancelled, or replaced by another).
    on_cancel: Callable[[], None] | None = None
    # Status once done; None when the operation removes the instance.
    final_status: str | None = "available"
    # (backend, identifier) reserved until the operation's rename happens.
    claim: tuple[Any, str] | None = None
    # The data plane's work for it is done (a server started): the operation completes only then, whatever the
    # speed; an error in that work leaves the instance `failed`.
    ready: Callable[[], bool] | None = None
    reached: int = 0


class Simulation:
    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._ops: dict[int, Operation] = {}
        self._seq = itertools.count()
        # (kind, lower-cased identifier or None for every instance) -> simulated minutes
        self._durations: dict[tuple[str, str | None], float] = {}

    def set_duration(self, kind: str, minutes: float, identifier: str | None = None) -> None:
        """Make operations of `kind` that start from now on last `minutes` simulated minutes, on
        every instance or (with `identifier`) on the instance (or cluster) named so when the operation
        starts.
        An instance's duration wins over the kind-wide one; the phases keep their shares."""
        if kind not in OPERATIONS:
            raise ValueError(f"unknown operation kind {kind!r}; known: {', '.join(OPERATIONS)}")
        minutes = float(minutes)
        if not math.isfinite(minutes) or minutes < 0:
            raise ValueError(f"minutes must be a finite number >= 0, not {minutes}")
        self._durations[(kind, identifier.lower() if identifier is not None else None)] = minutes

    def durations(self) -> list[dict[str, Any]]:
        """The duration overrides, as {"kind", "identifier", "minutes"} (identifier None: all)."""
        return [
            {"kind": kind, "identifier": identifier, "minutes": minutes}
            for (kind, identifier), minutes in self._durations.items()
        ]

    def clear_durations(self) -> None:
        self._durations.clear()

    def duration(self, kind: str, identifier: str | None) -> float:
        """Minutes an operation of `kind` starting now on `identifier` lasts: override, else table."""
        for key in ((kind, identifier.lower() if identifier else None), (kind, None)):
            if key in self._durations:
                return self._durations[key]
        return OPERATIONS[kind][0]

    def start(self, kind: str, instance: Any, **options: Any) -> Operation:
        """Start `kind` on `instance` (replacing any operation it had) and show its first status."""
        _, phases = OPERATIONS[kind]
        minutes = self.duration(kind, _name(instance))
        now = time.time()
        bounds = [now]
        for _, share in phases:
            bounds.append(bounds[-1] + minutes * share * self.speed)
        op = Operation(
            kind, instance, next(self._seq), [status for status, _ in phases], bounds, **options
        )
        self.cancel(instance)
        self._ops[id(instance)] = op
        instance.status = op.statuses[0]
        return op

    def current(self, instance: Any) -> Operation | None:
        return self._ops.get(id(instance))

    def cancel(self, instance: Any) -> None:
        """Abandon the instance's operation, if any (its `on_cancel` runs)."""
        op = self._ops.pop(id(instance), None)
        if op is not None and op.on_cancel:
            op.on_cancel()

    def schedule(self, minutes: float, action: Callable[[], None]) -> None:
        """Run `action` once `minutes` simulated minutes have passed (at the tick that finds it due; `advance`,
        `settle` and `set_speed` move it as they move operations). At speed 0, or after no time, it runs now."""
        if minutes * self.speed <= 0:
            action()
            return
        timer = _Timer()
        now = time.time()
        op = Operation("timer", timer, next(self._seq), [timer.status], [now, now + minutes * self.speed],
                       on_done=action, final_status=None)
        self._ops[id(timer)] = op

    def claimed(self, backend: Any, identifier: str) -> bool:
        return any(op.claim == (backend, identifier) for op in self._ops.values())

    def tick(self) -> None:
        now = time.time()
        due = [
            (op.bounds[i], op.seq, i, op)
            for op in self._ops.values()
            for i in range(op.reached + 1, len(op.bounds))
            if op.bounds[i] <= now
        ]
        for _, _, i, op in sorted(due, key=lambda event: event[:3]):
            if self._ops.get(id(op.instance)) is not op:
                continue  # an earlier effect replaced or cancelled it
            if i == len(op.statuses) and op.ready is not None and not self._ready(op):
                continue  # done in the model's time, not yet for real: at a later tick
            op.reached = i
            if i < len(op.statuses):
                op.instance.status = op.statuses[i]
                if i in op.on_phase:
                    op.on_phase[i]()
                continue
            del self._ops[id(op.instance)]
            if op.final_status:
                op.instance.status = op.final_status
            if op.on_done:
                op.on_done()

    def _ready(self, op: Operation) -> bool:
        try:
            return bool(op.ready())
        except Exception as error:  # pylint: disable=broad-except  # the data plane's error: the instance failed
            # The API shows only the status: the reason goes to the endpoint's log.
            print("data plane: {0} failed: {1}".format(_name(op.instance), error), file=sys.stderr, flush=True)
            del self._ops[id(op.instance)]
            op.instance.status = "failed"
            return False

    def advance(self, minutes: float) -> None:
        """Move every running operation `minutes` simulated minutes closer to its end."""
        self._shift(lambda bound, now: bound - minutes * self.speed)

    def settle(self, timeout: float = 600.0) -> None:
        """Complete every running operation now: once the data plane's work for it is done, when it has some
        (and those an operation's end starts)."""
        deadline = time.time() + timeout
        self._shift(lambda bound, now: min(bound, now))
        while self._ops:
            if time.time() > deadline:
                raise TimeoutError("operations still running after {0:.0f}s: {1}".format(
                    timeout, ", ".join(sorted(str(_name(op.instance)) for op in self._ops.values()))))
            time.sleep(0.05)
            self._shift(lambda bound, now: min(bound, now))

    def set_speed(self, speed: float) -> None:
        """Rescale what remains of every running operation to the new speed."""
        self.tick()
        old, self.speed = self.speed, speed
        if old:
            self._shift(lambda bound, now: now + max(bound - now, 0) * speed / old)

    def reset(self) -> None:
        self._ops.clear()
        self._durations.clear()

    def _shift(self, move: Callable[[float, float], float]) -> None:
        now = time.time()
        for op in self._ops.values():
            op.bounds = [move(bound, now) for bound in op.bounds]
        self.tick()


class _Timer:
    """What a scheduled action runs as: an operation of its own."""

    status = "waiting"
    timeline_name = None


def _name(resource: Any) -> str | None:
    """The name a resource gives itself (`timeline_name`: a Route 53 change's hosted zone, a snapshot copy's
    identifier); else an instance's identifier, or a cluster's (an instance also has its cluster's)."""
    return (
        getattr(resource, "timeline_name", None)
        or getattr(resource, "db_instance_identifier", None)
        or getattr(resource, "db_cluster_identifier", None)
    )
