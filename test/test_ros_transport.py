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

"""Full-size best-effort frames between two processes with the shipped Fast DDS profile.

Without the profile, Fast DDS loses most 640x480 and nearly all 1280x720 best-effort frames
between processes (docs/benchmarks.md); with it on both sides, nearly all arrive.
"""

import sys

import pytest
from ros_helpers import camera_command, child_env, private_domain, Proc, ROOT

pytestmark = [pytest.mark.ros, pytest.mark.slow]

FRAMES = 60


@pytest.mark.parametrize('size', ['640x480', '1280x720'])
def test_full_size_best_effort_frames_arrive_between_processes(size):
    with private_domain() as domain_id:
        env = child_env(domain_id, profile=True)
        probe = Proc([sys.executable, str(ROOT / 'test' / 'ros_image_probe.py'),
                      str(FRAMES), '60'], env)
        try:
            assert probe.wait_for('ready', 30), probe.output()
            camera = Proc(camera_command(f'synthetic:{size}', '--rate', '20', '--count',
                                         str(FRAMES), '--wait-for-subscriber'), env)
            assert camera.popen.wait(90) == 0, camera.output()
            assert probe.popen.wait(90) == 0
            line = [t for t in probe.output().splitlines() if t.startswith('received')][0]
        finally:
            probe.stop()
    _, count, dims, nbytes = line.split()
    width, height = (int(v) for v in size.split('x'))
    assert dims == size and int(nbytes) == width * height * 3
    assert int(count) >= 0.8 * FRAMES, line
