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

# Environment for working with this checkout without a ROS 2 install (bash):
#
#     make build && source scripts/env.sh
#
# Puts .venv (ROS 2 Kilted from PyPI, torch, ...) first on PATH, and the source tree plus the
# colcon install space (build/colcon/install/logocap_ros: the generated logocap_ros.msg) on
# PYTHONPATH; `logocap_ros` spans both (pkgutil.extend_path). When `make build` also built the
# ROS 2 sources PyPI lacks (build/ros2_extra/install: launch, the ros2 CLI, vision_msgs, ...),
# their install space goes on PATH, PYTHONPATH, LD_LIBRARY_PATH and AMENT_PREFIX_PATH as a
# ROS 2 setup.bash would do, so `ros2 launch|run|topic|param|lifecycle ...` work. ROS 2 traffic
# is kept on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) with ROS_DOMAIN_ID 42 unless
# one is set; ROS_DISTRO is kilted (the release of the ros-* wheels) unless one is set.
# LOGOCAP_HIDE_ROS2_EXTRA=1 leaves build/ros2_extra out (what a plain clone sees: .ci/run).
# Other platforms (make test-jazzy): LOGOCAP_VENV (default .venv) and LOGOCAP_BUILD_DIR (default
# build; its colcon/ and ros2_extra/ are used), e.g. .venv-jazzy and build/jazzy.
# With a real ROS 2 install, source its setup.bash and the workspace's instead (README.md).

_lc_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_lc_venv="${LOGOCAP_VENV:-${_lc_root}/.venv}"
_lc_build="${LOGOCAP_BUILD_DIR:-${_lc_root}/build}"
_lc_prefix="${_lc_build}/colcon/install/logocap_ros"
_lc_extra="${_lc_build}/ros2_extra/install"

if [ ! -x "${_lc_venv}/bin/python" ]; then
  echo "scripts/env.sh: ${_lc_venv} does not exist; run 'make venv' (or 'make build')" >&2
  unset _lc_root _lc_venv _lc_build _lc_prefix _lc_extra
  return 1 2>/dev/null || exit 1
fi

export VIRTUAL_ENV="${_lc_venv}"
export PATH="${_lc_venv}/bin:${PATH}"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
export ROS_HOME="${ROS_HOME:-${_lc_root}/build/ros_home}"
export ROS_DISTRO="${ROS_DISTRO:-kilted}"

_lc_site=""
for _lc_dir in "${_lc_prefix}"/lib/python3*/site-packages; do
  [ -d "${_lc_dir}" ] && _lc_site="${_lc_dir}"
done
if [ -n "${_lc_site}" ]; then
  export PYTHONPATH="${_lc_root}:${_lc_site}${PYTHONPATH:+:${PYTHONPATH}}"
  export LD_LIBRARY_PATH="${_lc_prefix}/lib${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
  export AMENT_PREFIX_PATH="${_lc_prefix}:${_lc_venv}"
  export PATH="${_lc_prefix}/lib/logocap_ros:${PATH}"
else
  echo "scripts/env.sh: no colcon build yet (run 'make build'); logocap_ros.msg is missing" >&2
  export PYTHONPATH="${_lc_root}${PYTHONPATH:+:${PYTHONPATH}}"
  export AMENT_PREFIX_PATH="${_lc_venv}"
fi

# Appended (the venv's ROS core comes first), except the commands: ros2 must win on PATH.
if [ -x "${_lc_extra}/bin/ros2" ] && [ "${LOGOCAP_HIDE_ROS2_EXTRA:-0}" != 1 ]; then
  for _lc_dir in "${_lc_extra}"/lib/python3*/site-packages; do
    [ -d "${_lc_dir}" ] && export PYTHONPATH="${PYTHONPATH}:${_lc_dir}"
  done
  export PATH="${_lc_extra}/bin:${PATH}"
  export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH}:}${_lc_extra}/lib"
  export AMENT_PREFIX_PATH="${AMENT_PREFIX_PATH}:${_lc_extra}"
fi
unset _lc_root _lc_venv _lc_build _lc_prefix _lc_extra _lc_site _lc_dir
