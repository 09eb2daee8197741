# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clone's master credentials (a managed secret, a new password, or a warning), the password rules,
reading a password from Secrets Manager, and the mitosis:* tags a run writes on its clones."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.credentials import (
    PASSWORD_PLACEHOLDER, secret_password, validate_password)
from ansible_collections.mitosis.rds.plugins.module_utils.plans import flight_plan, own_tags

from .rds_state import instance
from .test_planner import SERVICE, managed_account, plan_of, seed_account, siblings_account, snapshot_account

PASSWORD = "Secret-Pass-1"
DEMO_KEY = "arn:aws:kms:us-east-1:123456789012:key/demo"


def password_plan(account=None, password=PASSWORD, source="master_password", **options):
    return plan_of(account or seed_account(), "mitosis-prod", "mitosis-demo", password=password,
                   password_source=source, **options)


def copy_steps(plan):
    return [s for s in plan.steps if s.phase == "copy"]


# --- a target whose password Secrets Manager manages ----------------------------------------


def test_a_managed_target_gives_the_new_primary_a_managed_secret_with_the_target_key():
    plan = plan_of(managed_account(), "prod", "demo")
    manage = plan.step("manage-secret:demo")
    assert manage.kind == "manage-secret" and manage.phase == "copy"
    assert manage.action == "ModifyDBInstance" and manage.identifier == "temp-demo"
    assert manage.params == {"ApplyImmediately": True, "ManageMasterUserPassword": True,
                             "MasterUserSecretKmsKeyId": DEMO_KEY}
    assert manage.status == "pending"


def test_the_managed_secret_waits_for_the_root_and_the_creates_of_every_replica():
    account = managed_account()
    # demo -> demo-r -> demo-r-r: whether RDS refuses a replica below a managed primary is not documented.
    account.instances["demo-r"]["BackupRetentionPeriod"] = 1
    account.instances["demo-r-r"] = instance("demo-r-r", parent="demo-r", BackupRetentionPeriod=0)
    account._relink()
    plan = plan_of(account, "prod", "demo")
    manage = plan.step("manage-secret:demo")
    root_keys = [s.key for s in plan.steps if s.node == "demo" and s.phase == "copy" and s is not manage]
    assert sorted(manage.depends_on) == sorted(root_keys + ["create:demo-r", "create:demo-r-r"])
    assert manage.wave > plan.step("create:demo-r-r").wave
    # Secrets only for the new primary: never on a replica's clone.
    assert [s.identifier for s in plan.steps if s.kind == "manage-secret"] == ["temp-demo"]
    # The swap waits for it.
    assert "manage-secret:demo" in plan.step("swap-out:demo").depends_on


def test_a_managed_target_takes_no_password_steps_and_no_warning():
    plan = plan_of(managed_account(), "prod", "demo")
    assert not [s for s in plan.steps if s.kind in ("password", "tag")]
    assert plan.warnings == []


def test_a_managed_target_secret_without_a_key_sends_no_key():
    account = managed_account()
    del account.instances["demo"]["MasterUserSecret"]["KmsKeyId"]
    manage = plan_of(account, "prod", "demo").step("manage-secret:demo")
    assert manage.params == {"ApplyImmediately": True, "ManageMasterUserPassword": True}


@pytest.mark.parametrize("source,named", [("master_password", "master_password"),
                                          ("master_password_secret mitosis-demo/app", "master_password_secret")])
def test_a_password_for_a_managed_target_is_refused_before_any_change(source, named):
    with pytest.raises(MitosisError) as info:
        plan_of(managed_account(), "prod", "demo", password=PASSWORD, password_source=source)
    error = info.value
    assert error.operation == "plan" and error.identifier == "demo"
    assert named + " cannot apply" in error.message
    assert "Secrets Manager" in error.message
    assert PASSWORD not in str(error)


# --- a new master password -----------------------------------------------------------------


