"""Seed the embedded RDS endpoint with realistic replication graphs.

Every scenario clones `mitosis-prod` (the source) onto `mitosis-demo` (the target); they differ in
the shape of the graphs. Instances are created through the AWS API, then the endpoint is told to
settle (complete every running operation), so seeding works at any --speed.

    python -m devtools.seed --endpoint http://127.0.0.1:5454 --scenario example
"""

import argparse
import json
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

from devtools import shop

MASTER_PASSWORD = "not-a-real-password"
ENGINE_VERSIONS = {"mysql": "8.0.35", "postgres": "15.4"}
FAMILIES = {"mysql": "mysql8.0", "postgres": "postgres15"}
MAJOR_VERSIONS = {"mysql": "8.0", "postgres": "15"}
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Seeder:
    """Creates the AWS resources of a scenario through one endpoint."""

    def __init__(self, session: boto3.Session | None, endpoint_url: str) -> None:
        if urlparse(endpoint_url).hostname != "127.0.0.1":
            raise ValueError(f"refusing to seed {endpoint_url}: only 127.0.0.1 endpoints")
        session = session or boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self.endpoint_url = endpoint_url
        self.session = session
        self.rds = self.client("rds")
        self.ec2 = self.client("ec2")

    def client(self, service: str) -> Any:
        return self.session.client(
            service, endpoint_url=self.endpoint_url, config=Config(proxies={})
        )

    def control(self, route: str, payload: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            f"{self.endpoint_url}/_mitosis/{route}",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with _NO_PROXY.open(request, timeout=600) as response:
            return json.load(response)

    def settle(self) -> None:
        self.control("settle", {})

    def network(self, name: str, cidr: str, zones: tuple[str, str] = ("a", "b")) -> dict[str, Any]:
        """A VPC with two subnets in two zones (us-east-1`zones`), tagged Name=`name`."""
        vpc_id = self.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        self.ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": name}])
        prefix = cidr.rsplit(".", 2)[0]
        subnets = [
            self.ec2.create_subnet(
                VpcId=vpc_id, CidrBlock=f"{prefix}.{n}.0/24", AvailabilityZone=f"us-east-1{zone}"
            )["Subnet"]["SubnetId"]
            for n, zone in enumerate(zones, start=1)
        ]
        return {"vpc_id": vpc_id, "subnet_ids": subnets}

    def security_group(self, name: str, vpc_id: str) -> str:
        return self.ec2.create_security_group(
            GroupName=name, Description=f"{name} database access", VpcId=vpc_id
        )["GroupId"]

    def subnet_group(self, name: str, subnet_ids: list[str]) -> str:
        self.rds.create_db_subnet_group(
            DBSubnetGroupName=name, DBSubnetGroupDescription=name, SubnetIds=subnet_ids
        )
        return name

    def parameter_group(self, name: str, engine: str) -> str:
        self.rds.create_db_parameter_group(
            DBParameterGroupName=name, DBParameterGroupFamily=FAMILIES[engine], Description=name
        )
        return name

    def option_group(self, name: str, engine: str) -> str:
        """A custom option group for MySQL; PostgreSQL has no options, so its default group."""
        if engine != "mysql":
            return _default_option_group(engine)
        self.rds.create_option_group(
            OptionGroupName=name,
            EngineName=engine,
            MajorEngineVersion=MAJOR_VERSIONS[engine],
            OptionGroupDescription=name,
        )
        return name

    def primary(
        self, identifier: str, engine: str, password: str = MASTER_PASSWORD, **attributes: Any
    ) -> str:
        self.rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            Engine=engine,
            EngineVersion=ENGINE_VERSIONS[engine],
            MasterUsername="mitosis",
            MasterUserPassword=password,
            **attributes,
        )
        return identifier

    def load(self, identifier: str, password: str, data: shop.Dataset) -> None:
        """`data` into the `shop` database of `identifier` (a data-plane server), through its name."""
        endpoint = self.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["Endpoint"]
        with shop.connect(endpoint["Address"], endpoint["Port"], "mitosis", password) as conn:
            shop.load(conn, data)

    def replica(
        self, identifier: str, source: str, after_create: dict[str, Any], **attributes: Any
    ) -> str:
        """A replica created with `attributes`, then modified with those AWS refuses at create."""
        self.rds.create_db_instance_read_replica(
            DBInstanceIdentifier=identifier, SourceDBInstanceIdentifier=source, **attributes
        )
        self.settle()
        if after_create:
            self.rds.modify_db_instance(
                DBInstanceIdentifier=identifier, ApplyImmediately=True, **after_create
            )
            self.settle()
        return identifier

    def manage_password(self, identifier: str, kms_key_id: str | None = None) -> None:
        """Hand the master password to Secrets Manager (RDS then refuses new replicas of it)."""
        options = {"MasterUserSecretKmsKeyId": kms_key_id} if kms_key_id else {}
        self.rds.modify_db_instance(
            DBInstanceIdentifier=identifier,
            ManageMasterUserPassword=True,
            ApplyImmediately=True,
            **options,
        )
        self.settle()

    def snapshot(self, identifier: str, snapshot_id: str) -> str:
        self.rds.create_db_snapshot(
            DBInstanceIdentifier=identifier, DBSnapshotIdentifier=snapshot_id
        )
        # The instance is `backing-up` until the snapshot is taken: no other call on it before.
        self.settle()
        return snapshot_id


