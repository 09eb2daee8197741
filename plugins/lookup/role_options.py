# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: role_options
author: mitosis.rds developers (@mitosis-rds)
short_description: The options given to a play by their short names, as the variables of a role of this collection
description:
  - Reads the options of an entry point of a role of this collection from the role's C(meta/argument_specs.yml)
    and returns a mapping from each option's variable name (C(mitosis_target)) to its value, for every option whose
    short name (C(target)) the play was given as a variable with a value (an extra variable, a host variable, a
    survey answer).
  - An empty or null value (C(-e copy_method=), a blank AWX survey field) is an option not given, so the role's or
    its module's one default applies.
  - The C(mitosis.rds.clone), C(mitosis.rds.rollback) and C(mitosis.rds.stacks) playbooks set the role's variables
    from it in one M(ansible.builtin.set_fact) task, each option omitted when it was not given, so that no line is
    printed per option.
options:
  _terms:
    description: The name of the role in this collection.
    required: true
    type: list
    elements: str
  entry_point:
    description: The entry point of the role whose options are read.
    type: str
    default: main
  exclude:
    description: Short names never read from the play's variables.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Hand the options given to the play (-e target=mitosis-demo ...) to the clone role, in one task
  vars:
    given: "{{ lookup('mitosis.rds.role_options', 'clone', exclude=['aws']) }}"
  ansible.builtin.set_fact:
    mitosis_source: "{{ given.mitosis_source | default(omit) }}"
    mitosis_target: "{{ given.mitosis_target | default(omit) }}"
    mitosis_master_password: "{{ given.mitosis_master_password | default(omit) }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One mapping per role named, from each given option's variable name to its value.
  type: list
  elements: dict
"""

import functools
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.module_utils.common.yaml import yaml_load
from ansible.plugins.lookup import LookupBase

PREFIX = "mitosis_"
ROLES = Path(__file__).resolve().parents[2] / "roles"


@functools.lru_cache(maxsize=None)
def role_options(role, entry_point):
    """The option names of the entry point of `role`, from its argument specs."""
    path = ROLES / role / "meta" / "argument_specs.yml"
    try:
        with open(path, encoding="utf-8") as specs:
            return tuple(yaml_load(specs)["argument_specs"][entry_point]["options"])
    except (OSError, KeyError, TypeError) as error:
        raise AnsibleError("No entry point {0} of the role {1} in {2}: {3}".format(entry_point, role, path, error))


def given(value):
    return value not in ("", None)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        exclude = set(self.get_option("exclude"))
        found = []
        for role in terms:
            options = {}
            for option in role_options(role, self.get_option("entry_point")):
                short = option[len(PREFIX):] if option.startswith(PREFIX) else None
                if short is None or short in exclude or short not in variables:
                    continue
                value = self._templar.template(variables[short])
                if given(value):
                    options[option] = value
            found.append(options)
        return found
