# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What to clone into what: the options shared by the plan and the step modules.
    DOCUMENTATION = r"""
options:
  source:
    description:
      - Identifier of the instance whose data is cloned (for example the production primary). Never modified.
      - For an Aurora stack, the source cluster's identifier (or one of its instances' identifiers).
      - Required unless O(rollback=true).
    type: str
  rollback:
    description:
      - Plan (or apply) the rollback of the target's refresh instead of a clone. Possible after the swap and before
        the cleanup, while the C(old-*) instances exist. Each clone X moves aside to C(rej-X), C(old-X) takes its name
        back, the caller restarts the application, then the C(rej-*) instances are deleted, leaves first. No source
        is needed; the options that shape a clone do not apply.
      - With O(swap_method=dns), possible while the generation a refresh left exists (kept with O(keep_previous), or
        before its cleanup); the live generation is tagged C(mitosis:rejected), one change batch points the records
        back at the earlier generation (waited for until in sync and the TTL), the caller restarts the application,
        then the rejected generation is renamed to C(rej-*) and deleted.
    type: bool
    default: false
  target:
    description:
      - Identifier of the root of the replication graph to replace (for example the demo primary).
      - For an Aurora stack, the target cluster's identifier (or one of its instances' identifiers). The clone is
        C(temp-<cluster>), restored from the source cluster with the target cluster's attributes, with one
        C(CreateDBInstance) per target instance (the target's writer first, so it is the writer again); the swap
        renames the clusters and the instances (C(ModifyDBCluster) C(NewDBClusterIdentifier)), so cluster, reader
        and instance endpoints keep their names; the cleanup deletes the C(old-*) instances, then C(old-<cluster>).
    type: str
    required: true
  copy_method:
    description:
      - How the new primary gets the source's data.
      - V(replica) creates a read replica of O(source) and promotes it (the freshest copy; needs source and target
        in one VPC, and a source whose master password Secrets Manager does not manage, which RDS refuses to
        replicate).
      - V(point_in_time) restores O(source) to its latest restorable time (a few minutes old) into the target's
        subnet group, with C(RestoreDBInstanceToPointInTime); needs the source's automated backups.
      - V(snapshot) restores a snapshot, O(snapshot_identifier) or the newest available snapshot of O(source).
      - V(auto) uses V(replica) unless the source manages its master password in Secrets Manager or source and
        target are in different VPCs; then V(point_in_time) (or V(snapshot) when the source has no automated
        backups). The flight plan says which method and why.
      - For Aurora clusters, V(clone) (what V(auto) picks) is an Aurora clone, C(RestoreDBClusterToPointInTime)
        with C(RestoreType=copy-on-write) at the latest restorable time, ready in minutes whatever the size;
        V(auto) falls back to the newest cluster snapshot when cloning cannot work (a source without instances, a
        target in another VPC whose subnets are in zones the source has none in). V(point_in_time) is a full
        copy (C(RestoreType=full-copy)); V(snapshot) restores a cluster snapshot (C(RestoreDBClusterFromSnapshot));
        V(replica) does not apply.
    type: str
    choices: [auto, replica, clone, point_in_time, snapshot]
    default: auto
  restore_snapshot:
    description:
      - V(true) is a synonym of O(copy_method=snapshot).
    type: bool
    default: false
  snapshot_identifier:
    description:
      - The snapshot to restore (its name, or its ARN for a shared snapshot; a cluster snapshot for an Aurora
        stack); implies O(copy_method=snapshot).
        Without it the snapshot path restores the newest available snapshot of O(source).
    type: str
  master_password:
    description:
      - The clone's master password, set on the new primary before the swap (its replicas follow). Never shown,
        not even at C(-vvv); the plan carries a placeholder.
      - Without it or O(master_password_secret), the clone keeps the source's master password (the plan warns),
        unless the target's master password is managed by Secrets Manager, in which case the clone gets a
        managed secret of its own and neither option applies.
    type: str
  master_password_secret:
    description:
      - A Secrets Manager secret (name or ARN) holding JSON with a C(password) key, as RDS and most applications
        store credentials; its password becomes the clone's master password, so an application reading that
        secret keeps working. Read with C(secretsmanager:GetSecretValue) when planning and before the password
        is set.
      - Mutually exclusive with O(master_password).
    type: str
  final_snapshot:
    description:
      - Take a final snapshot of the old primary (C(CreateDBSnapshot) on C(old-<target>)) before deleting it; its
        replicas cannot have one. It is named C(<target>-final-<DbiResourceId of the retired instance>), so a resumed
        run finds it and deletes without taking a second one.
    type: bool
    default: false
  protected_tag_key:
    description:
      - A target graph member tagged O(protected_tag_key)=O(protected_tag_value) is never replaced; planning fails
        before any change.
    type: str
    default: mitosis:protected
  protected_tag_value:
    description:
      - The value of O(protected_tag_key) that protects a member, compared without case.
    type: str
    default: "true"
  discard_clone:
    description:
      - Before the swap, delete the C(temp-*) clones of the target that an earlier run copied (its instances, leaves
        first, and for an Aurora stack its C(temp-<cluster>)), and copy again. Only these are deleted (they hold a
        copy of the source and nothing else). Each is deleted only while it is the very clone the plan names (by its
        resource id).
      - Needed to go on without a prepare step after a run whose prepare step did not succeed (such a clone carries
        the tag C(mitosis:prepare=required) and is never swapped in unprepared), or to start a stale copy over.
      - Once the swap has started it does not apply (the plan warns, and the refresh goes on). Leave it out when you
        resume a run it started; a run with it copies again whatever clone it finds.
    type: bool
    default: false
  swap_method:
    description:
      - How the clone takes the target's place.
      - V(rename) (the default) renames the instances, X to C(old-X) and C(temp-X) to X; each name is unreachable
        while it moves (minutes).
      - V(dns) keeps every instance name and moves the application's names instead, the CNAME records of
        O(dns_zone) that point at the target stack's endpoints. The stack is cloned into the other generation's
        names (C(<X>-a) or C(<X>-b), alternating; the first refresh of X clones into C(<X>-a)), with the target's
        attributes; then one Route 53 change batch (atomic) points every record at its clone's endpoint, and the run
        waits until Route 53 reports it C(INSYNC) and then the records' TTL, before the restart. Then the generation
        the records left is renamed to C(old-*) and deleted (or kept, O(keep_previous)). No name the application
        uses is ever unreachable.
      - With V(dns), O(target) may name the record of the primary (for example C(db.demo.internal)) or the primary
        instance, and the IAM policy allows C(route53:ChangeResourceRecordSets) on that zone only, with
        C(route53:GetChange) and the zone's reads. DB instances only (not Aurora yet).
    type: str
    choices: [rename, dns]
    default: rename
  dns_zone:
    description:
      - With O(swap_method=dns), the Route 53 hosted zone (private or public) of the records the application uses,
        by id (C(Z0123456789ABC)) or by name (C(demo.internal)). Required then.
      - Planning fails before any change when the zone does not exist, when no CNAME record of it points at the
        stack, when O(target) names a record that points at no DB instance, or when a record's TTL is over an hour.
    type: str
  keep_previous:
    description:
      - With O(swap_method=dns), keep the generation the switch leaves instead of deleting it (its primary gets the
        tag C(mitosis:kept=true)), so that going back is one change of the records (O(rollback=true)). The next
        refresh retires it first (renamed to C(old-*), deleted) and clones into its names.
    type: bool
    default: false
  dns_create:
    description:
      - With O(swap_method=dns), when no record of O(dns_zone) points at the stack yet (a first switch by DNS), create
        them first, one CNAME record per member named C(<instance>.<zone>) (for example
        C(mitosis-demo.demo.internal)) with a TTL of 60 s, pointing at today's instances (one change batch, waited
        for until in sync); the refresh then moves them. Point the application at these names.
      - O(target) then names the primary instance.
    type: bool
    default: false
  source_role_arn:
    description:
      - The source is in another AWS account (production in its own account, the target stack in the run's); this is
        the IAM role of the source account that the run assumes with its own credentials to read the source and to copy
        and share its snapshot. Assumed again before each session ends (a role session chained from another lasts at
        most an hour).
      - Across accounts only a snapshot carries the data (O(copy_method=auto) picks it; V(replica) and
        V(point_in_time) are refused). In the source account the newest snapshot of O(source) (or
        O(snapshot_identifier), a name or ARN there) is copied to a manual snapshot encrypted with O(source_kms_key)
        and shared with the target account; the target account copies it with the target's own key and restores the
        clone from it (an Aurora cluster the same way, with its cluster snapshot); the refresh then goes on as within
        one account (O(swap_method) either way); each copy is deleted as soon as the next one holds the data. Both copies are named
        C(mitosis-<target account>-<target>-<snapshot>) and tagged C(mitosis:refresh=<target account>:<target>), so a
        resumed run finds them; a copy a run could not delete (expired credentials) is deleted by the next run first.
      - O(source) may then be the source instance's ARN (of that account and this region).
      - Mutually exclusive with O(source_profile).
    type: str
  source_profile:
    description:
      - The source is in another AWS account, reached with this profile's credentials (of the same region and
        endpoint); see O(source_role_arn) for what the run does there.
    type: str
  source_kms_key:
    description:
      - With O(source_role_arn) or O(source_profile), the customer managed KMS key of the source account (id, ARN or
        C(alias/...)) that the snapshot copy to share is encrypted with. Its key policy must allow the target account
        C(kms:Decrypt), C(kms:DescribeKey) and C(kms:CreateGrant); checked before any change.
      - Needed when the source is encrypted with the AWS managed key C(aws/rds), whose snapshots cannot be shared;
        without it the copy keeps the source snapshot's own customer managed key (checked the same way).
    type: str
  mask_rules:
    description:
      - The path of a YAML file of masking rules (read and checked on the controller before anything else, naming
        the bad line; see M(mitosis.rds.rds_mask) for its form). With it the new primary is copied without
        automated backups, masked over a database connection before its backups are switched on and before its
        replicas are created, and every masked column is then checked on the primary and on each replica, all
        before any name moves.
      - On the clone, before anything is masked, every table and column the rules name must exist and every column
        that looks personal must be masked or listed under C(allow); otherwise the run stops, naming them, and the
        target keeps serving its old data.
      - The masking logs in as the master user with O(master_password) or O(master_password_secret); for a target
        whose password Secrets Manager manages, with a temporary random password the run sets on the clone and keeps
        in memory only (the managed secret replaces it).
      - Like O(copy_method), it shapes the plan, so M(mitosis.rds.rds_mitosis_step) reads it only when it plans
        itself (without a C(plan)).
      - An Aurora clone is masked through its writer before its readers are created; Aurora keeps continuous
        backups whatever the run does, so for their retention a point-in-time restore to a time before the masking
        returns unmasked data (the flight plan says so).
    type: raw
  mask_salt:
    description:
      - The salt of the C(hash) and C(email) strategies of O(mask_rules). Never shown. With the same salt, the same
        value masks to the same text in every refresh; without one, the new primary's resource id is the salt.
      - Mutually exclusive with O(mask_salt_secret).
    type: str
  mask_salt_secret:
    description:
      - A Secrets Manager secret (name or ARN) holding the salt, as its text or as JSON with a C(salt) key; read
        when the run plans (so a missing one fails before any change) and when it masks, kept nowhere. The IAM
        policy allows C(secretsmanager:GetSecretValue) on this secret only.
    type: str
  prepare:
    description:
      - Plan a prepare step after the copy and the credentials, before the swap (the caller runs it, for
        example the C(mitosis.rds.clone) role's C(mitosis_prepare_tasks)). Once it succeeded, a tag
        C(mitosis:prepared) on the new primary records it, so a resumed run does not repeat it.
      - The copy's create (or restore) call writes the tag C(mitosis:prepare=required) on the new primary (an Aurora
        stack, its cluster); a later plan without a prepare step refuses, before any change, to swap in a clone whose
        prepare step has not succeeded (see O(discard_clone)).
      - Like O(copy_method) and O(snapshot_identifier), it shapes the plan, so M(mitosis.rds.rds_mitosis_step)
        reads it only when it plans itself (without a C(plan)).
    type: bool
    default: false
"""

    # How a run applies its steps: rds_mitosis_step's options, which rds_mitosis_plan checks before the run's lock.
    RUN = r"""
options:
  serial:
    description:
      - One step at a time in plan order, each waited for before the next starts, as the original stack-mitosis
        does. Slower; the baseline of the benchmark and a choice for cautious users.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for any one step (from when it could start) before failing; the clone can be resumed by
        running again. From 1 to 604800 (a week).
    type: int
    default: 14400
  poll_interval:
    description:
      - Seconds between two polls; each poll is one C(DescribeDBInstances) for every step in flight. From 0.01 to
        3600.
    type: float
    default: 30
  rename_settle_time:
    description:
      - After a rename, how many seconds the new name must stay C(available) to count as renamed when the reboot
        that follows a rename was not observed between two polls. From 0 to 3600.
    type: float
    default: 120
  report_time_scale:
    description:
      - Factor applied to the durations reported (progress lines and the summary). V(1) on AWS; the embedded
        development endpoint uses it to report its simulated clock. From 0.001 to 1000000.
    type: float
    default: 1.0
"""
