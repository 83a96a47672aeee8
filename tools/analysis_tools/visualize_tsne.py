"""t-SNE of a backbone's global features over a classification dataset.

    python tools/analysis_tools/visualize_tsne.py CONFIG [--checkpoint CKPT]
        [--split test|val|train] [--max-samples 256] [--perplexity 30] [--seed 0]
        [--batch-size B] [--tsne-threads 1] --out tsne.png [--cfg-options k=v ...]

The model comes from ``crosspt.apis.init_model(CONFIG, CKPT, device='cpu')`` (without a
checkpoint: the config's own initialisation, i.e. random weights for the benchmark
configs).  ``--max-samples`` samples of the ``--split`` dataloader's dataset, drawn
uniformly without replacement (``--seed``; all of them when the set is smaller), run
through the model's data preprocessor and the backbone; each sample's global feature
(``model.extract_feat`` when it returns ``(B, C)``, else the backbone's
``global_features``) is embedded in 2-D by ``sklearn.manifold.TSNE`` (PCA
initialisation, the perplexity capped at ``(S - 1) / 3`` for S samples) and drawn
coloured by the sample's ``gt_label``, with the class names of the dataset's metainfo
in the legend.  The features, labels, dataset indices, embedding and class names are
saved next to the PNG as ``<out stem>.npz``.  The ``train`` split runs the training
pipeline, augmentations included.

:func:`tsne_plot` (arrays in, PNG out) is the t-SNE + plot step on its own.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

SPLITS = ('test', 'val', 'train')


def embed_tsne(features: np.ndarray, perplexity: float = 30.0, seed: int = 0,
               threads: int = 1) -> np.ndarray:
    """features (S, C) -> (S, 2) t-SNE embedding (PCA init; perplexity capped at
    ``(S - 1) / 3``, which sklearn needs below S).

    ``threads``: OpenMP threads of sklearn's Barnes-Hut t-SNE.  Default 1: its
    gradient step synchronises the threads every iteration, which on a busy CPU costs far
    more than it saves at these sizes (measured on a shared 2-core machine: 20 samples
    took 30 s with 2 threads, 0.2 s with 1).
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 4:
        raise ValueError(f'embed_tsne: need features (S, C) with S >= 4 samples, got shape '
                         f'{features.shape}')
    if not np.isfinite(features).all():
        raise ValueError('embed_tsne: the features contain NaN or inf')
    if perplexity <= 0:
        raise ValueError(f'embed_tsne: perplexity must be > 0, got {perplexity}')
    perplexity = min(float(perplexity), (len(features) - 1) / 3.0)
    tsne = TSNE(n_components=2, perplexity=perplexity, init='pca', random_state=seed)
    with threadpool_limits(limits=threads, user_api='openmp'):
        return tsne.fit_transform(features)


def _colours(num: int) -> list:
    import matplotlib.pyplot as plt

    if num <= 10:
        return [plt.get_cmap('tab10')(i) for i in range(num)]
    palette = [plt.get_cmap(name)(i) for name in ('tab20', 'tab20b', 'tab20c')
               for i in range(20)]
    if num <= len(palette):
        return palette[:num]
    return [plt.get_cmap('hsv')(i / num) for i in range(num)]


