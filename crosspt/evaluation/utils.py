"""Helpers shared by the metrics."""
from typing import Any


def sample_field(sample: Any, name: str, metric: str, hint: str = '') -> Any:
    """``sample[name]`` for a dict or a data element; a missing field raises a KeyError
    naming the metric and the field."""
    value = sample.get(name) if hasattr(sample, 'get') else sample[name]
    if value is None:
        raise KeyError(f'{metric}: data sample has no {name!r}' + (f'; {hint}' if hint else ''))
    return value
