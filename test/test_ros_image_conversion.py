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

"""Image message conversion: every encoding, step padding, endianness, errors, and a fuzz."""

import struct
from types import SimpleNamespace

import cv2
from hypothesis import given, HealthCheck, settings
from hypothesis import strategies as st
from logocap_ros.frames import image_conversion as ic
import numpy as np
import pytest

RNG = np.random.default_rng(7)
BGR = RNG.integers(0, 256, (5, 6, 3), dtype=np.uint8)


def make_msg(pixels: np.ndarray, encoding: str, pad: int = 0, big: bool = False):
    """Pack ``(H, W, C)`` or ``(H, W)`` pixels into an Image-like object with ``pad`` bytes."""
    arr = pixels if pixels.ndim == 3 else pixels[:, :, None]
    arr = arr.astype(arr.dtype.newbyteorder('>' if big else '<'))
    h, w = arr.shape[:2]
    row = arr.reshape(h, -1).view(np.uint8)
    rows = np.concatenate([row, np.full((h, pad), 0xAB, np.uint8)], axis=1)
    return SimpleNamespace(height=h, width=w, encoding=encoding, is_bigendian=int(big),
                           step=rows.shape[1], data=rows.tobytes())


@pytest.mark.parametrize('pad', [0, 3])
@pytest.mark.parametrize('encoding,pixels', [
    ('bgr8', BGR), ('8UC3', BGR), ('rgb8', BGR[:, :, ::-1]),
    ('bgra8', np.dstack([BGR, np.full(BGR.shape[:2], 9, np.uint8)])),
    ('rgba8', np.dstack([BGR[:, :, ::-1], np.full(BGR.shape[:2], 9, np.uint8)])),
])
def test_8bit_colour(encoding, pixels, pad):
    out = ic.image_to_bgr(make_msg(np.ascontiguousarray(pixels), encoding, pad))
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, BGR)


@pytest.mark.parametrize('big', [False, True])
@pytest.mark.parametrize('encoding,order', [('bgr16', [0, 1, 2]), ('rgb16', [2, 1, 0]),
                                            ('bgra16', [0, 1, 2, 3]), ('rgba16', [2, 1, 0, 3])])
def test_16bit_colour_scaled_like_cv_bridge(encoding, order, big):
    bgra = np.dstack([BGR, np.zeros(BGR.shape[:2], np.uint8)]).astype(np.uint16) * 257
    wire = np.ascontiguousarray(bgra[:, :, order])
    out = ic.image_to_bgr(make_msg(wire, encoding, pad=2, big=big))
    np.testing.assert_array_equal(out, BGR)  # v * 257 * 255 / 65535 == v exactly


@pytest.mark.parametrize('big', [False, True])
def test_mono(big):
    gray = BGR[:, :, 1]
    np.testing.assert_array_equal(ic.image_to_bgr(make_msg(gray, 'mono8', 1)),
                                  np.dstack([gray] * 3))
    wide = gray.astype(np.uint16) * 257 + 100  # +100 rounds away (100 * 255 / 65535 < 0.5)
    out = ic.image_to_bgr(make_msg(wide, 'mono16', 2, big))
    np.testing.assert_array_equal(out, np.dstack([gray] * 3))


#: Bayer layouts by ROS encoding name: the colour of the top-left 2x2 cell, row by row.
BAYER = {'rggb': 'RGGB', 'bggr': 'BGGR', 'gbrg': 'GBRG', 'grbg': 'GRBG'}


@pytest.mark.parametrize('depth', [8, 16])
@pytest.mark.parametrize('pattern', sorted(BAYER))
def test_bayer_mosaics_are_demosaiced_to_the_right_colours(pattern, depth):
    colour = {'B': 10, 'G': 100, 'R': 200}  # a uniform patch, 12x16
    cell = np.array([[colour[c] for c in BAYER[pattern][:2]],
                     [colour[c] for c in BAYER[pattern][2:]]])
    mosaic = np.tile(cell, (6, 8)).astype(np.uint8 if depth == 8 else np.uint16)
    if depth == 16:
        mosaic = mosaic * 257
    out = ic.image_to_bgr(make_msg(mosaic, f'bayer_{pattern}{depth}', pad=2))
    assert out.shape == (12, 16, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[2:-2, 2:-2], np.broadcast_to([10, 100, 200], (8, 12, 3)))
    assert f'bayer_{pattern}{depth}' in ic.SUPPORTED_ENCODINGS


def test_float_and_depth_are_normalised_over_finite_values():
    values = np.array([[0.0, 0.5, 1.0, np.nan]], np.float32)
    for big in (False, True):
        out = ic.image_to_bgr(make_msg(values, '32FC1', big=big))
        np.testing.assert_array_equal(out[0, :, 0], [0, 128, 255, 0])
    depth = np.array([[1000, 2000, 3000]], np.uint16)
    np.testing.assert_array_equal(ic.image_to_bgr(make_msg(depth, '16UC1'))[0, :, 2],
                                  [0, 128, 255])


