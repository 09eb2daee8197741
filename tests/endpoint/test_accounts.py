"""Accounts (correction 14): the source account 210987654321 reached through sts:AssumeRole, the AWS managed key
aws/rds of each account, KmsKeyId resolved to key ARNs, snapshots shared across accounts and found by ARN, a shared
encrypted snapshot copied with a key of the target whose source key's policy lets it, snapshot copies that take time,
KMS calls and each call's account in the call record; the data of a copy crossing accounts on the data plane.

Tests taking the `api` fixture run against plain moto too, where they must fail (strict xfail)."""

import json

import pytest
from botocore.config import Config

from devtools import seed, shop
from devtools.rds_endpoint.testing import ControlError, aws_error, running_endpoint, shared_session

SOURCE, TARGET = seed.SOURCE_ACCOUNT, seed.TARGET_ACCOUNT
PASSWORD = "not-a-real-password"
NOT_FOUND = ("DBSnapshotNotFound", 404)
INVALID = ("InvalidParameterValue", 400)
NOT_ACCESSIBLE = ("KMSKeyNotAccessibleFault", 400)
SHARE_ACTIONS = seed.SHARE_ACTIONS


class Source:
    """Clients in the source account: the temporary credentials of sts:AssumeRole of the source role."""

    def __init__(self, api):
        credentials = api.client("sts").assume_role(RoleArn=seed.SOURCE_ROLE_ARN, RoleSessionName="mitosis-tests")[
            "Credentials"]
        self.session = shared_session(aws_access_key_id=credentials["AccessKeyId"],
                                      aws_secret_access_key=credentials["SecretAccessKey"],
                                      aws_session_token=credentials["SessionToken"], region_name="us-east-1")
        self.url = api.url
        self.rds, self.kms = self.client("rds"), self.client("kms")

    def client(self, service):
        return self.session.client(service, endpoint_url=self.url,
                                   config=Config(proxies={}, retries={"total_max_attempts": 1}))


def create(api, rds, name, engine="postgres", **attributes):
    """A PostgreSQL instance (or with Engine aurora-postgresql and a DBClusterIdentifier: an Aurora cluster)."""
    if engine == "aurora-postgresql":
        rds.create_db_cluster(DBClusterIdentifier=name, Engine=engine, EngineVersion="15.4", MasterUsername="mitosis",
                              MasterUserPassword=PASSWORD, BackupRetentionPeriod=1, **attributes)
    else:
        rds.create_db_instance(DBInstanceIdentifier=name, Engine=engine, EngineVersion="15.4",
                               DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername="mitosis",
                               MasterUserPassword=PASSWORD, BackupRetentionPeriod=1, **attributes)
    api.settle()


def snapshot(api, rds, instance, name):
    rds.create_db_snapshot(DBInstanceIdentifier=instance, DBSnapshotIdentifier=name)
    api.settle()
    return found(rds, name)


def found(rds, identifier):
    return rds.describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"][0]


def cluster_found(rds, identifier):
    return rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier)["DBClusterSnapshots"][0]


def copy(api, rds, source, target, **options):
    copied = rds.copy_db_snapshot(SourceDBSnapshotIdentifier=source, TargetDBSnapshotIdentifier=target, **options)
    api.settle()
    return found(rds, copied["DBSnapshot"]["DBSnapshotIdentifier"])


def share(rds, name, *accounts, cluster=False):
    if cluster:
        return rds.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier=name, AttributeName="restore",
                                                        ValuesToAdd=list(accounts))
    return rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=name, AttributeName="restore",
                                            ValuesToAdd=list(accounts))


def policy(owner, *statements):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner}:root"}, "Action": "kms:*", "Resource": "*"},
        *statements]})


def grant(principal, actions=SHARE_ACTIONS, effect="Allow"):
    return {"Effect": effect, "Principal": principal, "Action": actions, "Resource": "*"}