def _default_option_group(engine: str) -> str:
    return f"default:{engine}-{MAJOR_VERSIONS[engine].replace('.', '-')}"


@dataclass(frozen=True)
class Stack:
    """A stack's database on the data plane: its rows and its master password."""

    rows: shop.Dataset
    password: str

    def attributes(self) -> dict[str, Any]:
        """Seeder.primary's arguments for it."""
        return {"DBName": shop.DATABASE, "password": self.password}


PROD_DATA = Stack(shop.PRODUCTION, "Prod-Master-Pass-1")
DEMO_DATA = Stack(shop.DEMO, "Demo-Master-Pass-2")


def _tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _prod(
    seeder: Seeder,
    engine: str,
    network: dict[str, Any],
    with_replica: bool = True,
    data: Stack | None = None,
) -> dict[str, Any]:
    """mitosis-prod (and mitosis-prod-replica): big, multi-AZ, protected, backups for a week; with
    `data`, its rows are loaded before the replica is made."""
    sg = seeder.security_group("mitosis-prod-db", network["vpc_id"])
    seeder.subnet_group("mitosis-prod-subnets", network["subnet_ids"])
    group = seeder.parameter_group(f"mitosis-prod-{FAMILIES[engine].replace('.', '')}", engine)
    options = seeder.option_group(f"mitosis-prod-{FAMILIES[engine].replace('.', '')}", engine)
    seeder.primary(
        "mitosis-prod",
        engine,
        DBInstanceClass="db.m5.large",
        AllocatedStorage=100,
        StorageType="gp3",
        MultiAZ=True,
        BackupRetentionPeriod=7,
        PreferredMaintenanceWindow="sun:04:00-sun:04:30",
        PreferredBackupWindow="02:00-02:30",
        DBSubnetGroupName="mitosis-prod-subnets",
        VpcSecurityGroupIds=[sg],
        DBParameterGroupName=group,
        OptionGroupName=options,
        DeletionProtection=True,
        CopyTagsToSnapshot=True,
        Tags=_tags(Service="Mitosis", Environment="production"),
        **(data.attributes() if data else {}),
    )
    seeder.settle()
    if data:
        seeder.load("mitosis-prod", data.password, data.rows)
    instances = ["mitosis-prod"]
    if with_replica:
        instances.append(
            seeder.replica(
                "mitosis-prod-replica",
                "mitosis-prod",
                {
                    "DBParameterGroupName": group,
                    "PreferredMaintenanceWindow": "sat:04:00-sat:04:30",
                    "PreferredBackupWindow": "03:00-03:30",
                },
                DBInstanceClass="db.m5.large",
                StorageType="gp3",
                VpcSecurityGroupIds=[sg],
                OptionGroupName=options,
                Tags=_tags(Service="Mitosis", Environment="production", IsReplica="true"),
            )
        )
    return {"instances": instances, "security_group": sg}


def _demo_primary(
    seeder: Seeder, engine: str, network: dict[str, Any], data: Stack | None = None
) -> dict[str, Any]:
    """mitosis-demo: small, single-AZ, port 5430, one day of backups (with `data`, its rows)."""
    sg = seeder.security_group("mitosis-demo-db", network["vpc_id"])
    seeder.subnet_group("mitosis-demo-subnets", network["subnet_ids"])
    suffix = FAMILIES[engine].replace(".", "")
    group = seeder.parameter_group(f"mitosis-demo-{suffix}", engine)
    options = seeder.option_group(f"mitosis-demo-{suffix}", engine)
    seeder.primary(
        "mitosis-demo",
        engine,
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        StorageType="gp2",
        Port=5430,
        MultiAZ=False,
        BackupRetentionPeriod=1,
        PreferredMaintenanceWindow="tue:07:02-tue:08:00",
        PreferredBackupWindow="05:30-06:20",
        DBSubnetGroupName="mitosis-demo-subnets",
        VpcSecurityGroupIds=[sg],
        DBParameterGroupName=group,
        OptionGroupName=options,
        Tags=_tags(Service="Mitosis", Environment="demo"),
        **(data.attributes() if data else {}),
    )
    seeder.settle()
    if data:
        seeder.load("mitosis-demo", data.password, data.rows)
    replica_group = seeder.parameter_group(f"mitosis-demo-replica-{suffix}", engine)
    return {"security_group": sg, "replica_parameter_group": replica_group}


def _demo_replica(
    seeder: Seeder, identifier: str, source: str, port: int, demo: dict[str, Any], engine: str
) -> str:
    """A demo replica: port `port`, IsReplica=true, the default option group, its own windows."""
    return seeder.replica(
        identifier,
        source,
        {
            "DBParameterGroupName": demo["replica_parameter_group"],
            "PreferredMaintenanceWindow": "mon:07:30-mon:08:00",
            "PreferredBackupWindow": "06:40-07:10",
        },
        DBInstanceClass="db.t3.small",
        StorageType="gp2",
        Port=port,
        VpcSecurityGroupIds=[demo["security_group"]],
        OptionGroupName=_default_option_group(engine),
        Tags=_tags(Service="Mitosis", Environment="demo", IsReplica="true"),
    )


def _scenario(
    session: boto3.Session | None,
    endpoint_url: str,
    engine: str,
    demo_replicas: list[tuple[str, str, int]],
    cross_vpc: bool = False,
    prod_replica: bool = True,
    data: tuple[Stack, Stack] | None = None,
) -> dict[str, Any]:
    seeder = Seeder(session, endpoint_url)
    prod_net = seeder.network("mitosis", "10.20.0.0/16")
    demo_net = seeder.network("mitosis-demo", "10.30.0.0/16") if cross_vpc else prod_net
    prod_data, demo_data = data or (None, None)
    prod = _prod(seeder, engine, prod_net, with_replica=prod_replica, data=prod_data)
    demo = _demo_primary(seeder, engine, demo_net, data=demo_data)
    instances = prod["instances"] + ["mitosis-demo"]
    for identifier, source, port in demo_replicas:
        if source != "mitosis-demo" and engine == "mysql":
            # A MySQL replica needs backups before it can have replicas of its own.
            seeder.rds.modify_db_instance(
                DBInstanceIdentifier=source, BackupRetentionPeriod=1, ApplyImmediately=True
            )
            seeder.settle()
        instances.append(_demo_replica(seeder, identifier, source, port, demo, engine))
    snapshots = [seeder.snapshot("mitosis-prod", f"mitosis-prod-manual-{n}") for n in (1, 2)]
    seeder.settle()
    return {
        "source": "mitosis-prod",
        "target": "mitosis-demo",
        "engine": engine,
        "instances": instances,
        "snapshots": snapshots,
        "vpcs": {"prod": prod_net["vpc_id"], "demo": demo_net["vpc_id"]},
    }