def test_a_password_gives_a_reset_and_a_credentials_tag_on_the_new_primary():
    plan = password_plan()
    reset = plan.step("password:mitosis-demo")
    tag = plan.step("tag-credentials:mitosis-demo")
    assert (reset.kind, reset.action, reset.identifier) == ("password", "ModifyDBInstance", "temp-mitosis-demo")
    assert reset.params == {"ApplyImmediately": True, "MasterUserPassword": PASSWORD_PLACEHOLDER}
    # After the root's own calls (a reset while it is still a replica or being modified would fail).
    assert sorted(reset.depends_on) == ["create:mitosis-demo", "modify:mitosis-demo", "promote:mitosis-demo"]
    assert (tag.kind, tag.action, tag.identifier) == ("tag", "AddTagsToResource", "temp-mitosis-demo")
    assert tag.params == {"Tags": [{"Key": "mitosis:credentials", "Value": "master_password"}]}
    assert tag.depends_on == ["password:mitosis-demo"]
    # Only the new primary: replicas follow its password.
    assert [s.identifier for s in plan.steps if s.kind in ("password", "tag")] == ["temp-mitosis-demo"] * 2
    # No name moves before the password is set and recorded.
    swap_deps = plan.step("swap-out:mitosis-demo").depends_on
    assert "password:mitosis-demo" in swap_deps and "tag-credentials:mitosis-demo" in swap_deps
    assert plan.step("swap-out:mitosis-demo-replica").depends_on == swap_deps


def test_the_password_appears_nowhere_in_the_plan_or_the_flight_plan():
    plan = password_plan(prepare=True)
    assert PASSWORD not in json.dumps(plan.to_dict())
    assert PASSWORD not in json.dumps([vars(s) for s in plan.steps], default=str)
    text = flight_plan(plan)
    assert PASSWORD not in text
    assert PASSWORD_PLACEHOLDER in text


def test_a_password_from_a_secret_records_the_secret_name_not_the_password():
    plan = password_plan(source="master_password_secret mitosis-demo/app")
    tag = plan.step("tag-credentials:mitosis-demo")
    assert tag.params["Tags"] == [{"Key": "mitosis:credentials", "Value": "master_password_secret mitosis-demo/app"}]
    assert PASSWORD not in json.dumps(plan.to_dict()) and PASSWORD not in flight_plan(plan)


def test_a_password_plan_has_no_warning():
    assert password_plan().warnings == []
    assert "Warning:" not in flight_plan(password_plan())


def test_a_password_rds_would_refuse_fails_the_plan_without_showing_it():
    bad = "Bad/Pass-word"
    with pytest.raises(MitosisError) as info:
        password_plan(password=bad)
    assert info.value.operation == "plan"
    assert bad not in str(info.value) and "master_password" in info.value.message


def test_the_password_length_follows_the_target_engine():
    long_password = "Abcdefgh-1" * 5  # 50 characters: too long for MySQL, fine for PostgreSQL
    with pytest.raises(MitosisError, match="50 characters; mysql wants 8 to 41"):
        password_plan(password=long_password)
    plan = plan_of(siblings_account(), "pg-prod", "pg-demo", password=long_password,
                   password_source="master_password")
    assert plan.step("password:pg-demo") is not None


# --- no credentials --------------------------------------------------------------------------


def test_no_credentials_for_an_unmanaged_target_warns_that_the_clone_keeps_the_source_password():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo")
    assert len(plan.warnings) == 1
    assert "keeps mitosis-prod's master password" in plan.warnings[0]
    assert "master_password" in plan.warnings[0]
    assert "Warning: The clone keeps mitosis-prod's master password" in flight_plan(plan)
    assert not [s for s in plan.steps if s.kind in ("password", "manage-secret", "tag")]


def test_a_point_in_time_clone_of_a_managed_source_into_an_unmanaged_target_also_warns():
    # The restore does not recreate the source's managed secret: the clone has the source's password.
    account = managed_account()
    del account.instances["demo"]["MasterUserSecret"]
    plan = plan_of(account, "prod", "demo")
    assert plan.mode == "point_in_time"
    assert len(plan.warnings) == 1 and "keeps prod's master password" in plan.warnings[0]


# --- validate_password -----------------------------------------------------------------------


@pytest.mark.parametrize("engine,longest", [("mysql", 41), ("mariadb", 41), ("postgres", 128),
                                            ("oracle-ee", 30), ("sqlserver-se", 128)])
