#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_graph_facts
short_description: Discover the replication graph of an RDS instance, or an Aurora cluster and its instances
version_added: 0.1.0
description:
  - Returns the replication tree that contains an RDS instance, from its root down, as RV(ansible_facts.rds_graph).
  - Walks the graph with filtered C(DescribeDBInstances) calls, one per level (up to the root through
    C(ReadReplicaSourceDBInstanceIdentifier), then down through C(ReadReplicaDBInstanceIdentifiers)), so its cost
    does not grow with the number of instances in the account. ARNs are normalised to identifiers; a replica
    or source in another region is reported under RV(ansible_facts.rds_graph.cross_region), never mistaken for a
    local instance.
  - For an Aurora cluster (named by its identifier, or by one of its instances) the graph is the cluster and its
    instances, writer first, read with filtered C(DescribeDBClusters) and C(DescribeDBInstances) calls;
    RV(ansible_facts.rds_graph.cluster) describes the cluster.
  - Read-only.
author:
  - mitosis.rds developers (@mitosis-rds)
options:
  identifier:
    description:
      - Any member of the graph (the root or a replica), an Aurora cluster, or one of a cluster's instances.
    type: str
    required: true
    aliases: [db_instance_identifier]
  tags:
    description:
      - Fetch each member's tags with C(ListTagsForResource).
    type: bool
    default: true
extends_documentation_fragment:
  - mitosis.rds.aws
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
seealso:
  - module: mitosis.rds.rds_mitosis_plan
"""

EXAMPLES = r"""
- name: Read the demo stack's replication graph
  mitosis.rds.rds_graph_facts:
    identifier: mitosis-demo

- name: Show its members, parents first
  ansible.builtin.debug:
    msg: "{{ rds_graph.members }}"

- name: Read an Aurora stack, and show its writer endpoint
  mitosis.rds.rds_graph_facts:
    identifier: mitosis-aurora-demo

- name: Show the writer endpoint
  ansible.builtin.debug:
    msg: "{{ rds_graph.cluster.endpoint }} (writer {{ rds_graph.cluster.writer }})"
"""

RETURN = r"""
ansible_facts:
  description: Facts set by this module.
  returned: always
  type: dict
  contains:
    rds_graph:
      description: The replication graph.
      returned: always
      type: dict
      contains:
        identifier:
          description: The instance asked about.
          type: str
          sample: mitosis-demo-replica
        root:
          description: The root of its graph (for an Aurora cluster, the cluster's identifier).
          type: str
          sample: mitosis-demo
        members:
          description: Every local member, parents before children (an Aurora cluster's instances, writer first).
          type: list
          elements: str
          sample: ["mitosis-demo", "mitosis-demo-replica"]
        nodes:
          description: One entry per member.
          type: list
          elements: dict
          contains:
            identifier:
              description: The member's C(DBInstanceIdentifier).
              type: str
            parent:
              description: Its source, or null for the root.
              type: str
            children:
              description: Its local replicas.
              type: list
              elements: str
            depth:
              description: 0 for the root, 1 for its replicas, and so on.
              type: int
            arn:
              description: C(DBInstanceArn).
              type: str
            resource_id:
              description: C(DbiResourceId), which survives renames.
              type: str
            engine:
              description: Database engine.
              type: str
            engine_version:
              description: Engine version.
              type: str
            status:
              description: C(DBInstanceStatus).
              type: str
            instance_class:
              description: C(DBInstanceClass).
              type: str
            vpc_id:
              description: VPC of its subnet group.
              type: str
            cluster:
              description: Aurora cluster it belongs to, if any.
              type: str
            deletion_protection:
              description: Whether deletion protection is on.
              type: bool
            cross_region_source:
              description: Its source when that lives in another region (C(identifier), C(region)).
              type: dict
            cross_region_replicas:
              description: Its replicas in other regions (C(identifier), C(region)).
              type: list
              elements: dict
            tags:
              description: The member's tags as a dict (when O(tags=true)).
              type: dict
            writer:
              description: Whether the instance is its Aurora cluster's writer.
              type: bool
              returned: for an Aurora cluster
            promotion_tier:
              description: The instance's failover priority in its Aurora cluster.
              type: int
              returned: for an Aurora cluster
        cluster:
          description: The Aurora cluster.
          returned: for an Aurora cluster
          type: dict
          contains:
            identifier:
              description: C(DBClusterIdentifier).
              type: str
              sample: mitosis-aurora-demo
            arn:
              description: C(DBClusterArn).
              type: str
            resource_id:
              description: C(DbClusterResourceId), which survives renames.
              type: str
            engine:
              description: C(aurora-mysql) or C(aurora-postgresql).
              type: str
            engine_version:
              description: Engine version.
              type: str
            engine_mode:
              description: C(provisioned) (Serverless v2 instances included) or C(serverless) (v1).
              type: str
            status:
              description: The cluster's C(Status).
              type: str
            endpoint:
              description: The writer endpoint.
              type: str
            reader_endpoint:
              description: The reader endpoint.
              type: str
            port:
              description: The cluster's port.
              type: int
            writer:
              description: The writer instance.
              type: str
            deletion_protection:
              description: Whether deletion protection is on.
              type: bool
            global_cluster:
              description: The global database it belongs to, if any.
              type: str
            tags:
              description: The cluster's tags as a dict (when O(tags=true)).
              type: dict
        cross_region:
          description: Members with a replication link to another region.
          type: list
          elements: dict
"""

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.cluster import cluster_graph_facts
from ansible_collections.mitosis.rds.plugins.module_utils.graph import graph_facts, graph_of, list_tags
from ansible_collections.mitosis.rds.plugins.module_utils.module import MitosisModule


def discover(module):
    rds = module.connection.client("rds")
    identifier = module.params["identifier"]
    region = rds.meta.region_name
    graph = graph_of(rds, identifier, region)
    if identifier not in graph or graph.get(identifier).get("DBClusterIdentifier"):
        facts = cluster_graph_facts(rds, identifier, region,
                                    (lambda desc: list_tags(rds, desc)) if module.params["tags"] else None)
        if facts is None:
            raise MitosisError("Neither a DB instance nor an Aurora cluster is named {0} in region {1}.".format(
                identifier, region), operation="DescribeDBInstances", identifier=identifier,
                hint="Check the identifier and the region/credentials you use.")
        return {"changed": False, "ansible_facts": {"rds_graph": facts}}
    tags_of = (lambda name: list_tags(rds, graph.get(name))) if module.params["tags"] else None
    return {"changed": False, "ansible_facts": {"rds_graph": graph_facts(graph, identifier, tags_of)}}


def main():
    module = MitosisModule(
        argument_spec=dict(
            identifier=dict(type="str", required=True, aliases=["db_instance_identifier"]),
            tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    module.run(discover)


if __name__ == "__main__":
    main()
