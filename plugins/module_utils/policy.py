# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The minimal IAM policy for one clone, computed from the plan's instance names.

Every resource is locked to the account and region; `DeleteDBInstance` is only ever allowed on the
`old-*` names the plan retires. One statement per action keeps the policy easy to audit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Set, Tuple

from .aws import call
from .planner import CREATE, DELETE, MODIFY, PROMOTE, RESTORE

if TYPE_CHECKING:  # annotations only: never imported at run time
    from botocore.client import BaseClient

    from .planner import Plan


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _arn(region: str, account: str, kind: str, name: str) -> str:
    return "arn:{0}:rds:{1}:{2}:{3}:{4}".format(partition_of(region), region, account, kind, name)


def _unique(items: Iterable[str]) -> List[str]:
    seen: Set[str] = set()
    out: List[str] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def iam_policy(plan: Plan, account: str, region: str) -> Dict[str, Any]:
    """An IAM policy document (a dict) allowing exactly the calls of `plan`."""
    def arn(kind: str, name: str) -> str:
        return _arn(region, account, kind, name)

    groups = [arn("og", "*"), arn("pg", "*"), arn("subgrp", "*")]
    db: Dict[str, List[str]] = {}

    def allow(action: str, *names: str) -> None:
        db.setdefault(action, []).extend(arn("db", n) for n in names)

    created: List[str] = []
    for step in plan.steps:
        if step.action == CREATE:
            allow(CREATE, step.params["SourceDBInstanceIdentifier"], step.identifier)
            created.append(step.identifier)
        elif step.action == RESTORE:
            allow(RESTORE, step.identifier)
            created.append(step.identifier)
        elif step.action == PROMOTE:
            allow(PROMOTE, step.identifier)
        elif step.action == MODIFY:
            names = [step.identifier] + ([step.new_identifier] if step.new_identifier else [])
            allow(MODIFY, *names)
            allow("RebootDBInstance", *names)
        elif step.action == DELETE:
            allow(DELETE, step.identifier)

    statements: List[Tuple[str, List[str]]] = [
        ("DescribeDBInstances", [arn("db", "*")]),
        ("ListTagsForResource", [arn("db", "*")]),
    ]
    if CREATE in db:
        statements.append((CREATE, groups + db[CREATE]))
    if RESTORE in db:
        snapshot = arn("snapshot", plan.snapshot["DBSnapshotIdentifier"])
        statements.append(("DescribeDBSnapshots", [arn("db", plan.source), arn("snapshot", "*")]))
        statements.append((RESTORE, groups + [snapshot] + db[RESTORE]))
    statements.append(("AddTagsToResource", [arn("db", n) for n in created]))
    for action in (PROMOTE, MODIFY, "RebootDBInstance", DELETE):
        if action not in db:
            continue
        extra = groups[:2] + [arn("secgrp", "*"), groups[2]] if action == MODIFY else []
        statements.append((action, extra + db[action]))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": action, "Effect": "Allow", "Action": ["rds:" + action], "Resource": _unique(resources)}
            for action, resources in statements
        ],
    }


def caller_account(sts_client: BaseClient) -> str:
    return call(sts_client, "GetCallerIdentity")["Account"]
