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

"""Loading official LOGO-CAP checkpoints safely, and deterministic random weights for tests."""

import hashlib
import math
import os
from pathlib import Path
import re
from typing import Dict, Optional, Union

import torch

from .model import LogoCapNet

StateDict = Dict[str, torch.Tensor]
_WRAPPER_KEYS = ('state_dict', 'model', 'model_state_dict', 'best_state_dict', 'net')


class CheckpointError(Exception):
    """A checkpoint file is missing, unreadable, or does not match the model.

    :param suggested_arch: the architecture the file looks like when it is not the requested
        one (``'w32'``/``'w48'``), else None; callers name their own option for it
        (``--arch`` in the tools, ``arch:=`` for the node).
    """

    def __init__(self, message: str, suggested_arch: Optional[str] = None) -> None:
        super().__init__(message)
        self.suggested_arch = suggested_arch


def load_state_dict(path: Union[str, os.PathLike]) -> StateDict:
    """Read a checkpoint file into a flat state dict, without unpickling arbitrary code.

    Accepts the official plain state dicts (``logocap-hrnet-w32-coco.pth.tar``) and the common
    wrappers: ``{'state_dict': ...}``, ``{'model': ...}`` and ``module.`` key prefixes.

    :raises CheckpointError: file missing, not a torch file, or not a state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'checkpoint not found: {path} (download the official weights '
                              f'with `logocap-weights download w32` or pass an existing file)')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/foreign files
        raise CheckpointError(f'cannot read checkpoint {path}: {_load_error(exc)}') from None
    return _unwrap(obj, path)


def _load_error(exc: BaseException) -> str:
    """Explain a failed tensors-only ``torch.load`` in one line, without torch's advice.

    torch suggests ``weights_only=False`` for files it refuses; that can run arbitrary code
    from the file, so it is never repeated here: only the underlying reason is kept.
    """
    text = ' '.join(str(exc).split())
    found = re.search(r'Unsupported global: GLOBAL ([\w.]+)', text)
    if found:
        return (f'it holds a Python object ({found.group(1)}) besides tensors, which the safe '
                '(tensors-only) loader refuses; save only the state dict '
                '(torch.save(model.state_dict(), path)) from a source you trust, or '
                're-download the official checkpoint')
    found = re.search(r'WeightsUnpickler error: (.*?)(?: Check the documentation|$)', text)
    reason = found.group(1) if found else ('' if 'weights_only' in text else text)
    reason = reason[:200] or type(exc).__name__
    return (f'{reason} (not a PyTorch .pth/.pth.tar checkpoint, or a corrupt one: re-download '
            'it if it is truncated)')


def _unwrap(obj: object, path: Path) -> StateDict:
    for _ in range(3):
        if isinstance(obj, dict) and not _is_tensor_dict(obj):
            inner = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict) or not _is_tensor_dict(obj):
        raise CheckpointError(f'{path} holds no model state dict (found {type(obj).__name__}'
                              f' with keys {sorted(obj)[:5] if isinstance(obj, dict) else "-"})')
    if all(k.startswith('module.') for k in obj):
        obj = {k[len('module.'):]: v for k, v in obj.items()}
    return obj


def _is_tensor_dict(obj: dict) -> bool:
    return bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def guess_arch(state: StateDict) -> Optional[str]:
    """Return ``'w32'``/``'w48'`` from the stem-transition width, or None if unrecognised."""
    w = state.get('backbone.transition1.0.0.weight')
    if w is None or w.dim() != 4:
        return None
    return {32: 'w32', 48: 'w48'}.get(int(w.shape[0]))


def load_into(model: LogoCapNet, state: StateDict, source: str = 'checkpoint') -> None:
    """Load ``state`` strictly into ``model``, explaining any key or shape mismatch.

    :raises CheckpointError: with the differing keys/shapes and the architecture the file
        looks like.
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f'{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        guess = guess_arch(state)
        suggested = guess if guess and guess != model.arch else None
        hint = (f'the file looks like LOGO-CAP {guess.upper()} (architecture {guess})'
                if suggested else 'it does not look like a LOGO-CAP model')
        parts = [f'{source} does not match LOGO-CAP {model.arch.upper()}: {hint}.']
        for label, items in (('missing keys', missing), ('unexpected keys', unexpected),
                             ('shape mismatches', shapes)):
            if items:
                parts.append(f'{len(items)} {label}, e.g. {", ".join(items[:3])}')
        raise CheckpointError(' '.join(parts), suggested)
    model.load_state_dict(state, strict=True)


def _bn_weight_keys(keys) -> set:
    keys = set(keys)
    return {k for k in keys
            if k.endswith('.weight') and k[:-len('weight')] + 'running_var' in keys}


def filled_state_dict(model: LogoCapNet, variant: str = 'B') -> StateDict:
    """Deterministic weights of the parity reference (``shared/refcheck`` README rule).

    Each key gets its own generator seeded from the SHA-256 of its name, so the result depends
    only on key names and shapes. Variant ``'B'`` scales conv kernels by ``0.7 / sqrt(fan_in)``
    (sane activations); ``'A'`` uses ``randn * 0.05`` everywhere (activations explode).
    """
    if variant not in ('A', 'B'):
        raise ValueError(f'variant must be "A" or "B", not {variant!r}')
    own = model.state_dict()
    bn_weights = _bn_weight_keys(own)
    out = {}
    for key in sorted(own):
        ref = own[key]
        seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        gen = torch.Generator().manual_seed(seed)
        shape = tuple(ref.shape)
        if key.endswith('num_batches_tracked'):
            out[key] = ref.clone()
        elif key.endswith('running_var'):
            out[key] = torch.rand(shape, generator=gen) + 0.5
        elif key in bn_weights:
            out[key] = 1 + 0.05 * torch.randn(shape, generator=gen)
        elif variant == 'B' and len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            out[key] = torch.randn(shape, generator=gen) * (0.7 / math.sqrt(fan_in))
        else:
            out[key] = torch.randn(shape, generator=gen) * 0.05
    return out


def save_random_checkpoint(path: Union[str, os.PathLike], arch: str = 'w32',
                           variant: str = 'B') -> Path:
    """Write a checkpoint with deterministic random (untrained) weights; return its path."""
    model = LogoCapNet(arch)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    torch.save(filled_state_dict(model, variant), tmp)
    os.replace(tmp, path)
    return path
