# make install   the verified stack into the current Python (idempotent; nothing compiled, ~2 min the first time)
#                MMCV_OPS=compiled: mmcv's compiled ops instead (built once, ~10 min on 2 cores; see tools/install.sh)
#                STACK=onedl: the maintained OneDL fork of the OpenMMLab packages instead (docs/install.md)
# make demo      install, generate demo data, train + evaluate a RetinaNet-ScalableViT, draw predictions
# make test      install, lint (ruff), run the test suite (what CI runs; two pytest processes side by side,
#                tests/run_suite.py); STACK=onedl: its subset (TESTS_onedl)
# make lint      ruff: lint + import order (configured in pyproject.toml)
# make wheels WHEELS=DIR [PY_VERSION=3.12 PLATFORM=manylinux2014_x86_64]
#                every wheel the stack needs beyond torch/torchvision into DIR (default: this Python and platform)
# make install-offline WHEELS=DIR
#                install from DIR with no network into a Python that has torch + torchvision (docs/install.md, "Offline install (no network)")
PYTHON ?= python3
MMCV_OPS ?= auto
STACK ?= openmmlab
# What `make test` runs per stack: the whole suite on the default stack; on OneDL the documented subset
# (docs/install.md, "OneDL: what was checked"): kernels, parity, checkpoint safety, the environment hook and one
# end-to-end demo per task type.
TESTS_openmmlab = tests
TESTS_onedl = tests/test_ops.py tests/test_swin.py tests/test_mvit.py tests/test_scalable_vit.py \
	tests/test_checkpoint_safety.py tests/test_environment_hook.py tests/test_e2e_demo.py
DEMO_CONFIG ?= configs/demo/retinanet_scalablevit_demo.py
DEMO_WORK_DIR ?= work_dirs/demo_retinanet_scalablevit
WHEELS ?= wheelhouse
PY_VERSION ?=
PLATFORM ?=

.PHONY: install demo lint test test-all
install:
	PYTHON=$(PYTHON) MMCV_OPS=$(MMCV_OPS) STACK=$(STACK) bash tools/install.sh

demo: install
	$(PYTHON) tools/make_demo_data.py
	$(PYTHON) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)
	$(PYTHON) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_WORK_DIR)/last_checkpoint)" \
		--work-dir $(DEMO_WORK_DIR) --show-dir vis

lint: install
	$(PYTHON) -m ruff check .

test: lint
	$(PYTHON) tests/run_suite.py $(TESTS_$(STACK)) -m "not slow"

test-all: install
	$(PYTHON) -m pytest tests

.PHONY: wheels install-offline
wheels:
	PYTHON=$(PYTHON) WHEELS=$(WHEELS) PY_VERSION=$(PY_VERSION) PLATFORM="$(PLATFORM)" bash tools/wheels.sh

install-offline:
	PYTHON=$(PYTHON) WHEELS=$(WHEELS) bash tools/install_offline.sh
