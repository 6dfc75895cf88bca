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

# Print the path of a working CPython X.Y with venv (argument: X.Y), from PATH or, where a
# pyenv shim on PATH does not select that version, from pyenv's installed versions. Prints
# "pythonX.Y" and exits 1 when there is none (the Makefile then says which one to install).
set -u
v="${1:?usage: find_python.sh X.Y}"
candidates=("python${v}")
if command -v pyenv >/dev/null 2>&1; then
  for p in "$(pyenv root)"/versions/"${v}".*/bin/"python${v}"; do candidates+=("${p}"); done
fi
for c in "${candidates[@]}"; do
  if exe="$("${c}" -c 'import sys, venv; print(sys.executable)' 2>/dev/null)"; then
    echo "${exe}"
    exit 0
  fi
done
echo "python${v}"
exit 1
