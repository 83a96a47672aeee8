"""Safe checkpoint loading (weights_only kept on) and --cfg-options checking."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import HistoryBuffer

from crosspt.engine.checkpoint import load_checkpoint_file
from crosspt.utils import check_cfg_options


class _RunsShell:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_loads_mmengine_style_training_state(tmp_path):
    buf = HistoryBuffer()
    buf.update(0.5)
    buf.update(0.25)
    state = dict(
        meta=dict(epoch=3, iter=30, cfg='model = dict()', seed=np.int64(7)),
        state_dict={'backbone.w': torch.ones(2)},
        message_hub=dict(log_scalars={'train/loss': buf},
                         runtime_info={'arr': np.arange(3, dtype=np.float32)}),
    )
    path = tmp_path / 'ckpt.pth'
    torch.save(state, path)
    # plain torch.load with its weights_only default refuses it ...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    # ... crosspt's loader keeps weights_only and allows only these plain-data types.
    loaded = load_checkpoint_file(str(path))
    assert loaded['meta']['iter'] == 30 and loaded['meta']['seed'] == 7
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == pytest.approx(0.375)
    assert loaded['message_hub']['runtime_info']['arr'].tolist() == [0, 1, 2]


def test_loads_config_dicts_mmengine_writes_into_meta(tmp_path):
    """mmdet3d datasets built from a config keep ConfigDicts in their metainfo, which the
    Runner saves as ``meta.dataset_meta``."""
    meta = dict(dataset_meta=dict(label_mapping=ConfigDict({0: 1}),
                                  box_cfg=ConfigDict(type='x', dims=[1, 2])))
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(meta=meta, state_dict={'w': torch.ones(1)}), path)
    loaded = load_checkpoint_file(str(path))['meta']['dataset_meta']
    assert isinstance(loaded['box_cfg'], ConfigDict)
    assert loaded['box_cfg'].dims == [1, 2] and loaded['label_mapping'] == {0: 1}


def test_refuses_code_in_a_tampered_checkpoint(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'payload': _RunsShell()}, path)
    with pytest.raises(RuntimeError, match='evil.pth'):
        load_checkpoint_file(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_cfg_options_unknown_key_is_named():
    cfg = Config(dict(model=dict(type='TAP', backbone=dict(type='PointMLP', embed_dims=64)),
                      train_cfg=dict(max_epochs=3), param_scheduler=[dict(type='X', T_max=3)]))
    check_cfg_options(cfg, {'model.backbone.embed_dims': 32})
    check_cfg_options(cfg, {'param_scheduler.0.T_max': 5})
    # a new argument of a built object is left to its constructor to validate
    check_cfg_options(cfg, {'model.backbone.init_cfg': None})
    with pytest.raises(KeyError, match="unknown key 'modle'"):
        check_cfg_options(cfg, {'modle.backbone.embed_dims': 32})
    with pytest.raises(KeyError, match="unknown key 'max_epoch'"):
        check_cfg_options(cfg, {'train_cfg.max_epoch': 3})
    with pytest.raises(KeyError, match='not an index'):
        check_cfg_options(cfg, {'param_scheduler.4.T_max': 5})
