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

"""Backend registry: validated names to factories; heavy imports happen on use only."""

from typing import Callable, Dict

from .base import BackendUnavailable, InferenceBackend


def _make_torch(net, device, precision, flip_test, **_kw) -> InferenceBackend:
    from .torch_backend import TorchBackend
    return TorchBackend(net, device=device, precision=precision, flip_test=flip_test)


BACKENDS: Dict[str, Callable[..., InferenceBackend]] = {
    'torch': _make_torch,
}
BACKEND_NAMES = ('auto',) + tuple(BACKENDS)


def create_backend(name: str, net, device: str = 'cpu', precision: str = 'fp32',
                   flip_test: bool = True, **kwargs) -> InferenceBackend:
    """Create the backend ``name`` (``'auto'`` picks the fastest one available).

    :param net: :class:`logocap_ros.core.model.LogoCapNet` with loaded weights.
    :raises ValueError: unknown name.
    :raises BackendUnavailable: known but not usable here (message says what to install).
    """
    if name == 'auto':
        name = 'torch'
    if name not in BACKENDS:
        raise ValueError(f'unknown backend {name!r}; choose one of {", ".join(BACKEND_NAMES)}')
    try:
        return BACKENDS[name](net, device=device, precision=precision, flip_test=flip_test,
                              **kwargs)
    except ImportError as exc:
        raise BackendUnavailable(f'backend {name!r} needs a missing package: {exc}') from None
