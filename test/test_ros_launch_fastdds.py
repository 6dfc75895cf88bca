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

"""Which Fast DDS profile variable the launch file sets: exactly the one the distro reads."""

from importlib import metadata

from logocap_ros.ros.fastdds_profile import (FASTDDS_VARIABLE, FASTRTPS_VARIABLE,
                                             installed_fastdds_major, profile_variable,
                                             variable_for_environment,
                                             variables_to_set_and_unset)
import pytest


@pytest.mark.parametrize('major,distro,expected', [
    (3, None, FASTDDS_VARIABLE),
    (2, None, FASTRTPS_VARIABLE),
    (2, 'kilted', FASTRTPS_VARIABLE),  # the installed library wins over the name
    (3, 'jazzy', FASTDDS_VARIABLE),
    (None, 'humble', FASTRTPS_VARIABLE),
    (None, 'Jazzy ', FASTRTPS_VARIABLE),
    (None, 'iron', FASTRTPS_VARIABLE),
    (None, 'kilted', FASTDDS_VARIABLE),
    (None, 'rolling', FASTDDS_VARIABLE),
    (None, '', FASTDDS_VARIABLE),
    (None, None, FASTDDS_VARIABLE),
])
def test_profile_variable(major, distro, expected):
    assert profile_variable(major, distro) == expected


def _write(path, text=''):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_installed_version_from_cmake_files_and_libraries(tmp_path):
    kilted = tmp_path / 'kilted'
    _write(kilted / 'share/fastdds/cmake/fastdds-config-version.cmake',
           '# generated\nset(PACKAGE_VERSION "3.2.2")\n')
    humble = tmp_path / 'humble'
    _write(humble / 'share/fastrtps/cmake/fastrtps-config-version.cmake',
           'set(PACKAGE_VERSION "2.6.10")\n')
    jazzy_lib = tmp_path / 'jazzy'
    _write(jazzy_lib / 'lib/libfastrtps.so.2.14.4')
    _write(jazzy_lib / 'lib/libfastrtps.so.2.14')
    bare = tmp_path / 'bare'
    (bare / 'lib').mkdir(parents=True)
    assert installed_fastdds_major([str(kilted)]) == 3
    assert installed_fastdds_major([str(humble)]) == 2
    assert installed_fastdds_major([str(jazzy_lib)]) == 2
    assert installed_fastdds_major([str(bare), str(tmp_path / 'missing')]) is None
    assert installed_fastdds_major([str(bare), str(humble), str(kilted)]) == 2  # first found
    env = {'AMENT_PREFIX_PATH': f'{humble}:{kilted}', 'ROS_DISTRO': 'kilted'}
    assert variable_for_environment(env) == FASTRTPS_VARIABLE
    assert variables_to_set_and_unset(env) == (FASTRTPS_VARIABLE, FASTDDS_VARIABLE)


def _installed_wheel_version() -> str:
    """Version of the PyPI Fast DDS wheel: ``ros-fastdds`` (Kilted, 3.x) or ``ros-fastrtps``."""
    for name in ('ros-fastdds', 'ros-fastrtps'):  # Jazzy's Fast DDS 2.x is ros-fastrtps
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    pytest.skip('no Fast DDS wheel (ros-fastdds / ros-fastrtps) in this environment: a ROS 2 '
                'install; the venvs of `make test` / `make test-jazzy` have one')


def test_this_environment_reads_its_fastdds_variable():
    major = int(_installed_wheel_version().split('.')[0])  # Kilted: 3, Jazzy: 2
    expected = FASTDDS_VARIABLE if major >= 3 else FASTRTPS_VARIABLE
    assert variable_for_environment() == expected
    assert variables_to_set_and_unset() == (expected, ({FASTDDS_VARIABLE, FASTRTPS_VARIABLE} -
                                                       {expected}).pop())


def test_missing_profile_note_only_for_fast_dds_without_a_profile():
    from logocap_ros.ros.input_monitor import missing_profile_note
    from logocap_ros.ros.fastdds_profile import variables_to_set_and_unset
    plain = {'ROS_DISTRO': 'jazzy'}
    note = missing_profile_note('rmw_fastrtps_cpp', '/share/fastdds_shm.xml', plain)
    use = variables_to_set_and_unset(plain)[0]  # the one the installed Fast DDS reads
    assert f'export {use}=/share/fastdds_shm.xml' in note and f'({use} is not set)' in note
    assert missing_profile_note('', '/p.xml', plain) is not None  # Fast DDS is the default
    assert missing_profile_note('rmw_cyclonedds_cpp', '/p.xml', plain) is None
    for variable in (FASTRTPS_VARIABLE, FASTDDS_VARIABLE):
        with_profile = {**plain, variable: '/p.xml'}
        assert missing_profile_note('rmw_fastrtps_cpp', '/p.xml', with_profile) is None