def key(kms, owner, alias, *statements):
    """A customer managed key of `owner` with `alias`, whose policy adds `statements`; its ARN."""
    arn = kms.create_key(Policy=policy(owner, *statements))["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=alias, TargetKeyId=arn.rsplit("/", 1)[-1])
    return arn


def test_an_encrypted_instance_gets_the_managed_key_of_its_account(api):
    source = Source(api)
    create(api, source.rds, "prod", StorageEncrypted=True)
    managed = source.kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
    assert (managed["AWSAccountId"], managed["KeyManager"]) == (SOURCE, "AWS")
    assert managed["Arn"].startswith(f"arn:aws:kms:us-east-1:{SOURCE}:key/")
    prod = source.rds.describe_db_instances(DBInstanceIdentifier="prod")["DBInstances"][0]
    assert (prod["StorageEncrypted"], prod["KmsKeyId"]) == (True, managed["Arn"])
    [automated] = source.rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
    assert (automated["Encrypted"], automated["KmsKeyId"]) == (True, managed["Arn"])
    final = source.rds.delete_db_instance(DBInstanceIdentifier="prod", FinalDBSnapshotIdentifier="prod-final")
    api.settle()
    assert final["DBInstance"]["KmsKeyId"] == managed["Arn"]
    assert found(source.rds, "prod-final")["KmsKeyId"] == managed["Arn"]
    # Each account has a managed key of its own; an unencrypted instance has none.
    create(api, api.rds, "demo", StorageEncrypted=True)
    create(api, api.rds, "plain")
    target_managed = api.client("kms").describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
    assert target_managed["AWSAccountId"] == TARGET and target_managed["Arn"] != managed["Arn"]
    assert api.describe("demo")["KmsKeyId"] == target_managed["Arn"]
    assert "KmsKeyId" not in api.describe("plain") and api.describe("plain")["StorageEncrypted"] is False
    assert source.kms.get_key_policy(KeyId=managed["KeyId"], PolicyName="default")["Policy"]


def test_a_copy_takes_the_key_it_names_or_its_sources_and_a_restore_the_snapshots(api):
    kms = api.client("kms")
    demo = key(kms, TARGET, "alias/demo")
    other = key(kms, TARGET, "alias/other")
    create(api, api.rds, "db", StorageEncrypted=True, KmsKeyId="alias/demo")
    assert api.describe("db")["KmsKeyId"] == demo  # an alias resolved to its key's ARN (moto: the alias)
    snapshot(api, api.rds, "db", "db-snap")
    by_alias = copy(api, api.rds, "db-snap", "by-alias", KmsKeyId="alias/other")
    assert (by_alias["Encrypted"], by_alias["KmsKeyId"]) == (True, other)
    by_id = copy(api, api.rds, "db-snap", "by-id", KmsKeyId=other.rsplit("/", 1)[-1])
    assert by_id["KmsKeyId"] == other
    # A copy without KmsKeyId keeps its source snapshot's key (moto: the key of the snapshot's instance).
    assert copy(api, api.rds, "by-alias", "copy-of-copy")["KmsKeyId"] == other
    # Copying an unencrypted snapshot with KmsKeyId encrypts the copy.
    create(api, api.rds, "plain")
    snapshot(api, api.rds, "plain", "plain-snap")
    encrypted = copy(api, api.rds, "plain-snap", "plain-encrypted", KmsKeyId=demo)
    assert (encrypted["Encrypted"], encrypted["KmsKeyId"]) == (True, demo)
    assert aws_error(api.rds.copy_db_snapshot, SourceDBSnapshotIdentifier="db-snap",
                     TargetDBSnapshotIdentifier="nowhere", KmsKeyId="alias/nowhere") == NOT_ACCESSIBLE
    for name, expected in (("copy-of-copy", other), ("plain-encrypted", demo)):
        api.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="from-" + name, DBSnapshotIdentifier=name)
        api.settle()
        restored = api.describe("from-" + name)
        assert (restored["StorageEncrypted"], restored["KmsKeyId"]) == (True, expected)


