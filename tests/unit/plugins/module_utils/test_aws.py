# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error path: AWS error codes, MitosisError and its module result, `call` and `paginate`."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from ansible_collections.mitosis.rds.plugins.module_utils.aws import (
    AWSConnection,
    MitosisError,
    call,
    error_code,
    from_aws_error,
    paginate,
)

RESUME = "run the same command again"


def build_exception(operation_name, code=None, message=None, request_id=None, http_status_code=None, error=True):
    """A botocore ClientError as AWS would raise it (each part optional)."""
    response = {}
    if error or code or message:
        response["Error"] = {}
    if code:
        response["Error"]["Code"] = code
    if message:
        response["Error"]["Message"] = message
    if request_id or http_status_code:
        response["ResponseMetadata"] = {}
    if request_id:
        response["ResponseMetadata"]["RequestId"] = request_id
    if http_status_code:
        response["ResponseMetadata"]["HTTPStatusCode"] = http_status_code
    return ClientError(response, operation_name)


@pytest.fixture
def rds():
    client = boto3.client("rds", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                          aws_secret_access_key="secret")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def fields(error):
    return error.operation, error.identifier, error.code, error.request_id


def instance(name):
    return {"DBInstanceIdentifier": name, "DBInstanceStatus": "available"}


@pytest.mark.parametrize("exc, code", [
    (build_exception("DescribeDBInstances", "DBInstanceNotFound", "not found"), "DBInstanceNotFound"),
    (build_exception("DeleteDBInstance", "InvalidDBInstanceState"), "InvalidDBInstanceState"),
    (build_exception("DescribeDBInstances", message="no code"), None),
    (build_exception("DescribeDBInstances", error=False), None),
    (EndpointConnectionError(endpoint_url="https://rds.us-east-1.amazonaws.com"), None),
    (NoCredentialsError(), None),
    (ValueError("not an AWS error"), None),
], ids=["not-found", "code-only", "no-code", "no-error", "connection", "no-credentials", "other"])
def test_error_code(exc, code):
    assert error_code(exc) == code


@pytest.mark.parametrize("exc, operation, identifier, message, code, request_id", [
    (build_exception("DescribeDBInstances", "DBInstanceNotFound", "DBInstance mitosis-demo not found.", "req-1", 404),
     "DescribeDBInstances", "mitosis-demo",
     "DescribeDBInstances on mitosis-demo failed: DBInstance mitosis-demo not found. (DBInstanceNotFound)",
     "DBInstanceNotFound", "req-1"),
    (build_exception("GetCallerIdentity", "AccessDenied", "Not authorized.", "req-2"),
     "GetCallerIdentity", None, "GetCallerIdentity failed: Not authorized. (AccessDenied)", "AccessDenied", "req-2"),
    (build_exception("ModifyDBInstance", "InvalidParameterCombination", "Bad.", None),
     "ModifyDBInstance", "temp-mitosis-demo",
     "ModifyDBInstance on temp-mitosis-demo failed: Bad. (InvalidParameterCombination)",
     "InvalidParameterCombination", None),
    (build_exception("ModifyDBInstance", message="Something broke.", request_id="req-3"),
     "ModifyDBInstance", "mitosis-demo", "ModifyDBInstance on mitosis-demo failed: Something broke.", None, "req-3"),
    (EndpointConnectionError(endpoint_url="https://rds.us-east-1.amazonaws.com"),
     "DescribeDBInstances", "mitosis-demo",
     'DescribeDBInstances on mitosis-demo failed: Could not connect to the endpoint URL: '
     '"https://rds.us-east-1.amazonaws.com"', None, None),
    (ValueError("boom"), "PromoteReadReplica", "temp-mitosis-demo",
     "PromoteReadReplica on temp-mitosis-demo failed: boom", None, None),
], ids=["not-found", "no-identifier", "no-request-id", "no-code", "botocore-error", "other-exception"])
def test_from_aws_error(exc, operation, identifier, message, code, request_id):
    error = from_aws_error(exc, operation, identifier)
    assert isinstance(error, MitosisError)
    assert error.message == message and str(error) == message
    assert fields(error) == (operation, identifier, code, request_id)
    assert error.hint is None


