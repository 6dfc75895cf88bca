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

"""``logocap_node``: camera images in, skeletons (``poses``), markers and diagnostics out.

Lifecycle: configure reads the parameters, loads the model (and warms it up for
``warmup_image_size``), creates the publishers and starts the 1 Hz diagnostics; activate
subscribes to the image topic and starts the inference thread; deactivate stops both and
clears the RViz markers, keeping the model (so activate is quick); cleanup releases the model
(and the CUDA cache) and destroys the publishers. With ``autostart`` (default) the node
configures and activates itself, so plain ``ros2 run`` works. Diagnostics
(:mod:`.diagnostics`), input hints (:mod:`.input_monitor`) and parameter rules
(:mod:`.parameters`) live in their own modules.

The subscription callback only stores the newest message in a one-slot mailbox; a worker
thread converts, runs the model and publishes. Frames arriving while the model runs replace
the waiting one and are counted as dropped, so latency never grows.
"""

import dataclasses
import sys
import time
from typing import Any, List, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticArray
from logocap_ros.backends.base import BackendBusy
from logocap_ros.frames.config import pipeline_config
from logocap_ros.frames.image_conversion import compressed_to_bgr, image_to_bgr
from logocap_ros.frames.pipeline import FramePipeline
from logocap_ros.frames.stamps import is_unset, stamp_ns
from logocap_ros.msg import SkeletonInfo
from logocap_ros.ros import conversions, diagnostics, input_monitor, interop, qos
from logocap_ros.ros.depth_input import DepthInput, import_message_filters
from logocap_ros.ros.estimator_loader import (load_estimator, LoadedEstimator, release,
                                              StartupError, untrained_warning)
from logocap_ros.ros.latest_frame import FrameWorker
from logocap_ros.ros.log_bridge import LogBridge
from logocap_ros.ros.outputs import FrameOutputs
from logocap_ros.ros.parameters import (change_problem, command_line_problem,
                                        declare_parameters, DYNAMIC, NodeConfig, read_config)
from logocap_ros.ros.shutdown import ExitRequest, init_ros, spin_until_exit
from logocap_ros.ros.stats import NodeStats, RateLimitedLog
from logocap_ros.ros.warmup import run_warmup
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
import rclpy.logging
from rclpy.utilities import get_rmw_implementation_identifier
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

NODE_NAME = 'logocap_node'