def test_a_snapshot_under_the_managed_key_cannot_be_shared(api):
    source = Source(api)
    share_key = key(source.kms, SOURCE, "alias/mitosis-share", grant({"AWS": f"arn:aws:iam::{TARGET}:root"}))
    create(api, source.rds, "prod", StorageEncrypted=True)
    snapshot(api, source.rds, "prod", "prod-manual")
    with pytest.raises(source.rds.exceptions.ClientError) as refused:
        share(source.rds, "prod-manual", TARGET)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "default KMS key (aws/rds)" in refused.value.response["Error"]["Message"]
    [automated] = source.rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
    assert aws_error(share, source.rds, automated["DBSnapshotIdentifier"], TARGET) == INVALID  # moto already
    shared = copy(api, source.rds, automated["DBSnapshotIdentifier"], "prod-share", KmsKeyId="alias/mitosis-share")
    assert (shared["SnapshotType"], shared["KmsKeyId"]) == ("manual", share_key)
    share(source.rds, "prod-share", TARGET)
    share(source.rds, "prod-share", TARGET)  # again: listed once
    attributes = source.rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="prod-share")
    assert attributes["DBSnapshotAttributesResult"]["DBSnapshotAttributes"] == [
        {"AttributeName": "restore", "AttributeValues": [TARGET]}]
    assert aws_error(share, source.rds, "prod-share", "all") == INVALID  # encrypted: never public
    others = [str(100000000000 + n) for n in range(19)]
    share(source.rds, "prod-share", *others)  # 20 accounts in all
    assert aws_error(share, source.rds, "prod-share", "999999999999") == ("SharedSnapshotQuotaExceeded", 400)


def test_a_cluster_snapshot_under_the_managed_key_cannot_be_shared(api):
    source = Source(api)
    key(source.kms, SOURCE, "alias/mitosis-share", grant({"AWS": TARGET}))
    create(api, source.rds, "aurora", engine="aurora-postgresql", StorageEncrypted=True)
    managed = source.kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]
    cluster = source.rds.describe_db_clusters(DBClusterIdentifier="aurora")["DBClusters"][0]
    assert cluster["KmsKeyId"] == managed  # moto: default_kms_key_id
    source.rds.create_db_cluster_snapshot(DBClusterIdentifier="aurora", DBClusterSnapshotIdentifier="aurora-manual")
    assert cluster_found(source.rds, "aurora-manual")["KmsKeyId"] == managed
    assert aws_error(share, source.rds, "aurora-manual", TARGET, cluster=True) == INVALID
    source.rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="aurora-manual",
                                        TargetDBClusterSnapshotIdentifier="aurora-share",
                                        KmsKeyId="alias/mitosis-share")
    api.settle()
    share(source.rds, "aurora-share", TARGET, cluster=True)
    attributes = source.rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="aurora-share")
    assert attributes["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"] == [
        {"AttributeName": "restore", "AttributeValues": [TARGET]}]


def test_another_accounts_snapshot_is_found_by_arn_only_once_shared(api):
    source = Source(api)
    create(api, source.rds, "prod")
    arn = snapshot(api, source.rds, "prod", "prod-manual")["DBSnapshotArn"]
    assert arn == f"arn:aws:rds:us-east-1:{SOURCE}:snapshot:prod-manual"
    assert aws_error(api.rds.copy_db_snapshot, SourceDBSnapshotIdentifier=arn,
                     TargetDBSnapshotIdentifier="prod-copy") == NOT_FOUND
    assert aws_error(api.rds.restore_db_instance_from_db_snapshot, DBInstanceIdentifier="prod-restored",
                     DBSnapshotIdentifier=arn) == NOT_FOUND
    share(source.rds, "prod-manual", TARGET)
    assert found(api.rds, arn)["DBSnapshotIdentifier"] == "prod-manual"
    copied = copy(api, api.rds, arn, "prod-copy")
    assert (copied["DBSnapshotArn"], copied["Encrypted"]) == (f"arn:aws:rds:us-east-1:{TARGET}:snapshot:prod-copy",
                                                              False)
    # An unencrypted shared snapshot is restored directly, by its ARN.
    api.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="prod-restored", DBSnapshotIdentifier=arn)
    api.settle()
    assert api.describe("prod-restored")["DBInstanceStatus"] == "available"
    # The owner's copy of its own snapshot, by ARN, is as before.
    assert copy(api, source.rds, arn, "prod-again")["DBSnapshotArn"].endswith(f":{SOURCE}:snapshot:prod-again")


