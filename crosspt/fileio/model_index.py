"""crosspt's model index (``model-index.yml`` and the metafiles it imports), read for
downloads: which released checkpoints exist, where they are, and their sha256.

A model whose ``Weights`` is a third-party release (TAP's authors' files, converted on the
fly) carries an ``Official Weights`` mapping next to the OpenMMLab fields::

    Weights: https://cloud.tsinghua.edu.cn/f/<id>/?dl=1
    Official Weights:
      Source: official release          # where the file comes from
      Release: ...                      # who published it, and where the link is listed
      Paper Figure: ...                 # the figure the paper gives for it ('-' if none)
      Layout: finetuned                 # clean | finetuned | pretrain_full | partseg
      SHA256: null                      # 64 hex digits once known; null = unpinned

The index is looked up in ``$CROSSPT_MODEL_INDEX`` (a ``model-index.yml`` path), then in
``crosspt/.mim/model-index.yml`` (the copy a regular install carries, with the metafiles
and configs it names: the OpenMMLab ``mim`` convention, see
:mod:`crosspt.utils.mim_extension`), then at the root of the source checkout (an editable
install).
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional

import yaml

#: environment variable naming another model-index.yml
INDEX_ENV = 'CROSSPT_MODEL_INDEX'
#: model-level metafile key of a third-party release
OFFICIAL_KEY = 'Official Weights'
OFFICIAL_FIELDS = ('Source', 'Release', 'Paper Figure', 'Layout', 'SHA256')
LAYOUTS = ('clean', 'finetuned', 'pretrain_full', 'partseg')
_SHA256 = re.compile(r'[0-9a-f]{64}')


def index_path(package_dir: Optional[str] = None) -> str:
    """The ``model-index.yml`` in use: ``$CROSSPT_MODEL_INDEX``, else
    ``<package_dir>/.mim/model-index.yml`` (what a regular install carries, written by
    :func:`crosspt.utils.mim_extension.build_mim_tree`), else ``model-index.yml`` in the
    folder above ``package_dir`` (the source checkout of an editable install).

    Args:
        package_dir: the ``crosspt`` package folder (default: the imported one).

    Raises:
        FileNotFoundError: none of these exists (names the places looked at).
    """
    env = os.environ.get(INDEX_ENV)
    if env:
        if not osp.isfile(env):
            raise FileNotFoundError(f'{INDEX_ENV}={env}: no such model index')
        return env
    package = osp.abspath(package_dir or osp.dirname(osp.dirname(osp.abspath(__file__))))
    candidates = (osp.join(package, '.mim', 'model-index.yml'),
                  osp.join(osp.dirname(package), 'model-index.yml'))
    for candidate in candidates:
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'no model-index.yml found (looked for {candidates[0]} and '
                            f'{candidates[1]}); set {INDEX_ENV}')


def official_problems(model: dict) -> List[str]:
    """Schema problems of a model's ``Official Weights`` entry (empty list: valid)."""
    entry = model.get(OFFICIAL_KEY)
    if entry is None:
        return []
    if not isinstance(entry, dict):
        return [f'{OFFICIAL_KEY} must be a mapping']
    out = [f'{OFFICIAL_KEY}.{k} is missing' for k in OFFICIAL_FIELDS if k not in entry]
    out += [f'{OFFICIAL_KEY}: unknown key {k!r}' for k in entry if k not in OFFICIAL_FIELDS]
    weights = model.get('Weights')
    if not (isinstance(weights, str) and weights.startswith(('https://', 'http://'))):
        out.append(f'{OFFICIAL_KEY} needs Weights to be the http(s) URL of the file')
    if entry.get('Layout') not in LAYOUTS:
        out.append(f'{OFFICIAL_KEY}.Layout must be one of {", ".join(LAYOUTS)}')
    sha = entry.get('SHA256')
    if sha is not None and not (isinstance(sha, str) and _SHA256.fullmatch(sha)):
        out.append(f'{OFFICIAL_KEY}.SHA256 must be null or 64 lower-case hex digits')
    for key in ('Source', 'Release', 'Paper Figure'):
        if key in entry and not (isinstance(entry[key], str) and entry[key]):
            out.append(f'{OFFICIAL_KEY}.{key} must be a non-empty string')
    return out


def read_models(path: Optional[str] = None) -> List[dict]:
    """Every model of the index at ``path`` (default :func:`index_path`), each with the
    extra key ``_metafile`` (the metafile path relative to the index)."""
    path = path or index_path()
    root = osp.dirname(path)
    with open(path, encoding='utf-8') as f:
        index = yaml.safe_load(f) or {}
    models = []
    for rel in index.get('Import') or []:
        with open(osp.join(root, rel), encoding='utf-8') as f:
            data = yaml.safe_load(f) or {}
        for model in data.get('Models') or []:
            models.append(dict(model, _metafile=rel))
    return models


def released_weights(path: Optional[str] = None) -> Dict[str, dict]:
    """Name -> ``dict(name, url, sha256, layout, config, metafile, official)`` of every
    model with a ``Weights`` URL; ``sha256`` is None when the file is unpinned (for
    crosspt's own files the name's ``-<sha256 prefix>`` pins it instead).

    Raises:
        ValueError: an ``Official Weights`` entry is malformed (names the model).
    """
    out = {}
    for model in read_models(path):
        if not model.get('Weights'):
            continue
        problems = official_problems(model)
        if problems:
            raise ValueError(f'{model["_metafile"]}: model {model.get("Name")}: '
                             + '; '.join(problems))
        entry = model.get(OFFICIAL_KEY) or {}
        out[model['Name']] = dict(name=model['Name'], url=model['Weights'],
                                  sha256=entry.get('SHA256'), layout=entry.get('Layout'),
                                  config=model.get('Config'), metafile=model['_metafile'],
                                  official=bool(entry))
    return out


def find_by_url(url: str, path: Optional[str] = None) -> Optional[dict]:
    """The :func:`released_weights` entry whose URL is ``url`` (None if there is none, or
    no model index is installed)."""
    try:
        entries = released_weights(path)
    except FileNotFoundError:
        return None
    return next((e for e in entries.values() if e['url'] == url), None)
