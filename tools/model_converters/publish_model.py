"""Publish a backbone-only checkpoint from a crosspt training checkpoint.

    python tools/model_converters/publish_model.py work_dirs/x/epoch_100.pth tap_pointmlp.pth

Keeps the ``backbone.*`` weights (prefix kept, so ``init_cfg=dict(type='Pretrained',
checkpoint=..., prefix='backbone.')`` loads them), drops optimizer, schedulers and the
message hub, stores only tensors and plain metadata (loadable with
``torch.load(..., weights_only=True)``), and appends the first 8 hex digits of the file's
sha256 to its name, as OpenMMLab does: ``tap_pointmlp-1a2b3c4d.pth``.
"""
import argparse
import hashlib
import os
import os.path as osp
from typing import Dict

import mmengine
import torch

from crosspt.fileio.checkpoint_file import load_checkpoint_file
from crosspt.version import __version__


def extract_backbone(checkpoint: dict, prefix: str, source: str) -> Dict[str, torch.Tensor]:
    state = checkpoint.get('state_dict', checkpoint)
    kept = {k: v.detach().clone().contiguous() for k, v in state.items()
            if k.startswith(prefix) and isinstance(v, torch.Tensor)}
    if not kept:
        some = ', '.join(list(state)[:5])
        raise KeyError(f'{source}: no key starts with {prefix!r} (first keys: {some})')
    return kept


def publish(in_file: str, out_file: str, prefix: str = 'backbone.') -> str:
    """Write the backbone-only file and return its final (hash-suffixed) path."""
    checkpoint = load_checkpoint_file(in_file, map_location='cpu')
    state = extract_backbone(checkpoint, prefix, in_file)
    old_meta = checkpoint.get('meta', {}) or {}
    meta = dict(
        crosspt_version=__version__,
        mmengine_version=mmengine.__version__,
        prefix=prefix,
        source=osp.basename(in_file),
        config=str(old_meta.get('cfg', '')),
        epoch=int(old_meta.get('epoch', -1)),
        iter=int(old_meta.get('iter', -1)),
    )
    tmp_file = out_file + '.tmp'
    torch.save(dict(meta=meta, state_dict=state), tmp_file)
    with open(tmp_file, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    final = f'{stem}-{sha[:8]}.pth'
    os.replace(tmp_file, final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('in_file', help='training checkpoint (e.g. work_dirs/.../epoch_100.pth)')
    parser.add_argument('out_file', help='output path; "-<sha256[:8]>" is added before .pth')
    parser.add_argument('--prefix', default='backbone.', help='state-dict prefix to keep')
    args = parser.parse_args()
    final = publish(args.in_file, args.out_file, args.prefix)
    print(f'published {final}')


if __name__ == '__main__':
    main()
