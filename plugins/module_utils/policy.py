# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The minimal IAM policy for one clone, computed from the plan's instance names.

Every resource is locked to the account and region; `DeleteDBInstance` is only ever allowed on the
`old-*` names the plan retires and, with discard_clone, on this target's own `temp-*` clones. One statement
per action keeps the policy easy to audit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Set, Tuple

from .aws import call
from .graph import name_forms, temp_name
from .names import (CREATE, CREATE_MEMBER, DELETE, DELETE_CLUSTER, DELETE_SNAPSHOT, MODIFY, MODIFY_CLUSTER, PROMOTE,
                    REBOOT, REFRESH_TAG, RESTORE, RESTORE_CLUSTER_PIT, RESTORE_CLUSTER_SNAPSHOT, RESTORE_PIT,
                    SNAPSHOT_ACTION, TAG, UNTAG)
from .steps import SNAPSHOT_API, SOURCE_ACCOUNT, ArnOf

if TYPE_CHECKING:  # annotations only: never imported at run time
    from botocore.client import BaseClient

    from .plans import Plan


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


def _secret_arn(region: str, account: str, name: str) -> str:
    """A secret's ARN, or a pattern: `name` may end in wildcards."""
    if name.startswith("arn:"):
        return name
    return "arn:{0}:secretsmanager:{1}:{2}:secret:{3}".format(partition_of(region), region, account, name)


def iam_policy(plan: Plan, account: str, region: str, secret: Optional[str] = None,
               salt_secret: Optional[str] = None, in_source: bool = False) -> Dict[str, Any]:
    """An IAM policy document (a dict) allowing exactly the calls of `plan` (and reading `secret`, the master
    password's, and `salt_secret`, the masking salt's) in the run's account; with `in_source`, the calls of a refresh
    across accounts in the source account: its snapshot copy, share and delete, on the source and the key."""
    def arn(kind: str, name: str) -> str:
        return _arn(region, account, kind, name)

    if in_source:
        return source_policy(plan, arn, "arn:{0}:kms:{1}:{2}:key/*".format(partition_of(region), region, account))
    granted: Dict[str, List[str]] = {}
    tagged: List[str] = []
    for step in plan.steps:
        if step.account == SOURCE_ACCOUNT:
            continue
        for action, resources in step.grants(arn, plan.source):
            granted.setdefault(action, []).extend(resources)
        created = step.tagged(arn)
        if created:
            tagged.append(created)
    statements = (cluster_statements if plan.root_is_cluster else instance_statements)(plan, arn, granted, tagged)
    # Actions of step kinds the layouts below do not name yet go last, in the order the steps need them.
    named = {action for action, _resources in statements}
    statements += [(action, resources) for action, resources in granted.items() if action not in named]
    return _document(statements, plan, account, region, secret, salt_secret)


def source_policy(plan: Plan, arn: ArnOf, keys: str) -> Dict[str, Any]:
    """The source account's policy of a refresh across accounts: reading the source and its snapshots, the copy,
    its share and its delete (only the copies this target's refreshes make), the keys the copy uses; planning reads
    the copy's key (`keys`: the account's) and its key policy."""
    api = SNAPSHOT_API[plan.root_is_cluster]
    owner = arn("cluster", plan.source) if plan.root_is_cluster else arn("db", plan.source)
    granted: Dict[str, List[str]] = {
        "DescribeDBClusters" if plan.root_is_cluster else "DescribeDBInstances": [owner],
        api["describe"]: [owner, arn(api["arn"], "*")]}
    # The copies' names begin with the target account's id and the target stack ("mitosis-<account>-<target>-"), as
    # their tag says ("<account>:<target>").
    tagged = next((t["Value"] for s in plan.steps if s.account == SOURCE_ACCOUNT for t in s.params.get("Tags") or []
                   if t["Key"] == REFRESH_TAG), "*:" + plan.target)
    copies = arn(api["arn"], "mitosis-{0}-*".format(tagged.replace(":", "-", 1)))
    for step in plan.steps:
        if step.account == SOURCE_ACCOUNT:
            for action, resources in step.grants(arn, plan.source):
                granted.setdefault(action, []).extend(resources)
    # A later run deletes an earlier one's copies (found by their tag): any copy for this target.
    delete = DELETE_SNAPSHOT.replace("DBSnapshot", "DBClusterSnapshot") if plan.root_is_cluster else DELETE_SNAPSHOT
    granted.setdefault(delete, []).append(copies)
    granted.setdefault(api["attributes"], []).append(copies)
    granted.setdefault("kms:DescribeKey", []).append(keys)
    granted["kms:GetKeyPolicy"] = [keys]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": action.split(":")[-1], "Effect": "Allow", "Action": [action if ":" in action else "rds:" + action],
         "Resource": _unique(resources)} for action, resources in granted.items()]}


