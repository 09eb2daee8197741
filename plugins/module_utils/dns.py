# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The switch by DNS (swap_method=dns): the application reaches the stack through Route 53 records, and a refresh
moves the records instead of renaming instances.

The CNAME records of the zone whose value is the endpoint of a member of the stack are the names the application
uses; the instances they point at are the live generation. A refresh clones the stack, with its attributes, into
the other generation's names (`X-a` or `X-b` for member X: the suffix alternates, the tag mitosis:generation holds
it), moves every record in one change batch, waits until Route 53 has it in sync and the records' TTL has passed,
restarts the application, and then retires the generation the records left: renamed to old-* and deleted, or, with
keep_previous, kept for a way back (the rollback moves the records back in one change) until the next refresh
retires it first. No name the application uses is ever renamed, so none is ever unreachable.

As with renames, AWS is the only state: the records say which generation is live; any other instance under a
member's names is older (a generation a switch left) or newer (a copy under way), and tags say the rest.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

from .aws import MitosisError, call, paginate
from .graph import (OLD, REJECTED, Graph, created_of, describe_instances, dns_name_forms, generation_forms,
                    generation_name, graph_of, identifier_of, resource_id_of)
from .names import (CLEANUP, COMPLETE, COPY, DELETE, GENERATION_TAG, KEPT_TAG, MODIFY, REJECTED_TAG, RESTART,
                    RESTART_ACTION, ROLLBACK, SNAPSHOT_ACTION, SWAP, SWITCH_ACTION, SWITCHED_TAG, TAG)
from .planner import build_copy, choose_method, copy_method_of, validate
from .plans import (MAX_IDENTIFIER, REPLICA, CloneOptions, Instance, Node, Plan, Planner, SnapshotsOf, StepList,
                    TagsOf, discard_or_refuse, fail, final_snapshot_name, pick_snapshot, validate_credentials,
                    validate_unprotected)
from .steps import (CreateRecords, Delete, DeleteKept, FinalSnapshot, Keep, Restart, Retire, Step, Switch, Switched,
                    Words, has_tag)

# Longer and a resolver keeps the old endpoint so long that the switch is no quicker than a rename.
MAX_TTL = 3600
# The TTL of the records dns_create makes: resolvers follow a switch within a minute.
NEW_RECORD_TTL = 60
ZONE_ID = re.compile(r"^(/hostedzone/)?[A-Z0-9]{1,32}$")

DNS_WORDS = Words("the refresh is complete: the records of {0} point at its new generation", "the clone", OLD,
                  concluded="the generation the switch left is retired (or kept, with keep_previous)",
                  restart_pending="runs (again) before the generation the switch left is retired or kept")
DNS_ROLLBACK_WORDS = Words("the rollback is complete: the records of {0} point at the earlier generation again",
                           "the original instance", REJECTED)


def generation_of(inst: Optional[Instance]) -> str:
    """The generation (a, b) of a clone a switch by DNS made, "" for another instance."""
    for tag in (inst or {}).get("TagList") or []:
        if tag.get("Key") == GENERATION_TAG and str(identifier_of(inst or {})).endswith("-" + str(tag.get("Value"))):
            return str(tag["Value"])
    return ""


def base_of(inst: Instance) -> str:
    """The member a clone (or the original instance) stands for."""
    name, generation = identifier_of(inst), generation_of(inst)
    return name[:-len(generation) - 1] if generation else name


def generations(graph: Graph, base: str, forms: List[str]) -> List[Instance]:
    """The instances under `forms` of member `base` that are its generations: a clone of a switch by DNS carries
    its generation; only the original (`base`, or it moved aside) may carry none. Another instance that happens to
    be called `<base>-a` is not one."""
    found = []
    for name in forms:
        inst = graph.get(name)
        if inst is not None and (unaside(name) == base or generation_of(inst)):
            found.append(inst)
    return found


def host_of(value: Optional[str]) -> str:
    return str(value or "").lower().rstrip(".")


