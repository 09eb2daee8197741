"""The data plane (`--data-plane`): every PostgreSQL instance of the endpoint is a real PostgreSQL server, reached
at its name's own loopback address; rows are checked on the servers themselves, never inferred from the API."""

import json
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


def describe_cluster(endpoint, name):
    return rds(endpoint).describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]


def available(endpoint, name, timeout=60, cluster=False):
    """Poll until the instance (or cluster) `name` is available (a server's start takes real time, whatever the
    model's speed)."""
    read, status = (describe_cluster, "Status") if cluster else (describe, "DBInstanceStatus")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = read(endpoint, name)
        except Exception:  # pylint: disable=broad-except  # not yet under this name
            found = {}
        if found.get(status) == "available":
            return found
        assert found.get(status) != "failed", found
        time.sleep(0.05)
    raise AssertionError("{0} did not become available".format(name))


def query(address, port, statement, password=PASSWORD, database="shop"):
    """Run `statement` on whatever (address, port) reaches now, as the master user."""
    done = subprocess.run([str(binaries() / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", address, "-p",
                           str(port), "-U", USER, "-d", database, "-c", statement],
                          env=dict(os.environ, PGPASSWORD=password), capture_output=True, text=True, timeout=30,
                          check=False)
    if done.returncode:
        raise RuntimeError(done.stderr.strip())
    return done.stdout.strip()


def sql(endpoint, name, statement, password=PASSWORD, database="shop"):
    """Run `statement` on whatever the name `name` reaches now, as a client would (its address and port)."""
    inst = describe(endpoint, name)
    return query(inst["Endpoint"]["Address"], inst["Endpoint"]["Port"], statement, password, database)


def cluster_sql(endpoint, name, statement, reader=False, password=PASSWORD):
    """Run `statement` on whatever the writer (or reader) endpoint of cluster `name` reaches now."""
    found = describe_cluster(endpoint, name)
    return query(found["ReaderEndpoint" if reader else "Endpoint"], found["Port"], statement, password)


def primary(endpoint, name="prod", **attributes):
    rds(endpoint).create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername=USER, MasterUserPassword=PASSWORD, DBName="shop", BackupRetentionPeriod=1, **attributes)
    return available(endpoint, name)


def replica(endpoint, name, source):
    rds(endpoint).create_db_instance_read_replica(DBInstanceIdentifier=name, SourceDBInstanceIdentifier=source)
    return available(endpoint, name)


def aurora(endpoint, name="aurora", member=None):
    """An available Aurora PostgreSQL cluster with its writer (`member`, by default `{name}-1`)."""
    rds(endpoint).create_db_cluster(
        DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion="15.4", MasterUsername=USER,
        MasterUserPassword=PASSWORD, DatabaseName="shop", BackupRetentionPeriod=1)
    available(endpoint, name, cluster=True)
    writer(endpoint, name, member)
    return describe_cluster(endpoint, name)


def writer(endpoint, cluster, name=None):
    """The first member of `cluster` (its writer), available."""
    name = name or cluster + "-1"
    rds(endpoint).create_db_instance(DBInstanceIdentifier=name, DBClusterIdentifier=cluster,
                                     Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    return available(endpoint, name)


def secret_password(endpoint, inst):
    """The password in the managed secret of `inst` (as an application reads it)."""
    arn = inst["MasterUserSecret"]["SecretArn"]
    return json.loads(endpoint.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])["password"]


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


def running(pid):
    """The process `pid` runs (a zombie has ended)."""
    try:
        return Path("/proc/{0}/stat".format(pid)).read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


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
    # Available once the server is promoted, not before (a replica's base backup of it needs that).
    promoted = available(plane, "copy")
    assert plane.servers()[promoted["DbiResourceId"]]["standby_of"] is None
    assert sql(plane, "copy", "SELECT pg_is_in_recovery()") == "f"
    sql(plane, "copy", "INSERT INTO t VALUES (2)")
    sql(plane, "prod", "INSERT INTO t VALUES (3), (4)")
    time.sleep(1)
    assert sql(plane, "copy", "SELECT count(*) FROM t") == "2"
    assert sql(plane, "prod", "SELECT count(*) FROM t") == "3"


