"""`make demo`: the seed README's example, end to end, on the embedded endpoint with the time model on.

Starts the endpoint on 127.0.0.1 with its data plane, seeds mitosis-prod -> mitosis-prod-replica and mitosis-demo ->
mitosis-demo-replica (different attributes), shows the flight plan (check mode), runs the clone with a restart
command, prints the final state; then the same for an Aurora stack (mitosis-aurora-demo, a writer and two readers,
refreshed from mitosis-aurora-prod with an Aurora clone); then for a PostgreSQL stack whose instances are real
servers: what the demo application served before, the refresh with masking rules (customers' names, emails and
phones masked on the clone before its backups and replicas exist), what it serves after its restart, each replica's
rows beside its primary's, a check that no production email is left on any name, and how long each name refused
connections (measured by a probing client, beside the time model's figure); then the same PostgreSQL stack reached
through Route 53 records and refreshed with swap_method=dns, the application on the primary's record, and the
windows measured through each record; then a refresh across accounts: production in account 210987654321, the demo
stack in the run's own account, its snapshot copied and shared there, copied again here and restored, production's
rows checked on every demo name and no copy left in either account. Then it stops the endpoint and its servers.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from devtools import shop
from devtools.bench_clone import DNS_RECORDS, PRIMARY_RECORD, lower_bound, minutes, rename_hold
from devtools.reachability import Prober, name_addresses, records_of
from devtools.rds_endpoint.testing import is_lock_call, running_endpoint
from devtools.seed import (DEMO_DATA, DNS_TTL, DNS_ZONE, PROD_DATA, SHARE_KEY_ALIAS, SOURCE_ACCOUNT, TARGET_ACCOUNT,
                           dns_records, seed_aurora, seed_cross_account, seed_example, seed_postgres_data,
                           source_session)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".collections"))
from ansible_collections.mitosis.rds.plugins.module_utils.aws import AWSConnection, Counter  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.executor import live_plan  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.module import source_account  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.masking import read_rules_file  # noqa: E402
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = [str(Path(sys.executable).with_name("ansible-playbook")), "playbooks/clone.yml"]
BUILD = ROOT / "build"
MASK_RULES = "devtools/playbooks/mask_shop.yml"
# The demo's salt, passed like a secret (never shown by the run).
MASK_SALT = "demo-salt-not-secret"
APP_STATE = BUILD / "demo-app.json"
SECRET_OPTIONS = ("master_password", "mask_salt")  # shown as "..." in the command the demo prints


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


def refresh(endpoint, source, target, show, args, label, restart_command=None, options=None):
    """The flight plan (check mode), then the refresh with a restart command (by default one that notes that it
    ran); `options` are more extra vars (in a file of the build directory: no password on a command line)."""
    print("Seeded:\n" + show(), flush=True)
    options = options or {}
    account = None
    if options.get("source_role_arn"):
        connection = AWSConnection(region=endpoint.env["AWS_REGION"], access_key=endpoint.env["AWS_ACCESS_KEY_ID"],
                                   secret_key=endpoint.env["AWS_SECRET_ACCESS_KEY"], endpoint_url=endpoint.url)
        account = source_account(connection, options, Counter(connection.client("rds")))
    # The plan the run will make: with masking rules, the backups and the replicas wait for the masking.
    planned = CloneOptions(password_source="master_password" if options.get("master_password") else None,
                           mask_rules=read_rules_file(str(ROOT / options["mask_rules"]))
                           if options.get("mask_rules") else None, swap_method=options.get("swap_method", "rename"),
                           dns_zone=options.get("dns_zone"))
    bound = lower_bound(live_plan(endpoint.client("rds"), source, target, planned,
                                  route53=endpoint.client("route53"), account=account)[0].steps)
    endpoint.clear_calls()
    restart_log = BUILD / "demo-restart-{0}.log".format(label)
    BUILD.mkdir(exist_ok=True)
    restart_log.unlink(missing_ok=True)
    # Half a simulated minute between polls: reported durations stay within a poll of the endpoint's clock.
    poll = max(args.speed / 2, 0.02)
    extra = {
        "source": source, "target": target, "poll_interval": poll, "rename_settle_time": poll * 20,
        "restart_command": "{0} && echo restarted the {1} application >> {2}".format(
            restart_command or "true", label, restart_log),
        # Durations are reported in simulated AWS time.
        "report_time_scale": 60.0 / args.speed if args.speed else 1.0,
        **options,
    }
    extra_file = BUILD / "demo-{0}-vars.json".format(label)
    extra_file.write_text(json.dumps(extra))
    extra_file.chmod(0o600)
    shown = ["-e source=" + source, "-e target=" + target] + [
        "-e {0}={1}".format(key, "..." if key in SECRET_OPTIONS else value) for key, value in options.items()]
    env = dict(os.environ, **endpoint.env)
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    # The check-mode run keeps its plan; the refresh runs only while the live plan is that one (approve, then run).
    plan_file = BUILD / "demo-{0}-plan.json".format(label)
    plan_file.unlink(missing_ok=True)
    shown_file = str(plan_file.relative_to(ROOT))  # the playbooks run in ROOT
    for title, flags in (("Flight plan (check mode), kept for approval", ["--check", "-e", "plan_file=" + shown_file]),
                         ("Clone, as approved", ["-e", "approved_plan=" + shown_file])):
        print("\n=== {0}: ansible-playbook playbooks/clone.yml {1}\n".format(title, " ".join(shown + flags)),
              flush=True)
        run = subprocess.run(PLAYBOOK + ["-e", "@" + str(extra_file)] + flags, cwd=ROOT, env=env, check=False)
        if run.returncode != 0:
            print("demo failed: ansible-playbook exited with {0}".format(run.returncode))
            return run.returncode
    print("\nFinal state (same names and attributes, fresh data):\n" + show())
    print("Restart log: " + restart_log.read_text().strip())
    print("The endpoint's duration table implies for this plan: the restart after {0:.0f}m, the end after {1:.0f}m "
          "(compare the summary above; it adds the restart itself and up to a poll per step).".format(
              bound["restart"], bound["end"]))
    mutating = [c for c in endpoint.mutating_calls() if c["service"] != "sts"]  # AssumeRole changes nothing
    lock = [c for c in mutating if is_lock_call(c)]
    print("The clone made {0} mutating API calls, and {1} for its lock ({2} calls in all, check-mode run "
          "included).".format(len(mutating) - len(lock), len(lock), len(endpoint.calls())))
    return 0


def start_app(address, port):
    """The demo application on the demo stack's name (its password from the environment, as a service's would)."""
    APP_STATE.unlink(missing_ok=True)
    app = subprocess.Popen([sys.executable, "-m", "devtools.demo_app", "serve", "--host", address, "--port",
                            str(port), "--state", str(APP_STATE)], cwd=ROOT,
                           env=dict(os.environ, PGPASSWORD=DEMO_DATA.password))
    deadline = time.monotonic() + 30
    while not APP_STATE.exists():
        if app.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the demo application did not start")
        time.sleep(0.05)
    return app


def app_answer():
    return json.loads(subprocess.run([sys.executable, "-m", "devtools.demo_app", "ask", "--state", str(APP_STATE)],
                                     cwd=ROOT, capture_output=True, text=True, check=True).stdout)


def rows_by_name(addresses, password):
    lines, digests = [], {}
    for name, (address, port) in addresses.items():
        with shop.connect(address, port, "mitosis", password) as conn:
            digests[name] = shop.checksums(conn)
            standby = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        lines.append("  {0:<24} {1:<8} {2}".format(name, "replica" if standby else "primary", "  ".join(
            "{0} {1}".format(table, digest) for table, digest in digests[name].items())))
    return lines, digests


def unmasked_left(prod, addresses):
    """How many of production's customers' emails, names and phones each name still serves (masked: none)."""
    with shop.connect(*prod, "mitosis", PROD_DATA.password) as conn:
        originals = {value for row in conn.execute("SELECT name, email, phone FROM customers") for value in row}
    left = {}
    for name, address in addresses.items():
        with shop.connect(*address, "mitosis", DEMO_DATA.password) as conn:
            served = {value for row in conn.execute("SELECT name, email, phone FROM customers") for value in row}
        left[name] = len(served & originals)
    return left


def postgres(endpoint, args):
    """The PostgreSQL stack on the data plane: rows, the application, the masking, and the measured windows."""
    rds = endpoint.client("rds")
    seeded = seed_postgres_data(endpoint.session(), endpoint.url)
    names = [n for n in seeded["instances"] if n.startswith("mitosis-demo")]
    addresses = name_addresses(rds, names)
    prod = name_addresses(rds, ["mitosis-prod"])["mitosis-prod"]
    with shop.connect(*prod, "mitosis", PROD_DATA.password) as conn:
        print("Production (mitosis-prod) holds:\n  {0}".format(json.dumps(shop.summary(conn))))
    app = start_app(*addresses["mitosis-demo"])
    try:
        print("The demo application reads mitosis-demo ({0}:{1}) with a pool of 4 connections. It serves:\n  {2}"
              .format(*addresses["mitosis-demo"], json.dumps(app_answer())), flush=True)
        restart = "cd {0} && {1} -m devtools.demo_app restart --state {2}".format(ROOT, sys.executable, APP_STATE)
        with Prober(addresses, "mitosis", DEMO_DATA.password) as prober:
            code = refresh(endpoint, "mitosis-prod", "mitosis-demo", lambda: describe(rds, seeded["instances"]),
                           args, "postgres", restart,
                           {"mask_rules": MASK_RULES, "mask_salt": MASK_SALT, "master_password": DEMO_DATA.password})
        if code:
            return code
        print("\nAfter its restart the application serves production's rows, masked:\n  {0}".format(
            json.dumps(app_answer())))
    finally:
        subprocess.run([sys.executable, "-m", "devtools.demo_app", "stop", "--state", str(APP_STATE)], cwd=ROOT,
                       check=False)
        app.wait()
    lines, digests = rows_by_name(addresses, DEMO_DATA.password)
    print("\nEach name's rows (count:md5 of each table, read through the name):\n" + "\n".join(lines))
    same = all(digest == digests["mitosis-demo"] for digest in digests.values())
    print("Every replica's rows equal its primary's: {0}".format("yes" if same else "NO"))
    left = unmasked_left(prod, addresses)
    print("Production's emails, names and phones found on the demo names: {0}".format(
        ", ".join("{0} {1}".format(name, count) for name, count in left.items())))
    same = same and not any(left.values())
    model = rename_hold() + minutes("rename")
    print("\nHow long each name refused connections (a client connecting every 50 ms; simulated minutes):")
    for name, seconds in prober.longest().items():
        print("  {0:<24} measured {1:5.1f} min   time model: {2:g} min (rename hold {3:g} + rename {4:g}), plus up "
              "to a poll of the run either side".format(
                  name, seconds / args.speed, model, rename_hold(), minutes("rename")))
    if not same:
        return 1
    print("\n\n=== The same PostgreSQL stack switched by DNS: the application reaches it through Route 53 records "
          "(zone {0}), and the refresh moves them\n".format(DNS_ZONE), flush=True)
    return postgres_dns(endpoint, args, max(prober.longest().values()))


def postgres_dns(endpoint, args, rename_window):
    """The PostgreSQL stack again, its application on the primary's record: a refresh with swap_method=dns, and the
    windows a client measures through each record."""
    endpoint.reset()
    rds = endpoint.client("rds")
    seed_postgres_data(endpoint.session(), endpoint.url)
    zone = dns_records(endpoint.session(), endpoint.url, DNS_RECORDS, DNS_ZONE, DNS_TTL)
    records = records_of(endpoint, rds, DNS_RECORDS)
    print("Records of {0}: {1}".format(DNS_ZONE, ", ".join("{0} -> {1}".format(r, n) for r, n in DNS_RECORDS.items())))
    app = start_app(*records[PRIMARY_RECORD])
    try:
        print("The demo application reads {0} ({1}:{2}). It serves:\n  {3}".format(
            PRIMARY_RECORD, *records[PRIMARY_RECORD], json.dumps(app_answer())), flush=True)
        restart = "cd {0} && {1} -m devtools.demo_app restart --state {2}".format(ROOT, sys.executable, APP_STATE)
        with Prober(records, "mitosis", DEMO_DATA.password) as prober:
            code = refresh(endpoint, "mitosis-prod", PRIMARY_RECORD,
                           lambda: describe(rds, sorted(i["DBInstanceIdentifier"] for i in
                                                        rds.describe_db_instances()["DBInstances"])),
                           args, "postgres-dns", restart,
                           {"swap_method": "dns", "dns_zone": DNS_ZONE, "mask_rules": MASK_RULES,
                            "mask_salt": MASK_SALT, "master_password": DEMO_DATA.password})
        if code:
            return code
        print("\nAfter its restart the application, still on {0}, serves production's rows, masked:\n  {1}".format(
            PRIMARY_RECORD, json.dumps(app_answer())))
    finally:
        subprocess.run([sys.executable, "-m", "devtools.demo_app", "stop", "--state", str(APP_STATE)], cwd=ROOT,
                       check=False)
        app.wait()
    route53 = endpoint.client("route53")
    values = {r["Name"].rstrip("."): r["ResourceRecords"][0]["Value"] for r in route53.list_resource_record_sets(
        HostedZoneId=zone["zone_id"])["ResourceRecordSets"] if r["Type"] == "CNAME"}
    by_address = {i["Endpoint"]["Address"]: i["DBInstanceIdentifier"]
                  for i in rds.describe_db_instances()["DBInstances"]}
    print("The records now point at: {0}".format(", ".join("{0} -> {1}".format(r, by_address.get(v, v))
                                                           for r, v in sorted(values.items()))))
    left = unmasked_left(name_addresses(rds, ["mitosis-prod"])["mitosis-prod"], records)
    print("Production's emails, names and phones found through the records: {0}".format(
        ", ".join("{0} {1}".format(name, count) for name, count in left.items())))
    print("\nHow long each record refused connections (a client connecting every 50 ms; simulated minutes):")
    for name, seconds in prober.longest().items():
        print("  {0:<24} measured {1:5.1f} min".format(name, seconds / args.speed))
    print("The longest window of a name the application uses: {0:.1f} min by rename, {1:.1f} min by DNS.".format(
        rename_window / args.speed, max(prober.longest().values()) / args.speed))
    if any(left.values()) or any(prober.longest().values()):
        return 1
    print("\n\n=== Production in another account: mitosis-prod in account {0}, the demo stack in the run's own "
          "account {1}\n".format(*ACCOUNTS), flush=True)
    return postgres_accounts(endpoint, args)


ACCOUNTS = (SOURCE_ACCOUNT, TARGET_ACCOUNT)


def postgres_accounts(endpoint, args):
    """The PostgreSQL stacks in two accounts: a refresh across them, production's rows checked on every demo name,
    and no snapshot copy left in either account."""
    endpoint.reset()
    seeded = seed_cross_account(endpoint.session(), endpoint.url)
    rds, source_rds = endpoint.client("rds"), endpoint.client("rds", source_session(endpoint.session(), endpoint.url))
    prod = name_addresses(source_rds, ["mitosis-prod"])["mitosis-prod"]
    with shop.connect(*prod, "mitosis", PROD_DATA.password) as conn:
        production = shop.checksums(conn)
        print("Production (mitosis-prod, account {0}, encrypted with its aws/rds key) holds:\n  {1}".format(
            seeded["accounts"]["source"], json.dumps(shop.summary(conn))))
    code = refresh(endpoint, "mitosis-prod", "mitosis-demo", lambda: describe(rds, seeded["instances"]), args,
                   "accounts", options={"source_role_arn": seeded["role_arn"], "source_kms_key": SHARE_KEY_ALIAS,
                                        "master_password": DEMO_DATA.password})
    if code:
        return code
    lines, digests = rows_by_name(name_addresses(rds, seeded["instances"]), DEMO_DATA.password)
    print("\nEach demo name's rows (count:md5 of each table):\n" + "\n".join(lines))
    same = all(digest == production for digest in digests.values())
    print("Every demo name serves production's rows: {0}".format("yes" if same else "NO"))
    left = {account: [s["DBSnapshotIdentifier"] for s in client.describe_db_snapshots(SnapshotType="manual")[
        "DBSnapshots"] if s["DBSnapshotIdentifier"].startswith("mitosis-" + TARGET_ACCOUNT)]
        for account, client in (("source", source_rds), ("target", rds))}
    print("Snapshot copies of this refresh left: source account {0}, target account {1}".format(
        len(left["source"]), len(left["target"])))
    for account in ("source", "target"):
        calls = [c["operation"] for c in endpoint.mutating_calls(seeded["accounts"][account])
                 if c["service"] != "sts" and not is_lock_call(c)]
        print("Mutating calls in the {0} account ({1}): {2}".format(account, seeded["accounts"][account], len(calls)))
    return 0 if same and not any(left.values()) else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=0.5, help="real seconds per simulated AWS minute")
    args = parser.parse_args(argv)
    with running_endpoint(speed=args.speed, data_plane=True) as endpoint:
        print("Embedded RDS endpoint on {0} (one simulated AWS minute = {1} s)".format(endpoint.url, args.speed))
        rds = endpoint.client("rds")
        names = seed_example(endpoint.session(), endpoint.url)["instances"]
        code = refresh(endpoint, "mitosis-prod", "mitosis-demo", lambda: describe(rds, names), args, "demo")
        if code:
            return code
        print("\n\n=== The same for an Aurora stack: mitosis-aurora-demo from mitosis-aurora-prod\n", flush=True)
        aurora = seed_aurora(endpoint.session(), endpoint.url)["clusters"]
        code = refresh(endpoint, aurora["source"], aurora["target"],
                       lambda: describe_clusters(rds, list(aurora.values())), args, "aurora")
        if code:
            return code
        print("\n\n=== A PostgreSQL stack with real data: every instance a PostgreSQL server on the endpoint's data "
              "plane\n", flush=True)
        endpoint.reset()  # the same names as the first stack's
        return postgres(endpoint, args)


if __name__ == "__main__":
    sys.exit(main())
