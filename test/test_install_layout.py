# Copyright 2026 The logocap_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""The colcon install space (``make build``) and the pip wheel contain what users run."""

import configparser
import json
import os
from pathlib import Path
import shutil
import subprocess
import sys
import textwrap
import zipfile

from ament_index_python.packages import get_package_prefix
from packaging.requirements import Requirement
import pytest

EXECUTABLES = {
    'logocap_node': 'logocap_ros.ros.node',
    'camera_publisher': 'logocap_ros.ros.camera_publisher',
    'logocap-infer': 'logocap_ros.tools.infer',
    'logocap-weights': 'logocap_ros.tools.weights',
    'logocap-eval': 'logocap_ros.tools.evaluate',
    'logocap-offline': 'logocap_ros.tools.offline',
    'logocap-export-onnx': 'logocap_ros.backends.export_onnx',
    'logocap-build-engine': 'logocap_ros.backends.build_engine',
}
CONSOLE_SCRIPTS = {
    'logocap-infer': 'logocap_ros.tools.infer:main',
    'logocap-weights': 'logocap_ros.tools.weights:main',
    'logocap-eval': 'logocap_ros.tools.evaluate:main',
    'logocap-offline': 'logocap_ros.tools.offline:main',
    'logocap-export-onnx': 'logocap_ros.tools.export_onnx_cli:main',
    'logocap-build-engine': 'logocap_ros.tools.build_engine_cli:main',
    'logocap-cache': 'logocap_ros.tools.cache_cli:main',
    'logocap-triton-repo': 'logocap_ros.tools.triton_repo:main',
}


@pytest.fixture(scope='module')
def prefix() -> Path:
    """Install prefix of the package (``build/colcon/install/logocap_ros`` under make)."""
    return Path(get_package_prefix('logocap_ros'))


