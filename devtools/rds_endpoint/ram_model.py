"""AWS RAM resource shares, and the Aurora clone across accounts they allow (moto 5.2.5 departs from AWS here).

moto keeps RAM's resource shares per account and region, and accepts a 12-digit account id as a principal whatever
`allowExternalPrincipals` says. What this module adds (correction 18 of the README):

- the AWS Organizations case: every account is in the owner's organization, so a principal's association is
  ASSOCIATED at once (no invitation to accept) and not `external`;
- GetResourceShares honours `name`, `resourceShareArns` and `resourceShareStatus` (moto: every share of the account,
  whatever was asked), and `resourceOwner=OTHER-ACCOUNTS` lists the ACTIVE shares of other accounts that name the
  caller (moto: NotImplementedError, a 500);
- GetResourceShareAssociations gives each association its own status, ASSOCIATED while its share is ACTIVE and
  DISASSOCIATED once the share is deleted, and `associationStatus` selects by it (moto: labelled every association
  with the status asked);
- RestoreDBClusterToPointInTime naming the ARN of another account's Aurora cluster (moto: looked up in the caller's
  own account, DBClusterNotFoundFault): the cluster of its owner, found only when an ACTIVE resource share of that
  account holds its ARN with the caller's account as principal; a copy-on-write clone only, one per account, 15 in
  all, never of a cluster under the default key `aws/rds`, the source key usable by the caller;
- a cluster in an ACTIVE share cannot be renamed.
"""

import json
from typing import Any

from moto.rds.exceptions import DBClusterNotFoundError, InvalidParameterValue, RDSClientError
from moto.rds.models import DBCluster, RDSBackend, rds_backends
from moto.ram.exceptions import InvalidParameterException
from moto.ram.models import ResourceAccessManagerBackend, ResourceShare, ram_backends
from moto.ram.responses import ResourceAccessManagerResponse

from . import accounts

# AWS: "You can create a maximum of 15 cross-account clones from any single Aurora DB cluster", the cluster and its
# clones counted together.
MAX_CROSS_ACCOUNT_CLONES = 15
_moto: dict[str, Any] = {}


def install() -> None:
    _moto["get_resource_share_associations"] = ResourceAccessManagerBackend.get_resource_share_associations
    ResourceAccessManagerBackend.get_resource_share_associations = _get_resource_share_associations
    ResourceAccessManagerResponse.get_resource_shares = _get_resource_shares
    # A cross-account clone says so (moto: always false).
    DBCluster.cross_account_clone = property(lambda cluster: bool(cluster.__dict__.get("mitosis_cross_account")))


# --- RAM -----------------------------------------------------------------------------------------------------------


def _shares(account: str, region: str) -> list[ResourceShare]:
    """The resource shares `account` owns in `region` (none when its RAM backend was never made: not made here)."""
    regions = ram_backends.get(account)
    backend = dict.get(regions, region) if regions is not None else None
    return list(backend.resource_shares) if backend is not None else []


def _get_resource_shares(self: ResourceAccessManagerResponse) -> str:
    owner = self._get_param("resourceOwner")
    if owner not in ("SELF", "OTHER-ACCOUNTS"):
        raise InvalidParameterException(
            f"{owner} is not a valid resource owner. Specify either SELF or OTHER-ACCOUNTS and try again."
        )
    if owner == "SELF":
        shares = _shares(self.current_account, self.region)
    else:
        shares = [share for account in list(ram_backends) if account != self.current_account
                  for share in _shares(account, self.region)
                  if share.status == "ACTIVE" and self.current_account in share.principals]
    name = self._get_param("name")
    arns = self._get_param("resourceShareArns") or []
    status = self._get_param("resourceShareStatus")
    found = [share.describe() for share in shares
             if (not name or share.name == name) and (not arns or share.arn in arns)
             and (not status or share.status == status)]
    return json.dumps({"resourceShares": found})


def _get_resource_share_associations(
    self: ResourceAccessManagerBackend,
    association_type: str | None,
    association_status: str | None,
    resource_share_arns: list[str],
    resource_arn: str | None,
    principal: str | None,
) -> dict[str, Any]:
    answer = _moto["get_resource_share_associations"](
        self, association_type, association_status, resource_share_arns, resource_arn, principal
    )
    statuses = {share.arn: share.status for share in self.resource_shares}
    kept = []
    for association in answer["resourceShareAssociations"]:
        # Organizations: associated at once, no invitation; gone with the share.
        association["status"] = "ASSOCIATED" if statuses.get(association["resourceShareArn"]) == "ACTIVE" \
            else "DISASSOCIATED"
        association["external"] = False
        if not association_status or association["status"] == association_status:
            kept.append(association)
    return {"resourceShareAssociations": kept}