class LogocapNode(LifecycleNode):
    """The LOGO-CAP pose estimation lifecycle node (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        for warning in declare_parameters(self):
            self.get_logger().warning(warning)
        self.cfg: NodeConfig = read_config(self._param)
        self.startup_error: Optional[str] = None
        self.stats = NodeStats()
        self._log_limit = RateLimitedLog(period_s=5.0)
        self._loaded: Optional[LoadedEstimator] = None
        self._worker: Optional[FrameWorker] = None
        self._sub = None
        self._pubs: dict = {}
        self._input_timer = None  # not `_timers`: rclpy's Node keeps its timer list there
        self._warned_qos: set = set()
        self._depth: Optional[DepthInput] = None  # 3D input (use_depth), made on activate
        # estimator, threshold, tracking, smoothing, 3D (frames/pipeline.py)
        self._pipeline = FramePipeline(pipeline_config(self.cfg))
        self._outputs: Optional[FrameOutputs] = None  # poses ... REP-155 (ros/outputs.py)
        # lifecycle-state label for diagnostics and parameter rules; what a warm-up is doing
        self._state = 'unconfigured'
        self._warming_up: Optional[str] = None
        self._busy: Optional[BackendBusy] = None  # the backend prepares a new input size
        self._diag_timer = None
        self._health = diagnostics.HealthMonitor(self.cfg.no_image_warn_s)
        self._no_image = input_monitor.Backoff(self.cfg.no_image_warn_s)
        self._topics = ('', '')
        self._activated_at = time.monotonic()
        self._received_at_activation = 0
        self._frame_id = ''
        self._log_bridge = LogBridge(self.get_logger())  # backends' logging -> ROS logger
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # ----------------------------------------------------------------- lifecycle callbacks
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Read and validate parameters, load the model, create the publishers, warm up."""
        try:
            self.cfg = read_config(self._param).validate()
            interop.require_packages(self.cfg)
            if self.cfg.use_depth:
                import_message_filters()  # fail early, naming the package to install
            self._loaded = load_estimator(self.cfg)
        except (ValueError, StartupError) as exc:
            return self._configure_failed(exc)
        self._pipeline.configure(pipeline_config(self.cfg))
        if self._loaded.untrained:
            self.get_logger().warning(untrained_warning(self._loaded))
        self._health.warn_s = self.cfg.no_image_warn_s
        self._create_publishers()
        self._diag_timer = self.create_timer(1.0, self._publish_diagnostics)
        if self.cfg.warmup_hw is not None and not self._warm_up(self.cfg.warmup_hw):
            self.on_cleanup(state)
            return TransitionCallbackReturn.FAILURE
        self._state = 'inactive'
        self.get_logger().info(f'configured: {self._loaded.method}')
        return TransitionCallbackReturn.SUCCESS

    def _configure_failed(self, exc: BaseException) -> TransitionCallbackReturn:
        self.startup_error = str(exc)
        self.get_logger().error(f'cannot configure: {exc}')
        return TransitionCallbackReturn.FAILURE

    def _warm_up(self, hw: tuple) -> bool:
        """Run the model once on a blank image of the camera's size; False on failure."""
        what = f'warm-up run on a blank {hw[1]}x{hw[0]} image'
        self.get_logger().info(f'{what} (warmup_image_size) ...')

        def tick(elapsed: float) -> None:
            self._warming_up = f'{what}, {elapsed:.0f} s so far'
            self._publish_diagnostics()

        try:
            seconds = run_warmup(self._loaded.estimator, hw, tick)
        except Exception as exc:  # noqa: BLE001 - any backend failure ends the transition
            self._warming_up = None
            self.startup_error = f'warm-up failed: {type(exc).__name__}: {exc}'
            self.get_logger().error(f'cannot configure: {self.startup_error}')
            return False
        self._warming_up = None
        self.get_logger().info(f'warm-up done in {seconds:.1f} s')
        return True

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Subscribe and start the worker (loading the model only if none is kept)."""
        if self._loaded is None:
            try:
                self._loaded = load_estimator(self.cfg)
            except StartupError as exc:
                self.get_logger().error(f'cannot activate: {exc}')
                return TransitionCallbackReturn.FAILURE
        self._worker = FrameWorker(self._process, self._on_worker_error)
        self._worker.start()
        raw = self.cfg.input_transport == 'raw'
        self._topics = input_monitor.input_topics(self.cfg.input_transport,
                                                  self.resolve_topic_name)
        self._sub = self.create_subscription(
            Image if raw else CompressedImage, self._topics[0], self._on_image,
            qos.image_qos(self.cfg.reliability))
        if self.cfg.use_depth:
            self._depth = DepthInput(self, self.cfg, import_message_filters())
        self._activated_at = time.monotonic()
        self._received_at_activation = self.stats.received
        self._no_image.reset(self.cfg.no_image_warn_s)
        self._input_timer = self.create_timer(1.0, self._check_input)
        self._state = 'active'
        self.get_logger().info(f'active: listening on {self._sub.topic_name} '
                               f'({self.cfg.reliability}, depth 1)')
        note = input_monitor.missing_profile_note(get_rmw_implementation_identifier(),
                                                  input_monitor.shm_profile_path())
        if note:
            self.get_logger().warning(note)
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Unsubscribe, stop the worker, clear the markers; the model stays until cleanup."""
        self._stop_processing()
        self._clear_markers()
        self._pipeline.reset()
        if self._outputs is not None:
            self._outputs.reset()
        self._state = 'inactive'
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Destroy the publishers and the diagnostics timer, drop the model."""
        self._destroy_outputs()
        self._release_model()
        self._pipeline.reset()
        self._state = 'unconfigured'
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Stop everything."""
        self._stop_processing()
        self._clear_markers()
        self._destroy_outputs()
        self._release_model()
        self._state = 'finalized'
        return TransitionCallbackReturn.SUCCESS

    def is_finalized(self) -> bool:
        """Return True after the lifecycle shutdown transition (the process then exits)."""
        return self._state == 'finalized'

    def destroy_node(self) -> None:
        """Detach the logging bridge, then destroy the node."""
        bridge = getattr(self, '_log_bridge', None)  # absent when __init__ failed early
        if bridge is not None:
            bridge.close()
            self._log_bridge = None
        super().destroy_node()

    # ------------------------------------------------------------------------ helpers
    def _release_model(self) -> None:
        self._pipeline.estimator = None  # no reference left to the released model
        release(self._loaded)
        self._loaded = None

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _destroy_outputs(self) -> None:
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        for pub in self._pubs.values():
            self.destroy_publisher(pub)
        self._pubs = {}
        if self._outputs is not None:
            self._outputs.destroy()
            self._outputs = None

    def _clear_markers(self) -> None:
        """Remove this node's skeletons from RViz (deactivate, shutdown)."""
        if self._outputs is not None and self.context.ok():  # not after Ctrl-C ended rclpy
            header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
            self._outputs.clear_markers(header)

    def _create_publishers(self) -> None:
        out = qos.output_qos()
        self._outputs = FrameOutputs(self, self.cfg, out)
        self._pubs = {
            'info': self.create_publisher(SkeletonInfo, 'skeleton_info', qos.latched_qos()),
            'diag': self.create_publisher(DiagnosticArray, '/diagnostics', 10),
        }
        self._publish_skeleton_info()
        for line in self._outputs.describe():
            self.get_logger().info(f'publishing {line}')

    def _publish_skeleton_info(self) -> None:
        """Publish the latched SkeletonInfo, stamped now, in the last image's frame."""
        if 'info' in self._pubs and self._loaded is not None:
            header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
            self._pubs['info'].publish(conversions.skeleton_info(
                self._loaded.method, self.cfg.keypoint_threshold, self.cfg.pose_threshold,
                header))

    def _stop_processing(self) -> None:
        if self._depth is not None:
            self._depth.destroy()
            self._depth = None
        if self._sub is not None:
            self.destroy_subscription(self._sub)
            self._sub = None
        if self._input_timer is not None:
            self.destroy_timer(self._input_timer)
            self._input_timer = None
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _on_set_parameters(self, params: List[Any]) -> SetParametersResult:
        configured = self._state != 'unconfigured'
        for param in params:
            problem = change_problem(param.name, param.value, configured)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        later = sorted(p.name for p in params if p.name not in DYNAMIC)
        if later and not configured:
            self.get_logger().info(f'{", ".join(later)} will apply at the next configure')
        changes = {p.name: p.value for p in params if p.name in DYNAMIC}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            new_cfg = dataclasses.replace(self.cfg, **changes).validate(changes)
        except (ValueError, TypeError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self.cfg = new_cfg
        self._pipeline.configure(pipeline_config(new_cfg))
        self.get_logger().info(f'parameters changed: {changes}')
        if 'no_image_warn_s' in changes:
            self._health.warn_s = new_cfg.no_image_warn_s
            self._no_image.reset(new_cfg.no_image_warn_s)
        if {'pose_threshold', 'keypoint_threshold'} & changes.keys():
            self._publish_skeleton_info()
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------- data path
    def _on_image(self, msg: Any) -> None:
        self.stats.on_input()
        if self._depth is not None:
            self._depth.on_colour(msg)
        if self._worker is not None and self._worker.slot.put(msg):
            self.stats.on_dropped()

    def _process(self, msg: Any) -> None:
        cfg, loaded = self.cfg, self._loaded
        if loaded is None:
            return
        self.stats.on_started()
        started = time.perf_counter()
        if self._depth is not None:
            self._depth.claim(msg.header)  # keep its depth while the model runs
        if msg.header.frame_id != self._frame_id:
            self._frame_id = msg.header.frame_id
            self._publish_skeleton_info()
        try:
            image = (image_to_bgr(msg, cfg.max_image_pixels) if isinstance(msg, Image)
                     else compressed_to_bgr(msg, cfg.max_image_pixels))
        except ValueError as exc:
            self._bad_input(getattr(exc, 'reason', 'invalid'), str(exc))
            return
        self._pipeline.estimator = loaded.estimator
        stamp = (self.get_clock().now().nanoseconds if is_unset(msg.header.stamp)
                 else stamp_ns(msg.header.stamp))
        try:
            frame = self._pipeline(image, stamp, self._depth_source(msg.header, cfg))
        except BackendBusy as busy:  # e.g. a TensorRT engine building in the background
            self._busy = busy
            self.stats.on_dropped(busy.reason)
            return
        self._busy = None
        if self._depth is not None:
            self._depth.report(frame)
        self._outputs.publish(msg.header, image, frame, cfg)
        self.stats.on_processed(self._age(msg.header.stamp), time.perf_counter() - started)

    def _depth_source(self, header: Any, cfg: NodeConfig) -> Any:
        """Return the pipeline's depth (taken once the model ran), or None without 3D."""
        depth = self._depth
        return None if depth is None else (lambda: depth.take(header, cfg))

    def _age(self, stamp: Any) -> float:
        """Seconds from the image stamp to now (NaN for an unstamped image)."""
        if is_unset(stamp):
            return float('nan')
        return (self.get_clock().now().nanoseconds - stamp_ns(stamp)) / 1e9

    def _bad_input(self, reason: str, text: str) -> None:
        self.stats.on_bad_input(reason)
        suppressed = self._log_limit.allow(reason)
        if suppressed is not None:
            more = f' ({suppressed} more since last report)' if suppressed else ''
            self.get_logger().warning(f'skipping image: {text}{more}')

    def _on_worker_error(self, exc: BaseException) -> None:
        self._bad_input('inference_error', f'{type(exc).__name__}: {exc}')

    # ---------------------------------------------------------- monitoring timers
    def _publish_diagnostics(self) -> None:
        """Publish one status: counters, backend, and the health verdict (1 Hz from configure)."""
        diag = self._pubs.get('diag')
        if diag is None:
            return
        values = self.stats.snapshot()
        activity = diagnostics.Activity(
            state=self._state,
            warming_up=self._warming_up or (self._busy.progress() if self._busy else None),
            since_input_s=self._input_silence()[1],
            since_output_s=self.stats.seconds_since_output(),
            busy_s=self.stats.busy_seconds(), topic=self._topics[0],
            frame_s=self.stats.recent_frame_seconds())
        level, message = self._health.assess(time.monotonic(), values, activity)
        loaded = self._loaded
        values.update(lifecycle_state=self._state,
                      backend=loaded.backend if loaded else '',
                      device=loaded.device if loaded else '',
                      model=loaded.method if loaded else '',
                      input_topic=self._sub.topic_name if self._sub else '')
        if self._depth is not None:
            values.update(self._depth.diagnostic_values())
            warning = self._depth.warning()
            if warning and level == diagnostics.OK:
                level, message = diagnostics.WARN, warning
        diag.publish(conversions.diagnostics_array(
            diagnostics.status_name(self.get_fully_qualified_name()),
            diagnostics.hardware_id(str(values['device'])), values, level, message,
            self.get_clock().now().to_msg()))

    def _input_silence(self) -> Tuple[bool, float]:
        """Return (an image arrived since activation, seconds without one since then)."""
        ever = self.stats.received > self._received_at_activation
        silent = self.stats.seconds_since_input()
        if ever and silent is not None:
            return True, silent
        return False, time.monotonic() - self._activated_at

    def _check_input(self) -> None:
        """Warn once per incompatible publisher; say why no image arrives (backing off)."""
        if self._sub is None:
            return
        topic = self._sub.topic_name
        infos = self.get_publishers_info_by_topic(topic)
        for line in qos.incompatible_publishers(infos, qos.image_qos(self.cfg.reliability)):
            if line not in self._warned_qos:
                self._warned_qos.add(line)
                self.get_logger().warning(f'incompatible QoS on {topic}: {line}')
        ever, waited = self._input_silence()
        if waited < self.cfg.no_image_warn_s:
            self._no_image.reset(self.cfg.no_image_warn_s)
            return
        if not self._no_image.due(waited):
            return
        count = getattr(self._sub, 'get_publisher_count', None)
        matched = count() if count is not None else len(infos) - len(
            qos.incompatible_publishers(infos, qos.image_qos(self.cfg.reliability)))
        self.get_logger().warning(input_monitor.no_image_hint(
            topic, self.cfg.input_transport, waited, ever,
            [qos.describe_endpoint(i) for i in infos], matched, self._topics[1],
            [qos.describe_endpoint(i)
             for i in self.get_publishers_info_by_topic(self._topics[1])],
            get_rmw_implementation_identifier(), input_monitor.shm_profile_path()))


def _startup_failed(text: str) -> int:
    """Report a startup error as one line through the ROS logger; return exit status 1."""
    rclpy.logging.get_logger(NODE_NAME).error(' '.join(str(text).split()))
    return 1


def main(args: Optional[List[str]] = None) -> int:
    """Run the node; return the process exit code (non-zero on startup errors).

    SIGINT/SIGTERM end the process with code 0 after an orderly cleanup (the inference thread
    stops before the ROS context goes away); repeated signals during the cleanup are ignored
    (:mod:`logocap_ros.ros.shutdown`). The lifecycle ``shutdown`` transition ends it too.
    """
    exit_request = ExitRequest().install()
    try:
        init_ros(args)
    except Exception as exc:  # noqa: BLE001 - rcl reports unparsable arguments this way
        return _startup_failed(f'invalid command line: {exc}')
    problem = command_line_problem(sys.argv if args is None else args, NODE_NAME)
    if problem:
        code = _startup_failed(f'invalid command line: {problem}')
        rclpy.try_shutdown()
        return code
    node = None
    try:
        node = LogocapNode()
        if node.cfg.autostart and not _autostart(node):
            return 1
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        spin_until_exit(executor, exit_request, done=node.is_finalized)
        if node.is_finalized():  # lifecycle shutdown: let the transition's reply go out
            spin_until_exit(executor, exit_request, done=_deadline(0.5))
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, rclpy.exceptions.ParameterException) as exc:
        return _startup_failed(f'invalid parameter: {exc}')
    finally:
        exit_request.stopping()
        if node is not None:
            node.on_shutdown(None)
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def _deadline(seconds: float) -> Any:
    """Return a callable that turns True ``seconds`` from now."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end


def _autostart(node: LogocapNode) -> bool:
    """Configure and activate; return False (error already logged) when that fails."""
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        return False
    return node.trigger_activate() == TransitionCallbackReturn.SUCCESS


if __name__ == '__main__':
    sys.exit(main())
