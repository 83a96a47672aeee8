"""The test session's own settings (tests/conftest.py) hold while the tests run."""
import gc


def test_collector_is_on_and_the_imported_objects_are_frozen():
    """Switched off while the test files were imported, the garbage collector runs again,
    and what collection imported is left out of its full passes."""
    assert gc.isenabled()
    assert gc.get_freeze_count() > 100_000
