# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The refresh of a graph of DB instances: every step from the live state, each marked pending or done.

AWS is the only state. For each node X of the target graph the planner looks at which of X, temp-X
and old-X exist, reads the phase from that (copy, swap, cleanup), and marks every step of the whole
clone pending or done, so a plan computed from any interrupted state finishes the job without
repeating work. A state it cannot explain is an error, raised before anything changes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .attributes import (backup_params, create_replica_params, modify_params, point_in_time_params, promote_params,
                         restore_params)
from .credentials import manages_password
from .graph import Graph, describe_instances, discover, name_forms, old_name, rejected_name, strip_prefix, temp_name
from .names import (CLEANUP, COMPLETE, COPY, CREATE, DELETE, MODIFY, PROMOTE, RESTART, RESTART_ACTION, RESTORE,
                    RESTORE_PIT, SNAPSHOT_ACTION, SWAP)
from .plans import (AUTO, CLONE, COPY_METHODS, POINT_IN_TIME, REPLICA, SNAPSHOT, CloneOptions, Instance, Node, Plan,
                    Planner, SnapshotsOf, StepList, TagsOf, check_clones, discard_or_refuse, fail, final_snapshot_name,
                    mask_params, new_clone_tags, pick_snapshot, requested_method, snapshot_reason, swap_phase,
                    validate_credentials, validate_names, validate_source, validate_unprotected)
from .steps import Create, Delete, FinalSnapshot, Modify, Promote, Restart, Restore, Step, SwapIn, SwapOut

RESTORE_ACTIONS = {SNAPSHOT: RESTORE, POINT_IN_TIME: RESTORE_PIT}
AURORA_HINT = "A refresh copies an Aurora cluster into an Aurora cluster, or a DB instance into a DB instance."


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


def nodes_by_name(nodes: List[Node]) -> Dict[str, Node]:
    return {n.name: n for n in nodes}


def plan_names(source: str, nodes: List[str]) -> List[str]:
    """Every instance name a plan reads: the source (a rollback has none), and every name form of each node."""
    return ([source] if source else []) + [name for node in nodes for name in name_forms(node)]


def _engine(inst: Optional[Instance]) -> Optional[str]:
    return (inst or {}).get("Engine")


def _vpc(inst: Optional[Instance]) -> Optional[str]:
    return ((inst or {}).get("DBSubnetGroup") or {}).get("VpcId")


def validate(graph: Graph, source: str, target: str, nodes: List[Node]) -> None:
    """Checks that must pass before any change; each error names the instance and what to do."""
    src = graph.get(source)
    validate_source(source, target, src, "instance", "graph", graph.region)
    if source in graph.cross_region_parents:
        fail("{0} is a cross-region read replica of {1}; mitosis.rds clones within one region."
             .format(source, graph.cross_region_parents[source]["identifier"]), source)
    validate_members(graph, source, src, target, nodes, graph.root(source))


def validate_members(graph: Graph, source: str, src: Instance, target: str, nodes: List[Node],
                     source_root: Optional[str]) -> None:
    """The target graph's checks, against the source's description `src` and the root of its replication graph in
    this account (None: the source is in another account)."""
    root = nodes[0]
    if root.current is None and root.temp is None and root.old is None:
        fail("Target instance {0} was not found in region {1}.".format(target, graph.region), target,
             "An instance identifier has no dot: to refresh the stack behind a Route 53 record, pass "
             "swap_method=dns and dns_zone." if "." in target else
             "Check the identifier and the region/credentials you use.")
    if src.get("DBClusterIdentifier"):
        fail("{0} is an instance of the Aurora cluster {1}, and the target is not an Aurora cluster."
             .format(source, src["DBClusterIdentifier"]), source, AURORA_HINT)
    source_graph = set(graph.tree(source_root)) if source_root else set()
    for node in nodes:
        if node.name in source_graph:
            fail("Target graph member {0} is part of the source's replication graph (rooted at {1})."
                 .format(node.name, source_root), node.name,
                 "The target must be an independent graph; cloning into it would replace production.")
    parent_of_target = graph.parent(target) if root.current and not root.old else None
    if parent_of_target:
        fail("Target {0} is a read replica of {1}; the target must be the root of its replication graph."
             .format(target, parent_of_target), target,
             "Use {0} as the target, or promote {1} first.".format(graph.root(target), target))
    validate_names(nodes)
    for node in nodes:
        inst = node.original
        if inst is None:
            continue
        if inst.get("DBClusterIdentifier"):
            fail("{0} is an instance of the Aurora cluster {1}, and the source is not an Aurora cluster."
                 .format(inst["DBInstanceIdentifier"], inst["DBClusterIdentifier"]), inst["DBInstanceIdentifier"],
                 AURORA_HINT)
        if _engine(inst) != _engine(src):
            fail("Engines differ: source {0} runs {1} but target member {2} runs {3}.".format(
                source, _engine(src), inst["DBInstanceIdentifier"], _engine(inst)), inst["DBInstanceIdentifier"],
                "Clone between instances of the same engine.")
        name = inst["DBInstanceIdentifier"]
        if name in graph.cross_region_children or name in graph.cross_region_parents:
            fail("Target member {0} has a cross-region replication link; mitosis.rds clones within one region."
                 .format(name), name, "Remove the cross-region replica first.")


