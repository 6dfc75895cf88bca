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

"""LOGO-CAP multi-person pose estimation, as a Python library and a ROS 2 package.

Layers: :mod:`logocap_ros.core` (model and decoding, no ROS) <- :mod:`logocap_ros.backends`
(runners, weights, the estimator factory) <- :mod:`logocap_ros.frames` (the frame pipeline and
the image code both sides share) <- :mod:`logocap_ros.ros` (the only layer importing
``rclpy``) | :mod:`logocap_ros.tools` (command-line tools); ``ros`` and ``tools`` never import
each other.
"""

__version__ = '0.1.0'

# The generated message package (``logocap_ros.msg``) lives in the colcon install space, while
# the Python sources may be imported from a source checkout (tests, ``pip install -e``). Let
# one ``logocap_ros`` package span every ``logocap_ros`` folder on ``sys.path``.
__path__ = __import__('pkgutil').extend_path(__path__, __name__)
