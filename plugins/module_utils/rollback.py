# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling a refresh back while its old-* instances still exist (after the swap, before the cleanup).

Each clone X moves aside to rej-X, and old-X takes its name X back as soon as it is free (the same rename pairs
as the swap); the application restarts; only then are the rejected clones deleted, leaves first. As for a clone,
AWS is the only state: which of X, old-X and rej-X exist says what is done, so a rollback resumes from any
interruption, and a state no rollback explains stops it before any call.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .graph import Graph, describe_instances, old_name, rejected_name
from .names import CLEANUP, COMPLETE, DELETE, MODIFY, RESTART, RESTART_ACTION, ROLLBACK, SWAP
from .plans import ROLLBACK_WORDS, Node, Plan, Planner, StepList, fail, moved_after_clone, name_states
from .planner import discover_nodes, plan_names
from .steps import Delete, Restart, Step, SwapIn, SwapOut


# Which of X, old-X, rej-X hold a node's names during a rollback.
ROLLBACK_STATES = {(True, True, False): "swapped", (False, True, True): "aside", (True, False, True): "restored",
                   (True, False, False): "kept"}


def classify_rollback(nodes: List[Node]) -> str:
    """The rollback's phase from which of X, old-X and rej-X exist; states no rollback explains are errors."""
    target = nodes[0].name
    for node in nodes:
        if node.temp is not None:
            fail("{0} exists: the refresh of {1} has not finished its swap, so there is nothing to roll back yet."
                 .format(node.temp["DBInstanceIdentifier"], target), node.temp["DBInstanceIdentifier"],
                 "Run the refresh again to finish its swap, then roll back if the application needs the old data.")
    states = name_states(
        nodes, lambda n: [(n.name, n.current), (old_name(n.name), n.old), (rejected_name(n.name), n.rejected)],
        ROLLBACK_STATES, "rollback", "Inspect these instances and restore the missing name by hand.")
    for node in nodes:
        # The clone is the newer instance: never move the original aside as if it were the clone.
        if states[node.name] == "swapped" and moved_after_clone(node):
            fail("{0} is older than {1}, so {1} is not the instance a refresh moved aside for {0}."
                 .format(node.name, old_name(node.name)), old_name(node.name),
                 "Inspect both instances; rename or delete the leftover {0} by hand.".format(old_name(node.name)))
    values = set(states.values())
    if values == {"kept"}:
        return COMPLETE
    if values & {"swapped", "aside"}:
        kept = [name for name, state in states.items() if state == "kept"]
        if kept:
            # The refresh's cleanup already deleted old-* of these: the original graph cannot come back whole.
            fail("{0} has no {1} any more (the refresh's cleanup deleted it), so the original graph of {2} cannot be "
                 "put back whole.".format(kept[0], old_name(kept[0]), target), old_name(kept[0]),
                 "Nothing was changed. Restore {0} from a snapshot if you need it, or keep the refreshed graph."
                 .format(kept[0]))
        return SWAP
    return CLEANUP


def build_rollback_steps(nodes: List[Node]) -> List[Step]:
    """Every step of a rollback: rename pairs (X aside to rej-X, old-X back to X), the restart, the deletes."""
    built = StepList()
    add = built.add
    root = nodes[0]
    for node in nodes:
        add(SwapOut, "aside:" + node.name, SWAP, MODIFY, node.name,
            {"ApplyImmediately": True, "NewDBInstanceIdentifier": rejected_name(node.name)}, node.name, [])
    for node in nodes:
        add(SwapIn, "back:" + node.name, SWAP, MODIFY, old_name(node.name),
            {"ApplyImmediately": True, "NewDBInstanceIdentifier": node.name}, node.name, ["aside:" + node.name])
    add(Restart, "restart:" + root.name, RESTART, RESTART_ACTION, root.name, {}, root.name,
        ["back:" + n.name for n in nodes])
    # Leaves first: deleting a rejected primary before its replicas would promote them.
    for node in reversed(nodes):
        add(Delete, "discard:" + node.name, CLEANUP, DELETE, rejected_name(node.name), {"SkipFinalSnapshot": True},
            node.name, ["restart:" + root.name] + ["discard:" + c for c in node.children])
    return built.steps


def validate_discardable(nodes: List[Node]) -> None:
    for node in nodes:
        for inst in (node.current if node.old is not None else None, node.rejected):
            if inst is not None and inst.get("DeletionProtection"):
                name = inst["DBInstanceIdentifier"]
                fail("{0} has deletion protection enabled, which would block the deletion of the rejected clone."
                     .format(name), name, "Disable it first: aws rds modify-db-instance --db-instance-identifier {0} "
                                          "--no-deletion-protection --apply-immediately".format(name))


class RollbackPlanner(Planner):
    """The rollback of the refresh of `target`: the instances it retired (old-*) back under their names."""

    words = ROLLBACK_WORDS
    planned_when = "the rollback was planned"

    def __init__(self, target: str) -> None:
        super().__init__("", target)

    def read_plan(self, rds: Any, plan: Plan) -> Graph:
        return Graph(describe_instances(rds, plan_names("", plan.node_names())), rds.meta.region_name)

    def nodes(self, graph: Graph) -> List[Node]:
        return discover_nodes(graph, self.target)

    def check(self, graph: Graph, nodes: List[Node]) -> None:
        if not self.target:
            fail("The target is required: the root of the graph whose refresh is rolled back.")
        root = nodes[0]
        if all(inst is None for inst in (root.current, root.temp, root.old, root.rejected)):
            fail("Target instance {0} was not found in region {1}.".format(self.target, graph.region), self.target,
                 "Check the identifier and the region/credentials you use.")

    def classify(self, graph: Graph, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
        return classify_rollback(nodes)

    def build(self, graph: Graph, nodes: List[Node], phase: str) -> Plan:
        if phase == COMPLETE:
            fail("Nothing to roll back: no old-* instance of the graph of {0} exists (the refresh's cleanup deleted "
                 "them, or a rollback finished).".format(self.target), self.target,
                 "A rollback is possible only between a refresh's swap and its cleanup, while old-* instances exist.")
        validate_discardable(nodes)
        return Plan("", self.target, build_rollback_steps(nodes), nodes, ROLLBACK, phase,
                    why="the application needs the data it had before the refresh")

    def handed(self, steps: List[Dict[str, Any]]) -> Plan:
        plan = Plan("", self.target, [Step.from_dict(s) for s in steps], [], ROLLBACK, "")
        plan.planner = self
        return plan


def plan_rollback(graph: Graph, target: str) -> Plan:
    """The plan that puts the instances a refresh retired back under their names, from the live `graph`."""
    return RollbackPlanner(target).plan(graph)
