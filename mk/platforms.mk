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

# The platforms beside the reference one (Kilted from PyPI, Python 3.11: the main Makefile),
# included by the Makefile. README.md "Supported platforms" says what each one covers.
#   make test-jazzy   .venv-jazzy (Python 3.12, requirements/jazzy.txt: ROS 2 Jazzy wheels, no
#                     torch), our messages and the ROS 2 sources built into build/jazzy/, the
#                     node run from an ONNX model that .venv exports (random weights); then the
#                     ROS-layer tests (JAZZY_TESTS)
#   make test-py310   .venv-py310 (Python 3.10, requirements/py310.txt: no torch, no ROS); the
#                     library tests that need neither (PY310_TESTS)
#   make check-plain-clone  collect every test module with the extra ROS 2 packages hidden

.PHONY: test-jazzy jazzy-venv jazzy-build jazzy-ros2-extra jazzy-model test-py310 py310-venv \
	check-plain-clone

# ---- ROS 2 Jazzy -------------------------------------------------------------------------
JAZZY_PYTHON ?= $(shell scripts/find_python.sh 3.12)
JAZZY_VENV := $(CURDIR)/.venv-jazzy
JAZZY_VPY := $(JAZZY_VENV)/bin/python
JAZZY_STAMP := $(JAZZY_VENV)/.logocap_ros-venv.stamp
JAZZY_BASE := $(CURDIR)/build/jazzy
JAZZY_BUILD_STAMP := $(JAZZY_BASE)/colcon/.build.stamp
JAZZY_EXTRA := $(JAZZY_BASE)/ros2_extra
JAZZY_EXTRA_STAMP := $(JAZZY_EXTRA)/.build.stamp
# The node's model in the Jazzy tests: exported by .venv (torch) from the random weights 'B',
# any input size, no flip test; the tests read its path from LOGOCAP_TEST_MODEL.
JAZZY_MODEL := $(JAZZY_BASE)/model/random_w32_dynamic_noflip.onnx
# Jazzy's sources: the folders of ROS2_EXTRA_SRC_JAZZY, and those of ROS2_EXTRA_SRC (Kilted
# releases, which work on rclpy 7) that it does not replace. ../shared/ros2_src_jazzy holds
# only message_filters_py; without it `make test-jazzy` fetches ros2/jazzy.repos (all of them).
SHARED_ROS2_SRC_JAZZY := $(abspath $(CURDIR)/../shared/ros2_src_jazzy)
ROS2_EXTRA_SRC_JAZZY ?= $(strip $(if $(wildcard $(SHARED_ROS2_SRC_JAZZY)/*/package.xml),\
	$(SHARED_ROS2_SRC_JAZZY),$(ROS2_SOURCES_DIR)/jazzy))
_jazzy_own := $(patsubst %/package.xml,%,$(wildcard $(ROS2_EXTRA_SRC_JAZZY)/*/package.xml))
_jazzy_kilted := $(patsubst %/package.xml,%,$(wildcard $(ROS2_EXTRA_SRC)/*/package.xml))
JAZZY_EXTRA_PATHS := $(_jazzy_own) \
	$(filter-out $(addprefix %/,$(notdir $(_jazzy_own))),$(_jazzy_kilted))
JAZZY_EXTRA_SOURCES := $(if $(_jazzy_own),$(shell find $(JAZZY_EXTRA_PATHS) -type f \
	! -name '*.pyc' ! -path '*/__pycache__/*'))
# The ROS-layer tests: messages, conversions, node, lifecycle, launch, ros2 CLI, shutdown,
# QoS/transport, depth, tracking, interop.
JAZZY_TESTS ?= test/test_messages.py test/test_ros_conversions.py \
	test/test_ros_image_conversion.py test/test_ros_node.py test/test_ros_lifecycle.py \
	test/test_ros_launch.py test/test_ros_launch_fastdds.py test/test_ros_cli.py \
	test/test_ros_shutdown.py test/test_ros_transport.py test/test_ros_node_transport_hints.py \
	test/test_ros_depth.py test/test_ros_node_depth.py test/test_ros_tracking.py \
	test/test_ros_interop.py test/test_ros_interop_dds.py test/test_ros_node_interop.py
JAZZY_ENV := LOGOCAP_VENV=$(JAZZY_VENV) LOGOCAP_BUILD_DIR=$(JAZZY_BASE) ROS_DISTRO=jazzy

# Same as `make build` / ros2-extra, with another venv, build folder and source list.
# $(1): venv, $(2): build base, $(3): colcon path options, $(4): merge-install or symlink-install
define colcon_build
	env AMENT_PREFIX_PATH=$(1) CMAKE_PREFIX_PATH=$(1) PATH=$(1)/bin:$$PATH \
		$(1)/bin/colcon --log-base $(2)/log build $(3) \
		--build-base $(2)/build --install-base $(2)/install --$(4) \
		--event-handlers console_cohesion+ \
		--cmake-args -DPython3_EXECUTABLE=$(1)/bin/python -DBUILD_TESTING=OFF \
		> $(2)/build.out 2>&1 \
		|| { tail -n 60 $(2)/build.out; echo 'make: colcon build failed (full output:' \
		     '$(2)/build.out)' >&2; exit 1; }
	@grep -E '^Summary' $(2)/build.out || true
endef

jazzy-venv: $(JAZZY_STAMP)

$(JAZZY_STAMP): requirements/jazzy.txt scripts/fix_venv_cmake.py
	@command -v $(JAZZY_PYTHON) >/dev/null || { \
		echo "make test-jazzy: $(JAZZY_PYTHON) not found; the ROS 2 Jazzy wheels need" \
		     "CPython 3.12 (with venv)" >&2; exit 1; }
	@echo '== make jazzy-venv: installing requirements/jazzy.txt into .venv-jazzy' \
		'(first time: about 3 min)'
	@test -x $(JAZZY_VPY) || $(JAZZY_PYTHON) -m venv $(JAZZY_VENV)
	@touch $(JAZZY_VENV)/COLCON_IGNORE
	$(JAZZY_VPY) -m pip install --disable-pip-version-check -q -r requirements/jazzy.txt 2>&1 \
		| { grep -v -F '$(PIP_NOISE)' || true; }
	$(JAZZY_VPY) scripts/fix_venv_cmake.py $(JAZZY_VENV)
	@touch $@

jazzy-build: $(JAZZY_BUILD_STAMP)

$(JAZZY_BUILD_STAMP): $(JAZZY_STAMP) $(MANIFEST) CMakeLists.txt package.xml setup.py \
	$(wildcard msg/*.msg) $(wildcard env-hooks/*)
	@echo '== make jazzy-build: colcon build of logocap_ros into build/jazzy/colcon'
	@mkdir -p $(@D)
	$(call colcon_build,$(JAZZY_VENV),$(@D),--base-paths $(CURDIR),symlink-install)
	@find $(@D)/install -xtype l -delete
	@touch $@

ifneq ($(_jazzy_own),)
jazzy-ros2-extra: $(JAZZY_EXTRA_STAMP)
else
jazzy-ros2-extra: | $(JAZZY_STAMP)
	@mkdir -p $(ROS2_SOURCES_DIR) && touch $(ROS2_SOURCES_DIR)/COLCON_IGNORE
	@# Offline (no ../shared, no network) the leg still runs: what needs these sources skips.
	@if $(JAZZY_VPY) scripts/ros2_sources.py --vcs $(JAZZY_VENV)/bin/vcs ros2/jazzy.repos \
		$(ROS2_SOURCES_DIR)/jazzy; then \
		$(MAKE) --no-print-directory jazzy-ros2-extra \
			ROS2_EXTRA_SRC_JAZZY=$(ROS2_SOURCES_DIR)/jazzy; \
	else echo 'make jazzy-ros2-extra: no Jazzy ROS 2 sources here (../shared/ros2_src_jazzy' \
		'absent, fetch failed): test-jazzy skips the tests that need ros2 launch, the ros2' \
		'CLI, message_filters, vision_msgs or hri_msgs' >&2; fi
endif

$(JAZZY_EXTRA_STAMP): $(JAZZY_EXTRA_SOURCES) | $(JAZZY_STAMP)
	@echo '== make jazzy-ros2-extra: colcon build of $(notdir $(JAZZY_EXTRA_PATHS)) into' \
		'build/jazzy/ros2_extra (first time: 3-5 min)'
	@mkdir -p $(@D)
	$(call colcon_build,$(JAZZY_VENV),$(@D),--paths $(JAZZY_EXTRA_PATHS),merge-install)
	@touch $@

jazzy-model: $(JAZZY_MODEL)

$(JAZZY_MODEL): $(VENV_STAMP) $(wildcard logocap_ros/core/*.py logocap_ros/backends/*.py)
	@echo '== make jazzy-model: logocap-export-onnx --weights random (in .venv) for the node'
	@mkdir -p $(@D)
	PYTHONPATH=$(CURDIR) $(VPY) -m logocap_ros.tools.export_onnx_cli --weights random \
		--dynamic --no-flip --no-check --out $@.tmp.onnx
	@mv -f $@.tmp.onnx $@

test-jazzy: $(JAZZY_BUILD_STAMP) jazzy-ros2-extra $(JAZZY_MODEL)
	@echo '== make test-jazzy: pytest on ROS 2 Jazzy $(PYTEST_ARGS)'
	@! $(JAZZY_VPY) -c 'import torch' 2>/dev/null || { echo 'make test-jazzy: torch is' \
		'importable in .venv-jazzy; this leg tests the node without it' >&2; exit 1; }
	export $(JAZZY_ENV) && . scripts/env.sh && LOGOCAP_TEST_MODEL=$(JAZZY_MODEL) \
		ROS2_EXTRA_SRC='$(ROS2_EXTRA_SRC_JAZZY)' \
		python -m pytest $(JAZZY_TESTS) $(PYTEST_ARGS)

# ---- Python 3.10 (Humble, JetPack 6): no torch, no ROS -------------------------------------
PY310_PYTHON ?= $(shell scripts/find_python.sh 3.10)
PY310_VENV := $(CURDIR)/.venv-py310
PY310_STAMP := $(PY310_VENV)/.logocap_ros-venv.stamp
PY310_TESTS ?= test/test_core_depth.py test/test_core_smoothing.py test/test_core_tracking.py \
	test/test_tools_draw.py test/test_backends_layering.py

py310-venv: $(PY310_STAMP)

$(PY310_STAMP): requirements/py310.txt
	@command -v $(PY310_PYTHON) >/dev/null || { \
		echo "make test-py310: $(PY310_PYTHON) not found: install CPython 3.10 (with venv)" >&2; \
		exit 1; }
	@echo '== make py310-venv: installing requirements/py310.txt into .venv-py310'
	@test -x $(PY310_VENV)/bin/python || $(PY310_PYTHON) -m venv $(PY310_VENV)
	@touch $(PY310_VENV)/COLCON_IGNORE
	$(PY310_VENV)/bin/python -m pip install --disable-pip-version-check -q \
		-r requirements/py310.txt 2>&1 | { grep -v -F '$(PIP_NOISE)' || true; }
	@touch $@

test-py310: $(PY310_STAMP)
	@echo '== make test-py310: pytest on Python 3.10 (no torch, no ROS) $(PYTEST_ARGS)'
	PYTHONPATH=$(CURDIR) $(PY310_VENV)/bin/python -m pytest $(PY310_TESTS) $(PYTEST_ARGS)

# ---- a plain clone -------------------------------------------------------------------------
# What a clone without ../shared sees: no build/ros2_extra on the paths, an empty
# ROS2_EXTRA_SRC. Every module must collect (those needing a missing package skip, naming it).
check-plain-clone: $(BUILD_STAMP)
	@echo '== make check-plain-clone: pytest --collect-only with the extra ROS 2 packages hidden'
	@empty="$$(mktemp -d)"; rc=0; export LOGOCAP_HIDE_ROS2_EXTRA=1; . scripts/env.sh; \
		ROS2_EXTRA_SRC="$$empty" python -m pytest --collect-only -q -p no:cacheprovider \
		> "$$empty.out" 2>&1 || rc=$$?; rmdir "$$empty"; \
		grep -E '^(SKIPPED|ERROR)|errors? during|tests? collected' "$$empty.out" | tail -n 20; \
		rm -f "$$empty.out"; \
		if [ $$rc -ne 0 ]; then echo 'make check-plain-clone: collection failed without' \
			'the extra ROS 2 packages (see above)' >&2; exit 1; fi
