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

"""Keep the calling thread's signal stack (``sigaltstack``) across native library calls.

OpenVINO's CPU plugin (2026.4) replaces the alternate signal stack of the thread that compiles
a model with one of its own and unmaps that memory when the model goes. CPython installs its
signal handlers with ``SA_ONSTACK``, so the next SIGINT/SIGTERM (Ctrl-C, ``ros2 launch``
stopping the node) is delivered on freed memory: the process dies of SIGSEGV, silently (the
fault handler's own stack is gone too). :func:`kept_signal_stack` puts the thread's previous
stack back after such a call. Linux (glibc) only; elsewhere it does nothing.
"""

import contextlib
import ctypes
import sys
from typing import Iterator, Optional


class _StackT(ctypes.Structure):
    """``stack_t`` of ``<signal.h>`` (Linux)."""

    _fields_ = [('ss_sp', ctypes.c_void_p), ('ss_flags', ctypes.c_int),
                ('ss_size', ctypes.c_size_t)]


def _libc() -> Optional[ctypes.CDLL]:
    if not sys.platform.startswith('linux'):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def current_signal_stack() -> Optional[_StackT]:
    """Return this thread's alternate signal stack (None where it cannot be read)."""
    libc = _libc()
    stack = _StackT()
    if libc is None or libc.sigaltstack(None, ctypes.byref(stack)) != 0:
        return None
    return stack


@contextlib.contextmanager
def kept_signal_stack() -> Iterator[None]:
    """Run the block, then restore the alternate signal stack this thread had before it."""
    before = current_signal_stack()
    try:
        yield
    finally:
        after = current_signal_stack()
        if before is not None and after is not None and \
                (after.ss_sp, after.ss_size) != (before.ss_sp, before.ss_size):
            restore = _StackT(before.ss_sp, before.ss_flags & ~1, before.ss_size)  # ~SS_ONSTACK
            _libc().sigaltstack(ctypes.byref(restore), None)