def validate_retirable(nodes: List[Node], phase: str) -> None:
    """Deletion protection on an instance we will retire would block the cleanup: refuse up front."""
    for node in nodes:
        retired = node.old or (node.current if phase == COPY else None)
        if retired is not None and retired.get("DeletionProtection"):
            rname = retired["DBInstanceIdentifier"]
            fail("Target member {0} has deletion protection enabled, which would block the cleanup of {1}."
                 .format(rname, old_name(node.name)), rname,
                 "Disable it first: aws rds modify-db-instance --db-instance-identifier {0} "
                 "--no-deletion-protection --apply-immediately".format(rname))


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
        fail("copy_method=clone applies to Aurora clusters; {0} is a DB instance.".format(source), source,
             "Use copy_method=auto, replica, point_in_time or snapshot.")
    if requested == REPLICA:
        if managed:
            fail("copy_method=replica cannot work: {0}.".format(no_replica), source,
                 "Use copy_method=point_in_time (or auto, which picks it): a restore to the latest restorable time "
                 "is as fresh and needs no replica of {0}.".format(source))
        if other_vpc:
            fail("copy_method=replica cannot work: {0} is in {1} and the target in {2}, and a read replica lives "
                 "in its source's VPC.".format(source, src_vpc, dst_vpc), source,
                 "Use copy_method=point_in_time (or auto, which picks it).")
        return REPLICA, "copy_method=replica"
    if requested == POINT_IN_TIME or (requested == AUTO and (managed or other_vpc) and backups):
        if not backups:
            fail("A point-in-time restore of {0} needs its automated backups, which are off (backup retention 0)."
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


def build_copy(source: str, nodes: List[Node], tags_of: TagsOf, snapshot: Optional[Dict[str, Any]], phase: str,
               method: str, options: CloneOptions, discard: bool, built: StepList) -> StepList:
    """The steps of the copy into the clones (`built.clone_of` names each node's), each depending only on what it
    really needs, after the steps `built` holds already (names cleared for the copy); with `discard`, the deletes of
    an earlier run's clones first, leaves first. Tags are read only for the nodes whose clone is still to be
    created."""
    add, clone_of = built.add, built.clone_of
    # The step after which a node's clone can feed replicas (its backups are on).
    feeds = {}  # type: Dict[str, str]

    root = nodes[0]
    discards = [s.key for s in built.steps]
    by_name = nodes_by_name(nodes)
    for node in reversed(nodes) if discard else ():
        if node.temp is not None:
            discards.append(built.discard(node.name, node.temp, DELETE, {"SkipFinalSnapshot": True},
                                          ["discard-clone:" + c for c in node.children if by_name[c].temp]).key)
    # With masking rules the new primary has no automated backups until it is masked, nor replicas.
    masking = mask_params(root, options)
    for node in nodes:
        desc = node.original
        temp = clone_of(node.name)
        tags = new_clone_tags(node, node is root, tags_of, phase, discard, options)
        if node is root and method in RESTORE_ACTIONS:
            if method == SNAPSHOT:
                params = restore_params(desc, tags, (snapshot or {}).get("DBSnapshotIdentifier", ""))
            else:
                params = point_in_time_params(desc, tags, source)
            if masking:
                params["BackupRetentionPeriod"] = 0
            restored = add(Restore, "restore:" + node.name, COPY, RESTORE_ACTIONS[method], temp, params, node.name,
                           discards)
            ready = restored
            params = modify_params(desc, enable_backups=not masking, restored=True, promoted=bool(masking))
            if len(params) > 1:
                ready = add(Modify, "modify:" + node.name, COPY, MODIFY, temp, params, node.name, [restored.key])
        elif node is root:
            created = add(Create, "create:" + node.name, COPY, CREATE, temp,
                          create_replica_params(desc, tags, source), node.name, discards)
            # Backups come with the promotion, so replicas can be created while the rest is modified.
            ready = add(Promote, "promote:" + node.name, COPY, PROMOTE, temp, promote_params(desc, not masking),
                        node.name, [created.key])
            # The backup window comes with the promotion, or with the backups after the masking.
            params = modify_params(desc, promoted=True)
            if len(params) > 1:  # more than ApplyImmediately: something to change
                add(Modify, "modify:" + node.name, COPY, MODIFY, temp, params, node.name, [ready.key])
        else:
            ready = add(Create, "create:" + node.name, COPY, CREATE, temp,
                        create_replica_params(desc, tags, clone_of(node.parent)), node.name, [feeds[node.parent]])
            params = modify_params(desc, enable_backups=bool(node.children))
            if len(params) > 1:
                ready = add(Modify, "modify:" + node.name, COPY, MODIFY, temp, params, node.name, [ready.key])
        if node is root and masking:
            ready = built.mask(root.name, desc, [s.key for s in built.steps if s.node == root.name],
                               backup_params(desc), masking, options)
        feeds[node.name] = ready.key

    waits = [built.mask_check(root.name, masking, [n.name for n in nodes[1:]]).key] if masking else []
    # RDS makes no replica of an instance whose password it manages: the managed secret waits for every replica
    # of the clone (the swap does anyway).
    built.credentials(root.name, root.original, [s.key for s in built.steps if s.node == root.name],
                      [s.key for s in built.steps if s.creates and s.node != root.name] + waits, options)
    built.prepare(root.name, options)
    return built


def build_steps(source: str, nodes: List[Node], tags_of: TagsOf, snapshot: Optional[Dict[str, Any]],
                phase: str = COPY, method: str = REPLICA, options: Optional[CloneOptions] = None,
                discard: bool = False, built: Optional[StepList] = None) -> List[Step]:
    """Every step of a whole clone: the copy into temp-* clones (after the steps `built` holds already), the swap of
    the names, the restart and the cleanup of the old-* instances."""
    options = options or CloneOptions()
    built = build_copy(source, nodes, tags_of, snapshot, phase, method, options, discard, built or StepList())
    add, copy_keys, root = built.add, built.copy_keys, nodes[0]

    # The swap starts only once the whole copy is in place. Each name then moves on its own: X moves
    # aside, and temp-X takes the name as soon as it is free (the executor's rule for swap-in).
    for node in reversed(nodes):
        add(SwapOut, "swap-out:" + node.name, SWAP, MODIFY, node.name,
            {"ApplyImmediately": True, "NewDBInstanceIdentifier": old_name(node.name)}, node.name, list(copy_keys))
    for node in reversed(nodes):
        add(SwapIn, "swap-in:" + node.name, SWAP, MODIFY, temp_name(node.name),
            {"ApplyImmediately": True, "NewDBInstanceIdentifier": node.name}, node.name, ["swap-out:" + node.name])
    restart = add(Restart, "restart:" + root.name, RESTART, RESTART_ACTION, root.name, {}, root.name,
                  ["swap-in:" + n.name for n in nodes])
    # The old primary's final snapshot (replicas have none) is taken before its delete, by a step of its own, so
    # that a resumed run finds it and deletes without a second one.
    snapshot_keys = []  # type: List[str]
    if options.final_snapshot:
        name = final_snapshot_name(root.name, root.old or root.current)
        snapshot_keys.append(add(FinalSnapshot, "final-snapshot:" + root.name, CLEANUP, SNAPSHOT_ACTION,
                                 old_name(root.name), {"DBSnapshotIdentifier": name}, root.name, [restart.key]).key)
    # Leaves first: deleting a primary before its replicas would promote them.
    for node in reversed(nodes):
        add(Delete, "delete:" + node.name, CLEANUP, DELETE, old_name(node.name), {"SkipFinalSnapshot": True},
            node.name, [restart.key] + ["delete:" + c for c in node.children]
            + (snapshot_keys if node is root else []))
    built.untag(root.name, [root.temp, root.current, root.old], restart)
    return built.steps


def classify(graph: Graph, source: str, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
    """The phase read from which of X, temp-X and old-X exist; unexplained leftovers are errors."""
    rolling_back = [n.name for n in nodes if n.rejected is not None]
    if rolling_back:
        fail("A rollback of {0} is in progress: {1} exists.".format(nodes[0].name, rejected_name(rolling_back[0])),
             rejected_name(rolling_back[0]),
             "Finish it first (ansible-playbook mitosis.rds.rollback -e target={0}, the same command that started "
             "it), then run the refresh again.".format(nodes[0].name))
    if any(n.old for n in nodes):
        return swap_phase(nodes)
    check_clones(nodes, "is not part of the target graph", "this clone")
    by_name = nodes_by_name(nodes)
    for node in nodes:
        temp = temp_name(node.name)
        if node.temp is None:
            continue
        if node.parent and by_name[node.parent].temp is None:
            fail("{0} exists without {1}: it does not fit this clone.".format(temp, temp_name(node.parent)),
                 temp, "Delete {0} and run again.".format(temp))
        expected = [source, None] if node.parent is None else [temp_name(node.parent)]
        actual = graph.parent(temp)
        if actual not in expected:
            fail("{0} replicates from {1}, which does not fit a clone of {2} from {3}.".format(
                temp, actual or "nothing", node.name, expected[0]), temp,
                "Delete {0} (a leftover of another run) and run again.".format(temp))
    if previous_resource_ids is not None and all(n.temp is None for n in nodes) and all(
            n.current.get("DbiResourceId") not in previous_resource_ids for n in nodes):
        return COMPLETE
    return COPY


class InstancePlanner(Planner):
    """The refresh of the replication graph rooted at `target` (a DB instance) with the data of `source`."""

    def __init__(self, source: str, target: str, options: Optional[CloneOptions] = None,
                 tags_of: Optional[TagsOf] = None, snapshots_of: Optional[SnapshotsOf] = None) -> None:
        super().__init__(source, target, options)
        self.tags_of = tags_of
        self.snapshots_of = snapshots_of

    def read_plan(self, rds: Any, plan: Plan) -> Graph:
        return Graph(describe_instances(rds, plan_names(plan.source, plan.node_names())), rds.meta.region_name)

    def nodes(self, graph: Graph) -> List[Node]:
        return discover_nodes(graph, self.target)

    def check(self, graph: Graph, nodes: List[Node]) -> None:
        if not self.source or not self.target:
            fail("Both source and target are required.")
        if self.options.copy_method not in COPY_METHODS:
            fail("copy_method must be one of {0}, not {1}.".format(", ".join(COPY_METHODS), self.options.copy_method))
        validate(graph, self.source, self.target, nodes)
        validate_unprotected(nodes, self.options.protected_tag)

    def classify(self, graph: Graph, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
        return classify(graph, self.source, nodes, previous_resource_ids)

    def check_phase(self, nodes: List[Node], phase: str) -> None:
        validate_retirable(nodes, phase)

    def build(self, graph: Graph, nodes: List[Node], phase: str) -> Plan:
        options, source, root = self.options, self.source, nodes[0]
        mode, why = choose_method(graph, source, root.original, options)
        discard, notes = discard_or_refuse(phase, self.target, [n.temp for n in nodes if n.temp is not None], options)
        if phase == COPY and not discard and root.temp is not None and graph.parent(root.temp[
                "DBInstanceIdentifier"]) == source:
            # An earlier run's read replica: the copy goes on as one (restoring over it is impossible, swapping it
            # unpromoted would put production's replica in the target's place).
            mode, why = REPLICA, "{0} is already a read replica of {1}, made by an earlier run".format(
                temp_name(root.name), source)
        warnings = validate_credentials(nodes, source, options) + notes
        snapshot = None
        if mode == SNAPSHOT:
            if phase == COPY and (root.temp is None or discard):
                snapshot = pick_snapshot(source, options, why, self.snapshots_of)
            else:
                snapshot = {"DBSnapshotIdentifier": "(already restored)"}
        steps = build_steps(source, nodes, self.tags_of, snapshot, phase, mode, options, discard)
        return Plan(source, self.target, steps, nodes, mode, phase, snapshot, why, warnings,
                    discard=options.discard_clone)

    def handed(self, steps: List[Dict[str, Any]]) -> Plan:
        built = [Step.from_dict(s) for s in steps]
        if next((s.node for s in built if s.in_node_order), None) != self.target:
            fail("The plan given is not a plan for the graph of {0}.".format(self.target), self.target,
                 "Pass the `plan` returned by mitosis.rds.rds_mitosis_plan for the same source and target.")
        plan = Plan(self.source, self.target, built, [], copy_method_of(built), "")
        plan.planner = self
        return plan


def copy_method_of(steps: List[Step], default: str = REPLICA) -> str:
    """The copy method of a plan handed back: the restore it makes, else `default`."""
    methods = {action: method for method, action in RESTORE_ACTIONS.items()}
    return next((methods[s.action] for s in steps if s.action in methods), default)


def plan_clone(graph: Graph, source: str, target: str, tags_of: TagsOf, snapshots_of: SnapshotsOf,
               options: Optional[CloneOptions] = None, previous_resource_ids: Optional[List[str]] = None) -> Plan:
    """The whole plan for cloning `source` into the graph rooted at `target`, from the live `graph`.

    `snapshots_of(source, snapshot_identifier)` lists the snapshots of the source (or the one named)."""
    return InstancePlanner(source, target, options, tags_of, snapshots_of).plan(graph, previous_resource_ids)


def read_graph(rds: Any, source: str, target: str) -> Graph:
    """The instances a new plan reads (the source's graph only up to its root)."""
    return discover(rds, source, target, rds.meta.region_name)
