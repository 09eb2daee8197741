"""Master credentials: managed secrets, password resets, point-in-time restores."""

import json

import pytest
from botocore.exceptions import ClientError

from devtools.rds_endpoint.testing import ControlError, aws_error

# The master password `Api.primary` gives its instances.
PASSWORD = "not-a-real-password"
NEW_PASSWORD = "a-new-Password-1"


def managed(api, name, engine="mysql", **attributes):
    """An instance created with ManageMasterUserPassword (so without a password of its own)."""
    attributes = {
        "DBInstanceClass": "db.t3.micro",
        "AllocatedStorage": 20,
        "BackupRetentionPeriod": 1,
        "MasterUsername": "mitosis",
        "ManageMasterUserPassword": True,
        **attributes,
    }
    if engine == "mysql":
        attributes.setdefault("EngineVersion", "8.0.35")
    api.rds.create_db_instance(DBInstanceIdentifier=name, Engine=engine, **attributes)
    api.settle()
    return api.describe(name)


def manage(api, name, **attributes):
    """Turn on Secrets Manager's management of `name`'s master password."""
    api.rds.modify_db_instance(
        DBInstanceIdentifier=name,
        ManageMasterUserPassword=True,
        ApplyImmediately=True,
        **attributes,
    )
    api.settle()
    return api.describe(name)


def secret_value(api, arn):
    return json.loads(api.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def restore_to_point_in_time(api, source, target, **attributes):
    api.rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=source,
        TargetDBInstanceIdentifier=target,
        UseLatestRestorableTime=True,
        **attributes,
    )
    api.settle()
    return api.describe(target)


def network(api, name, cidr):
    """A subnet group `name` over two zones of a new VPC, and a security group in that VPC."""
    ec2 = api.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    prefix = cidr.rsplit(".", 2)[0]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"{prefix}.{n}.0/24", AvailabilityZone=f"us-east-1{zone}"
        )["Subnet"]["SubnetId"]
        for n, zone in ((1, "a"), (2, "b"))
    ]
    api.rds.create_db_subnet_group(
        DBSubnetGroupName=name, DBSubnetGroupDescription=name, SubnetIds=subnets
    )
    return ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"]


# --- read replicas and managed secrets ---------------------------------------------------------


@pytest.mark.parametrize("engine", ["mysql", "postgres"])
@pytest.mark.parametrize("how", ["at create", "by modify"])
def test_no_replica_of_a_source_whose_password_secrets_manager_manages(api, engine, how):
    if how == "at create":
        managed(api, "src", engine=engine, EngineVersion="8.0.35" if engine == "mysql" else "15.4")
    else:
        api.primary("src", engine=engine)
        manage(api, "src")
    assert aws_error(
        api.rds.create_db_instance_read_replica,
        DBInstanceIdentifier="rep",
        SourceDBInstanceIdentifier="src",
    ) == ("InvalidParameterValue", 400)
    assert not api.exists("rep")
    assert api.describe("src")["ReadReplicaDBInstanceIdentifiers"] == []


def test_a_sql_server_replica_does_not_share_its_sources_secret(api):
    # SQL Server is the exception: its replicas are allowed, but the secret stays the source's.
    source = managed(api, "src", engine="sqlserver-se", LicenseModel="license-included")
    arn = source["MasterUserSecret"]["SecretArn"]
    replica = api.replica("rep", "src")
    assert replica.get("MasterUserSecret", {}).get("SecretArn") != arn
    api.rds.delete_db_instance(DBInstanceIdentifier="rep", SkipFinalSnapshot=True)
    api.settle()
    assert secret_value(api, arn)["username"] == "mitosis"
    assert api.describe("src")["MasterUserSecret"]["SecretArn"] == arn


# --- restores never carry a managed secret ----------------------------------------------------


def test_a_snapshot_restore_of_a_managed_instance_has_no_managed_secret(api):
    source = managed(api, "src")
    api.rds.create_db_snapshot(DBInstanceIdentifier="src", DBSnapshotIdentifier="snap")
    api.rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="restored", DBSnapshotIdentifier="snap"
    )
    api.settle()
    assert "MasterUserSecret" not in api.describe("restored")
    password = secret_value(api, source["MasterUserSecret"]["SecretArn"])["password"]
    if api.endpoint:
        assert api.endpoint.check_password("restored", password)


