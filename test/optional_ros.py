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

"""Skips for the ROS 2 packages that PyPI does not carry (``hri_msgs``, ``vision_msgs``, ...).

A clone without them (no ``../shared/ros2_src``, nothing fetched by ``make ros2-sources``) must
still collect every test module: a module that needs one starts with ::

    try:
        import hri_msgs  # noqa: F401
    except ImportError as exc:
        from optional_ros import skip_missing
        skip_missing(exc)

and is then skipped with a reason that names the package and how to get it.
"""

import pytest


def missing_reason(package: str) -> str:
    """Return the skip reason for the missing ROS 2 package ``package`` (an import name)."""
    return (f'needs the ROS 2 package {package}, which PyPI does not carry: `make ros2-sources` '
            'fetches and builds it (or set ROS2_EXTRA_SRC to its sources); with ROS 2 '
            f'installed: rosdep install (ros-<distro>-{package.replace("_", "-")})')


def skip_missing(exc: ImportError) -> None:
    """Skip the calling test module because of ``exc`` (the failed import of a package)."""
    package = (exc.name or str(exc)).split('.')[0]
    pytest.skip(missing_reason(package), allow_module_level=True)
