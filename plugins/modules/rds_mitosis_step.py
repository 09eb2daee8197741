#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_mitosis_step
short_description: Apply one step, or one wave of independent steps, of an RDS clone plan
version_added: 0.1.0
description:
  - Applies steps of a plan returned by M(mitosis.rds.rds_mitosis_plan) and waits until each one's postcondition
    holds and its instance is C(available).
  - Before acting it recomputes the plan from live state. A step that is already done is skipped with
    C(changed=false), so running a wave twice, or after an interruption, never repeats work.
  - An instance still busy with an earlier call (for example after an interrupted run) is waited for, and
    C(InvalidDBInstanceState) caused by a busy instance is waited out, not fatal. Throttling is retried by botocore.
  - A rename is complete only when the old name is gone, the new one exists and it is C(available) after the
    reboot that follows C(renaming) (or, if the reboot was not observed, after O(rename_settle_time) seconds of
    being available).
  - Refuses to delete anything outside the C(old-*) names of the plan, and refuses deletes until the swap is
    finished. The restart step is not applied here; the C(mitosis.rds.clone) role runs it.
author:
  - mitosis.rds developers (@mitosis-rds)
options:
  steps:
    description:
      - The steps to apply, as entries of the plan's RV(mitosis.rds.rds_mitosis_plan#module:plan) (only C(id) is
        read) or as step ids. Give one step, or the steps of one wave.
    type: list
    elements: raw
    required: true
  wait:
    description: Wait until every step's postcondition holds and its instance is available.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the wave before failing (the clone can be resumed by running again).
    type: int
    default: 14400
  poll_interval:
    description: Seconds between two polls; each poll is one C(DescribeDBInstances) for the whole wave.
    type: float
    default: 30
  rename_settle_time:
    description:
      - After a rename, how many seconds the new name must stay C(available) to count as renamed when the reboot
        that follows a rename was not observed between two polls.
    type: float
    default: 120
extends_documentation_fragment:
  - mitosis.rds.clone
  - mitosis.rds.aws
  - ansible.builtin.action_common_attributes
attributes:
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
  register: mitosis_plan

- name: Apply the copy waves one after the other
  mitosis.rds.rds_mitosis_step:
    source: mitosis-prod
    target: mitosis-demo
    steps: "{{ mitosis_plan.plan | selectattr('wave', 'equalto', item) | list }}"
  loop: "{{ mitosis_plan.waves.copy }}"

- name: Apply a single step by id, without waiting
  mitosis.rds.rds_mitosis_step:
    source: mitosis-prod
    target: mitosis-demo
    steps: [create:mitosis-demo]
    wait: false
"""

RETURN = r"""
steps:
  description: One entry per requested step, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The step id.
      type: str
      sample: swap-in:mitosis-demo
    action:
      description: The RDS API operation.
      type: str
      sample: ModifyDBInstance
    identifier:
      description: The instance acted on.
      type: str
      sample: temp-mitosis-demo
    params:
      description: The parameters sent (or that would be sent), minus the identifier.
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
    finished:
      description: Epoch seconds when its postcondition held.
      type: float
      returned: when changed and waited for
    duration:
      description: Seconds from the call to the postcondition.
      type: float
      returned: when changed and waited for
      sample: 912.4
"""

from ansible_collections.mitosis.rds.plugins.module_utils.executor import apply_wave
from ansible_collections.mitosis.rds.plugins.module_utils.module import CLONE_ARGUMENT_SPEC, MitosisModule


def apply(module):
    p = module.params
    result = apply_wave(
        module.connection.client("rds"), p["source"], p["target"], p["steps"], restore_snapshot=p["restore_snapshot"],
        check_mode=module.check_mode, wait=p["wait"], wait_timeout=p["wait_timeout"], poll_interval=p["poll_interval"],
        settle_time=p["rename_settle_time"])
    if not module.diff_mode:
        result.pop("diff")
    return result


def main():
    module = MitosisModule(
        argument_spec=dict(
            CLONE_ARGUMENT_SPEC,
            steps=dict(type="list", elements="raw", required=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=14400),
            poll_interval=dict(type="float", default=30),
            rename_settle_time=dict(type="float", default=120),
        ),
        supports_check_mode=True,
    )
    module.run(apply)


if __name__ == "__main__":
    main()
