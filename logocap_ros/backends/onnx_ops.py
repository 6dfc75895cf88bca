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


"""ONNX-exportable forms of LOGO-CAP's dynamic convolution, selected while exporting.

The refinement convolves each of the ``K * 17`` heatmap windows with its own 11x11 KAM. Two
exactly equivalent formulations are exported:

``conv``
    one grouped ONNX ``Conv`` (``group = K * 17``) whose weight is a run-time tensor. Fast in
    ONNX Runtime; TensorRT accepts non-constant convolution weights since 8.x.
``shifted``
    the sum of 121 shifted window slices, each times one kernel tap (Pad, Slice, Mul, Add
    only). Use it where a runtime rejects run-time Conv weights; TensorRT fuses the
    element-wise chain.
"""

import contextlib
import threading
from typing import Callable, Dict, Iterator

import torch
import torch.nn.functional as F

from ..core import refinement


class _RuntimeGroupedConv(torch.autograd.Function):
    """``F.conv2d`` with run-time weights that exports as one ONNX ``Conv`` node."""

    @staticmethod
    def forward(ctx, x, weight, groups: int, pad: int):  # noqa: D102
        return F.conv2d(x, weight, padding=pad, groups=groups)

    @staticmethod
    def symbolic(g, x, weight, groups: int, pad: int):  # noqa: D102
        ks = 2 * pad + 1
        return g.op('Conv', x, weight, group_i=groups, kernel_shape_i=[ks, ks],
                    pads_i=[pad, pad, pad, pad], strides_i=[1, 1], dilations_i=[1, 1])


def _static_shape(t: torch.Tensor):
    """Shape as Python ints (constants in a trace; the export has static shapes)."""
    return tuple(int(s) for s in t.shape)


def dynamic_convolution_conv(windows: torch.Tensor, kams: torch.Tensor) -> torch.Tensor:
    """Grouped-Conv form of :func:`logocap_ros.core.refinement.dynamic_convolution`.

    :param windows: ``[K, 17, 97, 97]``.
    :param kams: ``[K, 17, 11, 11]`` clamped to [0, 1].
    :return: ``[K, 17, 97, 97]``.
    """
    k, j, n, _ = _static_shape(windows)
    ks = _static_shape(kams)[-1]
    kernel = refinement.dynamic_kernels(kams)
    out = _RuntimeGroupedConv.apply(windows.reshape(1, k * j, n, n), kernel, k * j, ks // 2)
    return out.reshape(k, j, n, n)


def dynamic_convolution_shifted(windows: torch.Tensor, kams: torch.Tensor) -> torch.Tensor:
    """Shift-multiply-add form of the dynamic convolution (same maths, no Conv node).

    ``out[y, x] = sum_{a, b} kam[a, b] / 121 * window[y + 5 - a, x + 5 - b]`` (zero outside).

    :param windows: ``[K, 17, 97, 97]``.
    :param kams: ``[K, 17, 11, 11]`` clamped to [0, 1].
    :return: ``[K, 17, 97, 97]``.
    """
    k, j, n, _ = _static_shape(windows)
    ks = _static_shape(kams)[-1]
    pad = ks // 2
    padded = F.pad(windows, (pad, pad, pad, pad))
    taps = kams / float(ks * ks)
    out = None
    for a in range(ks):
        for b in range(ks):
            tap = taps[:, :, ks - 1 - a, ks - 1 - b, None, None]
            term = padded[:, :, a:a + n, b:b + n] * tap
            out = term if out is None else out + term
    return out


DYNCONV_VARIANTS: Dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    'conv': dynamic_convolution_conv,
    'shifted': dynamic_convolution_shifted,
}
_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def exportable_refinement(variant: str = 'conv') -> Iterator[None]:
    """Use the ``variant`` dynamic convolution in the pipeline while the block runs.

    Both variants compute the same values as the eager one (``conv`` calls the very same
    ``F.conv2d``), so other threads running the eager pipeline meanwhile are unaffected.

    :raises ValueError: unknown variant.
    """
    if variant not in DYNCONV_VARIANTS:
        raise ValueError(f'dynamic-conv variant must be one of {sorted(DYNCONV_VARIANTS)}, '
                         f'not {variant!r}')
    with _PATCH_LOCK:
        original = refinement.dynamic_convolution
        refinement.dynamic_convolution = DYNCONV_VARIANTS[variant]
        try:
            yield
        finally:
            refinement.dynamic_convolution = original
