# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`parse_reference`: how a replica's source (an identifier, or an ARN for a cross-region source) is read."""

from __future__ import annotations

import pytest

from ansible_collections.mitosis.rds.plugins.module_utils.graph import parse_reference

ACCOUNT = "123456789012"


def arn(name, region="us-east-1", partition="aws", kind="db"):
    return "arn:{0}:rds:{1}:{2}:{3}:{4}".format(partition, region, ACCOUNT, kind, name)


@pytest.mark.parametrize("ref, region, expected", [
    pytest.param(None, "us-east-1", (None, None), id="none"),
    pytest.param("", "us-east-1", (None, None), id="empty"),
    pytest.param(None, None, (None, None), id="none-without-region"),
    pytest.param("mitosis-prod", "us-east-1", ("mitosis-prod", None), id="identifier"),
    pytest.param("mitosis-prod", None, ("mitosis-prod", None), id="identifier-without-region"),
    pytest.param(arn("mitosis-prod"), "us-east-1", ("mitosis-prod", None), id="same-region-arn"),
    pytest.param(arn("mitosis-prod", "eu-west-1"), "us-east-1", ("mitosis-prod", "eu-west-1"), id="other-region-arn"),
    pytest.param(arn("mitosis-prod", "us-east-1"), "eu-west-1", ("mitosis-prod", "us-east-1"),
                 id="other-region-arn-reversed"),
    pytest.param(arn("mitosis-prod", "cn-north-1", "aws-cn"), "cn-north-1", ("mitosis-prod", None),
                 id="china-partition-same-region"),
    pytest.param(arn("mitosis-prod", "us-gov-east-1", "aws-us-gov"), "us-gov-west-1",
                 ("mitosis-prod", "us-gov-east-1"), id="govcloud-other-region"),
    pytest.param(arn("mitosis-prod", "eu-west-1"), None, ("mitosis-prod", None), id="arn-without-region"),
    pytest.param(arn("mitosis-prod", ""), "us-east-1", ("mitosis-prod", None), id="arn-without-its-region"),
    pytest.param("arn:aws:rds:eu-west-1:123456789012", "us-east-1", ("arn:aws:rds:eu-west-1:123456789012", None),
                 id="malformed-arn-too-short"),
    pytest.param("arn:aws:rds", "us-east-1", ("arn:aws:rds", None), id="malformed-arn-three-parts"),
    pytest.param("arn:", "us-east-1", ("arn:", None), id="malformed-arn-prefix-only"),
])
def test_parse_reference(ref, region, expected):
    assert parse_reference(ref, region) == expected
