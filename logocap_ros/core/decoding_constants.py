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

"""Constants of the dense-map decoding that the numpy post-processing shares (no torch here).

:mod:`logocap_ros.core.decoding` (the torch graph) and :mod:`logocap_ros.core.postprocessing`
(numpy, also used when an exported model file runs without torch) both read them from here.
"""

#: Stride of the network's feature maps (input px per feature-map cell).
STRIDE = 4
#: Centre candidates below this confidence are dropped (at least one is always kept).
CENTER_THRESHOLD = 0.01