def test_from_aws_error_without_a_message_uses_the_exception_text():
    exc = build_exception("DeleteDBInstance", code="InvalidDBInstanceState")
    error = from_aws_error(exc, "DeleteDBInstance", "old-mitosis-demo")
    assert error.message == "DeleteDBInstance on old-mitosis-demo failed: {0} (InvalidDBInstanceState)".format(exc)


@pytest.mark.parametrize("code", ["ExpiredToken", "ExpiredTokenException", "RequestExpired"])
@pytest.mark.parametrize("hint", [None, "Check the role."])
def test_expired_credentials_say_how_to_resume(code, hint):
    error = from_aws_error(build_exception("ModifyDBInstance", code, "The security token included in the request "
                                           "is expired", "req-4"), "ModifyDBInstance", "mitosis-demo", hint)
    assert error.code == code and error.request_id == "req-4"
    assert "credentials expired" in error.hint and RESUME in error.hint
    assert error.hint == error.hint.strip()
    if hint:
        assert error.hint.startswith(hint + " ")
    assert str(error) == "{0} {1}".format(error.message, error.hint)
    assert str(error).startswith("ModifyDBInstance on mitosis-demo failed: The security token")


@pytest.mark.parametrize("code", ["AccessDenied", "Throttling", "InvalidClientTokenId", None])
def test_other_codes_keep_the_given_hint_only(code):
    exc = build_exception("ModifyDBInstance", code, "Nope.")
    assert from_aws_error(exc, "ModifyDBInstance", "mitosis-demo").hint is None
    error = from_aws_error(exc, "ModifyDBInstance", "mitosis-demo", "Check the role.")
    assert error.hint == "Check the role."
    assert str(error).endswith(" Check the role.") and RESUME not in str(error)


@pytest.mark.parametrize("kwargs, result", [
    ({}, {"msg": "It failed."}),
    ({"hint": "Run it again."}, {"msg": "It failed. Run it again."}),
    ({"operation": "DeleteDBInstance"}, {"msg": "It failed.", "operation": "DeleteDBInstance"}),
    ({"identifier": "old-mitosis-demo", "code": "InvalidDBInstanceState"},
     {"msg": "It failed.", "identifier": "old-mitosis-demo", "code": "InvalidDBInstanceState"}),
    ({"operation": "DeleteDBInstance", "identifier": "old-mitosis-demo", "code": "InvalidDBInstanceState",
      "request_id": "req-5", "hint": "Wait."},
     {"msg": "It failed. Wait.", "operation": "DeleteDBInstance", "identifier": "old-mitosis-demo",
      "code": "InvalidDBInstanceState", "request_id": "req-5"}),
], ids=["message-only", "hint-in-message", "operation", "identifier-and-code", "all"])
def test_to_result_has_only_the_set_fields(kwargs, result):
    assert MitosisError("It failed.", **kwargs).to_result() == result


def test_call_returns_the_response(rds):
    client, stubber = rds
    stubber.add_response("describe_db_instances", {"DBInstances": [instance("mitosis-demo")]},
                         {"DBInstanceIdentifier": "mitosis-demo"})
    response = call(client, "DescribeDBInstances", "mitosis-demo", DBInstanceIdentifier="mitosis-demo")
    assert response["DBInstances"] == [instance("mitosis-demo")]


@pytest.mark.parametrize("operation, method, params", [
    ("DescribeDBInstances", "describe_db_instances", {"DBInstanceIdentifier": "mitosis-demo"}),
    ("DeleteDBInstance", "delete_db_instance", {"DBInstanceIdentifier": "mitosis-demo", "SkipFinalSnapshot": True}),
    ("PromoteReadReplica", "promote_read_replica", {"DBInstanceIdentifier": "mitosis-demo"}),
])
@pytest.mark.parametrize("code, status", [("DBInstanceNotFound", 404), ("InvalidDBInstanceState", 400),
                                          ("ExpiredToken", 400)])
def test_call_turns_a_client_error_into_a_mitosis_error(rds, operation, method, params, code, status):
    client, stubber = rds
    stubber.add_client_error(method, code, "Refused.", status, expected_params=params,
                             response_meta={"RequestId": "req-6"})
    with pytest.raises(MitosisError) as caught:
        call(client, operation, "mitosis-demo", **params)
    error = caught.value
    assert fields(error) == (operation, "mitosis-demo", code, "req-6")
    assert error.message == "{0} on mitosis-demo failed: Refused. ({1})".format(operation, code)
    assert (RESUME in str(error)) == (code == "ExpiredToken")


