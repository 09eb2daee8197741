# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clone plan: every step from the live state, each marked pending or done, with what it depends on.

AWS is the only state. For each node X of the target graph the planner looks at which of X, temp-X
and old-X exist, reads the phase from that (copy, swap, cleanup), and marks every step of the whole
clone pending or done, so a plan computed from any interrupted state finishes the job without
repeating work. A state it cannot explain is an error, raised before anything changes.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, NoReturn, Optional, Tuple

from .attributes import (create_replica_params, modify_params, point_in_time_params, promote_params, restore_params,
                         unmet)
from .aws import MitosisError
from .credentials import PASSWORD_PLACEHOLDER, managed_secret, manages_password, secret_active, validate_password
from .graph import (PREFIXES, TEMP, Graph, arn_of, created_of, identifier_of, name_forms, old_name, ref, rejected_name, resource_id_of,
                    status_of, strip_prefix, temp_name)

MAX_IDENTIFIER = 63

COPY, PREPARE, SWAP, RESTART, CLEANUP = "copy", "prepare", "swap", "restart", "cleanup"
PENDING, DONE = "pending", "done"

CREATE = "CreateDBInstanceReadReplica"
RESTORE = "RestoreDBInstanceFromDBSnapshot"
RESTORE_PIT = "RestoreDBInstanceToPointInTime"
PROMOTE = "PromoteReadReplica"
MODIFY = "ModifyDBInstance"
TAG = "AddTagsToResource"
UNTAG = "RemoveTagsFromResource"
SNAPSHOT_ACTION = "CreateDBSnapshot"
DELETE = "DeleteDBInstance"
RESTART_ACTION = "Restart"
PREPARE_ACTION = "Prepare"

# What a step does: the executor's rules (when it is done, when the next step may start) go by kind.
K_CREATE, K_RESTORE, K_PROMOTE, K_MODIFY = "create", "restore", "promote", "modify"
K_PASSWORD, K_MANAGE, K_TAG, K_UNTAG, K_PREPARE = "password", "manage-secret", "tag", "untag", "prepare"
K_SNAPSHOT = "final-snapshot"
# Deletes a temp-X clone an earlier run copied, before the copy starts over (discard_clone).
K_DISCARD = "discard"
K_SWAP_OUT, K_SWAP_IN, K_RESTART, K_DELETE = "swap-out", "swap-in", "restart", "delete"
# Steps the caller runs (the role's task files); the executor only records them.
CALLER_KINDS = (K_PREPARE, K_RESTART)

# How the new primary gets the source's data; a rollback plan's mode is ROLLBACK.
AUTO, REPLICA, POINT_IN_TIME, SNAPSHOT = "auto", "replica", "point_in_time", "snapshot"
CLONE = "clone"  # Aurora's copy-on-write clone (cluster.py)
ROLLBACK = "rollback"
COPY_METHODS = (AUTO, REPLICA, CLONE, POINT_IN_TIME, SNAPSHOT)
RESTORE_ACTIONS = {SNAPSHOT: RESTORE, POINT_IN_TIME: RESTORE_PIT}

# Tags a run writes on its clones, so that a resumed run knows what is done. Never copied from a target.
OWN_TAG_PREFIX = "mitosis:"
PREPARED_TAG = "mitosis:prepared"
# Written with the clone's create or restore call when the run plans a prepare step: a later run without one must
# not put the clone live before that step succeeded (PREPARED_TAG).
PREPARE_TAG, PREPARE_REQUIRED = "mitosis:prepare", "required"
CREDENTIALS_TAG = "mitosis:credentials"
# A target graph member with this tag is never replaced (the key and value are options).
PROTECTED_TAG = "mitosis:protected"
# A run's lock (lock.py): the lock's own calls write and remove it, never the plan.
LOCK_TAG_PREFIX = "mitosis:lock:"

RESUME_HINT = "Fix the cause and run the same command again: the plan resumes from the live state."
Instance = Dict[str, Any]  # one DescribeDBInstances entry
AURORA_HINT = "A refresh copies an Aurora cluster into an Aurora cluster, or a DB instance into a DB instance."


class Step:
    def __init__(self, key: str, phase: str, kind: str, action: str, identifier: str, params: Dict[str, Any],
                 node: str, depends_on: Any = (), cluster: bool = False) -> None:
        self.key = key
        self.phase = phase
        self.kind = kind
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

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Step":
        step = cls(data["id"], data["phase"], data["kind"], data["action"], data["identifier"],
                   dict(data.get("params") or {}), data["node"], data.get("depends_on") or (),
                   bool(data.get("cluster")))
        step.wave = data.get("wave", 0)
        step.resource_id = data.get("resource_id")
        return step

    def to_dict(self) -> Dict[str, Any]:
        extra = dict({"cluster": True} if self.cluster else {},
                     **({"resource_id": self.resource_id} if self.resource_id else {}))
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


class Node:
    """One node X of the target graph and the instances that hold its three names."""

    def __init__(self, name: str, parent: Optional[str], graph: Graph) -> None:
        self.name = name
        self.parent = parent
        self.children = []
        self.current = graph.get(name)
        self.temp = graph.get(temp_name(name))
        self.old = graph.get(old_name(name))
        self.rejected = graph.get(rejected_name(name))

    @property
    def original(self) -> Optional[Instance]:
        """The description the clone copies attributes from (the old graph's instance once moved)."""
        return self.old or self.current or self.temp


def discover_nodes(graph: Graph, target: str) -> List[Node]:
    """The target graph's nodes, parents first, read across X, temp-X and old-X of every node."""
    nodes, order, queue = {}, [], [(target, None)]
    while queue:
        name, parent = queue.pop(0)
        if name in nodes:
            continue
        node = Node(name, parent, graph)
        nodes[name] = node
        order.append(node)
        if parent:
            nodes[parent].children.append(name)
        kids = set()
        for holder in name_forms(name):
            if holder in graph:
                kids.update(strip_prefix(child) for child in graph.children_of(holder))
        queue.extend((kid, name) for kid in sorted(kids))
    return order


