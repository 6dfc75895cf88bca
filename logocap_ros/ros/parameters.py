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

Every entry of :data:`PARAMETERS` has a description, a range where one applies, and an
access class:

* ``startup`` (descriptor ``read_only``): only at startup (``autostart``);
* ``configure``: what configure and activate use (model, backend, device, QoS, warm-up);
  settable at startup and whenever the node is *unconfigured*, applied at the next
  configure. The node refuses a change in the other states with a reason saying so;
* ``runtime``: changeable at any time, validated first.

Float parameters accept integers (``pose_threshold:=1``, ``ros2 param set ... 1``): they are
declared with dynamic typing, and the node checks that a new value is a number in range.
:class:`NodeConfig` holds the values; :meth:`NodeConfig.validate` is pure Python.
"""

from dataclasses import fields, make_dataclass
import difflib
import re
from typing import (Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple)

from logocap_ros.backends.registry import BACKEND_NAMES
from logocap_ros.core.architectures import ARCHS, DEFAULT_ARCH
from logocap_ros.core.result import MAX_PEOPLE
from logocap_ros.frames.config import PIPELINE_SETTINGS

BACKENDS = BACKEND_NAMES
PRECISIONS = ('fp32', 'fp16', 'bf16')
TRANSPORTS = ('raw', 'compressed')
RELIABILITIES = ('best_effort', 'reliable')
ACCESS = ('startup', 'configure', 'runtime')
_DEVICE_RE = re.compile(r'^(auto|cpu|cuda(:\d+)?)$')
# standard interfaces (ros/interop.py): ROS name tokens start with a letter
_TOPIC_PREFIX_RE = re.compile(r'^/?[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*$')
_BODY_ID_PREFIX_RE = re.compile(r'^([A-Za-z][A-Za-z0-9_]*)?$')
_SIZE_RE = re.compile(r'^\s*(\d+)\s*[xX]\s*(\d+)\s*$')
#: Largest warm-up image side [px].
MAX_WARMUP_SIDE = 8192


class ParamSpec(NamedTuple):
    """One parameter: default (its type fixes the ROS type), help text, access, range."""

    default: Any
    description: str
    access: str  # one of ACCESS
    limits: Optional[Tuple[float, float, float]] = None  # (from, to, step); step 0 = any


def _pipeline(name: str) -> ParamSpec:
    """Return the ``runtime`` parameter of a frame pipeline setting (``frames/config.py``)."""
    setting = PIPELINE_SETTINGS[name]
    return ParamSpec(setting.default, setting.description, 'runtime', setting.limits)


PARAMETERS: Dict[str, ParamSpec] = {
    'arch': ParamSpec(DEFAULT_ARCH, f'HRNet backbone: {" or ".join(ARCHS)} (must match the '
                      'weights)',
                      'configure'),
    'weights': ParamSpec('', 'checkpoint path, short name (w32, w48) or "random"/"random:w48" '
                         'for untrained demo weights; required (unused by backend triton)',
                         'configure'),
    'model': ParamSpec('', 'exported model file (.onnx from logocap-export-onnx, or a TensorRT '
                       'engine from logocap-build-engine --onnx): arch, flip_test and the '
                       'input size come from it, no PyTorch needed; empty = use weights',
                       'configure'),
    'backend': ParamSpec('auto', 'inference backend: auto, torch, onnxruntime, openvino, '
                         'tensorrt, or '
                         'triton (a Triton server runs the network; see triton_*)', 'configure'),
    'device': ParamSpec('auto', 'auto (cuda:0 if available, else cpu), cpu, cuda or cuda:N',
                        'configure'),
    'precision': ParamSpec('fp32', 'numeric precision: fp32, fp16 (needs a GPU) or bf16 '
                           '(backend openvino, CPU with avx512_bf16/amx_bf16)',
                           'configure'),
    'input_size': ParamSpec(0, 'short side of the network input in px, multiple of 64; 0 = '
                            'model default (512 for w32, 640 for w48)', 'configure',
                            (0, 2048, 64)),
    'flip_test': ParamSpec(True, 'average with the horizontally flipped image (slower, more '
                           'accurate)', 'configure'),
    'max_people': ParamSpec(MAX_PEOPLE, 'maximum number of people per image (the model '
                            f'refines its top {MAX_PEOPLE} candidates)', 'configure',
                            (1, MAX_PEOPLE, 1)),
    'warmup_image_size': ParamSpec('', 'WIDTHxHEIGHT of the camera images (e.g. 640x480): '
                                   'configure runs the model once on a blank image of that '
                                   'size, so the first real frame is not slowed down by a '
                                   'one-time export/compilation; empty = no warm-up',
                                   'configure'),
    'input_transport': ParamSpec('raw', 'raw: subscribe sensor_msgs/Image on "image"; '
                                 'compressed: sensor_msgs/CompressedImage on '
                                 '"<image>/compressed" (follows an image:= remap)',
                                 'configure'),
    'reliability': ParamSpec('best_effort', 'QoS reliability of the image subscription: '
                             'best_effort (sensor data, depth 1) or reliable', 'configure'),
    'autostart': ParamSpec(True, 'configure and activate the lifecycle node on startup',
                           'startup'),
    'pose_threshold': _pipeline('pose_threshold'),
    'keypoint_threshold': _pipeline('keypoint_threshold'),
    'publish_markers': ParamSpec(True, 'publish visualization_msgs/MarkerArray on "markers"',
                                 'runtime'),
    'publish_annotated_image': ParamSpec(True, 'publish "image_annotated" (only computed while '
                                         'someone subscribes)', 'runtime'),
    'marker_scale': ParamSpec(0.001, 'metres per image pixel for markers (0.001: 1 px = 1 mm)',
                              'runtime', (1e-6, 1.0, 0.0)),
    'marker_z': ParamSpec(0.0, 'z [m] of the marker plane in the image frame', 'runtime',
                          (-100.0, 100.0, 0.0)),
    'max_image_pixels': ParamSpec(7680 * 4320, 'images with more pixels are rejected',
                                  'runtime', (1, 1 << 30, 1)),
    'no_image_warn_s': ParamSpec(5.0, 'warn when no image arrived for this long [s], then '
                                 'less and less often; 0 = off', 'runtime',
                                 (0.0, 3600.0, 0.0)),
    # 3D from a depth image registered to the colour image (logocap_ros/ros/depth_input.py)
    'use_depth': ParamSpec(False, 'also subscribe to "depth/image_raw" (16UC1 mm or 32FC1 m, '
                           'registered to "image") and "depth/camera_info", synchronised with '
                           '"image", and fill keypoints_3d', 'configure'),
    'depth_slop': ParamSpec(0.05, 'largest stamp difference [s] between a colour image and its '
                            'depth image and camera_info (ApproximateTimeSynchronizer slop)',
                            'configure', (0.0, 10.0, 0.0)),
    'depth_min_m': _pipeline('depth_min_m'),
    'depth_max_m': _pipeline('depth_max_m'),
    'depth_window_px': _pipeline('depth_window_px'),
    'depth_occlusion_m': _pipeline('depth_occlusion_m'),
    'depth_rectified': ParamSpec(False, 'the colour and depth images are rectified '
                                 '(image_rect): back-project with camera_info P, no '
                                 'distortion', 'configure'),
    # -- tracking and smoothing (logocap_ros/frames/people.py) --
    'tracking': _pipeline('tracking'),
    'track_min_hits': _pipeline('track_min_hits'),
    'track_max_age': _pipeline('track_max_age'),
    'track_match_threshold': _pipeline('track_match_threshold'),
    'smoothing': _pipeline('smoothing'),
    'smoothing_min_cutoff': _pipeline('smoothing_min_cutoff'),
    'smoothing_beta': _pipeline('smoothing_beta'),
    'smoothing_d_cutoff': _pipeline('smoothing_d_cutoff'),
    'smoothing_beta_3d': _pipeline('smoothing_beta_3d'),
    # --- standard interfaces: vision_msgs and REP-155 (ROS4HRI), see ros/interop.py
    'publish_detections': ParamSpec(False, 'publish vision_msgs/Detection2DArray on '
                                    '"detections" (and Detection3DArray on "detections_3d" '
                                    'with 3D keypoints), built only while someone subscribes; '
                                    'needs the vision_msgs package', 'configure'),
    'hri_enable': ParamSpec(False, 'publish REP-155 (ROS4HRI) bodies of confirmed tracks: '
                            '<hri_prefix>/bodies/tracked, .../<body id>/skeleton2d and /roi; '
                            'needs the hri_msgs package', 'configure'),
    'hri_prefix': ParamSpec('/humans', 'topic prefix of the REP-155 bodies; give each camera '
                            'its own (e.g. /humans_front), or a relative one under a node '
                            'namespace', 'configure'),
    'hri_body_id_prefix': ParamSpec('', 'body id = this + track id (front_ -> front_3); '
                                    'empty = 4 random letters + "_" per configure, unique '
                                    'across cameras and restarts', 'configure'),
}

# --- backend 'triton': the network runs on a Triton Inference Server (README "Many cameras,
# one server"); arch, weights, flip_test and the input size then come from the server's model.
TRITON_PARAMETERS: Dict[str, ParamSpec] = {
    'triton_url': ParamSpec('127.0.0.1:8000', "backend triton: the server's HTTP endpoint, "
                            'host:port', 'configure'),
    'triton_model': ParamSpec('logocap', 'backend triton: model name on the server', 'configure'),
    'triton_model_version': ParamSpec('', "backend triton: model version ('' = the server's "
                                      'latest)', 'configure'),
    'triton_timeout_s': ParamSpec(10.0, 'backend triton: connect/answer timeout per request '
                                  '[s]', 'configure', (0.1, 600.0, 0.0)),
}
PARAMETERS.update(TRITON_PARAMETERS)

# --- backend 'tensorrt' (docs/backends.md, "TensorRT in the node")
TENSORRT_PARAMETERS: Dict[str, ParamSpec] = {
    'engine_path': ParamSpec('', 'backend tensorrt: a prebuilt engine (logocap-build-engine), '
                             'used as is; empty = build or reuse cached engines', 'configure'),
    'onnx_path': ParamSpec('', 'backend tensorrt/onnxruntime: an ONNX export to run (its '
                           'engine is built or reused); empty = export on demand', 'configure'),
    'workspace_gb': ParamSpec(0.0, 'backend tensorrt: builder workspace limit [GiB] of engine '
                              'builds (0 = TensorRT default)', 'configure', (0.0, 1024.0, 0.0)),
}
PARAMETERS.update(TENSORRT_PARAMETERS)

#: Parameters that may change while the node runs.
DYNAMIC = frozenset(name for name, spec in PARAMETERS.items() if spec.access == 'runtime')
#: Parameters that may change while the node is unconfigured (applied at configure).
CONFIGURE_TIME = frozenset(name for name, spec in PARAMETERS.items()
                           if spec.access == 'configure')
_FLOATS = frozenset(name for name, spec in PARAMETERS.items()
                    if isinstance(spec.default, float))


class _NodeConfigMethods:
    """What :class:`NodeConfig` does beyond holding one value per parameter."""

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
        if self.backend == 'triton' or self.model.strip():  # no local weights needed
            names = [n for n in names if n != 'weights']
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

    @property
    def warmup_hw(self) -> Optional[Tuple[int, int]]:
        """Return ``(height, width)`` of the warm-up image, None for no warm-up."""
        return parse_image_size(self.warmup_image_size)


def _node_config_class() -> type:
    """Build :class:`NodeConfig` from :data:`PARAMETERS`: one field per parameter, same default."""
    return make_dataclass(
        'NodeConfig', [(name, type(spec.default), spec.default)
                       for name, spec in PARAMETERS.items()],
        bases=(_NodeConfigMethods,), frozen=True, namespace={
            '__module__': __name__,
            '__doc__': 'All parameter values of the node (see :data:`PARAMETERS` for meanings).'})


NodeConfig = _node_config_class()


def parse_image_size(text: str) -> Optional[Tuple[int, int]]:
    """Parse ``'640x480'`` (width x height) into ``(480, 640)``; ``''`` gives None.

    :raises ValueError: for any other text or a side outside 1..8192.
    """
    if not str(text).strip():
        return None
    match = _SIZE_RE.match(str(text))
    if match is None:
        raise ValueError(f"warmup_image_size:='{text}' is invalid; use WIDTHxHEIGHT of the "
                         "camera images, e.g. 640x480, or '' for no warm-up")
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_WARMUP_SIDE and 1 <= height <= MAX_WARMUP_SIDE):
        raise ValueError(f"warmup_image_size:='{text}': each side must be in "
                         f'1..{MAX_WARMUP_SIDE}')
    return height, width


def _check(name: str, value: Any) -> Optional[str]:
    if name in _FLOATS and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f'{name}:={value!r} must be a number'
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
    if name == 'warmup_image_size':
        try:
            parse_image_size(value)
        except ValueError as exc:
            return str(exc)
    limits = PARAMETERS[name].limits
    if limits is not None:
        low, high, step = limits
        if not low <= value <= high:
            return f'{name}:={value} is out of range [{low}, {high}]'
        if step and (value - low) % step:
            return f'{name}:={value} must be a multiple of {step}'
    return None


def change_problem(name: str, value: Any, configured: bool) -> Optional[str]:
    """Return why setting parameter ``name`` to ``value`` is refused now, None if allowed.

    :param configured: True unless the lifecycle node is unconfigured.
    """
    spec = PARAMETERS.get(name)
    if spec is None:
        return None
    if spec.access == 'startup':
        return f'{name} is only read at startup; restart the node to change it'
    if spec.access == 'configure' and configured:
        return (f'{name} is applied at configure; change it while the node is unconfigured '
                '(deactivate, cleanup, set it, then configure and activate), or restart it')
    return _check(name, value)


def declare_parameters(node: Any) -> List[str]:
    """Declare every parameter of :data:`PARAMETERS` on ``node`` with its descriptor.

    Integer overrides of float parameters (``-p pose_threshold:=1``) are taken as floats.

    :return: one warning per override that matches no parameter of the node, naming the
        closest known name (``-p pose_treshold:=0.3`` would otherwise be silently ignored).
    :raises rclpy.exceptions.ParameterException: for an override of the wrong type or out of
        range (rclpy checks the descriptor ranges on declare).
    """
    overrides = getattr(node, '_parameter_overrides', None)
    if isinstance(overrides, dict):
        for name in _FLOATS & overrides.keys():
            overrides[name] = _as_float(overrides[name])
    for name, spec in PARAMETERS.items():
        node.declare_parameter(name, spec.default, _descriptor(name, spec))
    known = set(PARAMETERS) | {n for n in (overrides or {}) if node.has_parameter(n)}
    return [unknown_parameter_warning(name, known) for name in sorted(overrides or {})
            if name not in known and not name.startswith('qos_overrides.')]


def command_line_problem(argv: Sequence[str], node_name: str) -> Optional[str]:
    """Return why the command line is refused, None when it is fine.

    Checks what rcl does not: arguments outside ``--ros-args`` (``logocap_node --bogus``,
    otherwise ignored), and ``-p name:=value`` overrides whose value does not fit the
    parameter's type (rcl silently keeps an earlier ``-p input_size:=64`` when a later
    ``-p input_size:=abc`` follows). Values are read as YAML, as rcl reads them.

    :param argv: the full command line (``sys.argv``), program name first.
    :param node_name: the node's name; overrides prefixed with another node's name are skipped.
    """
    extra, overrides = _split_command_line(list(argv)[1:], node_name)
    if extra:
        return (f"unknown argument(s) {' '.join(extra)}; logocap_node takes only ROS "
                'arguments: logocap_node --ros-args -p weights:=w32 -r image:=/camera/image_raw')
    for name, text in overrides:
        spec = PARAMETERS.get(name)
        if spec is None or isinstance(spec.default, str):
            continue
        value = _yaml_scalar(text)
        if isinstance(spec.default, bool):
            fits = isinstance(value, bool)
        elif isinstance(spec.default, int):
            fits = isinstance(value, int) and not isinstance(value, bool)
        else:
            fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not fits:
            kind = {bool: 'true or false', int: 'an integer'}.get(type(spec.default), 'a number')
            return f'-p {name}:={text}: {name} must be {kind} (default {spec.default!r})'
    return None


def _split_command_line(args: List[str],
                        node_name: str) -> Tuple[List[str], List[Tuple[str, str]]]:
    """Return (arguments outside ``--ros-args``, ``[(name, value text)]`` of ``-p`` for us)."""
    extra, overrides, in_ros, i = [], [], False, 0
    while i < len(args):
        arg = args[i]
        if arg == '--ros-args':
            in_ros = True
        elif arg == '--' and in_ros:
            in_ros = False
        elif in_ros and arg in ('-p', '--param') and i + 1 < len(args):
            i += 1
            left, _, text = args[i].partition(':=')
            prefix, _, name = left.rpartition(':')
            if not prefix or prefix.rsplit('/', 1)[-1] in (node_name, '*', '**'):
                overrides.append((name, text))
        elif not in_ros:
            extra.append(arg)
        i += 1
    return extra, overrides


def _yaml_scalar(text: str) -> Any:
    import yaml
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def unknown_parameter_warning(name: str, known: Iterable[str]) -> str:
    """Return the warning for an unknown parameter, naming the closest known one."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else '; see: ros2 param list'
    return f"unknown parameter '{name}' is ignored{hint}"


