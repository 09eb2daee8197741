# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.sts import mfa_session

ROLE = "arn:aws:iam::123456789012:role/mitosis-refresh"
DEVICE = "arn:aws:iam::123456789012:mfa/alice"
EXPIRATION = datetime.datetime(2026, 1, 4, 15, 4, 5, tzinfo=datetime.timezone.utc)
CREDENTIALS = {"AccessKeyId": "ASIAEXAMPLEEXAMPLE01", "SecretAccessKey": "s" * 40, "SessionToken": "t" * 120,
               "Expiration": EXPIRATION}


@pytest.fixture
def sts():
    client = boto3.client("sts", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                          aws_secret_access_key="secret")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


class NoCalls:
    """A client that fails the test on any call."""

    def __getattr__(self, name):
        raise AssertionError("unexpected AWS call: " + name)


def expected(token="123456", duration=43200, session="mitosis-rds"):
    return {"RoleArn": ROLE, "RoleSessionName": session, "SerialNumber": DEVICE, "TokenCode": token,
            "DurationSeconds": duration}


def test_returns_the_credentials_as_connection_options(sts):
    client, stubber = sts
    stubber.add_response("assume_role", {"Credentials": CREDENTIALS}, expected())
    assert mfa_session(client, ROLE, DEVICE, "123456") == {
        "access_key": "ASIAEXAMPLEEXAMPLE01",
        "secret_key": "s" * 40,
        "session_token": "t" * 120,
        "expiration": "2026-01-04T15:04:05+00:00",
    }


def test_passes_duration_and_session_name(sts):
    client, stubber = sts
    stubber.add_response("assume_role", {"Credentials": CREDENTIALS}, expected("012345", 3600, "weekly-refresh"))
    assert mfa_session(client, ROLE, DEVICE, "012345", 3600, "weekly-refresh")["access_key"] == "ASIAEXAMPLEEXAMPLE01"


@pytest.mark.parametrize("token", ["", None, "12345", "1234567", "12a456", " 123456", "123 456", "１２３４５６"])
def test_a_token_that_is_not_6_digits_fails_before_any_call(token):
    with pytest.raises(MitosisError) as caught:
        mfa_session(NoCalls(), ROLE, DEVICE, token)
    assert "exactly 6 digits" in str(caught.value)


@pytest.mark.parametrize("duration", [899, 43201, 0])
def test_a_duration_aws_would_refuse_fails_before_any_call(duration):
    with pytest.raises(MitosisError) as caught:
        mfa_session(NoCalls(), ROLE, DEVICE, "123456", duration)
    assert "between 900" in str(caught.value) and str(duration) in str(caught.value)


def test_a_refused_token_asks_for_a_fresh_code(sts):
    client, stubber = sts
    stubber.add_client_error("assume_role", "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one "
                             "time pass code.", 403, expected_params=expected("654321"))
    with pytest.raises(MitosisError) as caught:
        mfa_session(client, ROLE, DEVICE, "654321")
    error = caught.value
    assert error.code == "AccessDenied" and error.operation == "AssumeRole" and error.identifier == ROLE
    assert str(error).startswith("The MFA token was refused. AssumeRole on " + ROLE + " failed: MultiFactorAuthentication")
    assert "Retry with a fresh code from the MFA device " + DEVICE in str(error)


def test_a_role_that_does_not_trust_the_caller_says_so(sts):
    client, stubber = sts
    stubber.add_client_error("assume_role", "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not "
                             "authorized to perform: sts:AssumeRole on resource: " + ROLE, 403)
    with pytest.raises(MitosisError) as caught:
        mfa_session(client, ROLE, DEVICE, "123456")
    assert "MFA token was refused" not in str(caught.value)
    assert "trust policy" in str(caught.value)


def test_a_duration_above_the_role_maximum_says_what_to_change(sts):
    client, stubber = sts
    stubber.add_client_error("assume_role", "ValidationError", "The requested DurationSeconds exceeds the "
                             "MaxSessionDuration set for this role.", 400)
    with pytest.raises(MitosisError) as caught:
        mfa_session(client, ROLE, DEVICE, "123456")
    assert "(ValidationError)" in str(caught.value)
    assert "raise the role's maximum session duration" in str(caught.value)


def test_other_errors_pass_through_with_their_code(sts):
    client, stubber = sts
    stubber.add_client_error("assume_role", "ExpiredToken", "The security token included in the request is expired",
                             400)
    with pytest.raises(MitosisError) as caught:
        mfa_session(client, ROLE, DEVICE, "123456")
    assert caught.value.code == "ExpiredToken"
    assert "credentials expired" in str(caught.value)


@pytest.mark.parametrize("role_arn", ["nope", "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::12345:role/x"])
def test_a_role_arn_that_is_not_an_iam_roles_is_refused_before_any_call(role_arn):
    with pytest.raises(MitosisError, match="role_arn .* is not the ARN of an IAM role") as info:
        mfa_session(NoCalls(), role_arn, DEVICE, "123456")
    assert info.value.operation == "options" and "arn:aws:iam::<account id>:role/<role name>" in info.value.hint
