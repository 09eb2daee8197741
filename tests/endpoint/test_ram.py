"""An Aurora cluster shared through AWS RAM and cloned in another account (correction 18): the source account shares its
cluster with the target account (AWS Organizations: associated at once), the target account clones it copy-on-write by
its ARN; a clone only, one cross-account clone of a cluster per account and 15 in all, never of a cluster under the
default key, none once the share is gone; a shared cluster keeps its name; RAM calls in the call record; the clone
holds the source's rows on the data plane.

Tests taking the `api` fixture run against plain moto too, where they must fail (strict xfail)."""

from botocore.config import Config
from test_accounts import PASSWORD, Source, create, grant, key, policy

from devtools import seed, shop
from devtools.rds_endpoint.testing import aws_error, running_endpoint, shared_session

SOURCE, TARGET = seed.SOURCE_ACCOUNT, seed.TARGET_ACCOUNT
SHARE_NAME = f"mitosis-{TARGET}-mitosis-aurora-demo"
NOT_FOUND = ("DBClusterNotFoundFault", 404)
NOT_ACCESSIBLE = ("KMSKeyNotAccessibleFault", 400)


def aurora(api, rds, name, **attributes):
    """An available Aurora PostgreSQL cluster with its writer `{name}-1` (a clone needs an instance); its ARN."""
    create(api, rds, name, engine="aurora-postgresql", **attributes)
    rds.create_db_instance(DBInstanceIdentifier=name + "-1", DBClusterIdentifier=name, Engine="aurora-postgresql",
                           DBInstanceClass="db.r6g.large")
    api.settle()
    return cluster(rds, name)["DBClusterArn"]


def cluster(rds, name):
    return rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]


def share(ram, arn, name=SHARE_NAME, principal=TARGET):
    return ram.create_resource_share(name=name, resourceArns=[arn], principals=[principal],
                                     allowExternalPrincipals=True)["resourceShare"]


def clone(api, name, arn, **options):
    """The collection's call: a copy-on-write clone of the cluster of ARN `arn`, in the target account."""
    return api.rds.restore_db_cluster_to_point_in_time(DBClusterIdentifier=name, SourceDBClusterIdentifier=arn,
                                                       RestoreType="copy-on-write", UseLatestRestorableTime=True,
                                                       **options)["DBCluster"]


def shared_source(api):
    """The source account with its cluster `prod` under alias/mitosis-share (the target may use the key), shared with
    the target account; (source, the cluster's ARN, the share)."""
    source = Source(api)
    key(source.kms, SOURCE, "alias/mitosis-share", grant({"AWS": f"arn:aws:iam::{TARGET}:root"}))
    arn = aurora(api, source.rds, "prod", StorageEncrypted=True, KmsKeyId="alias/mitosis-share")
    return source, arn, share(source.client("ram"), arn)


