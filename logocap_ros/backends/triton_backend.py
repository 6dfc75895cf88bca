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

"""Triton backend: the pre-processed tensor goes to a Triton Inference Server over HTTP.

The server runs the LOGO-CAP graph (``logocap-triton-repo`` writes its model repository);
pre-processing and the numpy post-processing stay in the caller. One server can serve many
cameras; its dynamic batcher groups concurrent requests.

Errors: an unreachable server, a timeout or a server that lost the model raise
:class:`TritonUnavailable` (a :class:`BackendUnavailable`: at start-up it is the one-line
startup error, later the frame's error); a model whose inputs/outputs are not LOGO-CAP's, or a
frame of another input size, raise ValueError. After a connection error the next call opens a
new connection and checks the model again, so a restarted server is picked up by itself.

``tritonclient.http`` uses gevent, whose connections must stay on the thread that made them:
each thread gets its own client.
"""

import logging
import threading
import time
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from .base import BackendUnavailable, InferenceBackend, INPUT_NAME, OUTPUT_NAMES

LOG = logging.getLogger('logocap_ros.backends')
PROTOCOLS = ('http',)
#: Trailing output shape per output (K = candidates, free).
_OUTPUT_TAILS = {'poses': (17, 3), 'scores': (), 'centers': (3,)}
FLIP_PARAM = 'logocap_ros.flip_test'


class TritonUnavailable(BackendUnavailable):
    """The server cannot be reached, timed out, or does not serve the model (now)."""


def import_tritonclient():
    """Import ``tritonclient.http`` or raise :class:`BackendUnavailable` saying what to do."""
    try:
        import tritonclient.http as client
        from tritonclient.utils import InferenceServerException
    except ImportError:
        raise BackendUnavailable("backend 'triton' needs the Triton client: pip install "
                                 "'tritonclient[http]' (or logocap_ros[triton])") from None
    return client, InferenceServerException