def test_password_length_limits_per_engine(engine, longest):
    validate_password(engine, "Pq7-" * 2, "master_password")  # 8: the shortest allowed
    validate_password(engine, ("Pq7-" * 40)[:longest], "master_password")
    too_long = ("Zx9_" * 70)[:longest + 1]
    with pytest.raises(MitosisError) as info:
        validate_password(engine, too_long, "master_password")
    assert "{0} characters; {1} wants 8 to {2}".format(longest + 1, engine, longest) in info.value.message
    assert too_long not in str(info.value)


def test_a_password_shorter_than_eight_characters_is_refused():
    with pytest.raises(MitosisError) as info:
        validate_password("postgres", "Short-1", "master_password")
    assert "7 characters" in info.value.message
    assert "Short-1" not in str(info.value)


@pytest.mark.parametrize("char", ["/", '"', "@", " ", "\t", "\u00e9"])
def test_a_password_with_a_character_rds_refuses_is_refused_without_showing_it(char):
    password = "Secret" + char + "Pass-1"
    with pytest.raises(MitosisError) as info:
        validate_password("mysql", password, "master_password_secret mitosis-demo/app")
    error = info.value
    assert "refuses" in error.message
    assert "master_password_secret mitosis-demo/app" in error.message
    assert password not in str(error) and "Secret" + char not in str(error)
    assert error.operation == "plan"


def test_a_password_rds_accepts_passes():
    validate_password("mysql", "Aa1!#$%^&*()-_=+[]{};:,.<>?~`|", "master_password")


# --- secret_password -------------------------------------------------------------------------


class FakeSecrets:
    """A Secrets Manager client holding one secret string (or raising one error)."""

    def __init__(self, value=None, error=None):
        self.value = value
        self.error = error
        self.asked = []

    def get_secret_value(self, SecretId):  # pylint: disable=invalid-name
        self.asked.append(SecretId)
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": self.error + " injected"}}, "GetSecretValue")
        return {"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + SecretId + "-AbCdEf",
                "SecretString": self.value}


def test_secret_password_reads_the_password_key_of_a_json_secret():
    client = FakeSecrets(json.dumps({"username": "app", "password": "From-The-Secret-9", "host": "db"}))
    assert secret_password(client, "mitosis-demo/app") == "From-The-Secret-9"
    assert client.asked == ["mitosis-demo/app"]


@pytest.mark.parametrize("value,expected", [
    ("plain-Password-in-the-clear", "does not hold JSON"),
    (None, "does not hold JSON"),
    ("", "does not hold JSON"),
    (json.dumps({"username": "app", "pass": "Misnamed-Key-7"}), 'has no "password" key'),
    (json.dumps({"password": 12345678}), 'has no "password" key'),
    (json.dumps(["Listed-Password-3"]), 'has no "password" key'),
])
def test_secret_password_refuses_a_secret_without_a_password_and_never_shows_its_value(value, expected):
    with pytest.raises(MitosisError) as info:
        secret_password(FakeSecrets(value), "mitosis-demo/app")
    error = info.value
    assert expected in error.message and "mitosis-demo/app" in error.message
    assert error.identifier == "mitosis-demo/app" and error.operation == "GetSecretValue"
    text = json.dumps(error.to_result()) + str(error) + repr(error.args)
    for secret in ("plain-Password-in-the-clear", "Misnamed-Key-7", "12345678", "Listed-Password-3"):
        assert secret not in text
    assert "password" in error.hint


def test_secret_password_reports_an_unreadable_secret_with_the_aws_code():
    with pytest.raises(MitosisError) as info:
        secret_password(FakeSecrets(error="ResourceNotFoundException"), "mitosis-demo/nope")
    assert info.value.code == "ResourceNotFoundException"
    assert info.value.identifier == "mitosis-demo/nope"


# --- the tags a run writes -------------------------------------------------------------------


OWN = [{"Key": "mitosis:prepared", "Value": "true"}, {"Key": "mitosis:credentials", "Value": "master_password"}]


