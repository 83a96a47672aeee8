from pathlib import Path

from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    lines = (Path(__file__).parent / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


version: dict = {}
exec((Path(__file__).parent / 'crosspt' / 'version.py').read_text(), version)

setup(
    name='crosspt',
    version=version['__version__'],
    description='Cross-modal 2D<->3D pretraining of point-cloud networks (TAP, PPKT) '
    'in the OpenMMLab style',
    long_description=(Path(__file__).parent / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['crosspt', 'crosspt.*']),
    python_requires='>=3.9',
    install_requires=['torch>=2.0'] + read_requirements('runtime.txt'),
    extras_require={
        'mmdet3d': ['mmcv>=2.0.0,<2.2.0', 'mmdet>=3.2,<3.4', 'mmdet3d==1.4.0'],
        'tests': read_requirements('tests.txt'),
    },
    license='Apache-2.0',
)
