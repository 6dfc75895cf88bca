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


"""One meaning of ``random[:X]`` everywhere: X is the architecture (issue 22, bug 7).

``create_estimator('random:w48', ...)`` and ``load_network('w48', 'random:w48')`` used to read
X as the fill variant and fail with 'variant must be "A" or "B"'; the parity data's fill
variants are ``random:<arch>:A`` / ``random:<arch>:B`` now.
"""

from logocap_ros.backends import factory
from logocap_ros.backends.weights import parse_random, RandomWeights
from logocap_ros.core.estimator import EstimatorConfig
import pytest


@pytest.mark.parametrize('spec, arch, expected', [
    ('random', 'w32', RandomWeights('w32', 'B')),
    ('random', 'w48', RandomWeights('w48', 'B')),
    (' random:w48 ', 'w32', RandomWeights('w48', 'B')),
    ('random:w32:A', 'w48', RandomWeights('w32', 'A')),
    ('random::A', 'w48', RandomWeights('w48', 'A')),
    ('w32', 'w32', None),
    ('/models/random.pth', 'w32', None),
])
def test_parse_random(spec, arch, expected):
    assert parse_random(spec, arch) == expected


@pytest.mark.parametrize('spec', ['random:A', 'random:w64', 'random:w32:C', 'random:w32:A:x'])
def test_parse_random_rejects_other_spellings_naming_the_accepted_ones(spec):
    with pytest.raises(ValueError, match=r'random:w48.*random:<arch>:A\|B'):
        parse_random(spec, 'w32')


def test_load_network_reads_random_w48_as_the_architecture():
    net, meta = factory.load_network('w48', 'random:w48')
    assert net.arch == 'w48' and meta['logocap_ros.weights'] == 'random:B'
    net, _ = factory.load_network('w32', 'random:w48')  # the spelling names the architecture
    assert net.arch == 'w48'


def test_the_parity_fill_variants_stay_reachable():
    a, meta_a = factory.load_network('w32', 'random:w32:A')
    b, meta_b = factory.load_network('w32', 'random:w32:B')
    assert meta_a['logocap_ros.weights'] == 'random:A'
    assert meta_b['logocap_ros.weights'] == 'random:B'
    name, tensor = next(iter(a.state_dict().items()))
    assert not (tensor == b.state_dict()[name]).all()


def test_create_estimator_random_w48_builds_w48(monkeypatch):
    seen = {}

    def fake_start(net, config, **options):
        seen.update(arch=net.arch, config_arch=config.arch)
        return 'started'

    monkeypatch.setattr(factory, 'estimator_for_network', fake_start)
    assert factory.create_estimator('random:w48', EstimatorConfig(device='cpu')) == 'started'
    assert seen == {'arch': 'w48', 'config_arch': 'w48'}