class TritonBackend(InferenceBackend):
    """Runs the graph on a Triton server.

    :param net: ignored (the server has the model); accepted for the registry.
    :param device: ignored (the server's configuration decides).
    :param precision: ignored (the server's configuration decides).
    :param flip_test: when not None, the server model's flip setting must match.
    :param server_url: ``host:port`` of the server's HTTP endpoint (``http://`` allowed).
    :param model_name: the model's name on the server.
    :param model_version: version to use; ``''`` = the server's choice (latest).
    :param timeout_s: connect and network timeout of each call [s].
    :param protocol: ``'http'`` (gRPC is not supported: its client needs protobuf < 7).
    """

    name = 'triton'

    def __init__(self, net=None, device: str = 'cpu', precision: str = 'fp32',
                 flip_test: Optional[bool] = None, server_url: str = '127.0.0.1:8000',
                 model_name: str = 'logocap', model_version: str = '',
                 timeout_s: float = 10.0, protocol: str = 'http') -> None:
        super().__init__()
        if protocol not in PROTOCOLS:
            raise ValueError(f'triton protocol must be one of {PROTOCOLS}, not {protocol!r}')
        if not timeout_s > 0:
            raise ValueError(f'triton timeout_s must be > 0, not {timeout_s!r}')
        self._http, self._server_error = import_tritonclient()
        self.url = str(server_url).split('://', 1)[-1].rstrip('/')
        if not self.url:
            raise ValueError('triton server_url is empty; pass host:port, e.g. 127.0.0.1:8000')
        self.model_name, self.model_version = str(model_name), str(model_version or '')
        self.timeout_s = float(timeout_s)
        self.flip_test = flip_test
        self.model_info: Dict[str, object] = {}
        self._input_hw: Optional[Tuple[int, int]] = None
        self._local = threading.local()
        self._checked = False

    def describe(self) -> str:
        """Return e.g. ``'triton 127.0.0.1:8000 model logocap (python, max batch 8)'``."""
        version = f':{self.model_version}' if self.model_version else ''
        info = self.model_info
        extra = (f' ({info.get("platform", "?")}, max batch {info.get("max_batch_size", 0)})'
                 if info else '')
        return f'triton {self.url} model {self.model_name}{version}{extra}'

    @property
    def server_flip_test(self) -> Optional[bool]:
        """The flip setting the server's model was exported with (None if not recorded)."""
        value = self.model_info.get('parameters', {}).get(FLIP_PARAM)
        return None if value is None else value == 'True'

    def input_shape(self) -> Optional[tuple]:
        """Return ``(1, 3, H, W)`` of the server's model, None for a free size."""
        return None if self._input_hw is None else (1, 3) + self._input_hw

    # ------------------------------------------------------------------ lifecycle
    def _activate(self) -> None:
        self._check_model()

    def _deactivate(self) -> None:
        self._drop_client()
        self._local = threading.local()
        self._checked = False

    def _infer(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        if not self._checked:
            self._check_model()
        hw = (int(images.shape[2]), int(images.shape[3]))
        if self._input_hw is not None and hw != self._input_hw:
            h, w = self._input_hw
            raise ValueError(f"Triton model '{self.model_name}' takes input {h}x{w} (H x W), "
                             f'got {hw[0]}x{hw[1]}: serve a model made for this camera '
                             '(logocap-triton-repo --image-size HxW) or change input_size')
        inp = self._http.InferInput(INPUT_NAME, list(images.shape), 'FP32')
        inp.set_data_from_numpy(images, binary_data=True)
        outputs = [self._http.InferRequestedOutput(n, binary_data=True) for n in OUTPUT_NAMES]
        t0 = time.perf_counter()
        result = self._call('infer', self.model_name, [inp], model_version=self.model_version,
                            outputs=outputs)
        self.last_timings = {'network': time.perf_counter() - t0}
        return {n: _unbatch(result.as_numpy(n), len(_OUTPUT_TAILS[n]) + 1)
                for n in OUTPUT_NAMES}

    # -------------------------------------------------------------------- checks
    def _check_model(self) -> None:
        """Check the server, the model's readiness, inputs/outputs and flip setting."""
        if not self._call('is_server_ready'):
            raise TritonUnavailable(f'Triton server {self.url} is up but not ready (still '
                                    'loading models?); retry, or check its log')
        if not self._call('is_model_ready', self.model_name, self.model_version):
            raise TritonUnavailable(
                f"Triton server {self.url} has no ready model '{self.model_name}'"
                f"{' version ' + self.model_version if self.model_version else ''} "
                f'(its models: {self._model_list()}); set triton_model or fix the repository')
        meta = self._call('get_model_metadata', self.model_name, self.model_version)
        config = self._call('get_model_config', self.model_name, self.model_version)
        self._input_hw = check_io(meta, self.model_name)
        params = {k: v.get('string_value', '') for k, v in config.get('parameters', {}).items()}
        self.model_info = {'platform': meta.get('platform') or config.get('backend', '?'),
                           'max_batch_size': int(config.get('max_batch_size', 0)),
                           'parameters': params}
        server_flip = self.server_flip_test
        if self.flip_test is not None and server_flip is not None \
                and server_flip != bool(self.flip_test):
            raise ValueError(f"Triton model '{self.model_name}' was exported with flip_test="
                             f'{server_flip}, but flip_test={bool(self.flip_test)} was asked '
                             'for; change flip_test or serve a matching model')
        self._checked = True

    def _model_list(self) -> str:
        try:
            index = self._call('get_model_repository_index')
        except (TritonUnavailable, ValueError):
            return 'unknown'
        return ', '.join(f"{m.get('name')} ({m.get('state', '?')})" for m in index) or 'none'

    # ------------------------------------------------------------------ transport
    def _client(self):
        client = getattr(self._local, 'client', None)
        if client is None:
            client = self._http.InferenceServerClient(
                self.url, connection_timeout=self.timeout_s, network_timeout=self.timeout_s)
            self._local.client = client
        return client

    def _drop_client(self) -> None:
        client = getattr(self._local, 'client', None)
        self._local.client = None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass

    def _call(self, method: str, *args, **kwargs):
        """Call ``method`` of this thread's client, mapping failures to clear errors."""
        try:
            return getattr(self._client(), method)(*args, **kwargs)
        except self._server_error as exc:
            self._drop_client()
            self._checked = False
            raise self._server_failure(method, exc) from None
        except (OSError, EOFError) as exc:
            self._drop_client()
            self._checked = False
            raise TritonUnavailable(self._transport_failure(exc)) from None
        except Exception as exc:  # noqa: BLE001 - geventhttpclient's HTTP parse errors
            if type(exc).__module__.split('.')[0] not in ('geventhttpclient', 'gevent'):
                raise
            self._drop_client()
            self._checked = False
            raise TritonUnavailable(self._transport_failure(exc)) from None

    def _transport_failure(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError) or 'timed out' in str(exc).lower():
            return (f'Triton server {self.url} did not answer within {self.timeout_s:g} s '
                    '(overloaded or hung?); raise triton_timeout_s or check the server')
        return (f'Triton server {self.url} is unreachable ({type(exc).__name__}: {exc}); '
                'start it (logocap-triton-repo prints the command) or fix triton_url')

    def _server_failure(self, method: str, exc: BaseException) -> Exception:
        text = ' '.join(str(exc.message() if hasattr(exc, 'message') else exc).split())
        status = str(exc.status() if hasattr(exc, 'status') else '') or ''
        if 'unknown model' in text or 'not found' in text or 'unavailable' in text.lower():
            return TritonUnavailable(f"Triton server {self.url}: model '{self.model_name}' "
                                     f'is not available ({text})')
        kind = ValueError if status.startswith('400') or 'shape' in text else RuntimeError
        return kind(f"Triton server {self.url}, model '{self.model_name}', {method}: {text}")


def check_io(meta: Mapping[str, object], model_name: str) -> Optional[Tuple[int, int]]:
    """Check a model's metadata against LOGO-CAP's inputs/outputs; return its input ``(H, W)``.

    Accepts a batched model (``images [-1, 3, H, W]``) and a single-image one
    (``images [1, 3, H, W]``); ``H``/``W`` of -1 (free) give None.

    :raises ValueError: naming what the model has and what is expected.
    """
    inputs = {t['name']: t for t in meta.get('inputs', [])}
    outputs = {t['name']: t for t in meta.get('outputs', [])}
    problems = []
    image = inputs.get(INPUT_NAME)
    shape = list(image['shape']) if image else []
    if image is None or image.get('datatype') != 'FP32' or len(shape) != 4 \
            or shape[0] not in (-1, 1) or shape[1] != 3:
        problems.append(f'input {INPUT_NAME} FP32 [-1 or 1, 3, H, W]')
    for name, tail in _OUTPUT_TAILS.items():
        out = outputs.get(name)
        dims = [int(d) for d in out['shape']] if out else []
        if out is None or out.get('datatype') != 'FP32' or len(dims) not in (
                len(tail) + 1, len(tail) + 2) or tuple(dims[len(dims) - len(tail):]) != tail:
            problems.append(f'output {name} FP32 [..., K{"".join(", %d" % d for d in tail)}]')
    if problems:
        found = ', '.join(f"{t['name']} {t.get('datatype')} {list(t.get('shape', []))}"
                          for t in list(inputs.values()) + list(outputs.values()))
        raise ValueError(f"Triton model '{model_name}' is not a LOGO-CAP model: expected "
                         f"{'; '.join(problems)}; it has {found or 'no tensors'}")
    h, w = int(shape[2]), int(shape[3])
    return (h, w) if h > 0 and w > 0 else None


def _unbatch(array: np.ndarray, rank: int) -> np.ndarray:
    """Drop the leading batch dimension of a batched model's output (rank + 1 -> rank)."""
    return array[0] if array.ndim == rank + 1 else array
