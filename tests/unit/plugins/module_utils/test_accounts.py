# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A refresh across accounts on two fake accounts: the source DB instance in account 210987654321, the target stack in
the run's own account 123456789012. The CrossAccountPlanner's first plan (the copy out of the source account, its
share, the copy in, the restore, the copies' deletes), its marks from every state a run can stop in, the copies an
earlier run left, its refusals before any change, the executor's deferral of a delete in the source account, both
accounts' IAM policies, the summary's lines and the module's connection to the source account. Each account's RDS and
KMS APIs are fakes answering the calls made through aws.call and aws.paginate (botocore method names, paginators)."""

from __future__ import annotations

import copy
import json

import pytest
from botocore.exceptions import ClientError

from ansible_collections.mitosis.rds.plugins.module_utils.accounts import (KEY_ACTIONS, CrossAccountPlanner,
                                                                           SourceAccount, copy_name,
                                                                           cross_account_plan_of, key_grants,
                                                                           source_name)
from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.executor import Dataflow
from ansible_collections.mitosis.rds.plugins.module_utils.planning import handed_plan, live_plan, marked_plan
from ansible_collections.mitosis.rds.plugins.module_utils.plans import CloneOptions, flight_plan
from ansible_collections.mitosis.rds.plugins.module_utils.policy import iam_policy
from ansible_collections.mitosis.rds.plugins.module_utils.report import extend_run, new_run, summarize
from ansible_collections.mitosis.rds.plugins.module_utils.steps import (SOURCE_ACCOUNT, TARGET_ACCOUNT, Secrets,
                                                                        Step)

from .rds_state import ACCOUNT, REGION, Account, cluster, instance

TARGET_ID, SOURCE_ID = ACCOUNT, "210987654321"
KMS = "arn:aws:kms:{0}:{{0}}:key/{{1}}".format(REGION)
SHARE_KEY = KMS.format(SOURCE_ID, "1111-share")  # a customer managed key the target account may use
RDS_KEY = KMS.format(SOURCE_ID, "2222-aws-rds")  # the source account's AWS managed aws/rds key
CLOSED_KEY = KMS.format(SOURCE_ID, "3333-closed")  # a customer managed key that grants the target account nothing
OFF_KEY = KMS.format(SOURCE_ID, "4444-disabled")
PARTIAL_KEY = KMS.format(SOURCE_ID, "6666-partial")  # lets the target account decrypt, but not create a grant
TARGET_KEY = KMS.format(TARGET_ID, "5555-demo")
ALLOW_TARGET = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::{0}:root".format(SOURCE_ID)},
     "Action": "kms:*", "Resource": "*"},
    {"Sid": "Target", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::{0}:root".format(TARGET_ID)},
     "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"], "Resource": "*"}]}
OWNER_ONLY = {"Statement": ALLOW_TARGET["Statement"][:1]}
PARTIAL = {"Statement": ALLOW_TARGET["Statement"][:1] + [dict(ALLOW_TARGET["Statement"][1], Action=[
    "kms:Decrypt", "kms:DescribeKey"])]}
REFRESH = {"Key": "mitosis:refresh", "Value": "{0}:demo".format(TARGET_ID)}
NEWEST = "rds:prod-2026-11-21-03-00"  # the source's newest available snapshot
COPY = copy_name(TARGET_ID, "demo", NEWEST)
EXPIRED = "ExpiredToken"


def refused(code, operation):
    return ClientError({"Error": {"Code": code, "Message": code + " injected"}}, operation)


def snapshot(name, created, status="available", kind="automated", key=RDS_KEY, tags=(), instance_name="prod"):
    """A DescribeDBSnapshots entry of the source instance (`key`: its KMS key, None when unencrypted)."""
    found = {"DBSnapshotIdentifier": name, "DBInstanceIdentifier": instance_name, "Status": status,
             "SnapshotType": kind, "SnapshotCreateTime": "2026-11-{0:02d}T03:00:00".format(created),
             "Encrypted": bool(key), "TagList": list(tags), "Engine": "mysql"}
    if key:
        found["KmsKeyId"] = key
    return found


def source_snapshots():
    """The source's snapshots: two automated ones, a newer manual one still being taken, and a newer copy that
    another target's refresh made (tagged mitosis:refresh): neither of the last two is the one to copy."""
    return [snapshot("rds:prod-2026-11-20-03-00", 20), snapshot(NEWEST, 21),
            snapshot("prod-before-upgrade", 22, status="creating", kind="manual"),
            snapshot(copy_name("999999999999", "other", "rds:prod-2026-11-22-03-00"), 23, kind="manual",
                     key=SHARE_KEY, tags=[{"Key": "mitosis:refresh", "Value": "999999999999:other"}])]


class FakeRDS:
    """One account's RDS API over its state: its DB instances (an rds_state.Account, whose instance calls it applies),
    its snapshots and the accounts each is shared with. Snapshot calls complete at once. Every call is recorded by
    operation; `refuse` maps an operation, an (operation, identifier) pair or "*" (every call) to the error code it
    fails with."""

    class meta:  # pylint: disable=invalid-name
        region_name = REGION

    def __init__(self, account_id, instances=(), snapshots=(), clusters=()):
        self.account_id = account_id
        self.state = Account(instances, snapshots=copy.deepcopy(list(snapshots)), clusters=clusters)
        self.shared = {}  # snapshot -> the accounts it is shared with
        self.peer = None  # the other account, whose shared snapshots a copy may name by ARN
        self.calls = []
        self.refuse = {}
        self.clock = 0
        self.discarding = False

    def _called(self, operation, identifier=None):
        self.calls.append((operation, identifier))
        code = self.refuse.get((operation, identifier)) or self.refuse.get(operation) or self.refuse.get("*")
        if code:
            raise refused(code, operation)

    def snapshot(self, name):
        return next((s for s in self.state.snapshots if s["DBSnapshotIdentifier"] == name), None)

    def copies(self):
        """The names of the snapshots this refresh's runs made here."""
        return sorted(s["DBSnapshotIdentifier"] for s in self.state.snapshots if REFRESH in (s.get("TagList") or []))

    # --- reading ------------------------------------------------------------------------------------------------

    def get_paginator(self, name):
        fake = self

        class Pages:
            @staticmethod
            def paginate(**params):
                if name == "describe_db_instances":
                    fake._called("DescribeDBInstances")
                    wanted = set(params["Filters"][0]["Values"])
                    yield {"DBInstances": [i for i in fake.state.described() if i["DBInstanceIdentifier"] in wanted]}
                    return
                if name == "describe_db_clusters":
                    fake._called("DescribeDBClusters")
                    wanted = set(params["Filters"][0]["Values"])
                    yield {"DBClusters": [c for c in fake.state.described_clusters()
                                          if c["DBClusterIdentifier"] in wanted]}
                    return
                assert name == "describe_db_snapshots", name
                fake._called("DescribeDBSnapshots", params.get("DBSnapshotIdentifier"))
                found = fake.state.snapshots
                if "DBSnapshotIdentifier" in params:
                    named = params["DBSnapshotIdentifier"]  # a name, or the ARN of a snapshot of this account
                    if named.startswith("arn:") and named.split(":")[4] == fake.account_id:
                        named = named.split(":snapshot:")[1]
                    found = [s for s in found if s["DBSnapshotIdentifier"] == named]
                    if not found:  # as RDS: a snapshot asked for by name is there, or the call fails
                        raise refused("DBSnapshotNotFound", "DescribeDBSnapshots")
                if "DBInstanceIdentifier" in params:
                    found = [s for s in found if s["DBInstanceIdentifier"] == params["DBInstanceIdentifier"]]
                if "SnapshotType" in params:
                    found = [s for s in found if s["SnapshotType"] == params["SnapshotType"]]
                for item in found:  # a page each: the planner reads every page
                    yield {"DBSnapshots": [copy.deepcopy(item)]}
                yield {"DBSnapshots": []}
        return Pages()

    def describe_db_snapshot_attributes(self, DBSnapshotIdentifier):  # pylint: disable=invalid-name
        self._called("DescribeDBSnapshotAttributes", DBSnapshotIdentifier)
        return {"DBSnapshotAttributesResult": {"DBSnapshotIdentifier": DBSnapshotIdentifier, "DBSnapshotAttributes": [
            {"AttributeName": "restore", "AttributeValues": list(self.shared.get(DBSnapshotIdentifier, []))}]}}

    def list_tags_for_resource(self, ResourceName):  # pylint: disable=invalid-name
        self._called("ListTagsForResource", ResourceName)
        return {"TagList": copy.deepcopy(self.state.instances[self._named(ResourceName)].get("_tags") or [])}

    # --- the snapshot calls -------------------------------------------------------------------------------------

    def copy_db_snapshot(self, SourceDBSnapshotIdentifier, TargetDBSnapshotIdentifier,  # pylint: disable=invalid-name
                         Tags, KmsKeyId=None):
        self._called("CopyDBSnapshot", TargetDBSnapshotIdentifier)
        if SourceDBSnapshotIdentifier.startswith("arn:"):
            # A snapshot another account shares: an encrypted one is copied only with a key of this account.
            owner = SourceDBSnapshotIdentifier.split(":")[4]
            assert owner == self.peer.account_id and owner != self.account_id, SourceDBSnapshotIdentifier
            origin = self.peer.snapshot(SourceDBSnapshotIdentifier.split(":snapshot:")[1])
            assert origin is not None, "copy of a missing snapshot: " + SourceDBSnapshotIdentifier
            assert self.account_id in self.peer.shared.get(origin["DBSnapshotIdentifier"], []), "not shared"
            assert not origin["Encrypted"] or KmsKeyId, "a shared encrypted snapshot is copied with a key"
        else:
            origin = self.snapshot(SourceDBSnapshotIdentifier)
            assert origin is not None, "copy of a missing snapshot: " + SourceDBSnapshotIdentifier
        if KmsKeyId:
            assert KmsKeyId.split(":")[4] == self.account_id, "a copy is encrypted with a key of its own account"
        if self.snapshot(TargetDBSnapshotIdentifier):
            raise refused("DBSnapshotAlreadyExists", "CopyDBSnapshot")
        self.clock += 1
        self.state.snapshots.append(dict(
            copy.deepcopy(origin), DBSnapshotIdentifier=TargetDBSnapshotIdentifier, SnapshotType="manual",
            Status="available", TagList=copy.deepcopy(Tags), KmsKeyId=KmsKeyId or origin.get("KmsKeyId"),
            Encrypted=origin["Encrypted"] or bool(KmsKeyId), SnapshotCreateTime="2026-11-24T10:{0:02d}:00".format(
                self.clock)))
        return {"DBSnapshot": {"DBSnapshotIdentifier": TargetDBSnapshotIdentifier}}

    def modify_db_snapshot_attribute(self, DBSnapshotIdentifier, AttributeName,  # pylint: disable=invalid-name
                                     ValuesToAdd):
        self._called("ModifyDBSnapshotAttribute", DBSnapshotIdentifier)
        found = self.snapshot(DBSnapshotIdentifier)
        assert found is not None and AttributeName == "restore"
        # As RDS: an automated snapshot, or one under the AWS managed key, is never shared.
        assert found["SnapshotType"] == "manual" and found.get("KmsKeyId") != RDS_KEY, "not shareable"
        self.shared.setdefault(DBSnapshotIdentifier, []).extend(ValuesToAdd)
        return {}

    def delete_db_snapshot(self, DBSnapshotIdentifier):  # pylint: disable=invalid-name
        self._called("DeleteDBSnapshot", DBSnapshotIdentifier)
        found = self.snapshot(DBSnapshotIdentifier)
        if found is None:
            raise refused("DBSnapshotNotFound", "DeleteDBSnapshot")
        assert REFRESH in found["TagList"], "deleted a snapshot this refresh did not make"
        self.state.snapshots.remove(found)
        self.shared.pop(DBSnapshotIdentifier, None)
        return {}

    # --- the instance calls: applied by the rds_state account, at once -----------------------------------------

    def __getattr__(self, operation):
        if operation.startswith("_"):
            raise AttributeError(operation)

        def act(**params):
            action = "".join(p.capitalize() for p in operation.split("_")).replace("Db", "DB")
            if "ResourceName" in params:
                name = self._named(params.pop("ResourceName"))
            else:
                name = params.pop("DBInstanceIdentifier")
            self._called(action, name)
            assert self.account_id == TARGET_ID, "{0} on an instance of the source account".format(action)
            if action == "RestoreDBInstanceFromDBSnapshot":
                # The restored instance is encrypted like its snapshot.
                found = self.snapshot(params["DBSnapshotIdentifier"])
                self.state.apply({"action": action, "identifier": name, "params": params})
                self.state.instances[name].update(StorageEncrypted=found["Encrypted"],
                                                  KmsKeyId=found.get("KmsKeyId"))
            else:
                # Only a discard may delete a temp-* clone (rds_state's account refuses it otherwise).
                self.state.apply({"action": action, "identifier": name, "params": params,
                                  "kind": "discard" if self.discarding else action})
            return {}
        return act

    def _named(self, arn):
        return next(name for name, inst in self.state.instances.items() if inst["DBInstanceArn"] == arn)


class FakeKMS:
    """The source account's keys (by id, ARN or alias) and their key policies."""

    def __init__(self):
        self.keys = [
            {"KeyId": "1111-share", "Arn": SHARE_KEY, "KeyManager": "CUSTOMER", "KeyState": "Enabled",
             "_aliases": ["alias/mitosis-share"], "_policy": ALLOW_TARGET},
            {"KeyId": "2222-aws-rds", "Arn": RDS_KEY, "KeyManager": "AWS", "KeyState": "Enabled",
             "_aliases": ["alias/aws/rds"], "_policy": OWNER_ONLY},
            {"KeyId": "3333-closed", "Arn": CLOSED_KEY, "KeyManager": "CUSTOMER", "KeyState": "Enabled",
             "_aliases": [], "_policy": OWNER_ONLY},
            {"KeyId": "4444-disabled", "Arn": OFF_KEY, "KeyManager": "CUSTOMER", "KeyState": "Disabled",
             "_aliases": [], "_policy": ALLOW_TARGET},
            {"KeyId": "6666-partial", "Arn": PARTIAL_KEY, "KeyManager": "CUSTOMER", "KeyState": "Enabled",
             "_aliases": [], "_policy": PARTIAL}]
        self.calls = []

    def _key(self, named):
        for key in self.keys:
            if named in [key["KeyId"], key["Arn"]] + key["_aliases"]:
                return key
        raise refused("NotFoundException", "DescribeKey")

    def describe_key(self, KeyId):  # pylint: disable=invalid-name
        self.calls.append(("DescribeKey", KeyId))
        return {"KeyMetadata": {k: v for k, v in self._key(KeyId).items() if not k.startswith("_")}}

    def get_key_policy(self, KeyId, PolicyName):  # pylint: disable=invalid-name
        self.calls.append(("GetKeyPolicy", KeyId))
        assert PolicyName == "default"
        return {"Policy": json.dumps(self._key(KeyId)["_policy"])}


def target_stack(**attrs):
    """The target stack of the run's account: demo, encrypted with its own key, and its replica demo-r."""
    return [instance("demo", StorageEncrypted=True, KmsKeyId=TARGET_KEY, **attrs),
            instance("demo-r", parent="demo", StorageEncrypted=True, KmsKeyId=TARGET_KEY)]


class World:
    """Both accounts: the source instance prod and its snapshots in account 210987654321, the target stack in
    123456789012; a plan's step applied through the fake API of the account it acts in."""

    def __init__(self, targets=None, snapshots=None, source=None, kms_key="alias/mitosis-share", clusters=()):
        prod = source or instance("prod", StorageEncrypted=True, KmsKeyId=RDS_KEY,
                                  DBInstanceArn="arn:aws:rds:{0}:{1}:db:prod".format(REGION, SOURCE_ID))
        self.source = FakeRDS(SOURCE_ID, [prod], source_snapshots() if snapshots is None else snapshots)
        self.target = FakeRDS(TARGET_ID, target_stack() if targets is None else targets, clusters=clusters)
        self.source.peer, self.target.peer = self.target, self.source
        self.kms = FakeKMS()
        self.account = SourceAccount(self.source, self.kms, SOURCE_ID, TARGET_ID, kms_key, "the role mitosis-source")

    def plan(self, previous_resource_ids=None, **options):
        return live_plan(self.target, "prod", "demo", CloneOptions(**options), previous_resource_ids,
                         account=self.account)[0]

    def apply(self, step):
        """The step's call, as the executor makes it, in the account it acts in (the caller's steps make none)."""
        if step.caller:
            return
        rds = self.source if step.account == SOURCE_ACCOUNT else self.target
        live = {i["DBInstanceIdentifier"]: i for i in self.target.state.described()}
        rds.discarding = step.kind == "discard"
        step.call(rds, live, Secrets(lambda: "Secret-Pass-1"))

    def run(self, cut=None, skip=(), **options):
        """One run: the plan from the live state, its pending steps in wave order (the first `cut` of them, but
        those in `skip`)."""
        plan = self.plan(**options)
        order = sorted(plan.pending, key=lambda s: (s.wave, plan.steps.index(s)))
        for step in order[:cut]:
            if step.key not in skip:
                self.apply(step)
        return plan, order

    def copies_made(self, account):
        """How many CopyDBSnapshot calls each account received."""
        side = self.source if account == SOURCE_ACCOUNT else self.target
        return len([c for c in side.calls if c[0] == "CopyDBSnapshot"])

    def changes(self):
        """Every call of either account that changes something (the KMS fake answers reads only)."""
        return [c for side in (self.source, self.target) for c in side.calls
                if not c[0].startswith(("Describe", "List"))]


def status(plan):
    return {s.key: s.status for s in plan.steps}


def reasons(plan):
    return {s.key: s.reason for s in plan.steps}


def arn_of_copy(account, name=COPY):
    return "arn:aws:rds:{0}:{1}:snapshot:{2}".format(REGION, account, name)


# --- names: the copies', the source's, the key policy's principals -------------------------------------------------

def test_both_copies_are_named_for_the_target_account_the_target_and_the_snapshot():
    assert COPY == "mitosis-123456789012-demo-rds-prod-2026-11-21-03-00"
    # The same name from the snapshot's ARN; at most 255 characters, never ending in a dash.
    assert copy_name(TARGET_ID, "demo", arn_of_copy(SOURCE_ID, NEWEST)) == COPY
    long = copy_name(TARGET_ID, "demo", "x" * 230 + "-" * 30 + "y")
    assert len(long) == 255 and long == long.rstrip("-")


def test_source_name_takes_the_identifier_of_an_arn_of_the_source_account_in_the_region():
    account = World().account
    assert source_name("prod", account, REGION) == "prod"
    assert source_name("arn:aws:rds:us-east-1:210987654321:db:prod", account, REGION) == "prod"
    with pytest.raises(MitosisError, match=r"source arn:aws:rds:us-east-1:999999999999:db:prod is in account "
                                           r"999999999999, but the source connection \(the role mitosis-source\) "
                                           r"reaches account 210987654321") as info:
        source_name("arn:aws:rds:us-east-1:999999999999:db:prod", account, REGION)
    assert "Pass the role or profile of account 999999999999" in str(info.value) and info.value.operation == "plan"
    with pytest.raises(MitosisError, match=r"is in region eu-west-1; mitosis.rds refreshes within one region "
                                           r"\(us-east-1\)"):
        source_name("arn:aws:rds:eu-west-1:210987654321:db:prod", account, REGION)
    # Through the planning entry point too, before any read.
    world = World()
    with pytest.raises(MitosisError, match="is in account 999999999999"):
        live_plan(world.target, "arn:aws:rds:us-east-1:999999999999:db:prod", "demo", account=world.account)
    assert world.source.calls == world.target.calls == []
    plan = live_plan(world.target, "arn:aws:rds:us-east-1:210987654321:db:prod", "demo", account=world.account)[0]
    assert plan.source == "prod" and plan.step("copy-out:demo").params["SourceDBSnapshotIdentifier"] == NEWEST


def allow(principal, action, effect="Allow"):
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": "*"}


@pytest.mark.parametrize("policy, granted", [
    ({"Statement": [allow({"AWS": "arn:aws:iam::123456789012:root"}, list(KEY_ACTIONS))]}, list(KEY_ACTIONS)),
    ({"Statement": [allow({"AWS": "123456789012"}, "kms:*")]}, list(KEY_ACTIONS)),
    ({"Statement": [allow("*", "*")]}, list(KEY_ACTIONS)),
    ({"Statement": [allow({"AWS": "*"}, ["kms:Describe*", "kms:Decrypt"])]}, ["kms:Decrypt", "kms:DescribeKey"]),
    # A principal of the account (a role of it) counts; a statement may stand alone, not in a list; case is free.
    ({"Statement": allow({"AWS": ["arn:aws:iam::123456789012:role/mitosis"]}, "KMS:CreateGrant")},
     ["kms:CreateGrant"]),
    # Another account, a service, an account whose id only starts like it, a Deny, no Action: nothing.
    ({"Statement": [allow({"AWS": "arn:aws:iam::210987654321:root"}, "kms:*"),
                    allow({"Service": "rds.amazonaws.com"}, "kms:*"),
                    allow({"AWS": "arn:aws:iam::1234567890123:root"}, "kms:*"),
                    allow({"AWS": "123456789012"}, "kms:*", effect="Deny"),
                    {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "NotAction": "kms:ScheduleKeyDeletion"}]},
     []),
    ({}, []),
])
def test_key_grants_reads_every_form_of_a_principal_and_an_action(policy, granted):
    assert key_grants(policy, TARGET_ID) == sorted(granted)


# --- a first plan ---------------------------------------------------------------------------------------------------

def test_a_first_plan_copies_out_shares_copies_in_restores_and_drops_each_copy_once_the_next_holds_the_data():
    world = World()
    plan = world.plan()
    assert (plan.phase, plan.mode) == ("copy", "snapshot") and cross_account_plan_of(plan.to_dict())
    assert "prod is in account 210987654321: across accounts only a snapshot carries the data" in plan.why
    keys = [s.key for s in plan.steps]
    assert keys[:4] == ["copy-out:demo", "share:demo", "copy-in:demo", "restore:demo"]
    assert keys[-2:] == ["release:demo", "drop-copy:demo"]
    assert all(s.status == "pending" for s in plan.steps)
    # In the source account: the newest available snapshot (not one being taken, not another refresh's copy) into a
    # copy under the key the target account may use, tagged for this refresh.
    out = plan.step("copy-out:demo")
    assert (out.kind, out.action, out.identifier, out.account) == ("copy-snapshot", "CopyDBSnapshot", COPY, "source")
    assert out.params == {"SourceDBSnapshotIdentifier": NEWEST, "TargetDBSnapshotIdentifier": COPY,
                          "Tags": [REFRESH], "Clone": "temp-demo", "KmsKeyId": SHARE_KEY, "Keys": [RDS_KEY]}
    assert out.depends_on == []
    # Shared with the target account.
    share = plan.step("share:demo")
    assert (share.kind, share.action, share.identifier, share.account) == (
        "share-snapshot", "ModifyDBSnapshotAttribute", COPY, "source")
    assert share.params == {"AttributeName": "restore", "ValuesToAdd": [TARGET_ID], "Clone": "temp-demo"}
    assert share.depends_on == ["copy-out:demo"]
    # In the target account: the shared copy, named by its ARN in the source account, under the target's own key.
    into = plan.step("copy-in:demo")
    assert (into.kind, into.identifier, into.account) == ("copy-snapshot", COPY, "target")
    assert into.params == {"SourceDBSnapshotIdentifier": arn_of_copy(SOURCE_ID), "TargetDBSnapshotIdentifier": COPY,
                           "Tags": [REFRESH], "Clone": "temp-demo", "KmsKeyId": TARGET_KEY, "Keys": [SHARE_KEY]}
    assert into.depends_on == ["share:demo"]
    # The clone is restored from the target account's copy, and keeps its name in a tag.
    restore = plan.step("restore:demo")
    assert restore.params["DBSnapshotIdentifier"] == COPY and restore.account == "target"
    assert restore.params["Tags"] == [{"Key": "mitosis:snapshot", "Value": COPY}]
    assert set(restore.depends_on) == {"copy-out:demo", "share:demo", "copy-in:demo"}
    assert plan.snapshot == {"DBSnapshotIdentifier": COPY, "SourceDBSnapshotIdentifier": NEWEST}
    # The source account's copy goes once the target account has its own; the target account's once restored.
    release = plan.step("release:demo")
    assert (release.kind, release.action, release.identifier, release.account) == (
        "drop-snapshot", "DeleteDBSnapshot", COPY, "source")
    assert release.depends_on == ["copy-in:demo"] and release.phase == "copy"
    assert release.call_params({}, None) == {"DBSnapshotIdentifier": COPY}
    drop = plan.step("drop-copy:demo")
    assert (drop.kind, drop.identifier, drop.account, drop.depends_on) == (
        "drop-snapshot", COPY, "target", ["restore:demo"])
    # The swap waits for the whole copy, not for the deletes of the copies.
    assert {"release:demo", "drop-copy:demo"}.isdisjoint(plan.step("swap-out:demo").depends_on)
    # Only the copy steps' Tags are the clone's: the clone's tags (and the cleanup's untag) know nothing of them.
    assert plan.step("untag:demo") is None
    # Each step acts in its account, through the plan's dicts too; the source account's say so where they show.
    assert [s for s in plan.steps if s.account == "source"] == [out, share, release]
    for step in plan.steps:
        data = step.to_dict()
        assert ("account" in data) == (step.account == SOURCE_ACCOUNT)
        again = Step.from_dict(data)
        assert (type(again), again.key, again.account, again.params, again.depends_on) == (
            type(step), step.key, step.account, step.params, step.depends_on)
        assert step.result().get("account", TARGET_ACCOUNT) == step.account
        assert step.label.endswith(" in the source account") == (step.account == SOURCE_ACCOUNT), step.key
    assert out.label == "CopyDBSnapshot {0} in the source account".format(COPY)
    assert into.label == "CopyDBSnapshot {0}".format(COPY)
    # The flight plan shows each call's parameters, never what only marking and the IAM policy read.
    text = " ".join(flight_plan(plan).split())
    assert "ModifyDBSnapshotAttribute {0} in the source account [pending]".format(COPY) in text
    assert "AttributeName=restore ValuesToAdd=[123456789012] DBSnapshotIdentifier={0}".format(COPY) in text
    assert "Keys=" not in text and "Clone=" not in text and "Received=" not in text
    # Planning only reads: the source instance and its snapshots, the key and its policy, the target's stack.
    assert world.changes() == []
    assert world.kms.calls == [("DescribeKey", "alias/mitosis-share"), ("GetKeyPolicy", SHARE_KEY)]
    # Two reads of the source's snapshots (the copies of this refresh, then the one to copy), each of every page:
    # the newest available snapshot is on a page of its own.
    assert len([c for c in world.source.calls if c[0] == "DescribeDBSnapshots"]) == 2


def test_a_source_and_a_target_of_the_same_name_in_two_accounts():
    """Production and the demo stack are often called alike: the target account's snapshots of that name are not
    the source's."""
    world = World(targets=[instance("prod", StorageEncrypted=True, KmsKeyId=TARGET_KEY,
                                    _tags=[{"Key": "team", "Value": "shop"}])])
    world.target.state.snapshots.append(snapshot("prod-before-upgrade", 23, kind="manual", key=TARGET_KEY))
    plan = live_plan(world.target, "prod", "prod", account=world.account)[0]
    assert plan.step("copy-out:prod").params["SourceDBSnapshotIdentifier"] == NEWEST
    assert plan.step("restore:prod").identifier == "temp-prod"
    assert plan.step("restore:prod").params["Tags"] == [{"Key": "team", "Value": "shop"},
                                                        {"Key": "mitosis:snapshot", "Value": copy_name(
                                                            TARGET_ID, "prod", NEWEST)}]
    assert [s.key for s in plan.steps if s.kind == "drop-snapshot"] == ["release:prod", "drop-copy:prod"]


def test_a_snapshot_under_a_customer_managed_key_is_copied_with_it_and_an_unencrypted_one_without_keys():
    shared = [snapshot(NEWEST, 21, key=SHARE_KEY)]
    plan = World(snapshots=shared, kms_key=None).plan()
    assert plan.step("copy-out:demo").params["KmsKeyId"] == SHARE_KEY
    assert plan.step("copy-in:demo").params["Keys"] == [SHARE_KEY]
    world = World(snapshots=[snapshot(NEWEST, 21, key=None)], targets=[instance("demo")], kms_key=None)
    plan = world.plan()
    for key in ("copy-out:demo", "copy-in:demo"):
        assert "KmsKeyId" not in plan.step(key).params and "Keys" not in plan.step(key).params, key
    assert world.kms.calls == []
    # An unencrypted snapshot into an encrypted target: the target account's copy is encrypted with its key.
    world = World(snapshots=[snapshot(NEWEST, 21, key=None)], kms_key=None)
    into = world.plan().step("copy-in:demo")
    assert into.params["KmsKeyId"] == TARGET_KEY and into.params["Keys"] == []


@pytest.mark.parametrize("named", ["rds:prod-2026-11-20-03-00",
                                   "arn:aws:rds:us-east-1:210987654321:snapshot:rds:prod-2026-11-20-03-00"])
def test_snapshot_identifier_names_the_snapshot_to_copy_by_name_or_arn(named):
    plan = World().plan(snapshot_identifier=named)
    out = plan.step("copy-out:demo")
    assert out.params["SourceDBSnapshotIdentifier"] == "rds:prod-2026-11-20-03-00"
    assert out.identifier == copy_name(TARGET_ID, "demo", "rds:prod-2026-11-20-03-00")


# --- marks: from every state the copies can be in ------------------------------------------------------------------

def in_flight(side, name=COPY):
    """`name` is still being copied in that account."""
    side.snapshot(name)["Status"] = "creating"


def creating_in_source(world, first):
    world.source.state.snapshots.append(dict(snapshot(COPY, 24, kind="manual", key=SHARE_KEY, tags=[REFRESH]),
                                             Status="creating"))


# Each state: the steps of the first plan applied (or a copy still being made), and the marks of the copy steps.
P, D = "pending", "done"
STATES = {
    "source copy being made": (creating_in_source, dict(
        copy_out=(P, COPY + " is being copied"), share=(P, ""), copy_in=(P, ""), restore=(P, ""), release=(P, ""),
        drop_copy=(P, ""))),
    "source copy made": (["copy-out:demo"], dict(
        copy_out=(D, COPY + " exists"), share=(P, ""), copy_in=(P, ""), restore=(P, ""), release=(P, ""),
        drop_copy=(P, ""))),
    "source copy shared": (["copy-out:demo", "share:demo"], dict(
        copy_out=(D, COPY + " exists"), share=(D, COPY + " is shared with account 123456789012"), copy_in=(P, ""),
        restore=(P, ""), release=(P, ""), drop_copy=(P, ""))),
    "target copy being made": (["copy-out:demo", "share:demo", "copy-in:demo", lambda w, f: in_flight(w.target)],
                               dict(copy_out=(D, "the target account has its copy"),
                                    share=(D, "the target account has its copy"),
                                    copy_in=(P, COPY + " is being copied"), restore=(P, ""), release=(P, ""),
                                    drop_copy=(P, ""))),
    "target copy made": (["copy-out:demo", "share:demo", "copy-in:demo"], dict(
        copy_out=(D, "the target account has its copy"), share=(D, "the target account has its copy"),
        copy_in=(D, COPY + " exists"), restore=(P, ""), release=(P, ""), drop_copy=(P, ""))),
    "source copy deleted": (["copy-out:demo", "share:demo", "copy-in:demo", "release:demo"], dict(
        copy_out=(D, "the target account has its copy"), share=(D, "the target account has its copy"),
        copy_in=(D, COPY + " exists"), restore=(P, ""), release=(D, COPY + " is deleted"), drop_copy=(P, ""))),
    "clone restored": (["copy-out:demo", "share:demo", "copy-in:demo", "release:demo", "restore:demo"], dict(
        copy_out=(D, "temp-demo is restored from the copies"), share=(D, "the target account has its copy"),
        copy_in=(D, "temp-demo is restored from the copies"), restore=(D, "temp-demo exists (available)"),
        release=(D, COPY + " is deleted"), drop_copy=(P, ""))),
    "target copy deleted": (["copy-out:demo", "share:demo", "copy-in:demo", "release:demo", "restore:demo",
                             "drop-copy:demo"], dict(
        copy_out=(D, "temp-demo is restored from the copies"), share=(D, "the target account has its copy"),
        copy_in=(D, "temp-demo is restored from the copies"), restore=(D, "temp-demo exists (available)"),
        release=(D, COPY + " is deleted"), drop_copy=(D, COPY + " is deleted"))),
}


def marks(plan):
    return {s.key.split(":")[0].replace("-", "_"): (s.status, s.reason) for s in plan.steps
            if s.key.split(":")[0] in ("copy-out", "share", "copy-in", "restore", "release", "drop-copy")}


@pytest.mark.parametrize("state", list(STATES))
def test_the_copy_steps_are_marked_from_the_copies_in_both_accounts_and_the_clone(state):
    world = World()
    first = world.plan()
    made, expected = STATES[state]
    for change in made if isinstance(made, list) else [made]:
        if callable(change):
            change(world, first)
        else:
            world.apply(first.step(change))
    # The plan handed back and marked again (the next rds_mitosis_step call): every step, the same marks.
    handed = handed_plan("prod", "demo", first.to_dict(), account=world.account)
    assert isinstance(handed.planner, CrossAccountPlanner) and handed.mode == "snapshot"
    handed, _graph = handed.planner.remark(world.target, handed)
    assert marks(handed) == expected
    assert status(marked_plan(world.target, "arn:aws:rds:us-east-1:210987654321:db:prod", "demo", first.to_dict(),
                              account=world.account)[0]) == status(handed)
    # A new plan from the same state: the same marks for the steps it still has. Once the clone exists, the copies
    # are history: no step makes them again, and only a copy still there has a delete.
    again = world.plan()
    found = marks(again)
    assert all(found[key][0] == expected[key][0] for key in found), state
    restored = "temp-demo" in world.target.state.instances
    assert ("copy_out" in found) != restored
    assert ("release" in found) == (not restored or COPY in world.source.copies())
    assert ("drop_copy" in found) == (not restored or COPY in world.target.copies())
    # No new copy is planned beside one being made or made: one name in both accounts.
    assert {s.identifier for s in again.steps if s.kind in ("copy-snapshot", "share-snapshot", "drop-snapshot")} \
        <= {COPY}


def test_a_plan_handed_back_needs_the_source_account():
    first = World().plan()
    with pytest.raises(MitosisError, match="This plan copies from another account, and no source account connection "
                                           "is given") as info:
        handed_plan("prod", "demo", first.to_dict())
    assert "source_role_arn or source_profile" in str(info.value)
    assert not cross_account_plan_of([s.to_dict() for s in first.steps if s.account == TARGET_ACCOUNT])


# --- a refresh resumed from every interruption ------------------------------------------------------------------

def test_a_refresh_resumes_from_every_interruption_with_one_copy_in_each_account_and_none_left():
    _plan, order = World().run()
    keys = [s.key for s in order]
    assert keys.index("release:demo") > keys.index("copy-in:demo")
    assert keys.index("drop-copy:demo") > keys.index("restore:demo")
    # Once every step ran the refresh is over: a run after that is a new refresh.
    for cut in range(len(order)):
        world = World()
        plan, _order = world.run(cut)
        retiring = plan.retiring_resource_ids()
        world.run()
        # One copy in each account, whatever run made it; none left in either.
        assert (world.copies_made(SOURCE_ACCOUNT), world.copies_made(TARGET_ACCOUNT)) == (1, 1), cut
        assert world.source.copies() == world.target.copies() == [], cut
        assert world.source.shared == {}, cut
        # The source's own snapshots are untouched; nothing but snapshots changed in the source account.
        assert [s["DBSnapshotIdentifier"] for s in world.source.state.snapshots] == [
            s["DBSnapshotIdentifier"] for s in source_snapshots()], cut
        changed = {c[0] for c in world.source.calls if not c[0].startswith("Describe")}
        assert changed == {"CopyDBSnapshot", "ModifyDBSnapshotAttribute", "DeleteDBSnapshot"}, cut
        # The new primary keeps, of the run's tags, the copy it came from.
        assert sorted(world.target.state.instances) == ["demo", "demo-r"], cut
        assert world.target.state.instances["demo"]["_tags"] == [{"Key": "mitosis:snapshot", "Value": COPY}], cut
        assert world.target.state.instances["demo"]["KmsKeyId"] == TARGET_KEY, cut
        finished = world.plan(retiring)
        assert finished.phase == "complete" and not finished.pending, cut


# --- the copies an earlier run left -------------------------------------------------------------------------------

NEWER = "rds:prod-2026-11-22-03-00"
COPY_NEWER = copy_name(TARGET_ID, "demo", NEWER)


def refreshed_leaving_its_copies():
    """A refresh that finished, but whose copy in the source account was not deleted (the credentials of the source
    account had expired); and since then, a newer snapshot of the source."""
    world = World()
    plan, _order = world.run(skip={"release:demo"})
    assert world.plan(plan.retiring_resource_ids()).phase == "complete"
    assert world.source.copies() == [COPY]
    world.source.state.snapshots.append(snapshot(NEWER, 22))
    return world


def test_a_copy_an_earlier_refresh_left_is_deleted_before_anything_else_and_never_restored_from():
    world = refreshed_leaving_its_copies()
    # Its target account's copy, left too (a run stopped in the cleanup), is the earlier refresh's as well.
    world.target.state.snapshots.append(dict(world.source.snapshot(COPY), KmsKeyId=TARGET_KEY))
    assert world.target.state.instances["demo"]["_tags"] == [{"Key": "mitosis:snapshot", "Value": COPY}]
    plan = world.plan()
    assert plan.phase == "copy"
    leftovers = plan.steps[:2]
    assert [(s.key, s.kind, s.identifier, s.account, s.phase, s.depends_on) for s in leftovers] == [
        ("drop-snapshot:source:" + COPY, "drop-snapshot", COPY, "source", "copy", []),
        ("drop-snapshot:target:" + COPY, "drop-snapshot", COPY, "target", "copy", [])]
    assert all(s.params == {"DBSnapshotIdentifier": COPY} and s.status == "pending" for s in leftovers)
    assert leftovers[0].label.endswith("in the source account") and not leftovers[1].label.endswith("account")
    # This refresh copies the newer snapshot, after the leftovers are deleted; nothing reads the earlier copy.
    out = plan.step("copy-out:demo")
    assert out.identifier == COPY_NEWER and out.params["SourceDBSnapshotIdentifier"] == NEWER
    first = {s.key for s in leftovers}
    assert first <= set(out.depends_on) and first <= set(plan.step("restore:demo").depends_on)
    assert plan.step("restore:demo").params["DBSnapshotIdentifier"] == COPY_NEWER
    assert not [s for s in plan.steps if s.kind != "drop-snapshot" and COPY in json.dumps(s.params)]
    world.run()
    assert world.source.copies() == world.target.copies() == []
    assert world.target.state.instances["demo"]["_tags"] == [{"Key": "mitosis:snapshot", "Value": COPY_NEWER}]
    assert world.copies_made(SOURCE_ACCOUNT) == 2  # one per refresh


def test_a_copy_an_earlier_refresh_left_of_the_snapshot_still_newest_is_never_deleted_before_it_is_copied_in():
    """No newer snapshot since: the copy to make has the earlier one's name and the same data. Whatever the plan does
    with it, it never deletes the copy it restores from before the target account has its own."""
    world = World()
    plan, _order = world.run(skip={"release:demo"})
    plan = world.plan()
    order = sorted(plan.pending, key=lambda s: (s.wave, plan.steps.index(s)))
    deletes = [s.key for s in order if s.kind == "drop-snapshot" and s.account == SOURCE_ACCOUNT]
    assert deletes and all(order.index(plan.step(k)) > order.index(plan.step("copy-in:demo")) for k in deletes)
    assert plan.step("restore:demo").params["DBSnapshotIdentifier"] == COPY
    world.run()
    assert world.source.copies() == world.target.copies() == []
    assert world.target.state.instances["demo"]["_tags"] == [{"Key": "mitosis:snapshot", "Value": COPY}]


def test_an_unfinished_runs_copy_is_restored_from_and_not_made_again():
    """A run stopped after its copy in the source account: the next run (even with a newer snapshot since) goes on
    with that copy."""
    world = World()
    world.run(2)  # copied out and shared
    world.source.state.snapshots.append(snapshot(NEWER, 22))
    plan = world.plan()
    assert [s.key for s in plan.steps if s.kind == "drop-snapshot"] == ["release:demo", "drop-copy:demo"]
    assert status(plan)["copy-out:demo"] == status(plan)["share:demo"] == "done"
    assert plan.step("copy-in:demo").params["SourceDBSnapshotIdentifier"] == arn_of_copy(SOURCE_ID)
    assert plan.step("restore:demo").params["DBSnapshotIdentifier"] == COPY
    world.run()
    assert world.copies_made(SOURCE_ACCOUNT) == 1 and world.copies_made(TARGET_ACCOUNT) == 1
    assert world.source.copies() == world.target.copies() == []
    # The newest of them when two runs left one each; a copy being deleted or failed is none to go on with.
    world = World()
    world.run(3)
    world.source.state.snapshots.append(dict(snapshot(COPY_NEWER, 25, kind="manual", key=SHARE_KEY, tags=[REFRESH])))
    world.target.state.snapshots.append(dict(snapshot("mitosis-123456789012-demo-x", 26, kind="manual",
                                                      key=TARGET_KEY, tags=[REFRESH]), Status="deleting"))
    plan = world.plan()
    assert plan.step("restore:demo").params["DBSnapshotIdentifier"] == COPY_NEWER
    assert sorted(s.key for s in plan.steps if s.key.startswith("drop-snapshot:")) == [
        "drop-snapshot:source:" + COPY, "drop-snapshot:target:" + COPY,
        "drop-snapshot:target:mitosis-123456789012-demo-x"]


def test_discard_clone_copies_the_newest_snapshot_again_and_deletes_the_earlier_copies():
    world = World()
    world.run(4)  # the clone restored from COPY; both copies still there
    assert "temp-demo" in world.target.state.instances and world.source.copies() == world.target.copies() == [COPY]
    world.source.state.snapshots.append(snapshot(NEWER, 22))
    kept = world.plan()
    assert kept.step("copy-out:demo") is None and kept.step("restore:demo").status == "done"
    plan = world.plan(discard_clone=True)
    dropped = ["drop-snapshot:source:" + COPY, "drop-snapshot:target:" + COPY]
    assert [s.key for s in plan.steps][:2] == dropped
    assert all(plan.step(k).status == "pending" for k in dropped + ["discard-clone:demo", "copy-out:demo"])
    assert plan.step("copy-out:demo").identifier == COPY_NEWER and plan.step("copy-out:demo").depends_on == dropped
    assert plan.step("restore:demo").params["DBSnapshotIdentifier"] == COPY_NEWER
    assert "discard-clone:demo" in plan.step("restore:demo").depends_on
    world.run(discard_clone=True)
    assert world.copies_made(SOURCE_ACCOUNT) == 2 and world.source.copies() == world.target.copies() == []
    assert world.target.state.instances["demo"]["_tags"] == [{"Key": "mitosis:snapshot", "Value": COPY_NEWER}]


def test_after_the_copy_every_copy_is_a_leftover_deleted_in_the_cleanup():
    world = World()
    _plan, order = world.run()
    keys = [s.key for s in order]
    world = World()
    # Stopped in the swap, with both copies still there (their deletes run beside the swap).
    world.run(keys.index("swap-out:demo") + 1, skip={"release:demo", "drop-copy:demo"})
    assert world.source.copies() == world.target.copies() == [COPY]
    plan = world.plan()
    assert plan.phase == "swap"
    assert plan.step("copy-out:demo") is None and plan.step("release:demo") is None
    leftovers = [(s.key, s.account, s.phase, s.status) for s in plan.steps if s.kind == "drop-snapshot"]
    assert leftovers == [("drop-snapshot:source:" + COPY, "source", "cleanup", "pending"),
                         ("drop-snapshot:target:" + COPY, "target", "cleanup", "pending")]
    world.run()
    assert world.source.copies() == world.target.copies() == []
    # A copy an earlier run already deleted in the cleanup is done.
    world = World()
    world.run(keys.index("swap-in:demo") + 1, skip={"drop-copy:demo"})
    plan = world.plan()
    assert plan.phase == "cleanup" and [s.key for s in plan.steps if s.kind == "drop-snapshot"] == [
        "drop-snapshot:target:" + COPY]


# --- refused before any change ------------------------------------------------------------------------------------

def world_with(**changes):
    """A World built with `changes`; `options` are the plan's."""
    options = changes.pop("options", {})
    return World(**changes), options


def aurora_source():
    return instance("prod", DBClusterIdentifier="prod-cluster", StorageEncrypted=True, KmsKeyId=RDS_KEY)


@pytest.mark.parametrize("changes, message, hint", [
    (dict(options=dict(copy_method="replica")), "copy_method=replica cannot work across accounts: a read replica, a "
     "point-in-time restore and an Aurora clone need the source in the target's account (123456789012); prod is in "
     "account 210987654321", "Use copy_method=auto or snapshot"),
    (dict(options=dict(copy_method="point_in_time")), "copy_method=point_in_time cannot work across accounts", None),
    (dict(options=dict(copy_method="replica", snapshot_identifier=NEWEST)), "snapshot_identifier asks for a snapshot "
     "restore, which contradicts copy_method=replica", None),
    (dict(source=instance("other")), "Source instance prod was not found in account 210987654321 (reached through the "
     "role mitosis-source), region us-east-1", "that the source connection is the source's account"),
    (dict(source=aurora_source()), "prod is an instance of the Aurora cluster prod-cluster, and the target is not an "
     "Aurora cluster", "A refresh copies an Aurora cluster into an Aurora cluster"),
    (dict(kms_key=None), "rds:prod-2026-11-21-03-00 is encrypted with the AWS managed key {0} (alias/aws/rds), and a "
     "snapshot under it cannot be shared with another account".format(RDS_KEY), "Pass source_kms_key: a customer "
     "managed key of account 210987654321 whose key policy lets account 123456789012 use it"),
    (dict(kms_key=CLOSED_KEY), "The key policy of {0} does not let account 123456789012 use it (kms:Decrypt, "
     "kms:DescribeKey, kms:CreateGrant not allowed)".format(CLOSED_KEY), "allowing arn:aws:iam::123456789012:root"),
    (dict(kms_key=PARTIAL_KEY), "does not let account 123456789012 use it (kms:CreateGrant not allowed)", None),
    (dict(kms_key=OFF_KEY), "The key {0} is Disabled.".format(OFF_KEY), "Enable it, or pass another source_kms_key"),
    (dict(kms_key="alias/nothing"), "The KMS key alias/nothing was not found in account 210987654321.",
     "Pass source_kms_key as the key's ARN, id or alias"),
    (dict(targets=[instance("demo")]), "rds:prod-2026-11-21-03-00 is encrypted and the target demo is not", None),
    (dict(snapshots=source_snapshots()[2:]), "No available snapshot of prod in account 210987654321 to copy.",
     "create a snapshot (aws rds create-db-snapshot)"),
    (dict(options=dict(snapshot_identifier="nothing")), "Snapshot nothing was not found in account 210987654321.",
     "Name a snapshot of the source account"),
    (dict(options=dict(snapshot_identifier="prod-before-upgrade")), "Snapshot prod-before-upgrade is creating, not "
     "available.", None),
])
def test_what_cannot_work_across_accounts_is_refused_before_any_change(changes, message, hint):
    world, options = world_with(**changes)
    with pytest.raises(MitosisError) as info:
        world.plan(**options)
    assert message in info.value.message
    assert hint is None or hint in (info.value.hint or "")
    assert info.value.operation == "plan"
    assert world.changes() == []


def test_an_aurora_target_and_an_unreadable_source_account_are_refused_before_any_change():
    world = World(targets=[], clusters=[cluster("demo")])
    # An Aurora target: the cluster planner, which finds no source cluster in the source account.
    with pytest.raises(MitosisError, match="Source cluster prod was not found in account 210987654321"):
        world.plan()
    assert world.changes() == []
    world = World()
    world.source.refuse["DescribeDBInstances"] = "AccessDenied"
    with pytest.raises(MitosisError, match="The source account 210987654321 could not be read through the role "
                                           "mitosis-source: DescribeDBInstances failed") as info:
        world.plan()
    assert "the iam_policy play prints the source account's policy" in str(info.value)
    assert world.changes() == []
    # Another refusal of the describe of the snapshot named than "not found" is no "not found".
    world = World()
    world.source.refuse[("DescribeDBSnapshots", NEWEST)] = "Throttling"
    with pytest.raises(MitosisError, match=r"DescribeDBSnapshots failed: Throttling injected \(Throttling\)"):
        world.plan(snapshot_identifier=NEWEST)
    assert world.changes() == []


# --- applying: each step in its account; a delete in the source account left to the next run ---------------------

def copied_in():
    """Both copies made (the first plan's first three steps), the clone not yet restored: the first plan marked
    again, and the copy steps still pending."""
    world = World()
    first = world.plan()
    for key in ("copy-out:demo", "share:demo", "copy-in:demo"):
        world.apply(first.step(key))
    plan, graph = marked_plan(world.target, "prod", "demo", first.to_dict(), account=world.account)
    todo = [s for s in plan.steps if s.phase == "copy" and s.status == "pending"]
    assert [s.key for s in todo] == ["restore:demo", "modify:demo", "create:demo-r", "release:demo", "drop-copy:demo"]
    return world, plan, graph, todo


def flow(world, plan, graph, todo, lines=None):
    return Dataflow(world.target, plan, todo, dict(graph.instances), poll_interval=0, settle_time=0,
                    sleep=lambda seconds: None, progress=(lines if lines is not None else []).append,
                    source_rds=world.source)


def test_a_delete_in_the_source_account_refused_for_expired_credentials_is_left_to_the_next_run():
    world, plan, graph, todo = copied_in()
    world.source.refuse["*"] = EXPIRED  # the source account's credentials expired: every call is refused
    world.source.calls.clear()
    lines = []
    records = flow(world, plan, graph, todo, lines).run()
    left = records["release:demo"]
    assert left["status"] == "deferred" and left["account"] == "source" and left["identifier"] == COPY
    assert left["reason"].startswith("left to the next run, which does it first: DescribeDBSnapshots failed")
    assert "(ExpiredToken)" in left["reason"]
    assert "DeleteDBSnapshot {0} in the source account: left to the next run".format(COPY) in " ".join(lines)
    # The run went on: the restore, the replica and the delete of the target account's copy are done.
    assert {key: r["status"] for key, r in records.items() if key != "release:demo"} == {
        "restore:demo": "changed", "modify:demo": "changed", "create:demo-r": "changed", "drop-copy:demo": "changed"}
    assert world.source.copies() == [COPY] and world.target.copies() == []
    assert {"temp-demo", "temp-demo-r"} <= set(world.target.state.instances)
    # The release asked the source account's client (refused there), the drop the target account's.
    assert world.source.calls == [("DescribeDBSnapshots", COPY)]
    assert ("DeleteDBSnapshot", COPY) in world.target.calls


def test_a_delete_whose_credentials_expire_while_it_is_awaited_is_left_to_the_next_run_too():
    world, plan, graph, todo = copied_in()

    def delete_then_expire(DBSnapshotIdentifier):  # pylint: disable=invalid-name
        # The call is accepted; the credentials expire before the snapshot is gone.
        world.source.calls.append(("DeleteDBSnapshot", DBSnapshotIdentifier))
        world.source.snapshot(DBSnapshotIdentifier)["Status"] = "deleting"
        world.source.refuse["*"] = EXPIRED
        return {}
    world.source.delete_db_snapshot = delete_then_expire
    records = flow(world, plan, graph, todo).run()
    assert ("DeleteDBSnapshot", COPY) in world.source.calls
    assert records["release:demo"]["status"] == "deferred"
    assert all(r["status"] == "changed" for key, r in records.items() if key != "release:demo")


def test_expired_credentials_on_a_step_of_the_target_account_still_stop_the_run():
    world, plan, graph, todo = copied_in()
    world.target.refuse["DeleteDBSnapshot"] = EXPIRED
    with pytest.raises(MitosisError, match="DeleteDBSnapshot on {0} failed: ExpiredToken injected".format(COPY)) \
            as info:
        flow(world, plan, graph, todo).run()
    assert info.value.code == EXPIRED and "run the same command again" in str(info.value)
    assert world.target.copies() == [COPY]
    # The deferral is the source account's deletes' only.
    expired = MitosisError("expired", code=EXPIRED)
    assert plan.step("release:demo").deferred(expired) and not plan.step("drop-copy:demo").deferred(expired)
    assert not plan.step("copy-out:demo").deferred(expired) and not plan.step("share:demo").deferred(expired)
    assert not plan.step("release:demo").deferred(MitosisError("denied", code="AccessDenied"))


def test_apply_steps_calls_each_account_with_its_own_client_and_the_run_record_keeps_what_was_left():
    from ansible_collections.mitosis.rds.plugins.module_utils.executor import apply_steps
    world = World()
    first = world.plan()
    world.source.refuse["DeleteDBSnapshot"] = EXPIRED
    result = apply_steps(world.target, "prod", "demo", plan=first.to_dict(), phases=["copy"], poll_interval=0,
                         settle_time=0, sleep=lambda seconds: None, account=world.account)
    by_id = {s["id"]: s for s in result["steps"]}
    assert by_id["release:demo"]["status"] == "deferred"
    assert all(s["status"] == "changed" for key, s in by_id.items() if key != "release:demo")
    assert [c for c in world.source.calls if not c[0].startswith("Describe")] == [
        ("CopyDBSnapshot", COPY), ("ModifyDBSnapshotAttribute", COPY), ("DeleteDBSnapshot", COPY)]
    assert [c for c in world.target.calls if c[0] in ("CopyDBSnapshot", "ModifyDBSnapshotAttribute",
                                                      "DeleteDBSnapshot")] == [
        ("CopyDBSnapshot", COPY), ("DeleteDBSnapshot", COPY)]
    # The plan returned is marked again: the copy phase is done but for the copy left in the source account.
    assert [s["id"] for s in result["plan"] if s["phase"] == "copy" and s["status"] == "pending"] == ["release:demo"]
    run = extend_run(None, result["steps"], {"CopyDBSnapshot": 2})
    assert run["left"] == {COPY: by_id["release:demo"]["reason"]}
    assert [e["id"] for e in run["timeline"] if e.get("kind") == "copy-snapshot"] == ["copy-out:demo", "copy-in:demo"]
    lines = summarize(run, "prod", "demo", result["nodes"], result["mode"])["lines"]
    assert "{0} in the source account was not deleted, left to the next run, which does it first: DeleteDBSnapshot " \
           "on {0} failed: ExpiredToken injected (ExpiredToken)".format(COPY) in lines
    # Without waiting, each call goes to its account's client too.
    world = World()
    first = world.plan()
    apply_steps(world.target, "prod", "demo", plan=first.to_dict(), steps=["copy-out:demo"], wait=False,
                account=world.account)
    assert world.source.copies() == [COPY] and world.target.copies() == []


def test_a_run_whose_source_account_credentials_expired_still_returns_its_record():
    from ansible_collections.mitosis.rds.plugins.module_utils.executor import apply_steps
    world, plan, _graph, _todo = copied_in()
    handed = plan.to_dict()
    world.source.refuse["*"] = EXPIRED
    result = apply_steps(world.target, "prod", "demo", plan=handed, phases=["copy"], poll_interval=0, settle_time=0,
                         sleep=lambda seconds: None, account=world.account)
    assert {s["id"]: s["status"] for s in result["steps"]}["release:demo"] == "deferred"


# --- the IAM policies of both accounts ----------------------------------------------------------------------------

def by_action(policy):
    """Each statement's resources by its one action."""
    assert all(len(s["Action"]) == 1 and s["Effect"] == "Allow" for s in policy["Statement"])
    return {s["Action"][0]: s["Resource"] for s in policy["Statement"]}


def account_of(arn):
    return arn.split(":")[4]


def test_the_target_accounts_policy_reads_only_the_shared_copy_of_the_source_account():
    plan = World().plan()
    granted = by_action(iam_policy(plan, TARGET_ID, REGION))
    # Of the source account's snapshots, only the shared copy, which the copy in the target account reads.
    elsewhere = {(action, arn) for action, resources in granted.items() for arn in resources
                 if arn.startswith("arn:aws:rds:") and account_of(arn) != TARGET_ID}
    assert elsewhere == {("rds:CopyDBSnapshot", arn_of_copy(SOURCE_ID))}
    own = arn_of_copy(TARGET_ID)
    assert granted["rds:CopyDBSnapshot"] == [arn_of_copy(SOURCE_ID), own]
    assert granted["rds:DeleteDBSnapshot"] == [own]
    assert granted["rds:RestoreDBInstanceFromDBSnapshot"][3:] == [
        own, "arn:aws:rds:us-east-1:123456789012:db:temp-demo"]
    # The copy is made with its tag: RDS checks the tagging on it.
    assert own in granted["rds:AddTagsToResource"]
    # The source account's key, for the copy of the snapshot it encrypts, and the target's own.
    assert granted["kms:CreateGrant"] == granted["kms:DescribeKey"] == [TARGET_KEY, SHARE_KEY]
    for action in ("rds:ModifyDBSnapshotAttribute", "rds:DescribeDBSnapshotAttributes", "kms:GetKeyPolicy"):
        assert action not in granted


def test_the_source_accounts_policy_allows_the_copy_its_share_and_its_delete_on_this_targets_copies_only():
    plan = World().plan()
    granted = by_action(iam_policy(plan, SOURCE_ID, REGION, in_source=True))
    snapshots = "arn:aws:rds:us-east-1:210987654321:snapshot:"
    copies = snapshots + "mitosis-123456789012-demo-*"
    assert granted["rds:CopyDBSnapshot"] == [snapshots + NEWEST, snapshots + COPY]
    assert granted["rds:ModifyDBSnapshotAttribute"] == [snapshots + COPY]
    assert granted["rds:DeleteDBSnapshot"] == [snapshots + COPY, copies]
    assert granted["rds:DescribeDBSnapshotAttributes"] == [snapshots + COPY, copies]
    assert granted["rds:AddTagsToResource"] == [snapshots + COPY]
    # The copy's key (a grant RDS creates to re-encrypt with it) and the source snapshot's; planning reads any key's
    # description and policy of the account.
    assert SHARE_KEY in granted["kms:CreateGrant"]
    assert set(granted["kms:CreateGrant"]) <= set(granted["kms:DescribeKey"])
    assert granted["kms:GetKeyPolicy"] == ["arn:aws:kms:us-east-1:210987654321:key/*"]
    # On DB instances, only describes; everything in the source account.
    for action, resources in granted.items():
        assert all(account_of(arn) == SOURCE_ID for arn in resources), action
        if any(":db:" in arn for arn in resources):
            assert action.startswith("rds:Describe"), action
    assert granted["rds:DescribeDBInstances"] == ["arn:aws:rds:us-east-1:210987654321:db:prod"]
    assert sorted(granted) == sorted([
        "rds:DescribeDBInstances", "rds:DescribeDBSnapshots", "rds:CopyDBSnapshot", "rds:AddTagsToResource",
        "kms:CreateGrant", "kms:DescribeKey", "rds:ModifyDBSnapshotAttribute", "rds:DescribeDBSnapshotAttributes",
        "rds:DeleteDBSnapshot", "kms:GetKeyPolicy"])
    # A plan whose source account's steps are all done still lets the next run delete a copy left behind.
    world = World()
    world.run(skip={"release:demo"})
    world.source.state.snapshots.append(snapshot(NEWER, 22))
    granted = by_action(iam_policy(world.plan(), SOURCE_ID, REGION, in_source=True))
    assert snapshots + COPY in granted["rds:DeleteDBSnapshot"] and copies in granted["rds:DeleteDBSnapshot"]


# --- the summary --------------------------------------------------------------------------------------------------

def test_the_summary_says_how_the_data_crossed_accounts_and_what_was_left():
    reason = "left to the next run, which does it first: DeleteDBSnapshot failed (ExpiredToken)"
    records = [
        {"id": "copy-out:demo", "kind": "copy-snapshot", "phase": "copy", "node": "demo", "action": "CopyDBSnapshot",
         "identifier": COPY, "account": "source", "status": "changed", "started": 100.0, "finished": 700.0},
        {"id": "share:demo", "kind": "share-snapshot", "phase": "copy", "node": "demo",
         "action": "ModifyDBSnapshotAttribute", "identifier": COPY, "account": "source", "status": "changed",
         "started": 700.0, "finished": 701.0},
        {"id": "copy-in:demo", "kind": "copy-snapshot", "phase": "copy", "node": "demo", "action": "CopyDBSnapshot",
         "identifier": COPY, "status": "changed", "started": 701.0, "finished": 1601.0},
        {"id": "release:demo", "kind": "drop-snapshot", "identifier": COPY, "account": "source", "status": "deferred",
         "reason": reason}]
    run = extend_run(new_run(), records, {"CopyDBSnapshot": 2, "DeleteDBSnapshot": 1})
    assert run["left"] == {COPY: reason}
    assert [e.get("account") for e in run["timeline"]] == ["source", "source", None]
    # The next module call of the same run keeps what was left.
    run = extend_run(run, [], {"DescribeDBInstances": 1})
    lines = summarize(run, "prod", "demo", ["demo"], "snapshot")["lines"]
    crossed = "the data crossed accounts as {0}: copied in the source account in 10m 00s, then in the target " \
              "account in 15m 00s".format(COPY)
    left = "{0} in the source account was not deleted, {1}".format(COPY, reason)
    assert crossed in lines and left in lines and lines.index(crossed) < lines.index(left)
    # On the endpoint's clock.
    scaled = summarize(run, "prod", "demo", ["demo"], "snapshot", time_scale=2.0)["lines"]
    assert any("copied in the source account in 20m 00s, then in the target account in 30m 00s" in line
               for line in scaled)
    # A refresh within one account says neither.
    plain = summarize(extend_run(None, [dict(records[0], kind="restore")], {}), "prod", "demo", ["demo"], "snapshot")
    assert not [line for line in plain["lines"] if "crossed accounts" in line or "was not deleted" in line]


# --- the source account's connection (module.source_account) ------------------------------------------------------

class FakeClient:
    """A client of one account: who it is (GetCallerIdentity), and the event hooks the call counter registers."""

    class meta:  # pylint: disable=invalid-name
        class events:  # pylint: disable=invalid-name
            @staticmethod
            def register(*args, **kwargs):
                return None

    def __init__(self, account):
        self.account = account

    def get_caller_identity(self):
        return {"Account": self.account, "Arn": "arn:aws:iam::{0}:user/run".format(self.account)}


class FakeConnection:
    """What source_account asks of an AWSConnection: its clients, another connection through a role assumed or a
    profile (`others`), and whether that role could be assumed (`refused`: the AssumeRole error code)."""

    def __init__(self, account, others=None, refused=None):
        self.account = account
        self.others = others or {}
        self.refused = refused
        self.clients = {}

    def client(self, service):
        return self.clients.setdefault(service, FakeClient(self.account))

    def assumed(self, role_arn):
        return self.others[role_arn]

    def like(self, profile=None):
        return self.others[profile]

    def session(self):
        refused = self.refused

        class Credentials:
            @staticmethod
            def get_frozen_credentials():
                if refused:
                    raise MitosisError("AssumeRole failed: not authorized ({0})".format(refused), code=refused)
                return "frozen"

        class Session:
            @staticmethod
            def get_credentials():
                return Credentials()
        return Session()


ROLE = "arn:aws:iam::210987654321:role/Mitosis-Source"


def connect(params, others):
    from ansible_collections.mitosis.rds.plugins.module_utils.aws import Counter
    from ansible_collections.mitosis.rds.plugins.module_utils.module import source_account
    run = FakeConnection(TARGET_ID, others)
    return source_account(run, dict(params), Counter(FakeClient(TARGET_ID)))


def test_the_source_account_is_reached_through_a_role_or_a_profile_of_another_account():
    source = FakeConnection(SOURCE_ID)
    found = connect({"source_role_arn": ROLE, "source_kms_key": "alias/mitosis-share"}, {ROLE: source})
    assert (found.account, found.target_account, found.kms_key, found.via) == (
        SOURCE_ID, TARGET_ID, "alias/mitosis-share", "the role " + ROLE)
    assert found.rds is source.clients["rds"] and found.kms is source.clients["kms"]
    found = connect({"source_profile": "prod"}, {"prod": source})
    assert (found.account, found.kms_key, found.via) == (SOURCE_ID, None, "the profile prod")
    assert connect({}, {}) is None


def test_a_source_connection_that_cannot_be_one_is_refused_naming_the_role_or_profile_as_given():
    with pytest.raises(MitosisError, match="source_kms_key applies to a source in another account"):
        connect({"source_kms_key": "alias/mitosis-share"}, {})
    with pytest.raises(MitosisError, match="source_role_arn 'mitosis-source' is not the ARN of an IAM role"):
        connect({"source_role_arn": "mitosis-source"}, {})
    own = "arn:aws:iam::123456789012:role/Mitosis-Source"
    with pytest.raises(MitosisError) as info:
        connect({"source_role_arn": own}, {own: FakeConnection(TARGET_ID)})
    assert info.value.message == "Role {0} is in the target's own account 123456789012.".format(own)
    assert "Leave source_role_arn and source_profile out" in info.value.hint
    with pytest.raises(MitosisError) as info:
        connect({"source_profile": "Demo-Admin"}, {"Demo-Admin": FakeConnection(TARGET_ID)})
    assert info.value.message == "Profile Demo-Admin is in the target's own account 123456789012."
    with pytest.raises(MitosisError) as info:
        connect({"source_role_arn": ROLE}, {ROLE: FakeConnection(SOURCE_ID, refused="AccessDenied")})
    assert info.value.message == "The source account could not be reached through the role {0}: AssumeRole " \
                                 "failed: not authorized (AccessDenied)".format(ROLE)
    assert info.value.code == "AccessDenied" and "its trust policy names account 123456789012" in info.value.hint