def test_a_shared_encrypted_snapshot_is_copied_with_a_key_of_the_target_the_source_key_lets_it_use(api):
    source = Source(api)
    share_key = key(source.kms, SOURCE, "alias/mitosis-share", grant({"AWS": f"arn:aws:iam::{TARGET}:root"}))
    key(source.kms, SOURCE, "alias/mitosis-private")
    demo = key(api.client("kms"), TARGET, "alias/mitosis-demo")
    create(api, source.rds, "prod", StorageEncrypted=True)
    [automated] = source.rds.describe_db_snapshots(SnapshotType="automated")["DBSnapshots"]
    arns = {}
    for name in ("share", "private"):
        arns[name] = copy(api, source.rds, automated["DBSnapshotIdentifier"], "prod-" + name,
                          KmsKeyId="alias/mitosis-" + name)["DBSnapshotArn"]
        share(source.rds, "prod-" + name, TARGET)
    # A shared encrypted snapshot is copied before a restore, with a key of the copying account.
    assert aws_error(api.rds.restore_db_instance_from_db_snapshot, DBInstanceIdentifier="demo",
                     DBSnapshotIdentifier=arns["share"]) == INVALID
    assert aws_error(api.rds.copy_db_snapshot, SourceDBSnapshotIdentifier=arns["share"],
                     TargetDBSnapshotIdentifier="demo-copy") == NOT_ACCESSIBLE
    assert aws_error(api.rds.copy_db_snapshot, SourceDBSnapshotIdentifier=arns["private"],
                     TargetDBSnapshotIdentifier="demo-copy", KmsKeyId="alias/mitosis-demo") == NOT_ACCESSIBLE
    assert api.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []  # nothing made
    copied = copy(api, api.rds, arns["share"], "demo-copy", KmsKeyId="alias/mitosis-demo")
    assert (copied["Encrypted"], copied["KmsKeyId"], copied["SnapshotType"]) == (True, demo, "manual")
    assert found(api.rds, arns["share"])["KmsKeyId"] == share_key
    api.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="demo", DBSnapshotIdentifier="demo-copy")
    api.settle()
    restored = api.describe("demo")
    assert (restored["StorageEncrypted"], restored["KmsKeyId"], restored["Engine"]) == (True, demo, "postgres")


# A statement of the source key's policy, and whether it lets the target account copy a snapshot under the key.
POLICIES = [
    (grant({"AWS": f"arn:aws:iam::{TARGET}:root"}), True),
    (grant({"AWS": TARGET}), True),
    (grant({"AWS": [f"arn:aws:iam::{TARGET}:role/mitosis"]}, actions="kms:*"), True),
    (grant("*", actions="kms:CreateGrant"), True),
    (grant({"AWS": "arn:aws:iam::111111111111:root"}), False),
    (grant({"AWS": TARGET}, actions=["kms:Encrypt", "kms:GenerateDataKey*"]), False),
    (grant({"AWS": "*"}, actions="kms:Decrypt", effect="Deny"), False),
]


def test_a_source_keys_policy_must_let_the_target_use_it(api):
    source = Source(api)
    shared_key = key(source.kms, SOURCE, "alias/shared")
    key(api.client("kms"), TARGET, "alias/mitosis-demo")
    create(api, source.rds, "prod", StorageEncrypted=True, KmsKeyId=shared_key)
    arn = snapshot(api, source.rds, "prod", "prod-manual")["DBSnapshotArn"]
    share(source.rds, "prod-manual", TARGET)
    outcomes = []
    for n, (statement, _usable) in enumerate(POLICIES):
        # A Deny wins over an Allow: the last one denies whatever the root statement allows.
        statements = [grant({"AWS": TARGET}), statement] if statement["Effect"] == "Deny" else [statement]
        source.kms.put_key_policy(KeyId=shared_key, PolicyName="default", Policy=policy(SOURCE, *statements))
        try:
            api.rds.copy_db_snapshot(SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier=f"copy-{n}",
                                     KmsKeyId="alias/mitosis-demo")
            outcomes.append(True)
        except api.rds.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "KMSKeyNotAccessibleFault", error
            outcomes.append(False)
    assert outcomes == [usable for _statement, usable in POLICIES]