class Plan:
    def __init__(self, source: str, target: str, steps: List[Step], nodes: List[Node], mode: str, phase: str,
                 snapshot: Optional[Dict[str, Any]] = None, why: str = "",
                 warnings: Optional[List[str]] = None, discard: bool = False) -> None:
        self.source = source
        self.target = target
        self.steps = steps
        self.nodes = nodes
        self.mode = mode
        self.phase = phase
        self.snapshot = snapshot
        self.why = why  # why this copy method
        self.warnings = warnings or []
        self.discard = discard  # the run may delete this target's temp-* clones (discard_clone): the IAM policy says so

    @classmethod
    def from_dicts(cls, source: str, target: str, steps: List[Dict[str, Any]]) -> "Plan":
        """A plan returned earlier (by rds_mitosis_plan or rds_mitosis_step); `refresh` marks it from live state."""
        built = [Step.from_dict(s) for s in steps]
        if next((s.node for s in built if s.kind != K_DISCARD), None) != target:
            _fail("The plan given is not a plan for the graph of {0}.".format(target), target,
                  "Pass the `plan` returned by mitosis.rds.rds_mitosis_plan for the same source and target.")
        mode = REPLICA
        for step in built:
            for method, action in RESTORE_ACTIONS.items():
                if step.action == action:
                    mode = method
            if step.key.startswith("back:"):  # a rollback puts old-X back under its name
                mode = ROLLBACK
        return cls(source, target, built, [], mode, "")

    def node_names(self) -> List[str]:
        """The target graph's members, parents first (the order the copy steps were built in)."""
        names = []  # type: List[str]
        for step in self.steps:
            # An earlier run's clones are discarded leaves first; everything else is built parents first.
            if step.node not in names and step.kind != K_DISCARD:
                names.append(step.node)
        return names

    def step(self, key: str) -> Optional[Step]:
        for step in self.steps:
            if step.key == key:
                return step
        return None

    @property
    def pending(self) -> List[Step]:
        return [s for s in self.steps if s.status == PENDING]

    def waves(self, phase: Optional[str] = None) -> List[int]:
        return sorted({s.wave for s in self.steps if phase is None or s.phase == phase})

    def retiring_resource_ids(self) -> List[str]:
        """DbiResourceId of the instances this clone retires (X before the swap, old-X after)."""
        ids = []
        for node in self.nodes:
            # Until its swap, X itself is the instance to retire; afterwards old-X is.
            inst = node.old or (node.current if node.temp is not None or self.phase == COPY else None)
            if inst and inst.get("DbiResourceId"):
                ids.append(inst["DbiResourceId"])
        return ids

    def subject(self) -> str:
        """What the plan refreshes, for the flight plan."""
        count = len(self.nodes)
        return "the graph of {0} ({1} node{2})".format(self.target, count, "" if count == 1 else "s")

    def to_dict(self) -> List[Dict[str, Any]]:
        return [s.to_dict() for s in self.steps]


def _fail(message: str, identifier: Optional[str] = None, hint: Optional[str] = None) -> NoReturn:
    raise MitosisError(message, operation="plan", identifier=identifier, hint=hint)


def validate_names(nodes: List[Node]) -> None:
    for node in nodes:
        for prefix in PREFIXES:
            if node.name.startswith(prefix):
                _fail("Target graph member {0} starts with '{1}', which mitosis.rds reserves for clones and "
                      "retired instances.".format(node.name, prefix), node.name,
                      "Rename it (or delete it if it is a leftover of an earlier run) before cloning.")
        longest = max(len(temp_name(node.name)), len(old_name(node.name)))
        if longest > MAX_IDENTIFIER:
            _fail("{0} is too long to clone: with the '{1}' prefix it would have {2} characters and RDS allows {3}."
                  .format(node.name, TEMP, longest, MAX_IDENTIFIER), node.name,
                  "Shorten the instance identifier to at most {0} characters.".format(MAX_IDENTIFIER - len(TEMP)))


def _engine(inst: Optional[Instance]) -> Optional[str]:
    return (inst or {}).get("Engine")


def validate(graph: Graph, source: str, target: str, nodes: List[Node]) -> None:
    """Checks that must pass before any change; each error names the instance and what to do."""
    if source == target:
        _fail("Source and target are the same instance ({0}).".format(source), source,
              "The target is the graph that gets replaced: pick a different one.")
    src = graph.get(source)
    if src is None:
        _fail("Source instance {0} was not found in region {1}.".format(source, graph.region), source,
              "Check the identifier and the region/credentials you use.")
    root = nodes[0]
    if root.current is None and root.temp is None and root.old is None:
        _fail("Target instance {0} was not found in region {1}.".format(target, graph.region), target,
              "Check the identifier and the region/credentials you use.")
    if source in graph.cross_region_parents:
        _fail("{0} is a cross-region read replica of {1}; mitosis.rds clones within one region."
              .format(source, graph.cross_region_parents[source]["identifier"]), source)
    if src.get("DBClusterIdentifier"):
        _fail("{0} is an instance of the Aurora cluster {1}, and the target is not an Aurora cluster."
              .format(source, src["DBClusterIdentifier"]), source, AURORA_HINT)
    source_graph = set(graph.tree(graph.root(source)))
    for node in nodes:
        if node.name in source_graph:
            _fail("Target graph member {0} is part of the source's replication graph (rooted at {1})."
                  .format(node.name, graph.root(source)), node.name,
                  "The target must be an independent graph; cloning into it would replace production.")
    parent_of_target = graph.parent(target) if root.current and not root.old else None
    if parent_of_target:
        _fail("Target {0} is a read replica of {1}; the target must be the root of its replication graph."
              .format(target, parent_of_target), target,
              "Use {0} as the target, or promote {1} first.".format(graph.root(target), target))
    validate_names(nodes)
    for node in nodes:
        inst = node.original
        if inst is None:
            continue
        if inst.get("DBClusterIdentifier"):
            _fail("{0} is an instance of the Aurora cluster {1}, and the source is not an Aurora cluster."
                  .format(inst["DBInstanceIdentifier"], inst["DBClusterIdentifier"]), inst["DBInstanceIdentifier"],
                  AURORA_HINT)
        if _engine(inst) != _engine(src):
            _fail("Engines differ: source {0} runs {1} but target member {2} runs {3}.".format(
                source, _engine(src), inst["DBInstanceIdentifier"], _engine(inst)), inst["DBInstanceIdentifier"],
                "Clone between instances of the same engine.")
        name = inst["DBInstanceIdentifier"]
        if name in graph.cross_region_children or name in graph.cross_region_parents:
            _fail("Target member {0} has a cross-region replication link; mitosis.rds clones within one region."
                  .format(name), name, "Remove the cross-region replica first.")