def test_call_turns_a_botocore_error_into_a_mitosis_error():
    # Parameter validation fails before any request is built (the Stubber would intercept earlier).
    client = boto3.client("rds", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                          aws_secret_access_key="secret", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(MitosisError) as caught:
        call(client, "DescribeDBInstances", "mitosis-demo", DBInstanceIdentifier=5)
    assert caught.value.code is None and caught.value.operation == "DescribeDBInstances"
    assert caught.value.message.startswith("DescribeDBInstances on mitosis-demo failed: Parameter validation failed")


def test_paginate_reads_every_page(rds):
    client, stubber = rds
    stubber.add_response("describe_db_instances", {"DBInstances": [instance("a"), instance("b")], "Marker": "m1"}, {})
    stubber.add_response("describe_db_instances", {"DBInstances": [], "Marker": "m2"}, {"Marker": "m1"})
    stubber.add_response("describe_db_instances", {"DBInstances": [instance("c")]}, {"Marker": "m2"})
    names = [i["DBInstanceIdentifier"] for i in paginate(client, "DescribeDBInstances", "DBInstances")]
    assert names == ["a", "b", "c"]


def test_paginate_passes_its_parameters(rds):
    client, stubber = rds
    stubber.add_response("describe_db_snapshots", {"DBSnapshots": [{"DBSnapshotIdentifier": "rds:prod-1"}]},
                         {"DBInstanceIdentifier": "mitosis-prod", "SnapshotType": "automated"})
    snapshots = paginate(client, "DescribeDBSnapshots", "DBSnapshots", DBInstanceIdentifier="mitosis-prod",
                         SnapshotType="automated")
    assert snapshots == [{"DBSnapshotIdentifier": "rds:prod-1"}]


def test_paginate_of_an_empty_page_is_empty(rds):
    client, stubber = rds
    stubber.add_response("describe_db_instances", {}, {})
    assert paginate(client, "DescribeDBInstances", "DBInstances") == []


@pytest.mark.parametrize("params, identifier", [({}, None), ({"DBInstanceIdentifier": "mitosis-demo"}, "mitosis-demo")])
@pytest.mark.parametrize("code", ["DBInstanceNotFound", "ExpiredToken"])
def test_paginate_turns_a_client_error_on_any_page_into_a_mitosis_error(rds, params, identifier, code):
    client, stubber = rds
    stubber.add_response("describe_db_instances", {"DBInstances": [instance("a")], "Marker": "m1"}, params)
    stubber.add_client_error("describe_db_instances", code, "Refused.", 400, expected_params=dict(params, Marker="m1"),
                             response_meta={"RequestId": "req-7"})
    with pytest.raises(MitosisError) as caught:
        paginate(client, "DescribeDBInstances", "DBInstances", **params)
    error = caught.value
    assert fields(error) == ("DescribeDBInstances", identifier, code, "req-7")
    assert (RESUME in str(error)) == (code == "ExpiredToken")


@pytest.fixture
def no_aws_config(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


def test_a_connection_without_a_region_says_how_to_set_one(no_aws_config):
    with pytest.raises(MitosisError) as caught:
        AWSConnection(access_key="AKIDEXAMPLE", secret_key="secret").client("rds")
    assert "No AWS region given." in str(caught.value) and "AWS_REGION" in str(caught.value)


def test_a_missing_profile_is_a_mitosis_error(no_aws_config):
    with pytest.raises(MitosisError) as caught:
        AWSConnection(region="us-east-1", profile="nowhere").client("rds")
    assert "AWS profile not found" in str(caught.value) and "nowhere" in str(caught.value)


def test_a_connection_builds_one_retrying_client_per_service(no_aws_config):
    connection = AWSConnection(region="eu-west-1", access_key="AKIDEXAMPLE", secret_key="secret",
                               endpoint_url="http://127.0.0.1:5454")
    client = connection.client("rds")
    assert connection.client("rds") is client and connection.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:5454"
    assert client.meta.config.retries["mode"] == "adaptive"
    assert "mitosis.rds" in client.meta.config.user_agent_extra
