# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each step kind on its own, for a DB instance and for an Aurora cluster: when marking finds it done (or
pending), when its call has completed, when an earlier run's call is still under way, and which refusals mean that
it already happened (or only "later")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.cluster import ClusterGraph
from ansible_collections.mitosis.rds.plugins.module_utils.dns import DNS_ROLLBACK_WORDS, DNS_WORDS
from ansible_collections.mitosis.rds.plugins.module_utils.plans import REFRESH_WORDS, ROLLBACK_WORDS
from ansible_collections.mitosis.rds.plugins.module_utils.steps import (KINDS, Marking, Secrets, Watch, make_step,
                                                                        mark_steps)
from ansible_collections.mitosis.rds.plugins.module_utils.steps import gone as is_gone

from .rds_state import REGION, cluster, instance, member

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!x"


def refused(code):
    return MitosisError("refused", code=code)


def live_of(*descs):
    """Live state by ref, as the executor's describe returns it."""
    return ClusterGraph([d for d in descs if "DBInstanceIdentifier" in d],
                        [d for d in descs if "DBInstanceIdentifier" not in d], REGION).instances


def marked(step, phase, *descs, others=(), words=REFRESH_WORDS, records=None, snapshots=None, shared=None):
    """The step's mark (status, reason) from the live `descs` in `phase`, among `others`; with `records`, the Route 53
    records a switch by DNS reads (by name, each with the instance it points at, as dns.DnsGraph has them); with
    `snapshots` and `shared`, the copies of a refresh across accounts (by account, then name) and the accounts each
    source account's copy is shared with (as accounts.SharedGraph has them)."""
    graph = ClusterGraph([d for d in descs if "DBInstanceIdentifier" in d],
                         [d for d in descs if "DBInstanceIdentifier" not in d], REGION)
    if records is not None:
        graph.records = records
    if snapshots is not None:
        graph.snapshots = {"source": {}, "target": {}}
        for account, found in snapshots.items():
            graph.snapshots[account] = {s["DBSnapshotIdentifier"]: s for s in found}
        graph.shared_with = shared or {}
    mark_steps(Marking(phase, graph, [step] + list(others), words))
    return step.status, step.reason


def done(step, live, watch=None, now=0, settle=0):
    return step.complete(live, watch or Watch(step, live), now, settle, REGION)


class FakeRDS:
    """Answers the describe an already-done check makes."""

    class meta:  # pylint: disable=invalid-name
        region_name = REGION

    def __init__(self, *descs):
        self.descs = descs

    def get_paginator(self, name):
        descs = self.descs

        class Pages:
            @staticmethod
            def paginate(**params):
                key = "DBClusters" if name == "describe_db_clusters" else "DBInstances"
                wanted = set(params["Filters"][0]["Values"])
                field = "DBClusterIdentifier" if key == "DBClusters" else "DBInstanceIdentifier"
                yield {key: [d for d in descs if d.get(field) in wanted
                             and ("DBInstanceIdentifier" in d) == (key == "DBInstances")]}
        return Pages()


# The kinds each test below covers: every kind of the steps' table is here.
COVERED = {
    "test_create_of_a_replica_and_of_an_aurora_instance": ["create"],
    "test_restore_of_an_instance_and_of_an_aurora_cluster": ["restore"],
    "test_promote_of_the_read_replica_clone": ["promote"],
    "test_modify_of_an_instance_and_of_an_aurora_cluster": ["modify"],
    "test_password_of_an_instance_and_of_an_aurora_cluster": ["password"],
    "test_manage_secret_of_an_instance_and_of_an_aurora_cluster": ["manage-secret"],
    "test_tag_and_untag_of_an_instance_and_of_an_aurora_cluster": ["tag", "untag"],
    "test_prepare_and_restart_are_the_callers": ["prepare", "restart"],
    "test_swap_out_and_swap_in": ["swap-out", "swap-in"],
    "test_delete_and_discard": ["delete", "discard", "delete-kept"],
    "test_final_snapshot_of_the_retired_primary": ["final-snapshot"],
    "test_the_masking_steps": ["mask-login", "mask", "mask-check"],
    "test_retire_moves_that_very_generation_aside": ["retire"],
    "test_switch_moves_every_record_in_one_change_then_waits_for_sync_and_the_ttl": ["switch"],
    "test_records_are_created_pointing_at_the_live_generation": ["records"],
    "test_switched_and_keep_are_marked_by_their_tags": ["switched", "keep"],
    "test_the_snapshot_copies_of_a_refresh_across_accounts": ["copy-snapshot"],
    "test_the_share_of_the_source_accounts_copy": ["share-snapshot"],
    "test_the_deletes_of_the_copies_once_the_next_holds_the_data": ["drop-snapshot"],
    "test_the_share_of_a_source_cluster_through_ram_and_its_delete": ["share-cluster", "unshare-cluster"],
}


def test_every_kind_is_covered_here():
    assert sorted(k for kinds in COVERED.values() for k in kinds) == sorted(KINDS)
    assert all(name in globals() for name in COVERED)


# --- create -----------------------------------------------------------------------------------------------------

def test_create_of_a_replica_and_of_an_aurora_instance():
    replica = make_step("create:db", "copy", "create", "CreateDBInstanceReadReplica", "temp-db",
                        {"SourceDBInstanceIdentifier": "prod"}, "db")
    aurora = make_step("create:x", "copy", "create", "CreateDBInstance", "temp-x", {"DBClusterIdentifier": "temp-c"},
                       "x")
    clone, elsewhere = instance("temp-db", parent="prod"), instance("temp-db", parent="other")
    new = member("temp-x", "temp-c")
    for step, mine, other in ((replica, clone, elsewhere), (aurora, new, member("temp-x", "another"))):
        assert marked(step, "copy") == ("pending", "")
        assert marked(step, "copy", dict(mine, DBInstanceStatus="creating"))[1] == step.identifier + " is being created"
        assert marked(step, "copy", mine) == ("done", step.identifier + " exists (available)")
        assert marked(step, "swap") == ("done", "the copy finished before the swap started")
        assert done(step, live_of(mine)) and not done(step, live_of(other))
        assert not done(step, live_of(dict(mine, DBInstanceStatus="creating")))
        assert step.in_progress(live_of(mine)) and not step.in_progress({})
        taken = refused("DBInstanceAlreadyExists")
        assert step.already_done(FakeRDS(mine), taken) and not step.already_done(FakeRDS(other), taken)
        assert not step.already_done(FakeRDS(), taken) and not step.already_done(FakeRDS(mine), refused("Throttling"))
        assert step.not_yet(refused("InvalidDBInstanceState")) and not step.not_yet(taken)
        assert step.creates and not step.caller


# --- restore ----------------------------------------------------------------------------------------------------

def test_restore_of_an_instance_and_of_an_aurora_cluster():
    snapshot = make_step("restore:db", "copy", "restore", "RestoreDBInstanceFromDBSnapshot", "temp-db",
                         {"DBSnapshotIdentifier": "s1"}, "db")
    pit = make_step("restore:db", "copy", "restore", "RestoreDBInstanceToPointInTime", "temp-db",
                    {"SourceDBInstanceIdentifier": "prod", "UseLatestRestorableTime": True}, "db")
    clone = make_step("restore-cluster:c", "copy", "restore", "RestoreDBClusterToPointInTime", "temp-c",
                      {"SourceDBClusterIdentifier": "prod", "RestoreType": "copy-on-write"}, "c", cluster=True)
    assert snapshot.call_params({}, None)["DBInstanceIdentifier"] == "temp-db"
    assert pit.call_params({}, None)["TargetDBInstanceIdentifier"] == "temp-db"
    assert clone.call_params({}, None)["DBClusterIdentifier"] == "temp-c"
    for step, made, taken in ((snapshot, instance("temp-db"), "DBInstanceAlreadyExists"),
                              (clone, cluster("temp-c"), "DBClusterAlreadyExistsFault")):
        assert marked(step, "copy") == ("pending", "")
        assert marked(step, "copy", made) == ("done", step.identifier + " exists (available)")
        assert done(step, live_of(made)) and not done(step, {})
        assert step.in_progress(live_of(made)) and not step.in_progress({})
        assert step.already_done(FakeRDS(made), refused(taken)) and not step.already_done(FakeRDS(), refused(taken))
        assert step.not_yet(refused("InvalidDBClusterStateFault"))


# --- promote ----------------------------------------------------------------------------------------------------