def test_a_shared_cluster_snapshot_is_copied_or_restored_across_accounts(api):
    source = Source(api)
    share_key = key(source.kms, SOURCE, "alias/mitosis-share", grant({"AWS": f"arn:aws:iam::{TARGET}:root"}))
    key(source.kms, SOURCE, "alias/mitosis-private")
    demo = key(api.client("kms"), TARGET, "alias/mitosis-demo")
    create(api, source.rds, "aurora", engine="aurora-postgresql", StorageEncrypted=True)
    source.rds.create_db_cluster_snapshot(DBClusterIdentifier="aurora", DBClusterSnapshotIdentifier="aurora-manual")
    arns = {}
    for name in ("share", "private"):
        arns[name] = source.rds.copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier="aurora-manual", TargetDBClusterSnapshotIdentifier="aurora-" + name,
            KmsKeyId="alias/mitosis-" + name)["DBClusterSnapshot"]["DBClusterSnapshotArn"]
        api.settle()
        share(source.rds, "aurora-" + name, TARGET, cluster=True)
    unshared = cluster_found(source.rds, "aurora-manual")["DBClusterSnapshotArn"]
    copy_options = dict(TargetDBClusterSnapshotIdentifier="demo-copy", KmsKeyId="alias/mitosis-demo")
    assert aws_error(api.rds.copy_db_cluster_snapshot, SourceDBClusterSnapshotIdentifier=unshared,
                     **copy_options) == ("DBClusterSnapshotNotFoundFault", 404)
    assert aws_error(api.rds.copy_db_cluster_snapshot, SourceDBClusterSnapshotIdentifier=arns["share"],
                     TargetDBClusterSnapshotIdentifier="demo-copy") == NOT_ACCESSIBLE
    assert aws_error(api.rds.copy_db_cluster_snapshot, SourceDBClusterSnapshotIdentifier=arns["private"],
                     **copy_options) == NOT_ACCESSIBLE
    api.rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier=arns["share"], **copy_options)
    api.settle()
    copied = cluster_found(api.rds, "demo-copy")
    assert (copied["StorageEncrypted"], copied["KmsKeyId"]) == (True, demo)
    # Aurora restores a shared encrypted cluster snapshot directly (with the snapshot's key), as well as a copy.
    for name, snapshot_id, expected in (("direct", arns["share"], share_key), ("from-copy", "demo-copy", demo)):
        api.rds.restore_db_cluster_from_snapshot(DBClusterIdentifier=name, SnapshotIdentifier=snapshot_id,
                                                 Engine="aurora-postgresql")
        api.settle()
        restored = api.rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
        assert (restored["StorageEncrypted"], restored["KmsKeyId"]) == (True, expected), name
    assert aws_error(api.rds.restore_db_cluster_from_snapshot, DBClusterIdentifier="refused",
                     SnapshotIdentifier=arns["private"], Engine="aurora-postgresql") == NOT_ACCESSIBLE
    # The API reference: copying an unencrypted cluster snapshot with KmsKeyId is an error (moto encrypted it).
    create(api, api.rds, "plain", engine="aurora-postgresql")
    api.rds.create_db_cluster_snapshot(DBClusterIdentifier="plain", DBClusterSnapshotIdentifier="plain-manual")
    assert aws_error(api.rds.copy_db_cluster_snapshot, SourceDBClusterSnapshotIdentifier="plain-manual",
                     TargetDBClusterSnapshotIdentifier="plain-copy", KmsKeyId=demo) == INVALID


def test_a_snapshot_copy_is_creating_for_a_while(api):
    create(api, api.rds, "db")
    snapshot(api, api.rds, "db", "db-snap")
    create(api, api.rds, "aurora", engine="aurora-postgresql")
    api.rds.create_db_cluster_snapshot(DBClusterIdentifier="aurora", DBClusterSnapshotIdentifier="aurora-snap")
    api.hold()
    created = api.rds.copy_db_snapshot(SourceDBSnapshotIdentifier="db-snap", TargetDBSnapshotIdentifier="db-copy")
    assert created["DBSnapshot"]["Status"] == "creating"
    cluster_copy = api.rds.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="aurora-snap",
                                                    TargetDBClusterSnapshotIdentifier="aurora-copy")
    assert cluster_copy["DBClusterSnapshot"]["Status"] == "creating"
    assert found(api.rds, "db-copy")["Status"] == "creating"
    assert cluster_found(api.rds, "aurora-copy")["Status"] == "creating"
    # A copy still creating is neither copied nor restored (a cluster's) yet.
    assert aws_error(api.rds.copy_db_snapshot, SourceDBSnapshotIdentifier="db-copy",
                     TargetDBSnapshotIdentifier="again") == ("InvalidDBSnapshotState", 400)
    if api.endpoint:
        api.endpoint.advance(4.9)
        assert found(api.rds, "db-copy")["Status"] == "creating"
        api.endpoint.advance(0.2)
    assert found(api.rds, "db-copy")["Status"] == "available"
    assert cluster_found(api.rds, "aurora-copy")["Status"] == "available"


