"""`make bench`: how planning scales with the size of the account.

For accounts of growing size (unrelated instances plus the source and a target graph of 1 or 15
replicas) it prints the API calls a plan makes, the total time to plan (paginated describe pages,
tags of the target members, planning), and the planner's own time (graph, validation, steps) per
1,000 instances. Figures are measured in one run on the embedded endpoint, whose describe is far
slower than AWS's: compare the ratios, not the absolute numbers.
"""

import argparse
import sys
import time
from pathlib import Path

from devtools.rds_endpoint.testing import running_endpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".collections"))
from ansible_collections.mitosis.rds.plugins.module_utils.aws import Counter  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.graph import Graph, describe_instances, tag_reader  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.planner import plan_clone  # noqa: E402


def build_target(endpoint, replicas):
    rds = endpoint.client("rds")
    for name in ("mitosis-prod", "mitosis-demo"):
        rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro",
                               AllocatedStorage=20, MasterUsername="mitosis", MasterUserPassword="not-a-password",
                               BackupRetentionPeriod=1)
    endpoint.settle()
    for index in range(replicas):
        rds.create_db_instance_read_replica(DBInstanceIdentifier="mitosis-demo-r{0:02d}".format(index),
                                            SourceDBInstanceIdentifier="mitosis-demo")
    endpoint.settle()


def measure(endpoint, size, replicas, repeats):
    endpoint.reset()
    if size:
        endpoint.bulk_create("bench", size)
    build_target(endpoint, replicas)
    rds = endpoint.client("rds")
    counter = Counter(rds)
    totals, computes = [], []
    for _attempt in range(repeats):
        counter.count = 0
        tags_of = tag_reader(rds)
        started = time.perf_counter()
        graph = Graph(describe_instances(rds), "us-east-1")
        plan_clone(graph, "mitosis-prod", "mitosis-demo", tags_of, lambda name: [])
        totals.append(time.perf_counter() - started)
        calls = counter.count
        # The planner alone: graph building, validation and planning, with the tags already read.
        instances = list(graph.instances.values())
        started = time.perf_counter()
        plan_clone(Graph(instances, "us-east-1"), "mitosis-prod", "mitosis-demo", tags_of, lambda name: [])
        computes.append(time.perf_counter() - started)
    return {"instances": size + replicas + 2, "replicas": replicas, "calls": calls,
            "total": min(totals), "plan": min(computes)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000,5000", help="unrelated instances per account")
    parser.add_argument("--repeats", type=int, default=3, help="plans per account (the fastest counts)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print("{0:>9} {1:>8} {2:>9} {3:>10} {4:>11} {5:>21}".format(
        "instances", "replicas", "API calls", "total (s)", "planner (s)", "planner ms / 1,000"))
    with running_endpoint(speed=0.0) as endpoint:
        for replicas in (1, 15):
            rows = [measure(endpoint, size, replicas, args.repeats) for size in sizes]
            for row in rows:
                print("{instances:>9} {replicas:>8} {calls:>9} {total:>10.3f} {plan:>11.4f} {per:>21.3f}".format(
                    per=row["plan"] / row["instances"] * 1e6, **row))
            first, last = rows[0], rows[-1]
            growth = last["instances"] / first["instances"]
            print("  {0} replica(s): {1:.1f}x the instances -> {2:.1f}x the planner time, {3:.1f}x the total time "
                  "(reading pages), API calls {4} -> {5}".format(replicas, growth, last["plan"] / first["plan"],
                                                                 last["total"] / first["total"], first["calls"],
                                                                 last["calls"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
