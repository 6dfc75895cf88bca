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

# Development without a ROS 2 install: a Python 3.11 venv with ROS 2 Kilted from PyPI, a
# colcon build of this package (messages + install space) under build/colcon, and one of the
# ROS 2 sources PyPI lacks (ros2 launch, the ros2 CLI, ...; ROS2_EXTRA_SRC, default
# ../shared/ros2_src) under build/ros2_extra when that folder exists.
#   make venv    .venv from requirements/dev.txt (+ the CMake path fixes for the ROS wheels)
#   make build   colcon builds into build/colcon and build/ros2_extra (incremental, stamped)
#   make ros2-sources  fetch the pinned ROS 2 sources (ros2/kilted.repos) if none are here; build
#   make triton-venv  .venv-triton: Triton server (nvidia-pytriton, numpy<2) for its tests
#   make test    venv + build, then pytest on test/ (ROS traffic stays on loopback)
#   make demo    pose estimation on a real photograph with the official W32 weights (fetched)
#   make lint    only the linter tests (flake8, pep257, copyright, Python 3.10, package.xml)
#   make test-jazzy  ROS 2 Jazzy (.venv-jazzy, Python 3.12, no torch): the ROS-layer tests
#   make test-py310  Python 3.10 (.venv-py310, no torch, no ROS): the library tests that fit
#   make check-plain-clone  collect every test as a clone without the extra ROS sources does
#   make clean   remove build/, out/ and caches (keeps the venvs); make distclean removes them too

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
VPY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.logocap_ros-venv.stamp

COLCON_BASE := $(CURDIR)/build/colcon
BUILD_STAMP := $(COLCON_BASE)/.build.stamp
# The Triton server lives in its own venv: nvidia-pytriton needs numpy<2 (requirements/triton.txt).
TRITON_VENV := $(CURDIR)/.venv-triton
TRITON_STAMP := $(TRITON_VENV)/.logocap_ros-triton.stamp
MANIFEST := $(COLCON_BASE)/.manifest
# Folders whose file *list* (not contents) decides whether the install space must be redone;
# --symlink-install makes edits of existing files visible without a rebuild.
INSTALLED_DIRS := $(wildcard logocap_ros launch config rviz scripts msg env-hooks)