def test_own_tags_drops_only_the_mitosis_prefix():
    kept = [SERVICE, {"Key": "mitosis", "Value": "x"}, {"Key": "Mitosis:Owner", "Value": "y"},
            {"Key": "team", "Value": "mitosis:rds"}]
    assert own_tags(kept + OWN) == kept


def test_mitosis_tags_of_the_target_are_not_copied_to_the_clone():
    account = seed_account()
    account.instances["mitosis-demo"]["_tags"] = [SERVICE] + OWN
    account.instances["mitosis-demo-replica"]["_tags"] = OWN + [{"Key": "IsReplica", "Value": "true"}]
    plan = plan_of(account, "mitosis-prod", "mitosis-demo")
    assert plan.step("create:mitosis-demo").params["Tags"] == [SERVICE]
    assert plan.step("create:mitosis-demo-replica").params["Tags"] == [{"Key": "IsReplica", "Value": "true"}]


@pytest.mark.parametrize("method", ["point_in_time", "snapshot"])
def test_mitosis_tags_of_the_target_are_not_copied_by_a_restore(method):
    account = snapshot_account()
    account.instances["demo"]["_tags"] = OWN + [SERVICE]
    plan = plan_of(account, "prod", "demo", copy_method=method)
    assert plan.steps[0].kind == "restore"
    assert plan.steps[0].params["Tags"] == [SERVICE]


def test_a_target_with_only_mitosis_tags_sends_no_tags():
    account = seed_account()
    account.instances["mitosis-demo"]["_tags"] = list(OWN)
    assert "Tags" not in plan_of(account, "mitosis-prod", "mitosis-demo").step("create:mitosis-demo").params


def copied(account, plan):
    """Applies every copy-phase call of `plan` to `account` but the password and tag steps; returns `plan`."""
    for step in plan.steps:
        if step.phase == "copy" and step.kind not in ("tag", "password"):
            account.apply(step.to_dict())
    return plan


def test_prepare_steps_wait_for_the_whole_copy_and_hold_the_swap():
    plan = plan_of(seed_account(), "mitosis-prod", "mitosis-demo", prepare=True)
    prepare, tag = plan.step("prepare:mitosis-demo"), plan.step("tag-prepared:mitosis-demo")
    assert prepare.phase == tag.phase == "prepare"
    assert (prepare.kind, prepare.action, prepare.identifier) == ("prepare", "Prepare", "temp-mitosis-demo")
    assert sorted(prepare.depends_on) == sorted(s.key for s in copy_steps(plan))
    # The tag waits for the whole copy itself too: the executor leaves the caller's prepare step to the caller.
    assert sorted(tag.depends_on) == sorted([s.key for s in copy_steps(plan)] + [prepare.key])
    assert tag.params == {"Tags": [{"Key": "mitosis:prepared", "Value": "true"}]}
    assert {prepare.key, tag.key} <= set(plan.step("swap-out:mitosis-demo").depends_on)


def test_prepare_steps_are_done_once_the_clone_has_the_prepared_tag():
    account = seed_account()
    plan = copied(account, plan_of(account, "mitosis-prod", "mitosis-demo", prepare=True))
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo", prepare=True)
    assert all(s.status == "done" for s in copy_steps(resumed))
    assert resumed.step("prepare:mitosis-demo").status == "pending"
    assert resumed.step("tag-prepared:mitosis-demo").status == "pending"
    # Another tag does not count; the prepared tag on a replica's clone does not either.
    account.apply({"action": "AddTagsToResource", "identifier": "temp-mitosis-demo",
                   "params": {"Tags": [{"Key": "mitosis:credentials", "Value": "x"}]}})
    account.apply({"action": "AddTagsToResource", "identifier": "temp-mitosis-demo-replica",
                   "params": {"Tags": [{"Key": "mitosis:prepared", "Value": "true"}]}})
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo", prepare=True)
    assert resumed.step("prepare:mitosis-demo").status == "pending"
    account.apply(plan.step("tag-prepared:mitosis-demo").to_dict())
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo", prepare=True)
    for key in ("prepare:mitosis-demo", "tag-prepared:mitosis-demo"):
        assert resumed.step(key).status == "done"
        assert "mitosis:prepared" in resumed.step(key).reason