def test_a_point_in_time_restore_of_a_managed_instance_has_no_managed_secret(api):
    source = managed(api, "src")
    arn = source["MasterUserSecret"]["SecretArn"]
    restored = restore_to_point_in_time(api, "src", "pit")
    assert "MasterUserSecret" not in restored
    assert restored["MasterUsername"] == "mitosis"
    assert api.describe("src")["MasterUserSecret"]["SecretArn"] == arn
    if api.endpoint:
        assert api.endpoint.check_password("pit", secret_value(api, arn)["password"])


# --- RestoreDBInstanceToPointInTime -------------------------------------------------------------


def test_a_point_in_time_restore_is_a_new_standalone_instance(api):
    source = api.primary(
        "src",
        MultiAZ=True,
        DeletionProtection=True,
        CopyTagsToSnapshot=True,
        BackupRetentionPeriod=7,
    )
    api.replica("src-replica", "src")
    api.hold()
    api.rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="src",
        TargetDBInstanceIdentifier="pit",
        UseLatestRestorableTime=True,
    )
    assert api.describe("pit")["DBInstanceStatus"] == "creating"
    api.settle()
    restored = api.describe("pit")
    assert restored["DBInstanceStatus"] == "available"
    assert restored["DbiResourceId"] != source["DbiResourceId"]
    assert restored["InstanceCreateTime"] > source["InstanceCreateTime"]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in restored
    assert restored["ReadReplicaDBInstanceIdentifiers"] == []
    assert not (
        restored["MultiAZ"] or restored["DeletionProtection"] or restored["CopyTagsToSnapshot"]
    )
    # Backups as the source's; the source's own replication is untouched.
    assert restored["BackupRetentionPeriod"] == 7
    assert (restored["MasterUsername"], restored["Engine"]) == ("mitosis", "mysql")
    assert api.describe("src")["ReadReplicaDBInstanceIdentifiers"] == ["src-replica"]
    assert api.describe("src-replica")["ReadReplicaSourceDBInstanceIdentifier"] == "src"
    if api.endpoint:
        assert api.endpoint.check_password("pit", PASSWORD)


def test_a_point_in_time_restore_takes_aws_defaults_not_the_sources_network(api):
    # AWS: "the default security group, the default subnet group, and the default DB parameter
    # group" (RestoreDBInstanceToPointInTime).
    sg = network(api, "src-subnets", "10.40.0.0/16")
    api.rds.create_db_parameter_group(
        DBParameterGroupName="src-params", DBParameterGroupFamily="mysql8.0", Description="src"
    )
    api.primary(
        "src",
        DBSubnetGroupName="src-subnets",
        VpcSecurityGroupIds=[sg],
        DBParameterGroupName="src-params",
    )
    restored = restore_to_point_in_time(api, "src", "pit")
    assert restored.get("DBSubnetGroup", {}).get("DBSubnetGroupName") != "src-subnets"
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] != [sg]
    assert restored["DBParameterGroups"][0]["DBParameterGroupName"] == "default.mysql8.0"


def test_a_point_in_time_restore_takes_the_calls_settings(endpoint_api):
    api = endpoint_api
    sg = network(api, "pit-subnets", "10.50.0.0/16")
    api.rds.create_db_parameter_group(
        DBParameterGroupName="pit-params", DBParameterGroupFamily="mysql8.0", Description="pit"
    )
    api.rds.create_option_group(
        OptionGroupName="pit-options",
        EngineName="mysql",
        MajorEngineVersion="8.0",
        OptionGroupDescription="pit",
    )
    api.primary("src", BackupRetentionPeriod=3)
    restored = restore_to_point_in_time(
        api,
        "src",
        "pit",
        DBInstanceClass="db.m5.large",
        Port=5433,
        DBSubnetGroupName="pit-subnets",
        VpcSecurityGroupIds=[sg],
        DBParameterGroupName="pit-params",
        OptionGroupName="pit-options",
        MultiAZ=True,
        DeletionProtection=True,
        BackupRetentionPeriod=5,
        Tags=[{"Key": "Environment", "Value": "demo"}],
    )
    assert restored["DBInstanceClass"] == "db.m5.large"
    assert restored["Endpoint"]["Port"] == 5433
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == "pit-subnets"
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [sg]
    assert restored["DBParameterGroups"][0]["DBParameterGroupName"] == "pit-params"
    assert restored["OptionGroupMemberships"][0]["OptionGroupName"] == "pit-options"
    assert (restored["MultiAZ"], restored["DeletionProtection"]) == (True, True)
    assert restored["BackupRetentionPeriod"] == 5
    tags = api.rds.list_tags_for_resource(ResourceName=restored["DBInstanceArn"])["TagList"]
    assert tags == [{"Key": "Environment", "Value": "demo"}]


