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

"""What the CPU can compute fast: the instruction-set probe behind ``precision bf16``.

bfloat16 pays off only where the processor multiplies bfloat16 in hardware: ``avx512_bf16``
(Intel Cooper Lake and later, AMD Zen 4 and later) or ``amx_bf16`` (Intel Sapphire Rapids and
later). Elsewhere runtimes silently compute in FP32 while the request says bf16 (OpenVINO
does), so the backends ask :func:`require_bf16` before they start and refuse with one line.
"""

import os
from pathlib import Path
from typing import FrozenSet, Optional

from .base import BackendUnavailable

#: /proc/cpuinfo flags that give hardware bfloat16 dot products (either is enough).
BF16_FLAGS = ('avx512_bf16', 'amx_bf16')
#: ``/proc/cpuinfo``, or the file named by ``$LOGOCAP_CPUINFO`` (same format: to check how a
#: deployment on another CPU would start, and for tests).
CPUINFO = Path(os.environ.get('LOGOCAP_CPUINFO') or '/proc/cpuinfo')


def cpu_flags(cpuinfo: Path = CPUINFO) -> FrozenSet[str]:
    """Return the instruction-set flags of the first processor in :data:`CPUINFO`.

    Empty where the file is missing or unreadable (not Linux): then nothing is assumed.
    """
    try:
        text = cpuinfo.read_text(encoding='utf-8', errors='replace')
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(':')
        if key.strip() in ('flags', 'Features'):
            return frozenset(value.split())
    return frozenset()


def cpu_name(cpuinfo: Path = CPUINFO) -> str:
    """Return the processor's model name (``'unknown CPU'`` when it cannot be read)."""
    try:
        for line in cpuinfo.read_text(encoding='utf-8', errors='replace').splitlines():
            key, _, value = line.partition(':')
            if key.strip() == 'model name':
                return value.strip()
    except OSError:
        pass
    return 'unknown CPU'


def bf16_flags(flags: Optional[FrozenSet[str]] = None) -> FrozenSet[str]:
    """Return the bfloat16 flags of :data:`BF16_FLAGS` this CPU has (``flags``: a given set)."""
    return frozenset(BF16_FLAGS) & (cpu_flags() if flags is None else flags)


def require_bf16(backend: str) -> FrozenSet[str]:
    """Return this CPU's bfloat16 flags, or raise when it has none.

    :param backend: the backend's name, for the message.
    :raises BackendUnavailable: one line naming the CPU, the missing flags and the fix.
    """
    found = bf16_flags()
    if not found:
        raise BackendUnavailable(
            f'precision bf16 needs a CPU with {" or ".join(BF16_FLAGS)} (hardware bfloat16); '
            f'this CPU ({cpu_name()}) has neither, so {backend} would run FP32 under a bf16 '
            'label: use precision fp32')
    return found
