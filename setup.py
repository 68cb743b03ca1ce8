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
    # mmcv 2.1.0 has only an sdist: tools/install.sh (`make install`) builds its wheel, without compiled ops by
    # default (vdense/ops serves the kernels on torch/torchvision); the rest is pinned in requirements/runtime.txt.
    install_requires=[],
    extras_require={'tests': read_requirements('requirements/tests.txt')},
    license='Apache-2.0',
)