# --- the endpoint's own: its call record, faults and control requests, the seed, the data plane -----------------------


def test_an_assumed_role_and_a_users_keys_reach_the_source_account(endpoint):
    assumed = endpoint.assumed_session(seed.SOURCE_ROLE_ARN)
    identity = endpoint.client("sts", assumed).get_caller_identity()
    assert (identity["Account"], identity["Arn"]) == (
        SOURCE, f"arn:aws:sts::{SOURCE}:assumed-role/mitosis-source/mitosis-tests")
    keys = seed.source_user_keys(endpoint.url)
    user = shared_session(region_name="us-east-1", **keys)
    assert endpoint.client("sts", user).get_caller_identity()["Account"] == SOURCE
    endpoint.client("rds", assumed).create_db_parameter_group(
        DBParameterGroupName="source-only", DBParameterGroupFamily="postgres15", Description="the source's")
    by_user = endpoint.client("rds", user).describe_db_parameter_groups()["DBParameterGroups"]
    assert "source-only" in [g["DBParameterGroupName"] for g in by_user]
    target_groups = endpoint.client("rds").describe_db_parameter_groups()["DBParameterGroups"]
    assert "source-only" not in [g["DBParameterGroupName"] for g in target_groups]
    assert endpoint.client("sts").get_caller_identity()["Account"] == TARGET


