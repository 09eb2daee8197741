# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A refresh across AWS accounts: the source in one account (production), the target stack in the run's own.

Across accounts only a snapshot carries the data. In the source account the source's newest snapshot (or the one
named) is copied to a manual snapshot encrypted with a customer managed key that the target account may use (an
automated snapshot, or one under the default aws/rds key, cannot be shared), and shared with the target account;
the target account copies it with the target's own key and restores the clone from its copy; the refresh then goes
on as within one account (by renames or by DNS). Both copies carry one name,
`mitosis-<target account>-<target>-<snapshot>` (a switch by DNS: its stack's primary), and the tag
`mitosis:refresh=<target account>:<target>`, so a resumed run finds each; the clone keeps the tag `mitosis:snapshot`
naming the copy it was restored from, so a later refresh deletes that copy first (unless it is a copy of the very
snapshot it would copy again). An Aurora cluster goes the same way with cluster snapshots. Each copy is deleted
as soon as the next holds the data: the source account's first (a role session chained from the run's credentials
lasts an hour), the target account's once the clone is restored. A copy a run could not delete is deleted by the
next run before anything else.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any, Dict, List, Optional, Tuple

from .aws import EXPIRED_CODES, MitosisError, call, paginate
from .cluster import (ClusterPlan, ClusterPlanner, build_cluster_steps, classify_cluster, cluster_warnings,
                      discover_cluster, validate_cluster, validate_snapshot)
from .dns import DnsPlanner
from .graph import Graph, describe_clusters, describe_instances, discover, ref, temp_name
from .names import (CLEANUP, COPY, COPY_SNAPSHOT, CREATE_SHARE, DELETE_SHARE, DELETE_SNAPSHOT, REFRESH_TAG,
                    SHARE_SNAPSHOT, SNAPSHOT_TAG)
from .planner import InstancePlanner, build_copy, build_steps, classify, plan_names, validate_members
from .plans import (CLONE, POINT_IN_TIME, REPLICA, SNAPSHOT, CloneOptions, Instance, Node, Plan, StepList, TagsOf,
                    discard_or_refuse, fail, newest_snapshot, requested_method, snapshot_reason, validate_credentials,
                    validate_unprotected)
from .policy import partition_of
from .steps import (SNAPSHOT_API, SOURCE_ACCOUNT, TARGET_ACCOUNT, CopySnapshot, DropSnapshot, RamStep, ShareCluster,
                    ShareSnapshot, Unshare, has_tag, resource_share, snapshots_named)

# What the target account needs of the source's copy key to copy the shared snapshot (RDS creates a grant).
KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant")
ACCOUNT_ARN = re.compile(r"arn:aws[a-z-]*:rds:([a-z0-9-]+):([0-9]{12}):(?:db|cluster):(.+)")
DEFAULT_KEY = "alias/aws/rds"


class SourceAccount:
    """The source account's side of a run: its RDS, KMS and RAM clients, its id and the target account's, the key the
    source's copy is encrypted with (`kms_key`, given) and how the run reaches it (`via`, for messages)."""

    def __init__(self, rds: Any, kms: Any, account: str, target_account: str, kms_key: Optional[str] = None,
                 via: str = "", ram: Any = None) -> None:
        self.rds = rds
        self.kms = kms
        self.ram = ram  # AWS RAM, which shares a source cluster for an Aurora clone across accounts
        self.account = account
        self.target_account = target_account
        self.kms_key = kms_key
        self.via = via

    def snapshot_arn(self, region: str, name: str, kind: str = "snapshot") -> str:
        return "arn:{0}:rds:{1}:{2}:{3}:{4}".format(partition_of(region), region, self.account, kind, name)


def source_name(source: str, account: SourceAccount, region: str) -> str:
    """The source's identifier: `source` itself, or the name its ARN holds (in the source account, this region)."""
    match = ACCOUNT_ARN.fullmatch(source or "")
    if not match:
        return source
    where, owner, name = match.groups()
    if owner != account.account:
        fail("source {0} is in account {1}, but the source connection ({2}) reaches account {3}.".format(
            source, owner, account.via, account.account), source, "Pass the role or profile of account {0}.".format(
                owner))
    if where != region:
        fail("source {0} is in region {1}; mitosis.rds refreshes within one region ({2}).".format(
            source, where, region), source)
    return name


def copy_name(target_account: str, target: str, snapshot: str) -> str:
    """The name of both copies of the source's `snapshot` (its identifier or ARN) for this target."""
    stamp = re.sub("[^A-Za-z0-9]+", "-", snapshot.split(":snapshot:")[-1]).strip("-")
    return "mitosis-{0}-{1}-{2}".format(target_account, target, stamp)[:255].rstrip("-")


def key_grants(policy: Dict[str, Any], account: str) -> List[str]:
    """The actions of KEY_ACTIONS that a key policy allows `account` (its root, a principal of it, or everyone);
    conditions are not evaluated."""
    statements = policy.get("Statement") or []
    allowed = []  # type: List[str]
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        named = principal.get("AWS") if isinstance(principal, dict) else principal
        principals = named if isinstance(named, list) else [named]
        if not any(p == "*" or p == account or re.match(r"arn:aws[a-z-]*:iam::{0}:".format(account), str(p))
                   for p in principals):
            continue
        actions = statement.get("Action")
        for action in actions if isinstance(actions, list) else [actions]:
            allowed += [a for a in KEY_ACTIONS if fnmatchcase(a.lower(), str(action).lower())]
    return sorted(set(allowed))


def with_copies(graph: Graph) -> Graph:
    """`graph` (the target account's instances, or its clusters and instances) with room for the source (in its own
    account) and the copies of this refresh in both accounts (`snapshots`: by account, then name), the accounts each
    source copy is shared with, and why the source account could not be read (marking a plan again)."""
    graph.source = None  # type: ignore[attr-defined]
    graph.snapshots = {SOURCE_ACCOUNT: {}, TARGET_ACCOUNT: {}}  # type: ignore[attr-defined]
    graph.shared_with = {}  # type: ignore[attr-defined]
    graph.source_expired = None  # type: ignore[attr-defined]
    return graph


class SharedCopies:
    """What a refresh across accounts adds to a planner of DB instances or of an Aurora cluster (`cluster`): the
    source read in its account, the copies of both accounts, the copy this run restores from, the steps that make
    and share it, and their deletes."""

    cluster = False
    restore_key = "restore:"
    refused_methods = (REPLICA, POINT_IN_TIME, CLONE)  # an Aurora cluster may clone across accounts
    account = None  # type: SourceAccount  # type: ignore[assignment]
    source = ""
    target = ""
    options = CloneOptions()

    @property
    def api(self) -> Dict[str, Any]:
        return SNAPSHOT_API[self.cluster]

    @property
    def stack(self) -> str:
        """The name the copies are named and tagged after: the target (a switch by DNS: its root member's)."""
        return self.target

    @property
    def refresh_tag(self) -> str:
        return "{0}:{1}".format(self.account.target_account, self.stack)

    @property
    def why(self) -> str:
        return ("{0} is in account {1}: across accounts only a snapshot carries the data, copied and shared with "
                "account {2}".format(self.source, self.account.account, self.account.target_account))

    # --- reading ----------------------------------------------------------------------------------------------

    def read_copies(self, graph: Graph, rds: Any, remarking: bool = False) -> Graph:
        """The source and the copies of this refresh, in both accounts. Marking a plan again after its steps ran,
        source account credentials that expired meanwhile leave its copies unknown (its deletes wait for the next
        run) instead of failing the run."""
        with_copies(graph)
        try:
            self.read_source_account(graph)
        except MitosisError as error:
            if not (remarking and error.code in EXPIRED_CODES):
                fail("The source account {0} could not be read through {1}: {2}".format(
                    self.account.account, self.account.via, error.message), self.source,
                    "Check that the role or profile may read the source and its snapshots there (the iam_policy play "
                    "prints the source account's policy).")
            graph.source_expired = error.message  # type: ignore[attr-defined]
        if graph.source is not None or graph.source_expired:  # type: ignore[attr-defined]
            graph.snapshots[TARGET_ACCOUNT] = self.copies(rds)  # type: ignore[attr-defined]
        return graph

    def copies(self, rds: Any) -> Dict[str, Dict[str, Any]]:
        """This target's copies in the account of `rds`, by name."""
        api = self.api
        found = paginate(rds, api["describe"], api["items"], SnapshotType="manual", **{api["owner"]: self.source})
        return {s[api["name"]]: s for s in found if has_tag(s, REFRESH_TAG, self.refresh_tag)}

    def read_source_account(self, graph: Graph) -> None:
        api, rds = self.api, self.account.rds
        described = describe_clusters(rds, [self.source]) if self.cluster else describe_instances(rds, [self.source])
        graph.source = next(iter(described), None)  # type: ignore[attr-defined]
        if graph.source is None:  # type: ignore[attr-defined]
            return  # refused by the check
        graph.snapshots[SOURCE_ACCOUNT] = self.copies(rds)  # type: ignore[attr-defined]
        for name in graph.snapshots[SOURCE_ACCOUNT]:  # type: ignore[attr-defined]
            attributes = call(rds, api["attributes"], name, **{api["name"]: name})[api["result"]][api["values"]]
            graph.shared_with[name] = [value for attribute in attributes  # type: ignore[attr-defined]
                                       if attribute["AttributeName"] == "restore"
                                       for value in attribute.get("AttributeValues") or []]

    # --- checking ---------------------------------------------------------------------------------------------

    def check_source(self, graph: Graph) -> Instance:
        """The source's description in its account; what cannot work across accounts refused."""
        if not self.source or not self.target:
            fail("Both source and target are required.")
        src = getattr(graph, "source", None)
        what = "cluster" if self.cluster else "instance"
        if src is None:
            fail("Source {0} {1} was not found in account {2} (reached through {3}), region {4}.".format(
                what, self.source, self.account.account, self.account.via, graph.region), self.source,
                "Check the identifier, and that the source connection is the source's account.")
        requested = requested_method(self.options, self.source)
        if requested in self.refused_methods:
            fail("copy_method={0} cannot work across accounts: {4} need the source in the target's account ({1}); {2} "
                 "is in account {3}.".format(requested, self.account.target_account, self.source, self.account.account,
                                             "a read replica and a point-in-time restore" if self.cluster else
                                             "a read replica, a point-in-time restore and an Aurora clone"),
                 self.source,
                 "Use copy_method=auto or snapshot: a snapshot of {0}, copied and shared with account {1}.".format(
                     self.source, self.account.target_account))
        return src

    # --- building ---------------------------------------------------------------------------------------------

    def copy_steps(self, built: StepList, graph: Graph, root: Node, phase: str,
                   discard: bool) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
        """The deletes of earlier copies, then (while the clone is still to be restored) the copy in the source
        account, its share and the target account's copy; the name of the copy the restore reads (None once the
        swap has begun) and the source's snapshot it copies (when still to be copied)."""
        name, picked = self.current_copy(graph, root, phase, discard)
        for account, copies in sorted(graph.snapshots.items()):  # type: ignore[attr-defined]
            for leftover in sorted(set(copies) - {name}):
                step = built.add(DropSnapshot, "drop-snapshot:{0}:{1}".format(account, leftover),
                                 COPY if phase == COPY else CLEANUP, self.api_action(DELETE_SNAPSHOT), leftover,
                                 {self.api["name"]: leftover}, root.name, [], self.cluster)
                step.account = account
        if name and phase == COPY and (root.temp is None or discard):
            self.share_steps(built, graph, root, name, picked)
        # The clone's tags name the copy it is restored from (beside a switch by DNS's generation).
        root.clone_tags = [t for t in getattr(root, "clone_tags", []) if t["Key"] != SNAPSHOT_TAG] + (  # type: ignore
            [{"Key": SNAPSHOT_TAG, "Value": name}] if name else [])
        return name, picked

    def api_action(self, action: str) -> str:
        """The DB snapshot call's name, or the Aurora cluster snapshot's."""
        return action.replace("DBSnapshot", "DBClusterSnapshot") if self.cluster else action

    def clone_ref(self, root: Node) -> str:
        """The clone the copies are restored into (its ref in the live state)."""
        return ref(temp_name(root.name), self.cluster)

    def current_copy(self, graph: Graph, root: Node, phase: str,
                     discard: bool) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
        """The copy this run restores from (None once the swap has begun) and, when still to be made, the source's
        snapshot it copies."""
        if phase != COPY:
            return None, None
        if root.temp is not None and not discard:
            return next((t["Value"] for t in root.temp.get("TagList") or [] if t["Key"] == SNAPSHOT_TAG), None), None
        # An earlier refresh's copy (named by a tag of the target's) is never this one's; an unfinished run's is.
        consumed = {t["Value"] for inst in (root.current, root.old) for t in (inst or {}).get("TagList") or []
                    if t["Key"] == SNAPSHOT_TAG}
        named = self.options.snapshot_identifier
        snapshots = graph.snapshots  # type: ignore[attr-defined]
        candidates = [] if discard else [
            copy for account in (TARGET_ACCOUNT, SOURCE_ACCOUNT) for name, copy in snapshots[account].items()
            if name not in consumed and copy.get("Status") not in ("deleting", "failed") and (
                not named or name == copy_name(self.account.target_account, self.stack, named))]
        if candidates:
            return max(candidates, key=lambda s: str(s.get("SnapshotCreateTime") or ""))[self.api["name"]], None
        picked = self.pick()
        return copy_name(self.account.target_account, self.stack, picked[self.api["name"]]), picked

    def pick(self) -> Dict[str, Any]:
        """The source account's snapshot to copy: the one named (by name or ARN), or the source's newest."""
        named, api = self.options.snapshot_identifier, self.api
        if named:
            found = snapshots_named(self.account.rds, named, self.cluster)
        else:
            found = [s for s in paginate(self.account.rds, api["describe"], api["items"], **{api["owner"]: self.source})
                     if not has_tag(s, REFRESH_TAG)]
        where = "in account {0}".format(self.account.account)
        if named and not found:
            fail("Snapshot {0} was not found {1}.".format(named, where), self.source,
                 "Name a snapshot of the source account (its name or ARN), or leave snapshot_identifier out for the "
                 "newest snapshot of {0}.".format(self.source))
        snapshot = found[0] if named else newest_snapshot(found)
        if snapshot is None or snapshot.get("Status") != "available":
            fail("No available snapshot of {0} {1} to copy.".format(self.source, where) if snapshot is None else
                 "Snapshot {0} is {1}, not available.".format(named, snapshot.get("Status")), self.source,
                 "Enable automated backups on {0}, or create a snapshot (aws rds create-db-{1}snapshot), then run "
                 "again.".format(self.source, "cluster-" if self.cluster else ""))
        return snapshot

    def share_steps(self, built: StepList, graph: Graph, root: Node, name: str,
                    picked: Optional[Dict[str, Any]]) -> None:
        """The copy in the source account, its share, the target account's copy: each from what it needs."""
        api, clone, cluster = self.api, self.clone_ref(root), self.cluster
        region = graph.region or ""
        source_key, target_key = self.keys(root, picked)
        after = [s.key for s in built.steps]
        tags = [{"Key": REFRESH_TAG, "Value": self.refresh_tag}]
        params = {api["source"]: (picked or {}).get(api["name"]) or name, api["target"]: name, "Tags": tags,
                  "Clone": clone}
        if source_key:
            params.update(KmsKeyId=source_key, Keys=[(picked or {}).get("KmsKeyId")] if picked else [])
        out = built.add(CopySnapshot, "copy-out:" + root.name, COPY, self.api_action(COPY_SNAPSHOT), name, params,
                        root.name, after, cluster)
        out.account = SOURCE_ACCOUNT
        share = built.add(ShareSnapshot, "share:" + root.name, COPY, self.api_action(SHARE_SNAPSHOT), name,
                          {"AttributeName": "restore", "ValuesToAdd": [self.account.target_account], "Clone": clone},
                          root.name, [out.key], cluster)
        share.account = SOURCE_ACCOUNT
        params = {api["source"]: self.account.snapshot_arn(region, name, api["arn"]), api["target"]: name,
                  "Tags": tags, "Clone": clone}
        if target_key:
            params.update(KmsKeyId=target_key, Keys=[source_key] if source_key else [])
        built.add(CopySnapshot, "copy-in:" + root.name, COPY, self.api_action(COPY_SNAPSHOT), name, params,
                  root.name, [share.key], cluster)

    def drop_steps(self, built: StepList, graph: Graph, root: Node, name: Optional[str], phase: str,
                   discard: bool) -> None:
        """The deletes of this run's copies once the next one holds the data."""
        if not name or phase != COPY:
            return
        copying = root.temp is None or discard
        clone, snapshots = self.clone_ref(root), graph.snapshots  # type: ignore[attr-defined]
        if copying or name in snapshots[SOURCE_ACCOUNT]:
            release = built.add(DropSnapshot, "release:" + root.name, COPY, self.api_action(DELETE_SNAPSHOT), name,
                                {"Received": name, "Clone": clone}, root.name,
                                ["copy-in:" + root.name] if copying else [], self.cluster)
            release.account = SOURCE_ACCOUNT
        if copying or name in snapshots[TARGET_ACCOUNT]:
            built.add(DropSnapshot, "drop-copy:" + root.name, COPY, self.api_action(DELETE_SNAPSHOT), name,
                      {"Clone": clone}, root.name, [self.restore_key + root.name], self.cluster)

    def keys(self, root: Node, picked: Optional[Dict[str, Any]]) -> Tuple[str, str]:
        """The key of the source account's copy (a customer managed key the target account may use) and of the
        target account's (the target's own), each checked before any change; "" for an unencrypted copy."""
        target = root.original or {}
        target_key = target.get("KmsKeyId") or "" if target.get("StorageEncrypted") else ""
        if not picked or not (picked.get("Encrypted") or picked.get("StorageEncrypted")):
            return "", target_key
        snapshot = picked[self.api["name"]]
        if not target_key:
            fail("{0} is encrypted and the target {1} is not: a restore of an encrypted snapshot is encrypted, so "
                 "the clone could not keep {1}'s attributes.".format(snapshot, root.name), root.name,
                 "Refresh an encrypted target, or from an unencrypted source.")
        given = self.account.kms_key
        key = describe_key(self.account.kms, given or picked["KmsKeyId"], self.account)
        named = given or key["Arn"]
        if key.get("KeyManager") == "AWS":
            fail("{0} is encrypted with the AWS managed key {1} ({2}), and a snapshot under it cannot be shared with "
                 "another account.".format(snapshot, key["Arn"], DEFAULT_KEY), self.source,
                 "Pass source_kms_key: a customer managed key of account {0} whose key policy lets account {1} use it "
                 "({2}); the copy to share is encrypted with it.".format(
                     self.account.account, self.account.target_account, ", ".join(KEY_ACTIONS)))
        if key.get("KeyState") != "Enabled":
            fail("The key {0} is {1}.".format(named, key.get("KeyState")), self.source,
                 "Enable it, or pass another source_kms_key.")
        policy = json.loads(call(self.account.kms, "GetKeyPolicy", named, KeyId=key["Arn"],
                                 PolicyName="default")["Policy"])
        missing = [a for a in KEY_ACTIONS if a not in key_grants(policy, self.account.target_account)]
        if missing:
            fail("The key policy of {0} does not let account {1} use it ({2} not allowed): the target account could "
                 "not copy the shared snapshot.".format(named, self.account.target_account, ", ".join(missing)),
                 self.source, "Add a statement allowing arn:aws:iam::{0}:root {1} on the key (aws kms put-key-policy), "
                 "or pass a source_kms_key that does.".format(self.account.target_account, ", ".join(KEY_ACTIONS)))
        return key["Arn"], target_key


