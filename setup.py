from setuptools import find_packages, setup


def read_version():
    scope = {}
    with open('vdense/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(path):
    with open(path) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


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
        'opencv-python', 'setuptools<82',
    ],
    extras_require={'tests': read_requirements('requirements/tests.txt')},
    license='Apache-2.0',
)
