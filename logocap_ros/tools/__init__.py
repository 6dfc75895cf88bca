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


"""Command-line tools and their files: logocap-infer, -offline, -eval, -weights, -cache, ...

Each CLI parses options, reads files, videos or bags into arrays, runs the estimator or the
frame pipeline (:mod:`logocap_ros.frames`) and writes JSON, CSV, media or bags.
"""
