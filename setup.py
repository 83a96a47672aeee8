import importlib.util
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def read_requirements(name: str) -> list:
    lines = (Path(__file__).parent / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


def _mim_extension():
    """crosspt/utils/mim_extension.py, loaded by path (crosspt itself is not importable
    while it is being built)."""
    path = ROOT / 'crosspt' / 'utils' / 'mim_extension.py'
    spec = importlib.util.spec_from_file_location('crosspt_mim_extension', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithMim(build_py):
    """build_py that also writes ``crosspt/.mim`` (model-index.yml, the metafiles and
    configs it names, the tools) into the build folder: what OpenMMLab's ``mim`` and
    crosspt.fileio.model_index read in an installed package.  Editable installs read
    the source checkout instead and get no copy."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        written = _mim_extension().build_mim_tree(str(ROOT),
                                                  str(Path(self.build_lib) / 'crosspt'))
        print(f'crosspt: wrote {len(written)} files into crosspt/.mim')


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
    cmdclass={'build_py': BuildPyWithMim},
)
