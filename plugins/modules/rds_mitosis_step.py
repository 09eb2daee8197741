#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_mitosis_step
short_description: Apply the steps of an RDS clone plan, each as soon as its dependencies are done
version_added: 0.1.0
description:
  - Applies steps of a plan returned by M(mitosis.rds.rds_mitosis_plan) (the steps of whole phases, or given steps)
    and waits until each one's postcondition holds and its instance is C(available).
  - The plan is handed over in O(plan) and marked again from one filtered C(DescribeDBInstances) of the names it
    holds, so a step that is already done is skipped with C(changed=false), running it twice or after an
    interruption never repeats work, and a state that no clone explains stops it before any call. Without O(plan)
    it plans from the live state first.
  - Every step starts as soon as its own dependencies are done; one filtered C(DescribeDBInstances) per poll
    watches every step in flight. A clone takes its name (C(temp-X) to C(X)) as soon as the name is free, while
    the instance that held it finishes its own rename. A modify that changes nothing is never sent. With
    O(serial=true), one step at a time in plan order.
  - An instance still busy with an earlier call (for example after an interrupted run), C(InvalidDBInstanceState),
    and a name still held (C(DBInstanceAlreadyExists) on a swap-in) mean "not yet" and are retried at the next poll.
    Throttling is retried by botocore.
  - A rename is complete only when the old name is gone, the new one exists and it is C(available) after the
    reboot that follows C(renaming) (or, if the reboot was not observed, after O(rename_settle_time) seconds of
    being available).
  - Refuses to delete anything outside the C(old-*) names of the plan (and, with O(discard_clone), the target's own
    C(temp-*) clones an earlier run copied, before the copy starts over), and refuses deletes of C(old-*) until the
    swap is finished. The prepare and restart steps are not applied here; the C(mitosis.rds.clone) role runs them.
  - Runs on the controller (an action plugin), so that it can print a line when each step starts and ends, and
    while waiting a line at least every 5 minutes naming what is still in flight.
author:
  - mitosis.rds developers (@mitosis-rds)
