"""The data plane (`--data-plane`): every PostgreSQL instance of the endpoint is a real PostgreSQL server, reached
at its name's own loopback address; rows are checked on the servers themselves, never inferred from the API."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from devtools.rds_endpoint.dataplane.postgres import binaries
from devtools.rds_endpoint.testing import running_endpoint

PASSWORD = "Prod-Password-1"
USER = "mitosis"


@pytest.fixture(scope="module")
def plane_server():
    with running_endpoint(speed=0.0, data_plane=True) as server:
        yield server


@pytest.fixture
def plane(plane_server):
    plane_server.reset()
    plane_server.set_speed(0.0)
    return plane_server


def rds(endpoint):
    return endpoint.client("rds")


def describe(endpoint, name):
    return rds(endpoint).describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]


def available(endpoint, name, timeout=60):
    """Poll until `name` is available (a server's start takes real time, whatever the model's speed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            inst = describe(endpoint, name)
        except Exception:  # pylint: disable=broad-except  # not yet under this name
            inst = {}
        if inst.get("DBInstanceStatus") == "available":
            return inst
        assert inst.get("DBInstanceStatus") != "failed", inst
        time.sleep(0.05)
    raise AssertionError("{0} did not become available".format(name))


def sql(endpoint, name, statement, password=PASSWORD, database="shop"):
    """Run `statement` on whatever the name `name` reaches now, as a client would (its address and port)."""
    inst = describe(endpoint, name)
    done = subprocess.run([str(binaries() / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                           inst["Endpoint"]["Address"], "-p", str(inst["Endpoint"]["Port"]), "-U", USER, "-d",
                           database, "-c", statement], env=dict(os.environ, PGPASSWORD=password),
                          capture_output=True, text=True, timeout=30, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr.strip())
    return done.stdout.strip()


def primary(endpoint, name="prod", **attributes):
    rds(endpoint).create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername=USER, MasterUserPassword=PASSWORD, DBName="shop", BackupRetentionPeriod=1, **attributes)
    return available(endpoint, name)


def replica(endpoint, name, source):
    rds(endpoint).create_db_instance_read_replica(DBInstanceIdentifier=name, SourceDBInstanceIdentifier=source)
    return available(endpoint, name)


def eventually(check, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except RuntimeError:
            pass
        assert time.monotonic() < deadline, "never true"
        time.sleep(0.1)


def refused(address, port):
    try:
        socket.create_connection((address, port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def servers_of(endpoint_pid=None):
    """The PostgreSQL processes running on this machine (zombies aside)."""
    listed = subprocess.run(["ps", "-eww", "-o", "pid,stat,comm,args"], capture_output=True, text=True).stdout
    return [line for line in listed.splitlines()[1:] if " postgres" in line and line.split()[1][0] != "Z"]


def test_a_new_instance_is_a_server_reached_at_its_names_own_address(plane):
    inst = primary(plane)
    address = inst["Endpoint"]["Address"]
    assert address.startswith("127.") and address != "127.0.0.1"
    sql(plane, "prod", "CREATE TABLE customers (id int PRIMARY KEY, email text)")
    sql(plane, "prod", "INSERT INTO customers VALUES (1, 'ann@example.com')")
    assert sql(plane, "prod", "SELECT email FROM customers") == "ann@example.com"
    with pytest.raises(RuntimeError, match="password authentication failed"):
        sql(plane, "prod", "SELECT 1", password="wrong-password")


def test_a_read_replica_is_a_read_only_standby_that_follows_its_source(plane):
    primary(plane)
    sql(plane, "prod", "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    replica(plane, "prod-replica", "prod")
    assert sql(plane, "prod-replica", "SELECT pg_is_in_recovery()") == "t"
    with pytest.raises(RuntimeError, match="read-only transaction"):
        sql(plane, "prod-replica", "INSERT INTO t VALUES (2)")
    sql(plane, "prod", "INSERT INTO t VALUES (3)")
    eventually(lambda: sql(plane, "prod-replica", "SELECT count(*) FROM t") == "2")


def test_a_promoted_replica_accepts_writes_and_stops_following(plane):
    primary(plane)
    sql(plane, "prod", "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    replica(plane, "copy", "prod")
    rds(plane).promote_read_replica(DBInstanceIdentifier="copy")
    available(plane, "copy")
    eventually(lambda: sql(plane, "copy", "SELECT pg_is_in_recovery()") == "f")
    sql(plane, "copy", "INSERT INTO t VALUES (2)")
    sql(plane, "prod", "INSERT INTO t VALUES (3), (4)")
    time.sleep(1)
    assert sql(plane, "copy", "SELECT count(*) FROM t") == "2"
    assert sql(plane, "prod", "SELECT count(*) FROM t") == "3"


def test_a_rename_moves_the_name_and_refuses_it_in_between(plane):
    primary(plane, "db")
    sql(plane, "db", "CREATE TABLE t (v text); INSERT INTO t VALUES ('mine')")
    address, port = describe(plane, "db")["Endpoint"]["Address"], describe(plane, "db")["Endpoint"]["Port"]
    plane.set_speed(1000.0)  # the rename runs until `settle`
    rds(plane).modify_db_instance(DBInstanceIdentifier="db", NewDBInstanceIdentifier="db-aside",
                                  ApplyImmediately=True)
    assert refused(address, port)  # AWS removes the old name at once
    plane.settle()
    inst = available(plane, "db-aside")
    assert inst["Endpoint"]["Address"] != address
    assert sql(plane, "db-aside", "SELECT v FROM t") == "mine"
    assert refused(address, port)
    # Another instance takes the name: the name's address now reaches it.
    plane.set_speed(0.0)
    primary(plane, "db")
    assert describe(plane, "db")["Endpoint"]["Address"] == address
    assert sql(plane, "db", "SELECT to_regclass('t') IS NULL") == "t"


def test_snapshot_and_point_in_time_restores_hold_the_data_of_their_moment(plane):
    primary(plane)
    sql(plane, "prod", "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    rds(plane).create_db_snapshot(DBInstanceIdentifier="prod", DBSnapshotIdentifier="prod-snap")
    available(plane, "prod")
    sql(plane, "prod", "INSERT INTO t VALUES (2)")
    rds(plane).restore_db_instance_from_db_snapshot(DBInstanceIdentifier="from-snap", DBSnapshotIdentifier="prod-snap")
    rds(plane).restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier="prod",
                                                    TargetDBInstanceIdentifier="from-pit", UseLatestRestorableTime=True)
    sql(plane, "prod", "INSERT INTO t VALUES (3)")
    available(plane, "from-snap")
    available(plane, "from-pit")
    assert sql(plane, "from-snap", "SELECT string_agg(id::text, ',' ORDER BY id) FROM t") == "1"
    assert sql(plane, "from-pit", "SELECT string_agg(id::text, ',' ORDER BY id) FROM t") == "1,2"
    sql(plane, "from-pit", "INSERT INTO t VALUES (9)")  # a server of its own, writable


def test_a_new_master_password_is_set_on_the_server_when_it_applies(plane):
    primary(plane)
    rds(plane).modify_db_instance(DBInstanceIdentifier="prod", MasterUserPassword="Demo-Password-2",
                                  ApplyImmediately=True)
    available(plane, "prod")
    eventually(lambda: sql(plane, "prod", "SELECT 1", password="Demo-Password-2") == "1")
    with pytest.raises(RuntimeError, match="password authentication failed"):
        sql(plane, "prod", "SELECT 1")


def test_a_delete_leaves_no_server_and_no_directory(plane):
    primary(plane)
    address, port = describe(plane, "prod")["Endpoint"]["Address"], describe(plane, "prod")["Endpoint"]["Port"]
    before = servers_of()
    rds(plane).delete_db_instance(DBInstanceIdentifier="prod", SkipFinalSnapshot=True)
    assert refused(address, port)
    eventually(lambda: not rds(plane).describe_db_instances()["DBInstances"])
    eventually(lambda: len(servers_of()) < len(before))
    eventually(lambda: not list(Path("/tmp/mitosis-dataplane").glob("*/db-*")))  # its data directory too


def test_killing_the_endpoint_leaves_no_server_running():
    with running_endpoint(speed=0.0, data_plane=True) as endpoint:
        primary(endpoint)
        replica(endpoint, "prod-replica", "prod")
        mine = [line for line in servers_of() if "postgres -D" in line]
        assert len(mine) >= 2
        os.kill(endpoint.pid, signal.SIGKILL)
        eventually(lambda: not [p for p in servers_of() if any(p.split()[0] == m.split()[0] for m in mine)])
