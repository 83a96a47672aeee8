"""The Runner's config text is mmengine's, formatted once per distinct content."""
import copy

from mmengine.config import Config
from mmengine.config import config as mmengine_config

from crosspt.engine.config_text import FormattedTextConfig, with_text_cache


def count_formatting(monkeypatch) -> list:
    calls = []
    real = mmengine_config.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(mmengine_config, 'FormatCode', counted)
    return calls


def test_text_equals_mmengine_and_is_formatted_once(monkeypatch):
    cfg = Config(dict(model=dict(type='Net', depth=[1, 2, 3]), lr=0.1,
                      names=('a' * 30, 'b' * 30, 'c' * 30)))
    expected = cfg.pretty_text
    calls = count_formatting(monkeypatch)
    cached = copy.deepcopy(with_text_cache(cfg))     # the Runner deep-copies its cfg
    assert isinstance(cached, FormattedTextConfig)
    assert [cached.pretty_text for _ in range(3)] == [expected] * 3
    assert len(calls) == 1
    cached.lr = 0.2                                  # a changed config is formatted again
    assert cached.pretty_text == Config(dict(cfg.to_dict(), lr=0.2)).pretty_text
    assert 'lr = 0.2' in cached.pretty_text and len(calls) == 3   # reference: 1 call
    assert cfg.lr == 0.1 and cached.filename == cfg.filename


def test_unformatted_configs_are_left_alone(monkeypatch):
    cfg = Config(dict(a=1), format_python_code=False)
    calls = count_formatting(monkeypatch)
    assert with_text_cache(cfg).pretty_text == cfg.pretty_text and calls == []