def seed_example(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """The README's example: mitosis-prod -> mitosis-prod-replica, mitosis-demo -> mitosis-demo-replica."""
    return _scenario(
        session, endpoint_url, "mysql", [("mitosis-demo-replica", "mitosis-demo", 5431)]
    )


def seed_cross_vpc(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """The example with mitosis-demo in another VPC: the clone must restore a snapshot."""
    return _scenario(
        session,
        endpoint_url,
        "mysql",
        [("mitosis-demo-replica", "mitosis-demo", 5431)],
        cross_vpc=True,
    )


def seed_cascade(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """MySQL cascade: mitosis-demo -> {mitosis-demo-r1 -> mitosis-demo-r1a, mitosis-demo-r2}."""
    return _scenario(
        session,
        endpoint_url,
        "mysql",
        [
            ("mitosis-demo-r1", "mitosis-demo", 5431),
            ("mitosis-demo-r1a", "mitosis-demo-r1", 5432),
            ("mitosis-demo-r2", "mitosis-demo", 5433),
        ],
    )


def seed_postgres_siblings(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """PostgreSQL: mitosis-prod -> mitosis-prod-replica, mitosis-demo -> {mitosis-demo-replica-a, -b}."""
    return _scenario(
        session,
        endpoint_url,
        "postgres",
        [
            ("mitosis-demo-replica-a", "mitosis-demo", 5431),
            ("mitosis-demo-replica-b", "mitosis-demo", 5432),
        ],
    )


def seed_postgres_data(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """postgres-siblings with data, on an endpoint with --data-plane: mitosis-prod holds production's
    `shop` (devtools.shop.PRODUCTION), mitosis-demo an older, smaller one (shop.DEMO), each stack its
    own master password."""
    summary = _scenario(
        session,
        endpoint_url,
        "postgres",
        [
            ("mitosis-demo-replica-a", "mitosis-demo", 5431),
            ("mitosis-demo-replica-b", "mitosis-demo", 5432),
        ],
        data=(PROD_DATA, DEMO_DATA),
    )
    return {**summary, "passwords": {"source": PROD_DATA.password, "target": DEMO_DATA.password}}


def seed_lone_target(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """mitosis-prod alone, and mitosis-demo without replicas."""
    return _scenario(session, endpoint_url, "mysql", [], prod_replica=False)


def seed_managed(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """The example, with both primaries' master passwords in Secrets Manager (demo's under a
    customer KMS key), and an application secret `mitosis-demo/app`."""
    summary = seed_example(session, endpoint_url)
    seeder = Seeder(session, endpoint_url)
    # Only now: RDS makes no replica of an instance whose password Secrets Manager manages.
    seeder.manage_password("mitosis-prod")
    key = seeder.client("kms").create_key(Description="mitosis-demo master secret")
    key_arn = key["KeyMetadata"]["Arn"]
    seeder.manage_password("mitosis-demo", kms_key_id=key_arn)
    app = seeder.client("secretsmanager").create_secret(
        Name="mitosis-demo/app",
        SecretString=json.dumps({"username": "app", "password": "demo-app-Secret-1"}),
        Tags=_tags(Service="Mitosis", Environment="demo"),
    )
    return {**summary, "secrets": {"app": app["ARN"], "demo_kms_key": key_arn}}


def seed_many(
    session: boto3.Session | None,
    endpoint_url: str,
    n: int,
    prefix: str = "bench",
    **attributes: Any,
) -> dict[str, Any]:
    """`n` unrelated available instances `{prefix}-00001`...: a control request creates them in the
    backend at once, as creating thousands through the API would take minutes."""
    started = time.perf_counter()
    result = Seeder(session, endpoint_url).control(
        "bulk-instances", {"prefix": prefix, "count": n, "attributes": attributes}
    )
    return {**result, "seconds": time.perf_counter() - started}


AURORA_VERSIONS = {"aurora-mysql": "8.0.mysql_aurora.3.05.2", "aurora-postgresql": "15.4"}
AURORA_FAMILIES = {"aurora-mysql": "aurora-mysql8.0", "aurora-postgresql": "aurora-postgresql15"}
AURORA_PORTS = {"aurora-mysql": (3306, 3307), "aurora-postgresql": (5432, 5433)}
AURORA_LOGS = {
    "aurora-mysql": (["slowquery"], ["audit", "error"]),
    "aurora-postgresql": (["postgresql"], ["postgresql"]),
}
MONITORING_ROLE = "arn:aws:iam::123456789012:role/mitosis-rds-monitoring"


def seed_aurora(
    session: boto3.Session | None,
    endpoint_url: str,
    engine: str = "aurora-mysql",
    cross_vpc: bool = False,
) -> dict[str, Any]:
    """Aurora: cluster mitosis-aurora-prod (writer -1, reader -2) and mitosis-aurora-demo (writer -1,
    readers -2 and -3), with a different value for every attribute; with `cross_vpc`, demo in VPC
    mitosis-demo, whose subnets are in other zones than prod's."""
    if engine not in AURORA_VERSIONS:
        raise ValueError(f"engine must be one of {', '.join(AURORA_VERSIONS)}")
    seeder = Seeder(session, endpoint_url)
    rds = seeder.rds
    prod_net = seeder.network("mitosis", "10.20.0.0/16")
    demo_net = seeder.network("mitosis-demo", "10.30.0.0/16", ("c", "d")) if cross_vpc else prod_net
    prod_port, demo_port = AURORA_PORTS[engine]
    prod_logs, demo_logs = AURORA_LOGS[engine]
    common = {
        "Engine": engine,
        "EngineVersion": AURORA_VERSIONS[engine],
        "MasterUsername": "mitosis",
        "MasterUserPassword": "not-a-real-password",
        "StorageEncrypted": True,
    }
    for name in ("mitosis-aurora-prod-cluster", "mitosis-aurora-demo-cluster"):
        rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=name,
            DBParameterGroupFamily=AURORA_FAMILIES[engine],
            Description=name,
        )
    rds.create_db_parameter_group(
        DBParameterGroupName="mitosis-aurora-demo-instance",
        DBParameterGroupFamily=AURORA_FAMILIES[engine],
        Description="mitosis-aurora-demo-instance",
    )
    prod_sg = seeder.security_group("mitosis-aurora-prod-db", prod_net["vpc_id"])
    demo_sg = seeder.security_group("mitosis-aurora-demo-db", demo_net["vpc_id"])
    seeder.subnet_group("mitosis-aurora-prod-subnets", prod_net["subnet_ids"])
    seeder.subnet_group("mitosis-aurora-demo-subnets", demo_net["subnet_ids"])
    prod_tags = _tags(Service="Mitosis", Environment="production")
    demo_tags = _tags(Service="Mitosis", Environment="demo")
    rds.create_db_cluster(
        DBClusterIdentifier="mitosis-aurora-prod",
        DBSubnetGroupName="mitosis-aurora-prod-subnets",
        VpcSecurityGroupIds=[prod_sg],
        DBClusterParameterGroupName="mitosis-aurora-prod-cluster",
        Port=prod_port,
        BackupRetentionPeriod=7,
        PreferredBackupWindow="02:00-02:30",
        PreferredMaintenanceWindow="sun:04:00-sun:04:30",
        DeletionProtection=True,
        EnableCloudwatchLogsExports=prod_logs,
        ServerlessV2ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 64},
        Tags=prod_tags,
        **common,
    )
    rds.create_db_cluster(
        DBClusterIdentifier="mitosis-aurora-demo",
        DBSubnetGroupName="mitosis-aurora-demo-subnets",
        VpcSecurityGroupIds=[demo_sg],
        DBClusterParameterGroupName="mitosis-aurora-demo-cluster",
        Port=demo_port,
        BackupRetentionPeriod=1,
        PreferredBackupWindow="05:30-06:20",
        PreferredMaintenanceWindow="tue:07:02-tue:08:00",
        EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=demo_logs,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
        CopyTagsToSnapshot=True,
        Tags=demo_tags,
        **common,
    )
    seeder.settle()
    members = [
        (
            "mitosis-aurora-prod-1",
            "mitosis-aurora-prod",
            {"DBInstanceClass": "db.r6g.xlarge", "PromotionTier": 1, "Tags": prod_tags},
        ),
        (
            "mitosis-aurora-prod-2",
            "mitosis-aurora-prod",
            {"DBInstanceClass": "db.r6g.xlarge", "PromotionTier": 2, "Tags": prod_tags},
        ),
        (
            "mitosis-aurora-demo-1",
            "mitosis-aurora-demo",
            {
                "DBInstanceClass": "db.r6g.large",
                "PromotionTier": 0,
                "DBParameterGroupName": "mitosis-aurora-demo-instance",
                "EnablePerformanceInsights": True,
                "Tags": demo_tags,
            },
        ),
        (
            "mitosis-aurora-demo-2",
            "mitosis-aurora-demo",
            {
                "DBInstanceClass": "db.r6g.large",
                "PromotionTier": 1,
                "MonitoringInterval": 60,
                "MonitoringRoleArn": MONITORING_ROLE,
                "Tags": demo_tags,
            },
        ),
        (
            "mitosis-aurora-demo-3",
            "mitosis-aurora-demo",
            {
                "DBInstanceClass": "db.t4g.medium",
                "PromotionTier": 2,
                "Tags": demo_tags + _tags(Role="reporting"),
            },
        ),
    ]
    for identifier, cluster, attributes in members:
        # The first member of a cluster is its writer.
        rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBClusterIdentifier=cluster, Engine=engine, **attributes
        )
        seeder.settle()
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="mitosis-aurora-prod",
        DBClusterSnapshotIdentifier="mitosis-aurora-prod-manual-1",
    )
    seeder.settle()
    snapshots = rds.describe_db_cluster_snapshots(DBClusterIdentifier="mitosis-aurora-prod")
    names = sorted(
        (s["SnapshotType"] != "manual", s["DBClusterSnapshotIdentifier"])
        for s in snapshots["DBClusterSnapshots"]
    )
    return {
        "source": "mitosis-aurora-prod",
        "target": "mitosis-aurora-demo",
        "engine": engine,
        "instances": [identifier for identifier, _, _ in members],
        "snapshots": [],
        "vpcs": {"prod": prod_net["vpc_id"], "demo": demo_net["vpc_id"]},
        "clusters": {"source": "mitosis-aurora-prod", "target": "mitosis-aurora-demo"},
        "cluster_snapshots": [name for _, name in names],
    }


def seed_aurora_postgres(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """seed_aurora with aurora-postgresql 15.4."""
    return seed_aurora(session, endpoint_url, engine="aurora-postgresql")


def seed_aurora_cross_vpc(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """seed_aurora with mitosis-aurora-demo in a second VPC (zones c and d)."""
    return seed_aurora(session, endpoint_url, cross_vpc=True)


# The zone of the application's records in the DNS scenarios (swap_method=dns), and its records: name -> instance.
DNS_ZONE = "demo.internal"
DNS_RECORDS = {"db.demo.internal": "mitosis-demo"}
DNS_TTL = 60


def dns_records(
    session: boto3.Session | None,
    endpoint_url: str,
    records: dict[str, str],
    zone: str = DNS_ZONE,
    ttl: int = DNS_TTL,
) -> dict[str, Any]:
    """A private hosted zone `zone` whose CNAME records point at the instances' endpoints, as an application
    switched by DNS reaches its stack."""
    seeder = Seeder(session, endpoint_url)
    route53 = seeder.client("route53")
    found = route53.list_hosted_zones_by_name(DNSName=zone + ".")["HostedZones"]
    zone_id = next((z["Id"] for z in found if z["Name"] == zone + "."), None)
    if zone_id is None:
        zone_id = route53.create_hosted_zone(
            Name=zone, CallerReference=f"mitosis-{time.time()}",
            HostedZoneConfig={"Comment": "the demo application's names", "PrivateZone": True},
            VPC={"VPCRegion": "us-east-1", "VPCId": seeder.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]},
        )["HostedZone"]["Id"]
    changes = []
    for name, identifier in records.items():
        endpoint = seeder.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["Endpoint"]
        changes.append({"Action": "UPSERT", "ResourceRecordSet": {
            "Name": name, "Type": "CNAME", "TTL": ttl, "ResourceRecords": [{"Value": endpoint["Address"]}]}})
    if changes:
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
        seeder.settle()
    return {"zone": zone, "zone_id": zone_id.split("/")[-1], "records": records, "ttl": ttl}


def seed_dns(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """The example, whose application reaches mitosis-demo through db.demo.internal and its replica through
    db-ro.demo.internal (a private zone demo.internal)."""
    summary = seed_example(session, endpoint_url)
    records = dict(DNS_RECORDS, **{"db-ro.demo.internal": "mitosis-demo-replica"})
    return {**summary, "dns": dns_records(session, endpoint_url, records)}


SCENARIOS = {
    "dns": seed_dns,
    "example": seed_example,
    "cross-vpc": seed_cross_vpc,
    "cascade": seed_cascade,
    "postgres-siblings": seed_postgres_siblings,
    "postgres-data": seed_postgres_data,
    "lone-target": seed_lone_target,
    "managed": seed_managed,
    "aurora": seed_aurora,
    "aurora-postgres": seed_aurora_postgres,
    "aurora-cross-vpc": seed_aurora_cross_vpc,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.seed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--endpoint", required=True, help="the endpoint's URL (127.0.0.1 only)")
    parser.add_argument("--scenario", default="example", choices=[*SCENARIOS, "many"])
    parser.add_argument("--count", type=int, default=5000, help="instances for --scenario many")
    args = parser.parse_args(argv)
    if args.scenario == "many":
        summary = seed_many(None, args.endpoint, args.count)
    else:
        summary = SCENARIOS[args.scenario](None, args.endpoint)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
