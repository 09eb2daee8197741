#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sts_mfa_session
short_description: Assume an IAM role with an MFA one-time code and return temporary credentials
version_added: 0.1.0
description:
  - Calls STS C(AssumeRole) with the serial number of an MFA device and its current one-time code, and returns the
    temporary credentials in RV(credentials), named as the connection options of the other modules of the collection.
  - The C(mitosis.rds.clone) role calls it once, before any RDS call, so that one MFA code covers the whole refresh,
    for up to O(duration_seconds).
  - A token that is not exactly 6 digits fails before any call. A token that AWS refuses fails with a message that
    says so and asks for a fresh code.
  - Never reports a change.
author:
  - mitosis.rds developers (@mitosis-rds)
options:
  role_arn:
    description:
      - ARN of the IAM role to assume, for example C(arn:aws:iam::123456789012:role/mitosis-refresh).
    type: str
    required: true
  mfa_serial:
    description:
      - The MFA device of the calling IAM user, as its ARN (C(arn:aws:iam::123456789012:mfa/alice)) or, for a
        hardware device, its serial number.
    type: str
    required: true
  mfa_token:
    description:
      - The current one-time code of the O(mfa_serial) device, exactly 6 digits. A code can be used only once.
    type: str
    required: true
  duration_seconds:
    description:
      - How long the temporary credentials last, from 900 (15 minutes) to 43200 (12 hours).
      - The default of 12 hours covers a clone of several hours. The role's maximum session duration must allow it
        (it is 1 hour unless raised), and a role assumed with credentials that are themselves a role session is
        limited to 1 hour by AWS.
    type: int
    default: 43200
  session_name:
    description:
      - The role session name, which CloudTrail records with every call made with the credentials.
    type: str
    default: mitosis-rds
extends_documentation_fragment:
  - mitosis.rds.aws
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - C(AssumeRole) is called in check mode too, so that a check-mode run can read AWS with the role's credentials.
        It only issues temporary credentials and changes no resource.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Set C(no_log) on the task, so that the returned credentials never appear in the output or the logs.
  - Without a token, the C(mitosis.rds.clone) role asks for one when a terminal is attached, and fails otherwise.
seealso:
  - module: mitosis.rds.rds_mitosis_plan
  - name: Requesting temporary security credentials with MFA
    description: The STS C(AssumeRole) call with C(SerialNumber) and C(TokenCode).
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html
"""

EXAMPLES = r"""
- name: Assume the refresh role with the MFA code given on the command line
  mitosis.rds.sts_mfa_session:
    role_arn: arn:aws:iam::123456789012:role/mitosis-refresh
    mfa_serial: arn:aws:iam::123456789012:mfa/alice
    mfa_token: "{{ mfa_token }}"
  register: refresh_session
  no_log: true

- name: Plan with the temporary credentials
  mitosis.rds.rds_mitosis_plan:
    source: mitosis-prod
    target: mitosis-demo
    access_key: "{{ refresh_session.credentials.access_key }}"
    secret_key: "{{ refresh_session.credentials.secret_key }}"
    session_token: "{{ refresh_session.credentials.session_token }}"

- name: A one-hour session, for a role with the default maximum session duration
  mitosis.rds.sts_mfa_session:
    role_arn: arn:aws:iam::123456789012:role/mitosis-refresh
    mfa_serial: arn:aws:iam::123456789012:mfa/alice
    mfa_token: "{{ mfa_token }}"
    duration_seconds: 3600
    region: eu-west-1
  register: refresh_session
  no_log: true
"""

RETURN = r"""
credentials:
  description:
    - The temporary credentials, named as the connection options they are meant for.
    - Secret; register the result of a task with C(no_log) set.
  returned: success
  type: dict
  contains:
    access_key:
      description: The temporary access key ID.
      type: str
      sample: ASIAIOSFODNN7EXAMPLE
    secret_key:
      description: The temporary secret access key.
      type: str
    session_token:
      description: The session token that goes with them.
      type: str
    expiration:
      description: When the credentials expire, in ISO 8601 with a time zone.
      type: str
      sample: "2026-01-04T15:04:05+00:00"
"""

from ansible_collections.mitosis.rds.plugins.module_utils.module import MitosisModule
from ansible_collections.mitosis.rds.plugins.module_utils.sts import mfa_session


def assume(module):
    p = module.params
    credentials = mfa_session(module.connection.client("sts"), p["role_arn"], p["mfa_serial"], p["mfa_token"],
                              p["duration_seconds"], p["session_name"])
    return {"changed": False, "credentials": credentials}


def main():
    module = MitosisModule(
        argument_spec=dict(
            role_arn=dict(type="str", required=True),
            mfa_serial=dict(type="str", required=True),
            mfa_token=dict(type="str", required=True, no_log=True),
            duration_seconds=dict(type="int", default=43200),
            session_name=dict(type="str", default="mitosis-rds"),
        ),
        supports_check_mode=True,
    )
    module.run(assume)


if __name__ == "__main__":
    main()
