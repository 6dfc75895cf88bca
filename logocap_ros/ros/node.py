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

Lifecycle: configure reads the parameters and loads the model, activate subscribes to the
image topic and starts the inference thread, deactivate stops both and releases the model
(and the CUDA cache), cleanup destroys the publishers. With ``autostart`` (default) the node
configures and activates itself, so plain ``ros2 run`` works.

The subscription callback only stores the newest message in a one-slot mailbox; a worker
thread converts, runs the model and publishes. Frames arriving while the model runs replace
the waiting one and are counted as dropped, so latency never grows.
"""

import dataclasses
import sys
import time
from typing import Any, List, Optional

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from logocap_ros.msg import PersonPoseArray, SkeletonInfo
from logocap_ros.ros import conversions, interop, qos
from logocap_ros.ros.depth_input import DepthInput, import_message_filters, markers_3d_or_clear
from logocap_ros.ros.estimator_loader import (load_estimator, LoadedEstimator, release,
                                              StartupError)
from logocap_ros.ros.image_conversion import bgr_to_image_msg, compressed_to_bgr, image_to_bgr
from logocap_ros.ros.latest_frame import FrameWorker
from logocap_ros.ros.parameters import declare_parameters, DYNAMIC, NodeConfig, read_config
from logocap_ros.ros.people import PeopleFilter, stamp_seconds
from logocap_ros.ros.shutdown import ExitRequest, init_ros, spin_until_exit
from logocap_ros.ros.stats import NodeStats, RateLimitedLog
from logocap_ros.tools.draw import draw_poses
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from sensor_msgs.msg import CompressedImage, Image
from visualization_msgs.msg import MarkerArray

NODE_NAME = 'logocap_node'


class LogocapNode(LifecycleNode):
    """The LOGO-CAP pose estimation lifecycle node (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        declare_parameters(self)
        self.cfg: NodeConfig = read_config(self._param)
        self.startup_error: Optional[str] = None
        self.stats = NodeStats()
        self._log_limit = RateLimitedLog(period_s=5.0)
        self._loaded: Optional[LoadedEstimator] = None
        self._worker: Optional[FrameWorker] = None
        self._sub = None
        self._pubs: dict = {}
        self._timers: List[Any] = []
        self._warned_qos: set = set()
        self._depth: Optional[DepthInput] = None  # 3D input (use_depth), made on activate
        self._people = PeopleFilter(self.cfg)  # tracking + smoothing (ros/people.py)
        self._interop: Optional[interop.InteropOutputs] = None  # vision_msgs / REP-155
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # ----------------------------------------------------------------- lifecycle callbacks
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Read and validate parameters, load the model, create the publishers."""
        try:
            self.cfg = read_config(self._param).validate()
            interop.require_packages(self.cfg)
            if self.cfg.use_depth:
                import_message_filters()  # fail early, naming the package to install
            self._loaded = load_estimator(self.cfg)
        except (ValueError, StartupError) as exc:
            self.startup_error = str(exc)
            self.get_logger().error(f'cannot configure: {exc}')
            return TransitionCallbackReturn.FAILURE
        self._people.configure(self.cfg)
        if self._loaded.untrained:
            self.get_logger().warning('weights:=random - UNTRAINED demo weights, the poses are '
                                      'meaningless; pass weights:=<checkpoint> for real use')
        self._create_publishers()
        self.get_logger().info(f'configured: {self._loaded.method}')
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Reload the model if deactivate released it, subscribe, start the worker."""
        if self._loaded is None:
            try:
                self._loaded = load_estimator(self.cfg)
            except StartupError as exc:
                self.get_logger().error(f'cannot activate: {exc}')
                return TransitionCallbackReturn.FAILURE
        self._worker = FrameWorker(self._process, self._on_worker_error)
        self._worker.start()
        raw = self.cfg.input_transport == 'raw'
        self._sub = self.create_subscription(
            Image if raw else CompressedImage, 'image' if raw else 'image/compressed',
            self._on_image, qos.image_qos(self.cfg.reliability))
        if self.cfg.use_depth:
            self._depth = DepthInput(self, self.cfg, import_message_filters())
        self._activated_at = time.monotonic()
        self._timers = [self.create_timer(1.0, self._on_diagnostics_timer),
                        self.create_timer(1.0, self._check_input)]
        self.get_logger().info(f'active: listening on {self._sub.topic_name} '
                               f'({self.cfg.reliability}, depth 1)')
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Unsubscribe, stop the worker, release the model and the CUDA cache."""
        self._stop_processing()
        self._release_model()
        self._people.reset()
        if self._interop is not None:
            self._interop.reset()
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Destroy the publishers and drop the model."""
        for pub in self._pubs.values():
            self.destroy_publisher(pub)
        self._pubs = {}
        if self._interop is not None:
            self._interop.destroy()
            self._interop = None
        self._release_model()
        self._people.reset()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Stop everything."""
        self._stop_processing()
        self._release_model()
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------------ helpers
    def _release_model(self) -> None:
        release(self._loaded)
        self._loaded = None

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _create_publishers(self) -> None:
        out = qos.output_qos()
        self._pubs = {
            'poses': self.create_publisher(PersonPoseArray, 'poses', out),
            'poses_raw': self.create_publisher(PersonPoseArray, 'poses_raw', out),
            'markers': self.create_publisher(MarkerArray, 'markers', out),
            'annotated': self.create_publisher(Image, 'image_annotated', out),
            'info': self.create_publisher(SkeletonInfo, 'skeleton_info', qos.latched_qos()),
            'diag': self.create_publisher(DiagnosticArray, '/diagnostics', 10),
        }
        self._publish_skeleton_info()
        self._interop = interop.InteropOutputs(self, self.cfg, out)
        for line in self._interop.describe():
            self.get_logger().info(f'publishing {line}')

    def _publish_skeleton_info(self) -> None:
        if 'info' in self._pubs and self._loaded is not None:
            self._pubs['info'].publish(conversions.skeleton_info(
                self._loaded.method, self.cfg.keypoint_threshold, self.cfg.pose_threshold))

    def _stop_processing(self) -> None:
        if self._depth is not None:
            self._depth.destroy()
            self._depth = None
        if self._sub is not None:
            self.destroy_subscription(self._sub)
            self._sub = None
        for timer in self._timers:
            self.destroy_timer(timer)
        self._timers = []
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _on_set_parameters(self, params: List[Any]) -> SetParametersResult:
        changes = {p.name: p.value for p in params if p.name in DYNAMIC}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            new_cfg = dataclasses.replace(self.cfg, **changes).validate(changes)
        except (ValueError, TypeError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self.cfg = new_cfg
        self._people.configure(new_cfg)
        self.get_logger().info(f'parameters changed: {changes}')
        if {'pose_threshold', 'keypoint_threshold'} & changes.keys():
            self._publish_skeleton_info()
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------- data path
    def _on_image(self, msg: Any) -> None:
        self.stats.on_input()
        if self._depth is not None:
            self._depth.on_colour(msg)
        if self._worker is not None:
            self._worker.slot.put(msg)

    def _process(self, msg: Any) -> None:
        cfg, loaded = self.cfg, self._loaded
        if loaded is None:
            return
        started = time.perf_counter()
        if self._depth is not None:
            self._depth.claim(msg.header)  # keep its depth while the model runs
        try:
            image = (image_to_bgr(msg, cfg.max_image_pixels) if isinstance(msg, Image)
                     else compressed_to_bgr(msg, cfg.max_image_pixels))
        except ValueError as exc:
            self._bad_input(getattr(exc, 'reason', 'invalid'), str(exc))
            return
        result = loaded.estimator(image, color='bgr')
        keep = result.scores >= cfg.pose_threshold
        if not keep.all():
            result = type(result)(result.keypoints[keep], result.scores[keep],
                                  result.image_size, result.timings)
        self._publish_outputs(msg.header, image, result, cfg)
        self.stats.on_processed(self._age(msg.header.stamp), time.perf_counter() - started)

    def _publish_outputs(self, header: Any, image: Any, result: Any, cfg: NodeConfig) -> None:
        people = self._people.update(result, stamp_seconds(
            header.stamp, self.get_clock().now().nanoseconds * 1e-9))
        result, ids = people.result, people.track_ids
        # 3D (use_depth): lifted from the 2D of poses, smoothed in metres with smoothing:=true
        depth = self._depth.take(header, image.shape[:2], cfg) if self._depth else None
        lifted = depth.lift(result.keypoints) if depth else None
        if lifted is not None:
            lifted.points = self._people.smooth_3d(people, lifted.points, lifted.status)
        extra_3d = lifted.pose_array_kwargs() if lifted is not None else {}
        poses = conversions.result_to_pose_array(result, header, ids, **extra_3d)
        self._pubs['poses'].publish(poses)
        if self._interop is not None:  # REP-155 bodies follow the tracker's live ids
            self._interop.update(poses, self._people.live_ids)
        if people.smoothed and self._pubs['poses_raw'].get_subscription_count() > 0:
            raw_3d = depth.lift(people.raw.keypoints).pose_array_kwargs() if depth else {}
            self._pubs['poses_raw'].publish(
                conversions.result_to_pose_array(people.raw, header, ids, **raw_3d))
        markers = self._pubs['markers']
        if cfg.publish_markers and markers.get_subscription_count() > 0 and cfg.use_depth:
            markers.publish(markers_3d_or_clear(lifted, header, ids))
        elif cfg.publish_markers and markers.get_subscription_count() > 0:
            style = conversions.MarkerStyle(metres_per_pixel=cfg.marker_scale,
                                            plane_z=cfg.marker_z,
                                            keypoint_threshold=cfg.keypoint_threshold)
            markers.publish(conversions.result_to_markers(result, header, style, ids))
        annotated = self._pubs['annotated']
        if cfg.publish_annotated_image and annotated.get_subscription_count() > 0:
            colors = [conversions.person_color_bgr(i if ids is None or ids[i] < 0 else ids[i])
                      for i in range(len(result))]
            drawn = draw_poses(image, result, keypoint_threshold=cfg.keypoint_threshold,
                               colors=colors)
            annotated.publish(bgr_to_image_msg(drawn, header, Image))

    def _age(self, stamp: Any) -> float:
        """Seconds from the image stamp to now (NaN for an unstamped image)."""
        if stamp.sec == 0 and stamp.nanosec == 0:
            return float('nan')
        return (self.get_clock().now().nanoseconds - (stamp.sec * 10**9 + stamp.nanosec)) / 1e9

    def _bad_input(self, reason: str, text: str) -> None:
        self.stats.on_bad_input(reason)
        suppressed = self._log_limit.allow(reason)
        if suppressed is not None:
            more = f' ({suppressed} more since last report)' if suppressed else ''
            self.get_logger().warning(f'skipping image: {text}{more}')

    def _on_worker_error(self, exc: BaseException) -> None:
        self._bad_input('inference_error', f'{type(exc).__name__}: {exc}')

    # ---------------------------------------------------------- monitoring timers
    def _on_diagnostics_timer(self) -> None:
        dropped = self._worker.slot.dropped if self._worker is not None else 0
        values = self.stats.snapshot(dropped)
        silent = self.stats.seconds_since_input()
        level, message = DiagnosticStatus.OK, 'processing'
        if silent is None or silent > max(self.cfg.no_image_warn_s, 1.0):
            level, message = DiagnosticStatus.WARN, 'no images received'
        loaded = self._loaded
        values.update(backend=loaded.backend if loaded else '',
                      device=loaded.device if loaded else '',
                      model=loaded.method if loaded else '',
                      input_topic=self._sub.topic_name if self._sub else '')
        if self._depth is not None:
            values.update(self._depth.diagnostic_values())
            warning = self._depth.warning()
            if warning and level == DiagnosticStatus.OK:
                level, message = DiagnosticStatus.WARN, warning
        level_int = level[0] if isinstance(level, bytes) else int(level)
        self._pubs['diag'].publish(conversions.diagnostics_array(
            f'{self.get_name()}: pose estimation', values['device'], values, level_int,
            message, self.get_clock().now().to_msg()))

    def _check_input(self) -> None:
        if self._sub is None:
            return
        topic = self._sub.topic_name
        infos = self.get_publishers_info_by_topic(topic)
        for line in qos.incompatible_publishers(infos, qos.image_qos(self.cfg.reliability)):
            if line not in self._warned_qos:
                self._warned_qos.add(line)
                self.get_logger().warning(f'incompatible QoS on {topic}: {line}')
        limit = self.cfg.no_image_warn_s
        silent = self.stats.seconds_since_input()
        waited = time.monotonic() - self._activated_at if silent is None else silent
        if limit > 0 and waited >= limit and self._log_limit.allow('no_image') is not None:
            seen = ', '.join(qos.describe_endpoint(i) for i in infos) or 'none'
            self.get_logger().warning(
                f'no image received on {topic} for {waited:.1f} s; publishers seen: {seen}. '
                'Check that the camera runs and remap image:=<camera topic>')


def main(args: Optional[List[str]] = None) -> int:
    """Run the node; return the process exit code (non-zero on startup errors).

    SIGINT/SIGTERM end the process with code 0 after an orderly cleanup (the inference thread
    stops before the ROS context goes away); repeated signals during the cleanup are ignored
    (:mod:`logocap_ros.ros.shutdown`).
    """
    exit_request = ExitRequest().install()
    try:
        init_ros(args)
    except Exception as exc:  # noqa: BLE001 - rcl reports unparsable arguments this way
        print(f'[{NODE_NAME}] invalid command line: {exc}', file=sys.stderr)
        return 2
    node = None
    try:
        node = LogocapNode()
        if node.cfg.autostart and not _autostart(node):
            return 1
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        spin_until_exit(executor, exit_request)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, rclpy.exceptions.ParameterException) as exc:
        print(f'[{NODE_NAME}] invalid parameter: {exc}', file=sys.stderr)
        return 2
    finally:
        exit_request.stopping()
        if node is not None:
            node.on_shutdown(None)
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def _autostart(node: LogocapNode) -> bool:
    """Configure and activate; return False (error already logged) when that fails."""
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        return False
    return node.trigger_activate() == TransitionCallbackReturn.SUCCESS


if __name__ == '__main__':
    sys.exit(main())
