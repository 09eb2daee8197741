#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_mitosis_plan
short_description: Plan the clone of an RDS instance's (or Aurora cluster's) data into another replication graph
version_added: 0.1.0
description:
  - Reads the live state of the source instance and of the target replication graph and returns the ordered,
    idempotent plan that clones the source's data into a copy of the target graph, swaps the names, restarts the
    application and deletes the old graph.
  - For an Aurora stack (O(source) and O(target) name clusters, or instances of clusters) the plan restores the
    source cluster into C(temp-<cluster>) with the target cluster's attributes (an Aurora clone by default),
    creates one instance per target instance, renames clusters and instances, restarts, then deletes the
    C(old-*) instances and cluster.
  - Every step is marked V(pending) or V(done) from the live state, so the plan of an interrupted clone is its
    continuation. Steps that can run side by side share a RV(plan[].wave).
  - Validates everything before any change and fails with a message that names the instance and says what to do
    (missing or identical instances, a target inside the source's graph, names too long for the C(temp-)/C(old-)
    prefixes, engines or major versions that differ, deletion protection, an Aurora cluster on one side only, a
    global database member, Aurora Serverless v1, a copy method that cannot work, a snapshot path without a
    snapshot, a master password RDS would refuse or a secret without one, leftover C(temp-*)/C(old-*) instances
    or clusters that do not fit the plan).
  - Says which copy method it chose and why (RV(mode), RV(mode_reason)), and warns when the clone would keep the
    source's master password.
  - Also returns the minimal IAM policy for the planned calls, locked to the account and region.
  - Checks the options that shape the run before anything else, the ranges of the numeric options of
    M(mitosis.rds.rds_mitosis_step) (O(wait_timeout), O(poll_interval), O(rename_settle_time),
    O(report_time_scale)), which it does not use otherwise, the task files O(prepare_tasks) and O(restart_tasks)
    and the program of O(restart_command), so that a bad value fails before the run takes its lock or changes
    anything.
  - Read-only; never reports a change. Runs the same in check mode.
author:
  - mitosis.rds developers (@mitosis-rds)