def test_promote_of_the_read_replica_clone():
    step = make_step("promote:db", "copy", "promote", "PromoteReadReplica", "temp-db", {"BackupRetentionPeriod": 1},
                     "db")
    replica, standalone = instance("temp-db", parent="prod", BackupRetentionPeriod=0), instance("temp-db")
    assert marked(step, "copy", replica, instance("prod")) == ("pending", "")
    assert marked(step, "copy", standalone) == ("done", "temp-db is standalone")
    assert done(step, live_of(standalone)) and not done(step, live_of(replica))
    # Promoted, but the backups it enables are not on yet.
    assert not done(step, live_of(dict(standalone, BackupRetentionPeriod=0)))
    assert not step.in_progress(live_of(replica)) and not step.already_done(None, refused("InvalidDBInstanceState"))
    assert step.skipped_when_met and step.start(None, live_of(standalone), None, REGION) == \
        "temp-db already has these values"


# --- modify -----------------------------------------------------------------------------------------------------

def test_modify_of_an_instance_and_of_an_aurora_cluster():
    window = {"ApplyImmediately": True, "PreferredMaintenanceWindow": "tue:07:00-tue:07:30"}
    for step, desc in ((make_step("modify:db", "copy", "modify", "ModifyDBInstance", "temp-db", window, "db"),
                        instance("temp-db")),
                       (make_step("modify-cluster:c", "copy", "modify", "ModifyDBCluster", "temp-c", window, "c",
                                  cluster=True), cluster("temp-c"))):
        met = dict(desc, PreferredMaintenanceWindow="tue:07:00-tue:07:30")
        assert marked(step, "copy", desc) == ("pending", "differs in PreferredMaintenanceWindow")
        assert marked(step, "copy", met) == ("done", step.identifier + " already has these values")
        assert done(step, live_of(met)) and not done(step, live_of(desc))
        assert not done(step, live_of(dict(met, PendingModifiedValues={"PreferredMaintenanceWindow": "x"})))
        assert not step.in_progress(live_of(desc)) and not step.already_done(None, refused("InvalidParameterValue"))
        assert step.start(None, live_of(met), None, REGION) == step.identifier + " already has these values"
        assert step.not_yet(refused("InvalidDBClusterStateFault")) and not step.not_yet(refused("Throttling"))


# --- password ---------------------------------------------------------------------------------------------------

def test_password_of_an_instance_and_of_an_aurora_cluster():
    for action, ident, desc, is_cluster in (("ModifyDBInstance", "temp-db", instance("temp-db"), False),
                                            ("ModifyDBCluster", "temp-c", cluster("temp-c"), True)):
        reset = make_step("password:n", "copy", "password", action, ident,
                          {"ApplyImmediately": True, "MasterUserPassword": "(hidden)"}, "n", cluster=is_cluster)
        tag = make_step("tag-credentials:n", "copy", "tag", "AddTagsToResource", ident,
                        {"Tags": [{"Key": "mitosis:credentials", "Value": "master_password"}]}, "n", cluster=is_cluster)
        tagged = dict(desc, TagList=[{"Key": "mitosis:credentials", "Value": "master_password"}])
        assert marked(reset, "copy", desc, others=[tag])[0] == "pending"
        assert marked(reset, "copy", tagged, others=[tag]) == (
            "done", "{0} has the tag mitosis:credentials=master_password".format(ident))
        # Another source of the password: set it again.
        assert marked(reset, "copy", dict(desc, TagList=[{"Key": "mitosis:credentials", "Value": "other"}]),
                      others=[tag])[0] == "pending"
        watch = Watch(reset, live_of(desc))
        assert not done(reset, live_of(dict(desc, PendingModifiedValues={"MasterUserPassword": "****"})), watch, 0, 99)
        assert done(reset, live_of(desc), watch, 1, 99)  # seen pending, then gone: done
        resetting = dict(desc, DBInstanceStatus="resetting-master-credentials", Status="resetting-master-credentials")
        assert reset.in_progress(live_of(resetting)) and not reset.in_progress(live_of(desc))
        assert not reset.already_done(None, refused("InvalidParameterValue"))
        with pytest.raises(MitosisError, match="needs the clone's master password"):
            reset.call_params(live_of(desc), None)
        assert reset.call_params(live_of(desc), Secrets(lambda: "Secret-1"))["MasterUserPassword"] == "Secret-1"


# --- manage-secret ----------------------------------------------------------------------------------------------

def test_manage_secret_of_an_instance_and_of_an_aurora_cluster():
    for action, desc, is_cluster in (("ModifyDBInstance", instance("temp-db"), False),
                                     ("ModifyDBCluster", cluster("temp-db"), True)):
        step = make_step("manage-secret:db", "copy", "manage-secret", action, "temp-db",
                         {"ApplyImmediately": True, "ManageMasterUserPassword": True}, "db", cluster=is_cluster)
        creating = dict(desc, MasterUserSecret={"SecretArn": SECRET, "SecretStatus": "creating"})
        active = dict(desc, MasterUserSecret={"SecretArn": SECRET, "SecretStatus": "active"})
        assert marked(step, "copy", desc) == ("pending", "")
        assert marked(step, "copy", creating) == ("pending", "its managed master secret is creating")
        assert marked(step, "copy", active) == ("done", "temp-db has a managed master secret")
        assert done(step, live_of(active)) and not done(step, live_of(creating))
        assert step.in_progress(live_of(creating)) and not step.in_progress(live_of(desc))
        assert not step.already_done(None, refused("InvalidParameterCombination"))
        graph = ClusterGraph([active] if not is_cluster else [], [active] if is_cluster else [], REGION)
        assert step.new_secret(graph, "copy") == SECRET and step.makes_secret


# --- tag and untag ----------------------------------------------------------------------------------------------

def test_tag_and_untag_of_an_instance_and_of_an_aurora_cluster():
    for desc, is_cluster, arn in ((instance("temp-db"), False, "DBInstanceArn"),
                                  (cluster("temp-db"), True, "DBClusterArn")):
        tag = make_step("tag-prepared:db", "prepare", "tag", "AddTagsToResource", "temp-db",
                        {"Tags": [{"Key": "mitosis:prepared", "Value": "true"}]}, "db", cluster=is_cluster)
        tagged = dict(desc, TagList=[{"Key": "mitosis:prepared", "Value": "true"}])
        assert marked(tag, "copy", desc) == ("pending", "")
        assert marked(tag, "copy", tagged) == ("done", "temp-db has the tag mitosis:prepared=true")
        assert done(tag, live_of(tagged)) and not done(tag, live_of(desc))
        assert tag.call_params(live_of(desc), None)["ResourceName"] == desc[arn]
        assert not tag.in_progress(live_of(desc)) and not tag.already_done(None, refused("DBInstanceNotFound"))
        untag = make_step("untag:db", "cleanup", "untag", "RemoveTagsFromResource", "temp-db",
                          {"TagKeys": ["mitosis:prepared"]}, "db", cluster=is_cluster)
        assert marked(untag, "cleanup", tagged) == ("pending", "")
        assert marked(untag, "cleanup", desc) == ("done", "temp-db has none of the run's tags")
        assert marked(untag, "swap", desc)[0] == "pending"
        assert done(untag, live_of(desc)) and not done(untag, live_of(tagged))
        assert untag.call_params(live_of(desc), None)["ResourceName"] == desc[arn]
        assert not untag.in_progress(live_of(tagged)) and not untag.already_done(None, refused("Throttling"))


# --- prepare and restart: the caller's --------------------------------------------------------------------------

def test_prepare_and_restart_are_the_callers():
    prepare = make_step("prepare:db", "prepare", "prepare", "Prepare", "temp-db", {}, "db")
    tag = make_step("tag-prepared:db", "prepare", "tag", "AddTagsToResource", "temp-db",
                    {"Tags": [{"Key": "mitosis:prepared", "Value": "true"}]}, "db")
    assert prepare.caller and marked(prepare, "copy", instance("temp-db"), others=[tag])[0] == "pending"
    assert marked(prepare, "copy", instance("temp-db", TagList=[{"Key": "mitosis:prepared", "Value": "true"}]),
                  others=[tag]) == ("done", "temp-db has the tag mitosis:prepared=true")
    restart = make_step("restart:db", "restart", "restart", "Restart", "db", {}, "db")
    for words, retired in ((REFRESH_WORDS, "old-"), (ROLLBACK_WORDS, "rej-")):
        delete = make_step("delete:db", "cleanup", "delete", "DeleteDBInstance", retired + "db", {}, "db")
        assert restart.caller and marked(restart, "swap", words=words)[0] == "pending"
        assert marked(restart, "cleanup", instance(retired + "db"), others=[delete], words=words) == (
            "pending", "runs (again) before any {0}* instance is deleted".format(retired))
        assert marked(restart, "cleanup", others=[delete], words=words) == (
            "done", "every {0}* instance is deleted".format(retired))
    assert not restart.in_check_count and prepare.in_check_count


