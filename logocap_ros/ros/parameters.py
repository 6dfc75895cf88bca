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

"""The node's parameters: one table, declared with descriptors, read into a frozen config.

:func:`declare_parameters` declares every entry of :data:`PARAMETERS` with a description, a
range where one applies, and ``read_only`` for what needs a reconfigure (model, backend,
device, QoS). :class:`NodeConfig` holds the values; :meth:`NodeConfig.validate` is pure Python.
"""

from dataclasses import dataclass, fields
import re
from typing import Any, Callable, Dict, Iterable, Mapping, NamedTuple, Optional, Tuple

ARCHS = ('w32', 'w48')
BACKENDS = ('auto', 'torch', 'onnxruntime', 'tensorrt')
PRECISIONS = ('fp32', 'fp16')
TRANSPORTS = ('raw', 'compressed')
RELIABILITIES = ('best_effort', 'reliable')
_DEVICE_RE = re.compile(r'^(auto|cpu|cuda(:\d+)?)$')
# standard interfaces (ros/interop.py): ROS name tokens start with a letter
_TOPIC_PREFIX_RE = re.compile(r'^/?[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*$')
_BODY_ID_PREFIX_RE = re.compile(r'^([A-Za-z][A-Za-z0-9_]*)?$')


class ParamSpec(NamedTuple):
    """One parameter: default (its type fixes the ROS type), help text, access, range."""

    default: Any
    description: str
    read_only: bool
    limits: Optional[Tuple[float, float, float]] = None  # (from, to, step); step 0 = any


