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

"""The README's lists of command-line tools name every console script of ``setup.py``."""

from pathlib import Path
import re

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_every_console_script():
    scripts = set(re.findall(r"'(logocap-[a-z-]+)=", (ROOT / 'setup.py').read_text()))
    assert {'logocap-infer', 'logocap-cache', 'logocap-triton-repo'} <= scripts, scripts
    text = ' '.join((ROOT / 'README.md').read_text().split())
    for lead, end in (('Sourcing the workspace also puts the command-line tools', ';'),
                      ('Console scripts:', '.')):
        start = text.index(lead) + len(lead)
        listed = set(re.findall(r'`(logocap-[a-z-]+)`', text[start:text.index(end, start)]))
        assert listed == scripts, (lead, sorted(scripts - listed), sorted(listed - scripts))
