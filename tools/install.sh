#!/usr/bin/env bash
# Installs the verified stack (README.md, "Install") into the current Python environment, idempotently.
#
#   PYTHON=python3        interpreter to install into (activate a venv first if you want one)
#   STACK=openmmlab|onedl openmmlab (default): the frozen OpenMMLab releases verified with vdense (mmengine 0.10.7,
#                           mmcv 2.1.0, mmdet 3.3.0, mmseg 1.2.2, mmpretrain 1.2.0; requirements/runtime.txt)
#                         onedl: the maintained OneDL fork under the same import names (onedl-mmengine 0.10.12,
#                           onedl-mmcv 2.3.6, onedl-mmdetection 3.5.1, onedl-mmsegmentation 1.4.2, onedl-mmpretrain
#                           1.3.6; requirements/onedl.txt). Switching stacks uninstalls the other one first
#                           (docs/install.md)
#   MMCV_OPS=auto|torch|compiled
#                         auto (default): mmcv 2.1.0 without compiled ops (pure Python, builds in seconds);
#                           vdense serves the kernels the configs reach (nms, RoIAlign, sigmoid focal loss) on
#                           torch/torchvision (vdense/ops). Compiled ops already installed are kept: they are
#                           used whenever present.
#                         torch: the pure-Python mmcv even where the compiled one is installed (replaces it)
#                         compiled: mmcv with its compiled ops, built from source (~10 min on 2 cores, once)
#   VDENSE_CACHE=~/.cache/vdense
#                         where the built mmcv wheels are kept, keyed by mmcv/torch/python/ops, so a fresh
#                         clone on the same machine reuses them instead of rebuilding
#   MMCV_CUDA_OPS=auto|1|0
#                         MMCV_OPS=compiled only: build mmcv's CUDA ops: auto = only when torch sees a GPU and
#                         nvcc is present
case "${1:-}" in -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;; esac  # --help: the comments above, nothing run
set -euo pipefail

PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${VDENSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vdense}
STACK=${STACK:-openmmlab}
case "$STACK" in
    openmmlab) MMCV_DIST=mmcv; MMCV_VERSION=2.1.0; STACK_REQS=requirements/runtime.txt
               OTHER_STACK=(onedl-mmengine onedl-mmcv onedl-mmdetection onedl-mmsegmentation onedl-mmpretrain) ;;
    onedl)     MMCV_DIST=onedl-mmcv; MMCV_VERSION=2.3.6; STACK_REQS=requirements/onedl.txt
               OTHER_STACK=(mmengine mmcv mmcv-lite mmdet mmsegmentation mmpretrain) ;;
    *) printf '[vdense install] STACK=%s: expected openmmlab or onedl\n' "$STACK" >&2; exit 2 ;;
esac
MMCV_OPS=${MMCV_OPS:-auto}
case "$MMCV_OPS" in
    auto|torch|compiled) ;;
    *) printf '[vdense install] MMCV_OPS=%s: expected auto, torch or compiled\n' "$MMCV_OPS" >&2; exit 2 ;;
esac
PIP=("$PY" -m pip --disable-pip-version-check)
export PIP_ROOT_USER_ACTION=ignore  # CI and containers run as root; the warning is noise there

say() { printf '[vdense install] %s\n' "$*"; }

cd "$ROOT"
start=$(date +%s)

# 1. What the mmcv build needs (and torch itself): instant when already satisfied.
say "checking build requirements (torch, numpy, setuptools, ninja, wheel)"
"${PIP[@]}" install -q -r requirements/build.txt

# Both stacks install the same import names (mmcv, mmengine, mmdet, ...) from differently named distributions:
# the other stack's are removed first, so that no file of one is left under the other's metadata.
other=$("$PY" - "${OTHER_STACK[@]}" <<'EOF'
import importlib.metadata as m, sys
print(' '.join(n for n in sys.argv[1:] if any(True for _ in m.distributions(name=n))))
EOF
)
if [ -n "$other" ]; then
    say "STACK=$STACK: removing the other stack's packages first: $other"
    # shellcheck disable=SC2086
    "${PIP[@]}" uninstall -q -y $other
fi