class Zone:
    """A Route 53 hosted zone and its CNAME records, by their names as Route 53 gives them."""

    def __init__(self, zone_id: str, name: str, records: Dict[str, Dict[str, Any]]) -> None:
        self.zone_id = zone_id
        self.name = name
        self.records = records

    def record(self, name: str) -> Optional[Dict[str, Any]]:
        """The record called `name` (with or without the final dot, in any case)."""
        wanted = host_of(name)
        return next((r for key, r in self.records.items() if host_of(key) == wanted), None)


def find_zone(route53: Any, given: str) -> Tuple[str, str]:
    """(id, name) of the hosted zone `given` by id or by name; an error naming what to pass when there is none."""
    given = given.strip()
    if ZONE_ID.match(given):
        zone_id = given.split("/")[-1]
        try:
            zone = call(route53, "GetHostedZone", zone_id, Id=zone_id)["HostedZone"]
        except MitosisError as error:
            if error.code not in ("NoSuchHostedZone", "InvalidInput"):
                raise
            fail("dns_zone: no Route 53 hosted zone has the id {0}.".format(zone_id), zone_id,
                 "Pass the id (aws route53 list-hosted-zones) or the name of the zone that holds the application's "
                 "records.")
        return zone_id, zone["Name"]
    name = host_of(given) + "."
    found = call(route53, "ListHostedZonesByName", name, DNSName=name, MaxItems="100")["HostedZones"]
    named = [z for z in found if host_of(z["Name"]) == host_of(name)]
    if not named:
        fail("dns_zone: no Route 53 hosted zone is called {0}.".format(host_of(name)), name,
             "Pass the id (aws route53 list-hosted-zones) or the name of the zone that holds the application's "
             "records.")
    if len(named) > 1:
        fail("dns_zone: {0} hosted zones are called {1} (a private and a public one, or several private ones)."
             .format(len(named), host_of(name)), name,
             "Pass the id of the one that holds the application's records: {0}.".format(
                 ", ".join(z["Id"].split("/")[-1] for z in named)))
    return named[0]["Id"].split("/")[-1], named[0]["Name"]


def read_zone(route53: Any, zone_id: str, name: str) -> Zone:
    """The zone's CNAME records (one paginated ListResourceRecordSets)."""
    records = {}
    for found in paginate(route53, "ListResourceRecordSets", "ResourceRecordSets", HostedZoneId=zone_id):
        values = found.get("ResourceRecords") or []
        if found.get("Type") == "CNAME" and values and not found.get("SetIdentifier"):
            records[found["Name"]] = {"Name": found["Name"], "TTL": int(found.get("TTL") or 0),
                                      "Value": values[0]["Value"]}
    return Zone(zone_id, name, records)


def instance_at(rds: Any, value: str) -> Optional[Instance]:
    """The instance whose endpoint `value` (a CNAME's value) is: by the endpoint's first label (the identifier on
    AWS), else among all the account's instances of the region."""
    host = host_of(value)
    label = host.split(".", maxsplit=1)[0]
    for inst in describe_instances(rds, [label]) if re.match(r"^[a-z][a-z0-9-]*$", label) else []:
        if host_of((inst.get("Endpoint") or {}).get("Address")) == host:
            return inst
    for inst in paginate(rds, "DescribeDBInstances", "DBInstances"):
        if host_of((inst.get("Endpoint") or {}).get("Address")) == host:
            return inst
    return None


class DnsGraph(Graph):
    """The instances a switch by DNS reads, and the zone's records, each with the instance it points at."""

    def __init__(self, instances: List[Instance], region: Optional[str], zone: Zone) -> None:
        super().__init__(instances, region)
        self.zone = zone
        by_address = {host_of((i.get("Endpoint") or {}).get("Address")): n for n, i in self.instances.items()
                      if (i.get("Endpoint") or {}).get("Address")}
        self.records = {key: dict(r, Holder=by_address.get(host_of(r["Value"]))) for key, r in zone.records.items()}