def validate_unprotected(nodes: List[Node], protected_tag: Tuple[str, str]) -> None:
    """A target graph member tagged as protected (production, a customer's stack) is never replaced."""
    key, value = protected_tag
    for node in nodes:
        for inst in (node.current, node.old):
            tags = {t.get("Key"): str(t.get("Value", "")) for t in (inst or {}).get("TagList") or []}
            if key in tags and tags[key].lower() == value.lower():
                name = identifier_of(inst)
                _fail("Target member {0} carries the tag {1}={2}: its graph is protected and is never replaced."
                      .format(name, key, tags[key]), name,
                      "Check the target: if this stack may really be refreshed, remove the tag first "
                      "(aws rds remove-tags-from-resource --resource-name {0} --tag-keys {1}).".format(
                          arn_of(inst), key))


def final_snapshot_name(target: str, retired: Optional[Instance]) -> str:
    """The final snapshot of the retired primary, named from the target and that instance: a resumed run finds it."""
    resource = str(resource_id_of(retired) or "").lower()
    for prefix in ("db-", "cluster-"):
        if resource.startswith(prefix):
            resource = resource[len(prefix):]
    return "{0}-final-{1}".format(target, resource).strip("-")


def validate_retirable(nodes: List[Node], phase: str) -> None:
    """Deletion protection on an instance we will retire would block the cleanup: refuse up front."""
    for node in nodes:
        retired = node.old or (node.current if phase == COPY else None)
        if retired is not None and retired.get("DeletionProtection"):
            rname = retired["DBInstanceIdentifier"]
            _fail("Target member {0} has deletion protection enabled, which would block the cleanup of {1}."
                  .format(rname, old_name(node.name)), rname,
                  "Disable it first: aws rds modify-db-instance --db-instance-identifier {0} "
                  "--no-deletion-protection --apply-immediately".format(rname))


class CloneOptions:
    """What the caller asked for beyond source and target (module options of the same names).

    `password` is the clone's new master password (given, or read from `master_password_secret`): it is only
    validated here and never written into a step; `password_source` says where it comes from, for the plan."""

    def __init__(self, copy_method: str = AUTO, restore_snapshot: bool = False,
                 snapshot_identifier: Optional[str] = None, password: Optional[str] = None,
                 password_source: Optional[str] = None, prepare: bool = False, final_snapshot: bool = False,
                 protected_tag: Tuple[str, str] = (PROTECTED_TAG, "true"), rollback: bool = False,
                 discard_clone: bool = False) -> None:
        self.copy_method = copy_method
        self.restore_snapshot = restore_snapshot
        self.snapshot_identifier = snapshot_identifier
        self.password = password
        self.password_source = password_source
        self.prepare = prepare
        self.final_snapshot = final_snapshot
        self.protected_tag = protected_tag
        self.rollback = rollback  # plan the rollback of the target's refresh instead of a clone
        self.discard_clone = discard_clone  # delete an earlier run's temp-* clones and copy again


def discard_or_refuse(phase: str, target: str, clones: List[Instance], options: CloneOptions) -> Tuple[bool, List[str]]:
    """Whether this run deletes the temp-* clones an earlier run copied (`clones`, the copy's root first) to copy
    again, with the flight plan's words for it. A clone copied for a prepare step that has not succeeded goes live
    only after that step: a run without one is refused, before any change."""
    if phase != COPY:
        if options.discard_clone:
            return False, ["discard_clone does not apply: the swap of {0} has started, so no clone is deleted and the "
                           "refresh goes on from where it stopped.".format(target)]
        return False, []
    if not clones:
        return False, []
    names = ", ".join(identifier_of(c) for c in clones)
    if options.discard_clone:
        return True, ["discard_clone: {0} (copies an earlier run made for {1}) are deleted, and the copy starts "
                      "over.".format(names, target)]
    root = identifier_of(clones[0])
    unprepared = has_tag(clones[0], PREPARE_TAG, PREPARE_REQUIRED) and not has_tag(clones[0], PREPARED_TAG)
    if unprepared and not options.prepare:
        _fail("{0} was copied by a run with a prepare step (tag {1}={2}) that has not succeeded on it (no tag {3}): it "
              "holds the source's data unprepared, and this run has no prepare step, so it would put that data live "
              "under the names of {4}. Nothing was changed.".format(
                  root, PREPARE_TAG, PREPARE_REQUIRED, PREPARED_TAG, target), root,
              "Run again with the prepare tasks (-e prepare_tasks=<file>, mitosis_prepare_tasks in the role): they "
              "run on {0}, then the refresh goes on. Or start the copy over with -e discard_clone=true "
              "(mitosis_discard_clone): it deletes only the temp-* clones of {1} ({2}), copies of the source, and "
              "copies again.".format(root, target, names))
    return False, []


def _vpc(inst: Optional[Instance]) -> Optional[str]:
    return ((inst or {}).get("DBSubnetGroup") or {}).get("VpcId")


