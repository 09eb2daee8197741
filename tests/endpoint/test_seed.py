"""devtools.seed: realistic scenarios, seeded at a speed where every operation takes time."""

import json
import subprocess
import sys

import pytest

from devtools import seed
from devtools.rds_endpoint.testing import REPO_ROOT


@pytest.fixture
def seeded(endpoint_api):
    """Seed a scenario at 0.05 s per simulated minute; return it and every instance by name."""
    endpoint_api.endpoint.set_speed(0.05)

    def run(scenario):
        summary = scenario(endpoint_api.endpoint.session(), endpoint_api.url)
        instances = {
            db["DBInstanceIdentifier"]: db
            for db in endpoint_api.rds.describe_db_instances()["DBInstances"]
        }
        assert sorted(instances) == sorted(summary["instances"])
        assert {db["DBInstanceStatus"] for db in instances.values()} == {"available"}
        return summary, instances

    return run


def _graph(instances):
    return {
        name: (
            db.get("ReadReplicaSourceDBInstanceIdentifier"),
            db["ReadReplicaDBInstanceIdentifiers"],
        )
        for name, db in instances.items()
    }


def _vpc(db):
    return db["DBSubnetGroup"]["VpcId"]


def test_example(seeded, endpoint_api):
    summary, dbs = seeded(seed.seed_example)
    assert (summary["source"], summary["target"]) == ("mitosis-prod", "mitosis-demo")
    assert _graph(dbs) == {
        "mitosis-prod": (None, ["mitosis-prod-replica"]),
        "mitosis-prod-replica": ("mitosis-prod", []),
        "mitosis-demo": (None, ["mitosis-demo-replica"]),
        "mitosis-demo-replica": ("mitosis-demo", []),
    }
    prod, demo, demo_replica = dbs["mitosis-prod"], dbs["mitosis-demo"], dbs["mitosis-demo-replica"]
    assert {db["Engine"] for db in dbs.values()} == {"mysql"}
    assert {db["EngineVersion"] for db in dbs.values()} == {"8.0.35"}
    for key in (
        "DBInstanceClass",
        "StorageType",
        "MultiAZ",
        "PreferredMaintenanceWindow",
        "PreferredBackupWindow",
        "DBParameterGroups",
        "OptionGroupMemberships",
        "VpcSecurityGroups",
        "DBSubnetGroup",
    ):
        assert prod[key] != demo[key], key
    assert (prod["Endpoint"]["Port"], demo["Endpoint"]["Port"]) == (3306, 5430)
    assert demo_replica["Endpoint"]["Port"] == 5431
    assert (
        demo_replica["DBParameterGroups"][0]["DBParameterGroupName"]
        == "mitosis-demo-replica-mysql80"
    )
    assert demo_replica["PreferredMaintenanceWindow"] == "mon:07:30-mon:08:00"
    tags = endpoint_api.rds.list_tags_for_resource(ResourceName=demo_replica["DBInstanceArn"])
    assert {"Key": "IsReplica", "Value": "true"} in tags["TagList"]
    assert {"Key": "Service", "Value": "Mitosis"} in tags["TagList"]
    assert _vpc(prod) == _vpc(demo)
    assert (prod["BackupRetentionPeriod"], demo["BackupRetentionPeriod"]) == (7, 1)
    assert demo_replica["BackupRetentionPeriod"] == 0
    snapshots = endpoint_api.rds.describe_db_snapshots(
        DBInstanceIdentifier="mitosis-prod", SnapshotType="manual"
    )["DBSnapshots"]
    assert sorted(s["DBSnapshotIdentifier"] for s in snapshots) == summary["snapshots"]
    assert {s["Status"] for s in snapshots} == {"available"}


def test_cross_vpc(seeded):
    _, dbs = seeded(seed.seed_cross_vpc)
    assert _vpc(dbs["mitosis-prod"]) != _vpc(dbs["mitosis-demo"])
    assert _vpc(dbs["mitosis-demo"]) == _vpc(dbs["mitosis-demo-replica"])


def test_cascade(seeded):
    _, dbs = seeded(seed.seed_cascade)
    graph = _graph(dbs)
    assert graph["mitosis-demo"] == (None, ["mitosis-demo-r1", "mitosis-demo-r2"])
    assert graph["mitosis-demo-r1"] == ("mitosis-demo", ["mitosis-demo-r1a"])
    assert graph["mitosis-demo-r1a"] == ("mitosis-demo-r1", [])
    assert dbs["mitosis-demo-r1"]["BackupRetentionPeriod"] == 1