def test_a_cluster_shared_through_ram_is_cloned_copy_on_write_in_the_other_account(api):
    source = Source(api)
    share_key = key(source.kms, SOURCE, "alias/mitosis-share", grant({"AWS": f"arn:aws:iam::{TARGET}:root"}))
    demo_key = key(api.client("kms"), TARGET, "alias/mitosis-demo")
    arn = aurora(api, source.rds, "prod", StorageEncrypted=True, KmsKeyId=share_key)
    assert arn == f"arn:aws:rds:us-east-1:{SOURCE}:cluster:prod"
    assert aws_error(clone, api, "temp-demo", arn) == NOT_FOUND  # not shared yet
    ram = source.client("ram")
    created = share(ram, arn)
    share(ram, arn, name="another", principal="111111111111")
    assert (created["name"], created["status"], created["owningAccountId"]) == (SHARE_NAME, "ACTIVE", SOURCE)
    # Found again by name (moto: every share of the account, whatever was asked).
    found = ram.get_resource_shares(resourceOwner="SELF", name=SHARE_NAME, resourceShareStatus="ACTIVE")
    assert [s["resourceShareArn"] for s in found["resourceShares"]] == [created["resourceShareArn"]]
    resources = ram.get_resource_share_associations(associationType="RESOURCE",
                                                    resourceShareArns=[created["resourceShareArn"]])
    assert [(a["associatedEntity"], a["status"]) for a in resources["resourceShareAssociations"]] == [
        (arn, "ASSOCIATED")]
    # AWS Organizations: the target account is associated at once, no invitation.
    principals = ram.get_resource_share_associations(associationType="PRINCIPAL",
                                                     resourceShareArns=[created["resourceShareArn"]])
    assert [(a["associatedEntity"], a["status"], a["external"]) for a in principals["resourceShareAssociations"]] == [
        (TARGET, "ASSOCIATED", False)]
    api.hold()
    made = clone(api, "temp-demo", arn, KmsKeyId="alias/mitosis-demo", Port=5433,
                 Tags=[{"Key": "Environment", "Value": "demo"}])
    assert made["Status"] == "creating"
    api.settle()
    demo, prod = cluster(api.rds, "temp-demo"), cluster(source.rds, "prod")
    assert demo["Status"] == "available" and demo["DBClusterArn"].endswith(f":{TARGET}:cluster:temp-demo")
    assert demo["CloneGroupId"] and demo["CloneGroupId"] == prod["CloneGroupId"]
    assert (demo["CrossAccountClone"], prod["CrossAccountClone"]) == (True, False)
    assert (demo["StorageEncrypted"], demo["KmsKeyId"], demo["Port"]) == (True, demo_key, 5433)
    assert (demo["Engine"], demo["EngineVersion"], demo["DBClusterMembers"]) == (prod["Engine"], "15.4", [])
    assert demo["TagList"] == [{"Key": "Environment", "Value": "demo"}]


def test_one_cross_account_clone_of_a_cluster_per_account_whatever_its_name(api):
    source, arn, _ = shared_source(api)
    first = clone(api, "temp-demo", arn)
    assert first["KmsKeyId"] == cluster(source.rds, "prod")["KmsKeyId"]  # without KmsKeyId: the source's key
    api.settle()
    refused = aws_error(clone, api, "temp-demo-2", arn)
    api.rds.modify_db_cluster(DBClusterIdentifier="temp-demo", NewDBClusterIdentifier="demo", ApplyImmediately=True)
    api.settle()
    assert (refused, aws_error(clone, api, "temp-demo-2", arn)) == (("InvalidParameterValue", 400),) * 2
    # A shared cluster is not renamed (AWS), and a full copy is not made across accounts.
    assert aws_error(source.rds.modify_db_cluster, DBClusterIdentifier="prod", NewDBClusterIdentifier="prod-2",
                     ApplyImmediately=True) == ("InvalidParameterValue", 400)
    assert aws_error(api.rds.restore_db_cluster_to_point_in_time, DBClusterIdentifier="full", RestoreType="full-copy",
                     SourceDBClusterIdentifier=arn, UseLatestRestorableTime=True) == (
        "InvalidParameterCombination", 400)
    api.rds.delete_db_cluster(DBClusterIdentifier="demo", SkipFinalSnapshot=True)
    api.settle()
    assert clone(api, "temp-demo-2", arn)["CloneGroupId"] == cluster(source.rds, "prod")["CloneGroupId"]


