# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS plumbing: one error type, a client factory with retries, paginated reads.

Plain Python: nothing here knows about Ansible, so the planner and the tests can use it directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Optional

try:
    import boto3
    import botocore
    from botocore.config import Config
    from botocore.credentials import DeferredRefreshableCredentials
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
except ImportError:  # reported by the module layer with missing_required_lib
    HAS_BOTO3 = False
    BotoCoreError = ClientError = Exception

if TYPE_CHECKING:  # annotations only: never imported at run time
    from boto3.session import Session
    from botocore.client import BaseClient

# Throttling is retried by botocore itself ("adaptive" adds client-side rate limiting on top of
# "standard" exponential backoff), so every caller gets the same behaviour.
RETRY_CONFIG: Dict[str, Any] = {"mode": "adaptive", "max_attempts": 12}

# Statuses in which an instance will never become available on its own.
FAILED_STATUSES: FrozenSet[str] = frozenset([
    "failed", "storage-full", "restore-error", "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable", "insufficient-capacity", "stopped",
    "storage-config-upgrade",
])


# The AWS error codes of credentials that expired (a role session lasts an hour when chained from another).
EXPIRED_CODES: FrozenSet[str] = frozenset(["ExpiredToken", "ExpiredTokenException", "RequestExpired"])


class MitosisError(Exception):
    """The one exception of the collection: what failed, on which instance, and what to do."""

    def __init__(self, message: str, operation: Optional[str] = None, identifier: Optional[str] = None,
                 code: Optional[str] = None, request_id: Optional[str] = None, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.identifier = identifier
        self.code = code
        self.request_id = request_id
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = "{0} {1}".format(text, self.hint)
        return text

    def to_result(self) -> Dict[str, str]:
        """The fields a module adds to fail_json."""
        result = {"msg": str(self)}
        for key in ("operation", "identifier", "code", "request_id"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        return result


def error_code(exc: BaseException) -> Optional[str]:
    """The AWS error code of a botocore ClientError (None for anything else)."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code")


def from_aws_error(exc: BaseException, operation: str, identifier: Optional[str] = None,
                   hint: Optional[str] = None) -> MitosisError:
    """Turn a botocore error into a MitosisError naming the call and the AWS error code."""
    response = getattr(exc, "response", None) or {}
    code = error_code(exc)
    aws_message = response.get("Error", {}).get("Message") or str(exc)
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    target = " on {0}".format(identifier) if identifier else ""
    message = "{0}{1} failed: {2}".format(operation, target, aws_message)
    if code:
        message = "{0} ({1})".format(message, code)
    if code in EXPIRED_CODES:
        hint = (hint or "") + (" The AWS credentials expired. Get fresh credentials (a new MFA token) and run the "
                               "same command again: the clone resumes where it stopped.")
    return MitosisError(message, operation=operation, identifier=identifier, code=code,
                        request_id=request_id, hint=(hint or "").strip() or None)


class AWSConnection:
    """Connection settings in amazon.aws terms; `client()` builds retrying boto3 clients."""

    def __init__(self, region: Optional[str] = None, profile: Optional[str] = None, access_key: Optional[str] = None,
                 secret_key: Optional[str] = None, session_token: Optional[str] = None,
                 endpoint_url: Optional[str] = None, validate_certs: bool = True,
                 aws_ca_bundle: Optional[str] = None) -> None:
        self.region = region
        self.profile = profile
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token
        self.endpoint_url = endpoint_url
        self.validate_certs = validate_certs
        self.aws_ca_bundle = aws_ca_bundle
        self._session: Optional[Session] = None
        self._clients: Dict[str, BaseClient] = {}

    def session(self) -> Session:
        if self._session is None:
            try:
                self._session = boto3.session.Session(
                    aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                    aws_session_token=self.session_token, profile_name=self.profile, region_name=self.region)
            except botocore.exceptions.ProfileNotFound as exc:
                raise MitosisError("AWS profile not found: {0}".format(exc), hint="Check `profile` or AWS_PROFILE.")
        return self._session

    def client(self, service: str) -> BaseClient:
        if service not in self._clients:
            session = self.session()
            if not session.region_name:
                raise MitosisError("No AWS region given.",
                                   hint="Set `region` (or AWS_REGION / AWS_DEFAULT_REGION, or a profile's region).")
            verify = self.aws_ca_bundle if (self.validate_certs and self.aws_ca_bundle) else self.validate_certs
            self._clients[service] = session.client(
                service, endpoint_url=self.endpoint_url or None, verify=verify,
                config=Config(retries=dict(RETRY_CONFIG), user_agent_extra="mitosis.rds"))
        return self._clients[service]

    @property
    def region_name(self) -> Optional[str]:
        return self.session().region_name

    def like(self, profile: Optional[str] = None) -> "AWSConnection":
        """A connection to the same region and endpoint with the credentials of `profile`."""
        return AWSConnection(region=self.region_name, profile=profile, endpoint_url=self.endpoint_url,
                             validate_certs=self.validate_certs, aws_ca_bundle=self.aws_ca_bundle)

    def assumed(self, role_arn: str, session_name: str = "mitosis-rds") -> "AWSConnection":
        """A connection to the same region and endpoint as `role_arn`, assumed with this connection's credentials
        and assumed again before each session ends (a role session chained from another lasts at most an hour)."""
        sts = self.client("sts")

        def assume() -> Dict[str, str]:
            found = call(sts, "AssumeRole", role_arn, RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
            return {"access_key": found["AccessKeyId"], "secret_key": found["SecretAccessKey"],
                    "token": found["SessionToken"], "expiry_time": found["Expiration"].isoformat()}

        other = self.like()
        core = botocore.session.Session()
        # botocore's own refreshing credentials: assumed again shortly before they expire, in the middle of a wait.
        core._credentials = DeferredRefreshableCredentials(refresh_using=assume, method="assume-role")
        other._session = boto3.session.Session(botocore_session=core, region_name=self.region_name)
        return other


def call(client: BaseClient, operation: str, identifier: Optional[str] = None, **params: Any) -> Dict[str, Any]:
    """Call one AWS operation by its API name; errors become MitosisError."""
    method = getattr(client, botocore.xform_name(operation))
    try:
        return method(**params)
    except (BotoCoreError, ClientError) as exc:
        raise from_aws_error(exc, operation, identifier)


def paginate(client: BaseClient, operation: str, result_key: str, **params: Any) -> List[Dict[str, Any]]:
    """All items of a paginated describe, page by page (never assume one page is all)."""
    paginator = client.get_paginator(botocore.xform_name(operation))
    items: List[Dict[str, Any]] = []
    try:
        for page in paginator.paginate(**params):
            items.extend(page.get(result_key, []))
    except (BotoCoreError, ClientError) as exc:
        raise from_aws_error(exc, operation, params.get("DBInstanceIdentifier"))
    return items


class Counter:
    """Counts the API calls made through clients, by operation (the run summary and the benchmarks report them)."""

    def __init__(self, client: BaseClient) -> None:
        self.by_operation: Dict[str, int] = {}
        self.watch(client)

    def watch(self, client: BaseClient) -> None:
        client.meta.events.register("before-call.*.*", self._count)

    @property
    def count(self) -> int:
        return sum(self.by_operation.values())

    def _count(self, event_name: str = "", **kwargs: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
