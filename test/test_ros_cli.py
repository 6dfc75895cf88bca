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

"""``make build; source scripts/env.sh`` gives the ``ros2`` commands, as on a ROS 2 install."""

import os
from pathlib import Path
import subprocess

from launch_helpers import require_ros2_cli, ros2
import pytest
from ros_helpers import private_domain, ROOT

require_ros2_cli()

pytestmark = pytest.mark.ros


def test_env_sh_alone_puts_ros2_and_this_package_on_the_paths():
    clean = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': os.environ.get('HOME', '/tmp'),
             'LANG': 'C.UTF-8'}
    # another platform's venv and build folder (make test-jazzy): env.sh is pointed at them
    platform = ('LOGOCAP_VENV', 'LOGOCAP_BUILD_DIR', 'ROS_DISTRO')
    if 'LOGOCAP_VENV' in os.environ:
        clean.update({name: os.environ[name] for name in platform if name in os.environ})
    build = Path(clean.get('LOGOCAP_BUILD_DIR', ROOT / 'build'))
    script = ('source scripts/env.sh && command -v ros2 && ros2 pkg prefix logocap_ros && '
              'ros2 pkg executables logocap_ros && ros2 --help && '
              'python -c "import launch_ros, vision_msgs.msg, message_filters" && '
              'echo "$ROS_AUTOMATIC_DISCOVERY_RANGE $ROS_DISTRO"')
    done = subprocess.run(['bash', '-c', script], env=clean, cwd=str(ROOT), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done
    lines = done.stdout.splitlines()
    assert Path(lines[0]).name == 'ros2' and str(ROOT) in lines[0], lines
    assert lines[1] == str(build / 'colcon' / 'install' / 'logocap_ros'), lines
    assert {'logocap_ros logocap_node', 'logocap_ros camera_publisher'} <= set(lines), lines
    commands = {line.split()[0] for line in lines if line.startswith('  ') and line.split()}
    assert {'launch', 'run', 'topic', 'param', 'lifecycle', 'node', 'service'} <= commands
    assert lines[-1] == f'LOCALHOST {clean.get("ROS_DISTRO", "kilted")}', lines


def test_ros2_run_reports_a_bad_source_in_one_line():
    with private_domain() as domain_id:
        done = ros2(domain_id, 'run', 'logocap_ros', 'camera_publisher', 'synthetic:0x0')
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith('[camera_publisher]')]
    assert len(lines) == 1 and "invalid source 'synthetic:0x0'" in lines[0], done
    assert 'Traceback' not in done.stdout + done.stderr
