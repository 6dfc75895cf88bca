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

"""Pure-Python install of the logocap_ros library and command-line tools (``pip install .``).

The ROS 2 package (messages, node executables, launch files) is built by colcon from
CMakeLists.txt and package.xml instead; package.xml sets the build type (ament_cmake), so
colcon does not use this file. A pip install has no ``logocap_ros.msg``; everything outside
``logocap_ros.ros`` works without ROS.
"""

import pathlib
import re

from setuptools import find_packages, setup

_HERE = pathlib.Path(__file__).resolve().parent


def _version() -> str:
    """Read ``__version__`` from logocap_ros/__init__.py (the single source of the version)."""
    text = (_HERE / 'logocap_ros' / '__init__.py').read_text(encoding='utf-8')
    return re.search(r"^__version__ = '([^']+)'", text, re.MULTILINE).group(1)


def _long_description() -> str:
    readme = _HERE / 'README.md'
    return readme.read_text(encoding='utf-8') if readme.exists() else ''


setup(
    name='logocap_ros',
    version=_version(),
    description='LOGO-CAP multi-person pose estimation as a Python library and a ROS 2 package',
    long_description=_long_description(),
    long_description_content_type='text/markdown',
    author='The logocap_ros Authors',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['logocap_ros', 'logocap_ros.*']),
    package_data={'logocap_ros': ['py.typed']},
    # message definitions, for writing /poses into bags without a colcon build
    data_files=[('share/logocap_ros/msg', sorted(str(p.relative_to(_HERE))
                                                 for p in (_HERE / 'msg').glob('*.msg')))],
    zip_safe=False,
    # the runtime of an exported model file (model:=, --model): no torch (README "Deploy on
    # a Jetson"); [torch] adds checkpoints, export and the torch backend
    install_requires=[
        'numpy>=1.23',
        'onnxruntime>=1.16',
        'opencv-python-headless>=4.6',
        'scipy>=1.7',  # tracking: linear_sum_assignment
        'tqdm>=4.60',
    ],
    extras_require={
        'torch': ['torch>=2.0', 'onnx>=1.14'],
        'tensorrt': ['tensorrt>=8.6', 'cuda-python>=12.2'],
        'onnx': ['onnx>=1.14', 'onnxruntime>=1.16'],
        'openvino': ['onnx>=1.14', 'openvino>=2024.0'],  # backend openvino (reads the ONNX export)
        'eval': ['pycocotools>=2.0.6'],
        'bag': ['rosbags>=0.11'],
        'tracking-eval': ['motmetrics>=1.4'],
        'triton': ['tritonclient[http]>=2.50', 'onnx>=1.14'],
    },
    entry_points={
        'console_scripts': [
            'logocap-infer=logocap_ros.tools.infer:main',
            'logocap-weights=logocap_ros.tools.weights:main',
            'logocap-eval=logocap_ros.tools.evaluate:main',
            'logocap-offline=logocap_ros.tools.offline:main',
            'logocap-export-onnx=logocap_ros.tools.export_onnx_cli:main',
            'logocap-build-engine=logocap_ros.tools.build_engine_cli:main',
            'logocap-cache=logocap_ros.tools.cache_cli:main',
            'logocap-triton-repo=logocap_ros.tools.triton_repo:main',
        ],
    },
    classifiers=[
        'License :: OSI Approved :: Apache Software License',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
)