def test_a_point_in_time_restore_needs_automated_backups(api):
    api.primary("src", BackupRetentionPeriod=0)
    assert aws_error(
        api.rds.restore_db_instance_to_point_in_time,
        SourceDBInstanceIdentifier="src",
        TargetDBInstanceIdentifier="pit",
        UseLatestRestorableTime=True,
    ) == ("PointInTimeRestoreNotEnabled", 400)
    assert not api.exists("pit")


def test_a_point_in_time_restore_takes_one_restore_time(api):
    api.primary("src")
    assert aws_error(
        api.rds.restore_db_instance_to_point_in_time,
        SourceDBInstanceIdentifier="src",
        TargetDBInstanceIdentifier="pit",
        UseLatestRestorableTime=True,
        RestoreTime=api.describe("src")["InstanceCreateTime"],
    ) == ("InvalidParameterCombination", 400)
    assert not api.exists("pit")


def test_a_point_in_time_restore_is_refused_what_does_not_exist(endpoint_api):
    api = endpoint_api
    api.primary("src")
    api.primary("taken")
    restore = api.rds.restore_db_instance_to_point_in_time
    base = {"SourceDBInstanceIdentifier": "src", "UseLatestRestorableTime": True}
    assert aws_error(
        restore, SourceDBInstanceIdentifier="nope", TargetDBInstanceIdentifier="pit"
    ) == ("DBInstanceNotFound", 404)
    assert aws_error(restore, TargetDBInstanceIdentifier="taken", **base) == (
        "DBInstanceAlreadyExists",
        400,
    )
    for option, code in [
        ("DBParameterGroupName", "DBParameterGroupNotFound"),
        ("OptionGroupName", "OptionGroupNotFoundFault"),
        ("DBSubnetGroupName", "DBSubnetGroupNotFoundFault"),
    ]:
        assert (
            aws_error(restore, TargetDBInstanceIdentifier="pit", **{option: "nope"}, **base)[0]
            == code
        ), option
    assert not api.exists("pit")


def test_a_point_in_time_restore_onto_a_name_a_rename_will_take(endpoint_api):
    api = endpoint_api
    api.primary("src")
    api.primary("db")
    api.hold()
    api.rds.modify_db_instance(
        DBInstanceIdentifier="db", NewDBInstanceIdentifier="old-db", ApplyImmediately=True
    )
    assert aws_error(
        api.rds.restore_db_instance_to_point_in_time,
        SourceDBInstanceIdentifier="src",
        TargetDBInstanceIdentifier="old-db",
        UseLatestRestorableTime=True,
    ) == ("DBInstanceAlreadyExists", 400)


def test_a_point_in_time_restore_from_a_busy_source(held):
    # AWS restores from the backups: the source's own status does not matter.
    held.primary("src")
    held.rds.modify_db_instance(
        DBInstanceIdentifier="src", DBInstanceClass="db.m5.large", ApplyImmediately=True
    )
    assert held.describe("src")["DBInstanceStatus"] == "modifying"
    held.rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="src",
        TargetDBInstanceIdentifier="pit",
        UseLatestRestorableTime=True,
    )
    assert held.describe("pit")["DBInstanceStatus"] == "creating"


def test_a_point_in_time_restore_is_creating_for_twenty_minutes(held):
    held.primary("src")
    held.rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="src",
        TargetDBInstanceIdentifier="pit",
        UseLatestRestorableTime=True,
    )
    held.endpoint.advance(19)
    assert held.describe("pit")["DBInstanceStatus"] == "creating"
    held.endpoint.advance(1)
    assert held.describe("pit")["DBInstanceStatus"] == "available"


# --- ModifyDBInstance MasterUserPassword --------------------------------------------------------


@pytest.mark.parametrize("apply_immediately", [True, False])
def test_a_password_reset_shows_resetting_master_credentials(api, apply_immediately):
    # AWS applies a new password as soon as possible, whatever ApplyImmediately says.
    api.primary("db")
    api.hold()
    api.rds.modify_db_instance(
        DBInstanceIdentifier="db",
        MasterUserPassword=NEW_PASSWORD,
        ApplyImmediately=apply_immediately,
    )
    running = api.describe("db")
    assert running["DBInstanceStatus"] == "resetting-master-credentials"
    assert running["PendingModifiedValues"] == {"MasterUserPassword": "****"}
    if api.endpoint:
        assert api.endpoint.check_password("db", PASSWORD)
    api.settle()
    done = api.describe("db")
    assert (done["DBInstanceStatus"], done["PendingModifiedValues"]) == ("available", {})
    if api.endpoint:
        assert api.endpoint.check_password("db", NEW_PASSWORD)
        assert not api.endpoint.check_password("db", PASSWORD)


