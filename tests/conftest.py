"""Test-session settings for README's ``python -m pytest tests -q -n 2 --dist loadfile``.

- Under pytest-xdist each worker computes with one thread, so the two workers share the
  2 cores instead of over-subscribing them; tools started by the tests get
  ``OMP_NUM_THREADS=1`` likewise (tests/test_tools/tool_runner.py).
- Temporary folders: a passed test's ``tmp_path`` is removed when it ends
  (``tmp_path_retention_policy = failed`` in pytest.ini), and the folders a test file's
  fixtures made with ``tmp_path_factory`` are removed when the file ends, unless one of
  its tests failed.  The end-to-end runs write checkpoints of 0.15-0.45 GB each: kept to
  the end, one run of the suite held 15 GB.
- The garbage collector is off while the test files are imported; after collection the
  imported objects are frozen out of garbage collection (``gc.freeze``), as the tools'
  pre-loader does (tests/test_tools/preloader.py), and the collector is switched back on.
- Files holding end-to-end runs (``@pytest.mark.slow``) are collected first, the longest
  of them (LONGEST_FIRST, from ``--durations`` of 2-worker runs) leading, and the workers
  take the files in that order (pytest-xdist's re-sorting by test count is turned off), so
  that they start on the long files and the short ones fill in at the end.
"""
import gc
import os
import shutil

import pytest
import torch

if os.environ.get('PYTEST_XDIST_WORKER'):
    torch.set_num_threads(1)
    os.environ['OMP_NUM_THREADS'] = '1'


# the longest files, longest first, from 2-worker runs' --durations (2026-12-03, 21:05)
LONGEST_FIRST = ('test_train_ppkt.py', 'test_docs_benchmark_commands.py',
                 'test_docs_recipes.py', 'test_benchmark_configs.py',
                 'test_scene_benchmarks.py', 'test_train_tap.py', 'test_docs_scene_recipes.py',
                 'test_linear_probe_tool.py', 'test_official_weights_e2e.py',
                 'test_tap_backbones_learn.py', 'test_docs_data_commands.py',
                 'test_mmdet3d_votenet.py', 'test_profile_sparse.py', 'test_auto_scale_lr.py',
                 'test_tap_learning.py', 'test_benchmark_ops.py')


def pytest_configure(config) -> None:
    """pytest-xdist (3.x) re-sorts the files of ``--dist loadfile`` by their number of
    tests unless told not to, which would start the many-test unit files first and leave
    the long end-to-end files for the end; keep the order of
    :func:`pytest_collection_modifyitems`."""
    if hasattr(config.option, 'loadscopereorder'):
        config.option.loadscopereorder = False
    # Importing the test files makes ~10^6 long-lived objects and no garbage cycles worth
    # collecting; the collections the allocations trigger took 3.4 of a worker's 11 s of
    # collection (2026-12-04).  Off until pytest_collection_finish.
    gc.disable()


def pytest_collection_finish(session) -> None:
    """Everything the test files import is loaded now: frozen, those objects are left
    out of later garbage collections; the collector, off while the files were imported
    (:func:`pytest_configure`), is switched back on."""
    gc.freeze()
    gc.enable()


def pytest_collection_modifyitems(session, config, items) -> None:
    slow_files = {item.path for item in items if item.get_closest_marker('slow')}

    def rank(item) -> tuple:
        if item.path.name in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(item.path.name))
        return (1 if item.path in slow_files else 2, 0)

    items.sort(key=rank)   # stable: the order within a file is kept


@pytest.fixture(scope='module', autouse=True)
def remove_module_temp_dirs(request, tmp_path_factory):
    """Removes the folders made under this worker's base temporary folder while the test
    file ran, if none of its tests failed (set up first, so torn down last)."""
    base = tmp_path_factory.getbasetemp()
    before = set(os.listdir(base))
    failures = request.session.testsfailed
    yield
    if request.session.testsfailed == failures:
        for name in sorted(set(os.listdir(base)) - before):
            shutil.rmtree(base / name, ignore_errors=True)


def _manager_classes() -> list:
    """mmengine's ManagerMixin classes (DefaultScope, MessageHub, Visualizer, ...), each
    with its own ``_instance_dict`` of named global instances."""
    from mmengine.utils import ManagerMixin
    found, stack = [], [ManagerMixin]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


@pytest.fixture(autouse=True)
def keep_global_instances():
    """Undo the named global instances a test's Runner creates.  The newest DefaultScope
    becomes mmengine's current scope and would outlive the test (registry look-ups of
    later tests in the same worker would miss crosspt's modules); the configs' visualizer
    is named 'visualizer', so a later Runner in the worker would get this test's
    instance and write into this test's (removed) work dir."""
    saved = {cls: dict(cls._instance_dict) for cls in _manager_classes()}
    yield
    for cls in _manager_classes():
        cls._instance_dict.clear()
        cls._instance_dict.update(saved.get(cls, {}))


@pytest.fixture
def key_reports(monkeypatch):
    """Messages of crosspt's reporting ``Pretrained`` initialiser (its key reports)."""
    from crosspt.models import weight_init
    messages = []
    monkeypatch.setattr(weight_init, 'print_log', lambda msg, **kwargs: messages.append(msg))
    return messages
