"""Accounts, KMS keys and snapshots shared across accounts, as AWS has them (moto 5.2.5 departs from AWS here).

moto keeps one backend per account: a request is served in the account of its credentials (an access key that
sts:AssumeRole gave, or an IAM user's, maps to the role's or user's account; `x-moto-account-id` names one; anything
else is 123456789012). What this module adds:

- the AWS managed key `aws/rds` of each account and region (KeyManager AWS, alias `alias/aws/rds`, AWS's key policy),
  made when first needed: an encrypted instance or cluster without KmsKeyId gets its ARN (moto: `default_kms_key_id`);
- KmsKeyId values (key id, key ARN, alias name or ARN, of the caller's account or, by ARN, of another) resolved to the
  key's ARN, or KMSKeyNotAccessibleFault;
- whether a key policy lets another account use a key (an Allow for that account's principal and a use of the key,
  no Deny);
- a snapshot named by the ARN of another account's snapshot: found in the owner's backend, only when its `restore`
  attribute lists the caller's account (or `all`); moto looked in the caller's own backend;
- the sharing rules of ModifyDB(Cluster)SnapshotAttribute.
"""

import fnmatch
import json
import os
import re
from typing import Any
from urllib.parse import parse_qsl

from moto.core import DEFAULT_ACCOUNT_ID
from moto.kms.models import Key, kms_backends
from moto.kms.utils import RESERVED_ALIASES
from moto.rds.exceptions import (
    DBClusterSnapshotNotFoundError,
    DBSnapshotNotFoundFault,
    InvalidParameterValue,
    RDSClientError,
)
from moto.rds.models import RDSBackend, rds_backends

MANAGED_ALIAS = "alias/aws/rds"
# AWS's description of the managed key of RDS.
MANAGED_DESCRIPTION = "Default key that protects my RDS database volumes when no other key is defined"
# What RDS does with a snapshot's key for another account (a copy re-encrypts through a grant): a key policy that
# allows the account any of these lets it use the key (the brief's rule; AWS asks kms:CreateGrant and kms:DescribeKey
# of the caller, and its IAM policy the rest).
USE_ACTIONS = ("kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey", "kms:ReEncryptFrom", "kms:ReEncryptTo")
MAX_SHARED_ACCOUNTS = 20
_ARN = re.compile(r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>\d{12}):(?P<rest>.+)$")
_IAM_PRINCIPAL = re.compile(r"^arn:[^:]+:iam::(?P<account>\d{12}):")
_moto: dict[str, Any] = {}


def install() -> None:
    """moto makes the key of a reserved alias (`alias/aws/rds`, ...) when it is first named; make it an AWS managed
    key, as AWS's are (moto: a customer managed key with the default policy). ListAliases shows a reserved alias
    whose key is not made yet without TargetKeyId, as AWS does (moto: a fixed key id no key has)."""
    from moto.kms.models import KmsBackend
    from moto.kms.responses import KmsResponse

    _moto["_generate_default_keys"] = KmsBackend._generate_default_keys
    KmsBackend._generate_default_keys = _generate_default_keys
    _moto["list_aliases"] = KmsResponse.list_aliases
    KmsResponse.list_aliases = _list_aliases


def _list_aliases(self: Any) -> str:
    answer = json.loads(_moto["list_aliases"](self))
    for alias in answer["Aliases"]:
        if alias["AliasName"] in RESERVED_ALIASES and alias.get("TargetKeyId") not in self.kms_backend.keys:
            alias.pop("TargetKeyId", None)
    return json.dumps(answer)


def _generate_default_keys(self: Any, alias_name: str) -> str | None:
    key_id = _moto["_generate_default_keys"](self, alias_name)
    if key_id is not None:
        key = self.keys[key_id]
        key.key_manager = "AWS"
        service = alias_name.rsplit("/", 1)[-1]
        key.description = MANAGED_DESCRIPTION if service == "rds" else f"Default key for {service}"
        key.policy = json.dumps(_managed_policy(self.account_id, self.region_name, service))
    return key_id