def test_postgres_siblings(seeded):
    _, dbs = seeded(seed.seed_postgres_siblings)
    assert {db["Engine"] for db in dbs.values()} == {"postgres"}
    assert _graph(dbs)["mitosis-demo"] == (
        None,
        ["mitosis-demo-replica-a", "mitosis-demo-replica-b"],
    )


def test_lone_target(seeded):
    _, dbs = seeded(seed.seed_lone_target)
    assert _graph(dbs) == {"mitosis-prod": (None, []), "mitosis-demo": (None, [])}


def test_managed(seeded, endpoint_api):
    summary, dbs = seeded(seed.seed_managed)
    assert _graph(dbs) == {
        "mitosis-prod": (None, ["mitosis-prod-replica"]),
        "mitosis-prod-replica": ("mitosis-prod", []),
        "mitosis-demo": (None, ["mitosis-demo-replica"]),
        "mitosis-demo-replica": ("mitosis-demo", []),
    }
    prod, demo = dbs["mitosis-prod"]["MasterUserSecret"], dbs["mitosis-demo"]["MasterUserSecret"]
    assert {prod["SecretStatus"], demo["SecretStatus"]} == {"active"}
    assert demo["KmsKeyId"] == summary["secrets"]["demo_kms_key"] != prod["KmsKeyId"]
    assert "MasterUserSecret" not in dbs["mitosis-prod-replica"]
    assert "MasterUserSecret" not in dbs["mitosis-demo-replica"]
    sm = endpoint_api.client("secretsmanager")
    for secret in (prod, demo):
        value = json.loads(sm.get_secret_value(SecretId=secret["SecretArn"])["SecretString"])
        assert value["username"] == "mitosis"
    app = sm.get_secret_value(SecretId="mitosis-demo/app")
    assert app["ARN"] == summary["secrets"]["app"]
    assert json.loads(app["SecretString"]) == {"username": "app", "password": "demo-app-Secret-1"}


def _clusters(endpoint_api):
    return {c["DBClusterIdentifier"]: c for c in endpoint_api.rds.describe_db_clusters()["DBClusters"]}


def _subnet_zones(endpoint_api, name):
    group = endpoint_api.rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
    return group["VpcId"], {s["SubnetAvailabilityZone"]["Name"] for s in group["Subnets"]}


