"""Feature 8: the record of every API call (control requests excluded)."""

import time


def test_a_call_record_has_every_field(endpoint_api, endpoint):
    endpoint_api.primary("src")
    endpoint_api.replica("rep", "src")
    endpoint.clear_calls()
    before = time.time()
    endpoint_api.rds.modify_db_instance(
        DBInstanceIdentifier="rep", NewDBInstanceIdentifier="Old-Rep", ApplyImmediately=True
    )
    [call] = endpoint.calls()
    assert call == {
        "seq": call["seq"],
        "time": call["time"],
        "service": "rds",
        "region": "us-east-1",
        "account": "123456789012",
        "operation": "ModifyDBInstance",
        "identifier": "rep",
        "new_identifier": "old-rep",
        "source": None,
        "cluster": None,
        "params": {
            "DBInstanceIdentifier": "rep",
            "NewDBInstanceIdentifier": "Old-Rep",
            "ApplyImmediately": True,
        },
        "status": 200,
        "error": None,
        "mutating": True,
    }
    assert before <= call["time"] <= time.time()


def test_params_are_typed_and_secrets_masked(endpoint_api, endpoint):
    endpoint_api.primary("src", MasterUserPassword="hunter2-hunter2", Port=5430)
    create = endpoint.calls("CreateDBInstance")[0]
    assert create["params"]["MasterUserPassword"] == "****"
    assert create["params"]["Port"] == 5430
    endpoint_api.replica("rep", "src", Tags=[{"Key": "IsReplica", "Value": "true"}])
    replica = endpoint.calls("CreateDBInstanceReadReplica")[0]
    assert (replica["identifier"], replica["source"]) == ("rep", "src")
    assert replica["params"]["Tags"] == [{"Key": "IsReplica", "Value": "true"}]


def test_errors_every_service_and_mutating(endpoint_api, endpoint):
    endpoint_api.exists("nope")
    endpoint_api.client("ec2").describe_vpcs()
    sts = endpoint_api.client("sts")
    sts.get_caller_identity()
    sts.assume_role(
        RoleArn="arn:aws:iam::123456789012:role/mitosis",
        RoleSessionName="mitosis",
        SerialNumber="arn:aws:iam::123456789012:mfa/me",
        TokenCode="123456",
    )
    summary = [
        (c["service"], c["operation"], c["status"], c["error"], c["mutating"])
        for c in endpoint.calls()
    ]
    assert summary == [
        ("rds", "DescribeDBInstances", 404, "DBInstanceNotFound", False),
        ("ec2", "DescribeVpcs", 200, None, False),
        ("sts", "GetCallerIdentity", 200, None, False),
        ("sts", "AssumeRole", 200, None, True),
    ]
    assume = endpoint.calls("AssumeRole")[0]["params"]
    assert assume["TokenCode"] == "****"
    assert assume["SerialNumber"] == "arn:aws:iam::123456789012:mfa/me"


def test_tag_calls_name_their_instance(endpoint_api, endpoint):
    arn = endpoint_api.primary("db")["DBInstanceArn"]
    endpoint.clear_calls()
    endpoint_api.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "a", "Value": "b"}])
    endpoint_api.rds.list_tags_for_resource(ResourceName=arn)
    calls = [(c["operation"], c["identifier"], c["mutating"]) for c in endpoint.calls()]
    assert calls == [("AddTagsToResource", "db", True), ("ListTagsForResource", "db", False)]


def test_filters_and_clearing(endpoint_api, endpoint):
    endpoint_api.primary("a")
    endpoint_api.primary("b")
    creates = endpoint.calls("CreateDBInstance")
    assert [c["identifier"] for c in creates] == ["a", "b"]
    later = endpoint.calls(since_seq=creates[0]["seq"])
    assert later[0]["seq"] == creates[0]["seq"] + 1
    assert [c["operation"] for c in endpoint.mutating_calls()] == ["CreateDBInstance"] * 2
    endpoint.clear_calls()
    assert endpoint.calls() == []


def test_control_requests_are_not_recorded(endpoint):
    endpoint.set_speed(0.5)
    endpoint.speed()
    endpoint.settle()
    endpoint.faults()
    assert endpoint.calls() == []


def test_a_point_in_time_restore_names_the_instance_it_creates(endpoint_api, endpoint):
    endpoint_api.primary("src")
    endpoint.clear_calls()
    endpoint_api.rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier="src", TargetDBInstanceIdentifier="Copy", UseLatestRestorableTime=True
    )
    [call] = endpoint.calls()
    assert call["identifier"] == "copy"