class CrossAccountPlanner(SharedCopies, InstancePlanner):
    """The refresh of the graph rooted at `target` (a DB instance of the run's account) with the data of `source`, a
    DB instance of another account (`account`), through a shared snapshot."""

    def __init__(self, source: str, target: str, account: SourceAccount, options: Optional[CloneOptions] = None,
                 tags_of: Optional[TagsOf] = None) -> None:
        InstancePlanner.__init__(self, source, target, options, tags_of)
        self.account = account

    def read(self, rds: Any) -> Graph:
        return self.read_copies(discover(rds, "", self.target, rds.meta.region_name), rds)

    def read_plan(self, rds: Any, plan: Plan) -> Graph:
        return self.read_copies(Graph(describe_instances(rds, plan_names("", plan.node_names())),
                                      rds.meta.region_name), rds, remarking=True)

    def check(self, graph: Graph, nodes: List[Node]) -> None:
        src = self.check_source(graph)
        validate_members(graph, self.source, src, self.target, nodes, None)
        validate_unprotected(nodes, self.options.protected_tag)

    def classify(self, graph: Graph, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
        # The clone is restored: it replicates from nothing.
        return classify(graph, "", nodes, previous_resource_ids)

    def build(self, graph: Graph, nodes: List[Node], phase: str) -> Plan:
        options, root = self.options, nodes[0]
        discard, notes = discard_or_refuse(phase, self.target, [n.temp for n in nodes if n.temp is not None], options)
        warnings = validate_credentials(nodes, self.source, options) + notes
        built = StepList()
        name, picked = self.copy_steps(built, graph, root, phase, discard)
        snapshot = {"DBSnapshotIdentifier": name or "(already restored)"}
        steps = build_steps(self.source, nodes, self.tags_of, snapshot, phase, SNAPSHOT, options, discard, built)
        self.drop_steps(built, graph, root, name, phase, discard)
        if picked:
            snapshot["SourceDBSnapshotIdentifier"] = picked["DBSnapshotIdentifier"]
        return Plan(self.source, self.target, steps, nodes, SNAPSHOT, phase, snapshot, self.why, warnings,
                    discard=options.discard_clone)

    def handed(self, steps: List[Dict[str, Any]]) -> Plan:
        plan = InstancePlanner.handed(self, steps)
        plan.mode = SNAPSHOT
        return plan


class CrossAccountClusterPlanner(SharedCopies, ClusterPlanner):
    """The refresh of the Aurora cluster `target` (of the run's account) with the data of the cluster `source` of
    another account (`account`): an Aurora clone of it shared through AWS RAM where AWS allows one (at most one such
    clone of a cluster per account, none of a cluster under the AWS managed key), else a shared cluster snapshot."""

    cluster = True
    restore_key = "restore-cluster:"
    refused_methods = (REPLICA, POINT_IN_TIME)

    def __init__(self, source: str, target: str, account: SourceAccount, options: Optional[CloneOptions] = None,
                 tags_of: Optional[TagsOf] = None) -> None:
        ClusterPlanner.__init__(self, source, target, options, tags_of)
        self.account = account

    @property
    def share_name(self) -> str:
        return "mitosis-{0}-{1}".format(self.account.target_account, self.target)

    def read(self, rds: Any) -> Graph:
        return self.read_copies(discover_cluster(rds, "", self.target, rds.meta.region_name), rds)

    def read_plan(self, rds: Any, plan: Plan) -> Graph:
        return self.read_copies(ClusterPlanner.read_plan(self, rds, plan), rds, remarking=True)

    def read_source_account(self, graph: Graph) -> None:
        SharedCopies.read_source_account(self, graph)
        share = resource_share(self.account.ram, self.share_name) if self.account.ram is not None else None
        graph.ram_shares = {self.share_name: share} if share else {}  # type: ignore[attr-defined]

    def check(self, graph: Graph, nodes: List[Node]) -> None:
        src = self.check_source(graph)
        self.source_cluster = validate_cluster(graph, self.source, self.target, nodes[0], nodes[1:], src)
        validate_unprotected(nodes, self.options.protected_tag)

    def classify(self, graph: Graph, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
        return classify_cluster(graph, "", nodes[0], nodes[1:], previous_resource_ids)

    def clone_or_why_not(self, graph: Graph, cluster: Node, discard: bool) -> Tuple[bool, str]:
        """Whether this refresh clones the source through AWS RAM, and why (or why it copies a snapshot)."""
        src = getattr(graph, "source", None) or {}
        group = src.get("CloneGroupId")
        if cluster.temp is not None and not discard:
            # An earlier run's copy goes on as it began.
            cloned = bool(group) and cluster.temp.get("CloneGroupId") == group
            return cloned, ("{0} is already an Aurora clone of {1}, made by an earlier run" if cloned else
                            "{0} is already restored from a snapshot of {1}, by an earlier run").format(
                                temp_name(cluster.name), self.source)
        if requested_method(self.options, self.source) == SNAPSHOT:
            return False, snapshot_reason(self.options)
        earlier = next((c for c in (cluster.current, cluster.old) if c and group and c.get("CloneGroupId") == group),
                       None)
        cannot = None
        if earlier is not None:
            cannot = ("{0} is an Aurora clone of {1} already, and AWS allows one clone of a cluster across accounts "
                      "per account: a snapshot this time (the next refresh, once {0} is retired, clones again)".format(
                          earlier["DBClusterIdentifier"], self.source))
        elif src.get("StorageEncrypted") and describe_key(
                self.account.kms, src.get("KmsKeyId") or DEFAULT_KEY, self.account).get("KeyManager") == "AWS":
            cannot = "{0} is encrypted with the AWS managed key {1}, which no Aurora clone across accounts may use " \
                     "(a snapshot copied with source_kms_key can be shared)".format(self.source, DEFAULT_KEY)
        elif self.account.ram is None:
            cannot = "no AWS RAM client for the source account"
        if cannot and requested_method(self.options, self.source) == CLONE:
            fail("copy_method=clone cannot work across accounts: {0}.".format(cannot), self.source,
                 "Use copy_method=auto (or snapshot): a cluster snapshot, copied and shared with account {0}.".format(
                     self.account.target_account))
        if cannot:
            return False, cannot
        return True, ("{0} is in account {1}: an Aurora clone of it (copy-on-write, minutes whatever its size), shared "
                      "with account {2} through AWS RAM; at most one per cluster and account, so the next refresh, "
                      "while this clone is {3}, copies a snapshot".format(
                          self.source, self.account.account, self.account.target_account, self.target))

    def build(self, graph: Graph, nodes: List[Node], phase: str) -> Plan:
        options, cluster, members = self.options, nodes[0], nodes[1:]
        discard, notes = discard_or_refuse(phase, self.target, [n.temp for n in nodes if n.temp is not None], options)
        warnings = validate_credentials([cluster], self.source, options) + cluster_warnings(cluster) + notes
        cloned, why = self.clone_or_why_not(graph, cluster, discard) if phase == COPY else (False, "")
        built = StepList()
        if cloned:
            return self.build_clone(graph, nodes, phase, discard, built, why, warnings)
        self.leftover_share(built, graph, cluster, phase)
        name, picked = self.copy_steps(built, graph, cluster, phase, discard)
        if picked:
            validate_snapshot(picked, cluster.original or {})
        snapshot = {"DBClusterSnapshotIdentifier": name or "(already restored)"}
        if picked and picked.get("EngineVersion"):
            snapshot["EngineVersion"] = picked["EngineVersion"]
        steps = build_cluster_steps(self.source, cluster, members, self.tags_of, snapshot, phase, SNAPSHOT, options,
                                    discard, built)
        self.drop_steps(built, graph, cluster, name, phase, discard)
        if why:
            why = "{0} is in account {1}: a cluster snapshot of it, copied and shared with account {2}, since {3}".format(
                self.source, self.account.account, self.account.target_account, why)
        return ClusterPlan(self.source, self.target, steps, members, SNAPSHOT, phase, snapshot, why or self.why,
                           warnings, discard=options.discard_clone)

    def build_clone(self, graph: Graph, nodes: List[Node], phase: str, discard: bool, built: StepList, why: str,
                    warnings: List[str]) -> Plan:
        """The share of the source cluster through AWS RAM, the clone, its instances, ... and the share's delete once
        the clone exists (it stays)."""
        cluster, members = nodes[0], nodes[1:]
        src_arn = graph.source["DBClusterArn"]  # type: ignore[attr-defined]
        clone = ref(temp_name(cluster.name), True)
        for account, copies in sorted(graph.snapshots.items()):  # type: ignore[attr-defined]
            for leftover in sorted(copies):
                step = built.add(DropSnapshot, "drop-snapshot:{0}:{1}".format(account, leftover), COPY,
                                 self.api_action(DELETE_SNAPSHOT), leftover, {self.api["name"]: leftover}, cluster.name,
                                 [], True)
                step.account = account
        if cluster.temp is None or discard:
            share = built.add(ShareCluster, "share-cluster:" + cluster.name, COPY, CREATE_SHARE, self.share_name,
                              {"name": self.share_name, "resourceArns": [src_arn],
                               "principals": [self.account.target_account], "allowExternalPrincipals": True,
                               "Clone": clone}, cluster.name, [s.key for s in built.steps], True)
            share.account = SOURCE_ACCOUNT
        steps = build_cluster_steps(src_arn, cluster, members, self.tags_of, None, phase, CLONE, self.options,
                                    discard, built)
        unshare = built.add(Unshare, "unshare-cluster:" + cluster.name, COPY, DELETE_SHARE, self.share_name,
                            {"Clone": clone}, cluster.name, [self.restore_key + cluster.name], True)
        unshare.account = SOURCE_ACCOUNT
        return ClusterPlan(self.source, self.target, steps, members, CLONE, phase, None, why, warnings,
                           discard=self.options.discard_clone)

    def leftover_share(self, built: StepList, graph: Graph, cluster: Node, phase: str) -> None:
        """A share an earlier run could not delete goes first."""
        if self.share_name in (getattr(graph, "ram_shares", None) or {}):
            step = built.add(Unshare, "unshare-cluster:" + cluster.name, COPY if phase == COPY else CLEANUP,
                             DELETE_SHARE, self.share_name, {}, cluster.name, [], True)
            step.account = SOURCE_ACCOUNT

    def mark(self, plan: Plan, graph: Graph, nodes: List[Node], phase: str) -> None:
        for step in plan.steps:
            if isinstance(step, RamStep):
                step.ram = self.account.ram
        ClusterPlanner.mark(self, plan, graph, nodes, phase)

    def handed(self, steps: List[Dict[str, Any]]) -> Plan:
        name = self.source
        plan = ClusterPlanner.handed(self, steps)
        self.source = plan.source = name  # a clone names its source by ARN
        if not any(s.kind == ShareCluster.kind or s.kind == Unshare.kind and "Clone" in s.params
                   for s in plan.steps):
            plan.mode = SNAPSHOT
        return plan


class CrossAccountDnsPlanner(SharedCopies, DnsPlanner):
    """A switch by DNS of the stack behind a Route 53 zone's records (of the run's account) to a clone of `source`, a
    DB instance of another account (`account`), restored from a shared snapshot into the other generation."""

    def __init__(self, source: str, target: str, account: SourceAccount, options: Optional[CloneOptions] = None,
                 tags_of: Optional[TagsOf] = None, route53: Any = None) -> None:
        DnsPlanner.__init__(self, source, target, options, tags_of, None, route53)
        self.account = account

    def read(self, rds: Any) -> Graph:
        return self.read_copies(DnsPlanner.read(self, rds), rds)

    def read_plan(self, rds: Any, plan: Plan) -> Graph:
        return self.read_copies(DnsPlanner.read_plan(self, rds, plan), rds, remarking=True)

    def check(self, graph: Graph, nodes: List[Node]) -> None:
        self.source_instance = self.check_source(graph)
        DnsPlanner.check(self, graph, nodes)

    def check_members(self, graph: Graph, root: str, nodes: List[Node]) -> None:
        validate_members(graph, self.source, self.source_instance, root, nodes, None)

    @property
    def stack(self) -> str:
        return self.base

    def clone_ref(self, root: Node) -> str:
        return root.clone_name  # type: ignore[attr-defined]  # the other generation

    def copy(self, built: StepList, graph: Graph, nodes: List[Node], phase: str,
             discard: bool) -> Tuple[str, str, Optional[Dict[str, Any]]]:
        root = nodes[0]
        name, picked = self.copy_steps(built, graph, root, phase, discard)
        snapshot = {"DBSnapshotIdentifier": name or "(already restored)"}
        build_copy(self.source, nodes, self.tags_of, snapshot, phase, SNAPSHOT, self.options, discard, built)
        self.drop_steps(built, graph, root, name, phase, discard)
        if picked:
            snapshot["SourceDBSnapshotIdentifier"] = picked["DBSnapshotIdentifier"]
        return SNAPSHOT, self.why, snapshot


def describe_key(kms: Any, key: str, account: SourceAccount) -> Dict[str, Any]:
    """The KMS key `key` (id, ARN or alias) of the source account; a clear error when it is not there."""
    try:
        return call(kms, "DescribeKey", key, KeyId=key)["KeyMetadata"]
    except MitosisError as error:
        if error.code != "NotFoundException":
            raise
        fail("The KMS key {0} was not found in account {1}.".format(key, account.account), key,
             "Pass source_kms_key as the key's ARN, id or alias (alias/...) in the source account.")


def cross_account_plan_of(steps: List[Dict[str, Any]]) -> bool:
    """A plan handed back is a refresh across accounts: a step of it acts in the source account."""
    return any(step.get("account") == SOURCE_ACCOUNT for step in steps)
