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

"""Make ``import torch`` (and ``torchvision``) fail here, as on a torch-free install.

Put this folder first on ``PYTHONPATH`` (:func:`test.no_torch_env.env` does); Python imports
``sitecustomize`` at start-up, which marks the blocked packages as absent in ``sys.modules``:
``import torch`` raises :class:`ModuleNotFoundError` and ``importlib.util.find_spec('torch')``
returns ``None``, as on a machine where torch was never installed.
"""

import sys

BLOCKED = ('torch', 'torchvision')

for _name in BLOCKED:
    sys.modules[_name] = None
