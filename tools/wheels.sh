#!/usr/bin/env bash
# Downloads every wheel the verified stack needs beyond torch/torchvision into one folder, for an offline install
# (`make install-offline`, tools/install_offline.sh) on a machine without network that already has torch.
#
#   WHEELS=wheelhouse     the folder (created; wheels already there are kept)
#   PY_VERSION=3.12       the target's Python (default: this interpreter's)
#   PLATFORM="manylinux2014_x86_64 ..."
#                         the target's platform tag(s), space separated (default: this interpreter's)
#   PYTHON=python3        the interpreter that runs pip here (and builds mmcv's wheel if it is not cached)
#   VDENSE_CACHE=~/.cache/vdense
#                         where tools/install.sh caches the pure-Python mmcv wheel; reused (and filled) here
#
# What goes in: the requirements of requirements/runtime.txt and requirements/tests.txt except torch, torchvision
# and timm, resolved with their dependencies, binary wheels only, for the target; timm without its dependencies
# (its metadata names torch and torchvision) plus its other dependencies; mmcv 2.1.0 without compiled ops (the
# py2.py3-none-any wheel `make install` builds; vdense/ops serves its kernels on torch/torchvision). The list to
# install is written to $WHEELS/vdense-offline.txt. Finally every wheel's dependencies are checked against the
# folder: all must be there, except torch and torchvision, which the target provides; no torch, torchvision,
# triton or nvidia-* wheel may be in the folder. vdense itself is not in the folder: install-offline installs the
# clone (editable, --no-deps), as `make install` does.
case "${1:-}" in -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;; esac  # --help: the comments above, nothing run
set -euo pipefail

PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${VDENSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vdense}
MMCV_VERSION=2.1.0
WHEELS=${WHEELS:-wheelhouse}
PIP=("$PY" -m pip --disable-pip-version-check)
export PIP_ROOT_USER_ACTION=ignore

say() { printf '[vdense wheels] %s\n' "$*"; }

cd "$ROOT"
start=$(date +%s)
mkdir -p "$WHEELS"
WHEELS=$(cd "$WHEELS" && pwd)
# Keeps the folder out of git when it lies inside the clone (the default).
[ -e "$WHEELS/.gitignore" ] || printf '*\n' >"$WHEELS/.gitignore"

PY_VERSION=${PY_VERSION:-}
PLATFORM=${PLATFORM:-}
target=()
[ -n "$PY_VERSION" ] && target+=(--python-version "$PY_VERSION")
for p in $PLATFORM; do target+=(--platform "$p"); done
TARGET_PY=${PY_VERSION:-$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')}
TARGET_PLATFORM=${PLATFORM:-$("$PY" -c 'import sysconfig; print(sysconfig.get_platform())') (this interpreter)}
say "target: Python $TARGET_PY, platform $TARGET_PLATFORM; folder $WHEELS"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. mmcv 2.1.0 without compiled ops: the wheel tools/install.sh caches (same key), built here if missing.
# Minimal copy of tools/install.sh's build_mmcv_wheel (variant torch) so that `make install` stays as it is.
PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
mmcv_dir="$CACHE/wheels/mmcv-${MMCV_VERSION}_${PYTAG}_ops-none"
mmcv_wheel=$(ls "$mmcv_dir"/mmcv-"$MMCV_VERSION"-*none-any.whl 2>/dev/null | head -n1 || true)
if [ -z "$mmcv_wheel" ]; then
    say "building mmcv $MMCV_VERSION without compiled ops (pure Python, seconds; cached in $mmcv_dir)"
    "${PIP[@]}" download -q --no-deps --no-binary :all: -d "$tmp/mmcv" "mmcv==$MMCV_VERSION"
    tar -xzf "$tmp/mmcv/mmcv-$MMCV_VERSION.tar.gz" -C "$tmp/mmcv"
    sed -i "s/'mmcv-lite'/'mmcv'/" "$tmp/mmcv/mmcv-$MMCV_VERSION/setup.py"
    (cd "$tmp/mmcv/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=0 "${PIP[@]}" wheel -v --no-deps --no-build-isolation \
        -w "$tmp/mmcv/dist" . >"$tmp/mmcv/build.log" 2>&1) \
        || { tail -n 40 "$tmp/mmcv/build.log" >&2; say "building mmcv without ops failed (log above)" >&2; exit 1; }
    mkdir -p "$mmcv_dir"
    cp "$tmp"/mmcv/dist/mmcv-*.whl "$mmcv_dir"/
    mmcv_wheel=$(ls "$mmcv_dir"/mmcv-"$MMCV_VERSION"-*none-any.whl | head -n1)
fi
cp "$mmcv_wheel" "$WHEELS"/
say "mmcv: $(basename "$mmcv_wheel") (from $mmcv_dir)"

# 2. What to install: runtime.txt + tests.txt without torch, torchvision (the target's) and timm (below).
"$PY" - requirements/runtime.txt requirements/tests.txt >"$tmp/resolve.txt" <<'EOF'
import re, sys
for path in sys.argv[1:]:
    for line in open(path):
        spec = line.split('#')[0].strip()
        name = re.split(r'[\s<>=!~;\[(]', spec, maxsplit=1)[0].lower().replace('_', '-') if spec else ''
        if spec and name not in ('torch', 'torchvision', 'timm'):
            print(spec)
EOF
timm_spec=$(grep -E '^timm([^a-zA-Z0-9_.-]|$)' requirements/runtime.txt | sed 's/#.*//; s/[[:space:]]*$//')

# 3. timm without its dependencies, then its dependencies other than torch/torchvision join the resolution.
"${PIP[@]}" download -q --no-deps --only-binary=:all: "${target[@]}" -d "$WHEELS" "$timm_spec"
"$PY" - "$WHEELS" "$timm_spec" "$TARGET_PY" >>"$tmp/resolve.txt" <<'EOF'
import glob, os, sys, zipfile
from email.parser import Parser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
folder, spec, py = sys.argv[1:]
want = Requirement(spec)
env = {'python_version': py, 'python_full_version': py + '.0', 'extra': ''}
best = max((w for w in glob.glob(os.path.join(folder, '*.whl'))
            if parse_wheel_filename(os.path.basename(w))[0] == 'timm'
            and want.specifier.contains(parse_wheel_filename(os.path.basename(w))[1], prereleases=True)),
           key=lambda w: parse_wheel_filename(os.path.basename(w))[1])
with zipfile.ZipFile(best) as z:
    meta = Parser().parsestr(z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode())
for r in meta.get_all('Requires-Dist') or []:
    req = Requirement(r)
    if canonicalize_name(req.name) not in ('torch', 'torchvision') and (not req.marker or req.marker.evaluate(env)):
        print(r)
EOF

# 4. Everything else, with dependencies, binary wheels for the target only.
say "downloading the stack and its dependencies (binary wheels only)"
"${PIP[@]}" download -q --only-binary=:all: "${target[@]}" -d "$WHEELS" -r "$tmp/resolve.txt"

# 5. The list install-offline installs (mmcv first: its wheel is not on any index).
{
    printf '# Written by `make wheels` (tools/wheels.sh) %s from vdense %s: target Python %s, platform %s.\n' \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "$TARGET_PY" "$TARGET_PLATFORM"
    printf '# Install with: make install-offline WHEELS=<this folder> (torch/torchvision must be installed already)\n'
    printf 'mmcv==%s\n%s\n' "$MMCV_VERSION" "$timm_spec"
    cat "$tmp/resolve.txt"
} >"$WHEELS/vdense-offline.txt"
printf '%s\n' "$TARGET_PY" >"$WHEELS/.python-version"

# 6. Closed under dependencies, torch/torchvision excepted (the target has them); and nothing that is torch.
"$PY" - "$WHEELS" "$TARGET_PY" <<'EOF'
import glob, os, sys, zipfile
from email.parser import Parser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
folder, py = sys.argv[1:]
PROVIDED = {'torch', 'torchvision'}
have = {}
for w in glob.glob(os.path.join(folder, '*.whl')):
    name, version, _, _ = parse_wheel_filename(os.path.basename(w))
    have.setdefault(name, []).append((version, w))
# Markers are read for CPython on Linux (the platforms this stack runs on), at the target's Python version.
env = {'python_version': py, 'python_full_version': py + '.0', 'sys_platform': 'linux', 'platform_system': 'Linux',
       'os_name': 'posix', 'implementation_name': 'cpython', 'platform_python_implementation': 'CPython', 'extra': ''}
bad = sorted(n for n in have if n in PROVIDED or n == 'triton' or n.startswith('nvidia-'))
if bad:
    sys.exit(f'[vdense wheels] the folder holds {bad}: torch and its CUDA libraries must come from the target')
missing = []
for name, versions in have.items():
    for version, w in versions:
        with zipfile.ZipFile(w) as z:
            meta = Parser().parsestr(
                z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode('utf-8'))
        for r in meta.get_all('Requires-Dist') or []:
            req = Requirement(r)
            if req.marker and not req.marker.evaluate(env):
                continue
            dep = canonicalize_name(req.name)
            if dep in PROVIDED:
                continue
            if not any(req.specifier.contains(v, prereleases=True) for v, _ in have.get(dep, [])):
                missing.append(f'{os.path.basename(w)} needs {r}')
if missing:
    sys.exit('[vdense wheels] not in the folder:\n  ' + '\n  '.join(missing))
EOF

n=$(ls "$WHEELS"/*.whl | wc -l)
say "ready in $(( $(date +%s) - start ))s: $n wheels, $(du -sh "$WHEELS" | cut -f1) in $WHEELS (no torch, torchvision)"
say "on the target (torch + torchvision installed, no network): make install-offline WHEELS=$WHEELS"
