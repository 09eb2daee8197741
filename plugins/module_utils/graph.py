# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replication graphs built from DescribeDBInstances pages.

An instance's parent is its `ReadReplicaSourceDBInstanceIdentifier`; its children are the instances
that name it as parent (plus the cross-region ARNs in its `ReadReplicaDBInstanceIdentifiers`, which no
local description can name). References may be ARNs: they are normalised to identifiers, and an ARN of
another region marks a cross-region member, reported and never mistaken for a local instance.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .aws import call, paginate

# Names per filtered describe; a walk level or a poll with more names takes several calls.
FILTER_VALUES = 100
# A clone of member X is created as temp-X; X is moved aside to old-X. A rollback moves the rejected clone
# aside to rej-X (no longer than temp-, so every name a clone allows fits).
TEMP = "temp-"
OLD = "old-"
REJECTED = "rej-"
PREFIXES = (TEMP, OLD, REJECTED)


def temp_name(name: str) -> str:
    return TEMP + name


def old_name(name: str) -> str:
    return OLD + name


def rejected_name(name: str) -> str:
    return REJECTED + name


def strip_prefix(name: str) -> str:
    """The member a name belongs to: only one leading temp-/old-/rej- prefix is stripped."""
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def name_forms(name: str) -> List[str]:
    """X, temp-X, old-X and rej-X: the names under which a member of a graph being cloned (or rolled back) can
    exist."""
    return [name, temp_name(name), old_name(name), rejected_name(name)]


# A stack switched by DNS (dns.py) holds member X as X before its first switch, then as X-a or X-b.
GENERATIONS = ("a", "b")


def generation_name(base: str, generation: str) -> str:
    return "{0}-{1}".format(base, generation)


def generation_forms(base: str) -> List[str]:
    """The names a member X can hold as the live generation: X (before its first switch), X-a and X-b."""
    return [base] + [generation_name(base, g) for g in GENERATIONS]


def dns_name_forms(base: str) -> List[str]:
    """Every name of member X in a stack switched by DNS: its generations, and those moved aside to old-* or rej-*."""
    forms = generation_forms(base)
    return forms + [OLD + n for n in forms] + [REJECTED + n for n in forms[1:]]


# Aurora clusters and DB instances have separate namespaces: where both sit in one dict (the executor's view of
# live state), a cluster is keyed by this prefix and its name (a colon is never part of an identifier).
CLUSTER_REF = "cluster:"


def ref(name: str, cluster: bool = False) -> str:
    """The key of instance `name`, or of cluster `name`, in a dict that holds both."""
    return CLUSTER_REF + name if cluster else name


def is_cluster(desc: Optional[Dict[str, Any]]) -> bool:
    """`desc` is a DescribeDBClusters entry (not a DescribeDBInstances one)."""
    return bool(desc) and "DBClusterArn" in desc and "DBInstanceIdentifier" not in desc


def identifier_of(desc: Dict[str, Any]) -> str:
    return desc["DBClusterIdentifier"] if is_cluster(desc) else desc["DBInstanceIdentifier"]


def status_of(desc: Optional[Dict[str, Any]]) -> str:
    if not desc:
        return ""
    return desc.get("Status", "") if is_cluster(desc) else desc.get("DBInstanceStatus", "")


def arn_of(desc: Dict[str, Any]) -> str:
    return desc["DBClusterArn"] if is_cluster(desc) else desc["DBInstanceArn"]


def resource_id_of(desc: Optional[Dict[str, Any]]) -> Optional[str]:
    """DbiResourceId, or a cluster's DbClusterResourceId: what stays the same through renames."""
    if not desc:
        return None
    return desc.get("DbClusterResourceId") if is_cluster(desc) else desc.get("DbiResourceId")


def created_of(desc: Optional[Dict[str, Any]]) -> str:
    return str((desc or {}).get("ClusterCreateTime" if is_cluster(desc) else "InstanceCreateTime") or "")


def _describe_named(client: Any, operation: str, result_key: str, filter_name: str,
                    identifiers: Iterable[str]) -> List[Dict[str, Any]]:
    names = sorted(set(identifiers))
    found = []  # type: List[Dict[str, Any]]
    for start in range(0, len(names), FILTER_VALUES):
        chunk = names[start:start + FILTER_VALUES]
        found.extend(paginate(client, operation, result_key, Filters=[{"Name": filter_name, "Values": chunk}]))
    return found


def describe_clusters(client: Any, identifiers: Iterable[str]) -> List[Dict[str, Any]]:
    """The Aurora clusters named `identifiers` (a db-cluster-id filter), paginated."""
    return _describe_named(client, "DescribeDBClusters", "DBClusters", "db-cluster-id", identifiers)


def describe_instances(client: Any, identifiers: Iterable[str]) -> List[Dict[str, Any]]:
    """The instances named `identifiers` (a db-instance-id filter, never the whole account), paginated."""
    return _describe_named(client, "DescribeDBInstances", "DBInstances", "db-instance-id", identifiers)


def described(client: Any, refs: Iterable[str]) -> Dict[str, Dict[str, Any]]:
    """Descriptions by ref (instances by name, clusters by ref(name, cluster=True)): one describe of each kind
    asked for."""
    names = set(refs)
    instances = [n for n in names if not n.startswith(CLUSTER_REF)]
    clusters = [n[len(CLUSTER_REF):] for n in names if n.startswith(CLUSTER_REF)]
    found = {i["DBInstanceIdentifier"]: i for i in describe_instances(client, instances)}
    found.update((ref(c["DBClusterIdentifier"], True), c) for c in describe_clusters(client, clusters))
    return found


def local_children(inst: Dict[str, Any], region: Optional[str]) -> List[str]:
    """The same-region replicas an instance's description names (cross-region ones are never described here)."""
    kids = []  # type: List[str]
    for ref in inst.get("ReadReplicaDBInstanceIdentifiers") or []:
        child, other_region = parse_reference(ref, region)
        if child and not other_region:
            kids.append(child)
    return kids


def local_parent(inst: Dict[str, Any], region: Optional[str]) -> Optional[str]:
    parent, other_region = parse_reference(inst.get("ReadReplicaSourceDBInstanceIdentifier"), region)
    return parent if not other_region else None


def discover(client: Any, source: str, target: str, region: Optional[str]) -> "Graph":
    """The instances a clone of `source` into `target`'s graph needs, read level by level with filtered describes.

    From the target down: each member under its three names, then the members their descriptions name
    as replicas. From the source up: its parents, to see whether it sits in the target's graph. One
    describe per level, whatever the size of the account; the source's own replicas are never read."""
    found = {}  # type: Dict[str, Dict[str, Any]]
    members = {target}
    upward = source  # the next of the source's ancestors to look for
    wanted = set(name_forms(target)) | ({source} if source else set())
    while wanted:
        level = describe_instances(client, wanted)
        asked = set(found) | wanted
        wanted = set()
        for inst in level:
            name = inst["DBInstanceIdentifier"]
            found[name] = inst
            if strip_prefix(name) in members:
                for child in local_children(inst, region):
                    if strip_prefix(child) not in members:
                        members.add(strip_prefix(child))
                        wanted.update(name_forms(strip_prefix(child)))
            if name == upward:
                upward = local_parent(inst, region) or ""
                if upward:
                    wanted.add(upward)
        wanted -= asked
    return Graph(found.values(), region)


def graph_of(client: Any, identifier: str, region: Optional[str]) -> "Graph":
    """The replication graph that holds `identifier`: up to its root one describe per level, then down by levels."""
    found = {}  # type: Dict[str, Dict[str, Any]]
    name = identifier  # type: Optional[str]
    while name and name not in found:
        level = describe_instances(client, [name])
        if not level:
            break
        found[name] = level[0]
        name = local_parent(level[0], region)
    wanted = {child for inst in found.values() for child in local_children(inst, region)} - set(found)
    while wanted:
        level = describe_instances(client, wanted)
        found.update((inst["DBInstanceIdentifier"], inst) for inst in level)
        wanted = {child for inst in level for child in local_children(inst, region)} - set(found)
    return Graph(found.values(), region)