def _managed_policy(account: str, region: str, service: str) -> dict[str, Any]:
    """The key policy AWS gives an AWS managed key: use through the service by the account's principals only."""
    return {
        "Version": "2012-10-17",
        "Id": f"auto-{service}-2",
        "Statement": [
            {
                "Sid": f"Allow access through {service.upper()} for all principals in the account that are "
                f"authorized to use {service.upper()}",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                           "kms:CreateGrant", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com",
                                               "kms:CallerAccount": account}},
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }


# --- the account of a request ----------------------------------------------------------------


def request_account(environ: dict[str, Any]) -> str:
    """The account a request is served in, as moto chooses it: MOTO_ACCOUNT_ID, the `x-moto-account-id` header, the
    account of the access key (an IAM user's, or one sts:AssumeRole gave), else 123456789012."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return str(environ["HTTP_X_MOTO_ACCOUNT_ID"])
    match = re.search(r"Credential=([^/,\s]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    access_key = match[1] if match else None
    if access_key is None:
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        access_key = query.get("AWSAccessKeyId") or (query.get("X-Amz-Credential") or "").split("/")[0] or None
    if not access_key:
        return DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


# --- KMS keys --------------------------------------------------------------------------------


def managed_key(account: str, region: str) -> Key:
    """The AWS managed key `aws/rds` of the account and region, made when first needed."""
    kms = kms_backends[account][region]
    return kms.keys[kms.any_id_to_key_id(MANAGED_ALIAS)]


def find_key(account: str, region: str, key_id: str) -> Key | None:
    """The key `key_id` names (key id, key ARN, alias name or alias ARN), seen from `account`: an ARN may name a key
    of another account. None when there is no such key."""
    match = _ARN.match(key_id)
    if match:
        if match["service"] != "kms":
            return None
        account, region = match["account"], match["region"]
        rest = match["rest"]
        key_id = rest[len("key/"):] if rest.startswith("key/") else rest
    kms = kms_backends[account][region]
    try:
        if key_id.startswith("alias/"):
            if key_id not in RESERVED_ALIASES and not kms.alias_exists(key_id):
                return None
        return kms.keys[kms.any_id_to_key_id(key_id)]
    except (KeyError, AttributeError, TypeError):
        return None


def usable(key: Key | None) -> bool:
    return key is not None and key.enabled and key.key_state == "Enabled"


def is_managed(key: Key | None) -> bool:
    return key is not None and key.key_manager == "AWS"


def not_accessible(which: str, key_id: str | None, more: str = "") -> RDSClientError:
    """AWS's KMSKeyNotAccessibleFault (`which`: "source snapshot", "target"); `more`: what follows AWS's words."""
    return RDSClientError(
        "KMSKeyNotAccessibleFault",
        f"The {which} KMS key [{key_id}] does not exist, is not enabled or you do not have permissions to access it."
        + more,
    )


def resolve_key(account: str, region: str, key_id: str, which: str = "target") -> str:
    """The ARN of the key `key_id` names for `account`; KMSKeyNotAccessibleFault when there is none, when it is not
    enabled, or when it is another account's and its key policy does not let `account` use it."""
    key = find_key(account, region, key_id)
    if not usable(key) or (key.account_id != account and not allows(key, account)):
        raise not_accessible(which, key_id)
    return key.arn


def storage_key(account: str, region: str, value: str | None, encrypted: bool) -> str | None:
    """An instance's or cluster's KmsKeyId: the key's ARN; the managed key when encrypted without one (moto:
    `default_kms_key_id`); none when not encrypted."""
    if value in (None, "", "default_kms_key_id"):
        return managed_key(account, region).arn if encrypted else None
    return resolve_key(account, region, value)