# --- swap-out and swap-in ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("is_cluster", [False, True], ids=["instance", "cluster"])
def test_swap_out_and_swap_in(is_cluster):
    key = "NewDBClusterIdentifier" if is_cluster else "NewDBInstanceIdentifier"
    action = "ModifyDBCluster" if is_cluster else "ModifyDBInstance"

    def desc(name, resource, **attrs):
        made = cluster(name, **attrs) if is_cluster else instance(name, **attrs)
        made["DbClusterResourceId" if is_cluster else "DbiResourceId"] = resource
        return made

    out = make_step("swap-out:db", "swap", "swap-out", action, "db", {"ApplyImmediately": True, key: "old-db"}, "db",
                    cluster=is_cluster)
    into = make_step("swap-in:db", "swap", "swap-in", action, "temp-db", {"ApplyImmediately": True, key: "db"}, "db",
                     cluster=is_cluster)
    original, clone = desc("db", "r-original"), desc("temp-db", "r-clone")
    moved, arrived = desc("old-db", "r-original"), desc("db", "r-clone")
    renaming = {"Status" if is_cluster else "DBInstanceStatus": "renaming"}
    # Marks, as a refresh reads them.
    assert marked(out, "swap", original, clone) == ("pending", "")
    assert marked(out, "swap", dict(original, **renaming), clone) == ("pending", "rename in progress")
    assert marked(out, "swap", moved, clone) == ("done", "old-db exists")
    assert marked(into, "swap", moved, clone) == ("pending", "")
    assert marked(into, "swap", moved, dict(clone, **renaming)) == ("pending", "rename in progress")
    assert marked(into, "swap", moved, arrived) == ("done", "db is the clone")
    assert marked(out, "cleanup", arrived) == marked(into, "cleanup", arrived) == ("done", "the swap finished")
    # A rollback's words: its swap-in puts the original instance back.
    back = make_step("back:db", "swap", "swap-in", action, "old-db", {"ApplyImmediately": True, key: "db"}, "db",
                     cluster=is_cluster)
    assert marked(back, "swap", desc("rej-db", "r-clone"), desc("db", "r-original"), words=ROLLBACK_WORDS) == (
        "done", "db is the original instance")
    # Applying: the swap-out frees its name before its rename is over; the swap-in follows its instance.
    watch = Watch(out, live_of(original))
    assert not out.released(live_of(original), watch)
    assert out.released(live_of(arrived), watch)  # another instance holds the name: it was freed
    assert not done(out, live_of(arrived), watch, 0, 99)
    assert done(out, live_of(arrived, moved), watch, 1, 0)
    if is_cluster:  # a cluster's rename reboots nothing: available under its new name, it is done
        assert done(into, live_of(arrived), Watch(into, live_of(clone)), 0, 99)
    else:
        watch = Watch(into, live_of(clone))
        assert not done(into, live_of(arrived), watch, 0, 99)
        assert not done(into, live_of(dict(arrived, DBInstanceStatus="rebooting")), watch, 1, 99)
        assert done(into, live_of(arrived), watch, 2, 99)
    # An earlier run's rename still under way, seen by status, by the pending identifier, or by the new name.
    assert out.in_progress(live_of(dict(original, **renaming)))
    pending = {"PendingModifiedValues": {"DBClusterIdentifier" if is_cluster else "DBInstanceIdentifier": "old-db"}}
    assert out.in_progress(live_of(dict(original, **pending)))
    assert out.in_progress(live_of(moved)) and not out.in_progress(live_of(original))
    taken = refused("DBClusterAlreadyExistsFault" if is_cluster else "DBInstanceAlreadyExists")
    assert into.not_yet(taken) and not out.not_yet(taken)
    assert not out.already_done(None, taken) and not into.already_done(None, taken)
    assert out.window == "opens" and into.window == "closes" and into.takes_freed_name


# --- deletes: the cleanup's and a discard -----------------------------------------------------------------------

@pytest.mark.parametrize("is_cluster", [False, True], ids=["instance", "cluster"])
def test_delete_and_discard(is_cluster):
    action = "DeleteDBCluster" if is_cluster else "DeleteDBInstance"
    make = cluster if is_cluster else instance
    status = "Status" if is_cluster else "DBInstanceStatus"
    resource = "DbClusterResourceId" if is_cluster else "DbiResourceId"
    delete = make_step("delete:db", "cleanup", "delete", action, "old-db", {"SkipFinalSnapshot": True}, "db",
                       cluster=is_cluster)
    old = make("old-db")
    assert marked(delete, "cleanup", old) == ("pending", "")
    assert marked(delete, "cleanup", dict(old, **{status: "deleting"})) == ("pending", "delete in progress")
    assert marked(delete, "cleanup") == ("done", "old-db is deleted")
    assert done(delete, {}) and not done(delete, live_of(dict(old, **{status: "deleting"})))
    assert delete.in_progress(live_of(dict(old, **{status: "deleting"}))) and not delete.in_progress(live_of(old))
    gone = "DBClusterNotFoundFault" if is_cluster else "DBInstanceNotFound"
    assert delete.already_done(None, refused(gone)) and not delete.already_done(None, refused("AccessDenied"))
    assert delete.retires

    clone = make("temp-db")
    discard = make_step("discard-clone:db", "copy", "discard", action, "temp-db", {}, "db", cluster=is_cluster)
    discard.resource_id = clone[resource]
    create = make_step("create:db", "copy", "create", "CreateDBInstanceReadReplica", "temp-db",
                       {"SourceDBInstanceIdentifier": "prod"}, "db")
    assert marked(discard, "copy", clone, others=[create]) == (
        "pending", "a copy an earlier run made ({0})".format(clone[resource]))
    # While it is pending, the copy is done again whatever the clone's name shows.
    assert create.status == "pending" and "copied again" in create.reason
    newer = dict(clone, **{resource: "r-new"})
    assert marked(discard, "copy", newer, others=[create]) == ("done", "temp-db is deleted")
    # That very copy under another name (a kept generation moved aside to old-*) is not deleted yet.
    renamed = dict(clone, **{"DBClusterIdentifier" if is_cluster else "DBInstanceIdentifier": "old-temp-db"})
    assert marked(discard, "copy", renamed, others=[create]) == (
        "pending", "a copy an earlier run made ({0})".format(clone[resource]))
    assert marked(discard, "copy", renamed, newer, others=[create])[0] == "pending"
    assert marked(discard, "copy", dict(renamed, **{status: "deleting"}), newer, others=[create])[0] == "pending"
    assert done(discard, live_of(newer), Watch(discard)) and not done(discard, live_of(clone), Watch(discard))
    assert discard.start(None, live_of(newer), None, REGION) == "temp-db is deleted"
    assert discard.in_progress(live_of(dict(clone, **{status: "deleting"})))
    assert discard.already_done(None, refused(gone)) and not discard.retires

    # A generation kept for a way back, moved aside to old-*: deleted before the copy takes its names, as a discard.
    kept = make("old-db-a")
    delete_kept = make_step("delete-kept:db-a", "copy", "delete-kept", action, "old-db-a", {}, "db",
                            cluster=is_cluster)
    delete_kept.resource_id = kept[resource]
    assert marked(delete_kept, "copy", kept, others=[create]) == (
        "pending", "the generation an earlier refresh kept ({0})".format(kept[resource]))
    assert create.reason == "copied once the kept generation is deleted"
    still = dict(kept, **{"DBClusterIdentifier" if is_cluster else "DBInstanceIdentifier": "db-a"})
    assert marked(delete_kept, "copy", still, others=[create])[0] == "pending"
    assert marked(delete_kept, "copy", others=[create]) == ("done", "old-db-a is deleted")
    assert delete_kept.clears and not delete_kept.retires and not delete_kept.in_node_order


# --- final-snapshot ---------------------------------------------------------------------------------------------

def test_final_snapshot_of_the_retired_primary():
    step = make_step("final-snapshot:db", "cleanup", "final-snapshot", "CreateDBSnapshot", "old-db",
                     {"DBSnapshotIdentifier": "db-final-x"}, "db")
    assert marked(step, "cleanup", instance("old-db")) == ("pending", "")
    assert marked(step, "cleanup") == ("done", "old-db is deleted, after its final snapshot")
    watch = Watch(step, live_of(instance("old-db")))
    watch.snapshot_status = "creating"
    assert not done(step, live_of(instance("old-db")), watch)
    watch.snapshot_status = "available"
    assert done(step, live_of(instance("old-db")), watch)
    watch.snapshot_status = "failed"
    with pytest.raises(MitosisError, match="db-final-x is in status 'failed'"):
        done(step, live_of(instance("old-db")), watch)
    assert step.kept_snapshot() == "db-final-x" and not step.already_done(None, refused("DBSnapshotAlreadyExists"))


# --- masking ----------------------------------------------------------------------------------------------------

RULES = {"database": "shop", "tables": {"public.customers": {"email": "email"}}, "allow": []}
MASKING = {"Engine": "postgres", "Database": "shop", "Rules": RULES}


def test_the_masking_steps():
    desc = instance("temp-db", engine="postgres")
    managed = dict(desc, MasterUserSecret={"SecretArn": SECRET, "SecretStatus": "creating"})
    login = make_step("mask-login:db", "copy", "mask-login", "ModifyDBInstance", "temp-db",
                      {"ApplyImmediately": True, "MasterUserPassword": "(hidden)"}, "db")
    mask = make_step("mask:db", "copy", "mask", "Mask", "temp-db", MASKING, "db")
    tag = make_step("tag-masked:db", "copy", "tag", "AddTagsToResource", "temp-db",
                    {"Tags": [{"Key": "mitosis:masked", "Value": "abc"}]}, "db")
    check = make_step("mask-check:db", "copy", "mask-check", "CheckMasking", "temp-db",
                      dict(MASKING, Replicas=["temp-db-r"]), "db")
    # The temporary password is set again by every run, until the managed secret replaces it.
    assert marked(login, "copy", desc)[0] == "pending"
    assert marked(login, "copy", managed)[0] == "done"
    assert marked(login, "swap", desc)[0] == "done"
    secrets = Secrets()
    first = login.call_params(live_of(desc), secrets)["MasterUserPassword"]
    assert first == secrets.login(login) and len(first) >= 24
    assert login.call_params(live_of(desc), secrets)["MasterUserPassword"] not in (first, "(hidden)")
    assert "(hidden)" not in login.detail("refresh") and "memory" in login.detail("refresh")
    watch = Watch(login, live_of(desc))
    assert not done(login, live_of(dict(desc, PendingModifiedValues={"MasterUserPassword": "****"})), watch, 0, 99)
    assert done(login, live_of(desc), watch, 1, 99)
    # The masking is done once the tag records its rules (with their digest: other rules mask again).
    assert marked(mask, "copy", desc, others=[tag])[0] == "pending"
    assert marked(mask, "copy", dict(desc, TagList=[{"Key": "mitosis:masked", "Value": "abc"}]), others=[tag]) == (
        "done", "temp-db has the tag mitosis:masked=abc")
    assert marked(mask, "copy", dict(desc, TagList=[{"Key": "mitosis:masked", "Value": "old"}]),
                  others=[tag])[0] == "pending"
    assert marked(mask, "swap", desc, others=[tag])[0] == "done"
    assert not done(mask, live_of(desc))  # not run yet
    detail = mask.detail("refresh")
    assert 'ALTER TABLE "public"."customers" ALTER COLUMN "email" TYPE <its type> USING' in detail
    assert "%(salt)s" not in detail and "mitosis_masking.salt" in detail  # a setting, never the salt
    # Without a password the masking cannot log in: it says so before connecting.
    with pytest.raises(MitosisError, match="needs the clone's master password"):
        mask.connect(dict(desc, Endpoint={"Address": "127.0.0.1", "Port": 5432}, MasterUsername="u"), Secrets())
    # The check runs again in every run of the copy; once the managed secret is there, it ran before it.
    assert marked(check, "copy", desc)[0] == "pending"
    assert marked(check, "copy", managed)[0] == "done"
    assert "temp-db-r" in check.detail("refresh")
    for step in (mask, check):
        assert step.grants(lambda kind, name: kind + ":" + name, "prod") == []


# --- swap_method=dns: retire, switch, records, switched, keep ---------------------------------------------------

ZONE = "demo.internal."
ZONE_ID = "Z0DEMO"
ARN = "arn:{0}:rds:us-east-1:123456789012:{1}:{2}"


def arn_in(partition="aws"):
    return lambda kind, name: ARN.format(partition, kind, name)


def address(name):
    return "{0}.c1abc.us-east-1.rds.amazonaws.com".format(name)


def reachable(name, **attrs):
    """An instance with its endpoint, as a record's value names it."""
    return instance(name, Endpoint={"Address": address(name), "Port": 3306}, **attrs)


def pointing(holders, ttl=60):
    """The zone's records by name, each with the instance it points at (`holders`: record name -> instance)."""
    return {name: {"Name": name, "TTL": ttl, "Value": address(holder), "Holder": holder}
            for name, holder in holders.items()}


class FakeRoute53:
    """Records each change batch; GetChange answers `statuses` in turn (the last one from then on)."""

    def __init__(self, statuses=("PENDING", "INSYNC")):
        self.changes = []
        self.polls = []
        self.statuses = list(statuses)

    def change_resource_record_sets(self, HostedZoneId, ChangeBatch):  # pylint: disable=invalid-name
        self.changes.append({"HostedZoneId": HostedZoneId, "ChangeBatch": ChangeBatch})
        return {"ChangeInfo": {"Id": "/change/C{0}".format(len(self.changes)), "Status": "PENDING"}}

    def get_change(self, Id):  # pylint: disable=invalid-name
        self.polls.append(Id)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"ChangeInfo": {"Id": Id, "Status": status}}


RECORDS = [{"Name": "db-ro.demo.internal.", "TTL": 30, "Value": address("demo-r"), "Node": "demo-r"},
           {"Name": "db.demo.internal.", "TTL": 60, "Value": address("demo"), "Node": "demo"}]
TO_A = {"demo": "demo-a", "demo-r": "demo-r-a"}


def switch_step(kind="switch", clones=None, records=None):
    return make_step("{0}:demo".format("create-records" if kind == "records" else kind), "copy" if kind == "records"
                     else "swap", kind, "ChangeResourceRecordSets", "demo-a" if kind == "switch" else "demo",
                     {"HostedZoneId": ZONE_ID, "Zone": ZONE, "Records": records or RECORDS,
                      "Clones": clones or TO_A}, "demo")


def switched_step(value="from demo"):
    """The tag a switch to demo-a writes (its value names the instance the records left)."""
    return make_step("tag-switched:demo", "swap", "switched", "AddTagsToResource", "demo-a",
                     {"Tags": [{"Key": "mitosis:switched", "Value": value}]}, "demo")


def switch_tag(value):
    return [{"Key": "mitosis:switched", "Value": value}]


class FakeTagging:
    """Records each AddTagsToResource call."""

    def __init__(self):
        self.calls = []

    def add_tags_to_resource(self, **params):
        self.calls.append(params)
        return {}


