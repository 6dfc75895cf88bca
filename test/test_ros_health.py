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

"""The node's pure helpers: health verdicts, input topics and hints, back-off, log bridge."""

import logging
import time

from logocap_ros.ros import diagnostics, input_monitor
from logocap_ros.ros.diagnostics import Activity, HealthMonitor, OK, WARN
from logocap_ros.ros.log_bridge import LogBridge
from logocap_ros.ros.stats import NodeStats
from logocap_ros.ros.warmup import run_warmup
import numpy as np
import pytest


def _values(received=0, processed=0, **bad):
    values = {'frames_received': received, 'frames_processed': processed,
              'processing_rate_hz': 0.0}
    values.update({f'bad_input.{k}': v for k, v in bad.items()})
    return values


def test_health_states_and_warming_up():
    health = HealthMonitor(warn_s=5.0)
    assert health.assess(0, _values(), Activity('inactive')) == (
        OK, 'inactive: not processing (lifecycle state inactive)')
    level, text = health.assess(1, _values(), Activity('configuring', warming_up='x, 3 s'))
    assert (level, text) == (OK, 'warming up: x, 3 s')
    level, text = health.assess(2, _values(1, 0), Activity('active', busy_s=12.0))
    assert level == OK and text.startswith('warming up: first frame in progress for 12 s')
    busy = Activity('active', since_input_s=0.1, since_output_s=0.2)
    assert health.assess(3, _values(5, 5), busy) == (OK, 'processing')


def test_health_warns_about_rejected_silent_and_stuck_input():
    health = HealthMonitor(warn_s=5.0)
    now = 0.0
    for k in range(10):  # a bayer-like stream: every image rejected, nothing processed
        now = float(k)
        level, text = health.assess(now, _values(k + 1, 0, encoding=k + 1),
                                    Activity('active', since_input_s=0.5))
    assert level == WARN and text.startswith('rejecting input: 5 image(s) in the last 5 s'), text
    assert 'encoding x5' in text
    for k in range(10, 17):  # the rejections stop: the warning clears after the warn period
        level, text = health.assess(float(k), _values(k + 1, k - 9, encoding=10),
                                    Activity('active', since_input_s=0.5, since_output_s=0.5))
    assert (level, text) == (OK, 'processing')
    level, text = health.assess(20, _values(20, 7), Activity('active', since_input_s=9.0))
    assert level == WARN and text.startswith('no images received for 9 s')
    level, text = health.assess(21, _values(25, 7), Activity('active', since_input_s=0.2,
                                                             since_output_s=8.0, busy_s=7.5))
    assert level == WARN and 'no frame processed for 8 s' in text


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _slow_model_run(health, stats, clock, seconds, frame_s, hang_after=None):
    """Run a 10 Hz camera and a model needing ``frame_s`` per frame; assess once a second."""
    verdicts, started = [], None
    for tick in range(int(seconds * 10)):
        clock.now = tick / 10.0
        stats.on_input()
        if started is None and (hang_after is None or clock.now < hang_after):
            stats.on_started()
            started = clock.now
        elif started is not None and clock.now - started >= frame_s and (
                hang_after is None or started < hang_after - frame_s):
            stats.on_processed(frame_s + 0.05, frame_s)
            started = None
        if tick % 10 == 0:
            activity = Activity('active', since_input_s=0.0,
                                since_output_s=stats.seconds_since_output(),
                                busy_s=stats.busy_seconds(),
                                frame_s=stats.recent_frame_seconds())
            verdicts.append((clock.now, health.assess(clock.now, stats.snapshot(), activity),
                             stats.snapshot()['processing_rate_hz']))
    return verdicts


