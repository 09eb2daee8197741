"""`make sanity`: run `ansible-test sanity` on exactly what ships, without reaching hosts other than PyPI.

Steps (each one timed and reported):

1. Install the pip bootstrap that ansible-test wants into its cache. ansible-test creates its virtual
   environments without pip and bootstraps pip with a get-pip script that it downloads from
   ci-files.testing.ansible.com into ~/.ansible/test/cache/get_pip_<version>.py when that file is
   missing. We copy devtools/get_pip.py (an offline-capable stand-in, see its docstring) there,
   unless a genuine get-pip script is already cached, and put the wheel of the wanted pip version
   (fetched once from PyPI with `pip download`) into ~/.ansible/test/cache/get_pip_wheels/.
2. `ansible-galaxy collection build` into build/ (galaxy.yml's build_ignore keeps dev tooling out)
   and extract the tarball to build/sanity/ansible_collections/<namespace>/<name>, so sanity checks
   the shipped file list and nothing else. ANSIBLE_TEST_CONTENT_ROOT points ansible-test at that
   tree: otherwise it would find the repository's .git, where build/ is ignored, and see no files.
3. `ansible-test sanity --venv --python <this python>`. `--venv` runs ansible-test in a virtual
   environment holding only its own requirements (build/sanity/.../tests/output/.tmp/delegation,
   kept across runs); each sanity test runs in a virtual environment with its pinned requirements
   from PyPI, cached by ansible-test in ~/.ansible/test/venv/. Once both caches exist (after the first
   run) a run needs no network at all.

   With --all-pythons, `--python` is left out and every Python 3.8-3.13 found on PATH or in
   ~/.pyenv/versions is put on PATH, so compile and import run on each of them (module and
   module_utils code must run on all target versions); missing versions are skipped by ansible-test.

Usage: python -m devtools.sanity [--source DIR] [--python X.Y | --all-pythons] [ansible-test sanity options ...]
e.g.   python -m devtools.sanity --test validate-modules -v
       python -m devtools.sanity --source /tmp/scratch-copy     (check another checkout of the collection)
Exit status: 0 when ansible-test sanity passed, non-zero otherwise (build failure or failing tests).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import time
import types
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUILD = ROOT / 'build'
STANDIN = Path(__file__).resolve().parent / 'get_pip.py'
STANDIN_MARKER = 'mitosis.rds get-pip stand-in'
ANSIBLE_TEST_CACHE = Path('~/.ansible/test/cache').expanduser()  # hard-coded in ansible-test's requirements.py
WHEELHOUSE = ANSIBLE_TEST_CACHE / 'get_pip_wheels'  # the stand-in's default wheelhouse (next to it)
DELEGATION_VENV = Path('tests/output/.tmp/delegation')  # where `ansible-test --venv` keeps its environment

TIMINGS: list[tuple[str, float]] = []


class Failure(Exception):
    """A step failed; the message says which and why."""


def say(message: str) -> None:
    print(f'[sanity] {message}', flush=True)


def timed(label: str):
    class Timer:
        def __enter__(self):
            self.start = time.monotonic()
            return self

        def __exit__(self, *exc):
            TIMINGS.append((label, time.monotonic() - self.start))
            return False

    return Timer()


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    say('$ ' + ' '.join(str(part) for part in command))
    return subprocess.run([str(part) for part in command], check=False, **kwargs)


def bootstrap_pip_version() -> str:
    """The pip version ansible-test bootstraps into its virtual environments (24.2 for ansible-core 2.19)."""
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(types.SimpleNamespace(version=f'{sys.version_info[0]}.{sys.version_info[1]}'))['pip']


def install_pip_bootstrap() -> None:
    version = bootstrap_pip_version()
    # Same expression as ansible_test/_util/target/setup/requirements.py:bootstrap().
    cache_path = ANSIBLE_TEST_CACHE / ('get_pip_%s.py' % version.replace('.', '_'))
    ANSIBLE_TEST_CACHE.mkdir(parents=True, exist_ok=True)

    wanted = STANDIN.read_bytes()

    if cache_path.exists() and STANDIN_MARKER.encode() not in cache_path.read_bytes():
        say(f'pip bootstrap: keeping the genuine get-pip script already cached at {cache_path}')
    elif cache_path.exists() and cache_path.read_bytes() == wanted:
        say(f'pip bootstrap: stand-in up to date at {cache_path}')
    else:
        temporary = cache_path.with_name(cache_path.name + '.mitosis')
        temporary.write_bytes(wanted)
        temporary.replace(cache_path)
        say(f'pip bootstrap: installed {STANDIN.relative_to(ROOT)} as {cache_path}')

    if list(WHEELHOUSE.glob(f'pip-{version}-*.whl')):
        say(f'pip bootstrap: pip {version} wheel present in {WHEELHOUSE}')
        return

    result = run([sys.executable, '-m', 'pip', 'download', '--disable-pip-version-check', '--quiet', '--no-deps',
                  '--only-binary=:all:', '--dest', WHEELHOUSE, f'pip=={version}'])

    if result.returncode:
        # Not fatal: the stand-in falls back to ensurepip's pip and the index; the caches may make it unnecessary.
        say(f'WARNING: could not download the pip {version} wheel into {WHEELHOUSE}; bootstrapping will need PyPI')


def galaxy_metadata(source: Path) -> dict:
    with open(source / 'galaxy.yml', encoding='utf-8') as stream:
        return yaml.safe_load(stream)


def build_and_extract(source: Path) -> Path:
    meta = galaxy_metadata(source)
    namespace, name, version = meta['namespace'], meta['name'], meta['version']
    BUILD.mkdir(exist_ok=True)
    tarball = BUILD / f'{namespace}-{name}-{version}.tar.gz'

    result = run([BIN / 'ansible-galaxy', 'collection', 'build', '--force', '--output-path', BUILD, source], cwd=source)

    if result.returncode or not tarball.is_file():
        raise Failure(f'ansible-galaxy collection build failed (status {result.returncode})')

    dest = BUILD / 'sanity' / 'ansible_collections' / namespace / name
    venv = dest / DELEGATION_VENV
    parked = BUILD / 'sanity-delegation-venv'

    # Keep ansible-test's --venv environment (its path is baked into it) and replace everything else.
    shutil.rmtree(parked, ignore_errors=True)

    if venv.is_dir():
        venv.rename(parked)

    shutil.rmtree(BUILD / 'sanity', ignore_errors=True)
    dest.mkdir(parents=True)

    with tarfile.open(tarball) as archive:
        files = sum(1 for member in archive.getmembers() if member.isfile())
        archive.extractall(dest, filter='data')

    if parked.is_dir():
        venv.parent.mkdir(parents=True, exist_ok=True)
        parked.rename(venv)

    say(f'extracted {tarball.relative_to(ROOT)} ({files} files) to {dest.relative_to(ROOT)}')
    return dest


def target_python_dirs() -> list[str]:
    """Directories holding a working pythonX.Y for each Python version ansible-test supports for modules."""
    from ansible_test._util.target.common.constants import CONTROLLER_PYTHON_VERSIONS, REMOTE_ONLY_PYTHON_VERSIONS

    directories = []

    for version in REMOTE_ONLY_PYTHON_VERSIONS + CONTROLLER_PYTHON_VERSIONS:
        candidates = [shutil.which(f'python{version}')]
        # pyenv shims only answer for the selected versions (and ansible-test drops PYENV_VERSION), so use the real ones.
        installed = glob.glob(os.path.expanduser(f'~/.pyenv/versions/{version}.*/bin/python{version}'))
        candidates += sorted(installed, key=lambda path: [int(part) for part in path.split('/')[-3].split('.') if part.isdigit()],
                             reverse=True)

        for candidate in filter(None, candidates):
            if subprocess.run([candidate, '-c', ''], capture_output=True, check=False).returncode == 0:
                directories.append(os.path.dirname(candidate))
                say(f'Python {version}: {candidate}')
                break
        else:
            say(f'Python {version}: not found, ansible-test will skip it')

    return directories


def run_sanity(dest: Path, python: str | None, extra: list[str]) -> int:
    env = dict(os.environ)
    env['ANSIBLE_TEST_CONTENT_ROOT'] = str(dest)
    path = [str(BIN)]

    if python is None:
        path += [directory for directory in target_python_dirs() if directory not in path]

    env['PATH'] = os.pathsep.join(path + [env.get('PATH', os.defpath)])

    # The repository's ansible.cfg / collection paths must not leak into the check of the built collection.
    for variable in ('ANSIBLE_CONFIG', 'ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_COLLECTIONS_PATHS'):
        env.pop(variable, None)

    command = [BIN / 'ansible-test', 'sanity', '--venv'] + (['--python', python] if python else []) + extra

    return run(command, cwd=dest, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0],
                                     epilog='Other options are passed on to `ansible-test sanity`.')
    parser.add_argument('--source', type=Path, default=ROOT, help='collection checkout to build (default: this repository)')
    parser.add_argument('--python', default=f'{sys.version_info[0]}.{sys.version_info[1]}',
                        help='Python version for ansible-test (default: the running one)')
    parser.add_argument('--all-pythons', action='store_true',
                        help='also compile/import-test modules and module_utils with every other Python version '
                             'ansible-test supports for targets (3.8-3.13) that is installed here (PATH or ~/.pyenv)')
    args, extra = parser.parse_known_args(argv)

    if args.all_pythons:
        args.python = None

    started = time.monotonic()
    status = 1
    verdict = 'FAILED: interrupted'

    try:
        with timed('pip bootstrap stand-in'):
            install_pip_bootstrap()

        with timed('build + extract'):
            dest = build_and_extract(args.source.resolve())

        with timed('ansible-test sanity'):
            status = run_sanity(dest, args.python, extra)

        if status:
            raise Failure(f'ansible-test sanity exited with status {status}; the errors are listed above '
                          f'(results in {(dest / "tests/output").relative_to(ROOT)})')

        verdict = 'PASSED: ansible-test sanity is green'
    except Failure as error:
        verdict = f'FAILED: {error}'
        status = status or 1
    finally:
        TIMINGS.append(('total', time.monotonic() - started))
        say('timings: ' + ', '.join(f'{label} {seconds:.1f}s' for label, seconds in TIMINGS))
        say(verdict)

    return status

if __name__ == '__main__':
    sys.exit(main())