class DnsNode(Node):
    """Member X of a stack switched by DNS: the instance its records point at (the live generation), and the other
    instances under its names, older (a generation a switch left, maybe moved aside) or newer (a copy under way).

    The planner then says which is the clone (`temp`, named `clone_name`) and which one the switch retires."""

    def __init__(self, base: str, parent: Optional[str], graph: Graph, live: Instance) -> None:  # noqa: super
        self.name = base
        self.parent = parent
        self.children = []  # type: List[str]
        self.live = live
        live_name, born = identifier_of(live), created_of(live)
        generation = generation_of(live)
        self.next_name = generation_name(base, "b" if generation == "a" else "a")
        others = generations(graph, base, [n for n in generation_forms(base) if n != live_name])
        self.newer = [i for i in others if created_of(i) > born]
        self.older = [i for i in others if created_of(i) <= born]
        self.aside = generations(graph, base, [n for n in dns_name_forms(base) if n.startswith((OLD, REJECTED))])
        self.clone_tags = [{"Key": GENERATION_TAG, "Value": self.next_name[-1]}]
        self.current = live
        self.temp = None  # type: Optional[Instance]
        self.old = None  # type: Optional[Instance]
        self.rejected = None  # type: Optional[Instance]
        self.clone_name = self.next_name
        self.retired = None  # type: Optional[Instance]  # what the switch leaves (retired or kept)
        self.cleared = []  # type: List[Instance]  # a kept generation, retired before the copy takes its names

    def aside_as(self, prefix: str) -> List[Instance]:
        return [i for i in self.aside if identifier_of(i).startswith(prefix)]

    def switching(self, clone: Optional[Instance], retired: Optional[Instance]) -> None:
        """The switch points the records at `clone` (which may not exist yet) and leaves `retired`."""
        self.temp = clone
        if clone is not None:
            self.clone_name = identifier_of(clone)
        self.retired = retired

    def before_switch(self) -> None:
        """The copy goes into the other generation's names, after a kept generation is cleared."""
        self.switching(self.newer[0] if self.newer else None, self.live)
        self.cleared = self.older + self.aside_as(OLD)

    def after_switch(self) -> None:
        """The records point at the clone; the older generation (maybe moved aside already) is the one left."""
        self.switching(self.live, (self.older + self.aside_as(OLD) or [None])[0])
        self.old = self.retired


def unaside(name: str) -> str:
    """The name an instance moved aside (old-*, rej-*) had."""
    for prefix in (OLD, REJECTED):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


