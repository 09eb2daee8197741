"""`make demo`: the seed README's example, end to end, on the embedded endpoint with the time model on.

Starts the endpoint on 127.0.0.1, seeds mitosis-prod -> mitosis-prod-replica and mitosis-demo ->
mitosis-demo-replica (different attributes), shows the flight plan (check mode), runs the clone with a
restart command, prints the final state; then the same for an Aurora stack (mitosis-aurora-demo, a writer
and two readers, refreshed from mitosis-aurora-prod with an Aurora clone), and stops the endpoint.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from devtools.bench_clone import lower_bound
from devtools.rds_endpoint.testing import is_lock_call, running_endpoint
from devtools.seed import seed_aurora, seed_example

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".collections"))
from ansible_collections.mitosis.rds.plugins.module_utils.executor import live_plan  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = [str(Path(sys.executable).with_name("ansible-playbook")), "playbooks/clone.yml"]


def describe(rds, names):
    rows = []
    for inst in sorted(rds.describe_db_instances()["DBInstances"], key=lambda i: i["DBInstanceIdentifier"]):
        if inst["DBInstanceIdentifier"] not in names and not inst["DBInstanceIdentifier"].startswith(("temp-", "old-")):
            continue
        tags = rds.list_tags_for_resource(ResourceName=inst["DBInstanceArn"])["TagList"]
        rows.append("  {0:<24} source={1:<14} class={2:<13} port={3} tags={4}".format(
            inst["DBInstanceIdentifier"], inst.get("ReadReplicaSourceDBInstanceIdentifier") or "-",
            inst["DBInstanceClass"], inst["Endpoint"]["Port"], {t["Key"]: t["Value"] for t in tags}))
    return "\n".join(rows)


def describe_clusters(rds, names):
    rows = []
    for cluster in sorted(rds.describe_db_clusters()["DBClusters"], key=lambda c: c["DBClusterIdentifier"]):
        name = cluster["DBClusterIdentifier"]
        if name not in names and not name.startswith(("temp-", "old-")):
            continue
        tags = rds.list_tags_for_resource(ResourceName=cluster["DBClusterArn"])["TagList"]
        rows.append("  {0:<24} cluster port={1} parameter group={2} resource id={3} tags={4}".format(
            name, cluster["Port"], cluster["DBClusterParameterGroup"], cluster["DbClusterResourceId"],
            {t["Key"]: t["Value"] for t in tags}))
        for member in cluster["DBClusterMembers"]:
            inst = rds.describe_db_instances(DBInstanceIdentifier=member["DBInstanceIdentifier"])["DBInstances"][0]
            rows.append("    {0:<22} {1:<6} class={2:<13} tier={3}".format(
                inst["DBInstanceIdentifier"], "writer" if member["IsClusterWriter"] else "reader",
                inst["DBInstanceClass"], member["PromotionTier"]))
    return "\n".join(rows)


def refresh(endpoint, source, target, show, args, label):
    """The flight plan (check mode), then the refresh with a restart command; returns the exit status."""
    rds = endpoint.client("rds")
    # Half a simulated minute between polls: reported durations stay within a poll of the endpoint's clock.
    poll = max(args.speed / 2, 0.02)
    print("Seeded:\n" + show(), flush=True)
    bound = lower_bound(live_plan(rds, source, target)[0].steps)
    endpoint.clear_calls()
    restart_log = ROOT / "build" / "demo-restart-{0}.log".format(label)
    restart_log.parent.mkdir(exist_ok=True)
    restart_log.unlink(missing_ok=True)
    extra = [
        "-e", "source=" + source, "-e", "target=" + target,
        "-e", "restart_command='echo restarted the {0} application >> {1}'".format(label, restart_log),
        "-e", "poll_interval={0}".format(poll), "-e", "rename_settle_time={0}".format(poll * 20),
        # Durations are reported in simulated AWS time.
        "-e", "report_time_scale={0}".format(60.0 / args.speed if args.speed else 1.0),
    ]
    env = dict(os.environ, **endpoint.env)
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    for title, flags in (("Flight plan (check mode)", ["--check"]), ("Clone", [])):
        print("\n=== {0}: ansible-playbook playbooks/clone.yml {1}\n".format(title, " ".join(extra[:4] + flags)),
              flush=True)
        run = subprocess.run(PLAYBOOK + extra + flags, cwd=ROOT, env=env, check=False)
        if run.returncode != 0:
            print("demo failed: ansible-playbook exited with {0}".format(run.returncode))
            return run.returncode
    print("\nFinal state (same names and attributes, fresh data):\n" + show())
    print("Restart log: " + restart_log.read_text().strip())
    print("The endpoint's duration table implies for this plan: the restart after {0:.0f}m, the end after {1:.0f}m "
          "(compare the summary above; it adds the restart itself and up to a poll per step).".format(
              bound["restart"], bound["end"]))
    mutating = endpoint.mutating_calls()
    lock = [c for c in mutating if is_lock_call(c)]
    print("The clone made {0} mutating API calls, and {1} for its lock ({2} calls in all, check-mode run "
          "included).".format(len(mutating) - len(lock), len(lock), len(endpoint.calls())))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=0.5, help="real seconds per simulated AWS minute")
    args = parser.parse_args(argv)
    with running_endpoint(speed=args.speed) as endpoint:
        print("Embedded RDS endpoint on {0} (one simulated AWS minute = {1} s)".format(endpoint.url, args.speed))
        rds = endpoint.client("rds")
        names = seed_example(endpoint.session(), endpoint.url)["instances"]
        code = refresh(endpoint, "mitosis-prod", "mitosis-demo", lambda: describe(rds, names), args, "demo")
        if code:
            return code
        print("\n\n=== The same for an Aurora stack: mitosis-aurora-demo from mitosis-aurora-prod\n", flush=True)
        aurora = seed_aurora(endpoint.session(), endpoint.url)["clusters"]
        return refresh(endpoint, aurora["source"], aurora["target"],
                       lambda: describe_clusters(rds, list(aurora.values())), args, "aurora")


if __name__ == "__main__":
    sys.exit(main())
