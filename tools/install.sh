#!/usr/bin/env bash
# Installs the verified stack (../shared/design/STACK.md) into the current Python environment, idempotently.
#
#   PYTHON=python3        interpreter to install into (activate a venv first if you want one)
#   VDENSE_CACHE=~/.cache/vdense
#                         where the built mmcv wheel is kept, keyed by mmcv/torch/python/ops, so a fresh
#                         clone on the same machine reuses it instead of rebuilding (~10 min on 2 cores)
#   MMCV_CUDA_OPS=auto|1|0
#                         build mmcv's CUDA ops: auto = only when torch sees a GPU and nvcc is present
set -euo pipefail

PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${VDENSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vdense}
MMCV_VERSION=2.1.0
PIP=("$PY" -m pip --disable-pip-version-check)
export PIP_ROOT_USER_ACTION=ignore  # CI and containers run as root; the warning is noise there

say() { printf '[vdense install] %s\n' "$*"; }

cd "$ROOT"
start=$(date +%s)

# 1. What the mmcv build needs (and torch itself): instant when already satisfied.
say "checking build requirements (torch, numpy, setuptools, ninja, wheel)"
"${PIP[@]}" install -q -r requirements/build.txt

# 2. mmcv with ops.
mmcv_ok() {
    # Without importing mmcv (which needs mmengine, installed later): right version, compiled ops present.
    "$PY" - "$MMCV_VERSION" <<'EOF' >/dev/null 2>&1
import importlib.metadata, sys
assert importlib.metadata.version('mmcv') == sys.argv[1]
# The installed files, not find_spec('mmcv._ext'): that imports mmcv itself, which needs cv2 (not there yet).
assert any(f.name.startswith('_ext.') for f in importlib.metadata.files('mmcv') if f.parent.name == 'mmcv')
EOF
}

if mmcv_ok; then
    say "mmcv $MMCV_VERSION with ops: already installed"
else
    read -r TORCH_VER PYTAG CUDA_AVAILABLE < <("$PY" -c \
        "import sys, torch; print(torch.__version__.split('+')[0], f'cp{sys.version_info[0]}{sys.version_info[1]}', int(torch.cuda.is_available()))")
    want_cuda=${MMCV_CUDA_OPS:-auto}
    if [ "$want_cuda" = auto ]; then
        if [ "$CUDA_AVAILABLE" = 1 ] && command -v nvcc >/dev/null 2>&1; then want_cuda=1; else want_cuda=0; fi
    fi
    ops=$([ "$want_cuda" = 1 ] && echo cuda || echo cpu)
    key="mmcv-${MMCV_VERSION}_torch-${TORCH_VER}_${PYTAG}_$(uname -m)_ops-${ops}"
    wheel_dir="$CACHE/wheels/$key"
    wheel=$(ls "$wheel_dir"/mmcv-*.whl 2>/dev/null | head -n1 || true)
    if [ -z "$wheel" ]; then
        say "building mmcv $MMCV_VERSION with $ops ops from source: this happens once per machine and takes"
        say "about 10 minutes on 2 cores (cached afterwards in $wheel_dir)"
        build=$(mktemp -d)
        trap 'rm -rf "$build"' EXIT
        "${PIP[@]}" download -q --no-deps --no-binary :all: -d "$build" "mmcv==$MMCV_VERSION"
        tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
        src="$build/mmcv-$MMCV_VERSION"
        # torch >= 2.13 headers need C++20; mmcv 2.1.0 hard-codes C++17 and fails at once without this.
        sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
        log="$build/build.log"
        set +e
        (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA="$want_cuda" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "${PIP[@]}" wheel -v --no-deps --no-build-isolation -w "$build/dist" . >"$log" 2>&1) &
        pid=$!
        # Show ninja's [k/N] progress so a 10-minute build does not look like a hang.
        last=""
        while kill -0 "$pid" 2>/dev/null; do
            sleep 15
            cur=$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$log" | tail -n1 | tr -d ' ' || true)
            if [ -n "$cur" ] && [ "$cur" != "$last" ]; then
                say "  compiling mmcv ops $cur  ($(( $(date +%s) - start ))s)"
                last=$cur
            fi
        done
        wait "$pid"; rc=$?
        set -e
        if [ "$rc" != 0 ]; then
            tail -n 40 "$log" >&2
            say "mmcv build failed (full log above: $log). Is a C++20 compiler (g++ >= 10) installed?" >&2
            exit "$rc"
        fi
        mkdir -p "$wheel_dir"
        cp "$build"/dist/mmcv-*.whl "$wheel_dir"/
        wheel=$(ls "$wheel_dir"/mmcv-*.whl | head -n1)
        say "mmcv wheel cached: $wheel"
    else
        say "installing cached mmcv wheel $wheel"
    fi
    # --no-deps: its dependencies are pinned in requirements/runtime.txt, installed next.
    "${PIP[@]}" install -q --no-deps --force-reinstall "$wheel"
    mmcv_ok || { say "mmcv installed from $wheel but its compiled ops are missing" >&2; exit 1; }
fi

# 3. The OpenMMLab stack, timm, pycocotools, test tools: instant when already satisfied.
say "checking the OpenMMLab stack (mmengine, mmdet, mmseg, mmpretrain), timm, pycocotools, pytest"
"${PIP[@]}" install -q -r requirements/runtime.txt -r requirements/tests.txt

# 4. vdense itself, editable, so that other projects can `import vdense.models`.
# Checked from / so that the clone's own folder on sys.path does not hide what is really installed.
if ! (cd / && "$PY" -c "import vdense, os, sys; sys.exit(os.path.realpath(os.path.dirname(vdense.__file__)) != os.path.realpath('$ROOT/vdense'))") 2>/dev/null; then
    say "installing vdense (editable) from $ROOT"
    "${PIP[@]}" install -q --no-deps --no-build-isolation -e .
fi

(cd / && "$PY" -c "import mmcv, mmengine, mmdet, mmseg, mmpretrain, torch; from mmcv.ops import nms; import vdense.models") \
    || { say "the stack is installed but does not import (see above)" >&2; exit 1; }
say "ready in $(( $(date +%s) - start ))s: torch $("$PY" -c 'import torch; print(torch.__version__)'), mmcv $MMCV_VERSION (ops), mmdet 3.3.0, mmseg 1.2.2, mmpretrain 1.2.0"
