#!/usr/bin/env bash
# Installs the verified stack with no network from a folder made by `make wheels` (tools/wheels.sh) into a Python
# environment that already has torch and torchvision (docs/install.md, "Offline install (no network)").
#
#   WHEELS=wheelhouse     the folder made by `make wheels` (its vdense-offline.txt lists what to install)
#   PYTHON=python3        interpreter to install into (activate a venv first if you want one)
#
# pip runs with --no-index --find-links $WHEELS only; torch and torchvision are pinned to the installed versions
# (the folder holds neither, so they can be neither upgraded nor reinstalled). Then vdense itself: this clone,
# editable, --no-deps --no-index --no-build-isolation (setuptools comes from the folder), as `make install` does.
set -euo pipefail

PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WHEELS=${WHEELS:-wheelhouse}
PIP=("$PY" -m pip --disable-pip-version-check)
export PIP_ROOT_USER_ACTION=ignore PIP_NO_INDEX=1

say() { printf '[vdense install-offline] %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }

cd "$ROOT"
start=$(date +%s)
[ -f "$WHEELS/vdense-offline.txt" ] || die "$WHEELS/vdense-offline.txt not found: make the folder with \`make wheels WHEELS=$WHEELS\`"
WHEELS=$(cd "$WHEELS" && pwd)

# The distributions' versions (what pip compares; torch.__version__ may carry a +cu130 the metadata lacks).
versions() { (cd / && "$PY" -c "import torch, torchvision, importlib.metadata as m
print(m.version('torch'), m.version('torchvision'))"); }
read -r TORCH TORCHVISION < <(versions) || die "$PY has no working torch + torchvision: install them first (they are not in $WHEELS)"
have_py=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
want_py=$(cat "$WHEELS/.python-version" 2>/dev/null || echo "$have_py")
[ "$have_py" = "$want_py" ] || die "$WHEELS was made for Python $want_py, $PY is $have_py: make wheels PY_VERSION=$have_py ..."
say "torch $TORCH, torchvision $TORCHVISION, Python $have_py; installing from $WHEELS (no index)"

# The installed torch/torchvision, by their exact versions: pip keeps them or stops.
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
printf 'torch==%s\ntorchvision==%s\n' "$TORCH" "$TORCHVISION" >"$constraints"
"${PIP[@]}" install -q --no-index --find-links "$WHEELS" -c "$constraints" -r "$WHEELS/vdense-offline.txt"

# mmcv must be the pure-Python 2.1.0 from the folder (vdense/ops serves its kernels on torch/torchvision).
if ! (cd / && "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('mmcv') != '2.1.0')"); then
    die "mmcv $( (cd / && "$PY" -c "import importlib.metadata as m; print(m.version('mmcv'))") || echo '?') is installed; vdense needs 2.1.0"
fi

# vdense itself, editable (compat mode, setup.py), so that other projects can `import vdense.models` from any
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
    "${PIP[@]}" install -q --no-index --no-deps --no-build-isolation -e .
fi

[ "$(versions)" = "$TORCH $TORCHVISION" ] || die "torch/torchvision changed: $(versions) (was $TORCH $TORCHVISION)"
kernels=$(cd / && "$PY" -c "import mmcv, mmengine, torch  # no vdense first: the startup hook serves mmcv._ext
from mmcv.ops import nms, RoIAlign
import mmdet.models, mmseg.models, mmpretrain.models, vdense.models
from vdense.ops import kernels_in_use
print(kernels_in_use())" | tail -n1) || die "the stack is installed but does not import (see above)"
say "ready in $(( $(date +%s) - start ))s: torch $TORCH (unchanged), mmcv 2.1.0 ($([ "$kernels" = compiled ] && echo "compiled ops" || echo "no compiled ops: vdense's torch/torchvision kernels")), $(cd / && "$PY" -c \
    "import mmdet, mmseg, mmpretrain, mmengine; print(f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, mmseg {mmseg.__version__}, mmpretrain {mmpretrain.__version__}')")"
