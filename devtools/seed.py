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
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.session
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
        session = session or _default_session()
        self.endpoint_url = endpoint_url
        self.session = session
        self.clients: dict[tuple[str, str | None], Any] = {}
        self.rds = self.client("rds")
        self.ec2 = self.client("ec2")

    def client(self, service: str, account: str | None = None) -> Any:
        """A client of the endpoint (made once: making one costs ~0.1 s); with `account`, its calls are made in that
        account (moto's `x-moto-account-id`), whatever the credentials."""
        if (service, account) not in self.clients:
            client = self.session.client(service, endpoint_url=self.endpoint_url, config=Config(proxies={}))
            if account:
                client.meta.events.register(f"before-sign.{service}.*", _account_header(account))
            self.clients[(service, account)] = client
        return self.clients[(service, account)]

    def assumed(self, role_arn: str, session_name: str = "mitosis-seed") -> "Seeder":
        """A seeder with the temporary credentials sts:AssumeRole of `role_arn` gives this seeder's: its calls are
        made in the role's account."""
        credentials = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        # The service models this seeder's session loaded already serve the new one too.
        core = botocore.session.Session()
        loader = self.session._session.get_component("data_loader")  # pylint: disable=protected-access
        core.register_component("data_loader", loader)
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name="us-east-1",
            botocore_session=core,
        )
        return Seeder(session, self.endpoint_url)

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

    def data_plane(self) -> bool:
        """Whether the endpoint runs with --data-plane (its servers route answers)."""
        try:
            with _NO_PROXY.open(f"{self.endpoint_url}/_mitosis/servers", timeout=60):
                return True
        except urllib.error.HTTPError:
            return False

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


_DEFAULT: list[boto3.Session] = []


def _default_session() -> boto3.Session:
    """The test credentials (123456789012), one session for every seeder: its loaded service models are reused."""
    if not _DEFAULT:
        _DEFAULT.append(boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        ))
    return _DEFAULT[0]


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
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """mitosis-prod (and mitosis-prod-replica): big, multi-AZ, protected, backups for a week; with
    `data`, its rows are loaded before the replica is made; `extra`: more CreateDBInstance arguments."""
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
        **(extra or {}),
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
    seeder: Seeder,
    engine: str,
    network: dict[str, Any],
    data: Stack | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """mitosis-demo: small, single-AZ, port 5430, one day of backups (with `data`, its rows; `extra`: more
    CreateDBInstance arguments)."""
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
        **(extra or {}),
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
    return _aurora(seeder, seeder, engine, cross_vpc)


def _aurora(
    prod: Seeder,
    demo: Seeder,
    engine: str,
    cross_vpc: bool,
    prod_extra: dict[str, Any] | None = None,
    demo_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """seed_aurora's clusters: mitosis-aurora-prod through `prod`, mitosis-aurora-demo through `demo` (the same
    seeder, or one of another account); `*_extra`: more CreateDBCluster arguments."""
    prod_net = prod.network("mitosis", "10.20.0.0/16")
    demo_net = demo.network("mitosis-demo", "10.30.0.0/16", ("c", "d")) if cross_vpc else prod_net
    prod_port, demo_port = AURORA_PORTS[engine]
    prod_logs, demo_logs = AURORA_LOGS[engine]
    common = {
        "Engine": engine,
        "EngineVersion": AURORA_VERSIONS[engine],
        "MasterUsername": "mitosis",
        "MasterUserPassword": "not-a-real-password",
        "StorageEncrypted": True,
    }
    for seeder, name in ((prod, "mitosis-aurora-prod-cluster"), (demo, "mitosis-aurora-demo-cluster")):
        seeder.rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=name,
            DBParameterGroupFamily=AURORA_FAMILIES[engine],
            Description=name,
        )
    demo.rds.create_db_parameter_group(
        DBParameterGroupName="mitosis-aurora-demo-instance",
        DBParameterGroupFamily=AURORA_FAMILIES[engine],
        Description="mitosis-aurora-demo-instance",
    )
    prod_sg = prod.security_group("mitosis-aurora-prod-db", prod_net["vpc_id"])
    demo_sg = demo.security_group("mitosis-aurora-demo-db", demo_net["vpc_id"])
    prod.subnet_group("mitosis-aurora-prod-subnets", prod_net["subnet_ids"])
    demo.subnet_group("mitosis-aurora-demo-subnets", demo_net["subnet_ids"])
    prod_tags = _tags(Service="Mitosis", Environment="production")
    demo_tags = _tags(Service="Mitosis", Environment="demo")
    prod.rds.create_db_cluster(
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
        **(prod_extra or {}),
    )
    demo.rds.create_db_cluster(
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
        **(demo_extra or {}),
    )
    prod.settle()
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
        (prod if cluster == "mitosis-aurora-prod" else demo).rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBClusterIdentifier=cluster, Engine=engine, **attributes
        )
        prod.settle()
    prod.rds.create_db_cluster_snapshot(
        DBClusterIdentifier="mitosis-aurora-prod",
        DBClusterSnapshotIdentifier="mitosis-aurora-prod-manual-1",
    )
    prod.settle()
    snapshots = prod.rds.describe_db_cluster_snapshots(DBClusterIdentifier="mitosis-aurora-prod")
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