def shared_with(resource_arn: str, owner: str, region: str, account: str | None = None) -> bool:
    """Whether an ACTIVE resource share of `owner` holds `resource_arn` (with `account` as a principal; None: any)."""
    arn = resource_arn.lower()
    return any(share.status == "ACTIVE" and arn in (a.lower() for a in share.resource_arns)
               and (account is None or account in share.principals)
               for share in _shares(owner, region))


# --- Aurora clusters across accounts -------------------------------------------------------------------------------


def source_cluster(backend: RDSBackend, identifier: str) -> DBCluster:
    """The source cluster a restore names, for the caller of `backend`: its own by name or ARN (moto), or by its ARN
    another account's that an ACTIVE resource share of that account gives the caller. Else DBClusterNotFoundFault, as
    AWS answers for a cluster not shared ("the same error ... as if the specified cluster doesn't exist")."""
    if not accounts.foreign(backend, identifier):
        return backend.describe_db_clusters(db_cluster_identifier=identifier)[0]
    match = accounts.parse_arn(identifier)
    owner, region = match["account"], match["region"] or backend.region_name
    kind, _, name = match["rest"].partition(":")
    regions = rds_backends.get(owner)
    owner_backend = dict.get(regions, region) if regions is not None else None
    cluster = owner_backend.clusters.get(name.lower()) if owner_backend is not None and kind == "cluster" else None
    if cluster is None or not shared_with(cluster.db_cluster_arn, owner, region, backend.account_id):
        # AWS's words (terraform-provider-aws #32980).
        raise DBClusterNotFoundError(
            identifier, f"The source cluster could not be found or cannot be accessed: {identifier}"
        )
    return cluster


def is_cross_account_clone(cluster: DBCluster) -> bool:
    return bool(cluster.__dict__.get("mitosis_cross_account"))


def check_clone(backend: RDSBackend, source: DBCluster, restore_type: str) -> None:
    """AWS's rules for a clone by the caller of `backend` of `source`, a cluster another account shares with it."""
    if restore_type != "copy-on-write":
        raise RDSClientError(
            "InvalidParameterCombination",
            f"The source DB cluster {source.db_cluster_arn} is owned by another AWS account: only a clone "
            "(RestoreType copy-on-write) can be made of it.",
        )
    if source.storage_encrypted:
        key = accounts.find_key(source.account_id, source.region, source.kms_key_id)
        if accounts.is_managed(key):
            raise accounts.not_accessible(
                "source DB cluster", source.kms_key_id,
                " A DB cluster encrypted with the default KMS key (aws/rds) can't be cloned across accounts.",
            )
        if not accounts.usable(key) or not accounts.allows(key, backend.account_id):
            raise accounts.not_accessible("source DB cluster", source.kms_key_id)
    # The cluster and its clones count as one: its clone group.
    group = source.clone_group_id
    if group is None:
        return
    if any(is_cross_account_clone(c) and c.clone_group_id == group for c in backend.clusters.values()):
        raise InvalidParameterValue(
            f"Only one cross-account clone of DB cluster {source.db_cluster_arn} (or of a clone of it) is allowed in "
            f"account {backend.account_id}, and it has one: delete it first."
        )
    clones = sum(1 for account in list(rds_backends)
                 for cluster in _clusters(account, source.region)
                 if is_cross_account_clone(cluster) and cluster.clone_group_id == group)
    if clones >= MAX_CROSS_ACCOUNT_CLONES:
        raise InvalidParameterValue(
            f"DB cluster {source.db_cluster_arn} has {clones} cross-account clones, the most it can have "
            f"({MAX_CROSS_ACCOUNT_CLONES})."
        )


def _clusters(account: str, region: str) -> list[DBCluster]:
    regions = rds_backends.get(account)
    backend = dict.get(regions, region) if regions is not None else None
    return list(backend.clusters.values()) if backend is not None else []


def check_rename(cluster: DBCluster) -> None:
    """AWS: "You can't rename an Aurora DB cluster that's been shared with other AWS accounts"."""
    if shared_with(cluster.db_cluster_arn, cluster.account_id, cluster.region):
        raise InvalidParameterValue(
            f"DB cluster {cluster.db_cluster_identifier} is shared with other AWS accounts through AWS RAM: it can't "
            "be renamed while it is shared."
        )