class DnsPlan(Plan):
    """A refresh (or rollback) by DNS: its clones' names are its switch's."""

    def __init__(self, *args: Any, records: Optional[List[str]] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records = records or []

    @property
    def switch(self) -> Step:
        return next(s for s in self.steps if s.kind == Switch.kind)

    def clone_name(self, node: str) -> str:
        return self.switch.params["Clones"].get(node, node)

    def subject(self) -> str:
        count = len(self.nodes) or len(self.node_names())
        records = ", ".join(host_of(r["Name"]) for r in self.switch.params["Records"])
        return "the stack behind {0} in zone {1} ({2} node{3}, switched by DNS)".format(
            records, host_of(self.switch.params["Zone"]), count, "" if count == 1 else "s")

    def retiring_resource_ids(self) -> List[str]:
        return [s.resource_id for s in self.steps if s.concludes and s.resource_id]

    def lock_target(self) -> str:
        return self.node_names()[0]

    def lock_names(self) -> List[str]:
        return dns_name_forms(self.lock_target())


class DnsPlanner(Planner):
    """A refresh of the stack behind the records of a Route 53 zone, or (`options.rollback`) the move of its records
    back to the generation an earlier refresh left."""

    nodes_are = "stack"
    in_order = False  # the members of the live generation, whichever order a plan's steps name them in

    def __init__(self, source: str, target: str, options: Optional[CloneOptions] = None,
                 tags_of: Optional[TagsOf] = None, snapshots_of: Optional[SnapshotsOf] = None,
                 route53: Any = None) -> None:
        super().__init__(source, target, options)
        self.tags_of = tags_of
        self.snapshots_of = snapshots_of
        self.route53 = route53
        self.base = ""  # the root member's name (the stack's, before its first switch)
        self.words = DNS_ROLLBACK_WORDS if self.options.rollback else DNS_WORDS

    # --- reading ----------------------------------------------------------------------------------------------

    def read(self, rds: Any) -> DnsGraph:
        if not self.options.dns_zone:
            fail("swap_method=dns needs dns_zone: the Route 53 hosted zone of the records the application uses.",
                 self.target, "Pass dns_zone (its id or name).")
        zone = read_zone(self.route53, *find_zone(self.route53, self.options.dns_zone))
        region = rds.meta.region_name
        record = zone.record(self.target)
        root = self.target
        if record is not None:
            holder = instance_at(rds, record["Value"])
            if holder is None:
                fail("{0} is a record of zone {1}, and its value {2} is the endpoint of no DB instance in region {3}."
                     .format(record["Name"], zone.name, record["Value"], region), self.target,
                     "Name a record that points at the target stack's primary, or the primary itself.")
            root = identifier_of(holder)
        live = graph_of(rds, root, region)
        if root not in live:
            fail("Target {0} is neither a record of zone {1} nor a DB instance in region {2}.".format(
                self.target, zone.name, region), self.target,
                "Name the record the application uses for the primary, or the primary instance.")
        self.base = base_of(live.get(root) or {})
        bases = {base_of(inst) for inst in live.instances.values()}
        names = [n for base in bases for n in dns_name_forms(base)] + ([self.source] if self.source else [])
        found = {i["DBInstanceIdentifier"]: i for i in list(live.instances.values()) + describe_instances(rds, names)}
        return DnsGraph(list(found.values()), region, zone)

    def read_plan(self, rds: Any, plan: Plan) -> DnsGraph:
        switch = plan.switch  # type: ignore[attr-defined]
        zone = read_zone(self.route53, switch.params["HostedZoneId"], switch.params["Zone"])
        names = [n for node in plan.node_names() for n in dns_name_forms(node)] + ([self.source] if self.source
                                                                                   else [])
        return DnsGraph(describe_instances(rds, names), rds.meta.region_name, zone)

    def nodes(self, graph: Graph) -> List[Node]:
        zone = graph.zone  # type: ignore[attr-defined]
        records = graph.records  # type: ignore[attr-defined]
        pointed = {r["Holder"] for r in records.values() if r["Holder"]}
        existing = [identifier_of(i) for i in generations(graph, self.base, generation_forms(self.base))]
        live = [n for n in existing if n in pointed]
        if not live and self.options.dns_create and not self.options.rollback and len(existing) == 1:
            live = existing  # its records are created first (create_records)
        if not live:
            fail("No CNAME record of zone {0} points at the endpoint of {1}: swap_method=dns moves the records the "
                 "application uses, and finds none.".format(zone.name, " or ".join(existing) or self.base),
                 self.base, "Point the application's records at the stack's endpoints (aws route53 "
                 "change-resource-record-sets), or pass dns_create=true to create them (<instance>.{0}), or pass "
                 "swap_method=rename.".format(host_of(zone.name)))
        if len(live) > 1:
            fail("Records of zone {0} point at {1}: two generations of the same stack.".format(
                zone.name, " and ".join(live)), self.base,
                "Point every record of the stack at one generation, then run again.")
        nodes = []  # type: List[Node]
        by_name = {}  # type: Dict[str, DnsNode]
        for name in graph.tree(live[0]):
            inst = graph.get(name) or {}
            parent = graph.parent(name)
            node = DnsNode(base_of(inst), by_name[parent].name if parent in by_name else None, graph, inst)
            by_name[name] = node
            if node.parent:
                next(n for n in nodes if n.name == node.parent).children.append(node.name)
            nodes.append(node)
        return nodes

    def stack_records(self, graph: Graph, nodes: List[Node]) -> List[Dict[str, Any]]:
        """The records that point at the stack's live generation, each with its member; with dns_create and none
        yet, the records to create: `<instance>.<zone>` for each member, pointing at its endpoint."""
        live = {identifier_of(n.live): n.name for n in nodes}  # type: ignore[attr-defined]
        found = []
        for record in graph.records.values():  # type: ignore[attr-defined]
            if record["Holder"] in live:
                found.append({"Name": record["Name"], "TTL": record["TTL"], "Value": record["Value"],
                              "Node": live[record["Holder"]]})
        if not found and self.options.dns_create:
            found = [{"Name": "{0}.{1}".format(name, graph.zone.name), "TTL": NEW_RECORD_TTL,  # type: ignore
                      "Value": (graph.get(name) or {}).get("Endpoint", {}).get("Address"), "Node": node}
                     for name, node in live.items()]
        return sorted(found, key=lambda r: r["Name"])

    # --- checks and phase ---------------------------------------------------------------------------------------

    def check(self, graph: Graph, nodes: List[Node]) -> None:
        root = nodes[0]
        if root.live.get("DBClusterIdentifier"):  # type: ignore[attr-defined]
            fail("{0} is an instance of the Aurora cluster {1}: swap_method=dns refreshes a graph of DB instances so "
                 "far.".format(identifier_of(root.live), root.live["DBClusterIdentifier"]),  # type: ignore
                 root.name, "Use swap_method=rename for an Aurora cluster.")
        for node in nodes:
            aside = OLD + generation_name(node.name, "a")  # as long as rej-<X>-a
            if len(aside) > MAX_IDENTIFIER:
                fail("{0} is too long for a switch by DNS: its generation moved aside, {1}, would have {2} "
                     "characters and RDS allows {3}.".format(node.name, aside, len(aside), MAX_IDENTIFIER), node.name,
                     "Shorten the instance identifier to at most {0} characters.".format(
                         MAX_IDENTIFIER - len(aside) + len(node.name)))
            if len(node.older) > 1:  # type: ignore[attr-defined]
                fail("{0} has two generations that no record points at: {1}.".format(
                    node.name, ", ".join(identifier_of(i) for i in node.older)), node.name,  # type: ignore
                    "Delete the one that is a leftover, then run again.")
        others = {identifier_of(i): n.name for n in nodes for i in n.newer + n.older + n.aside}  # type: ignore
        for record in graph.records.values():  # type: ignore[attr-defined]
            if record["Holder"] in others:
                fail("Record {0} points at {1}, while the other records of the stack point at the generation of {2}: "
                     "a switch moves every record of the stack at once.".format(
                         record["Name"], record["Holder"], identifier_of(root.live)), record["Name"],  # type: ignore
                     "Point {0} at the generation the other records point at (or delete it), then run again.".format(
                         record["Name"]))
        for record in self.stack_records(graph, nodes):
            if record["TTL"] > MAX_TTL:
                fail("Record {0} has a TTL of {1} s: resolvers would keep the old endpoint for so long after the "
                     "switch that it is no quicker than renames.".format(record["Name"], record["TTL"]),
                     record["Name"], "Lower its TTL to at most {0} s (60 is usual) a TTL ahead of the refresh."
                     .format(MAX_TTL))
        if not self.options.rollback:
            if not self.source:
                fail("Both source and target are required.")
            # The rename path's checks (the source, engines, replicas, cross-region links), on the live generation.
            self.check_members(Graph(graph.instances.values(), graph.region), identifier_of(root.live),
                               [DnsCheckNode(n) for n in nodes])
        validate_unprotected(nodes, self.options.protected_tag)

    def check_members(self, graph: Graph, root: str, nodes: List[Node]) -> None:
        """The source's and the members' checks, with the live generation under the members' names."""
        validate(graph, self.source, root, nodes)

    def classify(self, graph: Graph, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
        root = nodes[0]
        if self.options.rollback:
            return self.classify_rollback(nodes, previous_resource_ids)
        rejected = [i for i in root.newer + root.aside + [root.live]  # type: ignore[attr-defined]
                    if has_tag(i, REJECTED_TAG)]
        if rejected or has_tag(root.live, KEPT_TAG):  # type: ignore[attr-defined]
            fail("A rollback of {0} is in progress: {1}.".format(root.name, identifier_of(
                (rejected or [root.live])[0]) + (" is rejected" if rejected else  # type: ignore[attr-defined]
                                                 " is the earlier generation again")),
                root.name, "Finish it first (ansible-playbook mitosis.rds.rollback with the same target, "
                "swap_method and dns_zone), then run the refresh again.")
        previous = root.older + root.aside_as(OLD)  # type: ignore[attr-defined]
        kept = any(has_tag(i, KEPT_TAG) for i in previous)
        if previous and not kept:
            phase = CLEANUP
        elif previous_resource_ids is not None and all(not n.newer for n in nodes) and all(  # type: ignore
                resource_id_of(n.live) not in previous_resource_ids for n in nodes):  # type: ignore[attr-defined]
            phase = COMPLETE
        else:
            phase = COPY
        for node in nodes:
            if phase == COMPLETE:
                node.switching(node.live, None)  # type: ignore[attr-defined]
            elif phase == CLEANUP:
                node.after_switch()  # type: ignore[attr-defined]
            else:
                node.before_switch()  # type: ignore[attr-defined]
        return phase

    def classify_rollback(self, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
        root = nodes[0]
        if any(has_tag(i, REJECTED_TAG) for i in root.newer + root.aside_as(REJECTED)):  # type: ignore
            phase = CLEANUP  # the records point at the earlier generation again
        elif root.older:  # type: ignore[attr-defined]
            phase = SWAP
        elif previous_resource_ids is not None:
            phase = COMPLETE
        else:
            fail("There is nothing to roll back to: no earlier generation of {0} exists (the records point at {1})."
                 .format(root.name, identifier_of(root.live)), root.name,  # type: ignore[attr-defined]
                 "Refresh with keep_previous=true to keep the generation a switch leaves for a way back.")
        for node in nodes:
            if phase == SWAP:  # the records go back to the older generation; the live one is rejected
                node.switching((node.older or [None])[0], node.live)  # type: ignore[attr-defined]
            elif phase == CLEANUP:
                node.switching(node.live, (node.newer + node.aside_as(REJECTED) or [None])[0])  # type: ignore
            else:
                node.switching(node.live, None)  # type: ignore[attr-defined]
        return phase

    def check_phase(self, nodes: List[Node], phase: str) -> None:
        """Deletion protection on an instance the run retires would block it: refused up front."""
        kept = self.options.keep_previous and not self.options.rollback
        for node in nodes:
            for inst in ([] if kept else [node.retired]) + node.cleared:  # type: ignore[attr-defined]
                if inst and inst.get("DeletionProtection") and phase != COMPLETE:
                    name = identifier_of(inst)
                    fail("{0} has deletion protection enabled, which would block its retirement once the records "
                         "have left it.".format(name), name,
                         "Disable it first: aws rds modify-db-instance --db-instance-identifier {0} "
                         "--no-deletion-protection --apply-immediately".format(name))

    # --- steps --------------------------------------------------------------------------------------------------

    def build(self, graph: Graph, nodes: List[Node], phase: str) -> Plan:
        records = self.stack_records(graph, nodes)
        if self.options.rollback:
            steps = self.rollback_steps(graph, nodes, records)
            plan = DnsPlan("", self.target, steps, nodes, ROLLBACK, phase, records=[r["Name"] for r in records])
            return plan
        options, source, root = self.options, self.source, nodes[0]
        clone_of = {n.name: n.clone_name for n in nodes}  # type: ignore[attr-defined]
        newer = [n.temp for n in nodes if phase == COPY and n.temp is not None]
        discard, notes = discard_or_refuse(phase, self.target, newer, options)
        warnings = validate_credentials(nodes, source, options) + notes
        built = StepList(lambda node: clone_of[node])
        self.clear_kept(built, nodes, phase)
        mode, why, snapshot = self.copy(built, graph, nodes, phase, discard)
        created = self.create_records(built, graph, root, records)
        restart = self.switch_steps(built, root, records, list(built.copy_keys) + created, [n.name for n in nodes],
                                    clone_of)
        # The clone's own tags (the keep's mark is the generation it leaves): gathered before the cleanup's steps.
        built.untag(root.name, [root.temp], restart, identifier=clone_of[root.name])
        retired = root.retired  # type: ignore[attr-defined]
        if options.keep_previous and retired is not None:
            keep = built.add(Keep, "keep:" + root.name, CLEANUP, TAG, identifier_of(retired),
                             {"Tags": [{"Key": KEPT_TAG, "Value": "true"}]}, root.name, [restart.key])
            keep.resource_id = resource_id_of(retired)
        else:
            self.retire(built, nodes, OLD, restart, options.final_snapshot)
        return DnsPlan(source, self.target, built.steps, nodes, mode, phase, snapshot, why, warnings,
                       discard=options.discard_clone, records=[r["Name"] for r in records])

    def copy(self, built: StepList, graph: Graph, nodes: List[Node], phase: str,
             discard: bool) -> Tuple[str, str, Optional[Dict[str, Any]]]:
        """The steps of the copy into the clones (after those `built` holds); the copy method, why, and the
        snapshot restored."""
        options, source, root = self.options, self.source, nodes[0]
        mode, why = choose_method(graph, source, root.original, options)
        if phase == COPY and not discard and root.temp is not None and graph.parent(identifier_of(root.temp)) == \
                source:
            mode, why = REPLICA, "{0} is already a read replica of {1}, made by an earlier run".format(
                identifier_of(root.temp), source)
        snapshot = None
        if mode == "snapshot":
            if phase == COPY and (root.temp is None or discard):
                snapshot = pick_snapshot(source, options, why, self.snapshots_of)
            else:
                snapshot = {"DBSnapshotIdentifier": "(already restored)"}
        build_copy(source, nodes, self.tags_of, snapshot, phase, mode, options, discard, built)
        return mode, why, snapshot

    def clear_kept(self, built: StepList, nodes: List[Node], phase: str) -> None:
        """A generation kept for a way back holds names the copy takes: it moves aside to old-* and goes first."""
        if phase != COPY:
            return
        deletes = {}  # type: Dict[str, List[str]]  # the delete keys of each member's kept instances
        for node in reversed(nodes):  # leaves first
            deletes[node.name] = []
            for inst in node.cleared:  # type: ignore[attr-defined]
                name = unaside(identifier_of(inst))
                after = [key for child in node.children for key in deletes.get(child, [])]
                if not identifier_of(inst).startswith(OLD):
                    retire = built.add(Retire, "retire-kept:" + name, COPY, MODIFY, name,
                                       {"ApplyImmediately": True, "NewDBInstanceIdentifier": OLD + name}, node.name, [])
                    retire.resource_id = resource_id_of(inst)
                    after.append(retire.key)
                gone = built.add(DeleteKept, "delete-kept:" + name, COPY, DELETE, OLD + name,
                                 {"SkipFinalSnapshot": True}, node.name, after)
                gone.resource_id = resource_id_of(inst)
                deletes[node.name].append(gone.key)

    def create_records(self, built: StepList, graph: Graph, root: Node, records: List[Dict[str, Any]]) -> List[str]:
        """dns_create: the stack's records, pointing at its live generation, before anything else."""
        if not self.options.dns_create:
            return []
        holders = {r["Holder"] for r in graph.records.values()}  # type: ignore[attr-defined]
        if any(identifier_of(n.live) in holders for n in [root]):  # type: ignore[attr-defined]
            return []
        params = {"HostedZoneId": "", "Zone": "", "Records": records,
                  "Clones": {r["Node"]: r["Name"].split(".", maxsplit=1)[0] for r in records}}
        step = built.add(CreateRecords, "create-records:" + root.name, COPY, SWITCH_ACTION,
                         identifier_of(root.live), params, root.name, [])  # type: ignore[attr-defined]
        return [step.key]

    def switch_steps(self, built: StepList, root: Node, records: List[Dict[str, Any]], after: List[str],
                     members: List[str], clone_of: Dict[str, str]) -> Step:
        """The change batch, the tag that records it in sync, the restart."""
        clone_root = clone_of[root.name]
        params = {"HostedZoneId": "", "Zone": "", "Records": records, "Clones": {n: clone_of[n] for n in members}}
        switch = built.add(Switch, "switch:" + root.name, SWAP, SWITCH_ACTION, clone_root, params, root.name, after)
        switch.route53 = self.route53
        left = root.retired or root.live  # type: ignore[attr-defined]
        # The instance the records leave, by name and resource id: the same value never comes back.
        switched = built.add(Switched, "tag-switched:" + root.name, SWAP, TAG, clone_root,
                             {"Tags": [{"Key": SWITCHED_TAG, "Value": "from {0} {1}".format(
                                 unaside(identifier_of(left)), resource_id_of(left))}]}, root.name, [switch.key])
        return built.add(Restart, "restart:" + root.name, RESTART, RESTART_ACTION, clone_root, {}, root.name,
                         [switched.key])

    def retire(self, built: StepList, nodes: List[Node], prefix: str, restart: Step, final_snapshot: bool) -> None:
        """The generation the switch left moves aside (no record points at it), then goes, leaves first."""
        root = nodes[0]
        snapshot_keys = []  # type: List[str]
        for node in reversed(nodes):
            retired = node.retired  # type: ignore[attr-defined]
            if retired is None:
                continue
            name = unaside(identifier_of(retired))
            move = built.add(Retire, "retire:" + node.name, CLEANUP, MODIFY, name,
                             {"ApplyImmediately": True, "NewDBInstanceIdentifier": prefix + name}, node.name,
                             [restart.key])
            move.resource_id = resource_id_of(retired)
            if node is root and final_snapshot:
                snap = built.add(FinalSnapshot, "final-snapshot:" + node.name, CLEANUP, SNAPSHOT_ACTION,
                                 prefix + name, {"DBSnapshotIdentifier": final_snapshot_name(node.name, retired)},
                                 node.name, [move.key])
                snap.resource_id = move.resource_id
                snapshot_keys.append(snap.key)
            delete = built.add(Delete, "delete:" + node.name, CLEANUP, DELETE, prefix + name,
                               {"SkipFinalSnapshot": True}, node.name,
                               [move.key] + ["delete:" + c for c in node.children] + (
                                   snapshot_keys if node is root else []))
            delete.resource_id = move.resource_id
        # A delete waits for its replicas' deletes: only those the plan has.
        keys = {s.key for s in built.steps}
        for step in built.steps:
            step.depends_on = [d for d in step.depends_on if d in keys]

    def rollback_steps(self, graph: Graph, nodes: List[Node], records: List[Dict[str, Any]]) -> List[Step]:
        """Mark the generation the records leave as rejected, move the records back, restart, retire it to rej-*."""
        root = nodes[0]
        built = StepList()
        rejected = root.retired or root.live  # type: ignore[attr-defined]  # (a complete rollback: all done)
        mark = built.add(Switched, "tag-rejected:" + root.name, SWAP, TAG, identifier_of(rejected),
                         {"Tags": [{"Key": REJECTED_TAG, "Value": "true"}]}, root.name, [])
        clone_of = {n.name: n.clone_name for n in nodes}  # type: ignore[attr-defined]
        restart = self.switch_steps(built, root, records, [mark.key], [n.name for n in nodes], clone_of)
        self.retire(built, nodes, REJECTED, restart, False)
        built.untag(root.name, [root.temp], restart, identifier=clone_of[root.name])
        return built.steps

    def mark(self, plan: Plan, graph: Graph, nodes: List[Node], phase: str) -> None:
        for step in plan.steps:
            if isinstance(step, Switch):
                step.route53 = self.route53
                step.params.update(HostedZoneId=graph.zone.zone_id, Zone=graph.zone.name)  # type: ignore
        super().mark(plan, graph, nodes, phase)

    def handed(self, steps: List[Dict[str, Any]]) -> Plan:
        built = [Step.from_dict(s) for s in steps]
        self.base = next((s.node for s in built if s.in_node_order), "")
        plan = DnsPlan(self.source, self.target, built, [], copy_method_of(
            built, ROLLBACK if self.options.rollback else REPLICA), "")
        plan.planner = self
        return plan


class DnsCheckNode(Node):
    """A member as the rename path's checks read it: its live instance under its own name."""

    def __init__(self, node: Node) -> None:  # noqa: super
        self.name, self.parent, self.children = identifier_of(node.live), node.parent, node.children  # type: ignore
        self.current, self.temp, self.old, self.rejected = node.live, None, None, None  # type: ignore
        self.clone_tags = []

    @property
    def original(self) -> Optional[Instance]:
        return self.current


def dns_plan_of(steps: List[Dict[str, Any]]) -> bool:
    """A plan handed back is a switch by DNS when it has a switch step."""
    return any(s.get("kind") == Switch.kind for s in steps)


def dns_creates(steps: List[Dict[str, Any]]) -> bool:
    """A plan handed back creates the stack's records (dns_create) when it has that step."""
    return any(s.get("kind") == CreateRecords.kind for s in steps)