# Cross-account refreshes: the production stack in the SOURCE account, the demo stack in the TARGET account (the run's
# own credentials, moto's default account). A client reaches the source by sts:AssumeRole of SOURCE_ROLE_ARN through
# the endpoint (source_session), or with the static keys of an IAM user of the source account (source_user_keys).
SOURCE_ACCOUNT = "210987654321"
TARGET_ACCOUNT = "123456789012"
SOURCE_ROLE_ARN = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/mitosis-source"
SHARE_KEY_ALIAS = "alias/mitosis-share"  # source: a customer managed key whose policy lets the target use it
PRIVATE_KEY_ALIAS = "alias/mitosis-private"  # source: a customer managed key the target may not use
DEMO_KEY_ALIAS = "alias/mitosis-demo"  # target: the demo stack's key
# What RDS needs of a shared snapshot's key in the account that copies it (the AWS guide's key policy for another
# account).
SHARE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncrypt*"]


def _account_header(account: str) -> Any:
    """A botocore handler that sends the request in `account` (moto's `x-moto-account-id`)."""
    def add(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account
    return add


def source_session(
    session: boto3.Session | None, endpoint_url: str, role_arn: str = SOURCE_ROLE_ARN,
    session_name: str = "mitosis-seed",
) -> boto3.Session:
    """A session in the source account: the temporary credentials sts:AssumeRole of `role_arn` gives through the
    endpoint to `session` (default: the run's own credentials), as a refresh reaches production."""
    return Seeder(session, endpoint_url).assumed(role_arn, session_name).session


def source_user_keys(
    endpoint_url: str, user_name: str = "mitosis-source", account: str = SOURCE_ACCOUNT
) -> dict[str, str]:
    """An IAM user of `account` (created if missing) and a new access key of it, made through the endpoint: the
    static keys of a profile whose calls are made in that account. Returns {"aws_access_key_id",
    "aws_secret_access_key"}."""
    iam = Seeder(None, endpoint_url).client("iam", account)
    try:
        iam.create_user(UserName=user_name, Tags=_tags(Service="Mitosis"))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _source_role(seeder: Seeder, role_arn: str = SOURCE_ROLE_ARN) -> None:
    """The role of the source account that the target account assumes (moto's AssumeRole needs none: it is there for
    whoever looks)."""
    iam = seeder.client("iam", role_arn.split(":")[4])
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{TARGET_ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    try:
        iam.create_role(RoleName=role_arn.rsplit("/", 1)[-1], AssumeRolePolicyDocument=json.dumps(trust),
                        Description="mitosis: the target account's refreshes read production")
    except iam.exceptions.EntityAlreadyExistsException:
        pass


def _key(seeder: Seeder, alias: str, description: str, grantee: str | None = None) -> str:
    """A customer managed KMS key with `alias` in the seeder's account, whose key policy gives its account every
    right and (with `grantee`) lets that account use it for a shared snapshot; its ARN."""
    account = seeder.client("sts").get_caller_identity()["Account"]
    statements = [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}]
    if grantee:
        statements.append({"Sid": "Allow the target account to copy snapshots shared with it", "Effect": "Allow",
                           "Principal": {"AWS": f"arn:aws:iam::{grantee}:root"}, "Action": SHARE_ACTIONS,
                           "Resource": "*"})
    kms = seeder.client("kms")
    key = kms.create_key(Description=description, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
                         Tags=[{"TagKey": "Service", "TagValue": "Mitosis"}])["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return key["Arn"]


def cross_account_keys(source: Seeder, target: Seeder) -> dict[str, str]:
    """The keys of both accounts (ARNs): the source's managed aws/rds key, its shared and private keys, the target's
    demo key."""
    return {
        "source_default": source.client("kms").describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"],
        "share": _key(source, SHARE_KEY_ALIAS, "mitosis: snapshots shared with the target account", TARGET_ACCOUNT),
        "private": _key(source, PRIVATE_KEY_ALIAS, "mitosis: production only"),
        "demo": _key(target, DEMO_KEY_ALIAS, "mitosis-demo storage"),
    }


def _cross_account_facts(keys: dict[str, str]) -> dict[str, Any]:
    return {
        "accounts": {"source": SOURCE_ACCOUNT, "target": TARGET_ACCOUNT},
        "role_arn": SOURCE_ROLE_ARN,
        "keys": keys,
        "aliases": {"share": SHARE_KEY_ALIAS, "private": PRIVATE_KEY_ALIAS, "demo": DEMO_KEY_ALIAS},
    }


def seed_cross_account(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """A cross-account refresh: in the source account 210987654321, mitosis-prod -> mitosis-prod-replica (PostgreSQL
    15.4, encrypted with the account's aws/rds key, a week of backups; production's rows on a --data-plane endpoint)
    and the keys alias/mitosis-share (the target may use it) and alias/mitosis-private (it may not); in the target
    account 123456789012 (`session`'s), mitosis-demo -> {mitosis-demo-replica-a, -b} encrypted with its key
    alias/mitosis-demo (the demo rows on the data plane). mitosis-prod's newest automated snapshot is taken last
    (after its rows), and is available."""
    target = Seeder(session, endpoint_url)
    _source_role(target)
    source = target.assumed(SOURCE_ROLE_ARN)
    data = target.data_plane()
    keys = cross_account_keys(source, target)
    prod_net = source.network("mitosis", "10.20.0.0/16")
    demo_net = target.network("mitosis-demo", "10.30.0.0/16")
    prod = _prod(source, "postgres", prod_net, data=PROD_DATA if data else None, extra={"StorageEncrypted": True})
    demo = _demo_primary(target, "postgres", demo_net, data=DEMO_DATA if data else None,
                         extra={"StorageEncrypted": True, "KmsKeyId": keys["demo"]})
    instances = ["mitosis-demo"] + [
        _demo_replica(target, identifier, "mitosis-demo", port, demo, "postgres")
        for identifier, port in (("mitosis-demo-replica-a", 5431), ("mitosis-demo-replica-b", 5432))
    ]
    # As the nightly backup takes it: production's data of now (its create's holds none on the data plane).
    automated = source.control("automated-snapshot", {"identifier": "mitosis-prod", "account_id": SOURCE_ACCOUNT})
    source.settle()
    snapshot = source.rds.describe_db_snapshots(DBSnapshotIdentifier=automated["snapshot"], SnapshotType="automated")
    summary = {
        "source": "mitosis-prod",
        "target": "mitosis-demo",
        "engine": "postgres",
        "instances": instances,
        "source_instances": prod["instances"],
        "snapshots": [automated["snapshot"]],
        "source_snapshot": {"identifier": automated["snapshot"], "arn": snapshot["DBSnapshots"][0]["DBSnapshotArn"]},
        "vpcs": {"prod": prod_net["vpc_id"], "demo": demo_net["vpc_id"]},
        **_cross_account_facts(keys),
    }
    if data:
        summary["passwords"] = {"source": PROD_DATA.password, "target": DEMO_DATA.password}
    return summary


def seed_cross_account_aurora(
    session: boto3.Session | None, endpoint_url: str, shareable: bool = False
) -> dict[str, Any]:
    """seed_aurora (aurora-postgresql) across accounts: mitosis-aurora-prod in the source account, encrypted with its
    aws/rds key, and mitosis-aurora-demo in the target account, encrypted with alias/mitosis-demo; each in a VPC of
    its account; the keys of seed_cross_account. With `shareable`, mitosis-aurora-prod is encrypted with
    alias/mitosis-share instead (the target may use it): a cluster the target account may clone across accounts once
    it is shared through AWS RAM, which AWS refuses for one under the default key."""
    target = Seeder(session, endpoint_url)
    _source_role(target)
    source = target.assumed(SOURCE_ROLE_ARN)
    keys = cross_account_keys(source, target)
    summary = _aurora(source, target, "aurora-postgresql", cross_vpc=True,
                      prod_extra={"KmsKeyId": keys["share"]} if shareable else None,
                      demo_extra={"KmsKeyId": keys["demo"]})
    demo_members = [name for name in summary["instances"] if name.startswith("mitosis-aurora-demo")]
    return {**summary, "instances": demo_members,
            "source_instances": [name for name in summary["instances"] if name not in demo_members],
            "source_cluster_arn": f"arn:aws:rds:us-east-1:{SOURCE_ACCOUNT}:cluster:mitosis-aurora-prod",
            **_cross_account_facts(keys)}


def seed_cross_account_aurora_ram(session: boto3.Session | None, endpoint_url: str) -> dict[str, Any]:
    """seed_cross_account_aurora with mitosis-aurora-prod under alias/mitosis-share: clonable across accounts."""
    return seed_cross_account_aurora(session, endpoint_url, shareable=True)


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
    "cross-account": seed_cross_account,
    "cross-account-aurora": seed_cross_account_aurora,
    "cross-account-aurora-ram": seed_cross_account_aurora_ram,
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
