#!/usr/bin/env python3
"""Offline-capable stand-in for the get-pip bootstrap script that ansible-test downloads.

mitosis.rds get-pip stand-in (this line is the marker devtools/sanity.py looks for; keep it)

Why it exists
-------------
``ansible-test`` creates its virtual environments (``--venv`` delegation, every sanity test
environment) with ``python -m venv --without-pip`` and then "bootstraps" pip into them. For that it
downloads ``https://ci-files.testing.ansible.com/ansible-test/get-pip-<pip_version>.py`` into
``~/.ansible/test/cache/get_pip_<pip_version with . replaced by _>.py`` unless that file already
exists (see ``ansible_test/_util/target/setup/requirements.py``, function ``bootstrap``). We cannot
reach that host, so ``devtools/sanity.py`` copies this file to that cache path beforehand.

Contract (what ansible-test does with the cached file)
------------------------------------------------------
ansible-test never runs the file directly: its pip wrapper (``quiet_pip.py``) is run by the
interpreter of the new, pip-less virtual environment with ``GET_PIP=<cache path>``; the wrapper puts
the cache directory first on ``sys.path`` and executes this file as ``__main__`` with
``runpy.run_module``. ``sys.argv[1:]`` is then, for ansible-core 2.19::

    --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

and, like the real get-pip.py, the script must leave ``sys.executable``'s environment with exactly
that pip installed (``pip install --upgrade --force-reinstall <args>``), exit 0 on success and
non-zero on failure. Only the standard library may be used: the environment has nothing else yet.

How this stand-in does it
-------------------------
1. It needs a pip to run: preferably the wheel of the requested pip version from the wheelhouse
   (``$MITOSIS_GET_PIP_WHEELHOUSE``, default ``get_pip_wheels/`` next to this file, which
   ``devtools/sanity.py`` fills once with ``pip download``), else any pip wheel there, else the pip
   wheel bundled with the standard library's ``ensurepip``. A pip wheel can run straight from the
   archive: ``python pip-X.whl/pip install ...``.
2. It runs ``pip install --upgrade --force-reinstall <args>`` with that pip. If every pinned
   requirement (``name==version``) has a wheel in the wheelhouse, ``--no-index`` is added, so the
   bootstrap never touches the network; otherwise the wheelhouse is only a ``--find-links`` source
   next to the configured index (PyPI).
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

MARKER = 'mitosis.rds get-pip stand-in'
WHEELHOUSE_ENV = 'MITOSIS_GET_PIP_WHEELHOUSE'
WHEELHOUSE_DIRNAME = 'get_pip_wheels'

# The options of the real get-pip.py that are not pip options.
IMPLICIT_OPTIONS = {
    '--no-pip': 'pip',
    '--no-setuptools': 'setuptools',
    '--no-wheel': 'wheel',
}


def log(message: str) -> None:
    print('get-pip (%s): %s' % (MARKER, message), file=sys.stderr)
    sys.stderr.flush()


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r'[-_.]+', '-', name).lower()


def wheel_project(path: str) -> str:
    return canonical(os.path.basename(path).split('-')[0])


def wheel_version(path: str) -> str:
    return os.path.basename(path).split('-')[1]


def version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r'[.+-]', version))


def wheelhouse_dir() -> str:
    configured = os.environ.get(WHEELHOUSE_ENV)

    if configured:
        return configured

    return os.path.join(os.path.dirname(os.path.abspath(__file__)), WHEELHOUSE_DIRNAME)


def wheels(directory: str) -> list[str]:
    return sorted(glob.glob(os.path.join(glob.escape(directory), '*.whl')))


def split_arguments(argv: list[str]) -> tuple[list[str], dict[str, str | None]]:
    """Return the pip install arguments and the requested projects (name -> pinned version or None)."""
    implicit = {'pip': True, 'setuptools': sys.version_info < (3, 12), 'wheel': sys.version_info < (3, 12)}

    for option, project in IMPLICIT_OPTIONS.items():
        if os.environ.get('PIP_NO_%s' % project.upper()):
            implicit[project] = False

    pip_args = []
    requested: dict[str, str | None] = {}

    for arg in argv:
        if arg in IMPLICIT_OPTIONS:
            implicit[IMPLICIT_OPTIONS[arg]] = False
            continue

        pip_args.append(arg)

        if arg.startswith('-'):
            continue

        match = re.match(r'^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(==\s*([^,;\s]+))?', arg)

        if match:
            requested[canonical(match.group(1))] = match.group(3) if match.group(2) and '*' not in match.group(2) else None

    for project, wanted in implicit.items():
        if wanted and project not in requested:
            pip_args.append(project)
            requested[project] = None

    return pip_args, requested


def bundled_pip_wheels() -> list[str]:
    """pip wheels that come with the standard library's ensurepip (possibly relocated by a distribution)."""
    candidates = []

    try:
        import ensurepip
    except ImportError:
        return candidates

    directories = [os.path.join(os.path.dirname(ensurepip.__file__), '_bundled')]
    relocated = getattr(ensurepip, '_WHEEL_PKG_DIR', None)

    if relocated:
        directories.append(relocated)

    for directory in directories:
        candidates.extend(path for path in wheels(directory) if wheel_project(path) == 'pip')

    return sorted(candidates, key=lambda path: version_key(wheel_version(path)), reverse=True)


def choose_runner(wheelhouse: str, pip_version: str | None) -> str | None:
    """Return the path of a pip wheel that can run this installation."""
    local = [path for path in wheels(wheelhouse) if wheel_project(path) == 'pip']

    for path in local:
        if pip_version and wheel_version(path) == pip_version:
            return path

    local.sort(key=lambda path: version_key(wheel_version(path)), reverse=True)

    for path in local + bundled_pip_wheels():
        return path

    return None


def all_available_offline(wheelhouse: str, requested: dict[str, str | None]) -> bool:
    available = {(wheel_project(path), wheel_version(path)) for path in wheels(wheelhouse)}

    return all(version is not None and (project, version) in available for project, version in requested.items())


def main() -> int:
    pip_args, requested = split_arguments(sys.argv[1:])
    wheelhouse = wheelhouse_dir()
    runner = choose_runner(wheelhouse, requested.get('pip'))

    if not runner:
        log('no pip wheel to bootstrap from: neither %s nor ensurepip provides one' % wheelhouse)
        return 1

    command = [sys.executable, os.path.join(runner, 'pip'), 'install', '--upgrade', '--force-reinstall']

    if os.path.isdir(wheelhouse):
        if all_available_offline(wheelhouse, requested):
            command.append('--no-index')

        command.extend(['--find-links', wheelhouse])

    command.extend(pip_args)
    log('running pip from %s: %s' % (os.path.basename(runner), ' '.join(command[2:])))

    # pip's own output goes straight through; ansible-test shows it when the bootstrap fails.
    returncode = subprocess.call(command)

    if returncode:
        log('pip failed with status %d; offline? fill %s with: python -m pip download --no-deps -d %s %s'
            % (returncode, wheelhouse, wheelhouse, ' '.join('%s==%s' % item for item in requested.items() if item[1])))

    return returncode


if __name__ == '__main__':
    sys.exit(main())