def test_at_most_15_cross_account_clones_of_a_cluster_and_its_clones(api):
    source, arn, _ = shared_source(api)
    # A clone in the source account: the cluster and its clones count as one.
    source.rds.restore_db_cluster_to_point_in_time(DBClusterIdentifier="prod-clone", SourceDBClusterIdentifier="prod",
                                                   RestoreType="copy-on-write", UseLatestRestorableTime=True)
    api.settle()
    source.rds.create_db_instance(DBInstanceIdentifier="prod-clone-1", DBClusterIdentifier="prod-clone",
                                  Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    api.settle()
    clone_arn = cluster(source.rds, "prod-clone")["DBClusterArn"]
    others = [str(300000000000 + n) for n in range(15)]
    ram = source.client("ram")
    for name, shared in (("all", arn), ("all-clone", clone_arn)):
        ram.create_resource_share(name=name, resourceArns=[shared], principals=others)
    share_key = source.kms.describe_key(KeyId="alias/mitosis-share")["KeyMetadata"]["KeyId"]
    source.kms.put_key_policy(KeyId=share_key, PolicyName="default",
                              Policy=policy(SOURCE, grant({"AWS": [TARGET, *others]})))
    # One client whose calls are made in the account `caller` names (moto's x-moto-account-id).
    caller = {}
    rds = shared_session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1").client(
        "rds", endpoint_url=api.url, config=Config(proxies={}, retries={"total_max_attempts": 1}))
    rds.meta.events.register("before-sign.rds.*", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", caller["account"]))
    for n, account in enumerate(others):
        caller["account"] = account
        made = rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier="demo", SourceDBClusterIdentifier=clone_arn if n % 2 else arn,
            RestoreType="copy-on-write", UseLatestRestorableTime=True)["DBCluster"]
        assert made["DBClusterArn"].endswith(f":{account}:cluster:demo")
    # The 16th, of the clone, in the target account (which has none yet): refused.
    share(ram, clone_arn, name="target-clone")
    assert aws_error(clone, api, "temp-demo", clone_arn) == ("InvalidParameterValue", 400)


def test_the_clone_outlives_its_share_and_no_new_one_is_made_without_it(api):
    source, arn, created = shared_source(api)
    clone(api, "temp-demo", arn)
    api.settle()
    ram = source.client("ram")
    assert ram.delete_resource_share(resourceShareArn=created["resourceShareArn"])["returnValue"] is True
    assert ram.get_resource_shares(resourceOwner="SELF", name=SHARE_NAME, resourceShareStatus="ACTIVE")[
        "resourceShares"] == []
    assert [s["status"] for s in ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]] == ["DELETED"]
    associations = ram.get_resource_share_associations(associationType="PRINCIPAL")["resourceShareAssociations"]
    assert [a["status"] for a in associations] == ["DISASSOCIATED"]
    api.rds.create_db_instance(DBInstanceIdentifier="temp-demo-1", DBClusterIdentifier="temp-demo",
                               Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    api.settle()
    assert cluster(api.rds, "temp-demo")["DBClusterMembers"][0]["DBInstanceIdentifier"] == "temp-demo-1"
    api.rds.delete_db_instance(DBInstanceIdentifier="temp-demo-1")
    api.rds.delete_db_cluster(DBClusterIdentifier="temp-demo", SkipFinalSnapshot=True)
    api.settle()
    assert aws_error(clone, api, "temp-demo", arn) == NOT_FOUND
    # A share with another account only is no share with this one.
    share(ram, arn, name="elsewhere", principal="111111111111")
    assert aws_error(clone, api, "temp-demo", arn) == NOT_FOUND


def test_a_cluster_under_the_default_key_or_a_key_the_target_may_not_use_is_not_cloned(api):
    source = Source(api)
    key(source.kms, SOURCE, "alias/mitosis-private")
    ram = source.client("ram")
    arns = {"default": aurora(api, source.rds, "prod", StorageEncrypted=True),
            "private": aurora(api, source.rds, "private", StorageEncrypted=True, KmsKeyId="alias/mitosis-private")}
    managed = source.kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]["Arn"]
    assert cluster(source.rds, "prod")["KmsKeyId"] == managed
    for name, arn in arns.items():
        share(ram, arn, name=name)
    error = None
    try:
        clone(api, "temp-demo", arns["default"])
    except api.rds.exceptions.ClientError as refused:
        error = refused.response["Error"]
    assert error and error["Code"] == "KMSKeyNotAccessibleFault" and "default KMS key (aws/rds)" in error["Message"]
    assert aws_error(clone, api, "temp-demo", arns["private"]) == NOT_ACCESSIBLE
    assert api.rds.describe_db_clusters()["DBClusters"] == []