def test_retire_moves_that_very_generation_aside():
    live = reachable("demo")
    moved = dict(live, DBInstanceIdentifier="old-demo")
    retire = make_step("retire:demo", "cleanup", "retire", "ModifyDBInstance", "demo",
                       {"ApplyImmediately": True, "NewDBInstanceIdentifier": "old-demo"}, "demo")
    retire.resource_id = live["DbiResourceId"]
    assert retire.to_dict()["resource_id"] == "db-DEMO" and retire.kind == "retire" and not retire.in_node_order
    # Marked by the instance it retires, under whatever name holds it.
    assert marked(retire, "cleanup", live) == ("pending", "")
    assert marked(retire, "cleanup", dict(live, DBInstanceStatus="renaming")) == ("pending", "rename in progress")
    assert marked(retire, "cleanup", moved) == ("done", "demo is no longer db-DEMO")
    assert marked(retire, "cleanup", dict(live, DbiResourceId="db-OTHER")) == ("done", "demo is no longer db-DEMO")
    assert marked(retire, "swap", live)[0] == "pending"  # the phase does not make it done, unlike a swap's renames
    # A cleanup retire clears no name for the copy; one before the copy (a kept generation) does.
    create = make_step("create:demo", "copy", "create", "CreateDBInstanceReadReplica", "demo-a",
                       {"SourceDBInstanceIdentifier": "prod"}, "demo")
    assert not retire.clears
    kept = make_step("retire-kept:demo", "copy", "retire", "ModifyDBInstance", "demo-a",
                     {"ApplyImmediately": True, "NewDBInstanceIdentifier": "old-demo-a"}, "demo")
    kept.resource_id = "db-DEMOA"
    assert kept.clears
    clone = reachable("demo-a", parent="prod")
    assert marked(kept, "copy", clone, others=[create]) == ("pending", "")
    assert create.status == "pending" and create.reason == "copied once the kept generation has moved aside"
    assert marked(kept, "copy", dict(clone, DBInstanceIdentifier="old-demo-a"), others=[create])[0] == "done"
    assert create.status == "pending" and create.reason == ""  # the new generation is not there yet
    # Applying: the rename of that instance, complete after its reboot.
    watch = Watch(retire, live_of(live))
    assert watch.resource_id == "db-DEMO"
    assert not done(retire, live_of(live), watch, 0, 99)
    assert not done(retire, live_of(moved), watch, 0, 99)  # the first `available` comes before the reboot
    assert not done(retire, live_of(dict(moved, DBInstanceStatus="rebooting")), watch, 1, 99)
    assert done(retire, live_of(moved), watch, 2, 99)
    # Another instance under the new name is not the one moved aside.
    assert not done(retire, live_of(reachable("old-demo", DbiResourceId="db-ELSE")), Watch(retire), 0, 0)
    assert retire.in_progress(live_of(dict(live, DBInstanceStatus="renaming")))
    assert retire.in_progress(live_of(dict(live, PendingModifiedValues={"DBInstanceIdentifier": "old-demo"})))
    assert retire.in_progress(live_of(moved)) and not retire.in_progress(live_of(live))
    assert retire.not_yet(refused("InvalidDBInstanceState")) and not retire.already_done(None, refused("Throttling"))
    assert retire.grants(arn_in(), "prod") == [
        ("ModifyDBInstance", [ARN.format("aws", "db", "demo"), ARN.format("aws", "db", "old-demo")]),
        ("RebootDBInstance", [ARN.format("aws", "db", "demo"), ARN.format("aws", "db", "old-demo")])]


def test_switch_moves_every_record_in_one_change_then_waits_for_sync_and_the_ttl():
    step = switch_step()
    assert step.ttl == 60 and step.label == "ChangeResourceRecordSets demo.internal."
    # Marking: done once the new primary records the switch (the plan's tag step, with its value); pending, to be
    # sent again, while only the records moved.
    tag = switched_step()
    clone = reachable("demo-a", _tags=[])
    before = pointing({"db.demo.internal.": "demo", "db-ro.demo.internal.": "demo-r"})
    assert marked(step, "swap", clone, records=before, others=[tag]) == ("pending", "")
    moved = pointing({"db.demo.internal.": "demo-a", "db-ro.demo.internal.": "demo-r-a"})
    status, reason = marked(step, "swap", clone, records=moved, others=[tag])
    assert status == "pending" and reason.startswith("the records point at the clones already: sent again")
    half = pointing({"db.demo.internal.": "demo-a", "db-ro.demo.internal.": "demo-r"})
    assert marked(step, "swap", clone, records=half, others=[tag]) == ("pending", "")
    tagged = dict(clone, TagList=switch_tag("from demo"))
    assert marked(step, "swap", tagged, records=moved, others=[tag]) == (
        "done", "the records point at the clones, in sync (demo-a has the tag mitosis:switched=from demo)")
    # An older switch's record on the same instance (another value) is not this switch's.
    for value in ("true", "from demo-b"):
        older = dict(clone, TagList=switch_tag(value))
        status, reason = marked(step, "swap", older, records=moved, others=[tag])
        assert status == "pending" and reason.startswith("the records point at the clones already"), value
        assert marked(step, "swap", older, records=before, others=[tag]) == ("pending", ""), value
    assert marked(step, "swap", clone, others=[tag])[0] == "pending"  # a graph without records: nothing says they moved
    # Applying: one change batch of UPSERTs to the clones' endpoints, then GetChange until INSYNC.
    route53 = FakeRoute53()
    step.route53 = route53
    rds = FakeRDS(reachable("demo-a"), reachable("demo-r-a"), reachable("demo"))
    live = live_of(reachable("demo-a"))
    assert step.start(rds, live, None, REGION) is None
    assert route53.changes == [{"HostedZoneId": ZONE_ID, "ChangeBatch": {
        "Comment": "mitosis.rds: demo switches to demo-a",
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {"Name": "db-ro.demo.internal.", "Type": "CNAME",
                                                               "TTL": 30, "ResourceRecords": [
                                                                   {"Value": address("demo-r-a")}]}},
                    {"Action": "UPSERT", "ResourceRecordSet": {"Name": "db.demo.internal.", "Type": "CNAME",
                                                               "TTL": 60, "ResourceRecords": [
                                                                   {"Value": address("demo-a")}]}}]}}]
    watch = Watch(step, live)
    watch.time_scale = 60.0  # 60 reported seconds per real second: the TTL of 60 s lasts 1 s
    assert not done(step, live, watch, 0, 0)
    step.poll(rds, watch)
    assert route53.polls == ["/change/C1"] and not done(step, live, watch, 1, 0)  # still PENDING
    step.poll(rds, watch)
    assert step.change_status == "INSYNC"
    # In sync at 10: the TTL runs from there, whatever the rename settle time.
    assert not done(step, live, watch, 10, 999)
    assert not done(step, live, watch, 10.5, 999)
    assert done(step, live, watch, 11, 999)
    step.poll(rds, watch)
    assert len(route53.polls) == 2  # in sync: never asked again
    # Without a time scale the TTL is waited for in full.
    slow = switch_step()
    slow.route53 = FakeRoute53(("INSYNC",))
    slow.call(rds, live)
    slow_watch = Watch(slow, live)
    slow.poll(rds, slow_watch)
    assert not done(slow, live, slow_watch, 100, 0) and not done(slow, live, slow_watch, 159, 0)
    assert done(slow, live, slow_watch, 160, 0)
    # A clone without an endpoint yet: nothing is sent.
    lost = switch_step()
    lost.route53 = FakeRoute53()
    with pytest.raises(MitosisError, match="demo-r-a has no endpoint to point db-ro.demo.internal. at"):
        lost.call(FakeRDS(reachable("demo-a"), instance("demo-r-a")), live)
    assert lost.route53.changes == []
    # Refusals: Route 53 still busy with an earlier change means "later".
    assert step.not_yet(refused("PriorRequestNotComplete")) and step.not_yet(refused("InvalidDBInstanceState"))
    assert not step.not_yet(refused("InvalidChangeBatch"))
    assert not step.already_done(None, refused("InvalidChangeBatch"))
    assert not step.in_progress(live) and not step.caller and not step.concludes
    # What the run records and shows.
    assert step.result()["records"] == ["db-ro.demo.internal", "db.demo.internal"]
    detail = step.detail("replica")
    assert "hosted zone Z0DEMO" in detail and "then 60 s, the records' TTL" in detail
    assert "UPSERT db.demo.internal. CNAME TTL=60: {0} -> the endpoint of demo-a".format(address("demo")) in detail
    assert step.diff(None) == {"before": {"db-ro.demo.internal.": address("demo-r"), "db.demo.internal.":
                                          address("demo")},
                               "after": {"db-ro.demo.internal.": "the endpoint of demo-r-a",
                                         "db.demo.internal.": "the endpoint of demo-a"}}
    # IAM: Route 53 on that hosted zone only (and the changes it makes), in the plan's partition.
    for partition in ("aws", "aws-cn"):
        zone = ["arn:{0}:route53:::hostedzone/Z0DEMO".format(partition)]
        assert step.grants(arn_in(partition), "prod") == [
            ("route53:GetHostedZone", zone), ("route53:ListHostedZonesByName", ["*"]),
            ("route53:ListResourceRecordSets", zone), ("route53:ChangeResourceRecordSets", zone),
            ("route53:GetChange", ["arn:{0}:route53:::change/*".format(partition)])]