options:
  plan:
    description:
      - The plan to apply, as returned in RV(mitosis.rds.rds_mitosis_plan#module:plan) (or RV(plan) of an earlier
        run of this module for the same refresh). Without it, the plan is computed from the live state.
    type: list
    elements: dict
  phases:
    description:
      - Apply every step of these phases (the prepare and restart steps excepted). Deletes (V(cleanup)) are
        refused until the swap is finished; run the restart in between.
      - Exactly one of O(phases) and O(steps) is required.
    type: list
    elements: str
    choices: [copy, prepare, swap, cleanup]
  steps:
    description:
      - Apply only these steps, as entries of the plan (only C(id) is read) or as step ids. Their dependencies
        must be done or among them.
    type: list
    elements: raw
  wait:
    description:
      - Wait until every step's postcondition holds and its instance is available. With V(false), the calls of the
        pending steps are made one after the other without waiting or ordering (for a single step).
    type: bool
    default: true
  run:
    description:
      - The record of this refresh so far, RV(mitosis.rds.rds_mitosis_plan#module:run) or RV(run) of an earlier
        run of this module; the steps run here are added to it, and RV(summary) covers all of it.
    type: dict
  restart:
    description:
      - That the caller restarted the application since O(run) was returned. The restart is recorded in RV(run) for
        the summary, from the end of the call that stopped before it to the start of this one.
    type: bool
    default: false
  prepared:
    description:
      - That the caller ran its prepare step since O(run) was returned (recorded in RV(run) for the summary, like
        O(restart)). Give it only after the prepare step succeeded.
      - While the plan's prepare step is pending and this is not given, nothing after it runs (the V(prepare)
        phase's tag C(mitosis:prepared), the swap, the cleanup). So a call for V(copy), V(prepare) and V(swap)
        copies and stops there when the plan has a pending prepare step, and swaps too when it has none.
    type: bool
    default: false
extends_documentation_fragment:
  - mitosis.rds.clone
  - mitosis.rds.clone.run
  - mitosis.rds.aws
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Calls nothing that mutates; pending steps report C(changed=true) and the call they would make.
  diff_mode:
    support: full
    details: Before and after of every instance the pending steps touch.
  platform:
    platforms: posix
seealso:
  - module: mitosis.rds.rds_mitosis_plan
"""

EXAMPLES = r"""
- name: Plan the refresh
  mitosis.rds.rds_mitosis_plan:
    source: mitosis-prod
    target: mitosis-demo
    iam_policy: false
  register: mitosis_plan

- name: Copy and swap, each step as soon as it can start
  mitosis.rds.rds_mitosis_step:
    source: mitosis-prod
    target: mitosis-demo
    plan: "{{ mitosis_plan.plan }}"
    run: "{{ mitosis_plan.run }}"
    phases: [copy, swap]
  register: mitosis_swapped

- name: Or copy with the password the demo application reads, scrub the clone, then swap
  mitosis.rds.rds_mitosis_step:
    source: mitosis-prod
    target: mitosis-demo
    plan: "{{ mitosis_plan.plan }}"
    run: "{{ mitosis_plan.run }}"
    phases: [copy]
    master_password_secret: mitosis-demo/app
  register: mitosis_copied

# ... scrub the clone at mitosis_copied.clone.address here (a plan made with prepare=true waits for it) ...

# ... then phases [prepare, swap] with plan mitosis_copied.plan, then restart the application here ...

- name: Delete the old graph, leaves first
  mitosis.rds.rds_mitosis_step:
    source: mitosis-prod
    target: mitosis-demo
    plan: "{{ mitosis_swapped.plan }}"
    run: "{{ mitosis_swapped.run }}"
    phases: [cleanup]
  register: mitosis_cleaned

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ mitosis_cleaned.summary.lines }}"

- name: Apply a single step by id, without waiting
  mitosis.rds.rds_mitosis_step:
    source: mitosis-prod
    target: mitosis-demo
    steps: [create:mitosis-demo]
    wait: false
"""

RETURN = r"""
steps:
  description: One entry per requested step, in plan order.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The step id.
      type: str
      sample: swap-in:mitosis-demo
    kind:
      description:
        - What the step does, V(create), V(restore), V(promote), V(modify), V(password), V(manage-secret), V(tag),
          V(discard), V(mask-login), V(mask), V(mask-check), V(swap-out), V(swap-in), V(final-snapshot), V(delete)
          or V(untag).
      type: str
      sample: swap-in
    window:
      description:
        - V(opens) for a swap-out (its node's name stops answering), V(closes) for a swap-in (the clone answers
          under the name); the summary's unreachable windows are read from these.
      type: str
      returned: for a swap-out or a swap-in
      sample: closes
    action:
      description: The RDS API operation.
      type: str
      sample: ModifyDBInstance
    identifier:
      description: The instance acted on.
      type: str
      sample: temp-mitosis-demo
    params:
      description:
        - The parameters sent (or that would be sent), minus the identifier; a new master password is never shown.
      type: dict
    status:
      description: V(changed) (called and waited for), V(skipped) (already done), V(would run) (check mode).
      type: str
      sample: changed
    reason:
      description: Why a step was skipped.
      type: str
      returned: when skipped
    started:
      description: Epoch seconds when the call was made.
      type: float
      returned: when changed
    released:
      description: Epoch seconds when a swap-out's old name was seen free.
      type: float
      returned: for a swap-out, when changed and waited for
    finished:
      description: Epoch seconds when its postcondition held.
      type: float
      returned: when changed and waited for
    duration:
      description: Seconds from the call to the postcondition.
      type: float
      returned: when changed and waited for
      sample: 912.4
plan:
  description: The plan, each step marked V(pending) or V(done) from the live state after this run; pass it on.
  returned: always
  type: list
  elements: dict