def test_yuv422_byte_orders_agree_and_grey_stays_grey():
    y = RNG.integers(16, 236, (4, 8), dtype=np.uint8)
    uyvy = np.empty((4, 16), np.uint8)
    uyvy[:, 0::2], uyvy[:, 1::2] = 128, y
    yuyv = np.empty((4, 16), np.uint8)
    yuyv[:, 0::2], yuyv[:, 1::2] = y, 128
    outs = [ic.image_to_bgr(make_msg(uyvy.reshape(4, 8, 2), enc)) for enc in ('yuv422', 'uyvy')]
    outs += [ic.image_to_bgr(make_msg(yuyv.reshape(4, 8, 2), enc))
             for enc in ('yuv422_yuy2', 'yuyv')]
    for out in outs:
        assert out.shape == (4, 8, 3)
        np.testing.assert_array_equal(out, outs[0])
    np.testing.assert_array_equal(outs[0][:, :, 0], outs[0][:, :, 2])  # U = V = 128: grey
    assert np.corrcoef(outs[0][:, :, 1].ravel(), y.ravel())[0, 1] > 0.99


@pytest.mark.parametrize('msg,reason,words', [
    (SimpleNamespace(height=0, width=4, encoding='bgr8', is_bigendian=0, step=12, data=b''),
     'zero_size', 'zero size'),
    (SimpleNamespace(height=2, width=4, encoding='bgr8', is_bigendian=0, step=8, data=b'0' * 16),
     'layout', 'step 8'),
    (SimpleNamespace(height=2, width=4, encoding='bgr8', is_bigendian=0, step=12,
                     data=b'0' * 20), 'layout', 'truncated'),
    (SimpleNamespace(height=2, width=2, encoding='nv21', is_bigendian=0, step=2,
                     data=b'0' * 4), 'encoding', 'unsupported image encoding'),
    (SimpleNamespace(height=1, width=4, encoding='bayer_rggb8', is_bigendian=0, step=4,
                     data=b'0' * 4), 'layout', 'at least 2x2'),
    (SimpleNamespace(height=2, width=3, encoding='yuv422', is_bigendian=0, step=6,
                     data=b'0' * 12), 'layout', 'odd width'),
    (SimpleNamespace(height=1, width=2, encoding='32FC1', is_bigendian=0, step=8,
                     data=np.full(2, np.nan, np.float32).tobytes()), 'non_finite', 'NaN'),
])
def test_bad_images_raise_value_error_with_reason(msg, reason, words):
    with pytest.raises(ValueError, match=words) as info:
        ic.image_to_bgr(msg)
    assert info.value.reason == reason


def test_max_pixels_is_checked_before_reading_data():
    msg = SimpleNamespace(height=100000, width=100000, encoding='bgr8', is_bigendian=0,
                          step=300000, data=b'')
    with pytest.raises(ValueError, match='max_image_pixels'):
        ic.image_to_bgr(msg, max_pixels=1000)


def test_compressed_png_exact_and_jpeg_close():
    png = SimpleNamespace(format='png', data=cv2.imencode('.png', BGR)[1].tobytes())
    np.testing.assert_array_equal(ic.compressed_to_bgr(png), BGR)
    smooth = cv2.resize(BGR, (64, 48), interpolation=cv2.INTER_CUBIC)
    jpg = SimpleNamespace(format='rgb8; jpeg compressed bgr8',
                          data=cv2.imencode('.jpg', smooth, [cv2.IMWRITE_JPEG_QUALITY, 98])[1])
    out = ic.compressed_to_bgr(jpg)
    assert out.shape == (48, 64, 3)
    assert np.abs(out.astype(int) - smooth).mean() < 6


@pytest.mark.parametrize('data,words', [
    (b'', 'no data'), (b'not an image at all', 'neither JPEG nor PNG'),
    (None, 'truncated'), (b'\x89PNG\r\n\x1a\n' + b'\0\0\0\rIHDR' + struct.pack('>II', 99999, 99999)
                          + b'\0' * 40 + b'IEND', 'max_image_pixels'),
])
def test_bad_compressed(data, words):
    if data is None:
        data = cv2.imencode('.jpg', BGR)[1].tobytes()[:-40]
    with pytest.raises(ValueError, match=words):
        ic.compressed_to_bgr(SimpleNamespace(format='jpeg', data=data), max_pixels=10**6)


def test_bgr_to_image_msg_round_trip():
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header
    msg = ic.bgr_to_image_msg(BGR, Header(frame_id='cam'), Image)
    assert (msg.encoding, msg.step, msg.header.frame_id) == ('bgr8', 18, 'cam')
    np.testing.assert_array_equal(ic.image_to_bgr(msg), BGR)


