"""Config helpers shared by the tools."""
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.config import Config


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Refuse ``--cfg-options`` that point at keys the config does not have.

    A path must exist up to its last component.  The last component may be new only in a
    dict that is built into an object (it has a ``type``): its constructor then rejects
    unknown arguments by name when the Runner builds it.
    """
    for full_key in options:
        node: Any = cfg
        parts = full_key.split('.')
        for depth, part in enumerate(parts):
            if isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise KeyError(f'--cfg-options {full_key}: {".".join(parts[:depth])} is a '
                                   f'list of {len(node)} items; {part!r} is not an index')
                node = node[int(part)]
                continue
            if not hasattr(node, 'keys'):
                raise KeyError(f'--cfg-options {full_key}: {".".join(parts[:depth])} is not a '
                               'dict, so it has no key ' + repr(part))
            if part not in node:
                is_last = depth == len(parts) - 1
                if is_last and 'type' in node:
                    break
                where = '.'.join(parts[:depth]) or 'the config'
                known = ', '.join(sorted(str(k) for k in node.keys()))
                raise KeyError(f'--cfg-options {full_key}: unknown key {part!r} in {where} '
                               f'(known keys: {known})')
            node = node[part]


def load_tool_config(config: str, cfg_options: Optional[Dict[str, Any]],
                     work_dir: Optional[str]) -> Config:
    """Read ``config``, apply checked ``--cfg-options`` and pick the work dir
    (``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<config name>``)."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg
