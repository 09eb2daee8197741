# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module base: amazon.aws-style connection options with their environment fallbacks,
a connection built from them, and one error path (MitosisError -> fail_json)."""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Dict, List, NoReturn, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from .accounts import SourceAccount
from .aws import HAS_BOTO3, AWSConnection, Counter, MitosisError, call
from .credentials import secret_password, secret_salt
from .dns import dns_plan_of
from .executor import PHASES, POLL_INTERVAL, RENAME_SETTLE_TIME, WAIT_TIMEOUT, apply_steps
from .names import PREPARE, PROTECTED_TAG, RESTART
from .plans import AUTO, COPY_METHODS, DNS, RENAME, SWAP_METHODS, CloneOptions
from .masking import check_rules
from .steps import Secrets
from .sts import check_role_arn
from .report import extend_run, summarize

AWS_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = dict(
    region=dict(type="str", aliases=["aws_region", "ec2_region"],
                fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"])),
    profile=dict(type="str", aliases=["aws_profile"], fallback=(env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])),
    access_key=dict(type="str", aliases=["aws_access_key_id", "aws_access_key", "ec2_access_key"], no_log=False,
                    fallback=(env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"])),
    secret_key=dict(type="str", aliases=["aws_secret_access_key", "aws_secret_key", "ec2_secret_key"], no_log=True,
                    fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"])),
    session_token=dict(type="str", aliases=["aws_session_token", "security_token", "aws_security_token",
                                            "access_token"], no_log=True,
                       fallback=(env_fallback, ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN"])),
    endpoint_url=dict(type="str", aliases=["aws_endpoint_url", "ec2_url"],
                      fallback=(env_fallback, ["AWS_ENDPOINT_URL", "AWS_URL", "EC2_URL"])),
    validate_certs=dict(type="bool", default=True),
    aws_ca_bundle=dict(type="path", fallback=(env_fallback, ["AWS_CA_BUNDLE"])),
)

# What to clone into what, for the plan and the step modules (docs: the mitosis.rds.clone fragment).
CLONE_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = dict(
    source=dict(type="str"),
    target=dict(type="str", required=True),
    rollback=dict(type="bool", default=False),
    copy_method=dict(type="str", default=AUTO, choices=list(COPY_METHODS)),
    restore_snapshot=dict(type="bool", default=False),
    snapshot_identifier=dict(type="str"),
    master_password=dict(type="str", no_log=True),
    master_password_secret=dict(type="str", no_log=False),
    prepare=dict(type="bool", default=False),
    final_snapshot=dict(type="bool", default=False),
    protected_tag_key=dict(type="str", default=PROTECTED_TAG, no_log=False),
    protected_tag_value=dict(type="str", default="true"),
    discard_clone=dict(type="bool", default=False),
    mask_rules=dict(type="raw"),
    mask_salt=dict(type="str", no_log=True),
    mask_salt_secret=dict(type="str", no_log=False),
    swap_method=dict(type="str", default=RENAME, choices=list(SWAP_METHODS)),
    dns_zone=dict(type="str"),
    keep_previous=dict(type="bool", default=False),
    dns_create=dict(type="bool", default=False),
    source_profile=dict(type="str"),
    source_role_arn=dict(type="str"),
    source_kms_key=dict(type="str", no_log=False),
)
# The connection options of a source in another account (in the plan's run_options, for every step call).
SOURCE_ACCOUNT_OPTIONS = ("source_profile", "source_role_arn", "source_kms_key")
CLONE_MUTUALLY_EXCLUSIVE = [["master_password", "master_password_secret"], ["mask_salt", "mask_salt_secret"],
                            ["source_profile", "source_role_arn"]]
# A clone needs a source; a rollback puts back what the target's refresh retired.
CLONE_REQUIRED_IF = [["rollback", False, ["source"]], ["swap_method", DNS, ["dns_zone"]]]

# How a run applies its steps (docs: the mitosis.rds.clone.run fragment): rds_mitosis_step's options, which
# rds_mitosis_plan takes too, to check them before the run takes its lock.
RUN_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = dict(
    serial=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=WAIT_TIMEOUT),
    poll_interval=dict(type="float", default=POLL_INTERVAL),
    rename_settle_time=dict(type="float", default=RENAME_SETTLE_TIME),
    report_time_scale=dict(type="float", default=1.0),
)
# The ranges of numeric options, which an argument spec cannot hold (the docs state them): (lowest, highest).
RANGES: Dict[str, Tuple[float, float]] = dict(
    wait_timeout=(1, 7 * 86400),
    poll_interval=(0.01, 3600),
    rename_settle_time=(0, 3600),
    report_time_scale=(0.001, 1000000),
)

# rds_mitosis_step's options: its module (documentation, direct use) and its action plugin (progress) share them.
STEP_ARGUMENT_SPEC = dict(
    CLONE_ARGUMENT_SPEC,
    plan=dict(type="list", elements="dict"),
    steps=dict(type="list", elements="raw"),
    phases=dict(type="list", elements="str", choices=list(PHASES)),
    wait=dict(type="bool", default=True),
    run=dict(type="dict"),
    restart=dict(type="bool", default=False),
    prepared=dict(type="bool", default=False),
)
STEP_ARGUMENT_SPEC.update(RUN_ARGUMENT_SPEC)
STEP_MUTUALLY_EXCLUSIVE = [["steps", "phases"]] + CLONE_MUTUALLY_EXCLUSIVE
STEP_REQUIRED_ONE_OF = [["steps", "phases"]]


def check_ranges(params: Dict[str, Any]) -> None:
    """Refuse a numeric option out of its range, naming it, before anything is called."""
    for name, (lowest, highest) in RANGES.items():
        value = params.get(name)
        if value is not None and not lowest <= value <= highest:
            raise MitosisError("{0} must be between {1} and {2}, not {3}.".format(name, lowest, highest, value),
                               operation="options",
                               hint="Pass {0} within that range, or leave it out for its default.".format(name))


def connection_from(params: Dict[str, Any]) -> AWSConnection:
    """The AWS connection described by a module's (or an action plugin's) validated options."""
    return AWSConnection(
        region=params["region"], profile=params["profile"], access_key=params["access_key"],
        secret_key=params["secret_key"], session_token=params["session_token"], endpoint_url=params["endpoint_url"],
        validate_certs=params["validate_certs"], aws_ca_bundle=params["aws_ca_bundle"])


def clone_options(params: Dict[str, Any], connection: AWSConnection, counter: Counter,
                  read_now: bool) -> Tuple[CloneOptions, Secrets]:
    """The planning options of a module's parameters, and the run's secrets: where the clone's new master password
    comes from, the masking's salt.

    A password from a secret is read once, when first needed (at once with `read_now`, to validate a plan)."""
    given, secret_id = params["master_password"], params["master_password_secret"]
    source = "master_password" if given is not None else "master_password_secret " + secret_id if secret_id else None
    password = secret_reader(given, secret_id, secret_password, connection, counter)
    options = CloneOptions(copy_method=params["copy_method"], restore_snapshot=params["restore_snapshot"],
                           snapshot_identifier=params["snapshot_identifier"], password_source=source,
                           password=password() if password and read_now else None,
                           prepare=params["prepare"] or bool(params.get("prepare_tasks")),
                           final_snapshot=params["final_snapshot"],
                           protected_tag=(params["protected_tag_key"], params["protected_tag_value"]),
                           rollback=params["rollback"], discard_clone=params["discard_clone"],
                           mask_rules=mask_rules(params["mask_rules"]), swap_method=params["swap_method"],
                           dns_zone=params["dns_zone"], keep_previous=params["keep_previous"],
                           dns_create=params["dns_create"])
    salt = secret_reader(params["mask_salt"], params["mask_salt_secret"], secret_salt, connection, counter)
    if params["mask_salt_secret"] and read_now:
        salt()  # checked before any change
    return options, Secrets(password, salt)


def secret_reader(given: Optional[str], secret_id: Optional[str], read: Callable[[Any, str], str],
                  connection: AWSConnection, counter: Counter) -> Optional[Callable[[], str]]:
    """The value given, or the one a Secrets Manager secret holds, read once when first needed and kept nowhere
    else; None when neither is given."""
    if given is None and not secret_id:
        return None
    cache = [given] if given is not None else []

    def value() -> str:
        if not cache:
            client = connection.client("secretsmanager")
            counter.watch(client)
            cache.append(read(client, secret_id or ""))
        return cache[0]
    return value


def route53_client(connection: AWSConnection, counter: Counter, swap_method: str,
                   plan: Optional[List[Dict[str, Any]]] = None) -> Any:
    """The Route 53 client of a switch by DNS (asked for, or a plan handed back that has a switch), else None."""
    if swap_method != DNS and not dns_plan_of(plan or []):
        return None
    client = connection.client("route53")
    counter.watch(client)
    return client


def source_account(connection: AWSConnection, params: Dict[str, Any], counter: Counter) -> Optional[SourceAccount]:
    """The source account of a refresh across accounts (source_role_arn or source_profile given), else None."""
    role, profile = params.get("source_role_arn"), params.get("source_profile")
    if not role and not profile:
        if params.get("source_kms_key"):
            raise MitosisError("source_kms_key applies to a source in another account.", operation="options",
                               hint="Pass source_role_arn or source_profile too, or leave source_kms_key out.")
        return None
    if role:
        check_role_arn(role, "source_role_arn")
        other, via = connection.assumed(role), "the role {0}".format(role)
    else:
        other, via = connection.like(profile), "the profile {0}".format(profile)
    sts, rds, kms, ram = other.client("sts"), other.client("rds"), other.client("kms"), other.client("ram")
    for client in (sts, rds, kms, ram):
        counter.watch(client)
    own = connection.client("sts")
    counter.watch(own)
    target_account = call(own, "GetCallerIdentity")["Account"]
    try:
        account = role.split(":")[4] if role else call(sts, "GetCallerIdentity")["Account"]
        if role:
            other.session().get_credentials().get_frozen_credentials()  # assumed now: refused before any change
    except MitosisError as error:
        raise MitosisError("The source account could not be reached through {0}: {1}".format(via, error.message),
                           operation="options", code=error.code,
                           hint="Check that the run's credentials may assume the role (its trust policy names "
                           "account {0}) or that the profile exists.".format(target_account))
    if account == target_account:
        raise MitosisError("{0} is in the target's own account {1}.".format(via[4].upper() + via[5:], account),
                           operation="options", hint="Leave source_role_arn and source_profile out: the source is in "
                           "the run's own account.")
    return SourceAccount(rds, kms, account, target_account, params.get("source_kms_key"), via, ram)


def mask_rules(given: Any) -> Optional[Dict[str, Any]]:
    """The rules an action plugin read from the file (or a caller gave as data), checked; None when not given."""
    if given in (None, "", {}):
        return None
    if not isinstance(given, dict):
        raise MitosisError("mask_rules must be the path of a rules file (read on the controller), not {0}.".format(
            type(given).__name__), operation="options", hint="Pass the path of the YAML rules file.")
    return check_rules(given)


def run_step(connection: AWSConnection, params: Dict[str, Any], check_mode: bool, diff_mode: bool,
             progress: Optional[Callable[[str], None]] = None,
             alive: Callable[[], bool] = lambda: True) -> Dict[str, Any]:
    """rds_mitosis_step's whole work: apply the steps, and return them with the run record and its summary."""
    began = time.time()
    rds = connection.client("rds")
    counter = Counter(rds)
    keys = [given.get("id") if isinstance(given, dict) else given for given in params["steps"] or []] or None
    options, secrets = clone_options(params, connection, counter, read_now=not params["plan"])
    source = params["source"] or ""
    result = apply_steps(
        rds, source, params["target"], plan=params["plan"], steps=keys, phases=params["phases"],
        route53=route53_client(connection, counter, params["swap_method"], params["plan"]),
        account=source_account(connection, params, counter),
        options=options, password=secrets, prepared=params["prepared"], check_mode=check_mode,
        wait=params["wait"], serial=params["serial"], wait_timeout=params["wait_timeout"],
        poll_interval=params["poll_interval"],
        settle_time=params["rename_settle_time"], time_scale=params["report_time_scale"], progress=progress,
        alive=alive)
    # The caller's steps (prepare, restart) run between two calls: from the end of the one that stopped before them
    # to the start of the one told that they ran.
    ran = [name for name, flag in ((PREPARE, params["prepared"]), (RESTART, params["restart"])) if flag]
    waits = result.pop("waits_for")
    run = extend_run(params["run"], result["steps"], counter.by_operation, result["secrets"], result.pop("snapshots"),
                     ran=ran, began=began, waits=None if check_mode else waits, ended=time.time())
    result["run"] = run
    # In check mode nothing ran: every step still pending in the plan would run (the restart is the caller's).
    result["summary"] = summarize(run, source, params["target"], result["nodes"], result["mode"],
                                  serial=params["serial"], check_mode=check_mode, pending=result.pop("pending"),
                                  time_scale=params["report_time_scale"])
    if not diff_mode:
        result.pop("diff")
    return result


class MitosisModule:
    """AnsibleModule with the AWS options added and a `connection` built from them."""

    def __init__(self, argument_spec: Dict[str, Dict[str, Any]], **kwargs: Any) -> None:
        spec = dict(AWS_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        if not HAS_BOTO3:
            self.module.fail_json(msg=missing_required_lib("boto3 and botocore"))
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff_mode = self.module._diff
        self.connection = connection_from(self.params)

    def run(self, body: Callable[[MitosisModule], Dict[str, Any]]) -> NoReturn:
        """Call body(self) and exit with its result; a MitosisError becomes a clean failure."""
        try:
            check_ranges(self.params)
            result = body(self)
        except MitosisError as error:
            self.module.fail_json(**error.to_result())
        except Exception as error:  # pylint: disable=broad-except
            self.module.fail_json(msg="Unexpected error: {0}".format(error), exception=traceback.format_exc())
        self.module.exit_json(**result)
