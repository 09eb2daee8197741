#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_mitosis_lock
short_description: Take, release or show the lock that lets one run at a time refresh an RDS target
version_added: 0.1.0
description:
  - Takes (O(state=present)), releases (O(state=absent)) or shows (O(state=query)) the lock that makes one run per
    target. A run takes it before its first mutating call and releases it at its end, after a handled failure too.
  - The lock lives in AWS, so that runs started from different machines (AWX, a laptop) see each other. It is a set
    of tags on the instance that holds the target's name, O(target), else C(temp-<target>), else C(old-<target>),
    else C(rej-<target>) (a rollback's name for a rejected clone). Locks are read from all these names (one filtered
    C(DescribeDBInstances), whose C(TagList) carries them), since tags follow an instance through the renames of a
    refresh or a rollback. When no instance holds any of these names, the target is an Aurora cluster, and the lock
    is a set of tags on the cluster that holds them (read with C(DescribeDBClusters)).
  - Each run writes its own tag, key C(mitosis:lock:<run_id>), value
    C(started=<UTC start time> user=<user> host=<host> pid=<pid>), for example
    C(started=2026-11-30T21:00:00Z user=alice host=ws1 pid=4242). The user and host keep only the characters AWS
    allows in a tag value (others become C(_)); the pid is the C(ansible-playbook) process of the run when the
    module runs on the same machine, and is left out otherwise.
  - Taking the lock is a protocol, since tags are not atomic. (1) Read the locks. Another run's lock that is not
    stale refuses this run before anything is written, with a message naming that run (run id, start time, user,
    host) and how to go on. (2) Remove the stale locks, and with O(break_lock=true) every other run's lock.
    (3) Write this run's tag. (4) Wait O(settle_time) seconds. (5) Read the locks again. When this run's tag is
    gone (another run broke it) or another live lock comes first in the order (start time, then run id; the
    earlier wins), remove this run's tag and refuse, naming that run. Otherwise this run holds the lock.
  - Why two runs started in the same second end with exactly one proceeding. A run that passes step 1 read the
    locks before the other run wrote its tag (else it would have seen it and stopped), and writes its own tag one
    API call later. The protocol assumes that this read-then-write gap is far below O(settle_time). So when either
    run reads again in step 5, O(settle_time) after its own write, the other's tag is there too; both runs see both
    tags, apply the same order, and the later one removes its tag and stops. The clocks of the two machines need not
    agree for this, only for telling stale locks.
  - A lock is stale when it is older than O(lock_max_age) seconds, or when its user and host are this run's and its
    pid is not running on this machine (a run killed here). Stale locks are ignored and removed, with a warning.
  - A run that crashed leaves its lock until it is stale (at once when the next run comes from the same machine and
    user, since its process is gone). To resume sooner, run the same command again with C(-e break_lock=true)
    (role variable C(mitosis_break_lock), this module's O(break_lock)).
  - With O(state=present) and the same O(run_id) as a lock already there (a resumed call of the same run), the
    lock keeps its start time. It is only copied, as it is, onto the instance that holds the target's name when it
    is on another name, for example on C(old-<target>) after the swap. Call it so before the cleanup deletes
    C(old-<target>), and the lock stays with the target to the end of the run.
author:
  - mitosis.rds developers (@mitosis-rds)
options:
  target:
    description:
      - The root of the target graph, as passed to M(mitosis.rds.rds_mitosis_plan). One of O(target),
        C(temp-<target>), C(old-<target>) and C(rej-<target>) must exist.
    type: str
    required: true
  source:
    description:
      - With O(state=present), the source of the refresh. A source that sits in a graph another run is refreshing
        (a live lock on the root of its replication graph) fails the run before any change, since its data is about
        to be replaced.
    type: str
  state:
    description:
      - V(present) takes the lock for O(run_id) and fails, before any change, when another run holds it.
      - V(absent) removes the lock of O(run_id) from whichever instance carries it. Nothing to remove is no error,
        nor is a target that no longer exists.
      - V(query) returns the current holders and changes nothing.
    type: str
    choices: [present, absent, query]
    default: present
  swap_method:
    description:
      - How the target's refresh swaps (see M(mitosis.rds.rds_mitosis_plan)). With V(dns), O(target) is the root
        member's name as the plan's C(lock_target) returns it, and the lock is on its newest generation
        (C(<target>), C(<target>-a) or C(<target>-b)), else on one moved aside (C(old-*), C(rej-*)).
    type: str
    choices: [rename, dns]
    default: rename
  run_id:
    description:
      - The run's id, the suffix of its tag key. Letters, digits, C(_), C(.) and C(-), at most 64.
      - Required with O(state=absent). With O(state=present) it is generated when left out (12 lowercase hex
        characters from a UUID4) and returned in RV(run_id); pass it to the release.
    type: str
  lock_max_age:
    description:
      - Seconds after which another run's lock counts as stale, its run taken to be gone. Set it above the
        longest refresh.
    type: int
    default: 43200
  break_lock:
    description:
      - Remove every other run's lock, stale or not, before taking it. Only when the run that holds it is gone,
        for example killed, or its machine lost.
    type: bool
    default: false
  settle_time:
    description:
      - Seconds to wait between writing this run's tag and reading the locks again (protocol step 4). It must be far
        above the time between a run's first read and its write (one API call).
    type: float
    default: 5
  user:
    description:
      - The user written into the lock and named to other runs. Defaults to the user the module runs as; set it
        where that says little, for example to the AWX user who launched the job.
    type: str
  host:
    description:
      - The host written into the lock. Defaults to the host name of the machine the module runs on.
      - A lock whose user and host are this run's and whose pid is not running here counts as stale.
    type: str
extends_documentation_fragment:
  - mitosis.rds.aws
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - O(state=present) and O(state=absent) make no mutating call. They return the calls they would make in
        RV(calls) and the current holders, with C(changed=true) when they would change something. A lock held by
        another run is reported with RV(refused=true) instead of a failure.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The protocol assumes that a tag written is seen by every C(DescribeDBInstances) that starts after the write, or
    at the latest within O(settle_time). Raise O(settle_time) if runs start from slow or distant machines.
  - IAM actions used are C(rds:DescribeDBInstances), C(rds:DescribeDBClusters) (for an Aurora target),
    C(rds:AddTagsToResource) and C(rds:RemoveTagsFromResource).
seealso:
  - module: mitosis.rds.rds_mitosis_plan
  - module: mitosis.rds.rds_mitosis_step
"""

EXAMPLES = r"""
- name: Take the lock on the demo stack
  mitosis.rds.rds_mitosis_lock:
    target: mitosis-demo
  register: mitosis_lock

- name: Refresh, and release the lock whatever happens
  block:
    - name: Refresh demo from production
      ansible.builtin.include_role:
        name: mitosis.rds.clone
      vars:
        mitosis_source: mitosis-prod
        mitosis_target: mitosis-demo
  always:
    - name: Release the lock
      mitosis.rds.rds_mitosis_lock:
        target: mitosis-demo
        run_id: "{{ mitosis_lock.run_id }}"
        state: absent

- name: Take the lock of a run that was killed, breaking its lock
  mitosis.rds.rds_mitosis_lock:
    target: mitosis-demo
    break_lock: true

- name: Show who holds the lock
  mitosis.rds.rds_mitosis_lock:
    target: mitosis-demo
    state: query
  register: mitosis_lock_holders

- name: Print it
  ansible.builtin.debug:
    msg: "{{ mitosis_lock_holders.msg }}"
"""

RETURN = r"""
run_id:
  description: The run's id (generated when O(run_id) was left out with O(state=present)).
  returned: when O(run_id) is given or O(state=present)
  type: str
  sample: 3f2a9c0d1e4b
held:
  description:
    - Whether this run holds the lock after the call. Always V(false) in check mode and with O(state=absent); with
      O(state=query), whether the lock of O(run_id) is there.
  returned: always
  type: bool
  sample: true
refused:
  description:
    - In check mode with O(state=present), V(true) when another run holds the lock, so that taking it would fail.
  returned: when O(state=present)
  type: bool
  sample: false
holders:
  description: The locks on the target after the call (in check mode, before), earliest first.
  returned: always
  type: list
  elements: dict
  contains:
    run_id:
      description: The run's id.
      type: str
      sample: 3f2a9c0d1e4b
    started:
      description: When the run started, UTC, as written in its lock.
      type: str
      sample: "2026-11-30T21:00:00Z"
    user:
      description: Who started it.
      type: str
      sample: alice
    host:
      description: Where it runs.
      type: str
      sample: ws1
    pid:
      description: Its C(ansible-playbook) process on that host, when known.
      type: int
      sample: 4242
    age_seconds:
      description: Seconds since it started (null when its start time cannot be read).
      type: int
      sample: 310
    stale:
      description: Whether the lock counts as stale (its run taken to be gone).
      type: bool
      sample: false
    stale_reason:
      description: Why it is stale, or null.
      type: str
      sample: older than lock_max_age (46800 > 43200 s)
    identifier:
      description: The instance carrying the lock.
      type: str
      sample: mitosis-demo
msg:
  description: What happened (or, in check mode, would happen), naming the holders.
  returned: always
  type: str
  sample: Run 3f2a9c0d1e4b holds the lock on mitosis-demo (started=2026-11-30T21:00:00Z user=alice host=ws1 pid=4242).
calls:
  description: The mutating calls made (in check mode, that would be made).
  returned: when O(state=present) or O(state=absent)
  type: list
  elements: dict
  contains:
    action:
      description: C(AddTagsToResource) or C(RemoveTagsFromResource).
      type: str
      sample: AddTagsToResource
    identifier:
      description: The instance tagged or untagged.
      type: str
      sample: mitosis-demo
    tag_keys:
      description: The tag keys written or removed.
      type: list
      elements: str
      sample: ["mitosis:lock:3f2a9c0d1e4b"]
"""

import os

from ansible_collections.mitosis.rds.plugins.module_utils.lock import (
    LOCK_MAX_AGE, SETTLE_TIME, acquire, check_source, holders_text, inspect, new_run_id, proc_parent, ps_parent, release,
    run_pid, this_identity, utc_now)
from ansible_collections.mitosis.rds.plugins.module_utils.module import MitosisModule
from ansible_collections.mitosis.rds.plugins.module_utils.plans import DNS, RENAME, SWAP_METHODS


def run_process(module):
    """The pid of the run (ansible-playbook), read from /proc or, where there is none, through ps."""
    read = proc_parent if os.path.isdir("/proc/self") else ps_parent(module.module.run_command)
    return run_pid(read)


def lock(module):
    p = module.params
    rds = module.connection.client("rds")
    now = utc_now()
    user, host = this_identity(p["user"], p["host"])
    dns = p["swap_method"] == DNS
    if p["state"] == "query":
        holders = inspect(rds, p["target"], p["lock_max_age"], now, user, host, dns=dns)
        result = {"changed": False, "held": any(h["run_id"] == p["run_id"] for h in holders), "holders": holders,
                  "msg": holders_text(p["target"], holders)}
        if p["run_id"]:
            result["run_id"] = p["run_id"]
        return result
    if p["state"] == "absent":
        result = release(rds, p["target"], p["run_id"], check_mode=module.check_mode, dns=dns)
    else:
        if p["source"]:
            check_source(rds, p["source"], p["lock_max_age"], now, user, host)
        result = acquire(rds, p["target"], p["run_id"] or new_run_id(), now, user, host, run_process(module),
                         max_age=p["lock_max_age"], break_lock=p["break_lock"], settle=p["settle_time"],
                         check_mode=module.check_mode, dns=dns)
    for warning in result.pop("warnings"):
        module.module.warn(warning)
    return result


def main():
    module = MitosisModule(
        argument_spec=dict(
            target=dict(type="str", required=True),
            source=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent", "query"]),
            run_id=dict(type="str"),
            lock_max_age=dict(type="int", default=LOCK_MAX_AGE),
            break_lock=dict(type="bool", default=False),
            settle_time=dict(type="float", default=SETTLE_TIME),
            user=dict(type="str"),
            host=dict(type="str"),
            swap_method=dict(type="str", default=RENAME, choices=list(SWAP_METHODS)),
        ),
        required_if=[("state", "absent", ["run_id"])],
        supports_check_mode=True,
    )
    module.run(lock)


if __name__ == "__main__":
    main()