def test_records_are_created_pointing_at_the_live_generation():
    records = [dict(r, Name=r["Node"] + ".demo.internal.") for r in RECORDS]
    step = switch_step("records", clones={"demo": "demo", "demo-r": "demo-r"}, records=records)
    assert step.kind == "records" and step.ttl == 0
    live = reachable("demo")
    assert marked(step, "copy", live, records={}) == ("pending", "")
    assert marked(step, "copy", live, records=pointing({"demo.demo.internal.": "demo"})) == ("pending", "")
    assert marked(step, "copy", live, records=pointing({"demo.demo.internal.": "demo", "demo-r.demo.internal.":
                                                        "demo-r"})) == ("done", "the records exist")
    # Marked by the records alone: the tag that marks a switch does not count.
    assert marked(step, "copy", dict(live, TagList=[{"Key": "mitosis:switched", "Value": "true"}]),
                  records={})[0] == "pending"
    route53 = FakeRoute53(("INSYNC",))
    step.route53 = route53
    rds = FakeRDS(reachable("demo"), reachable("demo-r"))
    step.start(rds, live_of(live), None, REGION)
    changes = route53.changes[0]["ChangeBatch"]["Changes"]
    assert [(c["Action"], c["ResourceRecordSet"]["Name"], c["ResourceRecordSet"]["ResourceRecords"][0]["Value"])
            for c in changes] == [("CREATE", "demo-r.demo.internal.", address("demo-r")),
                                  ("CREATE", "demo.demo.internal.", address("demo"))]
    watch = Watch(step, live_of(live))
    assert not done(step, live_of(live), watch, 0, 99)  # not polled yet
    step.poll(rds, watch)
    assert done(step, live_of(live), watch, 0, 99)  # in sync: no resolver has an older answer to forget
    assert step.detail("replica").split("\n")[1:] == ["CREATE demo-r.demo.internal. CNAME TTL=30: the endpoint of "
                                                      "demo-r", "CREATE demo.demo.internal. CNAME TTL=60: the "
                                                      "endpoint of demo"]
    assert step.diff(None)["before"] == {"demo-r.demo.internal.": None, "demo.demo.internal.": None}
    assert ("route53:ChangeResourceRecordSets", ["arn:aws:route53:::hostedzone/Z0DEMO"]) in step.grants(arn_in(), "")


def test_switched_and_keep_are_marked_by_their_tags():
    switched = switched_step()
    clone = reachable("demo-a")
    tagged = dict(clone, TagList=switch_tag("from demo"))
    for phase in ("swap", "cleanup"):  # its tag, with its value, not the phase, says it is done
        assert marked(switched, phase, clone) == ("pending", "")
        assert marked(switched, phase, tagged) == ("done", "demo-a has the tag mitosis:switched=from demo")
        for value in ("true", "from demo-b"):  # an older switch's record
            assert marked(switched, phase, dict(clone, TagList=switch_tag(value))) == ("pending", ""), value
    assert done(switched, live_of(tagged)) and not done(switched, live_of(clone))
    assert switched.call_params(live_of(clone), None)["ResourceName"] == clone["DBInstanceArn"]
    assert switched.start(None, live_of(tagged), None, REGION) == "demo-a already has these values"
    # Also on an instance the run did not create (a rollback's rejected generation): the grant is its own.
    assert switched.grants(arn_in(), "prod") == [("AddTagsToResource", [ARN.format("aws", "db", "demo-a")])]
    assert not switched.concludes and not switched.in_progress(live_of(clone))

    keep = make_step("keep:demo", "cleanup", "keep", "AddTagsToResource", "demo",
                     {"Tags": [{"Key": "mitosis:kept", "Value": "true"}]}, "demo")
    previous = reachable("demo")
    keep.resource_id = previous["DbiResourceId"]
    kept = dict(previous, TagList=[{"Key": "mitosis:kept", "Value": "true"}])
    assert marked(keep, "cleanup", previous) == ("pending", "")
    assert marked(keep, "cleanup", kept) == ("done", "demo has the tag mitosis:kept=true")
    assert done(keep, live_of(kept)) and not done(keep, live_of(previous))
    assert keep.grants(arn_in(), "prod") == [("AddTagsToResource", [ARN.format("aws", "db", "demo")])]
    # Keeping the previous generation concludes the refresh: the restart runs until it is kept.
    assert keep.concludes
    restart = make_step("restart:demo", "restart", "restart", "Restart", "demo-a", {}, "demo")
    assert marked(restart, "cleanup", previous, others=[keep], words=DNS_WORDS) == (
        "pending", "runs (again) before the generation the switch left is retired or kept")
    assert marked(restart, "cleanup", kept, others=[keep], words=DNS_WORDS) == (
        "done", "the generation the switch left is retired (or kept, with keep_previous)")
    assert marked(restart, "swap", kept, others=[keep], words=DNS_WORDS)[0] == "pending"


def test_switched_writes_its_value_over_an_older_record_of_the_switch():
    """The instance a rollback switches back to may carry an older switch's record (mitosis:switched is durable):
    the step is done only with its own value, so it is applied, and complete, only with that value."""
    switched = switched_step("from demo-b")
    older = reachable("demo-a", TagList=switch_tag("from demo"))
    assert marked(switched, "swap", older) == ("pending", "")
    assert not done(switched, live_of(older))
    assert done(switched, live_of(dict(older, TagList=switch_tag("from demo-b"))))
    tagging = FakeTagging()
    assert switched.start(tagging, live_of(older), None, REGION) is None
    assert tagging.calls == [{"ResourceName": older["DBInstanceArn"], "Tags": switch_tag("from demo-b")}]


def test_the_retired_generation_is_gone_only_once_no_name_holds_it():
    """A delete of the generation a switch left is marked by its resource id: under its name before the retire, under
    old-* after it, it is not gone; the restart runs until it is."""
    previous = reachable("demo")
    delete = make_step("delete:demo", "cleanup", "delete", "DeleteDBInstance", "old-demo", {"SkipFinalSnapshot": True},
                       "demo")
    delete.resource_id = previous["DbiResourceId"]
    restart = make_step("restart:demo", "restart", "restart", "Restart", "demo-a", {}, "demo")
    clone = reachable("demo-a")
    for live in (previous, dict(previous, DBInstanceIdentifier="old-demo")):
        assert marked(delete, "cleanup", live, clone)[0] == "pending"
        assert marked(restart, "cleanup", live, clone, others=[delete], words=DNS_WORDS)[0] == "pending"
        graph = ClusterGraph([live, clone], [], REGION)
        assert not is_gone(Marking("cleanup", graph, [delete], DNS_WORDS), delete)
    # Another instance under old-demo is not the retired one.
    assert marked(delete, "cleanup", reachable("old-demo", DbiResourceId="db-ELSE")) == ("done", "old-demo is deleted")
    assert marked(restart, "cleanup", clone, others=[delete], words=DNS_WORDS)[1] == DNS_WORDS.concluded
    # Without a resource id, the name tells.
    plain = make_step("delete:x", "cleanup", "delete", "DeleteDBInstance", "old-x", {}, "x")
    graph = ClusterGraph([reachable("old-x")], [], REGION)
    assert not is_gone(Marking("cleanup", graph, [plain], DNS_WORDS), plain)
    assert is_gone(Marking("cleanup", ClusterGraph([], [], REGION), [plain], DNS_WORDS), plain)
    # A rollback's words: the rejected generation goes to rej-*.
    assert DNS_ROLLBACK_WORDS.retired == "rej-" and DNS_WORDS.retired == "old-"


# --- a refresh across accounts: the snapshot copies, the share, their deletes -----------------------------------

COPY = "mitosis-123456789012-demo-rds-prod-1"
SOURCE_ARN = "arn:aws:rds:us-east-1:210987654321:snapshot:" + COPY
SHARE_KEY = "arn:aws:kms:us-east-1:210987654321:key/share"
TARGET_KEY = "arn:aws:kms:us-east-1:123456789012:key/demo"
REFRESH = {"Key": "mitosis:refresh", "Value": "123456789012:demo"}


def copy_of(status="available", name=COPY):
    """A DescribeDBSnapshots entry of one of the copies."""
    return {"DBSnapshotIdentifier": name, "DBInstanceIdentifier": "prod", "Status": status, "SnapshotType": "manual"}


def snapshot_step(key, kind, action, params, account="target"):
    step = make_step(key, "copy", kind, action, COPY, params, "demo")
    step.account = account
    return step


