"""`make bench`, part 2: what planning a clone costs as the account grows.

For accounts of growing size (unrelated instances, built at once in the endpoint's backend, plus the
source and a seeded target graph) it plans the clone the way the collection does
(executor.live_plan: filtered describes level by level from the target, the tags of the target's
members) and prints the API calls by operation, the describes against the allowance of depth + 4
(depth: replication levels below the target's root), the seconds to plan (the fastest of the
repeats) and the planner's own share (graph, validation, steps, with the tags already read).
Figures are measured on the embedded endpoint, slower than AWS per call: compare the rows, not the
absolute numbers.
"""

import argparse
import sys
import time
from pathlib import Path

from devtools.bench_clone import SCENARIOS, SOURCE, TARGET, depth, verdict
from devtools.rds_endpoint.testing import running_endpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".collections"))
from ansible_collections.mitosis.rds.plugins.module_utils.aws import Counter  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.executor import live_plan  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.graph import Graph  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.planner import plan_clone  # noqa: E402


def measure(endpoint, size, scenario, repeats):
    endpoint.reset()
    started = time.perf_counter()
    if size:
        endpoint.bulk_create("bench", size)
    seeded = SCENARIOS[scenario][0](endpoint.session(), endpoint.url)
    build = time.perf_counter() - started
    totals, computes, describes, by_operation, plan = [], [], [], {}, None
    for _attempt in range(repeats):
        rds = endpoint.client("rds")  # a new client per plan: its counter counts this plan's calls only
        counter = Counter(rds)
        started = time.perf_counter()
        plan, graph = live_plan(rds, SOURCE, TARGET)
        totals.append(time.perf_counter() - started)
        by_operation = dict(counter.by_operation)
        # The planner alone: graph, validation and steps from the instances already read (tags: none to read).
        started = time.perf_counter()
        plan_clone(Graph(list(graph.instances.values()), graph.region), SOURCE, TARGET, lambda inst: [],
                   lambda name: [])
        computes.append(time.perf_counter() - started)
        # One describe filtered on one name: the endpoint's share (moto reads every instance to filter).
        started = time.perf_counter()
        rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [TARGET]}])
        describes.append(time.perf_counter() - started)
    return {"instances": size + len(seeded["instances"]), "graph": scenario, "nodes": len(plan.node_names()),
            "depth": depth(plan), "calls": sum(by_operation.values()), "by_operation": by_operation,
            "describes": by_operation.get("DescribeDBInstances", 0), "total": min(totals), "plan": min(computes),
            "describe": min(describes),
            "build": build}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,5000,50000", help="unrelated instances per account")
    parser.add_argument("--graphs", default="seed,wide,cascade", help="target graphs (devtools.bench_clone)")
    parser.add_argument("--repeats", type=int, default=3, help="plans per account (the fastest counts)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    graphs = [g for g in args.graphs.split(",") if g]
    print("\n== Planning cost: executor.live_plan (as rds_mitosis_plan) by account size, time model off; "
          "seconds: the fastest of {0} plans".format(args.repeats))
    print("{0:>9} {1:<8} {2:>5} {3:>5} {4:>9} {5:>9} {6:>13} {7:>9} {8:>10} {9:>11} {10:>14}".format(
        "instances", "graph", "nodes", "depth", "API calls", "describes", "depth + 4", "list-tags", "plan (s)",
        "planner (s)", "1 describe (s)"))
    started = time.time()
    rows = []
    with running_endpoint(speed=0.0) as endpoint:
        for graph in graphs:
            for size in sizes:
                row = measure(endpoint, size, graph, args.repeats)
                rows.append(row)
                allowed = row["depth"] + 4
                print("{instances:>9,} {graph:<8} {nodes:>5} {depth:>5} {calls:>9} {describes:>9} {allow:>8} {ok:<4} "
                      "{tags:>9} {total:>10.3f} {plan:>11.4f} {describe:>14.3f}".format(
                          allow=allowed, ok=verdict(row["describes"] <= allowed),
                          tags=row["by_operation"].get("ListTagsForResource", 0), **row), flush=True)
    others = sorted({op for row in rows for op in row["by_operation"]} - {"DescribeDBInstances",
                                                                          "ListTagsForResource"})
    print("Calls by operation: DescribeDBInstances, ListTagsForResource{0}; building the largest account took "
          "{1:.0f} s.".format("".join(", " + op for op in others), max(row["build"] for row in rows)))
    for graph in graphs:
        mine = [row for row in rows if row["graph"] == graph]
        first, last = mine[0], mine[-1]
        print("  {0}: {1:.0f}x the instances -> API calls {2} -> {3}, planning {4:.3f} s -> {5:.3f} s ({6:.1f}x)"
              .format(graph, last["instances"] / first["instances"], first["calls"], last["calls"], first["total"],
                      last["total"], last["total"] / first["total"]))
    print("plan: live_plan's seconds (API calls included); planner: plan_clone alone on the instances read; "
          "1 describe: one\n  DescribeDBInstances filtered on one name, the endpoint's own cost, which grows with the "
          "account in moto.")
    constant = all(row["describes"] <= row["depth"] + 4 for row in rows) and all(
        len({row["calls"] for row in rows if row["graph"] == graph}) == 1 for graph in graphs)
    print("Constant API calls at any account size, at most depth + 4 describes: {0}".format(verdict(constant)))
    print("(planning benchmark: {0:.0f} s)".format(time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
