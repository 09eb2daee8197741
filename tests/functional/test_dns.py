"""playbooks/clone.yml with swap_method=dns on the data plane (issue 22): the application reaches the demo stack
through Route 53 records, and a client that connects through the primary's record every 100 ms is never refused
while the refresh clones into the other generation, moves the records in one change and retires the generation it
left; production's rows are served after the restart. The next refresh uses the other generation; with
keep_previous the previous generation stays, and the rollback brings its data back in one change."""

from devtools import shop
from devtools.reachability import Prober, record_addresses
from devtools.seed import DEMO_DATA, PROD_DATA, dns_records, seed_postgres_data

from .helpers import FAST, instances, mutating
from .test_clone import restart_command, restarts

ZONE = "demo.internal"
RECORDS = {"db.demo.internal": "mitosis-demo", "db-ro-a.demo.internal": "mitosis-demo-replica-a",
           "db-ro-b.demo.internal": "mitosis-demo-replica-b"}
PRIMARY = "db.demo.internal"
# The demo's own records get a TTL of 5 s: the run waits for it after the change is in sync.
TTL = 5


def dns_vars(log, **extra):
    # The run's TTL wait scaled like the endpoint's clock (speed 0: the records move at once).
    return dict(FAST, source="mitosis-prod", target=PRIMARY, swap_method="dns", dns_zone=ZONE, report_time_scale=60,
                master_password=DEMO_DATA.password, restart_command=restart_command(log), **extra)


def seed_dns_stack(endpoint):
    """The PostgreSQL stacks with their rows, and the demo application's records; the call record cleared."""
    seed_postgres_data(endpoint.session(), endpoint.url)
    zone = dns_records(endpoint.session(), endpoint.url, RECORDS, ZONE, TTL)
    endpoint.clear_calls()
    return zone


def record_values(endpoint, zone_id):
    route53 = endpoint.client("route53")
    found = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {r["Name"].rstrip("."): r["ResourceRecords"][0]["Value"] for r in found if r["Type"] == "CNAME"}


def holders(endpoint, zone_id):
    """Which instance each record points at."""
    by_address = {i["Endpoint"]["Address"]: name for name, i in instances(endpoint).items()}
    return {name: by_address.get(value) for name, value in record_values(endpoint, zone_id).items()}


def served(endpoint, record):
    """The shop's checksums as the record serves them now, with the demo's password."""
    address = record_addresses(endpoint, [record], 5430)[record]
    with shop.connect(address[0], address[1], "mitosis", DEMO_DATA.password) as conn:
        return shop.checksums(conn)


def production(endpoint):
    live = instances(endpoint)["mitosis-prod"]["Endpoint"]
    with shop.connect(live["Address"], live["Port"], "mitosis", PROD_DATA.password) as conn:
        return shop.checksums(conn)


def generation(suffix):
    return {record: name + suffix for record, name in RECORDS.items()}


def marker(endpoint, record):
    """The marker row written through `record` (the demo application's own data), or None."""
    address = record_addresses(endpoint, [record], 5430)[record]
    with shop.connect(address[0], address[1], "mitosis", DEMO_DATA.password) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS demo_marker (generation text)")
        found = conn.execute("SELECT generation FROM demo_marker").fetchone()
        return found[0] if found else None


def write_marker(endpoint, record, text):
    address = record_addresses(endpoint, [record], 5430)[record]
    with shop.connect(address[0], address[1], "mitosis", DEMO_DATA.password) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS demo_marker (generation text)")
        conn.execute("INSERT INTO demo_marker VALUES (%s)", (text,))


def probed(endpoint, run):
    """`run()`'s result, while a client connects through the primary's record every 100 ms; with its windows."""
    with Prober(record_addresses(endpoint, [PRIMARY], 5430), "mitosis", DEMO_DATA.password, interval=0.1) as prober:
        result = run()
    return result, prober.windows()


def test_refreshes_by_dns_alternate_generations_never_refuse_the_application_and_roll_back_in_one_change(
        data_endpoint, data_playbook, tmp_path):
    zone = seed_dns_stack(data_endpoint)
    old_data = served(data_endpoint, PRIMARY)
    log = tmp_path / "restarts.jsonl"

    # 1. The first refresh clones into the -a generation; the application is never refused.
    result, windows = probed(data_endpoint, lambda: data_playbook("playbooks/clone.yml", dns_vars(log)))
    assert result.rc == 0, result
    assert windows == {PRIMARY: []}
    assert len(restarts(log)) == 1
    assert holders(data_endpoint, zone["zone_id"]) == generation("-a")
    assert served(data_endpoint, PRIMARY) == production(data_endpoint) != old_data
    assert sorted(instances(data_endpoint)) == sorted(["mitosis-prod", "mitosis-prod-replica"]
                                                      + list(generation("-a").values()))
    # No name the application uses moved: only the generation the records left was renamed, then deleted.
    renamed = [(c["identifier"], c["new_identifier"]) for c in mutating(data_endpoint) if c["new_identifier"]]
    assert sorted(renamed) == sorted((n, "old-" + n) for n in RECORDS.values())
    deleted = [c["identifier"] for c in mutating(data_endpoint) if c["operation"] == "DeleteDBInstance"]
    assert sorted(deleted) == sorted("old-" + n for n in RECORDS.values())
    changes = [c for c in mutating(data_endpoint) if c["operation"] == "ChangeResourceRecordSets"]
    assert len(changes) == 1 and len(changes[0]["params"]["ChangeBatch"]["Changes"]) == 3
    assert "in one Route 53 change" in result.out and DEMO_DATA.password not in result.out

    # 2. The same command with keep_previous clones into -b and keeps -a, whose data the application changed.
    write_marker(data_endpoint, PRIMARY, "written on -a")
    data_endpoint.clear_calls()
    result, windows = probed(data_endpoint, lambda: data_playbook("playbooks/clone.yml",
                                                                  dns_vars(log, keep_previous=True)))
    assert result.rc == 0, result
    assert windows == {PRIMARY: []}
    assert holders(data_endpoint, zone["zone_id"]) == generation("-b")
    assert marker(data_endpoint, PRIMARY) is None  # production's data, fresh
    assert set(generation("-a").values()) < set(instances(data_endpoint)), "the previous generation is kept"
    assert not [c for c in mutating(data_endpoint) if c["operation"] == "DeleteDBInstance"]

    # 3. The rollback moves the records back in one change: the -a generation's data is served again.
    data_endpoint.clear_calls()
    result, windows = probed(data_endpoint, lambda: data_playbook("playbooks/rollback.yml", dict(
        FAST, target=PRIMARY, swap_method="dns", dns_zone=ZONE, report_time_scale=60,
        restart_command=restart_command(log))))
    assert result.rc == 0, result
    assert windows == {PRIMARY: []}
    assert holders(data_endpoint, zone["zone_id"]) == generation("-a")
    assert marker(data_endpoint, PRIMARY) == "written on -a"
    assert len([c for c in mutating(data_endpoint) if c["operation"] == "ChangeResourceRecordSets"]) == 1
    deleted = [c["identifier"] for c in mutating(data_endpoint) if c["operation"] == "DeleteDBInstance"]
    assert sorted(deleted) == sorted("rej-" + n for n in generation("-b").values())
    assert sorted(instances(data_endpoint)) == sorted(["mitosis-prod", "mitosis-prod-replica"]
                                                      + list(generation("-a").values()))
    assert len(restarts(log)) == 3