class FakeSnapshots:
    """One account's snapshots (name -> status) behind DescribeDBSnapshots, and the snapshot calls it received;
    `refuse`: the error code every call fails with."""

    class meta:  # pylint: disable=invalid-name
        region_name = REGION

    def __init__(self, statuses=None, refuse=None):
        self.statuses = dict(statuses or {})
        self.refuse = refuse
        self.calls = []

    def get_paginator(self, name):
        assert name == "describe_db_snapshots"
        fake = self

        class Pages:
            @staticmethod
            def paginate(**params):
                named = params["DBSnapshotIdentifier"]
                if fake.refuse:
                    raise ClientError({"Error": {"Code": fake.refuse, "Message": "refused"}}, "DescribeDBSnapshots")
                if named not in fake.statuses:
                    raise ClientError({"Error": {"Code": "DBSnapshotNotFound", "Message": "none"}},
                                      "DescribeDBSnapshots")
                yield {"DBSnapshots": [copy_of(fake.statuses[named], named)]}
        return Pages()

    def __getattr__(self, operation):
        if operation.startswith("_"):
            raise AttributeError(operation)

        def act(**params):
            self.calls.append((operation, params))
            return {}
        return act


def test_the_snapshot_copies_of_a_refresh_across_accounts():
    out = snapshot_step("copy-out:demo", "copy-snapshot", "CopyDBSnapshot", {
        "SourceDBSnapshotIdentifier": "rds:prod-1", "TargetDBSnapshotIdentifier": COPY, "Tags": [REFRESH],
        "Clone": "temp-demo", "KmsKeyId": SHARE_KEY, "Keys": ["arn:aws:kms:us-east-1:210987654321:key/aws-rds"]},
        account="source")
    into = snapshot_step("copy-in:demo", "copy-snapshot", "CopyDBSnapshot", {
        "SourceDBSnapshotIdentifier": SOURCE_ARN, "TargetDBSnapshotIdentifier": COPY, "Tags": [REFRESH],
        "Clone": "temp-demo", "KmsKeyId": TARGET_KEY, "Keys": [SHARE_KEY]})
    # Marking, from the copies of both accounts and the clone.
    assert marked(out, "copy", snapshots={}) == ("pending", "")
    assert marked(out, "copy", snapshots={"source": [copy_of("creating")]}) == ("pending", COPY + " is being copied")
    assert marked(out, "copy", snapshots={"source": [copy_of()]}) == ("done", COPY + " exists")
    assert marked(out, "copy", snapshots={"target": [copy_of("creating")]}) == (
        "done", "the target account has its copy")
    assert marked(into, "copy", snapshots={"source": [copy_of()]}) == ("pending", "")
    assert marked(into, "copy", snapshots={"source": [copy_of()], "target": [copy_of("creating")]}) == (
        "pending", COPY + " is being copied")
    assert marked(into, "copy", snapshots={"target": [copy_of()]}) == ("done", COPY + " exists")
    for step in (out, into):
        # Once the clone exists (or the swap has begun), the copies have done their work, whatever is left of them.
        assert marked(step, "copy", instance("temp-demo"), snapshots={}) == (
            "done", "temp-demo is restored from the copies")
        assert marked(step, "swap", snapshots={}) == ("done", "temp-demo is restored from the copies")
    # Applying: one call, never a second copy of one there or under way.
    for status, reason, calls in ((None, None, 1), ("creating", None, 0),
                                  ("available", COPY + " exists (an earlier run copied it)", 0)):
        rds = FakeSnapshots({COPY: status} if status else {})
        assert out.start(rds, {}, None, REGION) == reason, status
        assert len(rds.calls) == calls, status
    rds = FakeSnapshots()
    into.start(rds, {}, None, REGION)
    # Only what AWS takes is sent: not the clone's name, nor the keys the IAM policy reads.
    assert rds.calls == [("copy_db_snapshot", {"SourceDBSnapshotIdentifier": SOURCE_ARN,
                                               "TargetDBSnapshotIdentifier": COPY, "Tags": [REFRESH],
                                               "KmsKeyId": TARGET_KEY})]
    watch = Watch(into, {})
    into.poll(FakeSnapshots({COPY: "creating"}), watch)
    assert watch.snapshot_status == "creating" and not done(into, {}, watch)
    into.poll(FakeSnapshots({COPY: "available"}), watch)
    assert done(into, {}, watch)
    watch.snapshot_status = "failed"
    with pytest.raises(MitosisError, match=COPY + " is in status 'failed' while waiting for CopyDBSnapshot"):
        done(into, {}, watch)
    assert into.already_done(None, refused("DBSnapshotAlreadyExists")) and not into.already_done(None, refused("x"))
    assert not out.deferred(refused("ExpiredToken")) and not into.in_progress({})
    # What the run shows and records: the source account's steps say where they act, through their dicts too.
    assert out.label == "CopyDBSnapshot {0} in the source account".format(COPY)
    assert into.label == "CopyDBSnapshot " + COPY
    assert out.detail("snapshot") == "SourceDBSnapshotIdentifier=rds:prod-1 TargetDBSnapshotIdentifier={0} " \
        "Tags=[mitosis:refresh=123456789012:demo] KmsKeyId={1}".format(COPY, SHARE_KEY)
    assert out.result()["account"] == "source" and "account" not in into.result()
    for step in (out, into):
        data = step.to_dict()
        assert data.get("account", "target") == step.account
        restored = type(step).from_dict(data)
        assert (restored.kind, restored.account, restored.params) == (step.kind, step.account, step.params)
    assert not out.tags_clone and not into.tags_clone  # the copy's tag is not the clone's
    graph = ClusterGraph([], [], REGION)
    graph.snapshots = {"source": {COPY: copy_of()}, "target": {}}
    assert out.diff(graph) == {"before": {"source snapshot " + COPY: {"exists": True}},
                               "after": {"source snapshot " + COPY: {"exists": True}}}
    assert into.diff(graph)["before"] == {"target snapshot " + COPY: {"exists": False}}
    # IAM: the copy reads its source and writes (and tags) the copy; the keys get the grant RDS creates.
    arn = arn_in()
    own = ARN.format("aws", "snapshot", COPY)
    assert into.grants(arn, "prod") == [
        ("DescribeDBSnapshots", [ARN.format("aws", "db", "*"), own, SOURCE_ARN]),
        ("CopyDBSnapshot", [SOURCE_ARN, own]), ("AddTagsToResource", [own]),
        ("kms:CreateGrant", [TARGET_KEY, SHARE_KEY]), ("kms:DescribeKey", [TARGET_KEY, SHARE_KEY])]
    assert out.grants(arn, "prod")[1] == ("CopyDBSnapshot", [ARN.format("aws", "snapshot", "rds:prod-1"), own])
    assert into.tagged(arn) == own
    unencrypted = snapshot_step("copy-in:demo", "copy-snapshot", "CopyDBSnapshot", {
        "SourceDBSnapshotIdentifier": SOURCE_ARN, "TargetDBSnapshotIdentifier": COPY, "Tags": [REFRESH]})
    assert [action for action, _resources in unencrypted.grants(arn, "prod")] == [
        "DescribeDBSnapshots", "CopyDBSnapshot", "AddTagsToResource"]


def test_the_share_of_the_source_accounts_copy():
    share = snapshot_step("share:demo", "share-snapshot", "ModifyDBSnapshotAttribute", {
        "AttributeName": "restore", "ValuesToAdd": ["123456789012"], "Clone": "temp-demo"}, account="source")
    source = {"source": [copy_of()]}
    assert marked(share, "copy", snapshots=source) == ("pending", "")
    assert marked(share, "copy", snapshots=source, shared={COPY: ["999999999999"]}) == ("pending", "")
    assert marked(share, "copy", snapshots=source, shared={COPY: ["999999999999", "123456789012"]}) == (
        "done", COPY + " is shared with account 123456789012")
    assert marked(share, "copy", snapshots=dict(source, target=[copy_of("creating")])) == (
        "done", "the target account has its copy")
    assert marked(share, "copy", instance("temp-demo"), snapshots={}) == ("done", "the target account has its copy")
    rds = FakeSnapshots({COPY: "available"})
    assert share.start(rds, {}, None, REGION) is None
    assert rds.calls == [("modify_db_snapshot_attribute", {"AttributeName": "restore", "ValuesToAdd": ["123456789012"],
                                                           "DBSnapshotIdentifier": COPY})]
    # The call itself shares it: nothing to wait for, nothing to read.
    watch = Watch(share, {})
    share.poll(None, watch)
    assert done(share, {}, watch) and watch.snapshot_status is None
    assert share.label.endswith(" in the source account")
    own = ARN.format("aws", "snapshot", COPY)
    assert share.grants(arn_in(), "prod") == [("ModifyDBSnapshotAttribute", [own]),
                                              ("DescribeDBSnapshotAttributes", [own])]
    assert share.tagged(arn_in()) is None and not share.deferred(refused("ExpiredToken"))


