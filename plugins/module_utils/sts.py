# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Temporary credentials from an STS assume-role with an MFA one-time code.

Plain Python: nothing here knows about Ansible, so the tests can use it directly.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, Optional

from .aws import MitosisError, call

if TYPE_CHECKING:  # annotations only: never imported at run time
    from botocore.client import BaseClient

# AWS accepts a session of 15 minutes up to 12 hours, within the role's maximum session duration.
MIN_DURATION = 900
MAX_DURATION = 43200
MFA_TOKEN = re.compile(r"[0-9]{6}")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/.+")


def check_role_arn(role_arn: str, option: str = "role_arn") -> None:
    """Refuse a role ARN AWS would refuse, before any call."""
    if not ROLE_ARN.fullmatch(role_arn):
        raise MitosisError("{0} {1!r} is not the ARN of an IAM role.".format(option, role_arn), operation="options",
                           identifier=role_arn, hint="Pass it as arn:aws:iam::<account id>:role/<role name>.")


def check_request(mfa_token: Optional[str], duration_seconds: int, role_arn: str = "") -> None:
    """Refuse what AWS would refuse before any call (and before a one-time code is spent)."""
    if role_arn:
        check_role_arn(role_arn)
    if not MFA_TOKEN.fullmatch(mfa_token or ""):
        raise MitosisError("The MFA token must be exactly 6 digits, the current code of the MFA device.",
                           hint="Read the code from the device again and pass all 6 digits.")
    if not MIN_DURATION <= duration_seconds <= MAX_DURATION:
        raise MitosisError("session_duration (duration_seconds) must be between {0} (15 minutes) and {1} (12 hours), "
                           "not {2}.".format(MIN_DURATION, MAX_DURATION, duration_seconds), operation="options")


def refusal(error: MitosisError, role_arn: str, mfa_serial: str) -> MitosisError:
    """A clearer MitosisError for the ways AssumeRole refuses an MFA session."""
    if error.code == "AccessDenied" and "MultiFactorAuthentication" in error.message:
        error.message = "The MFA token was refused. " + error.message
        error.hint = ("Retry with a fresh code from the MFA device {0}: a code is valid once, for about 30 seconds."
                      .format(mfa_serial))
    elif error.code == "AccessDenied":
        error.hint = ("Check that these credentials may call sts:AssumeRole on {0}, that its trust policy allows them "
                      "with MFA, and that {1} is their MFA device.".format(role_arn, mfa_serial))
    elif error.code == "ValidationError" and "DurationSeconds" in error.message:
        error.hint = ("Lower the session duration, or raise the role's maximum session duration (up to 12 hours). A role "
                      "assumed with credentials that are themselves a role session is limited to 1 hour.")
    return error


def mfa_session(sts: BaseClient, role_arn: str, mfa_serial: str, mfa_token: str, duration_seconds: int = MAX_DURATION,
                session_name: str = "mitosis-rds") -> Dict[str, str]:
    """Assume `role_arn` with the MFA device's current code; the temporary credentials, in module option names."""
    check_request(mfa_token, duration_seconds, role_arn)
    try:
        response = call(sts, "AssumeRole", role_arn, RoleArn=role_arn, RoleSessionName=session_name,
                        SerialNumber=mfa_serial, TokenCode=mfa_token, DurationSeconds=duration_seconds)
    except MitosisError as error:
        raise refusal(error, role_arn, mfa_serial)
    credentials = response["Credentials"]
    return {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        "session_token": credentials["SessionToken"],
        "expiration": credentials["Expiration"].isoformat(),
    }