def plot_embedding(embedding: np.ndarray, labels: np.ndarray, out: str,
                   class_names: Optional[Sequence[str]] = None,
                   title: Optional[str] = None) -> None:
    """Scatter ``embedding (S, 2)`` coloured by ``labels (S,)`` (legend: the class name
    of each label present, else the label id); writes ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    embedding, labels = np.asarray(embedding), np.asarray(labels).astype(int)
    if embedding.ndim != 2 or embedding.shape[1] != 2 or labels.shape != (len(embedding),):
        raise ValueError(f'plot_embedding: expected embedding (S, 2) and labels (S,), got '
                         f'{embedding.shape} and {labels.shape}')
    present = sorted(set(labels.tolist()))
    colours = _colours(len(present))
    ncol = 1 if len(present) <= 16 else 2 if len(present) <= 32 else 3
    fig, ax = plt.subplots(figsize=(7.5 + 1.8 * ncol, 7))
    for colour, label in zip(colours, present):
        mask = labels == label
        name = str(class_names[label]) if class_names is not None and \
            0 <= label < len(class_names) else str(label)
        ax.scatter(embedding[mask, 0], embedding[mask, 1], s=30, color=colour, alpha=0.85,
                   edgecolors='none', label=f'{name} ({int(mask.sum())})')
    ax.set_xlabel('t-SNE 1')
    ax.set_ylabel('t-SNE 2')
    ax.set_title(title or f't-SNE of {len(labels)} samples')
    ax.legend(title='class (samples)', loc='upper left', bbox_to_anchor=(1.01, 1.0),
              fontsize=8, title_fontsize=9, ncol=ncol, markerscale=1.5, frameon=False)
    ax.grid(alpha=0.25)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches='tight')
    plt.close(fig)


def tsne_plot(features: np.ndarray, labels: np.ndarray, out: str,
              class_names: Optional[Sequence[str]] = None, perplexity: float = 30.0,
              seed: int = 0, title: Optional[str] = None, threads: int = 1) -> np.ndarray:
    """t-SNE of ``features (S, C)`` drawn coloured by ``labels (S,)`` into ``out``.

    Returns:
        the (S, 2) embedding.
    """
    labels = np.asarray(labels)
    if labels.shape != (len(features),):
        raise ValueError(f'tsne_plot: {len(features)} feature rows but labels of shape '
                         f'{labels.shape}')
    embedding = embed_tsne(features, perplexity, seed, threads)
    plot_embedding(embedding, labels, out, class_names, title)
    return embedding


def global_features(model, inputs: Dict) -> 'torch.Tensor':
    """(B, C) global features of a preprocessed batch."""
    import torch

    feats = model.extract_feat(inputs) if hasattr(model, 'extract_feat') else None
    if isinstance(feats, dict):
        feats = feats.get('global_features')
    if not (isinstance(feats, torch.Tensor) and feats.dim() == 2):
        out = model.backbone(inputs['points'], inputs['features'])
        feats = out.get('global_features') if isinstance(out, dict) else None
    if not (isinstance(feats, torch.Tensor) and feats.dim() == 2):
        raise ValueError(f'visualize_tsne: {type(model).__name__} gives no (B, C) global '
                         'features (neither extract_feat nor backbone(...)["global_features"])')
    return feats


def collect_features(model, split: str, max_samples: int, batch_size: Optional[int] = None,
                     seed: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray, List[str]]:
    """Global features of up to ``max_samples`` samples of ``model.cfg``'s ``split``
    dataloader dataset.

    Returns:
        features (S, C) float32, labels (S,) int64, dataset indices (S,) int64, class
        names (empty when the metainfo has none).
    """
    import torch
    from mmengine.registry import DATASETS, FUNCTIONS, DefaultScope

    cfg = model.cfg
    key = f'{split}_dataloader'
    where = cfg.filename or 'the config'
    if not cfg.get(key):
        raise KeyError(f'visualize_tsne: {where} has no {key}')
    if max_samples < 4:
        raise ValueError(f'visualize_tsne: --max-samples must be >= 4, got {max_samples}')
    loader_cfg = cfg[key]
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'crosspt')):
        dataset = DATASETS.build(loader_cfg.dataset)
        collate_cfg = dict(loader_cfg.get('collate_fn', dict(type='pseudo_collate')))
        collate = FUNCTIONS.get(collate_cfg.pop('type'))
    if collate_cfg:
        from functools import partial
        collate = partial(collate, **collate_cfg)
    total = len(dataset)
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(total, size=min(max_samples, total), replace=False))
    batch = int(batch_size or loader_cfg.get('batch_size', 16))
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, indices.tolist()),
                                         batch_size=batch, shuffle=False, num_workers=0,
                                         collate_fn=collate)
    feats, labels = [], []
    with torch.no_grad():
        for data in loader:
            samples = data.get('data_samples') or []
            if any('gt_label' not in s for s in samples) or not samples:
                raise KeyError(f'visualize_tsne: the {split} samples of {where} carry no '
                               'gt_label (a classification dataset is needed)')
            data = model.data_preprocessor(data, False)
            feats.append(global_features(model, data['inputs']).float().cpu().numpy())
            labels.extend(int(s.gt_label) for s in samples)
    classes = list(dataset.metainfo.get('classes') or [])
    return (np.concatenate(feats).astype(np.float32), np.asarray(labels, dtype=np.int64),
            indices.astype(np.int64), [str(c) for c in classes])


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='t-SNE of backbone global features')
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='checkpoint (default: the config\'s own init)')
    parser.add_argument('--split', choices=SPLITS, default='test')
    parser.add_argument('--max-samples', type=int, default=256)
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--seed', type=int, default=0, help='sample subset and t-SNE seed')
    parser.add_argument('--batch-size', type=int, help="override the loader's batch size")
    parser.add_argument('--tsne-threads', type=int, default=1,
                        help='OpenMP threads of the t-SNE (default 1, see embed_tsne)')
    parser.add_argument('--out', required=True, help='output PNG (features: <stem>.npz)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> np.ndarray:
    args = parse_args(argv)
    if args.checkpoint and not osp.isfile(args.checkpoint) and \
            not args.checkpoint.startswith(('http://', 'https://')):
        raise FileNotFoundError(f'visualize_tsne: checkpoint not found: {args.checkpoint}')
    from crosspt.apis import init_model

    model = init_model(args.config, checkpoint=args.checkpoint, device='cpu',
                       cfg_options=args.cfg_options)
    features, labels, indices, classes = collect_features(
        model, args.split, args.max_samples, args.batch_size, args.seed)
    title = (f'{osp.basename(args.config)} - {args.split} split, {len(labels)} samples\n'
             f'{osp.basename(args.checkpoint) if args.checkpoint else "no checkpoint"}, '
             f'{features.shape[1]}-d global features')
    embedding = tsne_plot(features, labels, args.out, classes or None, args.perplexity,
                          args.seed, title, args.tsne_threads)
    npz = osp.splitext(args.out)[0] + '.npz'
    np.savez(npz, features=features, labels=labels, indices=indices, embedding=embedding,
             class_names=np.asarray(classes, dtype=str))
    print(f'{len(labels)} samples, {len(set(labels.tolist()))} classes, features '
          f'{features.shape}; wrote {args.out} and {npz}')
    return embedding


if __name__ == '__main__':
    main()