def test_a_password_reset_with_other_changes_is_a_modify(held):
    held.primary("db")
    held.rds.modify_db_instance(
        DBInstanceIdentifier="db",
        MasterUserPassword=NEW_PASSWORD,
        DBInstanceClass="db.m5.large",
        ApplyImmediately=True,
    )
    running = held.describe("db")
    assert running["DBInstanceStatus"] == "modifying"
    assert running["PendingModifiedValues"] == {
        "MasterUserPassword": "****",
        "DBInstanceClass": "db.m5.large",
    }


def test_no_password_reset_while_secrets_manager_manages_it(api):
    arn = managed(api, "db")["MasterUserSecret"]["SecretArn"]
    assert aws_error(
        api.rds.modify_db_instance,
        DBInstanceIdentifier="db",
        MasterUserPassword=NEW_PASSWORD,
        ApplyImmediately=True,
    ) == ("InvalidParameterCombination", 400)
    api.settle()
    assert api.describe("db")["MasterUserSecret"]["SecretArn"] == arn
    if api.endpoint:
        assert api.endpoint.check_password("db", secret_value(api, arn)["password"])


def test_no_password_and_managed_secret_in_one_call(api):
    api.primary("db")
    assert aws_error(
        api.rds.modify_db_instance,
        DBInstanceIdentifier="db",
        MasterUserPassword=NEW_PASSWORD,
        ManageMasterUserPassword=True,
        ApplyImmediately=True,
    ) == ("InvalidParameterCombination", 400)
    api.settle()
    assert "MasterUserSecret" not in api.describe("db")
    assert aws_error(
        api.rds.create_db_instance,
        DBInstanceIdentifier="other",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="mitosis",
        MasterUserPassword=NEW_PASSWORD,
        ManageMasterUserPassword=True,
    ) == ("InvalidParameterCombination", 400)
    assert not api.exists("other")


def test_turning_management_off_needs_a_password(api):
    arn = managed(api, "db")["MasterUserSecret"]["SecretArn"]
    assert aws_error(
        api.rds.modify_db_instance,
        DBInstanceIdentifier="db",
        ManageMasterUserPassword=False,
        ApplyImmediately=True,
    ) == ("InvalidParameterCombination", 400)
    api.settle()
    assert api.describe("db")["MasterUserSecret"]["SecretArn"] == arn


def test_turning_management_off_deletes_the_secret_once_modified(api):
    arn = managed(api, "db")["MasterUserSecret"]["SecretArn"]
    api.hold()
    api.rds.modify_db_instance(
        DBInstanceIdentifier="db",
        ManageMasterUserPassword=False,
        MasterUserPassword=NEW_PASSWORD,
        ApplyImmediately=True,
    )
    assert api.describe("db")["DBInstanceStatus"] == "modifying"
    api.settle()
    assert "MasterUserSecret" not in api.describe("db")
    code, _ = aws_error(api.client("secretsmanager").get_secret_value, SecretId=arn)
    assert code == "ResourceNotFoundException"
    if api.endpoint:
        assert api.endpoint.check_password("db", NEW_PASSWORD)


def test_no_password_reset_on_a_postgres_replica(api):
    # Physical replication: the replica's password is its source's.
    api.primary("src", engine="postgres")
    api.replica("rep", "src")
    assert aws_error(
        api.rds.modify_db_instance,
        DBInstanceIdentifier="rep",
        MasterUserPassword=NEW_PASSWORD,
        ApplyImmediately=True,
    ) == ("InvalidParameterCombination", 400)
    assert api.describe("rep")["DBInstanceStatus"] == "available"


def test_rotating_needs_a_managed_secret(api):
    api.primary("db")
    assert aws_error(
        api.rds.modify_db_instance,
        DBInstanceIdentifier="db",
        RotateMasterUserPassword=True,
        ApplyImmediately=True,
    ) == ("InvalidParameterCombination", 400)


# --- ModifyDBInstance ManageMasterUserPassword --------------------------------------------------