def test_a_replica_of_a_promoted_replica_streams_from_it(plane):
    primary(plane)
    sql(plane, "prod", "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    replica(plane, "copy", "prod")
    # As a refresh does: the promoted instance's replica as soon as the promotion is over.
    rds(plane).promote_read_replica(DBInstanceIdentifier="copy", BackupRetentionPeriod=1)
    available(plane, "copy")
    replica(plane, "copy-replica", "copy")
    sql(plane, "copy", "INSERT INTO t VALUES (2)")
    eventually(lambda: sql(plane, "copy-replica", "SELECT count(*) FROM t") == "2")
    assert sql(plane, "copy-replica", "SELECT pg_is_in_recovery()") == "t"


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
    inst = primary(plane)
    server = plane.servers()[inst["DbiResourceId"]]
    rds(plane).delete_db_instance(DBInstanceIdentifier="prod", SkipFinalSnapshot=True)
    assert refused(inst["Endpoint"]["Address"], inst["Endpoint"]["Port"])
    eventually(lambda: not rds(plane).describe_db_instances()["DBInstances"])
    eventually(lambda: inst["DbiResourceId"] not in plane.servers())
    eventually(lambda: not running(server["pid"]))
    eventually(lambda: not os.path.exists(server["directory"]))


def test_killing_the_endpoint_leaves_no_server_running():
    with running_endpoint(speed=0.0, data_plane=True) as endpoint:
        primary(endpoint)
        replica(endpoint, "prod-replica", "prod")
        pids = [server["pid"] for server in endpoint.servers().values()]
        assert len(pids) == 2 and all(running(pid) for pid in pids)
        os.kill(endpoint.pid, signal.SIGKILL)
        eventually(lambda: not any(running(pid) for pid in pids))


def test_a_managed_secrets_password_is_the_servers_once_the_change_applies(plane):
    primary(plane)
    rds(plane).modify_db_instance(DBInstanceIdentifier="prod", ManageMasterUserPassword=True, ApplyImmediately=True)
    password = secret_password(plane, available(plane, "prod"))
    eventually(lambda: sql(plane, "prod", "SELECT 1", password=password) == "1")
    with pytest.raises(RuntimeError, match="password authentication failed"):
        sql(plane, "prod", "SELECT 1")
    # Handed back with a password of its own: that one from then on.
    rds(plane).modify_db_instance(DBInstanceIdentifier="prod", ManageMasterUserPassword=False,
                                  MasterUserPassword="Demo-Password-3", ApplyImmediately=True)
    available(plane, "prod")
    eventually(lambda: sql(plane, "prod", "SELECT 1", password="Demo-Password-3") == "1")
    with pytest.raises(RuntimeError, match="password authentication failed"):
        sql(plane, "prod", "SELECT 1", password=password)


def test_an_instance_created_with_a_managed_secret_takes_the_secrets_password(plane):
    rds(plane).create_db_instance(
        DBInstanceIdentifier="prod", Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername=USER, ManageMasterUserPassword=True, DBName="shop")
    password = secret_password(plane, available(plane, "prod"))
    assert sql(plane, "prod", "SELECT 1", password=password) == "1"


def test_an_aurora_cluster_is_one_server_reached_at_its_endpoints_and_its_instances_names(plane):
    found = aurora(plane)
    addresses = {found["Endpoint"], found["ReaderEndpoint"], describe(plane, "aurora-1")["Endpoint"]["Address"]}
    assert len(addresses) == 3 and all(a.startswith("127.") and a != "127.0.0.1" for a in addresses)
    assert found["DbClusterResourceId"] in plane.servers()
    cluster_sql(plane, "aurora", "CREATE TABLE t (v text); INSERT INTO t VALUES ('written')")
    assert cluster_sql(plane, "aurora", "SELECT v FROM t", reader=True) == "written"
    assert sql(plane, "aurora-1", "SELECT v FROM t") == "written"
    # A new master password, when the modify applies.
    rds(plane).modify_db_cluster(DBClusterIdentifier="aurora", MasterUserPassword="Demo-Password-2",
                                 ApplyImmediately=True)
    available(plane, "aurora", cluster=True)
    eventually(lambda: cluster_sql(plane, "aurora", "SELECT 1", password="Demo-Password-2") == "1")
    with pytest.raises(RuntimeError, match="password authentication failed"):
        cluster_sql(plane, "aurora", "SELECT 1")


def test_a_copy_on_write_clone_holds_the_sources_rows_of_the_calls_moment(plane):
    aurora(plane)
    cluster_sql(plane, "aurora", "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    rds(plane).restore_db_cluster_to_point_in_time(DBClusterIdentifier="clone", SourceDBClusterIdentifier="aurora",
                                                   RestoreType="copy-on-write", UseLatestRestorableTime=True)
    cluster_sql(plane, "aurora", "INSERT INTO t VALUES (2)")
    available(plane, "clone", cluster=True)
    writer(plane, "clone")
    assert cluster_sql(plane, "clone", "SELECT string_agg(id::text, ',' ORDER BY id) FROM t") == "1"
    assert sql(plane, "clone-1", "SELECT count(*) FROM t") == "1"
    cluster_sql(plane, "clone", "INSERT INTO t VALUES (9)")  # storage of its own
    assert cluster_sql(plane, "aurora", "SELECT string_agg(id::text, ',' ORDER BY id) FROM t") == "1,2"


def test_a_cluster_rename_moves_its_endpoints_and_refuses_them_in_between(plane):
    found = aurora(plane)
    cluster_sql(plane, "aurora", "CREATE TABLE t (v text); INSERT INTO t VALUES ('mine')")
    address, reader, port = found["Endpoint"], found["ReaderEndpoint"], found["Port"]
    plane.set_speed(1000.0)  # the rename runs until `settle`
    rds(plane).modify_db_cluster(DBClusterIdentifier="aurora", NewDBClusterIdentifier="aurora-aside",
                                 ApplyImmediately=True)
    assert refused(address, port) and refused(reader, port)  # AWS removes the old names at once
    plane.settle()
    renamed = available(plane, "aurora-aside", cluster=True)
    assert renamed["Endpoint"] != address
    assert cluster_sql(plane, "aurora-aside", "SELECT v FROM t") == "mine"
    assert sql(plane, "aurora-1", "SELECT v FROM t") == "mine"  # its instance keeps its name
    assert refused(address, port)
    # A cluster that takes the name takes its endpoints' names (as on AWS, where a rename swap keeps them).
    plane.set_speed(0.0)
    assert aurora(plane, "aurora", member="aurora-new")["Endpoint"] == address
    assert cluster_sql(plane, "aurora", "SELECT to_regclass('t') IS NULL") == "t"


def test_cluster_snapshots_hold_the_data_of_their_moment(plane):
    aurora(plane)
    cluster_sql(plane, "aurora", "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
    rds(plane).create_db_cluster_snapshot(DBClusterIdentifier="aurora", DBClusterSnapshotIdentifier="manual")
    cluster_sql(plane, "aurora", "INSERT INTO t VALUES (2)")
    rds(plane).delete_db_instance(DBInstanceIdentifier="aurora-1")
    rds(plane).delete_db_cluster(DBClusterIdentifier="aurora", FinalDBSnapshotIdentifier="final")
    eventually(lambda: not rds(plane).describe_db_clusters()["DBClusters"])
    for snapshot in ("manual", "final"):
        rds(plane).restore_db_cluster_from_snapshot(DBClusterIdentifier="from-" + snapshot, SnapshotIdentifier=snapshot,
                                                    Engine="aurora-postgresql")
    for snapshot, rows in (("manual", "1"), ("final", "1,2")):
        available(plane, "from-" + snapshot, cluster=True)
        writer(plane, "from-" + snapshot)
        assert cluster_sql(plane, "from-" + snapshot, "SELECT string_agg(id::text, ',' ORDER BY id) FROM t") == rows


def test_a_cluster_delete_leaves_no_server_and_no_directory(plane):
    found = aurora(plane)
    server = plane.servers()[found["DbClusterResourceId"]]
    assert running(server["pid"])
    instance = describe(plane, "aurora-1")["Endpoint"]
    rds(plane).delete_db_instance(DBInstanceIdentifier="aurora-1")
    assert refused(instance["Address"], instance["Port"])
    rds(plane).delete_db_cluster(DBClusterIdentifier="aurora", SkipFinalSnapshot=True)
    assert refused(found["Endpoint"], found["Port"]) and refused(found["ReaderEndpoint"], found["Port"])
    eventually(lambda: not rds(plane).describe_db_clusters()["DBClusters"])
    eventually(lambda: found["DbClusterResourceId"] not in plane.servers())
    eventually(lambda: not running(server["pid"]))
    eventually(lambda: not os.path.exists(server["directory"]))
