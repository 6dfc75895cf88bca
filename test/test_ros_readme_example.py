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

"""The README's two-terminal example, run as written: the node receives the 640x480 frames.

The commands of each terminal are taken from README.md and run with bash from the checkout,
in environments without any Fast DDS profile of their own (the example must set what it
needs). Only the model settings of the node are made smaller, to keep the test short. Each
terminal must set the shared-memory profile: without it, large best-effort frames are lost
between processes on many machines (on the 2-core test machine they happened to arrive).
"""

import os
from pathlib import Path
import re
import subprocess

from ament_index_python.packages import get_package_prefix
from logocap_ros.msg import PersonPoseArray
import pytest
from ros_helpers import child_env, private_domain, Proc, ROOT, TestGraph, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.slow]

#: Appended to the node's command line: a small, fast model (the README uses input 256).
FAST_MODEL = ' -p input_size:=64 -p flip_test:=false -p backend:=torch'


def readme_terminals() -> dict:
    """Return ``{'1': commands, '2': commands}`` of the README's two-terminal example."""
    text = (ROOT / 'README.md').read_text(encoding='utf-8')
    blocks = re.findall(r'```bash\n(.*?)```', text, re.DOTALL)
    block = next(b for b in blocks if '# terminal 1' in b and '# terminal 2' in b)
    first, second = block.split('# terminal 2')
    return {'1': first.split('\n', 1)[1], '2': second.split('\n', 1)[1]}


def as_script(commands: str) -> str:
    """Return a bash script running ``commands``, the last one by ``exec`` (so SIGINT ends it)."""
    lines = [line for line in commands.strip().splitlines() if line.strip()]
    return '\n'.join(['set -e'] + lines[:-1] + ['exec ' + lines[-1]])


def test_readme_two_terminal_example_delivers_frames(tmp_path):
    terminals = readme_terminals()
    for commands in terminals.values():  # the profile must be active in BOTH processes
        first = commands.strip().splitlines()[0]
        assert first.startswith('export FASTDDS_DEFAULT_PROFILES_FILE=') and first.endswith(
            'config/fastdds_shm.xml'), commands
    assert 'camera_publisher synthetic:640x480' in terminals['1']
    assert terminals['2'].strip().splitlines()[-1].startswith('logocap_node ')
    terminals['2'] = terminals['2'].rstrip()
    lib = Path(get_package_prefix('logocap_ros')) / 'lib' / 'logocap_ros'
    with private_domain() as domain_id:
        env = child_env(domain_id, profile=False)
        env.pop('FASTRTPS_DEFAULT_PROFILES_FILE', None)
        env['PATH'] = os.pathsep.join([str(lib), env['PATH']])
        g = TestGraph(domain_id)
        poses = g.collect(PersonPoseArray, 'poses')
        procs = [Proc(['bash', '-c', as_script(terminals['1'])], env),
                 Proc(['bash', '-c', as_script(terminals['2'] + FAST_MODEL)], env)]
        try:
            assert wait_until(lambda: len(poses) >= 3, 180), (
                procs[0].output()[-1500:], procs[1].output()[-3000:])
            assert (poses[-1][1].image_width, poses[-1][1].image_height) == (640, 480)
        finally:
            for proc in procs:
                proc.stop()
            g.close()
    assert subprocess.run(['bash', '-n', '-c', terminals['1'] + terminals['2']]).returncode == 0