def test_the_deletes_of_the_copies_once_the_next_holds_the_data():
    release = snapshot_step("release:demo", "drop-snapshot", "DeleteDBSnapshot",
                            {"Received": COPY, "Clone": "temp-demo"}, account="source")
    drop = snapshot_step("drop-copy:demo", "drop-snapshot", "DeleteDBSnapshot", {"Clone": "temp-demo"})
    leftover = snapshot_step("drop-snapshot:source:" + COPY, "drop-snapshot", "DeleteDBSnapshot",
                             {"DBSnapshotIdentifier": COPY}, account="source")
    source, target = {"source": [copy_of()]}, {"target": [copy_of()]}
    # The source account's copy: deleted once the target account has its own (or the clone exists).
    assert marked(release, "copy", snapshots=dict(source, **target)) == ("pending", "")
    assert marked(release, "copy", snapshots=target) == ("done", COPY + " is deleted")
    assert marked(release, "copy", instance("temp-demo"), snapshots={}) == ("done", COPY + " is deleted")
    # Neither copy there and no clone: nothing was copied yet (a copy under way is not listed).
    assert marked(release, "copy", snapshots={}) == ("pending", "")
    # The target account's copy: deleted once the clone is restored.
    assert marked(drop, "copy", instance("temp-demo"), snapshots=target) == ("pending", "")
    assert marked(drop, "copy", snapshots={}) == ("pending", "")
    assert marked(drop, "copy", instance("temp-demo"), snapshots={}) == ("done", COPY + " is deleted")
    assert marked(drop, "swap", snapshots={}) == ("done", COPY + " is deleted")
    # An earlier run's copy: deleted, that is all.
    assert marked(leftover, "copy", snapshots=source) == ("pending", "")
    assert marked(leftover, "cleanup", snapshots={}) == ("done", COPY + " is deleted")
    # Applying: the call names the snapshot only; one already gone or going is not deleted again.
    for status, reason, calls in ((None, COPY + " is deleted already", []), ("deleting", None, []),
                                  ("available", None, [("delete_db_snapshot", {"DBSnapshotIdentifier": COPY})])):
        rds = FakeSnapshots({COPY: status} if status else {})
        assert release.start(rds, {}, None, REGION) == reason, status
        assert rds.calls == calls, status
    watch = Watch(release, {})
    release.poll(FakeSnapshots({COPY: "deleting"}), watch)
    assert not done(release, {}, watch)
    release.poll(FakeSnapshots(), watch)
    assert done(release, {}, watch)
    assert release.already_done(None, refused("DBSnapshotNotFound"))
    assert not release.already_done(None, refused("InvalidDBSnapshotState"))
    # Expired credentials leave the source account's delete to the next run; any other refusal, or the target
    # account's delete, stops the run.
    for code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        assert release.deferred(refused(code)) and leftover.deferred(refused(code)), code
        assert not drop.deferred(refused(code)), code
    assert not release.deferred(refused("AccessDenied"))
    with pytest.raises(MitosisError) as info:
        release.start(FakeSnapshots(refuse="ExpiredToken"), {}, None, REGION)
    assert release.deferred(info.value)
    assert release.diff(None) == {"before": {"source snapshot " + COPY: {"exists": False}},
                                  "after": {"source snapshot " + COPY: {"exists": False}}}
    own = ARN.format("aws", "snapshot", COPY)
    assert drop.grants(arn_in(), "prod") == [("DeleteDBSnapshot", [own]),
                                             ("DescribeDBSnapshots", [ARN.format("aws", "db", "*"), own])]
    assert not release.retires and not release.caller and drop.tagged(arn_in()) is None


# --- an Aurora clone across accounts: the source cluster shared through AWS RAM ----------------------------------

class FakeRam:
    """The source account's AWS RAM: its active shares by name, and the calls it received."""

    def __init__(self, shares=None, refuse=None):
        self.shares = dict(shares or {})
        self.refuse = refuse
        self.calls = []

    def get_resource_shares(self, **params):
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "refused"}}, "GetResourceShares")
        assert params["resourceOwner"] == "SELF" and params["resourceShareStatus"] == "ACTIVE"
        found = self.shares.get(params["name"])
        return {"resourceShares": [found] if found else []}

    def create_resource_share(self, **params):
        self.calls.append(("create_resource_share", params))
        return {"resourceShare": {"name": params["name"]}}

    def delete_resource_share(self, **params):
        self.calls.append(("delete_resource_share", params))
        return {"returnValue": True}


def test_the_share_of_a_source_cluster_through_ram_and_its_delete():
    source = "arn:aws:rds:us-east-1:210987654321:cluster:prod"
    name = "mitosis-123456789012-demo"
    share = make_step("share-cluster:demo", "copy", "share-cluster", "CreateResourceShare", name,
                      {"name": name, "resourceArns": [source], "principals": ["123456789012"],
                       "allowExternalPrincipals": True, "Clone": "cluster:temp-demo"}, "demo", cluster=True)
    unshare = make_step("unshare-cluster:demo", "copy", "unshare-cluster", "DeleteResourceShare", name,
                        {"Clone": "cluster:temp-demo"}, "demo", ["restore-cluster:demo"], cluster=True)
    leftover = make_step("unshare-cluster:demo", "cleanup", "unshare-cluster", "DeleteResourceShare", name, {},
                         "demo", cluster=True)
    clone = cluster("temp-demo")
    shared = {name: {"name": name, "resourceShareArn": "arn:aws:ram:us-east-1:210987654321:resource-share/1"}}

    def mark(step, phase, shares, *descs):
        graph = ClusterGraph([], list(descs), REGION)
        graph.ram_shares = shares
        mark_steps(Marking(phase, graph, [step], REFRESH_WORDS))
        return step.status, step.reason

    # The share: pending until made, done once it exists or the clone does.
    assert mark(share, "copy", {}) == ("pending", "")
    assert mark(share, "copy", shared) == ("done", "the resource share {0} exists".format(name))
    assert mark(share, "copy", {}, clone) == ("done", "prod is cloned")
    # Its delete: pending while the share exists, done once it is gone and the clone exists (never before).
    assert mark(unshare, "copy", shared, clone) == ("pending", "")
    assert mark(unshare, "copy", {}) == ("pending", "")
    assert mark(unshare, "copy", {}, clone) == ("done", "the resource share {0} is deleted".format(name))
    assert mark(leftover, "cleanup", {}) == ("done", "the resource share {0} is deleted".format(name))
    # Applying, with the source account's RAM client: made once, deleted by its ARN, each skipped when already so.
    share.ram = unshare.ram = ram = FakeRam()
    assert share.start(None, {}, None, REGION) is None
    assert ram.calls == [("create_resource_share", {
        "name": name, "resourceArns": [source], "principals": ["123456789012"], "allowExternalPrincipals": True})]
    assert done(share, {}, Watch(share, {}))
    share.ram = unshare.ram = ram = FakeRam(shared)
    assert share.start(None, {}, None, REGION) == "the resource share {0} exists (an earlier run made it)".format(name)
    assert unshare.start(None, {}, None, REGION) is None
    assert ram.calls == [("delete_resource_share", {"resourceShareArn": shared[name]["resourceShareArn"]})]
    unshare.ram = FakeRam()
    assert unshare.start(None, {}, None, REGION) == "the resource share {0} is deleted already".format(name)
    # Expired credentials of the source account leave the delete to the next run.
    assert unshare.deferred(refused("ExpiredToken")) and not unshare.deferred(refused("AccessDenied"))
    assert not share.deferred(refused("ExpiredToken"))
    # Only the source account's shares, and the source cluster.
    grants = dict(share.grants("arn:aws:rds:us-east-1:210987654321:{0}:{1}".format, "prod"))
    assert grants["ram:CreateResourceShare"] == ["arn:aws:ram:us-east-1:210987654321:resource-share/*", source]
