# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names shared across the collection: the phases of a plan, a step's status, the RDS API actions it calls and
the tags a run writes. Plain constants, so that any module can import them without importing what uses them."""

from __future__ import annotations

COPY, PREPARE, SWAP, RESTART, CLEANUP = "copy", "prepare", "swap", "restart", "cleanup"
# The phase of a plan whose every step is done (a finished refresh, or a finished rollback).
COMPLETE = "complete"
PENDING, DONE = "pending", "done"
# The mode of a rollback's plan (a refresh's is its copy method).
ROLLBACK = "rollback"

# DB instances.
CREATE = "CreateDBInstanceReadReplica"
RESTORE = "RestoreDBInstanceFromDBSnapshot"
RESTORE_PIT = "RestoreDBInstanceToPointInTime"
PROMOTE = "PromoteReadReplica"
MODIFY = "ModifyDBInstance"
SNAPSHOT_ACTION = "CreateDBSnapshot"
DELETE = "DeleteDBInstance"
REBOOT = "RebootDBInstance"
# Aurora clusters and their instances.
CREATE_MEMBER = "CreateDBInstance"
RESTORE_CLUSTER_PIT = "RestoreDBClusterToPointInTime"
RESTORE_CLUSTER_SNAPSHOT = "RestoreDBClusterFromSnapshot"
MODIFY_CLUSTER = "ModifyDBCluster"
DELETE_CLUSTER = "DeleteDBCluster"
# Either.
TAG = "AddTagsToResource"
UNTAG = "RemoveTagsFromResource"
# The caller's steps (the role's task files), named like actions in a plan.
RESTART_ACTION = "Restart"
PREPARE_ACTION = "Prepare"
MASK_ACTION = "Mask"
MASK_CHECK_ACTION = "CheckMasking"
# Route 53: a switch by DNS moves the stack's records in one change batch.
SWITCH_ACTION = "ChangeResourceRecordSets"
# A refresh across accounts: the snapshot copies that carry the data, the share, their deletes.
COPY_SNAPSHOT = "CopyDBSnapshot"
SHARE_SNAPSHOT = "ModifyDBSnapshotAttribute"
DELETE_SNAPSHOT = "DeleteDBSnapshot"
# An Aurora clone across accounts: the source cluster shared through AWS RAM, and the share's delete.
CREATE_SHARE = "CreateResourceShare"
DELETE_SHARE = "DeleteResourceShare"

# Tags a run writes on its clones, so that a resumed run knows what is done. Never copied from a target.
OWN_TAG_PREFIX = "mitosis:"
PREPARED_TAG = "mitosis:prepared"
# Written with the clone's create or restore call when the run plans a prepare step: a later run without one must
# not put the clone live before that step succeeded (PREPARED_TAG).
PREPARE_TAG, PREPARE_REQUIRED = "mitosis:prepare", "required"
CREDENTIALS_TAG = "mitosis:credentials"
# On the new primary: the masking rules (their digest) it applied, before its backups and replicas; and, written with
# its create or restore call, that it must be masked before it goes live.
MASKED_TAG = "mitosis:masked"
MASK_TAG, MASK_REQUIRED = "mitosis:mask", "required"
# A switch by DNS (swap_method=dns): every clone carries its generation (a or b, the suffix of its name), and the new
# primary that the records point at it and are in sync ("from <the generation they left>"), both for good; a previous
# generation kept for a way back (keep_previous) is marked on its primary, and a rollback marks the one it rejects.
GENERATION_TAG = "mitosis:generation"
SWITCHED_TAG = "mitosis:switched"
KEPT_TAG = "mitosis:kept"
REJECTED_TAG = "mitosis:rejected"
# A refresh across accounts: the snapshot copies a run makes carry the refresh they are for ("<target account>:<target>")
# and the clone the copy it was restored from, for good (a later refresh never takes that copy for its own).
REFRESH_TAG = "mitosis:refresh"
SNAPSHOT_TAG = "mitosis:snapshot"
# A target graph member with this tag is never replaced (the key and value are options).
PROTECTED_TAG = "mitosis:protected"
# A run's lock (lock.py): the lock's own calls write and remove it, never the plan.
LOCK_TAG_PREFIX = "mitosis:lock:"

RESUME_HINT = "Fix the cause and run the same command again: the plan resumes from the live state."