def requested_method(options: CloneOptions, source: str) -> str:
    """copy_method, made SNAPSHOT by restore_snapshot or snapshot_identifier (which contradict any other)."""
    requested = options.copy_method
    for flag, given in (("restore_snapshot", options.restore_snapshot),
                        ("snapshot_identifier", options.snapshot_identifier)):
        if given and requested not in (AUTO, SNAPSHOT):
            _fail("{0} asks for a snapshot restore, which contradicts copy_method={1}.".format(flag, requested),
                  source, "Leave out one of the two.")
        if given:
            requested = SNAPSHOT
    return requested


def snapshot_reason(options: CloneOptions) -> str:
    if options.snapshot_identifier:
        return "snapshot_identifier names the snapshot"
    return "restore_snapshot is set" if options.restore_snapshot else "copy_method=snapshot"


def choose_method(graph: Graph, source: str, target_inst: Optional[Instance], options: CloneOptions) -> Tuple[str, str]:
    """(copy method, why): the method asked for when it can work, else an error saying why it cannot."""
    src = graph.get(source) or {}
    requested = requested_method(options, source)
    managed = manages_password(src)
    src_vpc, dst_vpc = _vpc(src), _vpc(target_inst)
    other_vpc = bool(src_vpc and dst_vpc and src_vpc != dst_vpc)
    backups = bool(src.get("BackupRetentionPeriod"))
    no_replica = "{0} manages its master password in Secrets Manager, and RDS creates no read replica of such a " \
        "source".format(source)
    if requested == CLONE:
        _fail("copy_method=clone applies to Aurora clusters; {0} is a DB instance.".format(source), source,
              "Use copy_method=auto, replica, point_in_time or snapshot.")
    if requested == REPLICA:
        if managed:
            _fail("copy_method=replica cannot work: {0}.".format(no_replica), source,
                  "Use copy_method=point_in_time (or auto, which picks it): a restore to the latest restorable time "
                  "is as fresh and needs no replica of {0}.".format(source))
        if other_vpc:
            _fail("copy_method=replica cannot work: {0} is in {1} and the target in {2}, and a read replica lives "
                  "in its source's VPC.".format(source, src_vpc, dst_vpc), source,
                  "Use copy_method=point_in_time (or auto, which picks it).")
        return REPLICA, "copy_method=replica"
    if requested == POINT_IN_TIME or (requested == AUTO and (managed or other_vpc) and backups):
        if not backups:
            _fail("A point-in-time restore of {0} needs its automated backups, which are off (backup retention 0)."
                  .format(source), source, "Use copy_method=snapshot, or enable automated backups on the source.")
        if requested == POINT_IN_TIME:
            return POINT_IN_TIME, "copy_method=point_in_time"
        if managed:
            return POINT_IN_TIME, no_replica
        return POINT_IN_TIME, "source and target are in different VPCs ({0}, {1})".format(src_vpc, dst_vpc)
    if requested == SNAPSHOT:
        return SNAPSHOT, snapshot_reason(options)
    if managed or other_vpc:
        return SNAPSHOT, "{0}, and {1} has no automated backups for a point-in-time restore".format(
            no_replica if managed else "the VPCs differ", source)
    return REPLICA, "source and target share a VPC: a read replica of {0}, then promoted".format(source)