def test_ram_calls_are_recorded_with_their_share_and_account(endpoint):
    ram = endpoint.client("ram", endpoint.assumed_session(seed.SOURCE_ROLE_ARN))
    arn = f"arn:aws:rds:us-east-1:{SOURCE}:cluster:prod"
    endpoint.clear_calls()
    created = ram.create_resource_share(name=SHARE_NAME, resourceArns=[arn], principals=[TARGET],
                                        allowExternalPrincipals=True)["resourceShare"]["resourceShareArn"]
    ram.get_resource_shares(resourceOwner="SELF", name=SHARE_NAME, resourceShareStatus="ACTIVE")
    ram.get_resource_share_associations(associationType="RESOURCE", resourceShareArns=[created])
    ram.delete_resource_share(resourceShareArn=created)
    endpoint.client("ram").get_resource_shares(resourceOwner="OTHER-ACCOUNTS")
    calls = [(c["service"], c["account"], c["operation"], c["identifier"], c["mutating"]) for c in endpoint.calls()]
    assert calls == [
        ("ram", SOURCE, "CreateResourceShare", SHARE_NAME, True),
        ("ram", SOURCE, "GetResourceShares", SHARE_NAME, False),
        ("ram", SOURCE, "GetResourceShareAssociations", created, False),
        ("ram", SOURCE, "DeleteResourceShare", created, True),
        ("ram", TARGET, "GetResourceShares", None, False),
    ]
    first = endpoint.calls()[0]
    assert first["params"] == {"name": SHARE_NAME, "resourceArns": [arn], "principals": [TARGET],
                               "allowExternalPrincipals": True}
    assert [c["operation"] for c in endpoint.mutating_calls(account=SOURCE)] == [
        "CreateResourceShare", "DeleteResourceShare"]
    # A fault names a share by its ARN or name, and fails in RAM's error shape.
    endpoint.add_fault("DeleteResourceShare", code="ThrottlingException", identifier=created)
    failing = endpoint.client("ram", endpoint.assumed_session(seed.SOURCE_ROLE_ARN),
                              retries={"total_max_attempts": 1})
    assert aws_error(failing.delete_resource_share, resourceShareArn=created) == ("ThrottlingException", 400)


def test_a_cross_account_clone_holds_the_source_clusters_rows():
    """The data plane: production's rows, its cluster shared through RAM and cloned in the target account, are on the
    clone's server (a base backup of the source's, as a clone in one account); the clone's writes stay its own."""
    with running_endpoint(speed=0.0, data_plane=True) as plane:
        source = plane.assumed_session(seed.SOURCE_ROLE_ARN)
        source_rds, rds = plane.client("rds", source), plane.client("rds")
        kms = plane.client("kms", source)
        share_key = kms.create_key(Policy=policy(SOURCE, grant({"AWS": TARGET})))["KeyMetadata"]["Arn"]
        source_rds.create_db_cluster(DBClusterIdentifier="prod", Engine="aurora-postgresql", EngineVersion="15.4",
                                     MasterUsername="mitosis", MasterUserPassword=PASSWORD, DatabaseName=shop.DATABASE,
                                     StorageEncrypted=True, KmsKeyId=share_key)
        plane.settle()
        source_rds.create_db_instance(DBInstanceIdentifier="prod-1", DBClusterIdentifier="prod",
                                      Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
        plane.settle()
        prod = cluster(source_rds, "prod")
        with shop.connect(prod["Endpoint"], prod["Port"], "mitosis", PASSWORD) as conn:
            shop.load(conn, shop.Dataset(customers=50, orders=100, until="2026-12-04", domain="mail.example.com"))
            expected = shop.checksums(conn)
        share(plane.client("ram", source), prod["DBClusterArn"])
        rds.restore_db_cluster_to_point_in_time(
            DBClusterIdentifier="temp-mitosis-aurora-demo", SourceDBClusterIdentifier=prod["DBClusterArn"],
            RestoreType="copy-on-write", UseLatestRestorableTime=True, Port=5433)
        plane.settle()
        demo = cluster(rds, "temp-mitosis-aurora-demo")
        assert demo["Endpoint"] != prod["Endpoint"] and demo["KmsKeyId"] == share_key
        with shop.connect(demo["Endpoint"], demo["Port"], "mitosis", PASSWORD) as conn:
            assert shop.checksums(conn) == expected
            conn.execute("DELETE FROM orders")  # the clone's storage is its own
        with shop.connect(prod["Endpoint"], prod["Port"], "mitosis", PASSWORD) as conn:
            assert shop.checksums(conn) == expected