@pytest.mark.skipif(not ic.cv_bridge_available(), reason='no ROS 2 cv_bridge importable '
                    '(not installable from PyPI; present on real ROS installs)')
@pytest.mark.parametrize('encoding', sorted(ic.CV_BRIDGE_ENCODINGS))
def test_identical_to_cv_bridge(encoding):  # pragma: no cover - needs a ROS 2 cv_bridge
    from cv_bridge import CvBridge
    from sensor_msgs.msg import Image
    dtype, channels, _ = ic._ENCODINGS[encoding]
    for big in (False, True):
        pixels = RNG.integers(0, np.iinfo(dtype).max, (6, 8, channels)).astype(dtype)
        fake = make_msg(pixels, encoding, pad=4, big=big)
        msg = Image(height=fake.height, width=fake.width, encoding=encoding,
                    is_bigendian=fake.is_bigendian, step=fake.step, data=fake.data)
        ours = ic.image_to_bgr(msg, use_cv_bridge=False)
        theirs = CvBridge().imgmsg_to_cv2(msg, desired_encoding='bgr8')
        np.testing.assert_array_equal(ours, theirs)


def test_cv_bridge_is_used_when_present_and_falls_back_when_it_fails(monkeypatch):
    calls = []

    class FakeBridge:
        def imgmsg_to_cv2(self, msg, desired_encoding):
            calls.append((msg.encoding, desired_encoding))
            if msg.encoding == 'yuv422_yuy2':
                raise ic._CvBridgeError('unsupported in this distro')
            return np.full((msg.height, msg.width, 3), 7, np.uint8)

    monkeypatch.setattr(ic, '_CvBridge', FakeBridge)
    assert (ic.image_to_bgr(make_msg(BGR, 'rgb8')) == 7).all()
    yuyv = np.full((2, 4, 2), 128, np.uint8)
    out = ic.image_to_bgr(make_msg(yuyv, 'yuv422_yuy2'))
    assert out.shape == (2, 4, 3) and not (out == 7).all()  # own conversion
    rgb = make_msg(np.ascontiguousarray(BGR[:, :, ::-1]), 'rgb8')
    np.testing.assert_array_equal(ic.image_to_bgr(rgb, use_cv_bridge=False), BGR)
    ic.image_to_bgr(make_msg(BGR, '8UC3'))  # not a cv_bridge colour encoding: not passed on
    assert calls == [('rgb8', 'bgr8'), ('yuv422_yuy2', 'bgr8')]
    with pytest.raises(ValueError, match='step'):  # validation happens before cv_bridge
        ic.image_to_bgr(SimpleNamespace(height=2, width=4, encoding='rgb8', is_bigendian=0,
                                        step=6, data=bytes(12)))


ENCODINGS = st.sampled_from(list(ic.SUPPORTED_ENCODINGS) + ['nv21', '', 'BGR8', '8UC2'])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(height=st.integers(-2, 12), width=st.integers(-2, 12), encoding=ENCODINGS,
       step_delta=st.integers(-4, 8), extra=st.integers(-6, 6), big=st.booleans(),
       seed=st.integers(0, 2**31), float_fill=st.sampled_from([None, np.nan, np.inf, 1e38]))
def test_fuzz_image_either_bgr_or_value_error(height, width, encoding, step_delta, extra, big,
                                              seed, float_fill):
    spec = ic._ENCODINGS.get(encoding, ('u1', 3, None))
    pixel_bytes = np.dtype(spec[0]).itemsize * spec[1]
    step = max(width, 0) * pixel_bytes + step_delta
    size = max(max(height, 0) * step + extra, 0)
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)
    if float_fill is not None and spec[0] in ('f4', 'f8') and size:
        data = np.full(size // np.dtype(spec[0]).itemsize, float_fill, spec[0]).view(np.uint8)
    msg = SimpleNamespace(height=height, width=width, encoding=encoding, is_bigendian=int(big),
                          step=step, data=data.tobytes())
    try:
        out = ic.image_to_bgr(msg, max_pixels=100)
    except ValueError as exc:
        assert str(exc)
        return
    assert out.shape == (height, width, 3) and out.dtype == np.uint8


@settings(max_examples=150, deadline=None)
@given(blob=st.binary(max_size=300), cut=st.integers(0, 2000),
       fmt=st.sampled_from(['jpeg', 'png']), flip=st.integers(0, 2000))
def test_fuzz_compressed_either_bgr_or_value_error(blob, cut, fmt, flip):
    encoded = bytearray(cv2.imencode('.' + ('jpg' if fmt == 'jpeg' else fmt), BGR)[1].tobytes())
    if flip < len(encoded):
        encoded[flip] ^= 0x5A
    data = bytes(encoded[:cut]) + blob if cut < len(encoded) else blob
    try:
        out = ic.compressed_to_bgr(SimpleNamespace(format=fmt, data=data), max_pixels=10**6)
    except ValueError as exc:
        assert str(exc)
        return
    assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8