def _as_float(param: Any) -> Any:
    """Return an integer ``rclpy.parameter.Parameter`` as a double one, others unchanged."""
    from rclpy.parameter import Parameter
    if param.type_ == Parameter.Type.INTEGER:
        return Parameter(param.name, Parameter.Type.DOUBLE, float(param.value))
    return param


def read_config(get_value: Callable[[str], Any]) -> NodeConfig:
    """Read every parameter through ``get_value(name)`` into a (not yet validated) config."""
    return NodeConfig.from_mapping({name: get_value(name) for name in PARAMETERS})


_ACCESS_NOTE = {
    'startup': ' (read-only: set at startup)',
    'configure': ' (set at startup, or while the node is unconfigured: applied at configure)',
    'runtime': ' (changeable at run time)',
}


def _descriptor(name: str, spec: ParamSpec) -> Any:
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
    desc = ParameterDescriptor(name=name, description=spec.description + _ACCESS_NOTE[
        spec.access], read_only=spec.access == 'startup')
    # Float parameters take integers too (`ros2 param set ... pose_threshold 1`): rclpy checks
    # types before any callback (and Humble has no pre-set callback), so these are declared
    # with dynamic typing and :func:`change_problem` / :meth:`NodeConfig.validate` check that
    # the value is a number in range.
    desc.dynamic_typing = name in _FLOATS
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
