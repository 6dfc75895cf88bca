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


"""The LOGO-CAP architectures: the one list every parameter, option and check uses (no torch)."""

from typing import Dict, Tuple

#: HRNet backbones of the official checkpoints.
ARCHS: Tuple[str, ...] = ('w32', 'w48')
DEFAULT_ARCH = 'w32'
#: Official network input short side per architecture.
DEFAULT_INPUT_SIZE: Dict[str, int] = {'w32': 512, 'w48': 640}