def test_kms_calls_are_recorded_with_their_key_and_account(endpoint):
    # AWS lists the alias of a managed key not made yet without TargetKeyId (moto: a key id no key has).
    [unmade] = [a for a in endpoint.client("kms").list_aliases()["Aliases"] if a["AliasName"] == "alias/aws/rds"]
    assert "TargetKeyId" not in unmade
    kms = endpoint.client("kms", endpoint.assumed_session(seed.SOURCE_ROLE_ARN))
    endpoint.clear_calls()
    managed = kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
    created = kms.create_key(Policy=policy(SOURCE))["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=created, PolicyName="default", Policy=policy(SOURCE, grant({"AWS": TARGET})))
    kms.get_key_policy(KeyId=created, PolicyName="default")
    kms.create_grant(KeyId=created, GranteePrincipal=f"arn:aws:iam::{TARGET}:root", Operations=["Decrypt"])
    kms.encrypt(KeyId=created, Plaintext=b"x")
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/aws/rds"] == managed["KeyId"] and managed["KeyManager"] == "AWS"
    calls = [(c["account"], c["service"], c["operation"], c["identifier"], c["mutating"]) for c in endpoint.calls()]
    assert calls == [
        (SOURCE, "kms", "DescribeKey", "alias/aws/rds", False),
        (SOURCE, "kms", "CreateKey", None, True),
        (SOURCE, "kms", "PutKeyPolicy", created, True),
        (SOURCE, "kms", "GetKeyPolicy", created, False),
        (SOURCE, "kms", "CreateGrant", created, True),
        (SOURCE, "kms", "Encrypt", created, False),
        (SOURCE, "kms", "ListAliases", None, False),
    ]
    assert [c["operation"] for c in endpoint.mutating_calls(account=SOURCE)] == [
        "CreateKey", "PutKeyPolicy", "CreateGrant"]
    assert endpoint.mutating_calls(account=TARGET) == []
    assert len(endpoint.calls(account=SOURCE)) == 7 and endpoint.calls("GetKeyPolicy", account=TARGET) == []


def test_faults_and_control_requests_name_their_account(endpoint):
    source = endpoint.assumed_session(seed.SOURCE_ROLE_ARN)
    rds = endpoint.client("rds", source, retries={"total_max_attempts": 1})
    target = endpoint.client("rds", retries={"total_max_attempts": 1})
    rds.create_db_instance(DBInstanceIdentifier="prod", Engine="postgres", DBInstanceClass="db.t3.micro",
                           AllocatedStorage=20, MasterUsername="mitosis", MasterUserPassword=PASSWORD,
                           BackupRetentionPeriod=1)
    endpoint.settle()
    assert endpoint.check_password("prod", PASSWORD, account_id=SOURCE)
    with pytest.raises(ControlError):
        endpoint.check_password("prod", PASSWORD)  # not in the default account
    taken = endpoint.automated_snapshot("prod", account_id=SOURCE)
    assert rds.describe_db_snapshots(DBSnapshotIdentifier=taken, SnapshotType="automated")["DBSnapshots"]
    endpoint.control("POST", "faults", {"operation": "DescribeDBInstances", "code": "Throttling", "account": TARGET})
    assert rds.describe_db_instances()["DBInstances"][0]["DBInstanceIdentifier"] == "prod"
    assert aws_error(target.describe_db_instances) == ("Throttling", 400)
    # A fault's status lands on the instance of the call's account (moto's default account before).
    endpoint.add_fault("RebootDBInstance", identifier="prod", status="failed")
    rds.reboot_db_instance(DBInstanceIdentifier="prod")
    assert rds.describe_db_instances()["DBInstances"][0]["DBInstanceStatus"] == "failed"
    endpoint.set_instance_status("prod", "available", account_id=SOURCE)
    assert rds.describe_db_instances()["DBInstances"][0]["DBInstanceStatus"] == "available"


def test_the_cross_account_scenarios(endpoint):
    facts = seed.seed_cross_account(endpoint.session(), endpoint.url)
    assert (facts["accounts"], facts["role_arn"]) == ({"source": SOURCE, "target": TARGET}, seed.SOURCE_ROLE_ARN)
    assert seed.SCENARIOS["cross-account"] is seed.seed_cross_account
    source = endpoint.assumed_session(facts["role_arn"])
    rds, kms = endpoint.client("rds", source), endpoint.client("kms", source)
    prod = {db["DBInstanceIdentifier"]: db for db in rds.describe_db_instances()["DBInstances"]}
    assert sorted(prod) == facts["source_instances"] == ["mitosis-prod", "mitosis-prod-replica"]
    assert {db["KmsKeyId"] for db in prod.values()} == {facts["keys"]["source_default"]}
    assert kms.describe_key(KeyId=facts["keys"]["source_default"])["KeyMetadata"]["KeyManager"] == "AWS"
    automated = rds.describe_db_snapshots(DBInstanceIdentifier="mitosis-prod", SnapshotType="automated")["DBSnapshots"]
    [newest] = [s for s in automated if s["DBSnapshotIdentifier"] == facts["source_snapshot"]["identifier"]]
    assert len(automated) == 2 and all(s["SnapshotCreateTime"] <= newest["SnapshotCreateTime"] for s in automated)
    assert newest["DBSnapshotArn"] == facts["source_snapshot"]["arn"] == f"arn:aws:rds:us-east-1:{SOURCE}:snapshot:" + \
        newest["DBSnapshotIdentifier"]
    assert newest["Status"] == "available" and newest["KmsKeyId"] == facts["keys"]["source_default"]
    for alias, name in (("alias/mitosis-share", "share"), ("alias/mitosis-private", "private")):
        assert kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"] == facts["keys"][name]
    shared = json.loads(kms.get_key_policy(KeyId=facts["keys"]["share"], PolicyName="default")["Policy"])
    assert any(s["Principal"] == {"AWS": f"arn:aws:iam::{TARGET}:root"} for s in shared["Statement"])
    private = json.loads(kms.get_key_policy(KeyId=facts["keys"]["private"], PolicyName="default")["Policy"])
    assert TARGET not in json.dumps(private)
    demo = {db["DBInstanceIdentifier"]: db for db in endpoint.client("rds").describe_db_instances()["DBInstances"]}
    assert sorted(demo) == sorted(facts["instances"]) == [
        "mitosis-demo", "mitosis-demo-replica-a", "mitosis-demo-replica-b"]
    assert {db["KmsKeyId"] for db in demo.values()} == {facts["keys"]["demo"]}
    assert {db["DBInstanceStatus"] for db in [*demo.values(), *prod.values()]} == {"available"}
    # Aurora: the same accounts and keys, a cluster in each.
    endpoint.reset()
    aurora = seed.seed_cross_account_aurora(endpoint.session(), endpoint.url)
    source = endpoint.assumed_session(aurora["role_arn"])
    [prod_cluster] = endpoint.client("rds", source).describe_db_clusters()["DBClusters"]
    [demo_cluster] = endpoint.client("rds").describe_db_clusters()["DBClusters"]
    assert (prod_cluster["DBClusterIdentifier"], prod_cluster["KmsKeyId"]) == (
        "mitosis-aurora-prod", aurora["keys"]["source_default"])
    assert (demo_cluster["DBClusterIdentifier"], demo_cluster["KmsKeyId"]) == (
        "mitosis-aurora-demo", aurora["keys"]["demo"])
    assert aurora["instances"] == ["mitosis-aurora-demo-1", "mitosis-aurora-demo-2", "mitosis-aurora-demo-3"]
    # A production cluster another account may clone through AWS RAM: under alias/mitosis-share.
    endpoint.reset()
    shareable = seed.SCENARIOS["cross-account-aurora-ram"](endpoint.session(), endpoint.url)
    [prod_cluster] = endpoint.client("rds", endpoint.assumed_session(seed.SOURCE_ROLE_ARN)).describe_db_clusters()[
        "DBClusters"]
    assert (prod_cluster["DBClusterArn"], prod_cluster["KmsKeyId"]) == (
        shareable["source_cluster_arn"], shareable["keys"]["share"])


def test_productions_rows_cross_accounts_through_two_copies():
    """The data plane: production's automated snapshot copied with alias/mitosis-share in its account, shared, copied
    with the target's key in the target account, restored there (under production's own name): the restored server
    holds production's rows, and production still its own."""
    rows = shop.Dataset(customers=300, orders=900, until="2026-12-04", domain="mail.example.com")
    with running_endpoint(speed=0.0, data_plane=True) as plane:
        source_seeder = seed.Seeder(plane.assumed_session(seed.SOURCE_ROLE_ARN), plane.url)
        target_seeder = seed.Seeder(plane.session(), plane.url)
        keys = seed.cross_account_keys(source_seeder, target_seeder)
        source, target = source_seeder.rds, target_seeder.rds
        source.create_db_instance(DBInstanceIdentifier="prod", Engine="postgres", DBInstanceClass="db.t3.micro",
                                  AllocatedStorage=20, MasterUsername="mitosis", MasterUserPassword=PASSWORD,
                                  DBName="shop", BackupRetentionPeriod=1, StorageEncrypted=True)
        plane.settle()
        source_seeder.load("prod", PASSWORD, rows)
        automated = plane.automated_snapshot("prod", account_id=SOURCE)
        source.copy_db_snapshot(SourceDBSnapshotIdentifier=automated, TargetDBSnapshotIdentifier="prod-share",
                                KmsKeyId="alias/mitosis-share")
        plane.settle()
        shared = share(source, "prod-share", TARGET)["DBSnapshotAttributesResult"]["DBSnapshotIdentifier"]
        arn = f"arn:aws:rds:us-east-1:{SOURCE}:snapshot:{shared}"
        target.copy_db_snapshot(SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="prod-copy",
                                KmsKeyId="alias/mitosis-demo")
        plane.settle()
        source.delete_db_snapshot(DBSnapshotIdentifier="prod-share")  # the target's copy holds the data now
        target.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="prod", DBSnapshotIdentifier="prod-copy")
        plane.settle()
        restored = target.describe_db_instances(DBInstanceIdentifier="prod")["DBInstances"][0]
        production = source.describe_db_instances(DBInstanceIdentifier="prod")["DBInstances"][0]
        assert restored["KmsKeyId"] == keys["demo"]
        assert restored["Endpoint"]["Address"] != production["Endpoint"]["Address"]
        assert plane.resolve("prod", account_id=SOURCE) == production["Endpoint"]["Address"]
        sums = {}
        for name, found_instance in (("restored", restored), ("production", production)):
            with shop.connect(found_instance["Endpoint"]["Address"], found_instance["Endpoint"]["Port"], "mitosis",
                              PASSWORD) as conn:
                sums[name] = shop.checksums(conn)
                if name == "restored":
                    conn.execute("DELETE FROM orders")  # the restore's own data: production keeps its rows
        assert sums["restored"] == sums["production"]
        with shop.connect(production["Endpoint"]["Address"], production["Endpoint"]["Port"], "mitosis",
                          PASSWORD) as conn:
            assert shop.checksums(conn) == sums["production"]