phase:
  description: The phase read from the live state after this run, V(copy), V(swap), V(cleanup) or V(complete).
  returned: always
  type: str
  sample: cleanup
nodes:
  description: The target graph's members, parents first.
  returned: always
  type: list
  elements: str
mode:
  description: The copy method, V(replica), V(point_in_time) or V(snapshot).
  returned: always
  type: str
clone:
  description:
    - How to reach the clone before the swap (empty once there is no C(temp-*) primary), for a prepare step.
    - C(identifier), C(node), C(address), C(port), C(engine), C(status), C(master_username), C(resource_id) and
      C(master_secret_arn) (when RDS manages its password) of the new primary, and the same for every C(temp-*)
      instance in C(instances).
  returned: always
  type: dict
  sample: {"identifier": "temp-mitosis-demo", "address": "temp-mitosis-demo.abc.us-east-1.rds.amazonaws.com",
           "port": 3306, "engine": "mysql", "master_username": "admin", "instances": []}
waiting_for_prepare:
  description: The plan's prepare step is pending, so nothing after it ran (see O(prepared)).
  returned: always
  type: bool
caller_steps:
  description: The caller's steps that are pending after this run, by their phase, V(prepare) and V(restart).
  returned: always
  type: list
  elements: str
  sample: ["restart"]
secrets:
  description:
    - The managed master secrets the clone got (a target whose master password Secrets Manager manages gets a new
      one), by target member; the application must read the new secret.
  returned: always
  type: dict
  sample: {"mitosis-demo": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf"}
run:
  description: The record of the refresh so far (steps with their times, the restart, API calls by operation); pass it on.
  returned: always
  type: dict
summary:
  description: Computed from RV(run).
  returned: always
  type: dict
  contains:
    lines:
      description: The summary for a person to read.
      type: list
      elements: str
    phase_seconds:
      description: Seconds from the first call to the last completion of each phase (times O(report_time_scale)).
      type: dict
      returned: unless check mode
      sample: {"copy": 2220.0, "swap": 960.0}
    unreachable_seconds:
      description: For each name, seconds from its rename aside to its clone being available under it.
      type: dict
      returned: unless check mode
      sample: {"mitosis-demo": 975.0}
    to_restart_seconds:
      description: Seconds from the first call to the restart.
      type: float
      returned: when a restart is recorded
    total_seconds:
      description: Seconds from the first call to the last completion.
      type: float
      returned: when steps ran
    calls:
      description: API calls of the refresh so far, C(total), C(mutating), C(describe_instances), C(describe_clusters), C(list_tags).
      type: dict
    secrets:
      description: The clone's new managed master secrets by target member, as in RV(secrets), for the whole run.
      type: dict
    masking:
      description:
        - With O(mask_rules), what the masking did, C(masked) (per table C(rows) and C(seconds), or C(resumed); the
          C(columns); the C(proof) on the new primary; C(seconds)) and C(checked) (per instance, C(columns_checked)
          and C(sampled_values); C(seconds)).
      type: dict
diff:
  description: Before and after of the instances the pending steps touch.
  returned: in diff mode
  type: dict
"""

from ansible_collections.mitosis.rds.plugins.module_utils.module import (
    CLONE_REQUIRED_IF, STEP_ARGUMENT_SPEC, STEP_MUTUALLY_EXCLUSIVE, STEP_REQUIRED_ONE_OF, MitosisModule, run_step)


def main():
    module = MitosisModule(argument_spec=STEP_ARGUMENT_SPEC, mutually_exclusive=STEP_MUTUALLY_EXCLUSIVE,
                           required_one_of=STEP_REQUIRED_ONE_OF, required_if=CLONE_REQUIRED_IF,
                           supports_check_mode=True)
    module.run(lambda m: run_step(m.connection, m.params, m.check_mode, m.diff_mode))


if __name__ == "__main__":
    main()