def allows(key: Key, account: str, region: str | None = None) -> bool:
    """Whether the key policy of `key` lets `account` use the key: a statement that allows a principal of that
    account (its root, the bare account id, one of its IAM ARNs, or "*") one of USE_ACTIONS, and none that denies
    it. Conditions on kms:CallerAccount and kms:ViaService are checked (RDS is the service); others are ignored."""
    try:
        policy = json.loads(key.policy or "{}")
    except ValueError:
        return False
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not (_principal(statement.get("Principal"), account) and _actions(statement.get("Action"))
                and _conditions(statement.get("Condition"), account, region or key.region)):
            continue
        if str(statement.get("Effect", "")).lower() == "deny":
            return False
        allowed = allowed or str(statement.get("Effect", "")).lower() == "allow"
    return allowed


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _principal(principal: Any, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _listed(principal.get("AWS")):
        match = _IAM_PRINCIPAL.match(value)
        if value in ("*", account) or (match and match["account"] == account):
            return True
    return False


def _actions(actions: Any) -> bool:
    patterns = [a.lower() for a in _listed(actions)]
    return any(fnmatch.fnmatchcase(action.lower(), pattern) for pattern in patterns for action in USE_ACTIONS)


def _conditions(conditions: Any, account: str, region: str) -> bool:
    if not isinstance(conditions, dict):
        return True
    facts = {"kms:calleraccount": account, "kms:viaservice": f"rds.{region}.amazonaws.com"}
    for operator, tests in conditions.items():
        if operator not in ("StringEquals", "StringLike") or not isinstance(tests, dict):
            continue
        for name, expected in tests.items():
            fact = facts.get(name.lower())
            if fact is None:
                continue
            if not any(fnmatch.fnmatchcase(fact, value) if operator == "StringLike" else fact == value
                       for value in _listed(expected)):
                return False
    return True


# --- snapshots by ARN ------------------------------------------------------------------------

# kind -> (the ARN's resource type, the backend's store, the error for a missing snapshot)
_KINDS = {
    "db": ("snapshot", "database_snapshots", DBSnapshotNotFoundFault),
    "cluster": ("cluster-snapshot", "cluster_snapshots", DBClusterSnapshotNotFoundError),
}


def parse_arn(value: str | None) -> "re.Match[str] | None":
    """An ARN's parts (`partition`, `service`, `region`, `account`, `rest`), or None for anything else."""
    return _ARN.match(value or "")


def foreign(backend: RDSBackend, identifier: str | None) -> bool:
    """`identifier` is the ARN of a resource of another account."""
    match = _ARN.match(identifier or "")
    return bool(match and match["account"] != backend.account_id)


def find_snapshot(backend: RDSBackend, identifier: str, kind: str = "db") -> Any:
    """The DB (`kind` "db") or DB cluster ("cluster") snapshot `identifier` names for the caller of `backend`: by
    name, or by ARN, its own or one another account shares with it (its `restore` attribute lists the caller's
    account, or `all`). Else the not-found error of the kind, as AWS answers for a snapshot not shared."""
    resource_type, store, missing = _KINDS[kind]
    owner, name = backend, identifier
    match = _ARN.match(identifier)
    if match:
        parts = match["rest"].split(":", 1)
        if parts[0] != resource_type or len(parts) < 2:
            raise InvalidParameterValue(f"The parameter {identifier} is not a valid {resource_type} identifier.")
        owner = rds_backends[match["account"]][match["region"] or backend.region_name]
        name = parts[1]
    snapshot = getattr(owner, store).get(name.lower())
    if snapshot is None or (owner is not backend and not shared_with(snapshot, backend.account_id)):
        raise missing(identifier)
    return snapshot


def snapshot_calls(moto: dict[str, Any], kind: str, what: str, describe: str, modify: str) -> tuple[Any, Any]:
    """The corrected describe and share of DB snapshots (`kind` "db") or DB cluster snapshots ("cluster"), over moto's
    own calls (`moto`: by name, as installed; their arguments as moto names them): a snapshot named by its ARN is found
    as AWS finds it, another account's shared one included (moto: not found); a share is checked as AWS checks it,
    and lists an account once."""
    named = "db_snapshot_identifier" if kind == "db" else "db_cluster_snapshot_identifier"

    def describe_snapshots(self: RDSBackend, *args: Any, **kwargs: Any) -> list[Any]:
        identifier = kwargs.get("db_snapshot_identifier", args[1] if len(args) > 1 else None)
        if identifier and identifier.startswith("arn:"):
            return [find_snapshot(self, identifier, kind)]
        return moto[describe](self, *args, **kwargs)

    def modify_attribute(self: RDSBackend, *args: Any, **kwargs: Any) -> dict[str, list[str]]:
        given = dict(zip((named, "attribute_name", "values_to_add", "values_to_remove"), args), **kwargs)
        snapshot = getattr(self, describe)(None, given[named])[0]
        if given["attribute_name"] == "restore" and snapshot.snapshot_type == "manual":
            check_share(snapshot, given.get("values_to_add"), given.get("values_to_remove"), what)
        attributes = moto[modify](self, *args, **kwargs)
        # An account shared with again is listed once (moto listed it again).
        attributes[given["attribute_name"]] = list(dict.fromkeys(attributes[given["attribute_name"]]))
        return attributes

    return describe_snapshots, modify_attribute


def shared_with(snapshot: Any, account: str) -> bool:
    restore = snapshot.attributes.get("restore") or []
    return account in restore or "all" in restore


def snapshot_key(snapshot: Any) -> Key | None:
    """The key an encrypted snapshot is encrypted with (in its owner's account), if it has one."""
    key_id = getattr(snapshot, "kms_key_id", None)
    if not key_id or not _encrypted(snapshot):
        return None
    return find_key(snapshot.account_id, snapshot.region, key_id)


def _encrypted(snapshot: Any) -> bool:
    return bool(getattr(snapshot, "encrypted", False))


def require_source_key(snapshot: Any, account: str) -> None:
    """Another account's encrypted snapshot: its key must let `account` use it (never an AWS managed key, whose key
    policy allows its own account only), else KMSKeyNotAccessibleFault."""
    key = snapshot_key(snapshot)
    if not usable(key) or not allows(key, account):
        raise not_accessible("source snapshot", getattr(snapshot, "kms_key_id", None))


def check_share(snapshot: Any, values_to_add: list[str] | None, values_to_remove: list[str] | None,
                kind: str) -> None:
    """ModifyDB(Cluster)SnapshotAttribute AttributeName=restore: AWS refuses to share a snapshot encrypted with the
    default key `aws/rds`, to make an encrypted one public, and more than 20 accounts in all."""
    adding = [str(v) for v in values_to_add or []]
    if not adding:
        return
    name = getattr(snapshot, "db_snapshot_identifier", None) or getattr(snapshot, "db_cluster_snapshot_identifier", "")
    if _encrypted(snapshot):
        if is_managed(snapshot_key(snapshot)):
            raise InvalidParameterValue(
                f"The {kind} snapshot {name} is encrypted with the default KMS key (aws/rds) of its account, and a "
                "snapshot encrypted with the default KMS key cannot be shared: copy it with a customer managed KMS "
                "key and share the copy."
            )
        if "all" in adding:
            raise InvalidParameterValue(f"The {kind} snapshot {name} is encrypted: encrypted snapshots cannot be "
                                        "shared publicly.")
    kept = [v for v in (snapshot.attributes.get("restore") or []) + adding if v not in (values_to_remove or [])]
    if len(set(kept)) > MAX_SHARED_ACCOUNTS:
        raise RDSClientError(
            "SharedSnapshotQuotaExceeded",
            f"You have exceeded the maximum number of accounts ({MAX_SHARED_ACCOUNTS}) that you can share a manual "
            f"{kind} snapshot with.",
        )
