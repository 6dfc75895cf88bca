#!/usr/bin/env bash
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

# make demo: LOGO-CAP pose estimation on one real photograph, on the CPU, with the official W32
# weights (downloaded and verified as `logocap-weights download w32` does). Where they cannot
# be downloaded it falls back to deterministic UNTRAINED random weights and says so, on the
# drawing and in its output. Everything is in logocap_ros/tools/demo.py; options pass through
# (e.g. scripts/demo.sh --url-base file:///mirror --out /tmp/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec python -m logocap_ros.tools.demo "$@"