def test_aurora(seeded, endpoint_api):
    summary, dbs = seeded(seed.seed_aurora)
    assert summary["clusters"] == {"source": "mitosis-aurora-prod", "target": "mitosis-aurora-demo"}
    clusters = _clusters(endpoint_api)
    assert sorted(clusters) == ["mitosis-aurora-demo", "mitosis-aurora-prod"]
    prod, demo = clusters["mitosis-aurora-prod"], clusters["mitosis-aurora-demo"]
    assert {c["Status"] for c in clusters.values()} == {"available"}
    assert {c["Engine"] for c in clusters.values()} == {"aurora-mysql"}
    assert {c["EngineVersion"] for c in clusters.values()} == {"8.0.mysql_aurora.3.05.2"}
    for key in (
        "DBSubnetGroup",
        "VpcSecurityGroups",
        "DBClusterParameterGroup",
        "Port",
        "BackupRetentionPeriod",
        "PreferredBackupWindow",
        "PreferredMaintenanceWindow",
        "IAMDatabaseAuthenticationEnabled",
        "EnabledCloudwatchLogsExports",
        "ServerlessV2ScalingConfiguration",
        "CopyTagsToSnapshot",
        "DeletionProtection",
        "TagList",
    ):
        assert prod[key] != demo[key], key
    assert (prod["Port"], demo["Port"]) == (3306, 3307)
    assert (prod["BackupRetentionPeriod"], demo["BackupRetentionPeriod"]) == (7, 1)
    assert (prod["DeletionProtection"], demo["IAMDatabaseAuthenticationEnabled"]) == (True, True)
    assert (prod["EnabledCloudwatchLogsExports"], demo["EnabledCloudwatchLogsExports"]) == (
        ["slowquery"],
        ["audit", "error"],
    )
    assert prod["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 2.0, "MaxCapacity": 64.0}
    assert demo["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 4.0}
    assert {"Key": "Environment", "Value": "demo"} in demo["TagList"]
    members = {
        name: [(m["DBInstanceIdentifier"], m["IsClusterWriter"], m["PromotionTier"]) for m in c["DBClusterMembers"]]
        for name, c in clusters.items()
    }
    assert members == {
        "mitosis-aurora-prod": [("mitosis-aurora-prod-1", True, 1), ("mitosis-aurora-prod-2", False, 2)],
        "mitosis-aurora-demo": [
            ("mitosis-aurora-demo-1", True, 0),
            ("mitosis-aurora-demo-2", False, 1),
            ("mitosis-aurora-demo-3", False, 2),
        ],
    }
    assert {dbs[f"mitosis-aurora-prod-{n}"]["DBInstanceClass"] for n in (1, 2)} == {"db.r6g.xlarge"}
    writer, reader, reporting = (dbs[f"mitosis-aurora-demo-{n}"] for n in (1, 2, 3))
    assert (writer["DBInstanceClass"], reporting["DBInstanceClass"]) == ("db.r6g.large", "db.t4g.medium")
    assert writer["DBParameterGroups"][0]["DBParameterGroupName"] == "mitosis-aurora-demo-instance"
    assert writer["PerformanceInsightsEnabled"] is True
    assert (reader["MonitoringInterval"], reader["MonitoringRoleArn"]) == (60, seed.MONITORING_ROLE)
    assert {"Key": "Role", "Value": "reporting"} in reporting["TagList"]
    assert all(db["TagList"] for db in dbs.values())
    assert {db["DBClusterIdentifier"] for db in dbs.values()} == set(clusters)
    assert _subnet_zones(endpoint_api, "mitosis-aurora-prod-subnets") == _subnet_zones(
        endpoint_api, "mitosis-aurora-demo-subnets"
    )
    snapshots = endpoint_api.rds.describe_db_cluster_snapshots(DBClusterIdentifier="mitosis-aurora-prod")
    assert sorted(s["DBClusterSnapshotIdentifier"] for s in snapshots["DBClusterSnapshots"]) == sorted(
        summary["cluster_snapshots"]
    )
    assert summary["cluster_snapshots"][0] == "mitosis-aurora-prod-manual-1"


def test_aurora_postgres(seeded, endpoint_api):
    summary, dbs = seeded(seed.seed_aurora_postgres)
    clusters = _clusters(endpoint_api)
    assert summary["engine"] == "aurora-postgresql"
    assert {(c["Engine"], c["EngineVersion"]) for c in clusters.values()} == {("aurora-postgresql", "15.4")}
    assert (clusters["mitosis-aurora-prod"]["Port"], clusters["mitosis-aurora-demo"]["Port"]) == (5432, 5433)
    assert {tuple(c["EnabledCloudwatchLogsExports"]) for c in clusters.values()} == {("postgresql",)}
    assert {db["Engine"] for db in dbs.values()} == {"aurora-postgresql"}


def test_aurora_cross_vpc(seeded, endpoint_api):
    summary, _ = seeded(seed.seed_aurora_cross_vpc)
    prod_vpc, prod_zones = _subnet_zones(endpoint_api, "mitosis-aurora-prod-subnets")
    demo_vpc, demo_zones = _subnet_zones(endpoint_api, "mitosis-aurora-demo-subnets")
    assert (prod_vpc, demo_vpc) == (summary["vpcs"]["prod"], summary["vpcs"]["demo"])
    assert prod_vpc != demo_vpc
    assert (prod_zones, demo_zones) == ({"us-east-1a", "us-east-1b"}, {"us-east-1c", "us-east-1d"})


def test_many(endpoint_api):
    result = seed.seed_many(None, endpoint_api.url, 500, prefix="bulk")
    assert result["created"] == 500
    pages = endpoint_api.rds.get_paginator("describe_db_instances").paginate()
    statuses = [db["DBInstanceStatus"] for page in pages for db in page["DBInstances"]]
    assert statuses == ["available"] * 500


def test_command_line(endpoint):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.seed",
            "--endpoint",
            endpoint.url,
            "--scenario",
            "lone-target",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(run.stdout)["instances"] == ["mitosis-prod", "mitosis-demo"]


def test_only_local_endpoints_are_seeded():
    with pytest.raises(ValueError):
        seed.seed_example(None, "http://10.0.0.1:5454")