def test_a_slow_model_is_not_called_stuck():
    # The README's CPU case: 11 s per frame with no_image_warn_s 5 was WARN forever.
    clock = _Clock()
    stats = NodeStats(clock=clock)
    verdicts = _slow_model_run(HealthMonitor(warn_s=5.0), stats, clock, 80, frame_s=11.0)
    assert stats.processed >= 6
    assert all(level == OK for _, (level, _), _ in verdicts), verdicts
    rates = [rate for t, _, rate in verdicts if t > 12.0]  # the first frame is done at 11 s
    assert min(rates) > 0.0 and all(abs(r - 1 / 11.0) < 0.02 for r in rates), rates


def test_a_hung_model_is_stuck_after_three_frame_times():
    clock = _Clock()
    stats = NodeStats(clock=clock)
    verdicts = _slow_model_run(HealthMonitor(warn_s=5.0), stats, clock, 90, frame_s=2.0,
                               hang_after=20.0)
    warns = [(t, text) for t, (level, text), _ in verdicts if level == WARN]
    assert warns and all(t > 20.0 for t, _ in warns), warns
    assert 'no frame processed' in warns[0][1] and 'took up to 2.0 s' in warns[0][1]
    assert warns[0][0] <= 20.0 + 3 * 2.0 + 5.0 + 2.0  # within a few seconds of the limit


def test_warn_period_zero_turns_the_silence_warnings_off():
    health = HealthMonitor(warn_s=0.0)
    assert health.warn_s == 0.0
    silent = Activity('active', since_input_s=120.0, since_output_s=130.0)
    assert health.assess(0, _values(5, 5), silent) == (OK, 'processing')
    hung = Activity('active', since_input_s=0.1, since_output_s=600.0, busy_s=600.0,
                    frame_s=0.5)
    assert health.assess(1, _values(9, 5), hung) == (OK, 'processing')
    level, text = health.assess(2, _values(12, 5, encoding=3), hung)  # rejections still count
    assert level == WARN and 'in the last 5 s' in text


def test_status_name_and_hardware_id():
    assert diagnostics.status_name('/robot/logocap_node') == '/robot/logocap_node: pose estimation'
    assert diagnostics.hardware_id('cpu').endswith('/cpu')


def _resolver(remaps):
    def resolve(name, only_expand=False):
        full = '/ns/' + name
        return full if only_expand else remaps.get(name, full)
    return resolve


def test_input_topics_follow_the_image_remap():
    plain = _resolver({})
    assert input_monitor.input_topics('raw', plain) == ('/ns/image', '/ns/image/compressed')
    assert input_monitor.input_topics('compressed', plain) == ('/ns/image/compressed',
                                                               '/ns/image')
    cam = _resolver({'image': '/cam/image_raw'})
    assert input_monitor.input_topics('compressed', cam) == ('/cam/image_raw/compressed',
                                                             '/cam/image_raw')
    both = _resolver({'image': '/cam/image_raw', 'image/compressed': '/jpeg'})
    assert input_monitor.input_topics('compressed', both)[0] == '/jpeg'


def test_no_image_hints():
    def hint(**kw):
        args = {'topic': '/image', 'transport': 'raw', 'waited_s': 5.0, 'ever_received': False,
                'publishers': [], 'matched': 0, 'other_topic': '/image/compressed',
                'other_publishers': [], 'rmw': 'rmw_fastrtps_cpp',
                'profile_share': '/p/fastdds_shm.xml'}
        args.update(kw)
        return input_monitor.no_image_hint(**args)

    assert 'remap image:=<camera topic>' in hint()
    lost = hint(publishers=['/cam (best_effort, volatile)'], matched=1)
    assert 'large frames are being lost' in lost and 'FASTDDS_DEFAULT_PROFILES_FILE=/p/' in lost
    assert 'remap' not in lost
    assert 'large frames' in hint(publishers=['/c'], matched=1, rmw='rmw_cyclonedds_cpp')
    assert 'still runs' in hint(publishers=['/c'], matched=1, ever_received=True)
    assert 'QoS' in hint(publishers=['/c'], matched=0)
    assert 'input_transport:=compressed' in hint(other_publishers=['/c'])
    raw = hint(transport='compressed', topic='/image/compressed', other_topic='/image',
               other_publishers=['/c'])
    assert 'raw sensor_msgs/Image publishers are on /image' in raw
    assert 'input_transport:=raw' in raw
    assert '<camera image topic>/compressed' in hint(transport='compressed')


