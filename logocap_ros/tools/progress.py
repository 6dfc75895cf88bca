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


"""Progress display for long tool runs: tqdm when installed, a plain stderr fallback otherwise."""

import sys
import time
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')


class _PlainBar:
    """Minimal tqdm stand-in printing a line to stderr at most every ``interval`` seconds."""

    def __init__(self, total: Optional[int], desc: str, unit: str, interval: float = 2.0):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.count = 0
        self.interval = interval
        self._last = 0.0

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` units and print a status line when due."""
        self.count += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._print()

    def _print(self) -> None:
        if self.total:
            pct = 100.0 * self.count / self.total
            text = f'{self.desc}: {self.count}/{self.total} {self.unit} ({pct:.0f}%)'
        else:
            text = f'{self.desc}: {self.count} {self.unit}'
        print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        """Print the final count."""
        self._print()

    def __enter__(self) -> '_PlainBar':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: Optional[int] = None, desc: str = '', unit: str = 'it',
                 enable: bool = True, unit_scale: bool = False):
    """Return a progress bar object with ``update(n)`` and ``close()`` (a context manager).

    :param total: expected number of units, or ``None`` if unknown.
    :param desc: label printed before the bar.
    :param unit: unit name (``'B'`` with ``unit_scale=True`` shows kB/MB).
    :param enable: ``False`` gives a silent bar.
    :param unit_scale: let tqdm scale the unit (bytes).
    """
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a soft dependency
        tqdm = None
    if tqdm is not None:
        return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale,
                    disable=not enable, file=sys.stderr, dynamic_ncols=True)
    bar = _PlainBar(total, desc, unit)
    if not enable:
        bar.interval = float('inf')
        bar.close = lambda: None
    return bar


def track(iterable: Iterable[T], total: Optional[int] = None, desc: str = '',
          unit: str = 'it', enable: bool = True) -> Iterator[T]:
    """Yield the items of ``iterable`` while showing a progress bar."""
    with progress_bar(total=total, desc=desc, unit=unit, enable=enable) as bar:
        for item in iterable:
            yield item
            bar.update(1)
