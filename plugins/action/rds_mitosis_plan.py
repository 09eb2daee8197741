# -*- coding: utf-8 -*-
# Copyright (c) 2026 mitosis.rds developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rds_mitosis_plan checks the files it is given on the controller, where they are read, before the module plans: a
missing or broken prepare, restart or masking rules file must fail before the run changes anything, not hours
later."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil

from ansible.errors import AnsibleError
from ansible.playbook.block import Block
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase

from ansible_collections.mitosis.rds.plugins.module_utils.aws import MitosisError
from ansible_collections.mitosis.rds.plugins.module_utils.masking import read_rules_option

TASK_FILE_OPTIONS = ("prepare_tasks", "restart_tasks")
# What /bin/sh runs without looking for a program (the restart command's first word may be one of these).
SHELL_WORDS = frozenset(("!", "{", "(", ".", ":", "[", "alias", "break", "case", "cd", "command", "continue", "eval",
                         "exec", "exit", "export", "false", "for", "if", "read", "return", "set", "shift", "source",
                         "test", "trap", "true", "type", "ulimit", "umask", "unset", "until", "wait", "while"))
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        for option in TASK_FILE_OPTIONS:
            if args.get(option) in (None, ""):  # AWX sends an empty string for a blank field: not given
                args.pop(option, None)
                continue
            try:
                args[option] = self._checked_task_file(option, str(args[option]))
            except MitosisError as error:
                return dict(result, failed=True, **error.to_result())
        try:
            read_rules_option(args, "mask_rules")
            check_command(str(args.get("restart_command") or ""))
            if isinstance(args.get("approved_plan"), str):
                args["approved_plan"] = self._approved_plan_file(args["approved_plan"])
        except MitosisError as error:
            return dict(result, failed=True, **error.to_result())
        result.update(self._execute_module(module_args=args, task_vars=task_vars))
        if args.get("plan_file") and not result.get("failed"):
            try:
                write_plan_file(args["plan_file"], result["approval"])
            except OSError as error:
                return dict(result, failed=True, msg="plan_file: {0} cannot be written: {1}.".format(
                    args["plan_file"], error))
            result["plan_file"] = os.path.abspath(os.path.expanduser(args["plan_file"]))
        return result

    def _approved_plan_file(self, given):
        """The plan in the file `given` (JSON or YAML, as plan_file writes it); an empty string is no plan."""
        if not given.strip():
            return None
        path = os.path.abspath(os.path.expanduser(given))
        try:
            return self._loader.load_from_file(path)
        except AnsibleError as error:
            raise MitosisError("approved_plan: the file {0} cannot be read as a plan: {1}".format(path, error),
                               operation="options", identifier=given,
                               hint="Pass the file a check-mode run wrote with plan_file, or the plan it published "
                                    "(mitosis_plan).") from None

    def _checked_task_file(self, option, given):
        """The file `given` names, as include_tasks would read it (a relative path from the directory
        ansible-playbook runs in first), once it is known to be a readable list of tasks."""
        path = os.path.expanduser(given)
        if not os.path.isabs(path):
            here = os.path.abspath(path)
            if os.path.exists(here):
                path = here
            else:
                try:
                    path = self._find_needle("tasks", path)
                except AnsibleError:
                    path = here
        hint = "Pass {0} as a path to a task file (absolute, or relative to the directory ansible-playbook runs " \
               "in), or leave it out.".format(option)
        if not os.path.isfile(path):
            raise MitosisError("{0}: the task file {1} was not found{2}.".format(
                option, given, "" if given == path else " (looked for " + path + ")"), operation="options",
                identifier=given, hint=hint)
        if not os.access(path, os.R_OK):
            raise MitosisError("{0}: the task file {1} cannot be read.".format(option, path), operation="options",
                               identifier=given, hint="Make it readable by the user that runs ansible-playbook.")
        try:
            tasks = self._loader.load_from_file(path)
        except AnsibleError as error:
            raise MitosisError("{0}: {1} is not valid YAML: {2}".format(option, path, error), operation="options",
                               identifier=given, hint=hint) from None
        if not tasks:
            raise MitosisError("{0}: {1} holds no tasks.".format(option, path), operation="options", identifier=given,
                               hint=hint)
        if not isinstance(tasks, list):
            raise MitosisError("{0}: {1} is not a list of tasks (a YAML list, as include_tasks reads).".format(
                option, path), operation="options", identifier=given, hint=hint)
        for number, entry in enumerate(tasks, 1):
            try:
                self._check_task(entry)
            except (AnsibleError, AssertionError) as error:
                named = " ({0})".format(entry["name"]) if isinstance(entry, dict) and entry.get("name") else ""
                raise MitosisError("{0}: task {1}{2} of {3} is not a task Ansible can run: {4}".format(
                    option, number, named, path, error), operation="options", identifier=given, hint=hint) from None
        return path

    def _check_task(self, entry):
        """`entry` loads as a task (or a block of tasks) naming an installed module or action."""
        if not isinstance(entry, dict):
            raise AnsibleError("it is a {0}, not a mapping".format(type(entry).__name__))
        if Block.is_block(entry):
            for key in ("block", "rescue", "always"):
                for inner in entry.get(key) or []:
                    self._check_task(inner)
            return
        Task.load(entry, role=self._task._role, loader=self._loader)


def check_command(command):
    """The restart command's program exists: a path (relative to the directory ansible-playbook runs in, where the
    command runs) must be an executable file, a bare name must be found on PATH (the shell's own words aside)."""
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise MitosisError("restart_command: {0!r} is not a shell command line: {1}.".format(command, error),
                           operation="options", hint="Check its quotes.") from None
    words = list(itertools.dropwhile(ASSIGNMENT.match, words))  # VAR=value before the program
    if not words or words[0] in SHELL_WORDS:
        return
    program = words[0]
    hint = "Fix restart_command (it runs on the controller, in the directory ansible-playbook runs in), or leave it " \
           "out."
    if "/" not in program:
        if shutil.which(program) is None:
            raise MitosisError("restart_command: the program {0} was not found on PATH.".format(program),
                               operation="options", identifier=program, hint=hint)
        return
    path = os.path.abspath(os.path.expanduser(program))
    if not os.path.isfile(path):
        raise MitosisError("restart_command: {0} was not found{1}.".format(
            program, "" if program == path else " (looked for " + path + ")"), operation="options",
            identifier=program, hint=hint)
    if not os.access(path, os.X_OK):
        raise MitosisError("restart_command: {0} is not executable.".format(path), operation="options",
                           identifier=program, hint="Make it executable (chmod +x {0}).".format(program))


def write_plan_file(path, plan):
    """The approval of a plan, as JSON, for a person to read and for approved_plan to compare."""
    path = os.path.expanduser(path)
    with open(path, "w", encoding="utf-8") as written:
        json.dump(plan, written, indent=2)
        written.write("\n")
