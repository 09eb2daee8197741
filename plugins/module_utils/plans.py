# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every plan shares, whichever planner made it (a graph of DB instances, an Aurora cluster, a rollback).

A planner discovers the live state, validates it, builds the steps and marks each one pending or done from the
live state; the same planner marks a plan again before it is applied. The checks the planners share (names too
long for the prefixes, leftovers of another run, a graph that changed since the plan was made) are here, with
the options of a refresh, the plan itself, how its steps are built and its flight plan.
"""

from __future__ import annotations

import textwrap
from typing import Any, Callable, Dict, List, NoReturn, Optional, Tuple

from .aws import MitosisError
from .credentials import PASSWORD_PLACEHOLDER, managed_secret, validate_password
from .graph import (OLD, PREFIXES, REJECTED, TEMP, Graph, arn_of, created_of, identifier_of, name_forms, old_name,
                    ref, rejected_name, resource_id_of, status_of, temp_name)
from .masking import dialect_of, rules_digest
from .names import (CLEANUP, COPY, CREDENTIALS_TAG, GENERATION_TAG, LOCK_TAG_PREFIX, MASK_ACTION, MASK_CHECK_ACTION,
                    MASK_REQUIRED, MASK_TAG, MASKED_TAG, MODIFY, OWN_TAG_PREFIX, PENDING, PREPARE, PREPARE_ACTION,
                    PREPARE_REQUIRED, PREPARE_TAG, PREPARED_TAG, PROTECTED_TAG, ROLLBACK, SNAPSHOT_TAG, SWAP,
                    SWITCHED_TAG, TAG, UNTAG)
from .steps import (Discard, ManageSecret, Marking, Mask, MaskCheck, MaskLogin, Modify, Password, Prepare, Step, Tag,
                    Untag, Words, has_tag, mark_steps)

MAX_IDENTIFIER = 63
# The run's tags that stay on the refreshed stack (swap_method=dns): a clone's generation, and on its primary the
# switch that put it live (its value names the generation the records left, so an older one is never mistaken for a
# later switch's); across accounts, on the primary, the copy it was restored from.
DURABLE_TAGS = [GENERATION_TAG, SWITCHED_TAG, SNAPSHOT_TAG]
# The flight plan fits a terminal of 100 columns (Ansible's default output adds its own indent and quotes).
FLIGHT_PLAN_WIDTH = 96
DETAIL_INDENT = " " * 10
# How the new primary gets the source's data; a rollback plan's mode is ROLLBACK.
AUTO, REPLICA, POINT_IN_TIME, SNAPSHOT = "auto", "replica", "point_in_time", "snapshot"
CLONE = "clone"  # Aurora's copy-on-write clone (cluster.py)
# How the clone takes the target's place: renames (X moves aside, temp-X takes its name) or a Route 53 switch.
RENAME, DNS = "rename", "dns"
SWAP_METHODS = (RENAME, DNS)
COPY_METHODS = (AUTO, REPLICA, CLONE, POINT_IN_TIME, SNAPSHOT)
# What waits for the caller's prepare step while it is pending.
AFTER_PREPARE = (PREPARE, SWAP, CLEANUP)
Instance = Dict[str, Any]  # one DescribeDBInstances (or DescribeDBClusters) entry
TagsOf = Callable[[Dict[str, Any]], List[Dict[str, str]]]
SnapshotsOf = Callable[[str, Optional[str]], List[Dict[str, Any]]]

# A refresh's clone takes each name; its cleanup deletes the old-* instances.
REFRESH_WORDS = Words("the clone is complete: {0} is a new instance", "the clone", OLD, "the swap finished")
ROLLBACK_WORDS = Words("the rollback is complete: {0} is the original instance again", "the original instance",
                       REJECTED)


def fail(message: str, identifier: Optional[str] = None, hint: Optional[str] = None) -> NoReturn:
    """A planning error: raised before any change."""
    raise MitosisError(message, operation="plan", identifier=identifier, hint=hint)


class Node:
    """One node X of the target graph and the instances that hold its three names."""

    def __init__(self, name: str, parent: Optional[str], graph: Graph) -> None:
        self.name = name
        self.parent = parent
        self.children = []  # type: List[str]
        self.current = graph.get(name)
        self.temp = graph.get(temp_name(name))
        self.old = graph.get(old_name(name))
        self.rejected = graph.get(rejected_name(name))

    @property
    def original(self) -> Optional[Instance]:
        """The description the clone copies attributes from (the old graph's instance once moved)."""
        return self.old or self.current or self.temp


class CloneOptions:
    """What the caller asked for beyond source and target (module options of the same names).

    `password` is the clone's new master password (given, or read from `master_password_secret`): it is only
    validated here and never written into a step; `password_source` says where it comes from, for the plan."""

    def __init__(self, copy_method: str = AUTO, restore_snapshot: bool = False,
                 snapshot_identifier: Optional[str] = None, password: Optional[str] = None,
                 password_source: Optional[str] = None, prepare: bool = False, final_snapshot: bool = False,
                 protected_tag: Tuple[str, str] = (PROTECTED_TAG, "true"), rollback: bool = False,
                 discard_clone: bool = False, mask_rules: Optional[Dict[str, Any]] = None,
                 swap_method: str = RENAME, dns_zone: Optional[str] = None, keep_previous: bool = False,
                 dns_create: bool = False) -> None:
        self.copy_method = copy_method
        self.restore_snapshot = restore_snapshot
        self.snapshot_identifier = snapshot_identifier
        self.password = password
        self.password_source = password_source
        self.prepare = prepare
        self.final_snapshot = final_snapshot
        self.protected_tag = protected_tag
        self.rollback = rollback  # plan the rollback of the target's refresh instead of a clone
        self.discard_clone = discard_clone  # delete an earlier run's temp-* clones and copy again
        self.mask_rules = mask_rules  # checked rules (masking.check_rules): mask the clone before backups and replicas
        self.swap_method = swap_method  # rename the instances, or move the Route 53 records of `dns_zone` (dns.py)
        self.dns_zone = dns_zone
        self.keep_previous = keep_previous  # dns: keep the generation the switch left behind, for a way back
        self.dns_create = dns_create  # dns: create the stack's records when none points at it yet


def requested_method(options: CloneOptions, source: str) -> str:
    """copy_method, made SNAPSHOT by restore_snapshot or snapshot_identifier (which contradict any other)."""
    requested = options.copy_method
    for flag, given in (("restore_snapshot", options.restore_snapshot),
                        ("snapshot_identifier", options.snapshot_identifier)):
        if given and requested not in (AUTO, SNAPSHOT):
            fail("{0} asks for a snapshot restore, which contradicts copy_method={1}.".format(flag, requested),
                 source, "Leave out one of the two.")
        if given:
            requested = SNAPSHOT
    return requested


def snapshot_reason(options: CloneOptions) -> str:
    if options.snapshot_identifier:
        return "snapshot_identifier names the snapshot"
    return "restore_snapshot is set" if options.restore_snapshot else "copy_method=snapshot"


def newest_snapshot(snapshots: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    available = [s for s in snapshots if s.get("Status") == "available"]
    if not available:
        return None
    return max(available, key=lambda s: str(s.get("SnapshotCreateTime") or ""))


def pick_snapshot(source: str, options: CloneOptions, why: str,
                  snapshots_of: Callable[[str, Optional[str]], List[Dict[str, Any]]],
                  cluster: bool = False) -> Dict[str, Any]:
    """The snapshot (of an Aurora cluster: the cluster snapshot) to restore: the one named, or the newest available
    one of the source."""
    what, key, cli = ("Cluster snapshot", "DBClusterSnapshotIdentifier", "db-cluster") if cluster else \
        ("Snapshot", "DBSnapshotIdentifier", "db")
    named = options.snapshot_identifier
    found = snapshots_of(source, named)
    if named:
        if not found:
            fail("{0} {1} was not found.".format(what, named), source,
                 "Check the name (or ARN) with aws rds describe-{0}-snapshots --{0}-snapshot-identifier {1}.".format(
                     cli, named))
        if found[0].get("Status") != "available":
            fail("{0} {1} is {2}, not available.".format(what, named, found[0].get("Status")), source,
                 "Wait until it is available, or name another snapshot.")
        return dict(found[0], **{key: named})
    snapshot = newest_snapshot(found)
    if snapshot is None:
        fail("No available {0} of {1} to restore from ({2}).".format(what.lower(), source, why), source,
             "Create one (aws rds create-{0}-snapshot --{1}-identifier {2} ...) or wait for the next automated "
             "backup, then run again.".format(cli, "db-cluster" if cluster else "db-instance", source))
    return snapshot


def validate_source(source: str, target: str, found: Optional[Instance], what: str, replaced: str,
                    region: Optional[str]) -> None:
    """The source (`what`: an instance, a cluster) is not the target, and it exists."""
    if source == target:
        fail("Source and target are the same {0} ({1}).".format(what, source), source,
             "The target is the {0} that gets replaced: pick a different one.".format(replaced))
    if found is None:
        fail("Source {0} {1} was not found in region {2}.".format(what, source, region), source,
             "Check the identifier and the region/credentials you use.")


def validate_names(nodes: List[Node]) -> None:
    for node in nodes:
        for prefix in PREFIXES:
            if node.name.startswith(prefix):
                fail("Target graph member {0} starts with '{1}', which mitosis.rds reserves for clones and "
                     "retired instances.".format(node.name, prefix), node.name,
                     "Rename it (or delete it if it is a leftover of an earlier run) before cloning.")
        longest = max(len(temp_name(node.name)), len(old_name(node.name)))
        if longest > MAX_IDENTIFIER:
            fail("{0} is too long to clone: with the '{1}' prefix it would have {2} characters and RDS allows {3}."
                 .format(node.name, TEMP, longest, MAX_IDENTIFIER), node.name,
                 "Shorten the instance identifier to at most {0} characters.".format(MAX_IDENTIFIER - len(TEMP)))


def validate_unprotected(nodes: List[Node], protected_tag: Tuple[str, str]) -> None:
    """A target graph member tagged as protected (production, a customer's stack) is never replaced."""
    key, value = protected_tag
    for node in nodes:
        for inst in (node.current, node.old):
            tags = {t.get("Key"): str(t.get("Value", "")) for t in (inst or {}).get("TagList") or []}
            if key in tags and tags[key].lower() == value.lower():
                name = identifier_of(inst)
                fail("Target member {0} carries the tag {1}={2}: its graph is protected and is never replaced."
                     .format(name, key, tags[key]), name,
                     "Check the target: if this stack may really be refreshed, remove the tag first "
                     "(aws rds remove-tags-from-resource --resource-name {0} --tag-keys {1}).".format(
                         arn_of(inst), key))


def validate_credentials(nodes: List[Node], source: str, options: CloneOptions) -> List[str]:
    """Checks of the clone's credentials before any change; returns the warnings for the flight plan."""
    root = nodes[0].original or {}
    if managed_secret(root) is not None:
        if options.password_source:
            fail("{0} manages its master password in Secrets Manager, so its clone gets a managed secret of its own; "
                 "{1} cannot apply.".format(nodes[0].name, options.password_source.split(" ")[0]), nodes[0].name,
                 "Leave it out: the application reads the clone's new secret, whose ARN the summary names.")
        return []
    if options.password_source:
        if options.password is not None:
            validate_password(root.get("Engine") or "", options.password, options.password_source)
        return []
    return ["The clone keeps {0}'s master password: {1} (every instance of the clone) will accept {0}'s master "
            "credentials. Set master_password or master_password_secret to give it the password its application "
            "knows.".format(source, nodes[0].name)]


def mask_params(node: Node, options: CloneOptions) -> Optional[Dict[str, Any]]:
    """The masking steps' parameters (engine, database, rules), or None without rules; checked before any change."""
    rules = options.mask_rules
    if not rules:
        return None
    desc = node.original or {}
    engine = desc.get("Engine") or ""
    dialect_of(engine)
    if not options.password_source and managed_secret(desc) is None:
        fail("mask_rules: the masking logs in to the clone as its master user, and this run does not know that "
             "password: the clone would keep the source's.", node.name,
             "Pass master_password or master_password_secret (the clone gets it before the masking), or let Secrets "
             "Manager manage {0}'s master password (the run then masks with a temporary one).".format(node.name))
    database = rules.get("database") or desc.get("DBName") or desc.get("DatabaseName") or (
        "postgres" if "postgres" in engine else None)
    if not database:
        fail("mask_rules: {0} names no database (DBName) and the rules none either.".format(node.name), node.name,
             "Add `database: <name>` to the rules file.")
    return {"Engine": engine, "Database": database, "Rules": rules}


def discard_or_refuse(phase: str, target: str, clones: List[Instance], options: CloneOptions) -> Tuple[bool, List[str]]:
    """Whether this run deletes the temp-* clones an earlier run copied (`clones`, the copy's root first) to copy
    again, with the flight plan's words for it. A clone copied for a prepare step that has not succeeded goes live
    only after that step: a run without one is refused, before any change."""
    if phase != COPY:
        if options.discard_clone:
            return False, ["discard_clone does not apply: the swap of {0} has started, so no clone is deleted and the "
                           "refresh goes on from where it stopped.".format(target)]
        return False, []
    if not clones:
        return False, []
    names = ", ".join(identifier_of(c) for c in clones)
    if options.discard_clone:
        return True, ["discard_clone: {0} (copies an earlier run made for {1}) are deleted, and the copy starts "
                      "over.".format(names, target)]
    root = identifier_of(clones[0])
    unmasked = has_tag(clones[0], MASK_TAG, MASK_REQUIRED) and not has_tag(clones[0], MASKED_TAG)
    if unmasked and not options.mask_rules:
        fail("{0} was copied by a run with masking rules that have not been applied to it (tag {1}={2}, no tag {3}): "
             "it holds the source's personal data unmasked, and this run has no mask_rules, so it would put that data "
             "live under the names of {4}. Nothing was changed.".format(root, MASK_TAG, MASK_REQUIRED, MASKED_TAG,
                                                                        target), root,
             "Run again with the rules (-e mask_rules=<file>, mitosis_mask_rules in the role): they mask {0}, then "
             "the refresh goes on. Or start the copy over with -e discard_clone=true (mitosis_discard_clone): it "
             "deletes only the temp-* clones of {1} ({2}) and copies again.".format(root, target, names))
    unprepared = has_tag(clones[0], PREPARE_TAG, PREPARE_REQUIRED) and not has_tag(clones[0], PREPARED_TAG)
    if unprepared and not options.prepare:
        fail("{0} was copied by a run with a prepare step (tag {1}={2}) that has not succeeded on it (no tag {3}): it "
             "holds the source's data unprepared, and this run has no prepare step, so it would put that data live "
             "under the names of {4}. Nothing was changed.".format(
                 root, PREPARE_TAG, PREPARE_REQUIRED, PREPARED_TAG, target), root,
             "Run again with the prepare tasks (-e prepare_tasks=<file>, mitosis_prepare_tasks in the role): they "
             "run on {0}, then the refresh goes on. Or start the copy over with -e discard_clone=true "
             "(mitosis_discard_clone): it deletes only the temp-* clones of {1} ({2}), copies of the source, and "
             "copies again.".format(root, target, names))
    return False, []


def final_snapshot_name(target: str, retired: Optional[Instance]) -> str:
    """The final snapshot of the retired primary, named from the target and that instance: a resumed run finds it."""
    resource = str(resource_id_of(retired) or "").lower()
    for prefix in ("db-", "cluster-"):
        if resource.startswith(prefix):
            resource = resource[len(prefix):]
    return "{0}-final-{1}".format(target, resource).strip("-")


def own_tags(tags: List[Dict[str, str]]) -> List[Dict[str, str]]:
    """A member's tags without the ones a run writes on its clones."""
    return [t for t in tags if not t["Key"].startswith(OWN_TAG_PREFIX)]


def new_clone_tags(node: Node, root: bool, tags_of: Callable[[Dict[str, Any]], List[Dict[str, str]]], phase: str,
                   discard: bool, options: CloneOptions) -> List[Dict[str, str]]:
    """The tags of `node`'s clone when it is still to be created (read only then), and on the copy's root the mark
    that a prepare step must succeed before it goes live."""
    if phase != COPY or (node.temp is not None and not discard):
        return []
    tags = own_tags(tags_of(node.original or {})) + getattr(node, "clone_tags", [])
    if root and options.prepare:
        tags.append({"Key": PREPARE_TAG, "Value": PREPARE_REQUIRED})
    if root and options.mask_rules:
        tags.append({"Key": MASK_TAG, "Value": MASK_REQUIRED})
    return tags


class StepList:
    """The steps of a plan as they are built, with the copy (and prepare) steps the swap waits for."""

    def __init__(self, clone_of: Callable[[str], str] = temp_name) -> None:
        self.steps = []  # type: List[Step]
        self.copy_keys = []  # type: List[str]
        self.clone_of = clone_of  # the name of a node's clone

    def add(self, kind: type, key: str, step_phase: str, action: str, identifier: str, params: Dict[str, Any],
            node: str, depends_on: List[str], cluster: bool = False) -> Step:
        step = kind(key, step_phase, action, identifier, params, node, depends_on, cluster)
        self.steps.append(step)
        if step_phase in (COPY, PREPARE):
            self.copy_keys.append(key)
        return step

    def discard(self, node: str, clone: Instance, action: str, params: Dict[str, Any], depends_on: List[str],
                cluster: bool = False) -> Step:
        """The delete of an earlier run's clone of `node`, that very instance (or cluster) only."""
        step = self.add(Discard, ("discard-clone-cluster:" if cluster else "discard-clone:") + node, COPY, action,
                        identifier_of(clone), params, node, depends_on, cluster)
        step.resource_id = resource_id_of(clone)
        return step

    def credentials(self, root: str, secret_holder: Optional[Instance], after: List[str], manage_after: List[str],
                    options: CloneOptions, action: str = MODIFY, cluster: bool = False) -> None:
        """The new primary's (or cluster's) credentials, once its own calls (`after`) are done: a managed secret
        like the target's (after `manage_after` too), or the password given, recorded by a tag."""
        temp_root = self.clone_of(root)
        secret = managed_secret(secret_holder)
        if any(s.key == "password:" + root for s in self.steps):
            return  # set before the masking (mask)
        if secret is not None:
            params = {"ApplyImmediately": True, "ManageMasterUserPassword": True}
            if secret.get("KmsKeyId"):
                params["MasterUserSecretKmsKeyId"] = secret["KmsKeyId"]
            self.add(ManageSecret, "manage-secret:" + root, COPY, action, temp_root, params, root,
                     after + manage_after, cluster)
        elif options.password_source:
            reset = self.add(Password, "password:" + root, COPY, action, temp_root,
                             {"ApplyImmediately": True, "MasterUserPassword": PASSWORD_PLACEHOLDER}, root, after,
                             cluster)
            self.add(Tag, "tag-credentials:" + root, COPY, TAG, temp_root,
                     {"Tags": [{"Key": CREDENTIALS_TAG, "Value": options.password_source}]}, root, [reset.key],
                     cluster)

    def mask(self, root: str, secret_holder: Optional[Instance], after: List[str], backups: Optional[Dict[str, Any]],
             params: Dict[str, Any], options: CloneOptions, action: str = MODIFY, cluster: bool = False) -> Step:
        """The masking of the new primary (an Aurora clone's cluster) once its own calls (`after`) are done, logged
        in with the password the run was given or, when Secrets Manager will manage it (`secret_holder`'s), with a
        temporary one; then the tag that records the rules it applied, then its backups (none for Aurora, whose
        backups are always on): the step the replicas wait for."""
        temp_root = self.clone_of(root)
        if managed_secret(secret_holder) is not None:
            login = self.add(MaskLogin, "mask-login:" + root, COPY, action, temp_root,
                             {"ApplyImmediately": True, "MasterUserPassword": PASSWORD_PLACEHOLDER}, root, after,
                             cluster).key
        else:
            self.credentials(root, None, after, [], options, action, cluster)
            login = "tag-credentials:" + root
        masked = self.add(Mask, "mask:" + root, COPY, MASK_ACTION, temp_root, params, root, after + [login], cluster)
        gate = self.add(Tag, "tag-masked:" + root, COPY, TAG, temp_root,
                        {"Tags": [{"Key": MASKED_TAG, "Value": rules_digest(params["Rules"])}]}, root, [masked.key],
                        cluster)
        if backups:
            gate = self.add(Modify, "backups:" + root, COPY, action, temp_root,
                            dict({"ApplyImmediately": True}, **backups), root, [gate.key], cluster)
        return gate

    def mask_check(self, root: str, params: Dict[str, Any], replicas: List[str], cluster: bool = False) -> Step:
        """The proof on the new primary and each replica (an Aurora clone's instances), once they all exist."""
        return self.add(MaskCheck, "mask-check:" + root, COPY, MASK_CHECK_ACTION, self.clone_of(root),
                        dict(params, Replicas=[self.clone_of(name) for name in replicas]), root, list(self.copy_keys),
                        cluster)

    def prepare(self, root: str, options: CloneOptions, cluster: bool = False) -> None:
        """The caller's prepare tasks see the whole copy; the tag records that they succeeded."""
        if not options.prepare:
            return
        temp_root = self.clone_of(root)
        self.add(Prepare, "prepare:" + root, PREPARE, PREPARE_ACTION, temp_root, {}, root, list(self.copy_keys),
                 cluster)
        # The tag waits for the whole copy itself too: the executor leaves the caller's steps to the caller.
        self.add(Tag, "tag-prepared:" + root, PREPARE, TAG, temp_root,
                 {"Tags": [{"Key": PREPARED_TAG, "Value": "true"}]}, root, list(self.copy_keys), cluster)

    def untag(self, root: str, holders: List[Optional[Instance]], restart: Step, cluster: bool = False,
              identifier: Optional[str] = None) -> None:
        """The run's own tags served the resume; the refreshed stack keeps only the target's tags (an earlier
        run's included, when this one writes none: read from every holder of the name, so the step stays in the
        plan once the target has moved aside)."""
        own = [t["Key"] for s in self.steps if s.tags_clone for t in s.params.get("Tags") or []
               if t["Key"].startswith(OWN_TAG_PREFIX) and t["Key"] not in DURABLE_TAGS]
        own += [t["Key"] for inst in holders for t in (inst or {}).get("TagList") or []
                if t["Key"].startswith(OWN_TAG_PREFIX) and not t["Key"].startswith(LOCK_TAG_PREFIX)
                and t["Key"] not in own + DURABLE_TAGS]
        if own:
            self.add(Untag, "untag:" + root, CLEANUP, UNTAG, identifier or root, {"TagKeys": own}, root, [restart.key],
                     cluster)


def assign_waves(steps: List[Step]) -> None:
    """wave = 1 + the latest wave among a step's dependencies: independent steps share a wave."""
    by_key = {s.key: s for s in steps}
    for step in steps:  # steps are built in dependency order
        step.wave = 1 + max([by_key[d].wave for d in step.depends_on] or [0])


def name_states(nodes: List[Node], held: Callable[[Node], List[Tuple[str, Optional[Instance]]]],
                states: Dict[Tuple[bool, ...], str], what: str, hint: str) -> Dict[str, str]:
    """Each node's state, from which of its names are held (`held`: each name and what holds it); a combination that
    `states` does not name is an error, naming what is there."""
    found = {}  # type: Dict[str, str]
    for node in nodes:
        names = held(node)
        state = states.get(tuple(inst is not None for _name, inst in names))
        if state is None:
            present = [name for name, inst in names if inst is not None]
            forms = ", ".join(name.replace(node.name, "X") for name, _inst in names)
            fail("The names of {0} are in a state no {1} explains: only {2} exist{3}.".format(
                node.name, what, ", ".join(present) or "none of " + forms, "s" if len(present) == 1 else ""),
                node.name, hint)
        found[node.name] = state
    return found


def moved_after_clone(node: Node) -> bool:
    """X is older than old-X: old-X is not an instance a swap moved aside for the clone X."""
    born, retired_born = created_of(node.current), created_of(node.old)
    return bool(born and retired_born and born < retired_born)


# Which of X, temp-X, old-X hold a node's names, once some old-X exists.
SWAP_STATES = {(True, True, False): "before-swap", (False, True, True): "moved-aside", (True, False, True): "swapped",
               (True, False, False): "cleaned"}


def swap_phase(nodes: List[Node]) -> str:
    """SWAP or CLEANUP, read from the names of nodes of which some old-X exists; unexplained states are errors."""
    states = name_states(
        nodes, lambda n: [(n.name, n.current), (temp_name(n.name), n.temp), (old_name(n.name), n.old)], SWAP_STATES,
        "clone", "Inspect these instances, restore the missing name by hand, and run again.")
    for node in nodes:
        if states[node.name] == "swapped" and moved_after_clone(node):
            fail("{0} exists beside {1}, but {1} is older than {0}, so {1} is not a clone that took over from "
                 "{0}: {0} does not fit this clone.".format(old_name(node.name), node.name), old_name(node.name),
                 "Delete or rename the leftover {0} and run again.".format(old_name(node.name)))
    if "cleaned" in states.values() and any(s in ("before-swap", "moved-aside") for s in states.values()):
        stray = [n for n, s in states.items() if s == "cleaned"]
        fail("old-* instances were deleted before the swap finished ({0}); the state does not fit a clone."
             .format(", ".join(stray)), stray[0], "Inspect the target graph by hand before running again.")
    if all(s in ("swapped", "cleaned") for s in states.values()):
        return CLEANUP
    return SWAP


def check_clones(nodes: List[Node], outside: str, fits: str) -> None:
    """Leftovers of another run, before any name moved: every node is there under its name, and a clone temp-X only
    beside its X (`outside` says what X is not, when it is missing; `fits` what a leftover does not fit)."""
    for node in nodes:
        temp = temp_name(node.name)
        if node.current is None and node.temp is None:
            fail("Target member {0} is missing.".format(node.name), node.name)
        if node.temp is not None and node.current is None:
            fail("{0} exists but {1} {2}: it does not fit {3}.".format(temp, node.name, outside, fits), temp,
                 "Delete the leftover instance {0} (or rename it) and run again.".format(temp))


def clone_facts(graph: Graph, node: str, name: str, cluster: bool = False) -> Dict[str, Any]:
    """How to reach `node`'s clone `name` (an instance, or an Aurora cluster's writer and reader endpoints)."""
    inst = graph.instances.get(ref(name, cluster)) or {}
    endpoint = inst.get("Endpoint") or {}
    found = {"identifier": inst.get("DBClusterIdentifier" if cluster else "DBInstanceIdentifier"), "node": node,
             "address": endpoint if cluster else endpoint.get("Address"),
             "port": inst.get("Port") if cluster else endpoint.get("Port"), "engine": inst.get("Engine"),
             "status": status_of(inst), "master_username": inst.get("MasterUsername"),
             "resource_id": resource_id_of(inst), "master_secret_arn": (managed_secret(inst) or {}).get("SecretArn")}
    if cluster:
        found["reader_address"] = inst.get("ReaderEndpoint")
    return found


class Plan:
    """The steps of a refresh (or of a rollback), marked from the live state, and the planner that marks them."""

    root_is_cluster = False  # the first node is an Aurora cluster (its plan's), the others its instances

    def __init__(self, source: str, target: str, steps: List[Step], nodes: List[Node], mode: str, phase: str,
                 snapshot: Optional[Dict[str, Any]] = None, why: str = "",
                 warnings: Optional[List[str]] = None, discard: bool = False) -> None:
        self.source = source
        self.target = target
        self.steps = steps
        self.nodes = nodes
        self.mode = mode
        self.phase = phase
        self.snapshot = snapshot
        self.why = why  # why this copy method
        self.warnings = warnings or []
        self.discard = discard  # the run may delete this target's temp-* clones (discard_clone): the IAM policy says so
        self.planner = None  # type: Optional[Planner]  # the one that made it, which marks it again

    def node_names(self) -> List[str]:
        """The target graph's members, parents first (the order the copy steps were built in)."""
        names = []  # type: List[str]
        for step in self.steps:
            # An earlier run's clones are discarded leaves first; everything else is built parents first.
            if step.node not in names and step.in_node_order:
                names.append(step.node)
        return names

    def step(self, key: str) -> Optional[Step]:
        for step in self.steps:
            if step.key == key:
                return step
        return None

    @property
    def pending(self) -> List[Step]:
        return [s for s in self.steps if s.status == PENDING]

    @property
    def waits_for(self) -> Optional[str]:
        """The caller's step (its phase: prepare or restart) that is next: pending, and all else it waits for done."""
        for step in self.pending:
            if step.caller and all(self.step(d).caller or self.step(d).status != PENDING for d in step.depends_on):
                return step.phase
        return None

    @property
    def waiting_for_prepare(self) -> bool:
        """The caller's prepare step is pending: nothing after it may run until the caller says it ran it."""
        return any(s.caller and s.phase == PREPARE for s in self.pending)

    def waves(self, phase: Optional[str] = None) -> List[int]:
        return sorted({s.wave for s in self.steps if phase is None or s.phase == phase})

    def retiring_resource_ids(self) -> List[str]:
        """DbiResourceId of the instances this clone retires (X before the swap, old-X after)."""
        ids = []
        for node in self.nodes:
            # Until its swap, X itself is the instance to retire; afterwards old-X is.
            inst = node.old or (node.current if node.temp is not None or self.phase == COPY else None)
            if inst and inst.get("DbiResourceId"):
                ids.append(inst["DbiResourceId"])
        return ids

    def subject(self) -> str:
        """What the plan refreshes, for the flight plan."""
        count = len(self.nodes)
        return "the graph of {0} ({1} node{2})".format(self.target, count, "" if count == 1 else "s")

    def to_dict(self) -> List[Dict[str, Any]]:
        return [s.to_dict() for s in self.steps]

    def clone_facts(self, graph: Graph) -> Dict[str, Any]:
        """How to reach the new primary (an Aurora clone: its cluster's writer endpoint) and every temp-* instance
        before the swap (the prepare step's variable)."""
        names = self.node_names()
        if not graph.instances.get(ref(self.clone_name(names[0]), self.root_is_cluster)):
            return {}
        members = names[1:] if self.root_is_cluster else names
        return dict(clone_facts(graph, names[0], self.clone_name(names[0]), self.root_is_cluster),
                    instances=[clone_facts(graph, n, self.clone_name(n)) for n in members
                               if graph.get(self.clone_name(n))])

    def clone_name(self, node: str) -> str:
        """The name of a node's clone before the swap."""
        return temp_name(node)

    def lock_target(self) -> str:
        """The name the run's lock (lock.py) is read under."""
        return self.target

    def lock_names(self) -> List[str]:
        """Every name the run's lock can be on (the IAM policy's tagging of them)."""
        return name_forms(self.target)

    def new_secrets(self, graph: Graph) -> Dict[str, str]:
        """The managed master secrets the clone got, by target member (the application must read these)."""
        return {step.node: arn for step in self.steps for arn in [step.new_secret(graph, self.phase)] if arn}

    def select(self, keys: Optional[List[str]], phases: List[str], check_mode: bool,
               prepared: bool = False) -> Tuple[List[Step], List[Step], Dict[str, Dict[str, Any]]]:
        """The steps to run (pending, in plan order) and results for the requested steps already done.

        Dependencies outside the selection must be done (the restart is the caller's); deletes only once the swap is
        finished. In check mode nothing earlier really ran, so these checks are left to the real run. While the
        caller's prepare step is pending, nothing after it is chosen, unless the caller says it ran it."""
        held = not prepared and self.waiting_for_prepare
        if keys is None:
            chosen = [s for s in self.steps if s.phase in phases and not s.caller
                      and not (held and s.phase in AFTER_PREPARE)]
        else:
            chosen = [self.chosen(key, held) for key in keys]
            chosen.sort(key=self.steps.index)
        todo, results = [], {}
        keys_chosen = {s.key for s in chosen}
        for step in chosen:
            if step.status != PENDING:
                results[step.key] = dict(step.result(), status="skipped", reason=step.reason)
                continue
            todo.append(step)
            if check_mode:
                continue
            if step.retires and self.phase != CLEANUP:
                raise MitosisError("Refusing to delete {0}: the swap has not finished, so {1} is not yet in place."
                                   .format(step.identifier, step.node), operation=step.action,
                                   identifier=step.identifier, hint="Run the copy and the swap (and the restart) first.")
            for dep in step.depends_on:
                dep_step = self.step(dep)
                if dep_step.status == PENDING and not dep_step.caller and dep not in keys_chosen:
                    raise MitosisError("{0} depends on {1} ({2}), which is still pending.".format(
                        step.label, dep, dep_step.label), operation="step", identifier=step.identifier,
                        hint="Apply the phases in order; the plan lists them.")
        return chosen, todo, results

    def chosen(self, key: str, held: bool) -> Step:
        """The step `key`, which the caller asks to apply."""
        step = self.step(key)
        if step is None:
            raise MitosisError("Step {0} is not part of the plan for cloning {1} into {2}.".format(
                key, self.source, self.target), operation="step",
                hint="Pass steps from the `plan` returned by mitosis.rds.rds_mitosis_plan for the same source/target.")
        if step.caller:
            raise MitosisError("The {0} step is run by the caller (the clone role's task files), not by "
                               "rds_mitosis_step.".format(step.kind), operation="step", identifier=step.identifier)
        if held and step.phase in AFTER_PREPARE:
            raise MitosisError("Step {0} waits for the caller's prepare step, which is pending.".format(key),
                               operation="step", identifier=step.identifier,
                               hint="Run the prepare step on the clone first, then pass `prepared`.")
        return step


class Planner:
    """One way to plan: the live state it reads, the checks it makes, the steps it builds, how it marks them.

    A plan is made from the live state (`plan`) or handed over and marked again (`refresh`): both mark every step
    pending or done from the phase that the live state shows, so a plan of an interrupted run is its continuation,
    and a state the planner cannot explain is an error before any change."""

    words = REFRESH_WORDS
    # How the "changed since the plan was made" error names the nodes, and the moment of the plan.
    nodes_are = "graph"
    planned_when = "the plan was made"
    in_order = True  # the order of the nodes counts (parents first), not only which they are

    def __init__(self, source: str, target: str, options: Optional[CloneOptions] = None) -> None:
        self.source = source
        self.target = target
        self.options = options or CloneOptions()

    # --- what each planner says -------------------------------------------------------------------------------

    def read(self, rds: Any) -> Graph:
        """The live state a new plan needs, with filtered describes."""
        raise NotImplementedError

    def read_plan(self, rds: Any, plan: Plan) -> Graph:
        """The live state of the names `plan` holds."""
        raise NotImplementedError

    def nodes(self, graph: Graph) -> List[Node]:
        """The target's nodes in `graph`, in the plan's order."""
        raise NotImplementedError

    def check(self, graph: Graph, nodes: List[Node]) -> None:
        """The checks of a new plan, before its phase is read."""

    def classify(self, graph: Graph, nodes: List[Node], previous_resource_ids: Optional[List[str]]) -> str:
        """The phase the live state shows; a state no plan explains is an error."""
        raise NotImplementedError

    def check_phase(self, nodes: List[Node], phase: str) -> None:
        """The checks that depend on the phase (a new plan's, and a plan marked again)."""

    def build(self, graph: Graph, nodes: List[Node], phase: str) -> Plan:
        """The plan's steps and what it says about them, unmarked."""
        raise NotImplementedError

    def handed(self, steps: List[Dict[str, Any]]) -> Plan:
        """A plan returned earlier, from its dicts: `refresh` marks it again."""
        raise NotImplementedError

    def compared(self, plan: Plan, nodes: List[Node]) -> Tuple[List[str], List[str]]:
        """The node names of the live state and of `plan`, to tell whether the graph changed since the plan."""
        return [n.name for n in nodes], plan.node_names()

    def keep(self, plan: Plan, nodes: List[Node], phase: str) -> None:
        plan.nodes, plan.phase = nodes, phase

    # --- the same for every planner ---------------------------------------------------------------------------

    def plan(self, graph: Graph, previous_resource_ids: Optional[List[str]] = None) -> Plan:
        """The whole plan from the live `graph`."""
        nodes = self.nodes(graph)
        self.check(graph, nodes)
        phase = self.classify(graph, nodes, previous_resource_ids)
        self.check_phase(nodes, phase)
        plan = self.build(graph, nodes, phase)
        plan.planner = self
        assign_waves(plan.steps)
        self.mark(plan, graph, nodes, phase)
        return plan

    def refresh(self, plan: Plan, graph: Graph, previous_resource_ids: Optional[List[str]] = None) -> Plan:
        """The same plan's steps marked again from `graph` (a describe of the names it holds): no discovery, no tags.

        A target that gained or lost members since the plan was made is an error: plan again. With the instances the
        refresh retires (`previous_resource_ids`), a finished refresh reads as complete."""
        nodes = self.nodes(graph)
        now, planned = self.compared(plan, nodes)
        if (now if self.in_order else sorted(now)) != (planned if self.in_order else sorted(planned)):
            fail("The {0} of {1} changed since {2}: it now has {3} (the plan has {4}).".format(
                self.nodes_are, plan.target, self.planned_when, ", ".join(now) or "none", ", ".join(planned)),
                plan.target, "Run the same command again: it plans from the live state.")
        phase = self.classify(graph, nodes, previous_resource_ids)
        self.check_phase(nodes, phase)
        self.mark(plan, graph, nodes, phase)
        return plan

    def remark(self, rds: Any, plan: Plan, previous_resource_ids: Optional[List[str]] = None) -> Tuple[Plan, Graph]:
        """`plan` marked again from one describe of the names it holds; with that live state."""
        graph = self.read_plan(rds, plan)
        return self.refresh(plan, graph, previous_resource_ids), graph

    def mark(self, plan: Plan, graph: Graph, nodes: List[Node], phase: str) -> None:
        mark_steps(Marking(phase, graph, plan.steps, self.words))
        self.keep(plan, nodes, phase)


def refresh(plan: Plan, graph: Graph, previous_resource_ids: Optional[List[str]] = None) -> Plan:
    """`plan` marked again by its planner from `graph`."""
    return plan.planner.refresh(plan, graph, previous_resource_ids)


def flight_plan(plan: Plan) -> str:
    """The human-readable flight plan: one line per call, done steps marked as skipped and why."""
    lines = ["Flight plan: clone {0} into {1} ({2} path, phase: {3})".format(
        plan.source, plan.subject(), plan.mode, plan.phase)]
    if plan.mode == ROLLBACK:
        lines = ["Flight plan: roll back the refresh of the graph of {0} ({1} node{2}, phase: {3}): the clones move "
                 "aside to rej-*, old-* take their names back, the application restarts, then rej-* are deleted."
                 .format(plan.target, len(plan.nodes), "" if len(plan.nodes) == 1 else "s", plan.phase)]
    elif plan.why:
        lines.append("Copy method: {0}, because {1}.".format(plan.mode, plan.why))
    lines += ["Warning: " + warning for warning in plan.warnings]
    for step in plan.steps:
        mark_text = "pending" if step.status == PENDING else "skip: " + step.reason
        if step.status == PENDING and step.reason:
            mark_text = "pending: " + step.reason
        lines.append("wave {0:>2}  {1}  [{2}]".format(step.wave, step.label, mark_text))
        # Wrapped, not cut by the terminal: a parameter is never split across lines unless it is longer than one.
        for detail in step.detail(plan.mode).split("\n"):
            lines += textwrap.wrap(detail, FLIGHT_PLAN_WIDTH, initial_indent=DETAIL_INDENT,
                                   subsequent_indent=DETAIL_INDENT + "  ", break_long_words=False,
                                   break_on_hyphens=False)
    pending = len(plan.pending)
    lines.append("{0} of {1} steps pending.".format(pending, len(plan.steps)))
    return "\n".join(lines)
