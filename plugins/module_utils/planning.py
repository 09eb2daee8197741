# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that chooses a planner: a graph of DB instances, an Aurora cluster, a rollback, a switch by DNS (of DB
instances), or a refresh from another account.

A new plan reads the live state with filtered describes from the target (and the source); a plan handed back by
the caller is marked again by the planner of its kind, from one describe of the names it holds.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .accounts import (CrossAccountClusterPlanner, CrossAccountDnsPlanner, CrossAccountPlanner, SourceAccount,
                       cross_account_plan_of, source_name)
from .aws import MitosisError, paginate
from .cluster import ClusterPlanner, cluster_names, cluster_snapshots_of, discover_cluster
from .dns import DnsPlanner, dns_creates, dns_plan_of
from .graph import Graph, describe_clusters, discover, tag_reader
from .planner import InstancePlanner
from .plans import DNS, CloneOptions, Plan, Planner
from .rollback import RollbackPlanner
from .steps import snapshots_named


def instance_snapshots_of(rds: Any):
    """snapshots_of(source, name) for the instance planner: the snapshot named, or all of the source's."""
    def snapshots_of(name: str, snapshot_identifier: Optional[str]) -> List[Dict[str, Any]]:
        if snapshot_identifier:
            return snapshots_named(rds, snapshot_identifier)
        return paginate(rds, "DescribeDBSnapshots", "DBSnapshots", DBInstanceIdentifier=name)
    return snapshots_of


def live_plan(rds: Any, source: str, target: str, options: Optional[CloneOptions] = None,
              previous_resource_ids: Optional[List[str]] = None, route53: Any = None,
              account: Optional[SourceAccount] = None) -> Tuple[Plan, Graph]:
    """The plan computed from live state, read with filtered describes from the target and the source (a rollback,
    with `options.rollback`, reads the target's graph only; a switch by DNS reads the zone's records through
    `route53` first; a source in another account is read through `account`); with that live state."""
    options = options or CloneOptions()
    region = rds.meta.region_name
    if account is not None and not options.rollback:
        source = source_name(source, account, region)
        if options.swap_method == DNS:
            dns = CrossAccountDnsPlanner(source, target, account, options, tag_reader(rds), route53)
            graph = dns.read(rds)
            return dns.plan(graph, previous_resource_ids), graph
        # An Aurora stack when either side names a cluster (the source in its own account).
        aurora = describe_clusters(account.rds, [source]) or describe_clusters(rds, [target])
        kind = CrossAccountClusterPlanner if aurora else CrossAccountPlanner
        planner = kind(source, target, account, options, tag_reader(rds))
        graph = planner.read(rds)
        return planner.plan(graph, previous_resource_ids), graph
    if options.swap_method == DNS:
        dns = DnsPlanner("" if options.rollback else source, target, options, tag_reader(rds),
                         instance_snapshots_of(rds), route53)
        graph = dns.read(rds)
        return dns.plan(graph, previous_resource_ids), graph
    graph = discover(rds, "" if options.rollback else source, target, region)
    clusters = cluster_names(rds, source, target, graph)
    planner: Planner
    if clusters:
        # An Aurora stack: the clusters and their instances (a rollback is refused by the cluster planner).
        graph = discover_cluster(rds, clusters[0], clusters[1], region)
        planner = ClusterPlanner(clusters[0], clusters[1], options, tag_reader(rds), cluster_snapshots_of(rds))
    elif options.rollback:
        planner = RollbackPlanner(target)
    else:
        planner = InstancePlanner(source, target, options, tag_reader(rds), instance_snapshots_of(rds))
    return planner.plan(graph, previous_resource_ids), graph


def handed_plan(source: str, target: str, steps: List[Dict[str, Any]], rollback: bool = False,
                route53: Any = None, account: Optional[SourceAccount] = None) -> Plan:
    """A plan handed back by the caller (as returned by rds_mitosis_plan or rds_mitosis_step), unmarked: a switch by
    DNS when it has a switch step, a refresh across accounts when a step acts in the source account, an Aurora
    cluster's when a step acts on a cluster, a rollback's when asked or without a source."""
    if dns_plan_of(steps):
        options = CloneOptions(rollback=rollback, swap_method=DNS, dns_create=dns_creates(steps))
        if cross_account_plan_of(steps):
            return CrossAccountDnsPlanner(source, target, source_connection(account, source), options,
                                          route53=route53).handed(steps)
        return DnsPlanner(source, target, options, route53=route53).handed(steps)
    if cross_account_plan_of(steps):
        kind = CrossAccountClusterPlanner if any(step.get("cluster") for step in steps) else CrossAccountPlanner
        return kind(source, target, source_connection(account, source)).handed(steps)
    if any(step.get("cluster") for step in steps):
        return ClusterPlanner(source, target).handed(steps)
    if rollback or not source:
        return RollbackPlanner(target).handed(steps)
    return InstancePlanner(source, target).handed(steps)


def source_connection(account: Optional[SourceAccount], source: str) -> SourceAccount:
    """The source account of a plan handed back that copies from another account."""
    if account is None:
        raise MitosisError("This plan copies from another account, and no source account connection is given.",
                           operation="plan", identifier=source,
                           hint="Pass the same source_role_arn or source_profile as to rds_mitosis_plan.")
    return account


def marked_plan(rds: Any, source: str, target: str, steps: List[Dict[str, Any]],
                rollback: bool = False, route53: Any = None,
                account: Optional[SourceAccount] = None) -> Tuple[Plan, Graph]:
    """A plan handed over by the caller, marked again from one describe of the names it holds (and the records, and
    the copies across accounts)."""
    if account is not None:
        source = source_name(source, account, rds.meta.region_name)
    plan = handed_plan(source, target, steps, rollback, route53, account)
    return plan.planner.remark(rds, plan)