def test_no_image_warning_backs_off():
    backoff = input_monitor.Backoff(5.0, max_s=60.0)
    times = [t for t in range(0, 400) if backoff.due(float(t))]
    assert times[:5] == [5, 15, 35, 75, 135] and np.diff(times).max() == 60
    backoff.reset()
    assert backoff.due(5.0)
    assert not input_monitor.Backoff(0.0).due(100.0)  # 0 = off


def test_log_bridge_forwards_library_records_once():
    class Recorder:
        def __init__(self):
            self.lines = []

        def __getattr__(self, level):
            return lambda text: self.lines.append((level, text))

    ros = Recorder()
    logger = logging.getLogger('logocap_ros.backends')
    bridge = LogBridge(ros)
    try:
        logger.warning('exporting %s to ONNX', 'LOGO-CAP')
        logger.info('using cached export')
        logger.debug('not forwarded')
        logging.getLogger('other').warning('not ours')
    finally:
        bridge.close()
    logger.warning('after close')
    assert ros.lines == [('warning', 'exporting LOGO-CAP to ONNX'),
                         ('info', 'using cached export')]
    assert logging.getLogger('logocap_ros').propagate


def test_warmup_runs_once_and_ticks():
    calls, ticks = [], []

    def estimator(image, color):
        calls.append((image.shape, image.dtype, color))
        time.sleep(0.25)

    seconds = run_warmup(estimator, (48, 64), ticks.append, period_s=0.1)
    assert calls == [((48, 64, 3), np.uint8, 'bgr')] and seconds >= 0.25
    assert ticks[0] == 0.0 and len(ticks) >= 2

    def failing(image, color):
        raise RuntimeError('boom')

    with pytest.raises(RuntimeError, match='boom'):
        run_warmup(failing, (8, 8), ticks.append)


def test_log_bridge_mixes_severities_on_a_real_rclpy_logger(monkeypatch):
    # rclpy fixes the severity of each call line at its first call: a bridge that sent every
    # severity from one line failed with "Logger severity cannot be changed between calls"
    # (seen when the ONNX export warning was followed by "backend 'auto' chose ...").
    import rclpy.logging
    bridge = LogBridge(rclpy.logging.get_logger('logocap_log_bridge_test'))
    failed = []
    monkeypatch.setattr(bridge._handler, 'handleError', failed.append)
    logger = logging.getLogger('logocap_ros.backends')
    try:
        logger.warning('exporting')
        logger.info('chose onnxruntime')
        logger.error('cannot start')
        logger.warning('exporting again')
    finally:
        bridge.close()
    assert failed == []


def test_frames_dropped_while_an_engine_builds_are_counted_with_the_reason():
    """Finding 1 (node side): drops counted per reason; the diagnostics say 'N s so far'."""
    from logocap_ros.backends.base import BackendBusy
    from logocap_ros.ros.stats import NodeStats
    stats = NodeStats()
    stats.on_started()
    stats.on_dropped(BackendBusy('building TensorRT engine for input 512x896', 0.0).reason)
    stats.on_dropped()
    values = stats.snapshot()
    assert values['frames_dropped'] == 2 and values['frames_dropped.building_engine'] == 1
    assert stats.busy_seconds() is None
    busy = BackendBusy('building TensorRT engine for input 512x896', since=100.0)
    level, text = HealthMonitor().assess(
        200.0, values, Activity(state='active', warming_up=busy.progress(142.0)))
    assert level == OK
    assert text == 'warming up: building TensorRT engine for input 512x896 (42 s so far)'