# 2. mmcv: without compiled ops (default) or with them (MMCV_OPS=compiled).
mmcv_variant() {
    # Without importing mmcv (which needs mmengine, installed later): "compiled", "torch" (mmcv 2.1.0 without its
    # compiled extension) or "none" (absent, or another version).
    "$PY" - "$MMCV_DIST" "$MMCV_VERSION" <<'EOF' 2>/dev/null || echo none
import importlib.metadata, sys
try:
    dist = importlib.metadata.distribution(sys.argv[1])
except importlib.metadata.PackageNotFoundError:
    print('none'); sys.exit()
if dist.version != sys.argv[2]:
    print('none'); sys.exit()
# The installed files, not find_spec('mmcv._ext'): that imports mmcv itself, which needs cv2 (not there yet).
compiled = any(f.name.startswith('_ext.') for f in (dist.files or []) if f.parent.name == 'mmcv')
print('compiled' if compiled else 'torch')
EOF
}

build_mmcv_wheel() {  # $1 = compiled|torch, $2 = the cache folder the wheel goes to
    local variant=$1 out=$2 src log rc
    build=$(mktemp -d)
    trap 'rm -rf "$build"' EXIT
    "${PIP[@]}" download -q --no-deps --no-binary :all: -d "$build" "$MMCV_DIST==$MMCV_VERSION"
    tar -xzf "$build"/*.tar.gz -C "$build"  # mmcv-2.1.0.tar.gz or onedl_mmcv-2.3.6.tar.gz
    src=$(find "$build" -mindepth 1 -maxdepth 1 -type d | head -n1)
    log="$build/build.log"
    if [ "$variant" = torch ] && [ "$STACK" = onedl ]; then
        # onedl-mmcv's setup.py builds its ops whenever it can import torch: built in pip's isolated build
        # environment (setuptools, wheel, packaging; no torch), it is the pure-Python package.
        (cd "$src" && "${PIP[@]}" wheel -v --no-deps -w "$build/dist" . >"$log" 2>&1) \
            || { tail -n 40 "$log" >&2; say "building onedl-mmcv without ops failed (log above)" >&2; exit 1; }
    elif [ "$variant" = torch ]; then
        # Without ops mmcv's setup.py names the distribution mmcv-lite; it is mmcv 2.1.0's Python code, installed
        # as the distribution `mmcv` so that switching variants replaces it (and pip, mim, metadata see mmcv).
        sed -i "s/'mmcv-lite'/'mmcv'/" "$src/setup.py"
        (cd "$src" && MMCV_WITH_OPS=0 "${PIP[@]}" wheel -v --no-deps --no-build-isolation -w "$build/dist" . \
            >"$log" 2>&1) || { tail -n 40 "$log" >&2; say "building mmcv without ops failed (log above)" >&2; exit 1; }
    else
        # torch >= 2.13 headers need C++20; mmcv 2.1.0 (and onedl-mmcv 2.3.6) hard-code C++14/17 and fail at once
        # without this.
        sed -i 's/-std=c++1[47]/-std=c++20/g' "$src/setup.py"
        set +e
        (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA="$want_cuda" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "${PIP[@]}" wheel -v --no-deps --no-build-isolation -w "$build/dist" . >"$log" 2>&1) &
        local pid=$! last="" cur
        # Show ninja's [k/N] progress so a 10-minute build does not look like a hang.
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
    fi
    mkdir -p "$out"
    cp "$build"/dist/*mmcv-*.whl "$out"/
    rm -rf "$build"
    trap - EXIT
}

have=$(mmcv_variant)
want=$MMCV_OPS
if [ "$want" = auto ]; then
    want=$([ "$have" = compiled ] && echo compiled || echo torch)
fi
if [ "$have" = "$want" ]; then
    if [ "$want" = torch ]; then
        say "$MMCV_DIST $MMCV_VERSION without compiled ops (vdense's torch/torchvision kernels): already installed"
    elif [ "$MMCV_OPS" = auto ]; then
        say "$MMCV_DIST $MMCV_VERSION with compiled ops: already installed, kept (they are used whenever present;"
        say "  MMCV_OPS=torch would replace them with the pure-Python mmcv and vdense's torch/torchvision kernels)"
    else
        say "$MMCV_DIST $MMCV_VERSION with compiled ops: already installed"
    fi
else
    read -r TORCH_VER PYTAG CUDA_AVAILABLE < <("$PY" -c \
        "import sys, torch; print(torch.__version__.split('+')[0], f'cp{sys.version_info[0]}{sys.version_info[1]}', int(torch.cuda.is_available()))")
    if [ "$want" = compiled ]; then
        want_cuda=${MMCV_CUDA_OPS:-auto}
        if [ "$want_cuda" = auto ]; then
            if [ "$CUDA_AVAILABLE" = 1 ] && command -v nvcc >/dev/null 2>&1; then want_cuda=1; else want_cuda=0; fi
        fi
        ops=$([ "$want_cuda" = 1 ] && echo cuda || echo cpu)
        key="${MMCV_DIST}-${MMCV_VERSION}_torch-${TORCH_VER}_${PYTAG}_$(uname -m)_ops-${ops}"
    else
        key="${MMCV_DIST}-${MMCV_VERSION}_${PYTAG}_ops-none"  # pure Python: the same for every torch and machine
    fi
    wheel_dir="$CACHE/wheels/$key"
    wheel=$(ls "$wheel_dir"/*mmcv-*.whl 2>/dev/null | head -n1 || true)
    if [ -z "$wheel" ]; then
        if [ "$want" = compiled ]; then
            say "building mmcv $MMCV_VERSION with $ops ops from source: this happens once per machine and takes"
            say "about 10 minutes on 2 cores (cached afterwards in $wheel_dir)"
        else
            say "building mmcv $MMCV_VERSION without compiled ops (pure Python, seconds; cached in $wheel_dir)"
        fi
        build_mmcv_wheel "$want" "$wheel_dir"
        wheel=$(ls "$wheel_dir"/*mmcv-*.whl | head -n1)
        say "mmcv wheel cached: $wheel"
    else
        say "installing cached mmcv wheel $wheel"
    fi
    if [ "$have" = compiled ]; then say "replacing the installed mmcv with compiled ops (MMCV_OPS=torch)"; fi
    # --no-deps: its dependencies are pinned in requirements/runtime.txt, installed next.
    # --force-reinstall: switching variants at the same version must replace the files (and drop mmcv/_ext.*).
    "${PIP[@]}" install -q --no-deps --force-reinstall "$wheel"
    [ "$(mmcv_variant)" = "$want" ] || { say "mmcv installed from $wheel but it is not the $want variant" >&2; exit 1; }
fi

# 3. The OpenMMLab stack, timm, pycocotools, test tools: instant when already satisfied.
say "checking the $STACK stack ($STACK_REQS: mmengine, mmdet, mmseg, mmpretrain), timm, pycocotools, pytest"
"${PIP[@]}" install -q -r "$STACK_REQS" -r requirements/tests.txt -r requirements/export.txt

# 4. vdense itself, editable (compat mode, setup.py), so that other projects can `import vdense.models` from any
# directory; with it, in site-packages, the startup hook that serves mmcv._ext to every interpreter without
# `import vdense` (vdense/ops/site_hook.py). Reinstalled when an older install lacks the hook or the mode, or is
# another clone. Checked from / so that the clone's own folder on sys.path does not hide what is really installed.
if ! (cd / && "$PY" - "$ROOT" <<'EOF' 2>/dev/null
import importlib.metadata as m, os.path as osp, sys, vdense
files = {f.name for f in m.files('vdense') or []}
sys.exit(osp.realpath(osp.dirname(vdense.__file__)) != osp.realpath(osp.join(sys.argv[1], 'vdense'))
         or '_vdense_mmcv_ext' not in sys.modules or any(n.startswith('__editable___') for n in files))
EOF
); then
    say "installing vdense (editable) from $ROOT"
    "${PIP[@]}" install -q --no-deps --no-build-isolation -e .
fi

# The stock stack first, without `import vdense`: the startup hook serves mmcv._ext (vdense/ops/site_hook.py).
kernels=$(cd / && "$PY" -c "import mmcv, mmengine, torch  # no vdense first: the startup hook serves mmcv._ext
from mmcv.ops import nms, RoIAlign
import mmdet.models, mmseg.models, mmpretrain.models, vdense.models
from vdense.ops import kernels_in_use
print(kernels_in_use())" | tail -n1) || { say "the stack is installed but does not import (see above)" >&2; exit 1; }
ops_words=$([ "$kernels" = compiled ] && echo "compiled ops" || echo "no compiled ops: vdense's torch/torchvision kernels")
versions=$(cd / && "$PY" - <<'EOF'
import torch, mmengine, mmcv, mmdet, mmseg, mmpretrain
print(f'torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}')
print(f'mmdet {mmdet.__version__}, mmseg {mmseg.__version__}, mmpretrain {mmpretrain.__version__}')
EOF
)
say "ready in $(( $(date +%s) - start ))s ($STACK): $(echo "$versions" | head -n1) ($ops_words), $(echo "$versions" | tail -n1)"