def _install_only_env(prefix: Path) -> dict:
    """Environment that sees the install space and the venv, but not the source tree."""
    site = sorted(prefix.glob('lib/python3*/site-packages'))
    assert site, f'no lib/python3*/site-packages in {prefix}'
    env = {key: os.environ[key] for key in ('PATH', 'HOME', 'LANG') if key in os.environ}
    env.update(PYTHONPATH=str(site[0]), LD_LIBRARY_PATH=str(prefix / 'lib'),
               AMENT_PREFIX_PATH=os.pathsep.join([str(prefix), sys.prefix]),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', PYTHONNOUSERSITE='1')
    return env


@pytest.mark.ros
def test_executables_installed(prefix):
    for name in EXECUTABLES:
        path = prefix / 'lib' / 'logocap_ros' / name
        assert path.is_file(), f'{path} missing'
        assert os.access(path, os.X_OK), f'{path} is not executable'
        assert path.read_text().startswith('#!/usr/bin/env python3')


@pytest.mark.ros
def test_share_has_package_xml_and_launch_files(prefix, repo_root):
    share = prefix / 'share' / 'logocap_ros'
    assert (share / 'package.xml').read_bytes() == (repo_root / 'package.xml').read_bytes()
    for folder in ('launch', 'config', 'rviz'):
        source = {p.name for p in (repo_root / folder).glob('*') if p.is_file()}
        installed = {p.name for p in (share / folder).glob('*') if p.is_file()}
        assert source == installed, f'share/logocap_ros/{folder} differs from {folder}/'
    assert (share / 'msg' / 'PersonPoseArray.msg').is_file()


@pytest.mark.ros
def test_messages_import_from_install_space_only(prefix, repo_root, tmp_path):
    code = textwrap.dedent("""
        import json
        import sys
        import logocap_ros
        from logocap_ros.msg import PersonPoseArray, PersonPose, SkeletonInfo
        from logocap_ros.core.keypoints import NUM_KEYPOINTS
        from rclpy.serialization import deserialize_message, serialize_message
        msg = PersonPoseArray(image_width=7, people=[PersonPose(track_id=3)])
        back = deserialize_message(serialize_message(msg), PersonPoseArray)
        assert back.people[0].track_id == 3 and back.image_width == 7
        assert len(back.people[0].keypoints) == NUM_KEYPOINTS
        print(json.dumps({'package_path': list(logocap_ros.__path__), 'sys_path': sys.path}))
    """)
    result = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True,
                            text=True, env=_install_only_env(prefix), timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen['package_path'], seen
    assert all(Path(p).is_relative_to(prefix) for p in seen['package_path']), seen
    assert str(repo_root) not in seen['sys_path'], seen


@pytest.mark.ros
def test_installed_executables_find_their_modules(prefix, tmp_path):
    code = textwrap.dedent("""
        import importlib.util
        import sys
        missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]
        sys.exit('modules missing from the install space: %s' % missing if missing else 0)
    """)
    result = subprocess.run([sys.executable, '-c', code, *EXECUTABLES.values()], cwd=tmp_path,
                            capture_output=True, text=True, env=_install_only_env(prefix),
                            timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.ros
def test_every_console_script_runs_from_the_install_space(prefix, tmp_path):
    # The node's own hints name these commands (e.g. "Run: logocap-weights download w32"),
    # so a colcon build must provide every console script of setup.py in lib/logocap_ros,
    # where `ros2 run logocap_ros <name>` and scripts/env.sh (PATH) look.
    env = _install_only_env(prefix)
    env['PATH'] = os.pathsep.join([str(prefix / 'lib' / 'logocap_ros'), env.get('PATH', '')])
    for name in CONSOLE_SCRIPTS:
        assert shutil.which(name, path=env['PATH']) == str(prefix / 'lib' / 'logocap_ros' /
                                                           name), name
        done = subprocess.run([name, '--help'], cwd=tmp_path, capture_output=True, text=True,
                              env=env, timeout=120)
        assert done.returncode == 0 and f'usage: {name}' in done.stdout, (name, done.stderr)


def _ros2_cli_env(prefix: Path, repo_root: Path) -> dict:
    """Environment with the ``ros2`` CLI (a ROS 2 install, or build/ros2_extra), or skip."""
    env = dict(os.environ)
    extra = repo_root / 'build' / 'ros2_extra' / 'install'
    if (extra / 'bin' / 'ros2').is_file():
        site = sorted(extra.glob('lib/python3*/site-packages'))
        env['PATH'] = os.pathsep.join([str(extra / 'bin'), env.get('PATH', '')])
        env['PYTHONPATH'] = os.pathsep.join([str(p) for p in site] + [env.get('PYTHONPATH', '')])
        env['AMENT_PREFIX_PATH'] = os.pathsep.join([env.get('AMENT_PREFIX_PATH', ''), str(extra)])
    if shutil.which('ros2', path=env['PATH']) is None:
        pytest.skip('the ros2 CLI is not installed (no ROS 2 install, no build/ros2_extra)')
    env['AMENT_PREFIX_PATH'] = os.pathsep.join([str(prefix), env['AMENT_PREFIX_PATH']])
    return env


@pytest.mark.ros
def test_ros2_run_finds_every_executable(prefix, repo_root, tmp_path):
    env = _ros2_cli_env(prefix, repo_root)
    listed = subprocess.run(['ros2', 'pkg', 'executables', 'logocap_ros'], capture_output=True,
                            text=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    found = {line.split()[1] for line in listed.stdout.splitlines() if line.strip()}
    assert set(EXECUTABLES) <= found, listed.stdout
    done = subprocess.run(['ros2', 'run', 'logocap_ros', 'logocap-weights', '--help'],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and 'usage: logocap-weights' in done.stdout, done.stderr


@pytest.mark.ros
def test_sourcing_the_workspace_puts_the_executables_on_path(prefix):
    setup = prefix.parent / 'setup.sh'  # colcon's workspace setup (isolated install)
    if not setup.is_file():
        setup = prefix / 'share' / 'logocap_ros' / 'local_setup.sh'  # merged install
    env = {'PATH': '/usr/bin:/bin', 'HOME': os.environ.get('HOME', '/tmp')}
    script = f'. {setup} >/dev/null 2>&1; command -v logocap-weights; command -v logocap-eval'
    done = subprocess.run(['sh', '-c', script], capture_output=True, text=True, env=env,
                          timeout=60)
    lib = prefix / 'lib' / 'logocap_ros'
    assert done.stdout.split() == [str(lib / 'logocap-weights'), str(lib / 'logocap-eval')], \
        done.stdout + done.stderr


@pytest.mark.ros
def test_env_sh_puts_the_executables_on_path(prefix, repo_root):
    script = f'source {repo_root}/scripts/env.sh >/dev/null 2>&1; command -v logocap-weights'
    done = subprocess.run(['bash', '-c', script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == str(prefix / 'lib' / 'logocap_ros' / 'logocap-weights'), \
        done.stdout + done.stderr


def _build_wheel(repo_root: Path, tmp_path: Path) -> Path:
    """Build the wheel from a copy of the sources (keeps the checkout free of build files)."""
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('setup.py', 'pyproject.toml', 'README.md'):
        if (repo_root / name).exists():
            shutil.copy2(repo_root / name, src / name)
    shutil.copytree(repo_root / 'logocap_ros', src / 'logocap_ros',
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    out = tmp_path / 'dist'
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
         '--no-index', '-q', '-w', str(out), str(src)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = list(out.glob('logocap_ros-*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_pip_wheel_contents(repo_root, tmp_path):
    wheel = _build_wheel(repo_root, tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist_info = next(n.split('/')[0] for n in names if n.endswith('.dist-info/METADATA'))
        entry_points = zf.read(f'{dist_info}/entry_points.txt').decode()
        metadata = zf.read(f'{dist_info}/METADATA').decode()
    for sub in ('core', 'backends', 'ros', 'tools'):
        for source in (repo_root / 'logocap_ros' / sub).glob('*.py'):
            assert f'logocap_ros/{sub}/{source.name}' in names
    assert not any(n.startswith('logocap_ros/msg/') for n in names)
    parser = configparser.ConfigParser()
    parser.read_string(entry_points)
    assert dict(parser['console_scripts']) == CONSOLE_SCRIPTS
    requires = [Requirement(line.split(':', 1)[1].strip()) for line in metadata.splitlines()
                if line.startswith('Requires-Dist:')]
    core = {r.name: r for r in requires if r.marker is None}
    # the runtime of a model file has no torch; [torch] adds it (issue 18)
    assert {'numpy', 'opencv-python-headless', 'onnxruntime', 'tqdm'} <= set(core)
    assert 'torch' not in core
    extra = {}
    for r in requires:
        if r.marker is not None:
            for name in ('torch', 'tensorrt', 'eval', 'bag'):
                if r.marker.evaluate({'extra': name}):
                    extra.setdefault(name, set()).add(r.name)
    assert {'torch', 'onnx'} <= extra['torch'] and 'tensorrt' in extra['tensorrt']
    assert 'pycocotools' in extra['eval'] and 'rosbags' in extra['bag']
    assert [r for r in requires if r.name == 'torch'][0].specifier.contains('2.13.0')


def test_colcon_sees_an_ament_cmake_package(repo_root):
    # setup.py and pyproject.toml must not turn the package into a Python one for colcon.
    colcon = shutil.which('colcon') or str(Path(sys.executable).parent / 'colcon')
    result = subprocess.run([colcon, 'list', '--base-paths', str(repo_root)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line.split('\t') for line in result.stdout.splitlines() if line.strip()]
    assert lines == [['logocap_ros', str(repo_root), '(ros.ament_cmake)']], result.stdout
