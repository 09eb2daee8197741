# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module base: amazon.aws-style connection options with their environment fallbacks,
a connection built from them, and one error path (MitosisError -> fail_json)."""

from __future__ import annotations

import traceback
from typing import Any, Callable, Dict, NoReturn

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from .aws import HAS_BOTO3, AWSConnection, MitosisError

AWS_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = dict(
    region=dict(type="str", aliases=["aws_region", "ec2_region"],
                fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"])),
    profile=dict(type="str", aliases=["aws_profile"], fallback=(env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])),
    access_key=dict(type="str", aliases=["aws_access_key_id", "aws_access_key", "ec2_access_key"], no_log=False,
                    fallback=(env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"])),
    secret_key=dict(type="str", aliases=["aws_secret_access_key", "aws_secret_key", "ec2_secret_key"], no_log=True,
                    fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"])),
    session_token=dict(type="str", aliases=["aws_session_token", "security_token", "aws_security_token",
                                            "access_token"], no_log=True,
                       fallback=(env_fallback, ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN"])),
    endpoint_url=dict(type="str", aliases=["aws_endpoint_url", "ec2_url"],
                      fallback=(env_fallback, ["AWS_ENDPOINT_URL", "AWS_URL", "EC2_URL"])),
    validate_certs=dict(type="bool", default=True),
    aws_ca_bundle=dict(type="path", fallback=(env_fallback, ["AWS_CA_BUNDLE"])),
)

# What to clone into what, for the plan and the step modules (docs: the mitosis.rds.clone fragment).
CLONE_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = dict(
    source=dict(type="str", required=True),
    target=dict(type="str", required=True),
    restore_snapshot=dict(type="bool", default=False),
)


class MitosisModule:
    """AnsibleModule with the AWS options added and a `connection` built from them."""

    def __init__(self, argument_spec: Dict[str, Dict[str, Any]], **kwargs: Any) -> None:
        spec = dict(AWS_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        if not HAS_BOTO3:
            self.module.fail_json(msg=missing_required_lib("boto3 and botocore"))
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff_mode = self.module._diff
        p = self.params
        self.connection = AWSConnection(
            region=p["region"], profile=p["profile"], access_key=p["access_key"], secret_key=p["secret_key"],
            session_token=p["session_token"], endpoint_url=p["endpoint_url"], validate_certs=p["validate_certs"],
            aws_ca_bundle=p["aws_ca_bundle"])

    def run(self, body: Callable[[MitosisModule], Dict[str, Any]]) -> NoReturn:
        """Call body(self) and exit with its result; a MitosisError becomes a clean failure."""
        try:
            result = body(self)
        except MitosisError as error:
            self.module.fail_json(**error.to_result())
        except Exception as error:  # pylint: disable=broad-except
            self.module.fail_json(msg="Unexpected error: {0}".format(error), exception=traceback.format_exc())
        self.module.exit_json(**result)
