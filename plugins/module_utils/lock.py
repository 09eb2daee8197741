# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run per target: a lock kept in AWS as tags on the instance that holds the target's root name.

Runs come from different machines (AWX, a laptop), so the lock lives where all of them look: tags on X,
or, while X does not exist, on temp-X, else on old-X (else rej-X, a rollback's name: graph.name_forms). Tags
follow an instance through renames, so locks are read from all these names (one filtered DescribeDBInstances,
whose TagList carries them). An Aurora target is a cluster: its lock is a tag on the cluster that holds C (else
temp-C, old-C), read with DescribeDBClusters when no instance holds any of the names.

Each run writes its own key, ``mitosis:lock:<run_id>``, whose value says when it started, who and where:
``started=2026-11-30T21:00:00Z user=alice host=ws1 pid=4242``. Tags are not atomic, so taking the lock is
a protocol (see `acquire`): refuse when another live run holds it, write our key, wait `settle` seconds,
read again, and let the earliest (started, run_id) win. Two runs started in the same second end with
exactly one proceeding.

Plain Python: nothing here knows about Ansible.
"""

from __future__ import annotations

import datetime
import getpass
import os
import re
import socket
import time
import uuid
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .aws import MitosisError, call
from .graph import (PREFIXES, arn_of, created_of, describe_clusters, describe_instances, dns_name_forms, graph_of,
                    identifier_of, name_forms, strip_prefix)
from .names import LOCK_TAG_PREFIX

# A lock older than this (seconds) counts as stale: its run is taken to be gone. 12 hours.
LOCK_MAX_AGE = 43200
# Seconds between writing our key and reading the locks again: any run that read before our write has
# written its own key by then (its read-then-write gap is a single API call, far below this).
SETTLE_TIME = 5.0
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# AWS tag values: letters, digits, spaces and _ . : / = + - @, at most 256 characters. Space and = separate
# the fields of our value, so the user and host keep the rest; anything else becomes _.
VALUE_MAX = 256
USER_MAX = 64
HOST_MAX = 128
_NOT_FIELD_CHAR = re.compile(r"[^A-Za-z0-9_.:/+@-]")
_RUN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# How to go on when a lock refuses a run (the clone role's variable, the playbooks' extra variable).
BREAK_HINT = ("Wait for that run to finish, then run again. If that run is gone (killed, its machine lost), run the "
              "same ansible-playbook command again with `-e break_lock=true` (role variable `mitosis_break_lock`, "
              "module option `break_lock`): the refresh resumes where it stopped.")

Identity = Tuple[str, str]  # (user, host), as written in a lock value
ProcessReader = Callable[[int], Optional[Tuple[int, List[str]]]]  # pid -> (parent pid, argv)


class LockHeld(MitosisError):
    """The lock is another run's: the run is refused before any change. Carries the holders for the result."""

    def __init__(self, message: str, run_id: str, holders: List[Dict[str, Any]], identifier: Optional[str] = None,
                 hint: Optional[str] = BREAK_HINT) -> None:
        super().__init__(message, operation="AcquireLock", identifier=identifier, hint=hint)
        self.run_id = run_id
        self.holders = holders

    def to_result(self) -> Dict[str, Any]:  # type: ignore[override]
        result: Dict[str, Any] = dict(super().to_result())
        result.update(run_id=self.run_id, holders=self.holders, held=False)
        return result


# --- values ----------------------------------------------------------------------------------------------------

def new_run_id() -> str:
    """12 lowercase hex characters, from a uuid4."""
    return uuid.uuid4().hex[:12]


def lock_key(run_id: str) -> str:
    return LOCK_TAG_PREFIX + run_id


def validate_run_id(run_id: str) -> None:
    if not _RUN_ID.match(run_id or ""):
        raise MitosisError("Invalid run id {0!r}: use 1 to 64 letters, digits, '_', '.' or '-'.".format(run_id),
                           hint="Leave run_id out to have one generated.")


def utc_now() -> datetime.datetime:
    """Now, in UTC, to the second (the precision of a lock's start time)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def format_time(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime(TIME_FORMAT)


def parse_time(text: str) -> Optional[datetime.datetime]:
    try:
        return datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def clean(text: Any, limit: int) -> str:
    """`text` with only characters a lock value field may hold, at most `limit` of them (never empty)."""
    return _NOT_FIELD_CHAR.sub("_", str(text or ""))[:limit] or "unknown"


def lock_value(started: datetime.datetime, user: str, host: str, pid: Optional[int]) -> str:
    """The value of a run's lock tag: start time (UTC, seconds), user, host and, when known, the run's pid."""
    fields = ["started=" + format_time(started), "user=" + clean(user, USER_MAX), "host=" + clean(host, HOST_MAX)]
    if pid is not None and pid > 0:
        fields.append("pid={0}".format(int(pid)))
    return " ".join(fields)[:VALUE_MAX]


def parse_value(value: str) -> Dict[str, str]:
    """The fields of a lock value (unknown ones kept, malformed parts ignored)."""
    fields = {}
    for part in (value or "").split():
        name, sep, text = part.partition("=")
        if sep:
            fields[name] = text
    return fields


def this_identity(user: Optional[str] = None, host: Optional[str] = None) -> Identity:
    """The user and host that this process writes into its lock (and recognises as its own)."""
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError, ImportError):  # no passwd entry (some containers)
            user = "uid{0}".format(os.getuid())
    if host is None:
        host = socket.gethostname()
    return clean(user, USER_MAX), clean(host, HOST_MAX)


# --- the run's process -----------------------------------------------------------------------------------------

def process_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (a process of another user counts as alive)."""
    if pid <= 0:  # 0 and negative numbers name process groups: never signal those
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as someone else's
        return True
    return True


def proc_parent(pid: int) -> Optional[Tuple[int, List[str]]]:
    """(parent pid, argv) of a process, from /proc (None where there is no /proc or no such process)."""
    try:
        with open("/proc/{0}/stat".format(pid), "rb") as stat:
            ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        with open("/proc/{0}/cmdline".format(pid), "rb") as cmdline:
            argv = [a.decode("utf-8", "replace") for a in cmdline.read().split(b"\0") if a]
    except (OSError, IndexError, ValueError):
        return None
    return ppid, argv


def ps_parent(run: Callable[[List[str]], Tuple[int, str, str]]) -> ProcessReader:
    """A process reader through `ps` (for systems without /proc); `run(args) -> (rc, out, err)`."""

    def read(pid: int) -> Optional[Tuple[int, List[str]]]:
        try:
            rc, out, _err = run(["ps", "-o", "ppid=", "-o", "args=", "-p", str(pid)])
        except OSError:
            return None
        parts = out.split() if rc == 0 else []
        if not parts or not parts[0].isdigit():
            return None
        return int(parts[0]), parts[1:]

    return read


def _is_ansible(argv: Sequence[str]) -> bool:
    return any(os.path.basename(arg).startswith("ansible") for arg in argv[:2])


def run_pid(read: ProcessReader = proc_parent, start: Optional[int] = None) -> Optional[int]:
    """The pid that lives as long as the run: the outermost ansible process above `start` (this process).

    A module is a short-lived child of a short-lived worker (a fork of ansible-playbook, with the same command
    line), so the pid worth writing is the topmost of the consecutive ansible-* ancestors: ansible-playbook
    itself (or ansible-runner above it). None when no ansible process is found (the module runs on another
    host, or the process table cannot be read): a lock without a pid is never taken for a dead run."""
    pid = os.getpid() if start is None else start
    found = None
    for _level in range(32):
        info = read(pid)
        if info is None:
            break
        ppid, argv = info
        if _is_ansible(argv):
            found = pid
        elif found is not None:
            break
        if ppid <= 1:
            break
        pid = ppid
    return found


# --- locks as read from AWS ------------------------------------------------------------------------------------

class Lock:
    """One run's lock tag, with the instances that carry it, and (once judged) its age and staleness."""

    def __init__(self, run_id: str, value: str) -> None:
        fields = parse_value(value)
        self.run_id = run_id
        self.value = value
        self.started = fields.get("started", "")
        self.started_at = parse_time(self.started)
        self.user = fields.get("user", "")
        self.host = fields.get("host", "")
        pid = fields.get("pid", "")
        self.pid: Optional[int] = int(pid) if pid.isdigit() else None
        self.carriers: List[Tuple[str, str]] = []  # (identifier, ARN) of each instance carrying the key
        self.age: Optional[int] = None
        self.stale_reason: Optional[str] = None

    @property
    def key(self) -> str:
        return lock_key(self.run_id)

    @property
    def stale(self) -> bool:
        return self.stale_reason is not None

    @property
    def order(self) -> Tuple[str, str]:
        """The earlier (started, run_id) wins. An unreadable start time sorts first: such a lock must be broken."""
        return self.started, self.run_id

    def judge(self, now: datetime.datetime, max_age: int, me: Identity,
              alive: Callable[[int], bool] = process_alive) -> None:
        """Set the age and, for a lock of a run that is gone, why it counts as stale."""
        self.age = int((now - self.started_at).total_seconds()) if self.started_at else None
        self.stale_reason = None
        if self.age is not None and self.age > max_age:
            self.stale_reason = "older than lock_max_age ({0} > {1} s)".format(self.age, max_age)
        elif (self.pid is not None and (self.user, self.host) == me and not alive(self.pid)):
            self.stale_reason = "its process {0} on {1} (user {2}) is not running: a run killed on this machine".format(
                self.pid, self.host, self.user)

    def describe(self) -> str:
        return describe_holder(self.to_dict())

    def to_dict(self) -> Dict[str, Any]:
        return {
            "run_id": self.run_id, "started": self.started, "user": self.user, "host": self.host, "pid": self.pid,
            "age_seconds": self.age, "stale": self.stale, "stale_reason": self.stale_reason,
            "identifier": self.carriers[0][0] if self.carriers else None,
        }


def age_text(seconds: int) -> str:
    if seconds < 0:
        return "started {0} s in the future (clock skew)".format(-seconds)
    if seconds < 60:
        return "{0} s ago".format(seconds)
    hours, minutes = divmod(seconds // 60, 60)
    return "{0}{1} min ago".format("{0} h ".format(hours) if hours else "", minutes)


def describe_holder(holder: Dict[str, Any]) -> str:
    """`run 3f2a9c0d1e4b (started 2026-11-30T21:00:00Z, 5 min ago, by alice on ws1, pid 4242)`."""
    parts = ["started " + (holder["started"] or "at an unknown time")]
    if holder["age_seconds"] is not None:
        parts.append(age_text(holder["age_seconds"]))
    parts.append("by {0} on {1}".format(holder["user"] or "unknown", holder["host"] or "unknown"))
    if holder["pid"] is not None:
        parts.append("pid {0}".format(holder["pid"]))
    return "run {0} ({1})".format(holder["run_id"], ", ".join(parts))


class LockState:
    """The target's instances (X, temp-X, old-X, rej-X as found) and the locks they carry."""

    def __init__(self, target: str, instances: Iterable[Dict[str, Any]], dns: bool = False) -> None:
        self.target = target
        self.by_name = {identifier_of(i): i for i in instances}
        self.locks: Dict[str, Lock] = {}
        self.dns = dns
        self.forms = dns_name_forms(target) if dns else name_forms(target)
        for name in self.forms:  # X first: its value wins when a key is on several instances
            inst = self.by_name.get(name)
            for tag in (inst or {}).get("TagList") or []:
                key = tag.get("Key") or ""
                if key.startswith(LOCK_TAG_PREFIX) and len(key) > len(LOCK_TAG_PREFIX):
                    run_id = key[len(LOCK_TAG_PREFIX):]
                    lock = self.locks.setdefault(run_id, Lock(run_id, tag.get("Value") or ""))
                    lock.carriers.append((name, arn_of(inst)))

    def home(self) -> Dict[str, Any]:
        """The instance holding the target's root name: X, else temp-X, else old-X, else rej-X (name_forms order). In
        a stack switched by DNS, its newest generation (the clone, once it exists: the records leave the other)."""
        held = [name for name in self.forms if name in self.by_name]
        if self.dns:
            # Newest first among the generations, then what moved aside (in forms order: sorting is stable).
            held.sort(key=lambda name: created_of(self.by_name[name]), reverse=True)
            held.sort(key=lambda name: name.startswith(PREFIXES))
        for name in held:
            return self.by_name[name]
        raise MitosisError("Target {0} was not found: no instance is named {1}.".format(
            self.target, ", ".join(self.forms)), operation="DescribeDBInstances",
            identifier=self.target, hint="Check the target name and the region/credentials you use.")

    def judge(self, now: datetime.datetime, max_age: int, me: Identity, alive: Callable[[int], bool]) -> None:
        for lock in self.locks.values():
            lock.judge(now, max_age, me, alive)

    def holders(self) -> List[Lock]:
        """Every lock, earliest first."""
        return sorted(self.locks.values(), key=lambda lock: lock.order)


def read_state(client: Any, target: str, dns: bool = False) -> LockState:
    """One filtered DescribeDBInstances of the target's name forms (X, temp-X, old-X, rej-X); when no instance
    holds any of them, the target is an Aurora cluster, and when one is an Aurora instance the target is its
    cluster: the clusters that hold the cluster's names (a lock never sits on an instance of a cluster)."""
    found = describe_instances(client, dns_name_forms(target) if dns else name_forms(target))
    clustered = [inst["DBClusterIdentifier"] for inst in found if inst.get("DBClusterIdentifier")]
    if found and not clustered:
        return LockState(target, found, dns)
    cluster = strip_prefix(clustered[0]) if clustered else target
    return LockState(cluster, describe_clusters(client, name_forms(cluster)))


def remove_keys(client: Any, locks: Iterable[Lock], check_mode: bool = False) -> List[Dict[str, Any]]:
    """RemoveTagsFromResource of the locks' keys, one call per instance carrying any; the calls (made or not)."""
    by_arn: Dict[str, Tuple[str, List[str]]] = {}
    for lock in locks:
        for name, arn in lock.carriers:
            by_arn.setdefault(arn, (name, []))[1].append(lock.key)
    calls = []
    for arn, (name, keys) in by_arn.items():
        calls.append({"action": "RemoveTagsFromResource", "identifier": name, "tag_keys": keys})
        if not check_mode:
            call(client, "RemoveTagsFromResource", name, ResourceName=arn, TagKeys=keys)
    return calls


def _holder_dicts(state: LockState) -> List[Dict[str, Any]]:
    return [lock.to_dict() for lock in state.holders()]


# --- the protocol ----------------------------------------------------------------------------------------------

def acquire(client: Any, target: str, run_id: str, now: datetime.datetime, user: str, host: str,
            pid: Optional[int], max_age: int = LOCK_MAX_AGE, break_lock: bool = False, settle: float = SETTLE_TIME,
            sleep: Callable[[float], None] = time.sleep, alive: Callable[[int], bool] = process_alive,
            check_mode: bool = False, dns: bool = False) -> Dict[str, Any]:
    """Take the target's lock for run `run_id`, or raise LockHeld naming the run that holds it.

    1. Read the locks (X, temp-X, old-X, rej-X). Another run's lock that is not stale refuses this run before it
       writes anything (unless `break_lock`).
    2. Remove the stale locks, and with `break_lock` every other run's lock.
    3. Write our own key on the name's holder, with `now` as our start time (when our key is there already, a
       resumed call, its value is kept, and only copied onto the holder when it is on another name).
    4. Wait `settle` seconds: a run that read before our write has written its own key by then.
    5. Read again. Our key gone (another run broke it) or another live lock ordered before ours (earlier
       (started, run_id)) -> remove our key and refuse, naming that run. Else we hold the lock.

    Two runs that both pass step 1 both write, and each one's step-5 read comes `settle` seconds after its
    write, by when the other (which read before that write, else it would have been refused in step 1) has
    written too: both see both keys and apply the same order, so exactly one proceeds. A lock is stale when
    older than `max_age` seconds, or when its user and host are ours and its pid is not running here.

    In check mode nothing is written and a refusal is returned (`refused`), not raised.
    Returns changed, held, refused, run_id, holders, msg, warnings and calls (the mutating calls, made or not)."""
    validate_run_id(run_id)
    if max_age < 1:
        raise MitosisError("lock_max_age must be at least 1 second, not {0}.".format(max_age), operation="options")
    if settle < 0:
        raise MitosisError("lock_settle_time (the lock's settle_time) cannot be negative ({0}).".format(settle),
                           operation="options")
    me = (clean(user, USER_MAX), clean(host, HOST_MAX))

    def running(other: int) -> bool:
        return other == pid or alive(other)  # our own process is running
    state = read_state(client, target, dns)
    home = state.home()
    state.judge(now, max_age, me, running)
    mine = state.locks.get(run_id)
    others = [lock for lock in state.holders() if lock.run_id != run_id]
    live = [lock for lock in others if not lock.stale]
    warnings = ["Lock of {0} on {1} is stale ({2}): it is removed.".format(lock.describe(), target, lock.stale_reason)
                for lock in others if lock.stale]
    if live and not break_lock and mine is None:
        holder = live[0]
        message = ("Target {0} is locked by {1}: another mitosis run is refreshing it, and this run (run {2}) "
                   "stops before any change.".format(target, holder.describe(), run_id))
        if check_mode:
            return _result(False, False, True, run_id, state, "{0} {1}".format(message, BREAK_HINT), warnings, [])
        raise LockHeld(message, run_id, _holder_dicts(state), identifier=target)
    broken = others if break_lock else [lock for lock in others if lock.stale]
    warnings += ["Lock of {0} on {1} is broken (break_lock).".format(lock.describe(), target)
                 for lock in broken if not lock.stale]
    calls = remove_keys(client, broken, check_mode=True)
    # Our key is written on the name's holder; already ours elsewhere (before a swap), it is copied there as it is,
    # so that it outlives the instance going away (old-X, deleted at the cleanup).
    value = mine.value if mine else lock_value(now, user, host, pid)
    write = mine is None or identifier_of(home) not in [name for name, _arn in mine.carriers]
    if write:
        calls.append({"action": "AddTagsToResource", "identifier": identifier_of(home),
                      "tag_keys": [lock_key(run_id)]})
    if check_mode:
        msg = "Would take the lock on {0} for run {1}: tag {2} with {3}={4}.".format(
            target, run_id, identifier_of(home), lock_key(run_id), value) if mine is None else \
            "Run {0} already holds the lock on {1}{2}.".format(
                run_id, target, ", and would copy it onto {0}".format(identifier_of(home)) if write else "")
        return _result(bool(calls), False, False, run_id, state, msg, warnings, calls)

    remove_keys(client, broken)
    if write:
        call(client, "AddTagsToResource", identifier_of(home), ResourceName=arn_of(home),
             Tags=[{"Key": lock_key(run_id), "Value": value}])
    sleep(settle)

    state = read_state(client, target, dns)
    state.judge(now + datetime.timedelta(seconds=settle), max_age, me, running)
    mine = state.locks.get(run_id)
    if mine is None:
        winners = [lock for lock in state.holders() if not lock.stale]
        by = " by {0}".format(winners[0].describe()) if winners else ""
        raise LockHeld("Target {0}: the lock of this run (run {1}) was removed{2} (break_lock) while it waited; "
                       "this run stops before any change.".format(target, run_id, by), run_id, _holder_dicts(state),
                       identifier=target)
    ahead = [lock for lock in state.holders() if lock.run_id != run_id and not lock.stale and lock.order < mine.order]
    if ahead:
        remove_keys(client, [mine])
        del state.locks[run_id]
        raise LockHeld("Target {0} is locked by {1}, which started at the same time as this run (run {2}, started "
                       "{3}) and comes first; this run removed its own lock and stops before any change.".format(
                           target, ahead[0].describe(), run_id, mine.started), run_id, _holder_dicts(state),
                       identifier=target)
    msg = "Run {0} holds the lock on {1} ({2}).".format(run_id, target, mine.value)
    return _result(bool(calls), True, False, run_id, state, msg, warnings, calls)


def _result(changed: bool, held: bool, refused: bool, run_id: str, state: LockState, msg: str,
            warnings: List[str], calls: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"changed": changed, "held": held, "refused": refused, "run_id": run_id, "holders": _holder_dicts(state),
            "msg": msg, "warnings": warnings, "calls": calls}


def release(client: Any, target: str, run_id: str, check_mode: bool = False, dns: bool = False) -> Dict[str, Any]:
    """Remove our key from whichever of X, temp-X, old-X, rej-X carries it. Nothing to remove is fine (idempotent),
    and so is a target that no longer exists: a release runs at the end of a run, after a failure too."""
    validate_run_id(run_id)
    state = read_state(client, target, dns)
    mine = state.locks.pop(run_id, None)
    calls = remove_keys(client, [mine], check_mode=check_mode) if mine else []
    if mine:
        msg = "{0} the lock of run {1} on {2}.".format("Would release" if check_mode else "Released", run_id,
                                                       ", ".join(name for name, _arn in mine.carriers))
    elif not state.by_name:
        msg = "Target {0} was not found: there is no lock of run {1} to release.".format(target, run_id)
    else:
        msg = "Run {0} holds no lock on {1}: nothing to release.".format(run_id, target)
    return {"changed": bool(calls), "held": False, "run_id": run_id, "holders": _holder_dicts(state), "msg": msg,
            "warnings": [], "calls": calls}


def inspect(client: Any, target: str, max_age: int, now: datetime.datetime, user: Optional[str] = None,
            host: Optional[str] = None, alive: Callable[[int], bool] = process_alive,
            dns: bool = False) -> List[Dict[str, Any]]:
    """The target's lock holders, earliest first, with their age and staleness (for check mode and the
    flight plan). Raises MitosisError when none of X, temp-X, old-X, rej-X exists."""
    state = read_state(client, target, dns)
    state.home()  # none of the names exists -> MitosisError
    state.judge(now, max_age, this_identity(user, host), alive)
    return _holder_dicts(state)


def check_source(client: Any, source: str, max_age: int, now: datetime.datetime, user: Optional[str] = None,
                 host: Optional[str] = None, alive: Callable[[int], bool] = process_alive) -> None:
    """Refuse a source that sits in a graph another run is refreshing: its data is about to be replaced."""
    graph = graph_of(client, source, client.meta.region_name)
    if source not in graph:
        return  # the plan says the source is missing
    root = graph.root(source)
    live = [h for h in inspect(client, root, max_age, now, user, host, alive) if not h["stale"]]
    if live:
        raise MitosisError(
            "Source {0} is in the graph of {1}, which another run is refreshing ({2}): its data is about to be "
            "replaced.".format(source, root, describe_holder(live[0])), operation="lock", identifier=source,
            hint="Wait for that refresh to finish, then run again.")


def holders_text(target: str, holders: List[Dict[str, Any]]) -> str:
    """One line for the flight plan: who holds the target's lock."""
    if not holders:
        return "Lock on {0}: free.".format(target)
    parts = [describe_holder(h) + (" [stale: {0}]".format(h["stale_reason"]) if h["stale"] else "")
             for h in holders]
    return "Lock on {0}: {1}.".format(target, "; ".join(parts))