def instance_statements(plan: Plan, arn: ArnOf, db: Dict[str, List[str]],
                        created: List[str]) -> List[Tuple[str, List[str]]]:
    """(action, resources) for a graph of DB instances: the groups the creates and modifies name, the snapshot a
    restore reads, the lock's tags on the target's names."""
    groups = [arn("og", "*"), arn("pg", "*"), arn("subgrp", "*")]
    if plan.discard:
        # discard_clone: this target's own temp-* clones may be deleted too, and only they.
        db.setdefault(DELETE, []).extend(arn("db", temp_name(n)) for n in plan.node_names())
    statements: List[Tuple[str, List[str]]] = [
        ("DescribeDBInstances", [arn("db", "*")]),
        # Only to tell a missing name from an Aurora cluster's (planning, the lock).
        ("DescribeDBClusters", [arn("cluster", "*")]),
        ("ListTagsForResource", [arn("db", "*")]),
    ]
    if CREATE in db:
        statements.append((CREATE, groups + db[CREATE]))
    if RESTORE in db:
        named = plan.snapshot["DBSnapshotIdentifier"]
        # A snapshot shared from another account is named by its ARN.
        snapshot = named if named.startswith("arn:") else arn("snapshot", named)
        statements.append(("DescribeDBSnapshots", _unique([arn("db", plan.source), arn("snapshot", "*"), snapshot])))
        statements.append((RESTORE, groups + [snapshot] + db[RESTORE]))
    if RESTORE_PIT in db:
        statements.append((RESTORE_PIT, groups + db[RESTORE_PIT]))
    # The run's lock (rds_mitosis_lock) is a tag on whichever instance holds the target's name.
    lock = [arn("db", n) for n in plan.lock_names()]
    statements.append((TAG, _unique(created + lock)))
    db[UNTAG] = db.get(UNTAG, []) + lock
    if "DescribeDBSnapshots" in db and RESTORE not in db:
        statements.append(("DescribeDBSnapshots", db["DescribeDBSnapshots"]))
    for action in (PROMOTE, MODIFY, REBOOT, SNAPSHOT_ACTION, DELETE, UNTAG):
        if action not in db:
            continue
        extra = groups[:2] + [arn("secgrp", "*"), groups[2]] if action == MODIFY else []
        statements.append((action, _unique(extra + db[action])))
    return statements


def cluster_statements(plan: Plan, arn: ArnOf, resources: Dict[str, List[str]],
                       tagged: List[str]) -> List[Tuple[str, List[str]]]:
    """(action, resources) for an Aurora cluster's refresh: cluster ARNs for the cluster calls, instance ARNs for
    the instances', the cluster snapshot restored or kept, the groups the restore and the creates name."""
    if plan.discard:
        # discard_clone: this target's own temp-* clones may be deleted too, and only they.
        resources.setdefault(DELETE, []).extend(arn("db", temp_name(n)) for n in plan.node_names()[1:])
        resources.setdefault(DELETE_CLUSTER, []).append(arn("cluster", temp_name(plan.target)))
    # The run's lock (rds_mitosis_lock) is a tag on whichever cluster holds the target's name.
    lock = [arn("cluster", n) for n in name_forms(plan.target)]
    statements: List[Tuple[str, List[str]]] = [
        ("DescribeDBClusters", [arn("cluster", "*")]),
        ("DescribeDBInstances", [arn("db", "*")]),
        ("ListTagsForResource", [arn("cluster", "*"), arn("db", "*")]),
        (TAG, tagged + lock),
    ]
    resources[UNTAG] = resources.get(UNTAG, []) + lock
    for action in ("DescribeDBClusterSnapshots", RESTORE_CLUSTER_PIT, RESTORE_CLUSTER_SNAPSHOT, CREATE_MEMBER,
                   MODIFY_CLUSTER, MODIFY, REBOOT, DELETE, DELETE_CLUSTER, "CreateDBClusterSnapshot", UNTAG):
        if action in resources:
            statements.append((action, resources[action]))
    return statements


def _document(statements: List[Tuple[str, List[str]]], plan: Plan, account: str, region: str,
              secret: Optional[str], salt_secret: Optional[str]) -> Dict[str, Any]:
    document = [
        # An action of another service than RDS comes with its own prefix ("route53:GetChange").
        {"Sid": action.split(":")[-1], "Effect": "Allow", "Action": [action if ":" in action else "rds:" + action],
         "Resource": _unique(resources)}
        for action, resources in statements
    ]
    for sid, named in (("ReadMasterPasswordSecret", secret), ("ReadMaskSaltSecret", salt_secret)):
        if named:
            # A name matches the six random characters Secrets Manager appends to it.
            pattern = named if named.startswith("arn:") else named + "-??????"
            document.append({"Sid": sid, "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                             "Resource": [_secret_arn(region, account, pattern)]})
    monitoring = _unique(s.params["MonitoringRoleArn"] for s in plan.steps if s.params.get("MonitoringRoleArn"))
    if monitoring:
        # Enhanced Monitoring: RDS is handed the target's monitoring role when it creates or modifies a clone.
        document.append({"Sid": "PassMonitoringRole", "Effect": "Allow", "Action": ["iam:PassRole"],
                         "Resource": monitoring})
    integrations = _unique(r["RoleArn"] for s in plan.steps for r in s.params.get("AssociatedRoles") or [])
    if integrations:
        # An Aurora clone gets the target cluster's roles for S3, Lambda and the like.
        document.append({"Sid": "PassClusterRoles", "Effect": "Allow", "Action": ["iam:PassRole"],
                         "Resource": integrations})
    managed = [s for s in plan.steps if s.makes_secret]
    if managed:
        # RDS creates the clone's secret with the caller's permissions, encrypted with the target secret's key.
        document.append({"Sid": "ManagedMasterSecrets", "Effect": "Allow",
                         "Action": ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
                         "Resource": [_secret_arn(region, account, "rds!*")]})
        keys = _unique(step.params["MasterUserSecretKmsKeyId"] for step in managed
                       if "MasterUserSecretKmsKeyId" in step.params)
        document.append({"Sid": "ManagedMasterSecretKey", "Effect": "Allow",
                         "Action": ["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"],
                         "Resource": keys or ["arn:{0}:kms:{1}:{2}:key/*".format(partition_of(region), region, account)]})
    return {"Version": "2012-10-17", "Statement": document}


def caller_account(sts_client: BaseClient) -> str:
    return call(sts_client, "GetCallerIdentity")["Account"]