def newest_snapshot(snapshots: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    available = [s for s in snapshots if s.get("Status") == "available"]
    if not available:
        return None
    return max(available, key=lambda s: str(s.get("SnapshotCreateTime") or ""))


def pick_snapshot(source: str, options: CloneOptions, why: str,
                  snapshots_of: Callable[[str, Optional[str]], List[Dict[str, Any]]],
                  cluster: bool = False) -> Dict[str, Any]:
    """The snapshot (of an Aurora cluster: the cluster snapshot) to restore: the one named, or the newest available
    one of the source."""
    what, key, cli = ("Cluster snapshot", "DBClusterSnapshotIdentifier", "db-cluster") if cluster else \
        ("Snapshot", "DBSnapshotIdentifier", "db")
    named = options.snapshot_identifier
    found = snapshots_of(source, named)
    if named:
        if not found:
            _fail("{0} {1} was not found.".format(what, named), source,
                  "Check the name (or ARN) with aws rds describe-{0}-snapshots --{0}-snapshot-identifier {1}.".format(
                      cli, named))
        if found[0].get("Status") != "available":
            _fail("{0} {1} is {2}, not available.".format(what, named, found[0].get("Status")), source,
                  "Wait until it is available, or name another snapshot.")
        return dict(found[0], **{key: named})
    snapshot = newest_snapshot(found)
    if snapshot is None:
        _fail("No available {0} of {1} to restore from ({2}).".format(what.lower(), source, why), source,
              "Create one (aws rds create-{0}-snapshot --{1}-identifier {2} ...) or wait for the next automated "
              "backup, then run again.".format(cli, "db-cluster" if cluster else "db-instance", source))
    return snapshot


def validate_credentials(nodes: List[Node], source: str, options: CloneOptions) -> List[str]:
    """Checks of the clone's credentials before any change; returns the warnings for the flight plan."""
    root = nodes[0].original or {}
    if managed_secret(root) is not None:
        if options.password_source:
            _fail("{0} manages its master password in Secrets Manager, so its clone gets a managed secret of its own; "
                  "{1} cannot apply.".format(nodes[0].name, options.password_source.split(" ")[0]), nodes[0].name,
                  "Leave it out: the application reads the clone's new secret, whose ARN the summary names.")
        return []
    if options.password_source:
        if options.password is not None:
            validate_password(root.get("Engine") or "", options.password, options.password_source)
        return []
    return ["The clone keeps {0}'s master password: {1} (every instance of the clone) will accept {0}'s master "
            "credentials. Set master_password or master_password_secret to give it the password its application "
            "knows.".format(source, nodes[0].name)]


def own_tags(tags: List[Dict[str, str]]) -> List[Dict[str, str]]:
    """A member's tags without the ones a run writes on its clones."""
    return [t for t in tags if not t["Key"].startswith(OWN_TAG_PREFIX)]


def has_tag(inst: Optional[Instance], key: str, value: Optional[str] = None) -> bool:
    """`inst` carries the tag `key` (with `value`, when given)."""
    return any(t.get("Key") == key and value in (None, t.get("Value")) for t in (inst or {}).get("TagList") or [])


class StepList:
    """The steps of a plan as they are built, with the copy (and prepare) steps the swap waits for."""

    def __init__(self) -> None:
        self.steps = []  # type: List[Step]
        self.copy_keys = []  # type: List[str]

    def add(self, key: str, step_phase: str, kind: str, action: str, identifier: str, params: Dict[str, Any],
            node: str, depends_on: List[str], cluster: bool = False) -> Step:
        step = Step(key, step_phase, kind, action, identifier, params, node, depends_on, cluster)
        self.steps.append(step)
        if step_phase in (COPY, PREPARE):
            self.copy_keys.append(key)
        return step

    def discard(self, node: str, clone: Instance, action: str, params: Dict[str, Any], depends_on: List[str],
                cluster: bool = False) -> Step:
        """The delete of an earlier run's clone of `node`, that very instance (or cluster) only."""
        step = self.add(("discard-clone-cluster:" if cluster else "discard-clone:") + node, COPY, K_DISCARD, action,
                        identifier_of(clone), params, node, depends_on, cluster)
        step.resource_id = resource_id_of(clone)
        return step

    def credentials(self, root: str, secret_holder: Optional[Instance], after: List[str], manage_after: List[str],
                    options: CloneOptions, action: str = MODIFY, cluster: bool = False) -> None:
        """The new primary's (or cluster's) credentials, once its own calls (`after`) are done: a managed secret
        like the target's (after `manage_after` too), or the password given, recorded by a tag."""
        temp_root = temp_name(root)
        secret = managed_secret(secret_holder)
        if secret is not None:
            params = {"ApplyImmediately": True, "ManageMasterUserPassword": True}
            if secret.get("KmsKeyId"):
                params["MasterUserSecretKmsKeyId"] = secret["KmsKeyId"]
            self.add("manage-secret:" + root, COPY, K_MANAGE, action, temp_root, params, root, after + manage_after,
                     cluster)
        elif options.password_source:
            reset = self.add("password:" + root, COPY, K_PASSWORD, action, temp_root,
                             {"ApplyImmediately": True, "MasterUserPassword": PASSWORD_PLACEHOLDER}, root, after,
                             cluster)
            self.add("tag-credentials:" + root, COPY, K_TAG, TAG, temp_root,
                     {"Tags": [{"Key": CREDENTIALS_TAG, "Value": options.password_source}]}, root, [reset.key],
                     cluster)

    def prepare(self, root: str, options: CloneOptions, cluster: bool = False) -> None:
        """The caller's prepare tasks see the whole copy; the tag records that they succeeded."""
        if not options.prepare:
            return
        temp_root = temp_name(root)
        self.add("prepare:" + root, PREPARE, K_PREPARE, PREPARE_ACTION, temp_root, {}, root, list(self.copy_keys),
                 cluster)
        # The tag waits for the whole copy itself too: the executor leaves the caller's steps to the caller.
        self.add("tag-prepared:" + root, PREPARE, K_TAG, TAG, temp_root,
                 {"Tags": [{"Key": PREPARED_TAG, "Value": "true"}]}, root, list(self.copy_keys), cluster)

    def untag(self, root: str, holders: List[Optional[Instance]], restart: Step, cluster: bool = False) -> None:
        """The run's own tags served the resume; the refreshed stack keeps only the target's tags (an earlier
        run's included, when this one writes none: read from every holder of the name, so the step stays in the
        plan once the target has moved aside)."""
        own = [t["Key"] for s in self.steps for t in s.params.get("Tags") or [] if t["Key"].startswith(OWN_TAG_PREFIX)]
        own += [t["Key"] for inst in holders for t in (inst or {}).get("TagList") or []
                if t["Key"].startswith(OWN_TAG_PREFIX) and not t["Key"].startswith(LOCK_TAG_PREFIX)
                and t["Key"] not in own]
        if own:
            self.add("untag:" + root, CLEANUP, K_UNTAG, UNTAG, root, {"TagKeys": own}, root, [restart.key], cluster)


def new_clone_tags(node: Node, root: bool, tags_of: Callable[[Dict[str, Any]], List[Dict[str, str]]], phase: str,
                   discard: bool, options: CloneOptions) -> List[Dict[str, str]]:
    """The tags of `node`'s clone when it is still to be created (read only then), and on the copy's root the mark
    that a prepare step must succeed before it goes live."""
    if phase != COPY or (node.temp is not None and not discard):
        return []
    tags = own_tags(tags_of(node.original or {}))
    if root and options.prepare:
        tags.append({"Key": PREPARE_TAG, "Value": PREPARE_REQUIRED})
    return tags


def build_steps(source: str, nodes: List[Node], tags_of: Callable[[Dict[str, Any]], List[Dict[str, str]]],
                snapshot: Optional[Dict[str, Any]], phase: str = COPY, method: str = REPLICA,
                options: Optional[CloneOptions] = None, discard: bool = False) -> List[Step]:
    """Every step of a whole clone, each depending only on what it really needs; with `discard`, the deletes of
    an earlier run's clones first, leaves first.

    Tags are read only for the nodes whose clone is still to be created."""
    options = options or CloneOptions()
    built = StepList()
    add = built.add
    # The step after which a node's clone can feed replicas (its backups are on).
    feeds = {}  # type: Dict[str, str]

    root = nodes[0]
    discards = []  # type: List[str]
    by_name = nodes_by_name(nodes)
    for node in reversed(nodes) if discard else ():
        if node.temp is not None:
            discards.append(built.discard(node.name, node.temp, DELETE, {"SkipFinalSnapshot": True},
                                          ["discard-clone:" + c for c in node.children if by_name[c].temp]).key)
    for node in nodes:
        desc = node.original
        temp = temp_name(node.name)
        tags = new_clone_tags(node, node is root, tags_of, phase, discard, options)
        if node is root and method in RESTORE_ACTIONS:
            if method == SNAPSHOT:
                params = restore_params(desc, tags, (snapshot or {}).get("DBSnapshotIdentifier", ""))
            else:
                params = point_in_time_params(desc, tags, source)
            restored = add("restore:" + node.name, COPY, K_RESTORE, RESTORE_ACTIONS[method], temp, params, node.name,
                           discards)
            ready = add("modify:" + node.name, COPY, K_MODIFY, MODIFY, temp,
                        modify_params(desc, enable_backups=True, restored=True), node.name, [restored.key])
        elif node is root:
            created = add("create:" + node.name, COPY, K_CREATE, CREATE, temp,
                          create_replica_params(desc, tags, source), node.name, discards)
            # Backups come with the promotion, so replicas can be created while the rest is modified.
            ready = add("promote:" + node.name, COPY, K_PROMOTE, PROMOTE, temp, promote_params(desc), node.name,
                        [created.key])
            params = modify_params(desc, promoted=True)
            if len(params) > 1:  # more than ApplyImmediately: something to change
                add("modify:" + node.name, COPY, K_MODIFY, MODIFY, temp, params, node.name, [ready.key])
        else:
            ready = add("create:" + node.name, COPY, K_CREATE, CREATE, temp,
                        create_replica_params(desc, tags, temp_name(node.parent)), node.name, [feeds[node.parent]])
            params = modify_params(desc, enable_backups=bool(node.children))
            if len(params) > 1:
                ready = add("modify:" + node.name, COPY, K_MODIFY, MODIFY, temp, params, node.name, [ready.key])
        feeds[node.name] = ready.key

    # RDS makes no replica of an instance whose password it manages: the managed secret waits for every replica
    # of the clone (the swap does anyway).
    built.credentials(root.name, root.original, [s.key for s in built.steps if s.node == root.name],
                      [s.key for s in built.steps if s.kind == K_CREATE and s.node != root.name], options)
    built.prepare(root.name, options)
    copy_keys = built.copy_keys

    # The swap starts only once the whole copy is in place. Each name then moves on its own: X moves
    # aside, and temp-X takes the name as soon as it is free (the executor's rule for swap-in).
    for node in reversed(nodes):
        add("swap-out:" + node.name, SWAP, K_SWAP_OUT, MODIFY, node.name,
            {"ApplyImmediately": True, "NewDBInstanceIdentifier": old_name(node.name)}, node.name, list(copy_keys))
    for node in reversed(nodes):
        add("swap-in:" + node.name, SWAP, K_SWAP_IN, MODIFY, temp_name(node.name),
            {"ApplyImmediately": True, "NewDBInstanceIdentifier": node.name}, node.name, ["swap-out:" + node.name])
    restart = add("restart:" + root.name, RESTART, K_RESTART, RESTART_ACTION, root.name, {}, root.name,
                  ["swap-in:" + n.name for n in nodes])
    # The old primary's final snapshot (replicas have none) is taken before its delete, by a step of its own, so
    # that a resumed run finds it and deletes without a second one.
    snapshot_keys = []  # type: List[str]
    if options.final_snapshot:
        name = final_snapshot_name(root.name, root.old or root.current)
        snapshot_keys.append(add("final-snapshot:" + root.name, CLEANUP, K_SNAPSHOT, SNAPSHOT_ACTION,
                                 old_name(root.name), {"DBSnapshotIdentifier": name}, root.name, [restart.key]).key)
    # Leaves first: deleting a primary before its replicas would promote them.
    for node in reversed(nodes):
        add("delete:" + node.name, CLEANUP, K_DELETE, DELETE, old_name(node.name), {"SkipFinalSnapshot": True},
            node.name, [restart.key] + ["delete:" + c for c in node.children]
            + (snapshot_keys if node is root else []))
    built.untag(root.name, [root.temp, root.current, root.old], restart)
    return built.steps


def assign_waves(steps: List[Step]) -> None:
    """wave = 1 + the latest wave among a step's dependencies: independent steps share a wave."""
    by_key = {s.key: s for s in steps}
    for step in steps:  # steps are built in dependency order
        step.wave = 1 + max([by_key[d].wave for d in step.depends_on] or [0])


def _status(inst: Optional[Instance]) -> str:
    return status_of(inst)


def _source_of(graph: Graph, inst: Optional[Instance]) -> Optional[str]:
    return graph.parent(inst["DBInstanceIdentifier"]) if inst else None


def classify(graph: Graph, source: str, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
    """The phase read from which of X, temp-X and old-X exist; unexplained leftovers are errors."""
    rolling_back = [n.name for n in nodes if n.rejected is not None]
    if rolling_back:
        _fail("A rollback of {0} is in progress: {1} exists.".format(nodes[0].name, rejected_name(rolling_back[0])),
              rejected_name(rolling_back[0]),
              "Finish it first (ansible-playbook mitosis.rds.rollback -e target={0}, the same command that started "
              "it), then run the refresh again.".format(nodes[0].name))
    any_old = any(n.old for n in nodes)
    if not any_old:
        by_name = nodes_by_name(nodes)
        for node in nodes:
            temp = temp_name(node.name)
            if node.current is None and node.temp is None:
                _fail("Target member {0} is missing.".format(node.name), node.name)
            if node.temp is None:
                continue
            if node.current is None:
                _fail("{0} exists but {1} is not part of the target graph: it does not fit this clone.".format(
                    temp, node.name), temp, "Delete or rename the leftover instance {0} and run again.".format(temp))
            if node.parent and by_name[node.parent].temp is None:
                _fail("{0} exists without {1}: it does not fit this clone.".format(temp, temp_name(node.parent)),
                      temp, "Delete {0} and run again.".format(temp))
            expected = [source, None] if node.parent is None else [temp_name(node.parent)]
            actual = _source_of(graph, node.temp)
            if actual not in expected:
                _fail("{0} replicates from {1}, which does not fit a clone of {2} from {3}.".format(
                    temp, actual or "nothing", node.name, expected[0]), temp,
                    "Delete {0} (a leftover of another run) and run again.".format(temp))
        if previous_resource_ids is not None and all(n.temp is None for n in nodes) and all(
                n.current.get("DbiResourceId") not in previous_resource_ids for n in nodes):
            return "complete"
        return COPY
    return swap_phase(nodes)


def swap_phase(nodes: List[Node]) -> str:
    """SWAP or CLEANUP, read from the names of nodes of which some old-X exists; unexplained states are errors."""
    states = {}
    for node in nodes:
        key = (node.current is not None, node.temp is not None, node.old is not None)
        if key == (True, True, False):
            states[node.name] = "before-swap"
        elif key == (False, True, True):
            states[node.name] = "moved-aside"
        elif key == (True, False, True):
            states[node.name] = "swapped"
            born, retired_born = created_of(node.current), created_of(node.old)
            if born and retired_born and born < retired_born:
                _fail("{0} exists beside {1}, but {1} is older than {0}, so {1} is not a clone that took over from "
                      "{0}: {0} does not fit this clone.".format(old_name(node.name), node.name), old_name(node.name),
                      "Delete or rename the leftover {0} and run again.".format(old_name(node.name)))
        elif key == (True, False, False):
            states[node.name] = "cleaned"
        else:
            present = [n for n, inst in ((node.name, node.current), (temp_name(node.name), node.temp),
                                         (old_name(node.name), node.old)) if inst is not None]
            _fail("The names of {0} are in a state no clone explains: only {1} exist{2}.".format(
                node.name, ", ".join(present) or "none of X, temp-X, old-X", "s" if len(present) == 1 else ""),
                node.name, "Inspect these instances, restore the missing name by hand, and run again.")
    if "cleaned" in states.values() and any(s in ("before-swap", "moved-aside") for s in states.values()):
        stray = [n for n, s in states.items() if s == "cleaned"]
        _fail("old-* instances were deleted before the swap finished ({0}); the state does not fit a clone."
              .format(", ".join(stray)), stray[0], "Inspect the target graph by hand before running again.")
    if all(s in ("swapped", "cleaned") for s in states.values()):
        return CLEANUP
    return SWAP


def recording_tag(step: Step, steps: List[Step]) -> Dict[str, str]:
    """The tag that records a tag, prepare or password step as done (the tag step after it, for the last two)."""
    if step.kind == K_TAG:
        return step.params["Tags"][0]
    key = PREPARED_TAG if step.kind == K_PREPARE else CREDENTIALS_TAG
    return next(t for s in steps if s.kind == K_TAG and s.node == step.node for t in s.params["Tags"] if t["Key"] == key)


def nodes_by_name(nodes: List[Node]) -> Dict[str, Node]:
    return {n.name: n for n in nodes}


def mark(plan_phase: str, nodes: List[Node], steps: List[Step], graph: Graph,
         node_of: Optional[Callable[[Step], Node]] = None) -> None:
    """Each step pending or done (and why), from the phase and the live instances (or clusters) of its node."""
    by_name = nodes_by_name(nodes)
    for step in steps:
        node = node_of(step) if node_of else by_name[step.node]
        if plan_phase == "complete":
            step.done("the clone is complete: {0} is a new instance".format(step.node))
            continue
        if step.phase in (COPY, PREPARE):
            if plan_phase != COPY:
                step.done("the {0} finished before the swap started".format(step.phase))
                continue
            temp = node.temp
            if step.kind == K_DISCARD:
                if resource_id_of(temp) != step.resource_id:
                    step.done("{0} is deleted".format(step.identifier))
                elif _status(temp) == "deleting":
                    step.pending("delete in progress")
                else:
                    step.pending("a copy an earlier run made ({0})".format(step.resource_id))
            elif step.kind in (K_PREPARE, K_TAG, K_PASSWORD):
                # A password step is recorded by the tag step after it; a tag counts with its value (where the
                # password came from), so a run given another password sets it again.
                tag = recording_tag(step, steps)
                if has_tag(temp, tag["Key"], tag["Value"]):
                    step.done("{0} has the tag {1}={2}".format(step.identifier, tag["Key"], tag["Value"]))
            elif step.kind == K_MANAGE:
                status = (managed_secret(temp) or {}).get("SecretStatus")
                if secret_active(temp):
                    step.done("{0} has a managed master secret".format(step.identifier))
                elif status:
                    step.pending("its managed master secret is {0}".format(status))
            elif step.kind in (K_CREATE, K_RESTORE):
                if _status(temp) == "creating":
                    step.pending("{0} is being created".format(step.identifier))
                elif temp is not None:
                    step.done("{0} exists ({1})".format(step.identifier, _status(temp)))
            elif step.kind == K_PROMOTE:
                if temp is not None and _source_of(graph, temp) is None:
                    step.done("{0} is standalone".format(step.identifier))
            elif step.kind == K_MODIFY:
                if temp is not None:
                    missing = unmet(temp, step.params)
                    if not missing:
                        step.done("{0} already has these values".format(step.identifier))
                    else:
                        step.pending("differs in " + ", ".join(missing))
        elif step.phase == SWAP:
            if plan_phase == CLEANUP:
                step.done("the swap finished")
            elif step.kind == K_SWAP_OUT:
                if node.old is not None:
                    step.done("{0} exists".format(old_name(step.node)))
                elif _status(node.current) == "renaming":
                    step.pending("rename in progress")
            else:
                if node.temp is None and node.current is not None and plan_phase == SWAP:
                    step.done("{0} is the clone".format(step.node))
                elif _status(node.temp) == "renaming":
                    step.pending("rename in progress")
        elif step.phase == RESTART:
            if plan_phase == CLEANUP and all(n.old is None for n in nodes):
                step.done("every old-* instance is deleted")
            elif plan_phase == CLEANUP:
                step.pending("runs (again) before any old-* instance is deleted")
        elif step.kind == K_SNAPSHOT:
            if plan_phase == CLEANUP and node.old is None:
                step.done("{0} is deleted, after its final snapshot".format(step.identifier))
        elif step.kind == K_UNTAG:
            if plan_phase == CLEANUP and not any(has_tag(node.current, key) for key in step.params["TagKeys"]):
                step.done("{0} has none of the run's tags".format(step.identifier))
        elif step.phase == CLEANUP:
            if plan_phase == CLEANUP and node.old is None:
                step.done("{0} is deleted".format(step.identifier))
            elif _status(node.old) == "deleting":
                step.pending("delete in progress")
    if any(s.kind == K_DISCARD and s.status == PENDING for s in steps):
        # The earlier run's clones hold these names until they are deleted: everything of the copy is done again.
        for step in steps:
            if step.phase in (COPY, PREPARE) and step.kind != K_DISCARD:
                step.pending("copied again once the earlier run's clones are deleted")


def plan_clone(graph: Graph, source: str, target: str, tags_of: Callable[[Dict[str, Any]], List[Dict[str, str]]],
               snapshots_of: Callable[[str, Optional[str]], List[Dict[str, Any]]],
               options: Optional[CloneOptions] = None, previous_resource_ids: Optional[List[str]] = None) -> "Plan":
    """The whole plan for cloning `source` into the graph rooted at `target`, from the live `graph`.

    `snapshots_of(source, snapshot_identifier)` lists the snapshots of the source (or the one named)."""
    options = options or CloneOptions()
    if not source or not target:
        _fail("Both source and target are required.")
    if options.copy_method not in COPY_METHODS:
        _fail("copy_method must be one of {0}, not {1}.".format(", ".join(COPY_METHODS), options.copy_method))
    nodes = discover_nodes(graph, target)
    validate(graph, source, target, nodes)
    validate_unprotected(nodes, options.protected_tag)
    phase = classify(graph, source, nodes, previous_resource_ids)
    validate_retirable(nodes, phase)
    mode, why = choose_method(graph, source, nodes[0].original, options)
    discard, notes = discard_or_refuse(phase, target, [n.temp for n in nodes if n.temp is not None], options)
    if phase == COPY and not discard and nodes[0].temp is not None and _source_of(graph, nodes[0].temp) == source:
        # An earlier run's read replica: the copy goes on as one (restoring over it is impossible, swapping it unpromoted
        # would put production's replica in the target's place).
        mode, why = REPLICA, "{0} is already a read replica of {1}, made by an earlier run".format(
            temp_name(nodes[0].name), source)
    warnings = validate_credentials(nodes, source, options) + notes
    snapshot = None
    if mode == SNAPSHOT:
        if phase == COPY and (nodes[0].temp is None or discard):
            snapshot = pick_snapshot(source, options, why, snapshots_of)
        else:
            snapshot = {"DBSnapshotIdentifier": "(already restored)"}
    steps = build_steps(source, nodes, tags_of, snapshot, phase, mode, options, discard)
    assign_waves(steps)
    mark(phase, nodes, steps, graph)
    return Plan(source, target, steps, nodes, mode, phase, snapshot, why, warnings, discard=options.discard_clone)


def plan_names(source: str, nodes: List[str]) -> List[str]:
    """Every instance name a plan reads: the source (a rollback has none), and every name form of each node."""
    return ([source] if source else []) + [name for node in nodes for name in name_forms(node)]


def refresh(plan: "Plan", graph: Graph, previous_resource_ids: Optional[List[str]] = None) -> "Plan":
    """The same plan's steps marked again from `graph` (a describe of `plan_names`): no discovery, no tags.

    A target graph that gained or lost members since the plan was made is an error: plan again. With the
    instances the clone retires (`previous_resource_ids`), a finished clone reads as complete."""
    nodes = discover_nodes(graph, plan.target)
    if [n.name for n in nodes] != plan.node_names():
        _fail("The graph of {0} changed since the plan was made: it now has {1} (the plan has {2}).".format(
            plan.target, ", ".join(n.name for n in nodes), ", ".join(plan.node_names())), plan.target,
            "Run the same command again: it plans from the live state.")
    phase = classify(graph, plan.source, nodes, previous_resource_ids)
    validate_retirable(nodes, phase)
    for step in plan.steps:
        step.pending()
    mark(phase, nodes, plan.steps, graph)
    plan.nodes, plan.phase = nodes, phase
    return plan


def _params_text(params: Dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=False, default=str)


def flight_plan(plan: Plan) -> str:
    """The human-readable flight plan: one line per call, done steps marked as skipped and why."""
    lines = ["Flight plan: clone {0} into {1} ({2} path, phase: {3})".format(
        plan.source, plan.subject(), plan.mode, plan.phase)]
    if plan.mode == ROLLBACK:
        lines = ["Flight plan: roll back the refresh of the graph of {0} ({1} node{2}, phase: {3}): the clones move "
                 "aside to rej-*, old-* take their names back, the application restarts, then rej-* are deleted."
                 .format(plan.target, len(plan.nodes), "" if len(plan.nodes) == 1 else "s", plan.phase)]
    elif plan.why:
        lines.append("Copy method: {0}, because {1}.".format(plan.mode, plan.why))
    lines += ["Warning: " + warning for warning in plan.warnings]
    for step in plan.steps:
        mark_text = "pending" if step.status == PENDING else "skip: " + step.reason
        if step.status == PENDING and step.reason:
            mark_text = "pending: " + step.reason
        lines.append("wave {0:>2}  {1} {2}  [{3}]".format(step.wave, step.action, step.identifier, mark_text))
        if step.action == RESTART_ACTION:
            lines.append("          (runs the restart task; the application reconnects to the {0} {1})".format(
                "original" if plan.mode == ROLLBACK else "new", step.identifier))
        elif step.action == PREPARE_ACTION:
            lines.append("          (runs the prepare tasks on {0} and its replicas, before any name moves)".format(
                step.identifier))
        else:
            lines.append("          " + _params_text(step.params))
    pending = len(plan.pending)
    lines.append("{0} of {1} steps pending.".format(pending, len(plan.steps)))
    return "\n".join(lines)