def test_prepare_steps_are_done_once_the_swap_started():
    account = seed_account()
    plan = copied(account, plan_of(account, "mitosis-prod", "mitosis-demo", prepare=True))
    account.apply(plan.step("swap-out:mitosis-demo-replica").to_dict())
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo", prepare=True)
    assert resumed.phase == "swap"
    assert resumed.step("prepare:mitosis-demo").status == "done"
    assert resumed.step("tag-prepared:mitosis-demo").status == "done"
    assert "before the swap started" in resumed.step("prepare:mitosis-demo").reason


def test_the_password_step_is_done_only_once_the_credentials_tag_records_it():
    account = seed_account()
    plan = copied(account, password_plan(account))
    account.apply(dict(plan.step("password:mitosis-demo").to_dict(), params={"ApplyImmediately": True}))
    resumed = password_plan(account)
    # Set but not recorded: an interrupted run sets it again.
    assert resumed.step("password:mitosis-demo").status == "pending"
    assert resumed.step("tag-credentials:mitosis-demo").status == "pending"
    account.apply(plan.step("tag-credentials:mitosis-demo").to_dict())
    resumed = password_plan(account)
    assert resumed.step("password:mitosis-demo").status == "done"
    assert resumed.step("tag-credentials:mitosis-demo").status == "done"
    assert not [s for s in resumed.pending if s.phase == "copy"]


def test_the_managed_secret_step_is_done_once_the_clone_has_a_managed_secret():
    account = managed_account()
    plan = plan_of(account, "prod", "demo")
    for step in copy_steps(plan):
        if step.kind != "manage-secret":
            account.apply(step.to_dict())
    assert plan_of(account, "prod", "demo").step("manage-secret:demo").status == "pending"
    account.apply(plan.step("manage-secret:demo").to_dict())
    assert account.instances["temp-demo"]["MasterUserSecret"]["KmsKeyId"] == DEMO_KEY
    resumed = plan_of(account, "prod", "demo")
    assert resumed.step("manage-secret:demo").status == "done"


def test_an_earlier_runs_own_tags_are_removed_even_when_this_run_writes_none():
    account = seed_account()
    full = plan_of(account, "mitosis-prod", "mitosis-demo", prepare=True)
    for step in full.steps:
        if step.kind == "swap-out":
            break
        account.apply(step.to_dict())
    # The run that wrote mitosis:prepare (with the create) and mitosis:prepared stopped before the swap; this one has no
    # prepare step.
    resumed = plan_of(account, "mitosis-prod", "mitosis-demo")
    untag = resumed.step("untag:mitosis-demo")
    assert untag is not None and untag.params["TagKeys"] == ["mitosis:prepare", "mitosis:prepared"]
    assert untag.status == "pending"


def test_a_password_from_another_source_is_set_again():
    account = seed_account()
    options = {"password": "First-Pass-1", "password_source": "master_password"}
    plan = plan_of(account, "mitosis-prod", "mitosis-demo", **options)
    for step in plan.steps:
        if step.phase != "copy":
            break
        account.apply(step.to_dict())
    assert plan_of(account, "mitosis-prod", "mitosis-demo", **options).step("password:mitosis-demo").status == "done"
    other = plan_of(account, "mitosis-prod", "mitosis-demo", password="Other-Pass-2",
                    password_source="master_password_secret demo/app")
    assert other.step("password:mitosis-demo").status == "pending"
    assert other.step("tag-credentials:mitosis-demo").status == "pending"


def test_the_diff_shows_what_the_credential_and_tag_steps_change():
    account = seed_account()
    plan = plan_of(account, "mitosis-prod", "mitosis-demo", password="First-Pass-1", password_source="master_password")
    for step in plan.steps:
        if step.kind == "password":
            break
        account.apply(step.to_dict())
    diff = plan.step("password:mitosis-demo").diff(account.graph())
    assert diff["after"]["temp-mitosis-demo"]["changes"] == {"MasterUserPassword": PASSWORD_PLACEHOLDER}
    diff = plan.step("tag-credentials:mitosis-demo").diff(account.graph())
    assert diff["after"]["temp-mitosis-demo"]["changes"]["Tags"][0]["Key"] == "mitosis:credentials"
