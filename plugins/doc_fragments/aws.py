# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The connection options every mitosis.rds module takes, named as in amazon.aws.
    DOCUMENTATION = r"""
options:
  region:
    description:
      - The AWS region, for example C(us-east-1).
      - Falls back to the E(AWS_REGION), E(AWS_DEFAULT_REGION) or E(EC2_REGION) environment variables, then to
        the region of the profile.
    type: str
    aliases: [aws_region, ec2_region]
  profile:
    description:
      - A named profile from the AWS configuration and credentials files.
      - Falls back to E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE).
    type: str
    aliases: [aws_profile]
  access_key:
    description:
      - AWS access key ID.
      - Falls back to E(AWS_ACCESS_KEY_ID), E(AWS_ACCESS_KEY) or E(EC2_ACCESS_KEY), then to the standard
        credential chain (profiles, instance and task roles).
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
  secret_key:
    description:
      - AWS secret access key.
      - Falls back to E(AWS_SECRET_ACCESS_KEY), E(AWS_SECRET_KEY) or E(EC2_SECRET_KEY).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
  session_token:
    description:
      - AWS session token, for temporary credentials.
      - Falls back to E(AWS_SESSION_TOKEN), E(AWS_SECURITY_TOKEN) (as AWX injects it) or E(EC2_SECURITY_TOKEN).
    type: str
    aliases: [aws_session_token, security_token, aws_security_token, access_token]
  endpoint_url:
    description:
      - URL of the AWS API endpoint to use instead of the default one (a VPC endpoint, or a test endpoint).
      - Falls back to E(AWS_ENDPOINT_URL), E(AWS_URL) or E(EC2_URL).
    type: str
    aliases: [aws_endpoint_url, ec2_url]
  validate_certs:
    description:
      - When V(false), SSL certificates are not validated.
    type: bool
    default: true
  aws_ca_bundle:
    description:
      - The CA bundle to validate SSL certificates against. Falls back to E(AWS_CA_BUNDLE).
    type: path
notes:
  - Throttling (C(Throttling), C(ThrottlingException)) and transient errors are retried by botocore's adaptive
    retry mode.
  - All modules of this collection belong to the action group C(mitosis.rds.aws), so one
    C(module_defaults) entry C(group/mitosis.rds.aws) sets these options for all of them.
requirements:
  - python >= 3.9
  - boto3 >= 1.34.0
  - botocore >= 1.34.0
"""