# ROS 2 packages that PyPI does not carry (launch, launch_ros, ros2cli + verbs, vision_msgs,
# hri_msgs, message_filters), as unchanged release sources; built once with --merge-install
# so that scripts/env.sh can put `ros2` on PATH. Rebuilt when a source file changes (not when
# the venv is re-installed: after changing the ros-* pins, `rm build/ros2_extra/.build.stamp`).
# Without ../shared/ros2_src, `make ros2-sources` fetches them (ros2/kilted.repos) into
# build/ros2_src/kilted.
SHARED_ROS2_SRC := $(abspath $(CURDIR)/../shared/ros2_src)
ROS2_SOURCES_DIR := $(CURDIR)/build/ros2_src
ROS2_EXTRA_SRC ?= $(strip $(if $(wildcard $(SHARED_ROS2_SRC)/*/package.xml),$(SHARED_ROS2_SRC),\
	$(ROS2_SOURCES_DIR)/kilted))
EXTRA_BASE := $(CURDIR)/build/ros2_extra
EXTRA_STAMP := $(EXTRA_BASE)/.build.stamp
EXTRA_SOURCES := $(if $(wildcard $(ROS2_EXTRA_SRC)/*),$(shell find $(ROS2_EXTRA_SRC) -type f \
	! -name '*.pyc' ! -path '*/__pycache__/*'))

PYTEST_ARGS ?=
LINT_TESTS := test/test_flake8.py test/test_pep257.py test/test_copyright.py \
	test/test_py310.py test/test_xmllint.py
# pip prints one such warning per package for this machine's extra (partial) local indexes.
PIP_NOISE := is ignored: it is neither a file nor a directory

.PHONY: help venv triton-venv build ros2-extra ros2-sources test demo lint clean distclean FORCE

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

venv: $(VENV_STAMP)

$(VENV_STAMP): requirements/dev.txt scripts/fix_venv_cmake.py
	@command -v $(PYTHON) >/dev/null || { \
		echo "make venv: $(PYTHON) not found; the PyPI ROS 2 wheels need CPython 3.11" >&2; \
		exit 1; }
	@echo '== make venv: installing requirements/dev.txt into .venv (first time: 2-3 min)'
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	@touch $(VENV)/COLCON_IGNORE
	$(VPY) -m pip install --disable-pip-version-check -q -r requirements/dev.txt 2>&1 \
		| { grep -v -F '$(PIP_NOISE)' || true; }
	$(VPY) scripts/fix_venv_cmake.py $(VENV)
	@touch $@

triton-venv: $(TRITON_STAMP)

$(TRITON_STAMP): requirements/triton.txt
	@echo '== make triton-venv: installing requirements/triton.txt into .venv-triton'
	@test -x $(TRITON_VENV)/bin/python || $(PYTHON) -m venv $(TRITON_VENV)
	@touch $(TRITON_VENV)/COLCON_IGNORE
	$(TRITON_VENV)/bin/python -m pip install --disable-pip-version-check -q --no-deps \
		-r requirements/triton.txt 2>&1 | { grep -v -F '$(PIP_NOISE)' || true; }
	@touch $@

build: $(BUILD_STAMP) ros2-extra

# Rewritten only when the list of files changes, so that the build stamp stays valid.
$(MANIFEST): FORCE
	@mkdir -p $(@D)
	@find $(INSTALLED_DIRS) -type f ! -name '*.pyc' ! -path '*/__pycache__/*' \
		| LC_ALL=C sort > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

$(BUILD_STAMP): $(VENV_STAMP) $(MANIFEST) CMakeLists.txt package.xml setup.py \
	$(wildcard msg/*.msg) $(wildcard env-hooks/*)
	@echo '== make build: colcon build of logocap_ros into build/colcon'
	env AMENT_PREFIX_PATH=$(VENV) CMAKE_PREFIX_PATH=$(VENV) PATH=$(VENV)/bin:$$PATH \
		$(VENV)/bin/colcon --log-base $(COLCON_BASE)/log build \
		--base-paths $(CURDIR) \
		--build-base $(COLCON_BASE)/build --install-base $(COLCON_BASE)/install \
		--symlink-install --event-handlers console_cohesion+ \
		--cmake-args -DPython3_EXECUTABLE=$(VPY) -DBUILD_TESTING=OFF \
		> $(COLCON_BASE)/build.out 2>&1 \
		|| { tail -n 60 $(COLCON_BASE)/build.out; echo 'make build: colcon build failed' \
		     "(full output: build/colcon/build.out)" >&2; exit 1; }
	@grep -E '^(Summary|Finished)' $(COLCON_BASE)/build.out || true
	@# --symlink-install leaves links to deleted sources behind; drop them.
	@find $(COLCON_BASE)/install -xtype l -delete
	@touch $@

ifneq ($(EXTRA_SOURCES),)
ros2-extra: $(EXTRA_STAMP)
else
ros2-extra:
	@echo '== make ros2-extra: no sources in ROS2_EXTRA_SRC=$(ROS2_EXTRA_SRC): ros2 launch and' \
		'the ros2 CLI are not built (their tests are skipped; `make ros2-sources` fetches them)'
endif

# Fetch (vcstool, pinned in ros2/kilted.repos) only when ROS2_EXTRA_SRC holds no sources.
ros2-sources: | $(VENV_STAMP)
ifeq ($(EXTRA_SOURCES),)
	@mkdir -p $(ROS2_SOURCES_DIR) && touch $(ROS2_SOURCES_DIR)/COLCON_IGNORE
	$(VPY) scripts/ros2_sources.py --vcs $(VENV)/bin/vcs ros2/kilted.repos \
		$(ROS2_SOURCES_DIR)/kilted
	$(MAKE) --no-print-directory ros2-extra ROS2_EXTRA_SRC=$(ROS2_SOURCES_DIR)/kilted
else
	@echo '== make ros2-sources: using the sources in ROS2_EXTRA_SRC=$(ROS2_EXTRA_SRC)'
	$(MAKE) --no-print-directory ros2-extra
endif

$(EXTRA_STAMP): $(EXTRA_SOURCES) | $(VENV_STAMP)
	@echo '== make build: colcon build of $(ROS2_EXTRA_SRC) into build/ros2_extra' \
		'(first time: 2-5 min)'
	@mkdir -p $(EXTRA_BASE)
	env AMENT_PREFIX_PATH=$(VENV) CMAKE_PREFIX_PATH=$(VENV) PATH=$(VENV)/bin:$$PATH \
		$(VENV)/bin/colcon --log-base $(EXTRA_BASE)/log build \
		--base-paths $(ROS2_EXTRA_SRC) \
		--build-base $(EXTRA_BASE)/build --install-base $(EXTRA_BASE)/install --merge-install \
		--event-handlers console_cohesion+ \
		--cmake-args -DPython3_EXECUTABLE=$(VPY) -DBUILD_TESTING=OFF \
		> $(EXTRA_BASE)/build.out 2>&1 \
		|| { tail -n 60 $(EXTRA_BASE)/build.out; echo 'make build: colcon build of' \
		     '$(ROS2_EXTRA_SRC) failed (full output: build/ros2_extra/build.out)' >&2; exit 1; }
	@grep -E '^Summary' $(EXTRA_BASE)/build.out || true
	@touch $@

test: $(BUILD_STAMP) ros2-extra $(TRITON_STAMP)
	@echo '== make test: pytest $(PYTEST_ARGS)'
	. scripts/env.sh && ROS2_EXTRA_SRC='$(ROS2_EXTRA_SRC)' python -m pytest $(PYTEST_ARGS)

lint: $(VENV_STAMP)
	. scripts/env.sh && python -m pytest $(LINT_TESTS) $(PYTEST_ARGS)

demo: $(VENV_STAMP)
	bash scripts/demo.sh

clean:
	rm -rf build out .pytest_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv .venv-triton .venv-jazzy .venv-py310

include mk/platforms.mk

FORCE:
