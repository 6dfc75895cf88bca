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


"""``make demo``: LOGO-CAP with the official W32 weights on a real photograph, on the CPU.

1. Weights: ``logocap-weights download w32`` (the same download, checks and cache; the
   checkpoint is verified again when it is loaded). Only when that is impossible (no
   network, a failed check) the demo falls back to deterministic *untrained* random weights,
   says so in its output, and every drawing carries a banner saying the skeletons are
   meaningless.
2. Photograph: :data:`PHOTO_MEMBER` of the scikit-image wheel (NASA's portrait of astronaut
   Eileen Collins, public domain, bundled in the wheel, not fetched at run time). It is
   taken from an installed scikit-image, else from the wheel itself, which the demo fetches
   once with ``pip download --no-deps`` into the output folder (about 14 MB; nothing is
   installed). Without either, a synthetic image is drawn (and the demo says so).
3. ``logocap-infer`` writes ``results.json`` and the drawing into the output folder.
"""

import argparse
import importlib.util
from pathlib import Path
import subprocess
import sys
from typing import List, Optional, Tuple
import zipfile

from logocap_ros.tools import weights as weights_tool

#: The wheel that ships the photograph, pinned (``pip download`` fetches exactly this).
PHOTO_PACKAGE = 'scikit-image==0.26.0'
#: The photograph inside that package (a path in the wheel and below ``site-packages``).
PHOTO_MEMBER = 'skimage/data/astronaut.png'
DEFAULT_OUT = Path('out/demo')


def fetch_official_weights(url_base: str, cache_dir: Optional[Path] = None,
                           show_progress: bool = False) -> Tuple[Optional[Path], str]:
    """Download (or find in the cache) and verify the official W32 checkpoint.

    :return: ``(path, '')``, or ``(None, why)`` when it cannot be had here.
    """
    try:
        weights_tool.download(['w32'], cache_dir, url_base=url_base, retries=2, backoff=1.0,
                              show_progress=show_progress)
        return weights_tool.resolve_weights('w32', cache_dir), ''
    except (weights_tool.WeightsError, OSError, ValueError) as exc:
        return None, ' '.join(str(exc).split())


def find_photo(out_dir: Path, allow_pip: bool = True) -> Tuple[Optional[Path], str]:
    """Return ``(path of the photograph, where it came from)``, or ``(None, why not)``."""
    spec = importlib.util.find_spec('skimage')  # located, not imported (no scipy needed)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        installed = Path(folder).parent / PHOTO_MEMBER
        if installed.is_file():
            return installed, f'{PHOTO_MEMBER} of the installed scikit-image'
    wheels = out_dir / 'wheels'
    if allow_pip and not list(wheels.glob('scikit_image-*.whl')):
        print(f'demo: fetching the {PHOTO_PACKAGE} wheel for its bundled photograph '
              '(pip download --no-deps, about 14 MB, nothing is installed)')
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--quiet',
                        '--only-binary=:all:', '--dest', str(wheels), PHOTO_PACKAGE],
                       check=False, timeout=300)
    for wheel in sorted(wheels.glob('scikit_image-*.whl')):
        try:
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(PHOTO_MEMBER)
        except (OSError, KeyError, zipfile.BadZipFile):
            continue
        photo = out_dir / Path(PHOTO_MEMBER).name
        photo.write_bytes(data)
        return photo, f'{PHOTO_MEMBER} of {wheel.name}'
    return None, f'neither scikit-image nor its wheel ({PHOTO_PACKAGE}) is available'


def synthetic_image(path: Path) -> Path:
    """Write a deterministic 640x480 scene with two stick figures (no data files needed)."""
    import cv2
    import numpy as np
    yy, xx = np.mgrid[0:480, 0:640]
    img = np.dstack([(xx * 0.3) % 255, (yy * 0.4) % 255, ((xx + yy) * 0.2) % 255])
    img = img.astype(np.uint8)
    for cx in (200, 440):
        cv2.circle(img, (cx, 120), 28, (40, 40, 200), -1)
        for (x0, y0), (x1, y1) in [((0, 150), (0, 300)), ((0, 180), (-70, 260)),
                                   ((0, 180), (70, 260)), ((0, 300), (-50, 430)),
                                   ((0, 300), (50, 430))]:
            cv2.line(img, (cx + x0, y0), (cx + x1, y1), (30, 160, 30), 14)
    cv2.imwrite(str(path), img)
    return path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m logocap_ros.tools.demo',
                                description=__doc__.split('\n\n')[0])
    p.add_argument('--out', type=Path, default=DEFAULT_OUT, help='output folder (out/demo)')
    p.add_argument('--url-base', default=weights_tool.DEFAULT_URL_BASE,
                   help='where logocap.tar.gz is served (default: the official release)')
    p.add_argument('--image', type=Path, default=None,
                   help='run on this image instead of the bundled photograph')
    p.add_argument('--input-size', type=int, default=None,
                   help='network input short side (default: 512 with the official weights, '
                        '256 with the random fallback)')
    p.add_argument('--no-pip', action='store_true',
                   help='do not fetch the scikit-image wheel for the photograph')
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo; return ``logocap-infer``'s exit status."""
    from logocap_ros.tools import infer
    args = _parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint, why = fetch_official_weights(args.url_base, show_progress=sys.stderr.isatty())
    if checkpoint is not None:
        print(f'demo: official LOGO-CAP W32 weights, verified: {checkpoint}')
    else:
        print(f'demo: cannot get the official W32 weights ({why}); falling back to UNTRAINED '
              'random weights')
    image, source = (args.image, 'given with --image') if args.image else find_photo(
        args.out, allow_pip=not args.no_pip)
    if image is None:
        print(f'demo: {source}; using a synthetic image instead')
        image, source = synthetic_image(args.out / 'synthetic.png'), 'synthetic'
    print(f'demo: image {image} ({source})')
    size = args.input_size or (512 if checkpoint is not None else 256)
    # PyTorch: for one image that beats ONNX Runtime's one-time export (about 20 s)
    rc = infer.main(['--arch', 'w32', '--weights', str(checkpoint or 'random'), '--device',
                     'cpu', '--backend', 'torch', '--input-size', str(size), '--out',
                     str(args.out / 'results.json'), '--vis', str(args.out), str(image)])
    if rc == 0 and checkpoint is None:
        print('demo: these skeletons are UNTRAINED (random weights) and meaningless; with '
              'network access: logocap-weights download w32, then make demo again')
    if rc == 0:
        print(f'demo: results (drawing and JSON) are in {args.out.resolve()}/')
    return rc


if __name__ == '__main__':
    sys.exit(main())
