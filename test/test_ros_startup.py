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

"""Startup errors of the real node process: non-zero exit and one readable line."""

import subprocess

import pytest
from ros_helpers import child_env, node_command, private_domain, Proc, ROOT

pytestmark = pytest.mark.ros


@pytest.mark.parametrize('params,words', [
    ({'weights': '/nonexistent/logocap_w32.pth'}, 'weights file not found'),
    ({'weights': "''"}, 'weights is empty'),
    ({'weights': 'random', 'arch': 'w99'}, "arch:='w99' is invalid"),
    ({'weights': 'random', 'pose_threshold': 5.0}, 'pose_threshold out of range'),
    ({'weights': 'random', 'input_size': 100}, 'not a valid step'),
    ({'weights': 'random', 'max_people': 50}, 'max_people out of range'),
    ({'weights': 'random', 'warmup_image_size': 'big'}, 'use WIDTHxHEIGHT'),
])
def test_startup_error_exits_non_zero_with_one_line(params, words):
    # one style for every startup error: exit status 1, one line through the ROS logger
    with private_domain() as domain_id:
        done = subprocess.run(node_command(**params), env=child_env(domain_id),
                              capture_output=True, text=True, timeout=120)
    lines = [t for t in (done.stdout + done.stderr).splitlines() if t.strip()]
    assert done.returncode == 1, lines
    assert len(lines) == 1 and words in lines[0], lines
    assert lines[0].startswith('[ERROR] [') and '[logocap_node]: ' in lines[0], lines
    assert 'Traceback' not in lines[0]


@pytest.mark.parametrize('extra, words', [
    (['-p', 'input_size:=64', '-p', 'input_size:=abc'], 'input_size must be an integer'),
    (['-p', 'pose_threshold:=high'], 'pose_threshold must be a number'),
])
def test_a_bad_override_after_a_good_one_is_refused(extra, words):
    # rcl kept input_size:=64 silently when input_size:=abc followed it
    command = node_command(weights='random', flip_test=False) + extra
    with private_domain() as domain_id:
        done = subprocess.run(command, env=child_env(domain_id), capture_output=True,
                              text=True, timeout=120)
    lines = [t for t in (done.stdout + done.stderr).splitlines() if t.strip()]
    assert done.returncode == 1 and len(lines) == 1 and words in lines[0], lines


def test_arguments_outside_ros_args_are_refused():
    command = node_command(weights='random')
    command.insert(command.index('--ros-args'), '--bogus')
    with private_domain() as domain_id:
        done = subprocess.run(command, env=child_env(domain_id), capture_output=True,
                              text=True, timeout=120)
    lines = [t for t in (done.stdout + done.stderr).splitlines() if t.strip()]
    assert done.returncode == 1 and len(lines) == 1, lines
    assert 'unknown argument(s) --bogus' in lines[0] and '--ros-args -p' in lines[0], lines


def test_corrupt_weights_exit_non_zero_with_one_line(tmp_path):
    bad = tmp_path / 'corrupt_w32.pth'
    bad.write_bytes(b'PK\x03\x04 this is not a checkpoint' * 10)
    with private_domain() as domain_id:
        done = subprocess.run(node_command(weights=str(bad)), env=child_env(domain_id),
                              capture_output=True, text=True, timeout=120)
    lines = [t for t in (done.stdout + done.stderr).splitlines() if t.strip()]
    assert done.returncode == 1, lines
    assert len(lines) == 1 and 'cannot configure' in lines[0] and str(bad) in lines[0], lines


def test_params_files_are_applied(tmp_path):
    own = tmp_path / 'params.yaml'
    own.write_text('logocap_node:\n  ros__parameters:\n    weights: random\n'
                   '    input_size: 64\n    flip_test: false\n    no_image_warn_s: 1.0\n')
    command = node_command() + ['--params-file', str(ROOT / 'config' / 'logocap.yaml'),
                                '--params-file', str(own)]  # the launch file's order
    with private_domain() as domain_id:
        node = Proc(command, child_env(domain_id))
        try:
            assert node.wait_for('input=64', 120), node.output()
            assert node.wait_for('no image received on /image for 1.', 30), node.output()
        finally:
            assert node.stop() in (0, -2), node.output()
    assert 'without the shared-memory profile' not in node.output()  # child_env sets it


def test_node_without_the_fastdds_profile_says_so():
    with private_domain() as domain_id:
        env = child_env(domain_id, profile=False)
        for name in ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE'):
            env.pop(name, None)  # a plain shell, as in the README's "by hand" commands
        node = Proc(node_command(weights='random', input_size=64, flip_test=False), env)
        try:
            assert node.wait_for('without the shared-memory profile', 120), node.output()
        finally:
            assert node.stop() in (0, -2), node.output()
    line = next(t for t in node.output().splitlines() if 'shared-memory profile' in t)
    assert '[WARN]' in line and 'export FASTDDS_DEFAULT_PROFILES_FILE=' in line, line
    assert line.rstrip().endswith('(pose.launch.py sets it)') and 'fastdds_shm.xml' in line


def test_bf16_on_a_cpu_without_bf16_exits_with_one_line(tmp_path):
    pytest.importorskip('openvino', reason='openvino is not installed: pip install openvino')
    cpuinfo = tmp_path / 'cpuinfo'   # the probe reads this CPU: AVX2 only, no bfloat16
    cpuinfo.write_text('processor\t: 0\nmodel name\t: Old CPU\nflags\t\t: fpu avx2 fma\n')
    with private_domain() as domain_id:
        env = dict(child_env(domain_id), LOGOCAP_CPUINFO=str(cpuinfo))
        done = subprocess.run(node_command(weights='random', backend='openvino',
                                           precision='bf16', flip_test='false'),
                              env=env, capture_output=True, text=True, timeout=300)
    lines = [t for t in (done.stdout + done.stderr).splitlines() if t.strip()]
    assert done.returncode == 1, lines
    assert len(lines) == 1 and 'precision bf16 needs a CPU with avx512_bf16' in lines[0], lines
    assert 'Old CPU' in lines[0] and 'use precision fp32' in lines[0], lines
