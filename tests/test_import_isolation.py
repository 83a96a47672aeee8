"""crosspt core imports with torch + mmengine + mmcv only (no mmdet / mmdet3d)."""
import subprocess
import sys

CORE_MODULES = ['crosspt', 'crosspt.registry', 'crosspt.ops', 'crosspt.fileio',
                'crosspt.rendering', 'crosspt.models', 'crosspt.datasets',
                'crosspt.datasets.transforms', 'crosspt.evaluation', 'crosspt.engine',
                'crosspt.utils']


def test_core_imports_without_mmdet3d():
    code = ('import sys, importlib\n'
            f'for name in {CORE_MODULES!r}:\n'
            '    importlib.import_module(name)\n'
            'bad = sorted(m for m in sys.modules if m.split(".")[0] in ("mmdet3d", "mmdet"))\n'
            'print("LOADED:", bad)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'LOADED: []' in proc.stdout, proc.stdout


def test_registry_locations_resolve():
    """Every lazy location of every crosspt registry imports."""
    import importlib

    from mmengine.registry import Registry

    import crosspt.registry as registry
    for name in dir(registry):
        reg = getattr(registry, name)
        if isinstance(reg, Registry):
            for location in reg._locations:
                importlib.import_module(location)
    from crosspt.registry import MODELS, TRANSFORMS
    assert MODELS.get('TAP') is not None and TRANSFORMS.get('PackTAPInputs') is not None