PARAMETERS: Dict[str, ParamSpec] = {
    'arch': ParamSpec('w32', 'HRNet backbone: w32 or w48 (must match the weights)', True),
    'weights': ParamSpec('', 'checkpoint path, short name (w32, w48) or "random"/"random:w48" '
                         'for untrained demo weights; required', True),
    'backend': ParamSpec('auto', 'inference backend: auto, torch, onnxruntime, tensorrt', True),
    'device': ParamSpec('auto', 'auto (cuda:0 if available, else cpu), cpu, cuda or cuda:N',
                        True),
    'precision': ParamSpec('fp32', 'numeric precision: fp32 or fp16 (fp16 needs a GPU)', True),
    'input_size': ParamSpec(0, 'short side of the network input in px, multiple of 64; 0 = '
                            'model default (512 for w32, 640 for w48)', True, (0, 2048, 64)),
    'flip_test': ParamSpec(True, 'average with the horizontally flipped image (slower, more '
                           'accurate)', True),
    'max_people': ParamSpec(30, 'maximum number of people per image', True, (1, 100, 1)),
    'input_transport': ParamSpec('raw', 'raw: subscribe sensor_msgs/Image on "image"; '
                                 'compressed: sensor_msgs/CompressedImage on "image/compressed"',
                                 True),
    'reliability': ParamSpec('best_effort', 'QoS reliability of the image subscription: '
                             'best_effort (sensor data, depth 1) or reliable', True),
    'autostart': ParamSpec(True, 'configure and activate the lifecycle node on startup', True),
    'pose_threshold': ParamSpec(0.05, 'people with a lower pose score are not published '
                                '(changeable at run time)', False, (0.0, 1.0, 0.0)),
    'keypoint_threshold': ParamSpec(0.1, 'joints with a lower score are not drawn in markers '
                                    'and the annotated image (changeable at run time)', False,
                                    (0.0, 1.0, 0.0)),
    'publish_markers': ParamSpec(True, 'publish visualization_msgs/MarkerArray on "markers"',
                                 False),
    'publish_annotated_image': ParamSpec(True, 'publish "image_annotated" (only computed while '
                                         'someone subscribes)', False),
    'marker_scale': ParamSpec(0.001, 'metres per image pixel for markers (0.001: 1 px = 1 mm)',
                              False, (1e-6, 1.0, 0.0)),
    'marker_z': ParamSpec(0.0, 'z [m] of the marker plane in the image frame', False,
                          (-100.0, 100.0, 0.0)),
    'max_image_pixels': ParamSpec(7680 * 4320, 'images with more pixels are rejected',
                                  False, (1, 1 << 30, 1)),
    'no_image_warn_s': ParamSpec(5.0, 'warn when no image arrived for this long [s]; 0 = off',
                                 False, (0.0, 3600.0, 0.0)),
    # 3D from a depth image registered to the colour image (logocap_ros/ros/depth_input.py)
    'use_depth': ParamSpec(False, 'also subscribe to "depth/image_raw" (16UC1 mm or 32FC1 m, '
                           'registered to "image") and "depth/camera_info", synchronised with '
                           '"image", and fill keypoints_3d', True),
    'depth_slop': ParamSpec(0.05, 'largest stamp difference [s] between a colour image and its '
                            'depth image and camera_info (ApproximateTimeSynchronizer slop)',
                            True, (0.0, 10.0, 0.0)),
    'depth_min_m': ParamSpec(0.1, 'joint depths nearer than this are OUT_OF_RANGE [m]', False,
                             (0.0, 1000.0, 0.0)),
    'depth_max_m': ParamSpec(10.0, 'joint depths farther than this are OUT_OF_RANGE [m]', False,
                             (0.0, 1000.0, 0.0)),
    'depth_window_px': ParamSpec(5, 'side of the square window whose median valid depth is a '
                                 "joint's depth [px], odd", False, (1, 51, 2)),
    'depth_occlusion_m': ParamSpec(0.5, 'a joint whose depth differs more than this from its '
                                   "person's body depth (median of head, shoulders, hips) is "
                                   'OCCLUDED [m]', False, (0.01, 100.0, 0.0)),
    'depth_rectified': ParamSpec(False, 'the colour and depth images are rectified '
                                 '(image_rect): back-project with camera_info P, no '
                                 'distortion', True),
    # -- tracking and smoothing (logocap_ros/ros/people.py) --
    'tracking': ParamSpec(True, 'give people stable ids across frames (PersonPose.track_id; -1 '
                          'while a track is tentative or when off)', False),
    'track_min_hits': ParamSpec(3, 'frames in a row a person must be matched before the track '
                                'gets an id', False, (1, 100, 1)),
    'track_max_age': ParamSpec(30, 'frames a person may go unseen (hidden) and keep the id',
                               False, (0, 1000, 1)),
    'track_match_threshold': ParamSpec(0.3, 'smallest similarity (0.6 OKS + 0.4 box IoU, '
                                       'motion-predicted) to continue a track', False,
                                       (0.01, 1.0, 0.0)),
    'smoothing': ParamSpec(False, 'One-Euro smoothing of joint positions per track: poses, '
                           'markers and image_annotated carry smoothed keypoints, poses_raw '
                           'the model output', False),
    'smoothing_min_cutoff': ParamSpec(1.0, 'One-Euro cutoff [Hz] of a still joint (lower = '
                                      'smoother, more lag)', False, (0.001, 100.0, 0.0)),
    'smoothing_beta': ParamSpec(0.02, 'One-Euro speed coefficient [1/px] (higher = less lag '
                                'on fast motion)', False, (0.0, 10.0, 0.0)),
    'smoothing_d_cutoff': ParamSpec(1.0, 'One-Euro cutoff [Hz] of the joint speed estimate',
                                    False, (0.001, 100.0, 0.0)),
    'smoothing_beta_3d': ParamSpec(5.0, 'One-Euro speed coefficient of the 3D joints [1/m]: '
                                   'cutoff rise [Hz] per m/s of joint speed (use_depth with '
                                   'smoothing; 5 ~ smoothing_beta 0.02 for a 600 px focal '
                                   'length at 2.4 m)', False, (0.0, 1000.0, 0.0)),
    # --- standard interfaces: vision_msgs and REP-155 (ROS4HRI), see ros/interop.py
    'publish_detections': ParamSpec(False, 'publish vision_msgs/Detection2DArray on '
                                    '"detections" (and Detection3DArray on "detections_3d" '
                                    'with 3D keypoints), built only while someone subscribes; '
                                    'needs the vision_msgs package', True),
    'hri_enable': ParamSpec(False, 'publish REP-155 (ROS4HRI) bodies of confirmed tracks: '
                            '<hri_prefix>/bodies/tracked, .../<body id>/skeleton2d and /roi; '
                            'needs the hri_msgs package', True),
    'hri_prefix': ParamSpec('/humans', 'topic prefix of the REP-155 bodies; give each camera '
                            'its own (e.g. /humans_front), or a relative one under a node '
                            'namespace', True),
    'hri_body_id_prefix': ParamSpec('', 'body id = this + track id (front_ -> front_3); '
                                    'empty = 4 random letters + "_" per configure, unique '
                                    'across cameras and restarts', True),
}

#: Parameters that may change while the node runs.
DYNAMIC = frozenset(name for name, spec in PARAMETERS.items() if not spec.read_only)


