"""playbooks/clone.yml on the data plane (issue 19): every PostgreSQL instance is a real server, and what a refresh
must do is checked as rows, connecting to the target's names with the demo stack's own credentials: production's
tables arrive whole, each replica streams from the new primary, the demo's old data and servers are gone, production
is untouched. The same when the run is killed in the middle of the swap and run again, with a scrub as prepare step.
"""

import os
import time
import uuid

import psycopg
import pytest

from devtools import shop
from devtools.seed import DEMO_DATA, PROD_DATA, seed_postgres_data

from .helpers import clone_vars, instances, kill_when, mutating
from .test_clone import assert_refreshed, assert_safe_history, restart_command, restarts, seeded

SCRUB = "devtools/playbooks/scrub_shop.yml"
DEMO_NAMES = ("mitosis-demo", "mitosis-demo-replica-a", "mitosis-demo-replica-b")
PROD_NAMES = ("mitosis-prod", "mitosis-prod-replica")


def connect(endpoint, name, password):
    """A connection to `name` as DNS answers it now (the instance's Endpoint), as the master user."""
    address = instances(endpoint)[name]["Endpoint"]
    return shop.connect(address["Address"], address["Port"], "mitosis", password)


def rows(endpoint, names, password, without=()):
    """Each name's table digests, and whether its server is a standby."""
    seen = {}
    for name in names:
        with connect(endpoint, name, password) as conn:
            seen[name] = (shop.checksums(conn, without), conn.execute("SELECT pg_is_in_recovery()").fetchone()[0])
    return seen


def before_refresh(endpoint):
    """Seed the PostgreSQL stacks with their rows; what the refresh must preserve, and the old stack's servers."""
    before = seeded(endpoint, seed_postgres_data)
    live = instances(endpoint)
    servers = endpoint.servers()
    before["old_servers"] = {live[name]["DbiResourceId"]: servers[live[name]["DbiResourceId"]] for name in DEMO_NAMES}
    before["production"] = rows(endpoint, PROD_NAMES, PROD_DATA.password)
    return before


def assert_rows_refreshed(endpoint, before, without=()):
    with connect(endpoint, "mitosis-prod", PROD_DATA.password) as conn:
        expected = shop.checksums(conn, without)
    # Production is unchanged, and the demo names serve its rows with the demo stack's password.
    assert rows(endpoint, PROD_NAMES, PROD_DATA.password) == before["production"]
    refreshed = rows(endpoint, DEMO_NAMES, DEMO_DATA.password, without)
    assert refreshed == {"mitosis-demo": (expected, False), "mitosis-demo-replica-a": (expected, True),
                         "mitosis-demo-replica-b": (expected, True)}, refreshed
    # The demo's old rows are gone: no customer of its older dataset is left.
    with connect(endpoint, "mitosis-demo", DEMO_DATA.password) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE email LIKE %s",
                            ("%@" + shop.DEMO.domain,)).fetchone()[0] == 0
    assert_replicas_stream_from_the_primary(endpoint)
    assert_old_servers_gone(endpoint, before)


def assert_replicas_stream_from_the_primary(endpoint):
    """A write on the new primary appears on each replica (and each is a standby of that primary's server)."""
    live, servers = instances(endpoint), endpoint.servers()
    primary = servers[live["mitosis-demo"]["DbiResourceId"]]
    for name in DEMO_NAMES[1:]:
        assert servers[live[name]["DbiResourceId"]]["standby_of"] == "{0}:{1}".format(primary["address"],
                                                                                         primary["port"]), name
    marker = uuid.uuid4().hex
    with connect(endpoint, "mitosis-demo", DEMO_DATA.password) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS refresh_check (marker text)")
        conn.execute("INSERT INTO refresh_check VALUES (%s)", (marker,))
    for name in DEMO_NAMES[1:]:
        with connect(endpoint, name, DEMO_DATA.password) as conn:
            deadline = time.time() + 30
            while not received(conn, marker):
                assert time.time() < deadline, name + " did not receive the primary's write"
                time.sleep(0.1)


def received(conn, marker):
    try:
        return conn.execute("SELECT count(*) FROM refresh_check WHERE marker = %s", (marker,)).fetchone()[0] == 1
    except psycopg.errors.UndefinedTable:
        return False  # not even the table yet


def assert_old_servers_gone(endpoint, before):
    """No server of the old stack runs, nor is its directory left; production's and the new stack's run."""
    servers = endpoint.servers()
    assert not set(before["old_servers"]) & set(servers)
    for old in before["old_servers"].values():
        assert not os.path.exists(old["directory"]), old
        with pytest.raises(ProcessLookupError):
            os.kill(old["pid"], 0)
    live = instances(endpoint)
    assert sorted(servers) == sorted(live[name]["DbiResourceId"] for name in DEMO_NAMES + PROD_NAMES)


def test_a_refresh_brings_productions_rows_to_the_demo_names(data_endpoint, data_playbook, tmp_path):
    before = before_refresh(data_endpoint)
    log = tmp_path / "restarts.jsonl"
    result = data_playbook("playbooks/clone.yml", clone_vars(restart_command=restart_command(log),
                                                             master_password=DEMO_DATA.password))
    assert result.rc == 0, result
    assert DEMO_DATA.password not in result.out
    assert len(restarts(log)) == 1
    assert_refreshed(data_endpoint, before)
    assert_rows_refreshed(data_endpoint, before)


def test_a_refresh_killed_in_the_swap_and_run_again_serves_productions_rows_scrubbed(data_endpoint, data_playbook,
                                                                                     tmp_path):
    before = before_refresh(data_endpoint)
    log = tmp_path / "restarts.jsonl"
    extra = clone_vars(restart_command=restart_command(log), master_password=DEMO_DATA.password, prepare_tasks=SCRUB)

    def in_the_swap(endpoint):
        return any(c["operation"] == "ModifyDBInstance" and c["new_identifier"] and not c["error"]
                   for c in mutating(endpoint))

    kill_when(data_endpoint, "playbooks/clone.yml", extra, tmp_path / "killed.json", in_the_swap)
    assert not restarts(log)
    moved = [c for c in mutating(data_endpoint) if c["operation"] == "ModifyDBInstance" and c["new_identifier"]]
    assert moved and not [c for c in mutating(data_endpoint) if c["operation"] == "DeleteDBInstance"]

    result = data_playbook("playbooks/clone.yml", extra)
    assert result.rc == 0, result
    assert "scrubbed {0} customers".format(shop.PRODUCTION.customers) not in result.out  # prepared before the kill
    assert len(restarts(log)) == 1
    assert_refreshed(data_endpoint, before)
    assert_safe_history(data_endpoint)
    assert_rows_refreshed(data_endpoint, before, without=("email", "phone"))
    with connect(data_endpoint, "mitosis-demo-replica-b", DEMO_DATA.password) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE email NOT LIKE %s OR phone IS NOT NULL",
                            ("%@" + shop.SCRUBBED_DOMAIN,)).fetchone()[0] == 0
