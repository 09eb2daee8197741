"""Feature 9: STS AssumeRole checks the MFA code; GetCallerIdentity works."""

import pytest

from devtools.rds_endpoint.testing import aws_error

ROLE = {
    "RoleArn": "arn:aws:iam::123456789012:role/mitosis",
    "RoleSessionName": "mitosis",
    "SerialNumber": "arn:aws:iam::123456789012:mfa/me",
}


@pytest.mark.parametrize("token", ["654321", "abcdef", "1234567"])
def test_assume_role_refuses_a_wrong_mfa_code(api, token):
    refused = aws_error(api.client("sts").assume_role, TokenCode=token, **ROLE)
    assert refused == ("AccessDenied", 403)


def test_assume_role_with_the_right_code(endpoint_api):
    sts = endpoint_api.client("sts")
    credentials = sts.assume_role(TokenCode="123456", **ROLE)["Credentials"]
    assert credentials["AccessKeyId"] and credentials["SessionToken"]
    assert sts.get_caller_identity()["Account"] == "123456789012"


def test_the_mfa_code_is_configurable(configured_endpoint):
    sts = configured_endpoint.client("sts", retries={"total_max_attempts": 1})
    assert aws_error(sts.assume_role, TokenCode="123456", **ROLE) == ("AccessDenied", 403)
    sts.assume_role(TokenCode="424242", **ROLE)  # conftest.START_MFA_CODE


def test_the_refusal_message(endpoint_api):
    sts = endpoint_api.client("sts")
    with pytest.raises(Exception) as caught:
        sts.assume_role(TokenCode="000000", **ROLE)
    assert caught.value.response["Error"]["Message"] == (
        "MultiFactorAuthentication failed with invalid MFA one time pass code."
    )