@dataclass(frozen=True)
class NodeConfig:
    """All parameter values of the node (see :data:`PARAMETERS` for meanings)."""

    arch: str = 'w32'
    weights: str = ''
    backend: str = 'auto'
    device: str = 'auto'
    precision: str = 'fp32'
    input_size: int = 0
    flip_test: bool = True
    max_people: int = 30
    input_transport: str = 'raw'
    reliability: str = 'best_effort'
    autostart: bool = True
    pose_threshold: float = 0.05
    keypoint_threshold: float = 0.1
    publish_markers: bool = True
    publish_annotated_image: bool = True
    marker_scale: float = 0.001
    marker_z: float = 0.0
    max_image_pixels: int = 7680 * 4320
    no_image_warn_s: float = 5.0
    use_depth: bool = False
    depth_slop: float = 0.05
    depth_min_m: float = 0.1
    depth_max_m: float = 10.0
    depth_window_px: int = 5
    depth_occlusion_m: float = 0.5
    depth_rectified: bool = False
    # -- tracking and smoothing --
    tracking: bool = True
    track_min_hits: int = 3
    track_max_age: int = 30
    track_match_threshold: float = 0.3
    smoothing: bool = False
    smoothing_min_cutoff: float = 1.0
    smoothing_beta: float = 0.02
    smoothing_d_cutoff: float = 1.0
    smoothing_beta_3d: float = 5.0
    publish_detections: bool = False
    hri_enable: bool = False
    hri_prefix: str = '/humans'
    hri_body_id_prefix: str = ''

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> 'NodeConfig':
        """Build from a name -> value mapping; unknown names are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def validate(self, names: Optional[Iterable[str]] = None) -> 'NodeConfig':
        """Check the values of ``names`` (default: all); return self.

        :raises ValueError: listing every invalid parameter and how to fix it.
        """
        names = PARAMETERS if names is None else names
        problems = [p for p in (_check(name, getattr(self, name)) for name in names) if p]
        if self.depth_min_m >= self.depth_max_m:
            problems.append(f'depth_min_m:={self.depth_min_m} must be below '
                            f'depth_max_m:={self.depth_max_m}')
        if problems:
            raise ValueError('; '.join(problems))
        return self

    @property
    def estimator_input_size(self) -> Optional[int]:
        """Return ``input_size`` for the estimator (None = model default)."""
        return self.input_size or None


def _check(name: str, value: Any) -> Optional[str]:
    choices = {'arch': ARCHS, 'backend': BACKENDS, 'precision': PRECISIONS,
               'input_transport': TRANSPORTS, 'reliability': RELIABILITIES}.get(name)
    if choices is not None and value not in choices:
        return f"{name}:='{value}' is invalid; use one of {', '.join(choices)}"
    if name == 'device' and not _DEVICE_RE.match(str(value)):
        return f"device:='{value}' is invalid; use auto, cpu, cuda or cuda:N"
    if name == 'weights' and not str(value).strip():
        return ('weights is empty; pass weights:=<checkpoint path>, w32, w48, or random '
                '(untrained, for demos)')
    if name == 'hri_prefix' and not _TOPIC_PREFIX_RE.match(str(value)):
        return (f"hri_prefix:='{value}' is invalid; use a topic namespace such as /humans or "
                '/humans_front (letters, digits, _ and /; each part starts with a letter)')
    if name == 'hri_body_id_prefix' and not _BODY_ID_PREFIX_RE.match(str(value)):
        return (f"hri_body_id_prefix:='{value}' is invalid; use letters, digits and _, "
                'starting with a letter (e.g. front_), or empty for a random one')
    limits = PARAMETERS[name].limits
    if limits is not None:
        low, high, step = limits
        if not low <= value <= high:
            return f'{name}:={value} is out of range [{low}, {high}]'
        if step and (value - low) % step:
            return f'{name}:={value} must be a multiple of {step}'
    return None


def declare_parameters(node: Any) -> None:
    """Declare every parameter of :data:`PARAMETERS` on ``node`` with its descriptor.

    :raises rclpy.exceptions.ParameterException: for an override of the wrong type or out of
        range (rclpy checks the descriptor ranges on declare).
    """
    for name, spec in PARAMETERS.items():
        node.declare_parameter(name, spec.default, _descriptor(name, spec))


def read_config(get_value: Callable[[str], Any]) -> NodeConfig:
    """Read every parameter through ``get_value(name)`` into a (not yet validated) config."""
    return NodeConfig.from_mapping({name: get_value(name) for name in PARAMETERS})


def _descriptor(name: str, spec: ParamSpec) -> Any:
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
    text = spec.description + (' (read-only: set at startup or reconfigure)'
                               if spec.read_only else '')
    desc = ParameterDescriptor(name=name, description=text, read_only=spec.read_only)
    if spec.limits is not None:
        low, high, step = spec.limits
        if isinstance(spec.default, bool):
            pass
        elif isinstance(spec.default, int):
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high),
                                               step=int(step))]
        else:
            desc.floating_point_range = [FloatingPointRange(from_value=float(low),
                                                            to_value=float(high),
                                                            step=float(step))]
    return desc
