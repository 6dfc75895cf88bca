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


"""``logocap-cache``: list, clear or prune the exports and engines in the cache.

``logocap-cache list`` prints one line per artefact (kind, size, last used, name) and the
total; ``logocap-cache clear [--kind onnx|engines|ort_trt|openvino]`` deletes them (everything by
default); ``logocap-cache prune [--limit-mb N]`` deletes the least recently used exports and
engines until they fit the limit (``$LOGOCAP_CACHE_LIMIT_MB``, default 4096 MiB; the same
pruning runs after every new export or engine). Downloaded weights are not touched (see
``logocap-weights``).
"""

import argparse
import datetime
import logging
import os
import sys
from typing import List, Optional, Sequence

from logocap_ros.backends.cache import ARTEFACT_DIRS, cache_entries, cache_limit_mb, cache_root, \
    CacheEntry, clear_cache, prune_cache


def format_entries(entries: List[CacheEntry]) -> str:
    """Return the ``list`` table (most recently used last) and a total line."""
    lines = []
    for e in entries:
        when = datetime.datetime.fromtimestamp(e.last_used).strftime('%Y-%m-%d %H:%M')
        lines.append(f'{e.kind:8s} {e.size / 1e6:9.1f} MB  {when}  {e.path.name}')
    total = sum(e.size for e in entries)
    lines.append(f'{files(len(entries))}, {total / 1e6:.1f} MB')
    return '\n'.join(lines)


def files(count: int) -> str:
    """Return ``'1 file'`` or ``'<count> files'``."""
    return f'{count} file' if count == 1 else f'{count} files'


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='logocap-cache', description=__doc__.split('\n\n')[0])
    p.add_argument('--cache-dir', default=None,
                   help='cache root (default: $LOGOCAP_CACHE_DIR, else '
                        '$XDG_CACHE_HOME/logocap_ros, else ~/.cache/logocap_ros)')
    sub = p.add_subparsers(dest='command', required=True)
    sub.add_parser('list', help='list the cached exports and engines')
    clear = sub.add_parser('clear', help='delete cached exports and engines')
    clear.add_argument('--kind', choices=ARTEFACT_DIRS, action='append',
                       help='only this kind (repeatable; default: all)')
    prune = sub.add_parser('prune', help='delete the least recently used until under a limit')
    prune.add_argument('--limit-mb', type=float, default=None,
                       help='size limit in MiB (default: $LOGOCAP_CACHE_LIMIT_MB or 4096)')
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``logocap-cache``; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    root = cache_root(args.cache_dir)
    try:
        if args.command == 'list':
            print(f'cache: {root} (limit {cache_limit_mb():.0f} MiB for exports + engines)')
            print(format_entries(cache_entries(args.cache_dir)))
        elif args.command == 'clear':
            gone = clear_cache(args.cache_dir, args.kind or ARTEFACT_DIRS)
            print(f'removed {files(len(gone))} ({sum(e.size for e in gone) / 1e6:.1f} MB) '
                  f'from {root}')
        else:
            gone = prune_cache(args.cache_dir, limit_mb=args.limit_mb)
            print(f'removed {files(len(gone))} from {root}')
        sys.stdout.flush()  # a closed pipe shows here, not as a warning at exit
    except BrokenPipeError:  # `logocap-cache list | head -1`: the reader had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ValueError) as exc:
        print(f'logocap-cache: error: {exc}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