def parse_reference(ref: Optional[str], region: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(identifier, other_region) for an identifier or ARN; other_region is None for a local instance."""
    if not ref:
        return None, None
    if ref.startswith("arn:"):
        parts = ref.split(":")
        # arn:partition:rds:region:account:db:name
        identifier = parts[-1] if len(parts) >= 7 else ref
        ref_region = parts[3] if len(parts) >= 7 else None
        if region and ref_region and ref_region != region:
            return identifier, ref_region
        return identifier, None
    return ref, None


class Graph:
    """Index of instance descriptions with parent/child links resolved once (linear in instances)."""

    def __init__(self, instances: Iterable[Dict[str, Any]], region: Optional[str] = None) -> None:
        self.region = region
        self.instances = {}
        self.parents = {}
        self.children = {}
        self.cross_region_parents = {}
        self.cross_region_children = {}
        for inst in instances:
            self.instances[inst["DBInstanceIdentifier"]] = inst
        for name, inst in self.instances.items():
            parent, other = parse_reference(inst.get("ReadReplicaSourceDBInstanceIdentifier"), region)
            if other:
                self.cross_region_parents[name] = {"identifier": parent, "region": other}
            elif parent:
                self.parents[name] = parent
                self.children.setdefault(parent, [])
                if name not in self.children[parent]:
                    self.children[parent].append(name)
            for ref in inst.get("ReadReplicaDBInstanceIdentifiers") or []:
                child, other = parse_reference(ref, region)
                if other:
                    self.cross_region_children.setdefault(name, []).append({"identifier": child, "region": other})
        for kids in self.children.values():
            kids.sort()

    def __contains__(self, name: object) -> bool:
        return name in self.instances

    def get(self, name: str) -> Optional[Dict[str, Any]]:
        return self.instances.get(name)

    def parent(self, name: str) -> Optional[str]:
        return self.parents.get(name)

    def children_of(self, name: str) -> List[str]:
        return list(self.children.get(name, []))

    def root(self, name: str) -> str:
        seen = set()
        while name in self.parents and name not in seen:
            seen.add(name)
            name = self.parents[name]
        return name

    def tree(self, root: str) -> List[str]:
        """Members of the tree under `root`, parents before children (breadth first)."""
        order, queue, seen = [], [root], set()
        while queue:
            name = queue.pop(0)
            if name in seen:
                continue
            seen.add(name)
            order.append(name)
            queue.extend(self.children_of(name))
        return order

    def depth(self, name: str) -> int:
        depth, seen = 0, set()
        while name in self.parents and name not in seen:
            seen.add(name)
            name = self.parents[name]
            depth += 1
        return depth


def node_facts(graph: Graph, name: str, tags: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
    """One graph member in snake_case, as rds_graph_facts returns it."""
    inst = graph.get(name) or {}
    subnet_group = inst.get("DBSubnetGroup") or {}
    facts = {
        "identifier": name,
        "parent": graph.parent(name),
        "children": graph.children_of(name),
        "depth": graph.depth(name),
        "arn": inst.get("DBInstanceArn"),
        "resource_id": inst.get("DbiResourceId"),
        "engine": inst.get("Engine"),
        "engine_version": inst.get("EngineVersion"),
        "status": inst.get("DBInstanceStatus"),
        "instance_class": inst.get("DBInstanceClass"),
        "vpc_id": subnet_group.get("VpcId"),
        "cluster": inst.get("DBClusterIdentifier"),
        "deletion_protection": inst.get("DeletionProtection", False),
        "cross_region_source": graph.cross_region_parents.get(name),
        "cross_region_replicas": graph.cross_region_children.get(name, []),
    }
    if tags is not None:
        facts["tags"] = {tag["Key"]: tag["Value"] for tag in tags}
    return facts


def graph_facts(graph: Graph, identifier: str,
                tags_of: Optional[Callable[[str], List[Dict[str, str]]]] = None) -> Dict[str, Any]:
    """The whole replication graph that contains `identifier`, root first."""
    root = graph.root(identifier)
    members = graph.tree(root)
    nodes = [node_facts(graph, name, tags_of(name) if tags_of else None) for name in members]
    return {
        "identifier": identifier,
        "root": root,
        "members": members,
        "nodes": nodes,
        "cross_region": [
            {"identifier": n["identifier"], "source": n["cross_region_source"], "replicas": n["cross_region_replicas"]}
            for n in nodes if n["cross_region_source"] or n["cross_region_replicas"]
        ],
    }


def list_tags(client: Any, inst: Dict[str, Any]) -> List[Dict[str, str]]:
    """The instance's (or cluster's) own tags, from ListTagsForResource."""
    return call(client, "ListTagsForResource", identifier_of(inst), ResourceName=arn_of(inst)).get("TagList", [])


def tag_reader(client: Any) -> Callable[[Dict[str, Any]], List[Dict[str, str]]]:
    """tags_of(description) for the planner: ListTagsForResource once per instance or cluster, remembered."""
    tags = {}

    def tags_of(desc: Dict[str, Any]) -> List[Dict[str, str]]:
        name = arn_of(desc)
        if name not in tags:
            tags[name] = list_tags(client, desc)
        return tags[name]

    return tags_of
