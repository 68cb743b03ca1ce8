import os.path as osp

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

SITE_HOOK = 'vdense/ops/site_hook.py'


def read_version():
    scope = {}
    with open('vdense/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(path):
    with open(path) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


def site_hook_files():
    """The files that serve ``mmcv._ext`` in every interpreter of the environment (vdense/ops/site_hook.py): that
    module as a top-level one and the .pth whose line registers it at startup. In the wheel's root, i.e. in
    site-packages, listed in vdense's RECORD: ``pip uninstall vdense`` removes them."""
    with open(SITE_HOOK) as f:
        source = f.read()
    scope = {}
    exec(compile(source, SITE_HOOK, 'exec'), scope)  # standard library only: MODULE, PTH, PTH_LINE
    return {f"{scope['MODULE']}.py": source, scope['PTH']: scope['PTH_LINE']}


class BuildPyWithSiteHook(build_py):
    """Regular wheels (``pip install .``): the hook files next to the ``vdense`` package."""

    def run(self):
        super().run()
        if not self.editable_mode:  # editable wheels get them from EditableWheel
            for name, text in site_hook_files().items():
                with open(osp.join(self.build_lib, name), 'w') as f:
                    f.write(text)


class _WithSiteHook:
    """Wraps setuptools' editable strategy: its files, plus the hook files written into the editable wheel (they
    must be real files in site-packages: the .pth runs before any editable finder could map a module)."""

    def __init__(self, strategy):
        self.strategy = strategy

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.strategy.__exit__(*exc_info)

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        for name, text in site_hook_files().items():
            wheel.writestr(name, text.encode())


class EditableWheel(editable_wheel):
    """``pip install -e .``: compat mode by default, i.e. a .pth that puts the clone's root on ``sys.path``. The
    default (lenient) mode appends an import finder after the path-based ones, so a folder named ``vdense`` in the
    working directory (the clone itself, seen from its parent) is imported instead, as an empty namespace package;
    a regular package found anywhere on ``sys.path`` wins over a namespace folder, so with a path entry the clone's
    ``vdense/`` is imported from any directory. ``--config-settings editable_mode=strict`` still works."""

    def initialize_options(self):
        super().initialize_options()
        self.mode = 'compat'

    def _select_strategy(self, name, tag, build_lib):
        return _WithSiteHook(super()._select_strategy(name, tag, build_lib))


setup(
    name='vdense',
    version=read_version(),
    description='Hierarchical vision transformers (Swin, ScalableViT, MViTv2) for detection and '
                'segmentation on the OpenMMLab stack',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['vdense', 'vdense.*']),
    python_requires='>=3.10',
    # The frozen OpenMMLab stack at the versions verified together (requirements/runtime.txt), torch from the
    # release that loads checkpoints weights-only by default. mmcv 2.1.0 has only an sdist: `make install`
    # (tools/install.sh) builds its wheel first, without compiled ops by default (vdense/ops serves the kernels on
    # torch/torchvision), and installs vdense with --no-deps; a plain `pip install .` builds mmcv with its ops.
    install_requires=[
        'torch>=2.6', 'torchvision>=0.21', 'mmcv>=2.0.0rc4,<2.2.0', 'mmengine==0.10.7', 'mmdet==3.3.0',
        'mmsegmentation==1.2.2', 'ftfy', 'regex', 'mmpretrain==1.2.0', 'pycocotools>=2.0.7', 'numpy>=1.24',
        'opencv-python', 'setuptools<82', 'safetensors>=0.4',
    ],
    extras_require={'tests': read_requirements('requirements/tests.txt')},
    license='Apache-2.0',
    cmdclass={'build_py': BuildPyWithSiteHook, 'editable_wheel': EditableWheel},
)
