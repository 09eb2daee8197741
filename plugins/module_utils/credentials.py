# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clone's master credentials: managed secrets, the password rules of RDS, and a password read from
Secrets Manager. A password is only ever held in memory: plans carry a placeholder in its place."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from .aws import MitosisError, call

# What a plan shows (and sends nowhere) in place of the clone's master password.
PASSWORD_PLACEHOLDER = "(hidden: set from the run's options)"
# RDS: printable ASCII except these, and a length that depends on the engine.
FORBIDDEN = "/\"@ "
MAX_LENGTH = {"mysql": 41, "mariadb": 41, "oracle": 30, "postgres": 128, "sqlserver": 128, "db2": 255}
MIN_LENGTH = 8


def managed_secret(inst: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The instance's MasterUserSecret (SecretArn, SecretStatus, KmsKeyId), when RDS manages its password."""
    secret = (inst or {}).get("MasterUserSecret")
    return secret if secret and secret.get("SecretArn") else None


def secret_active(inst: Optional[Dict[str, Any]]) -> bool:
    """RDS has finished creating the instance's managed secret."""
    return (managed_secret(inst) or {}).get("SecretStatus") == "active"


def manages_password(inst: Optional[Dict[str, Any]]) -> bool:
    """RDS refuses read replicas of such a source, SQL Server excepted."""
    return managed_secret(inst) is not None and not str((inst or {}).get("Engine", "")).startswith("sqlserver")


def _max_length(engine: str) -> int:
    for prefix, length in MAX_LENGTH.items():
        if engine.startswith(prefix) or engine.startswith("aurora-" + prefix):
            return length
    return 128


def validate_password(engine: str, password: str, where: str) -> None:
    """RDS's master password rules for `engine`; the message names where the password came from, never its value."""
    longest = _max_length(engine)
    problem = None
    if not MIN_LENGTH <= len(password) <= longest:
        problem = "has {0} characters; {1} wants {2} to {3}".format(len(password), engine, MIN_LENGTH, longest)
    elif any(c in FORBIDDEN or not (32 < ord(c) < 127) for c in password):
        problem = "contains a character RDS refuses (only printable ASCII, without / \" @ and spaces)"
    if problem:
        raise MitosisError("The master password from {0} {1}.".format(where, problem), operation="plan",
                           hint="Choose a password RDS accepts for {0}; nothing was changed.".format(engine))


def secret_salt(client: Any, secret_id: str) -> str:
    """The masking salt a Secrets Manager secret holds: JSON with a `salt` key, or the secret's plain text."""
    value = call(client, "GetSecretValue", secret_id, SecretId=secret_id).get("SecretString") or ""
    try:
        data = json.loads(value)
    except ValueError:
        data = value
    salt = data.get("salt") if isinstance(data, dict) else data if isinstance(data, str) else None
    if not salt:
        raise MitosisError("Secret {0} holds no salt.".format(secret_id), operation="GetSecretValue",
                           identifier=secret_id, hint="Store the salt as the secret's text, or as JSON with a \"salt\" "
                           "key, or pass mask_salt instead.")
    return salt


def secret_password(client: Any, secret_id: str) -> str:
    """The `password` of a Secrets Manager secret holding JSON, as RDS and most applications store credentials."""
    value = call(client, "GetSecretValue", secret_id, SecretId=secret_id).get("SecretString")
    hint = ("Store the credentials as JSON with a \"password\" key (for example {\"username\": \"app\", "
            "\"password\": \"...\"}), or pass master_password instead.")
    try:
        data = json.loads(value or "")
    except ValueError:
        raise MitosisError("Secret {0} does not hold JSON.".format(secret_id), operation="GetSecretValue",
                           identifier=secret_id, hint=hint) from None
    if not isinstance(data, dict) or not isinstance(data.get("password"), str):
        raise MitosisError("Secret {0} has no \"password\" key.".format(secret_id), operation="GetSecretValue",
                           identifier=secret_id, hint=hint)
    return data["password"]