def test_managing_the_password_creates_a_secret_while_modifying(api):
    api.primary("db")
    key_arn = api.client("kms").create_key(Description="db secret")["KeyMetadata"]["Arn"]
    api.hold()
    api.rds.modify_db_instance(
        DBInstanceIdentifier="db",
        ManageMasterUserPassword=True,
        MasterUserSecretKmsKeyId=key_arn,
        ApplyImmediately=True,
    )
    running = api.describe("db")
    assert running["DBInstanceStatus"] == "modifying"
    secret = running["MasterUserSecret"]
    assert (secret["SecretStatus"], secret["KmsKeyId"]) == ("creating", key_arn)
    api.settle()
    done = api.describe("db")
    assert done["DBInstanceStatus"] == "available"
    assert done["MasterUserSecret"] == {**secret, "SecretStatus": "active"}
    sm = api.client("secretsmanager")
    assert sm.describe_secret(SecretId=secret["SecretArn"])["Name"].startswith("rds!db-")
    value = secret_value(api, secret["SecretArn"])
    assert sorted(value) == ["password", "username"]
    assert value["username"] == "mitosis"
    if api.endpoint:
        assert api.endpoint.check_password("db", value["password"])
        assert not api.endpoint.check_password("db", PASSWORD)


def test_a_secret_managed_from_creation_is_creating_with_its_instance(api):
    api.hold()
    api.rds.create_db_instance(
        DBInstanceIdentifier="db",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="mitosis",
        ManageMasterUserPassword=True,
    )
    creating = api.describe("db")
    assert creating["DBInstanceStatus"] == "creating"
    assert creating["MasterUserSecret"]["SecretStatus"] == "creating"
    assert creating["MasterUserSecret"]["KmsKeyId"].startswith("arn:aws:kms:us-east-1:")
    api.settle()
    assert api.describe("db")["MasterUserSecret"]["SecretStatus"] == "active"
    assert secret_value(api, creating["MasterUserSecret"]["SecretArn"])["username"] == "mitosis"


# --- the secret's life: rename, delete ----------------------------------------------------------


def test_a_renamed_instance_keeps_its_managed_secret(endpoint_api):
    api = endpoint_api
    arn = managed(api, "db")["MasterUserSecret"]["SecretArn"]
    api.rename("db", "old-db")
    renamed = api.describe("old-db")
    assert renamed["MasterUserSecret"]["SecretArn"] == arn
    assert renamed["MasterUserSecret"]["SecretStatus"] == "active"
    assert api.endpoint.check_password("old-db", secret_value(api, arn)["password"])


def test_deleting_an_instance_deletes_its_managed_secret(held):
    arn = managed(held, "db")["MasterUserSecret"]["SecretArn"]
    held.rds.delete_db_instance(DBInstanceIdentifier="db", SkipFinalSnapshot=True)
    assert held.describe("db")["DBInstanceStatus"] == "deleting"
    held.settle()
    assert not held.exists("db")
    sm = held.client("secretsmanager")
    assert aws_error(sm.get_secret_value, SecretId=arn)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError):
        sm.describe_secret(SecretId=arn)


# --- never shown: the call record, the control API ------------------------------------------


def test_the_call_record_masks_a_new_password(endpoint_api):
    endpoint_api.primary("db")
    endpoint_api.rds.modify_db_instance(
        DBInstanceIdentifier="db", MasterUserPassword=NEW_PASSWORD, ApplyImmediately=True
    )
    modify = endpoint_api.endpoint.calls("ModifyDBInstance")[-1]
    assert modify["params"]["MasterUserPassword"] == "****"
    assert NEW_PASSWORD not in json.dumps(endpoint_api.endpoint.calls())


def test_check_password(endpoint):
    api_rds = endpoint.client("rds")
    api_rds.create_db_instance(
        DBInstanceIdentifier="db",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="mitosis",
        MasterUserPassword=PASSWORD,
    )
    assert endpoint.check_password("DB", PASSWORD) is True
    assert endpoint.check_password("db", PASSWORD.upper()) is False
    answer = endpoint.control("POST", "check-password", {"identifier": "db", "password": "x"})
    assert answer == {"identifier": "db", "matches": False}
    with pytest.raises(ControlError) as missing:
        endpoint.check_password("nope", PASSWORD)
    assert missing.value.status == 404
    with pytest.raises(ControlError) as malformed:
        endpoint.control("POST", "check-password", {"identifier": "db", "password": 1})
    assert malformed.value.status == 400


@pytest.fixture
def held(endpoint_api):
    endpoint_api.hold()
    return endpoint_api
