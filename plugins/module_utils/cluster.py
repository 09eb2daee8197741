# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Aurora clusters: the clone plan of a cluster and its instances.

An Aurora stack is a cluster C (its writer and reader endpoints are what applications use) with instances
X1..Xn. The clone is temp-C, a copy-on-write clone of the source cluster (RestoreDBClusterToPointInTime) or a
restore of its newest cluster snapshot, carrying C's attributes, with one CreateDBInstance temp-X per
instance of C (C's writer first, so it is the writer again). The swap renames C and each X aside to old-*
and the clones into their names (ModifyDBCluster NewDBClusterIdentifier, ModifyDBInstance), so the
cluster, reader and instance endpoints keep their names; the restart follows, then old-X and old-C are
deleted. Phases, marking and resume work as for instances (planner.py): AWS is the only state.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from .attributes import cluster_modify_params, cluster_restore_params, member_params
from .aws import MitosisError, paginate
from .graph import (OLD, Graph, describe_clusters, describe_instances, name_forms, node_facts, old_name, ref,
                    rejected_name, resource_id_of, strip_prefix, temp_name)
from .names import (CLEANUP, COMPLETE, COPY, CREATE_MEMBER, DELETE, DELETE_CLUSTER, MODIFY, MODIFY_CLUSTER, RESTART,
                    RESTART_ACTION, RESTORE_CLUSTER_PIT, RESTORE_CLUSTER_SNAPSHOT, SWAP)
from .plans import (CLONE, COPY_METHODS, POINT_IN_TIME, REPLICA, SNAPSHOT, CloneOptions, Node, Plan, Planner,
                    SnapshotsOf, StepList, TagsOf, check_clones, discard_or_refuse, fail, final_snapshot_name,
                    mask_params, new_clone_tags, pick_snapshot, refresh, requested_method, snapshot_reason,
                    swap_phase, validate_credentials, validate_names, validate_source, validate_unprotected)
from .steps import Create, Delete, Modify, Restart, Restore, Step, SwapIn, SwapOut
CLUSTER_ACTIONS = {CLONE: RESTORE_CLUSTER_PIT, POINT_IN_TIME: RESTORE_CLUSTER_PIT, SNAPSHOT: RESTORE_CLUSTER_SNAPSHOT}
# RestoreDBClusterToPointInTime's RestoreType per copy method.
RESTORE_TYPES = {CLONE: "copy-on-write", POINT_IN_TIME: "full-copy"}
Description = Dict[str, Any]


class ClusterGraph(Graph):
    """The instances (by name) and the clusters (by ref(name, cluster=True)) a cluster clone reads."""

    def __init__(self, instances: Iterable[Description], clusters: Iterable[Description],
                 region: Optional[str] = None) -> None:
        super().__init__(instances, region)
        self.clusters = {c["DBClusterIdentifier"]: c for c in clusters}
        # The executor's view of live state holds both, a cluster under its ref.
        self.instances.update((ref(name, True), desc) for name, desc in self.clusters.items())

    def cluster(self, name: str) -> Optional[Description]:
        return self.clusters.get(name)


class ClusterNode(Node):
    """The cluster C and the clusters that hold its names (temp-C, old-C, rej-C)."""

    def __init__(self, name: str, graph: ClusterGraph) -> None:  # pylint: disable=super-init-not-called
        self.name = name
        self.parent = None
        self.children = []
        self.current = graph.cluster(name)
        self.temp = graph.cluster(temp_name(name))
        self.old = graph.cluster(old_name(name))
        self.rejected = graph.cluster(rejected_name(name))


def member_names(desc: Optional[Description]) -> List[str]:
    return [m["DBInstanceIdentifier"] for m in (desc or {}).get("DBClusterMembers") or []]


def _writer(desc: Optional[Description]) -> Optional[str]:
    for member in (desc or {}).get("DBClusterMembers") or []:
        if member.get("IsClusterWriter"):
            return strip_prefix(member["DBInstanceIdentifier"])
    return None


def target_members(cluster: ClusterNode, graph: ClusterGraph) -> List[str]:
    """The target cluster's instances by their names, writer first, then readers by promotion tier and name.

    Read from every cluster holding one of the target's names, so that the list stays the same through the
    whole refresh (old-C empties during the cleanup, the clone gains its members during the copy)."""
    names: Set[str] = set()
    for desc in (cluster.old, cluster.current, cluster.temp):
        names.update(strip_prefix(name) for name in member_names(desc))
    # C is the target until the swap and the clone after it: both have the same writer (the clone's was created
    # first). old-C's may move while its instances are deleted.
    writer = _writer(cluster.current) or _writer(cluster.old) or _writer(cluster.temp)

    def order(name: str) -> Tuple[int, int, str]:
        inst = graph.get(name) or graph.get(old_name(name)) or graph.get(temp_name(name)) or {}
        return (0 if name == writer else 1, int(inst.get("PromotionTier") or 0), name)

    return sorted(names, key=order)


def _major(desc: Description) -> str:
    """Major version: 8.0 of 8.0.mysql_aurora.3.05.2 (and 5.7 of 5.7.mysql_aurora.2.11.2), 15 of 15.4."""
    version = str(desc.get("EngineVersion") or "")
    parts = version.split(".")
    if str(desc.get("Engine", "")).startswith("aurora-mysql") or desc.get("Engine") == "aurora":
        return ".".join(parts[:2])
    return parts[0]


def _subnet_group(graph: ClusterGraph, *holders: Optional[Description]) -> Description:
    """The DB subnet group (VPC, subnets and their zones) of a cluster, as the instances of the first of `holders`
    that has any describe it (the target's: any cluster holding its name, old-C's instances going first)."""
    for holder in holders:
        for name in member_names(holder):
            group = (graph.get(name) or {}).get("DBSubnetGroup")
            if group:
                return group
    return {}


def _zones(group: Description) -> Set[str]:
    return {(s.get("SubnetAvailabilityZone") or {}).get("Name") for s in group.get("Subnets") or []} - {None}


def choose_cluster_method(graph: ClusterGraph, source: Description, target: ClusterNode,
                          options: CloneOptions) -> Tuple[str, str]:
    """(copy method, why) for a cluster: a copy-on-write clone when it can work, else an error or the newest
    cluster snapshot."""
    src_name = source["DBClusterIdentifier"]
    requested = requested_method(options, src_name)
    if requested == REPLICA:
        fail("copy_method=replica applies to DB instances; an Aurora cluster is copied by cloning.", src_name,
             "Use copy_method=clone (or auto, which picks it), point_in_time or snapshot.")
    if requested == SNAPSHOT:
        return SNAPSHOT, snapshot_reason(options)
    if requested == POINT_IN_TIME:
        return POINT_IN_TIME, "copy_method=point_in_time (a full copy at the latest restorable time)"
    # The clone lives in the target's subnet group: once old-C's instances are deleted, C's (the clone's) tell it.
    src_group = _subnet_group(graph, source)
    dst_group = _subnet_group(graph, target.old, target.current, target.temp)
    missing = sorted(_zones(dst_group) - _zones(src_group)) if src_group.get("VpcId") != dst_group.get("VpcId") \
        else []
    cannot = None
    if not member_names(source):
        cannot = "{0} has no instances, and Aurora clones only a cluster that has one".format(src_name)
    elif missing and _zones(src_group):
        # Cross-VPC cloning needs the clone's subnets in zones where the source has subnets.
        cannot = "{0} is in {1} and the target in {2}, whose subnets in {3} have no counterpart in {0}'s " \
                 "zones".format(src_name, src_group.get("VpcId"), dst_group.get("VpcId"), ", ".join(missing))
    if cannot and requested == CLONE:
        fail("copy_method=clone cannot work: {0}.".format(cannot), src_name,
             "Use copy_method=snapshot (or auto, which falls back to the newest cluster snapshot).")
    if cannot:
        return SNAPSHOT, cannot
    if requested == CLONE:
        return CLONE, "copy_method=clone (copy-on-write, minutes whatever the size)"
    return CLONE, "an Aurora clone (copy-on-write) of {0} is ready in minutes whatever its size".format(src_name)


def validate_snapshot(snapshot: Description, target: Description) -> None:
    """A cluster snapshot (named, or shared) restores only into the target's engine and major version."""
    name = snapshot.get("DBClusterSnapshotIdentifier")
    if snapshot.get("Engine") and snapshot["Engine"] != target.get("Engine"):
        fail("Engines differ: cluster snapshot {0} is of {1} but target {2} runs {3}.".format(
            name, snapshot["Engine"], target.get("DBClusterIdentifier"), target.get("Engine")), name,
            "Name a snapshot of a cluster of the same engine.")
    if snapshot.get("EngineVersion") and _major(dict(snapshot, Engine=target.get("Engine"))) != _major(target):
        fail("Major versions differ: cluster snapshot {0} is of {1} {2} but target {3} runs {4}.".format(
            name, target.get("Engine"), snapshot["EngineVersion"], target.get("DBClusterIdentifier"),
            target.get("EngineVersion")), name, "Name a snapshot of the target's major version.")


def _aurora(desc: Description) -> bool:
    return str(desc.get("Engine", "")).startswith("aurora")


def validate_cluster(graph: ClusterGraph, source: str, target: str, cluster: ClusterNode,
                     members: List[Node], src: Optional[Description] = None) -> Description:
    """The checks that must pass before any change; returns the source cluster (`src`: read in another account)."""
    if src is None:
        src = graph.cluster(source)
        validate_source(source, target, src, "cluster", "stack", graph.region)
    original = cluster.original
    if original is None:
        fail("Target cluster {0} was not found in region {1}.".format(target, graph.region), target,
             "Check the identifier and the region/credentials you use.")
    for role, desc in (("Source", src), ("Target", original)):
        name = desc["DBClusterIdentifier"]
        if not _aurora(desc):
            fail("{0} {1} is a {2} cluster, not an Aurora cluster (a Multi-AZ DB cluster, or another service's); "
                 "mitosis.rds refreshes Aurora clusters and DB instances.".format(role, name, desc.get("Engine")),
                 name)
        if desc.get("EngineMode") == "serverless":
            fail("{0} cluster {1} is Aurora Serverless v1, which has no instances to recreate and no clone into a "
                 "provisioned cluster; it is not supported.".format(role, name), name,
                 "Upgrade it to Aurora Serverless v2 or provisioned instances (AWS retired Serverless v1), then "
                 "refresh it.")
    if src.get("Engine") != original.get("Engine"):
        fail("Engines differ: source {0} runs {1} but target {2} runs {3}.".format(
            source, src.get("Engine"), target, original.get("Engine")), target,
            "Refresh a cluster from a cluster of the same engine.")
    if _major(src) != _major(original):
        fail("Major versions differ: source {0} runs {1} {2} but target {3} runs {4}; a clone keeps its source's "
             "version.".format(source, src.get("Engine"), src.get("EngineVersion"), target,
                               original.get("EngineVersion")), target,
             "Upgrade the target (or refresh from a source of the same major version).")
    if cluster.rejected is not None:
        fail("{0} exists: a rollback is not something mitosis.rds does for Aurora clusters, and this state does not "
             "fit a refresh.".format(rejected_name(target)), rejected_name(target),
             "Inspect {0} and delete or rename it by hand, then run again.".format(rejected_name(target)))
    if original.get("GlobalClusterIdentifier"):
        fail("Target cluster {0} is a member of the global database {1}; replacing it would break the global "
             "database.".format(target, original["GlobalClusterIdentifier"]), target,
             "Remove it from the global database first (aws rds remove-from-global-cluster), or refresh another "
             "target.")
    if original.get("ReplicationSourceIdentifier"):
        fail("Target cluster {0} is a read replica of {1}.".format(target, original["ReplicationSourceIdentifier"]),
             target, "Promote it first (aws rds promote-read-replica-db-cluster), or refresh another target.")
    if cluster.old is None and cluster.current is not None:
        # An instance of C named like a clone or a retired instance cannot be told from one (target_members strips
        # the prefix): refuse it as validate_names refuses a cluster named so. Until C moves aside, only its own
        # old-X (moved aside by the swap, once temp-C exists) may carry a prefix.
        ours = OLD if cluster.temp is not None else None
        validate_names([Node(name, None, graph) for name in member_names(cluster.current)
                        if not (ours and name.startswith(ours))])
    source_members = set(member_names(src)) if graph.cluster(source) is src else set()
    for node in members:
        if node.name in source_members:
            fail("Target instance {0} is a member of the source cluster {1}.".format(node.name, source), node.name,
                 "The target must be a cluster of its own; cloning into it would replace production.")
    validate_names([cluster] + members)
    return src


def cluster_warnings(cluster: ClusterNode) -> List[str]:
    """What the clone cannot carry over, for the flight plan."""
    endpoints = (cluster.original or {}).get("CustomEndpoints") or []
    if not endpoints:
        return []
    return ["{0} has custom endpoints ({1}): they belong to the cluster that moves aside to {2} and go with it at the "
            "cleanup. Create them again on the refreshed {0} (aws rds create-db-cluster-endpoint), or point the "
            "application at the cluster's reader and writer endpoints.".format(
                cluster.name, ", ".join(str(e).split(".", maxsplit=1)[0] for e in endpoints), old_name(cluster.name))]


def validate_cluster_retirable(cluster: ClusterNode, phase: str) -> None:
    """Deletion protection on the cluster we will retire would block the cleanup: refuse up front."""
    retired = cluster.old or (cluster.current if phase == COPY else None)
    if retired is not None and retired.get("DeletionProtection"):
        name = retired["DBClusterIdentifier"]
        fail("Target cluster {0} has deletion protection enabled, which would block the cleanup of {1}.".format(
            name, old_name(cluster.name)), name,
            "Disable it first: aws rds modify-db-cluster --db-cluster-identifier {0} --no-deletion-protection "
            "--apply-immediately".format(name))


def classify_cluster(graph: ClusterGraph, source: str, cluster: ClusterNode, members: List[Node],
                     previous_resource_ids: Optional[List[str]]) -> str:
    """The phase read from which of C, temp-C, old-C (and X, temp-X, old-X) exist; leftovers are errors."""
    nodes = [cluster] + members
    if any(n.old for n in nodes):
        return swap_phase(nodes)
    temp_c = temp_name(cluster.name)
    if cluster.current is None:
        fail("{0} exists but {1} does not: it does not fit this refresh.".format(temp_c, cluster.name), temp_c,
             "Delete or rename the leftover cluster {0} and run again.".format(temp_c))
    check_clones(members, "is not an instance of " + cluster.name, "this refresh")
    for node in members:
        temp = temp_name(node.name)
        if node.temp is not None and node.temp.get("DBClusterIdentifier") != temp_c:
            fail("{0} belongs to {1}, not to {2}: it does not fit this refresh.".format(
                temp, node.temp.get("DBClusterIdentifier") or "no cluster", temp_c), temp,
                "Delete the leftover instance {0} and run again.".format(temp))
    src = graph.cluster(source) or {}
    if cluster.temp is not None and cluster.temp.get("Engine") != cluster.current.get("Engine"):
        fail("{0} runs {1}, not {2}'s engine: it is not a clone for {2}.".format(
            temp_c, cluster.temp.get("Engine"), cluster.name), temp_c,
            "Delete the leftover cluster {0} and run again.".format(temp_c))
    # An Aurora clone shares its source's clone group: a temp-C cloned from another cluster is not this refresh's.
    clone_group = (cluster.temp or {}).get("CloneGroupId")
    if clone_group and src.get("CloneGroupId") and clone_group != src["CloneGroupId"]:
        fail("{0} is a clone of another cluster than {1} (clone group {2}, {1}'s is {3}): it is not this refresh's "
             "copy.".format(temp_c, source, clone_group, src["CloneGroupId"]), temp_c,
             "Delete the leftover cluster {0} (and its instances) and run again.".format(temp_c))
    if previous_resource_ids is not None and cluster.temp is None and all(n.temp is None for n in members) and \
            resource_id_of(cluster.current) not in previous_resource_ids:
        return COMPLETE
    return COPY


class ClusterPlan(Plan):
    """A plan for an Aurora cluster: `target` is the cluster, the other nodes its instances."""

    cluster_node: Optional[ClusterNode] = None
    root_is_cluster = True

    def member_names(self) -> List[str]:
        names = []  # type: List[str]
        for step in self.steps:
            if not step.cluster and step.in_node_order and step.node not in names:
                names.append(step.node)
        return names

    def subject(self) -> str:
        count = len(self.nodes)
        return "the Aurora cluster {0} ({1} instance{2})".format(self.target, count, "" if count == 1 else "s")

    def node_names(self) -> List[str]:
        """The cluster first, then its instances (writer first)."""
        return [self.target] + self.member_names()

    def read_names(self) -> Tuple[List[str], List[str]]:
        """(instance names, cluster names) a refresh of this plan describes."""
        clusters = ([self.source] if self.source else []) + name_forms(self.target)
        return [f for name in self.member_names() for f in name_forms(name)], clusters

    def retiring_resource_ids(self) -> List[str]:
        """DbClusterResourceId and DbiResourceIds this refresh retires (C and X before the swap, old-* after)."""
        ids = []
        for node in ([self.cluster_node] if self.cluster_node else []) + list(self.nodes):
            inst = node.old or (node.current if node.temp is not None or self.phase == COPY else None)
            if resource_id_of(inst):
                ids.append(resource_id_of(inst))
        return ids

    @classmethod
    def from_dicts(cls, source: str, target: str, steps: List[Dict[str, Any]]) -> "ClusterPlan":
        """A plan returned earlier; its planner marks it again."""
        return ClusterPlanner(source, target).handed(steps)


def build_cluster_steps(source: str, cluster: ClusterNode, members: List[Node], tags_of: TagsOf,
                        snapshot: Optional[Description], phase: str, method: str, options: CloneOptions,
                        discard: bool = False, built: Optional[StepList] = None) -> List[Step]:
    """Every step of a cluster refresh (after the steps `built` holds already), each depending only on what it
    really needs; with `discard`, the deletes of an earlier run's clones first (its instances, then its cluster)."""
    built = built or StepList()
    add = built.add
    name, temp_c = cluster.name, temp_name(cluster.name)
    desc = cluster.original or {}
    discards = [s.key for s in built.steps]
    discards += [built.discard(n.name, n.temp, DELETE, {}, []).key for n in members if discard and n.temp is not None]
    if discard and cluster.temp is not None:
        discards = [built.discard(name, cluster.temp, DELETE_CLUSTER, {"SkipFinalSnapshot": True}, discards,
                                  cluster=True).key]
    params = cluster_restore_params(desc, new_clone_tags(cluster, True, tags_of, phase, discard, options))
    if method == SNAPSHOT:
        params.update(SnapshotIdentifier=(snapshot or {}).get("DBClusterSnapshotIdentifier", ""),
                      Engine=desc.get("Engine"), EngineVersion=(snapshot or {}).get("EngineVersion")
                      or desc.get("EngineVersion"))
    else:
        params.update(SourceDBClusterIdentifier=source, RestoreType=RESTORE_TYPES[method],
                      UseLatestRestorableTime=True)
    restored = add(Restore, "restore-cluster:" + name, COPY, CLUSTER_ACTIONS[method], temp_c, params, name,
                   discards, cluster=True)
    cluster_keys = [restored.key]
    modify = cluster_modify_params(desc)
    if len(modify) > 1:  # more than ApplyImmediately
        cluster_keys.append(add(Modify, "modify-cluster:" + name, COPY, MODIFY_CLUSTER, temp_c, modify, name,
                                [restored.key], cluster=True).key)
    # The first instance created becomes the writer: the target's writer goes first, the readers once it is up
    # (with masking rules, once the cluster is masked through it).
    masking = mask_params(cluster, options)
    first = None  # type: Optional[str]
    for node in members:
        inst = node.original or {}
        tags = new_clone_tags(node, False, tags_of, phase, discard, options)
        step = add(Create, "create:" + node.name, COPY, CREATE_MEMBER, temp_name(node.name),
                   member_params(inst, tags, temp_c, desc.get("Engine", "")), node.name,
                   [first] if first else [restored.key])
        if first is None and masking:
            step = built.mask(name, desc, cluster_keys + [step.key], None, masking, options, MODIFY_CLUSTER,
                              cluster=True)
        first = first or step.key
    waits = [built.mask_check(name, masking, [n.name for n in members], cluster=True).key] if masking else []
    built.credentials(name, desc, cluster_keys, waits, options, action=MODIFY_CLUSTER, cluster=True)
    built.prepare(name, options, cluster=True)
    copy_keys = list(built.copy_keys)

    # Every name moves on its own once the whole copy is in place: C and each X aside, the clones in as soon as
    # their names are free.
    add(SwapOut, "swap-out-cluster:" + name, SWAP, MODIFY_CLUSTER, name,
        {"ApplyImmediately": True, "NewDBClusterIdentifier": old_name(name)}, name, copy_keys, cluster=True)
    for node in members:
        add(SwapOut, "swap-out:" + node.name, SWAP, MODIFY, node.name,
            {"ApplyImmediately": True, "NewDBInstanceIdentifier": old_name(node.name)}, node.name, copy_keys)
    swap_ins = [add(SwapIn, "swap-in-cluster:" + name, SWAP, MODIFY_CLUSTER, temp_c,
                    {"ApplyImmediately": True, "NewDBClusterIdentifier": name}, name, ["swap-out-cluster:" + name],
                    cluster=True).key]
    for node in members:
        swap_ins.append(add(SwapIn, "swap-in:" + node.name, SWAP, MODIFY, temp_name(node.name),
                            {"ApplyImmediately": True, "NewDBInstanceIdentifier": node.name}, node.name,
                            ["swap-out:" + node.name]).key)
    restart = add(Restart, "restart:" + name, RESTART, RESTART_ACTION, name, {}, name, swap_ins, cluster=True)
    # An Aurora instance has no snapshot of its own: the cluster's final snapshot is taken by its delete.
    for node in members:
        add(Delete, "delete:" + node.name, CLEANUP, DELETE, old_name(node.name), {}, node.name, [restart.key])
    final = {"SkipFinalSnapshot": True}  # type: Dict[str, Any]
    if options.final_snapshot:
        final = {"SkipFinalSnapshot": False,
                 "FinalDBSnapshotIdentifier": final_snapshot_name(name, cluster.old or cluster.current)}
    add(Delete, "delete-cluster:" + name, CLEANUP, DELETE_CLUSTER, old_name(name), final, name,
        [restart.key] + ["delete:" + n.name for n in members], cluster=True)
    built.untag(name, [cluster.temp, cluster.current, cluster.old], restart, cluster=True)
    return built.steps


def cluster_nodes(graph: "ClusterGraph", target: str) -> List[Node]:
    """The target cluster's node, then its instances', writer first."""
    cluster = ClusterNode(target, graph)
    return [cluster] + [Node(name, None, graph) for name in target_members(cluster, graph)]


class ClusterPlanner(Planner):
    """The refresh of the Aurora cluster `target` (its first node; its instances after it) from the cluster
    `source`."""

    nodes_are = "instances"
    in_order = False

    def __init__(self, source: str, target: str, options: Optional[CloneOptions] = None,
                 tags_of: Optional[TagsOf] = None, snapshots_of: Optional[SnapshotsOf] = None) -> None:
        super().__init__(source, target, options)
        self.tags_of = tags_of
        self.snapshots_of = snapshots_of
        self.source_cluster = {}  # type: Description

    def read_plan(self, rds: Any, plan: Plan) -> Graph:
        return read_plan_graph(rds, plan, rds.meta.region_name)

    def nodes(self, graph: Graph) -> List[Node]:
        return cluster_nodes(graph, self.target)

    def check(self, graph: Graph, nodes: List[Node]) -> None:
        options, target = self.options, self.target
        if options.copy_method not in COPY_METHODS:
            fail("copy_method must be one of {0}, not {1}.".format(", ".join(COPY_METHODS), options.copy_method))
        if options.rollback:
            fail("mitosis.rds rolls back refreshes of DB instances; {0} is an Aurora cluster.".format(target), target,
                 "To go back, refresh {0} again (from a snapshot of the old data: copy_method=snapshot with "
                 "snapshot_identifier) or restore old-* by hand before the cleanup.".format(target))
        self.source_cluster = validate_cluster(graph, self.source, target, nodes[0], nodes[1:])
        validate_unprotected(nodes, options.protected_tag)

    def classify(self, graph: Graph, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
        return classify_cluster(graph, self.source, nodes[0], nodes[1:], previous_resource_ids)

    def check_phase(self, nodes: List[Node], phase: str) -> None:
        validate_cluster_retirable(nodes[0], phase)

    def build(self, graph: Graph, nodes: List[Node], phase: str) -> Plan:
        options, source, target = self.options, self.source, self.target
        cluster, members = nodes[0], nodes[1:]
        mode, why = choose_cluster_method(graph, self.source_cluster, cluster, options)
        discard, notes = discard_or_refuse(phase, target, [n.temp for n in nodes if n.temp is not None], options)
        warnings = validate_credentials([cluster], source, options) + cluster_warnings(cluster) + notes
        if options.mask_rules:
            warnings.append(
                "Aurora keeps continuous backups of {0} from its creation, whatever the run does (its retention is "
                "at least one day): until that window has passed a point-in-time restore of {1} to a time before "
                "the masking returns unmasked data. Instances of an Aurora clone share its storage: the readers are "
                "created once the cluster is masked, and the masking is checked through each.".format(
                    temp_name(target), target))
        snapshot = None
        if mode == SNAPSHOT:
            if phase == COPY and (cluster.temp is None or discard):
                snapshot = pick_snapshot(source, options, why, self.snapshots_of, cluster=True)
                validate_snapshot(snapshot, cluster.original or {})
            else:
                snapshot = {"DBClusterSnapshotIdentifier": "(already restored)"}
        steps = build_cluster_steps(source, cluster, members, self.tags_of, snapshot, phase, mode, options, discard)
        return ClusterPlan(source, target, steps, members, mode, phase, snapshot, why, warnings,
                           discard=options.discard_clone)

    def handed(self, steps: List[Dict[str, Any]]) -> Plan:
        built = [Step.from_dict(s) for s in steps]
        restore = next((s for s in built if s.creates and s.cluster), None)
        # The caller may name the clusters by one of their instances, as rds_mitosis_plan allows.
        if restore is None or self.target not in [s.node for s in built]:
            fail("The plan given is not a plan for the cluster {0}.".format(self.target), self.target,
                 "Pass the `plan` returned by mitosis.rds.rds_mitosis_plan for the same source and target.")
        self.target = restore.node
        self.source = restore.params.get("SourceDBClusterIdentifier") or self.source
        mode = CLONE
        if restore.action == RESTORE_CLUSTER_SNAPSHOT:
            mode = SNAPSHOT
        elif restore.params.get("RestoreType") == RESTORE_TYPES[POINT_IN_TIME]:
            mode = POINT_IN_TIME
        plan = ClusterPlan(self.source, self.target, built, [], mode, "")
        plan.planner = self
        return plan

    def compared(self, plan: Plan, nodes: List[Node]) -> Tuple[List[str], List[str]]:
        return [n.name for n in nodes[1:]], plan.member_names()

    def keep(self, plan: Plan, nodes: List[Node], phase: str) -> None:
        plan.nodes, plan.phase, plan.cluster_node = nodes[1:], phase, nodes[0]


def plan_cluster(graph: "ClusterGraph", source: str, target: str, tags_of: TagsOf, snapshots_of: SnapshotsOf,
                 options: Optional[CloneOptions] = None,
                 previous_resource_ids: Optional[List[str]] = None) -> Plan:
    """The whole plan for refreshing the Aurora cluster `target` from the cluster `source`, from live `graph`."""
    return ClusterPlanner(source, target, options, tags_of, snapshots_of).plan(graph, previous_resource_ids)


refresh_cluster = refresh


# --- reading AWS -------------------------------------------------------------------------------------------------

def cluster_names(client: Any, source: str, target: str, graph: Graph) -> Optional[Tuple[str, str]]:
    """(source cluster, target cluster) when `source` or `target` names an Aurora cluster (or one of its instances,
    resolved to its cluster); None when both are DB instances. `graph` is the instance discovery's result.

    Raises when one side is a cluster and the other a DB instance outside any cluster."""
    def member_of(name: str) -> Optional[str]:
        return (graph.get(name) or {}).get("DBClusterIdentifier") if name else None

    target_found = any(form in graph for form in name_forms(target))
    source_cluster = member_of(source)
    target_cluster = member_of(target)
    if (source and source not in graph) or not target_found:
        named = {c["DBClusterIdentifier"] for c in describe_clusters(client, [n for n in (source, target) if n])}
        source_cluster = source_cluster or (source if source in named else None)
        target_cluster = target_cluster or (target if target in named else None)
    if not source_cluster and not target_cluster:
        return None
    if source_cluster and target_cluster:
        return source_cluster, target_cluster
    cluster_side, other = ("source", target) if source_cluster else ("target", source)
    # The other side is a DB instance (a name found nowhere is the cluster planner's "not found").
    if other and (target_found if other == target else other in graph):
        fail("The {0} is an Aurora cluster ({1}) but {2} is a DB instance outside any cluster.".format(
            cluster_side, source_cluster or target_cluster, other), other,
            "A refresh copies an Aurora cluster into an Aurora cluster, or a DB instance into a DB instance.")
    return source_cluster or source, target_cluster or target


def discover_cluster(client: Any, source: str, target: str, region: Optional[str]) -> ClusterGraph:
    """The clusters (source, and the target under its names) and their instances: two filtered describes."""
    clusters = describe_clusters(client, ([source] if source else []) + name_forms(target))
    names = {strip_prefix(m) for c in clusters if strip_prefix(c["DBClusterIdentifier"]) == target
             for m in member_names(c)}
    source_members = [m for c in clusters if c["DBClusterIdentifier"] == source for m in member_names(c)]
    wanted = [f for name in names for f in name_forms(name)] + source_members
    return ClusterGraph(describe_instances(client, wanted) if wanted else [], clusters, region)


def read_plan_graph(client: Any, plan: ClusterPlan, region: Optional[str]) -> ClusterGraph:
    """The live state of the names a plan holds: one describe of its instances, one of its clusters."""
    instances, clusters = plan.read_names()
    return ClusterGraph(describe_instances(client, instances), describe_clusters(client, clusters), region)


def cluster_snapshots_of(client: Any) -> Callable[[str, Optional[str]], List[Description]]:
    """snapshots_of(source, name) for the planner: the cluster snapshot named, or all of the source's."""
    def snapshots_of(source: str, name: Optional[str]) -> List[Description]:
        if name:
            try:
                return paginate(client, "DescribeDBClusterSnapshots", "DBClusterSnapshots",
                                DBClusterSnapshotIdentifier=name, IncludeShared=name.startswith("arn:"))
            except MitosisError as error:
                if error.code in ("DBClusterSnapshotNotFoundFault", "DBClusterSnapshotNotFound"):
                    return []
                raise
        return paginate(client, "DescribeDBClusterSnapshots", "DBClusterSnapshots", DBClusterIdentifier=source)
    return snapshots_of


def cluster_graph_facts(client: Any, identifier: str, region: Optional[str],
                        tags_of: Optional[Callable[[Description], List[Dict[str, str]]]] = None
                        ) -> Optional[Dict[str, Any]]:
    """rds_graph_facts' answer for an Aurora cluster (named, or one of its instances): the cluster, then its
    instances writer first. None when `identifier` is neither a cluster nor one of a cluster's instances."""
    found = describe_instances(client, [identifier])
    name = found[0].get("DBClusterIdentifier") if found else identifier
    if not name:
        return None
    clusters = describe_clusters(client, [name])
    if not clusters:
        return None
    desc = clusters[0]
    members = {m["DBInstanceIdentifier"]: m for m in desc.get("DBClusterMembers") or []}
    graph = ClusterGraph(describe_instances(client, members) if members else [], clusters, region)
    # The members under their own names (temp-*, old-* while a refresh runs), writer first, then by tier and name.
    order = sorted(members, key=lambda m: (not members[m].get("IsClusterWriter"), members[m].get("PromotionTier") or 0,
                                           m))
    nodes = []
    for member in order:
        facts = node_facts(graph, member, tags_of(graph.get(member)) if tags_of and graph.get(member) else None)
        facts.update(writer=bool(members[member].get("IsClusterWriter")),
                     promotion_tier=members[member].get("PromotionTier"))
        nodes.append(facts)
    cluster = {
        "identifier": name, "arn": desc.get("DBClusterArn"), "resource_id": desc.get("DbClusterResourceId"),
        "engine": desc.get("Engine"), "engine_version": desc.get("EngineVersion"),
        "engine_mode": desc.get("EngineMode"), "status": desc.get("Status"), "endpoint": desc.get("Endpoint"),
        "reader_endpoint": desc.get("ReaderEndpoint"), "port": desc.get("Port"),
        "writer": next((n["identifier"] for n in nodes if n["writer"]), None),
        "deletion_protection": desc.get("DeletionProtection", False),
        "global_cluster": desc.get("GlobalClusterIdentifier"),
    }
    if tags_of:
        cluster["tags"] = {tag["Key"]: tag["Value"] for tag in tags_of(desc)}
    return {"identifier": identifier, "root": name, "members": order, "nodes": nodes, "cross_region": [],
            "cluster": cluster}