options:
  previous_resource_ids:
    description:
      - C(DbiResourceId) values of the instances (and C(DbClusterResourceId) of the cluster) the clone retires, as
        returned by an earlier plan in
        RV(retiring_resource_ids). Target nodes held by other instances, with no C(temp-*) or C(old-*) left,
        count as already cloned, so a plan taken after a finished clone shows nothing pending.
    type: list
    elements: str
  iam_policy:
    description:
      - Compute RV(iam_policy) (one C(sts:GetCallerIdentity) call to learn the account).
    type: bool
    default: true
  prepare_tasks:
    description:
      - The task file of the prepare step (the C(mitosis.rds.clone) role's C(mitosis_prepare_tasks)); implies
        O(prepare=true). An empty string means none.
      - Checked on the controller before anything else, in check mode too; it must exist, be readable, and parse as
        a list of tasks (each naming a module or action that is installed). A relative path is looked for in the
        directory C(ansible-playbook) runs in, then where C(include_tasks) would look (the role, the playbook's
        directory). RV(task_files) returns the file found.
    type: str
  restart_tasks:
    description:
      - The task file of the restart step (the role's C(mitosis_restart_tasks)), checked and returned like
        O(prepare_tasks). It does not change the plan.
    type: str
  restart_command:
    description:
      - The restart command line (the role's C(mitosis_restart_command)), checked on the controller before anything
        else; a program named by a path (for example C(./restart-service.sh)) must be an executable file, relative
        to the directory C(ansible-playbook) runs in, and a bare name must be found on C(PATH) (the shell's own
        words aside). It does not change the plan.
    type: str
  approved_plan:
    description:
      - The plan a person approved, as an earlier run published it (RV(approval), which the C(mitosis.rds.clone)
        role publishes as C(mitosis_plan) with C(set_stats)), or the path of the file O(plan_file) wrote (JSON or
        YAML, read on the controller). An empty value means none.
      - When the plan made from the live state differs from it in anything but the steps' marks (a step more or
        less, another call or instance, other parameters, another source, target or copy method) the module fails,
        naming each difference, so the run changes nothing. A snapshot copy that picks the newest snapshot by itself
        (no O(snapshot_identifier)) may pick a newer one than the approved plan's, which is only a warning.
    type: raw
  plan_file:
    description:
      - Write RV(approval) to this file on the controller, as JSON (in check mode too, as that is how a plan is kept for
        approval). Pass the file back as O(approved_plan).
    type: path
extends_documentation_fragment:
  - mitosis.rds.clone
  - mitosis.rds.clone.run
  - mitosis.rds.aws
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The restart step (RV(plan[].action=Restart)) is run by the caller, see the M(mitosis.rds.rds_mitosis_step) module
    and the C(mitosis.rds.clone) role.
seealso:
  - module: mitosis.rds.rds_mitosis_step
  - module: mitosis.rds.rds_graph_facts
"""

EXAMPLES = r"""
- name: Show the flight plan for refreshing demo from production
  mitosis.rds.rds_mitosis_plan:
    source: mitosis-prod
    target: mitosis-demo
  register: mitosis_plan

- name: Print it
  ansible.builtin.debug:
    msg: "{{ mitosis_plan.flight_plan_lines }}"

- name: Write the minimal IAM policy for this refresh
  ansible.builtin.copy:
    content: "{{ mitosis_plan.iam_policy | to_nice_json }}"
    dest: mitosis-demo-policy.json
    mode: "0644"

- name: Plan through a snapshot restore, with explicit credentials and region
  mitosis.rds.rds_mitosis_plan:
    source: mitosis-prod
    target: mitosis-staging
    copy_method: snapshot
    region: eu-west-1
    profile: refresh-bot

- name: Plan a refresh from production in another account, with the IAM policy of each account
  mitosis.rds.rds_mitosis_plan:
    source: arn:aws:rds:eu-west-1:210987654321:db:mitosis-prod
    target: mitosis-demo
    source_role_arn: arn:aws:iam::210987654321:role/mitosis-source
    source_kms_key: alias/mitosis-share
    iam_policy: true
  register: mitosis_plan_across

- name: Keep the plan for a person to approve (a check-mode run writes it too)
  mitosis.rds.rds_mitosis_plan:
    source: mitosis-prod
    target: mitosis-demo
    plan_file: mitosis-demo-plan.json

- name: Plan again before the refresh, failing if the plan is not the approved one
  mitosis.rds.rds_mitosis_plan:
    source: mitosis-prod
    target: mitosis-demo
    approved_plan: mitosis-demo-plan.json

- name: Plan a point-in-time copy whose master password is the one the staging application reads
  mitosis.rds.rds_mitosis_plan:
    source: mitosis-prod
    target: mitosis-staging
    copy_method: point_in_time
    master_password_secret: mitosis-staging/app
    prepare: true
"""

RETURN = r"""
plan:
  description: Every step of the clone, in order.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable key of the step, for example C(create:mitosis-demo) or C(swap-in:mitosis-demo).
      type: str
      sample: create:mitosis-demo
    kind:
      description:
        - What the step does, V(create), V(restore), V(promote), V(modify), V(password), V(manage-secret), V(tag),
          V(prepare), V(discard), V(swap-out), V(swap-in), V(restart), V(final-snapshot), V(delete) or V(untag). A V(swap-in) may start as soon as its
          V(swap-out) has freed the name. V(prepare) and V(restart) are the caller's (the role's task files).
      type: str
      sample: create
    action:
      description: The RDS API operation, or C(Prepare) and C(Restart) for the caller's steps.
      type: str
      sample: CreateDBInstanceReadReplica
    identifier:
      description: The C(DBInstanceIdentifier) acted on.
      type: str
      sample: temp-mitosis-demo
    params:
      description:
        - Exactly the parameters sent, minus the identifier (and the ARN of a tagged instance). A new master
          password is never shown; a placeholder stands in its place.
      type: dict
      sample: {"SourceDBInstanceIdentifier": "mitosis-prod", "DBInstanceClass": "db.t3.micro", "Port": 5430}
    status:
      description: V(pending) or V(done), from the live state.
      type: str
      sample: pending
    reason:
      description: Why a step is done (or what a pending step waits for).
      type: str
      sample: temp-mitosis-demo exists (available)
    wave:
      description:
        - 1 + the latest wave among the step's dependencies. Steps of one wave are independent; when applied, each
          step starts as soon as its own dependencies are done.
      type: int
      sample: 1
    phase:
      description: V(copy), V(prepare), V(swap), V(restart) or V(cleanup).
      type: str
      sample: copy
    node:
      description: The target graph member the step serves.
      type: str
      sample: mitosis-demo
    depends_on:
      description: Ids of the steps that must be done first.
      type: list
      elements: str
      sample: ["create:mitosis-demo"]
flight_plan:
  description: The plan as text, one call per entry with its parameters; done steps are marked skipped and why.
  returned: always
  type: str
flight_plan_lines:
  description: RV(flight_plan) split into lines, for readable C(debug) output.
  returned: always
  type: list
  elements: str
approval:
  description:
    - What a person approves, to pass back as O(approved_plan) later, on AWX from a check job to the refresh job
      after an approval node.
  returned: always
  type: dict
  contains:
    source:
      description: The source.
      type: str
    target:
      description: The target.
      type: str
    copy_method:
      description: The copy method, as RV(mode).
      type: str
    steps:
      description: Each step's id, wave, API call (C(action), C(identifier), C(params), secrets as placeholders) and mark.
      type: list
      elements: dict
    flight_plan:
      description: RV(flight_plan).
      type: str
  sample: {"source": "mitosis-prod", "target": "mitosis-demo", "copy_method": "replica",
           "steps": [{"id": "create:mitosis-demo", "wave": 1, "action": "CreateDBInstanceReadReplica",
                      "identifier": "temp-mitosis-demo", "params": {"SourceDBInstanceIdentifier": "mitosis-prod"},
                      "status": "pending"}],
           "flight_plan": "Flight plan: clone mitosis-prod into the graph of mitosis-demo (1 node) ..."}
plan_file:
  description: The absolute path of the file written, with O(plan_file).
  returned: when O(plan_file) is given
  type: str
waves:
  description: The wave numbers of each phase, in order.
  returned: always
  type: dict
  sample: {"copy": [1, 2, 3, 4, 5], "prepare": [], "swap": [6, 7], "restart": [8], "cleanup": [9, 10]}
mode:
  description:
    - The copy method, V(replica) (read replica then promote), V(clone) (an Aurora clone), V(point_in_time)
      (restore to the latest restorable time) or V(snapshot) (restore from a snapshot).
  returned: always
  type: str
  sample: replica
mode_reason:
  description: Why this copy method.
  returned: always
  type: str
  sample: mitosis-prod manages its master password in Secrets Manager, and RDS creates no read replica of such a source
phase:
  description: The phase read from the live state, V(copy), V(swap), V(cleanup) or V(complete).
  returned: always
  type: str
  sample: copy
pending:
  description: Number of pending steps.
  returned: always
  type: int
  sample: 12
nodes:
  description: The target graph's members, parents first (an Aurora cluster, then its instances, writer first).
  returned: always
  type: list
  elements: str
  sample: ["mitosis-demo", "mitosis-demo-replica"]
retiring_resource_ids:
  description: C(DbiResourceId) of the instances this clone retires; pass them as O(previous_resource_ids) later.
  returned: always
  type: list
  elements: str
lock_target:
  description:
    - The name M(mitosis.rds.rds_mitosis_lock) keeps the run's lock under, O(target) itself, or with
      O(swap_method=dns) the root member's name (O(target) may name its record).
  returned: always
  type: str
  sample: mitosis-demo
iam_policy:
  description: The minimal IAM policy document for the planned calls, one statement per action.
  returned: when O(iam_policy=true)
  type: dict
source_iam_policy:
  description:
    - A refresh across accounts (O(source_role_arn) or O(source_profile)), the source account's policy, for reading
      the source and its snapshots, the copy, its share and delete (on this target's copies only) and the keys they use.
      RV(iam_policy) is then the target account's.
  returned: when O(iam_policy=true) and the source is in another account
  type: dict
api_calls:
  description: Number of AWS API calls made to compute the plan.
  returned: always
  type: int
  sample: 4
run_options:
  description:
    - The options the steps of this plan run with, checked, with their defaults (O(source), O(target), O(rollback),
      O(source_role_arn), O(source_profile) and O(source_kms_key) when given, O(serial), O(wait_timeout),
      O(poll_interval), O(rename_settle_time), O(report_time_scale)); give them to
      every M(mitosis.rds.rds_mitosis_step) call of the run, for example with C(module_defaults).
  returned: always
  type: dict
  sample: {"source": "mitosis-prod", "target": "mitosis-demo", "rollback": false, "serial": false,
           "wait_timeout": 14400, "poll_interval": 30.0, "rename_settle_time": 120.0, "report_time_scale": 1.0}
task_files:
  description:
    - The task files checked, resolved to the files found (absolute paths), by option; an option not given is
      absent. Include these, so that the file checked is the file run.
  returned: always
  type: dict
  sample: {"prepare_tasks": "/home/ops/refresh/scrub-demo.yml"}
run:
  description:
    - The start of this refresh's record (the calls made to plan it); pass it to M(mitosis.rds.rds_mitosis_step)
      as O(mitosis.rds.rds_mitosis_step#module:run).
  returned: always
  type: dict
"""

from ansible_collections.mitosis.rds.plugins.module_utils.approval import approval, check_approved
from ansible_collections.mitosis.rds.plugins.module_utils.aws import Counter
from ansible_collections.mitosis.rds.plugins.module_utils.planning import live_plan
from ansible_collections.mitosis.rds.plugins.module_utils.module import (
    CLONE_ARGUMENT_SPEC, CLONE_MUTUALLY_EXCLUSIVE, CLONE_REQUIRED_IF, RUN_ARGUMENT_SPEC, SOURCE_ACCOUNT_OPTIONS,
    MitosisModule, clone_options, route53_client, source_account)
from ansible_collections.mitosis.rds.plugins.module_utils.plans import flight_plan
from ansible_collections.mitosis.rds.plugins.module_utils.policy import caller_account, iam_policy
from ansible_collections.mitosis.rds.plugins.module_utils.report import extend_run


def plan(module):
    p = module.params
    rds = module.connection.client("rds")
    counter = Counter(rds)
    options, _password = clone_options(p, module.connection, counter, read_now=True)
    account = source_account(module.connection, p, counter)
    the_plan, _graph = live_plan(rds, p["source"] or "", p["target"], options, p["previous_resource_ids"],
                                 route53_client(module.connection, counter, p["swap_method"]), account)
    for warning in the_plan.warnings:
        module.module.warn(warning)
    text = flight_plan(the_plan)
    if p["approved_plan"]:
        for note in check_approved(p["approved_plan"], the_plan, text, picked_snapshot=not p["snapshot_identifier"]):
            module.module.warn("Approved plan: " + note)
    result = {
        "changed": False,
        "plan": the_plan.to_dict(),
        "flight_plan": text,
        "flight_plan_lines": text.splitlines(),
        "approval": approval(the_plan, text),
        "waves": {phase: the_plan.waves(phase) for phase in ("copy", "prepare", "swap", "restart", "cleanup")},
        "mode": the_plan.mode,
        "mode_reason": the_plan.why,
        "phase": the_plan.phase,
        "pending": len(the_plan.pending),
        "nodes": the_plan.node_names(),
        "retiring_resource_ids": the_plan.retiring_resource_ids(),
        # Where the run's lock lives: a switch by DNS locks the stack's root member (target may name its record).
        "lock_target": the_plan.lock_target(),
        "run_options": {name: p[name] for name in ("source", "target", "rollback") + SOURCE_ACCOUNT_OPTIONS
                        + tuple(RUN_ARGUMENT_SPEC) if p[name] is not None},
        # Checked and resolved on the controller by the action plugin.
        "task_files": {name: p[name] for name in ("prepare_tasks", "restart_tasks") if p[name]},
    }
    if p["iam_policy"]:
        sts = module.connection.client("sts")
        counter.watch(sts)
        result["iam_policy"] = iam_policy(the_plan, caller_account(sts), rds.meta.region_name,
                                          secret=p["master_password_secret"], salt_secret=p["mask_salt_secret"])
        if account is not None:
            result["source_iam_policy"] = iam_policy(the_plan, account.account, rds.meta.region_name,
                                                     in_source=True)
    result["api_calls"] = counter.count
    result["run"] = extend_run(None, [], counter.by_operation)
    return result


def main():
    module = MitosisModule(
        argument_spec=dict(
            CLONE_ARGUMENT_SPEC,
            **RUN_ARGUMENT_SPEC,
            previous_resource_ids=dict(type="list", elements="str"),
            iam_policy=dict(type="bool", default=True),
            prepare_tasks=dict(type="str"),
            restart_tasks=dict(type="str"),
            restart_command=dict(type="str"),
            approved_plan=dict(type="raw"),
            plan_file=dict(type="path"),
        ),
        mutually_exclusive=CLONE_MUTUALLY_EXCLUSIVE,
        required_if=CLONE_REQUIRED_IF,
        supports_check_mode=True,
    )
    module.run(plan)


if __name__ == "__main__":
    main()
