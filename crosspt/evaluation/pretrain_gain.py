"""Building blocks of the "does pre-training help?" benchmark (docs/finetuning.md,
"Does pre-training help? (embedded benchmark)"), used by tools/benchmarks/pretrain_gain.py.

- :func:`balanced_subset`: ``k`` labelled samples of every class, drawn with a seed
  (nested: the subset for ``k`` holds the one for every smaller ``k`` of the same seed).
- :func:`pooled_std`, :func:`compare`: the sample std pooled over two groups of seeds
  and the rule "gain > 2 x pooled std".
- :func:`finetune`: an encoder plus a linear head trained end to end for a fixed number
  of steps (AdamW, cosine decay), the same batch sequence for every initialisation;
  :func:`score_head` scores it on a whole split afterwards (no model selection).
- :func:`format_table`: the markdown table of the summaries.

Accuracies are fractions in [0, 1].
"""
import math
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from torch import Tensor, nn

#: fetch(indices) -> (points (B, N, 3), features (B, N, C_in), labels (B,) int64)
Fetch = Callable[[np.ndarray], Tuple[Tensor, Tensor, Tensor]]


# ----------------------------------------------------------------------------- subsets
def balanced_subset(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Sorted indices of ``k`` samples of every class present in ``labels (S,)``.

    Each class's samples are permuted with ``default_rng([seed, class])`` and the first
    ``k`` kept, so for one seed the subsets of growing ``k`` are nested.  Raises
    ValueError naming the class when it has fewer than ``k`` samples.
    """
    labels = np.asarray(labels)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f'balanced_subset: k must be a positive int, got {k!r}')
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f'balanced_subset: labels must be a non-empty (S,) array, got '
                         f'shape {labels.shape}')
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < k:
            raise ValueError(f'balanced_subset: class {int(cls)} has {len(members)} labelled '
                             f'samples, fewer than k={k}; lower the labels per class or '
                             f'generate more training objects per class')
        order = np.random.default_rng([int(seed), int(cls)]).permutation(len(members))
        chosen.append(members[order[:k]])
    return np.sort(np.concatenate(chosen))


# ----------------------------------------------------------------------------- statistics
def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """(mean, sample std with ddof=1; 0.0 for a single value)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError('mean_std: no value')
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), std


def pooled_std(a: Sequence[float], b: Sequence[float]) -> float:
    """sqrt(((n_a - 1) s_a^2 + (n_b - 1) s_b^2) / (n_a + n_b - 2)) with sample stds
    ``s``; needs n_a + n_b > 2."""
    n_a, n_b = len(a), len(b)
    if n_a < 1 or n_b < 1 or n_a + n_b <= 2:
        raise ValueError(f'pooled_std: need n_a, n_b >= 1 and n_a + n_b > 2, got {n_a}, {n_b}')
    (_, s_a), (_, s_b) = mean_std(a), mean_std(b)
    return math.sqrt(((n_a - 1) * s_a ** 2 + (n_b - 1) * s_b ** 2) / (n_a + n_b - 2))


def compare(values: Sequence[float], reference: Sequence[float]) -> Dict:
    """Summary of ``values`` (one per seed) against ``reference`` (random init):
    dict(mean, std, n, delta = mean - mean(reference), pooled_std, beats =
    delta > 2 * pooled_std)."""
    mean, std = mean_std(values)
    ref_mean, _ = mean_std(reference)
    pooled = pooled_std(values, reference)
    delta = mean - ref_mean
    return dict(mean=mean, std=std, n=len(values), delta=delta, pooled_std=pooled,
                beats=bool(delta > 2 * pooled))


# ----------------------------------------------------------------------------- fine-tuning
class LinearHeadClassifier(nn.Module):
    """``backbone`` (``(points (B, N, 3), features (B, N, C_in))`` -> dict with
    ``global_features (B, C)``) followed by ``nn.Linear(C, num_classes)``."""

    def __init__(self, backbone: nn.Module, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(in_channels, num_classes)

    def forward(self, points: Tensor, features: Tensor) -> Tensor:
        """Logits (B, num_classes)."""
        return self.head(self.backbone(points, features)['global_features'])


def batch_schedule(num_items: int, batch_size: int, steps: int, seed: int
                   ) -> List[np.ndarray]:
    """Index batches of ``steps`` steps over ``num_items`` items: epochs of
    ``default_rng(seed)`` permutations cut into batches of ``min(batch_size,
    num_items)`` (the remainder of an epoch is dropped), so no batch repeats an item."""
    if num_items < 1 or batch_size < 1 or steps < 1:
        raise ValueError(f'batch_schedule: need num_items, batch_size, steps >= 1, got '
                         f'{num_items}, {batch_size}, {steps}')
    rng, size = np.random.default_rng(seed), min(batch_size, num_items)
    batches: List[np.ndarray] = []
    while len(batches) < steps:
        order = rng.permutation(num_items)
        batches += [order[i * size:(i + 1) * size] for i in range(num_items // size)]
    return batches[:steps]


def finetune(backbone: nn.Module, in_channels: int, num_classes: int, fetch: Fetch,
             num_items: int, steps: int, batch_size: int, lr: float, weight_decay: float,
             seed: int, label_smoothing: float = 0.0, log_interval: int = 0,
             name: str = 'finetune') -> Tuple[LinearHeadClassifier, Dict]:
    """Train ``backbone`` + a fresh linear head end to end for exactly ``steps`` steps.

    The head is initialised from ``torch.manual_seed(seed)`` (torch's global RNG is
    restored afterwards); batches follow :func:`batch_schedule` (``seed``), so two
    initialisations with the same seed see the same samples in the same order.  AdamW
    over every parameter, learning rate ``lr`` decayed with a cosine to 0 over the steps,
    cross entropy (``label_smoothing``).  ``fetch(indices)`` returns the (augmented)
    batch.  Returns (model in eval mode, dict(steps, samples_seen, losses (steps,),
    seconds)).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LinearHeadClassifier(backbone, in_channels, num_classes)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        model.train()
        losses, seen, start = [], 0, time.time()
        for step, idx in enumerate(batch_schedule(num_items, batch_size, steps, seed)):
            points, features, labels = fetch(idx)
            loss = criterion(model(points, features), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            seen += len(labels)
            if log_interval and ((step + 1) % log_interval == 0 or step + 1 == steps):
                print_log(f'[pretrain_gain] {name}: step {step + 1}/{steps}, loss '
                          f'{losses[-1]:.4f} ({time.time() - start:.1f} s)', logger='current')
    return model.eval(), dict(steps=steps, samples_seen=seen, losses=losses,
                              seconds=time.time() - start)


@torch.no_grad()
def score_head(head: nn.Module, features: np.ndarray, labels: np.ndarray) -> Dict:
    """Accuracy of ``head`` on frozen ``features (S, C)`` with ``labels (S,)``:
    dict(accuracy, mean_class_accuracy, num_test)."""
    logits = head(torch.as_tensor(np.asarray(features), dtype=torch.float32))
    pred = logits.argmax(1).cpu().numpy()
    labels = np.asarray(labels)
    per_class = [float(np.mean(pred[labels == c] == c)) for c in np.unique(labels)]
    return dict(accuracy=float(np.mean(pred == labels)),
                mean_class_accuracy=float(np.mean(per_class)), num_test=int(len(labels)))


# ----------------------------------------------------------------------------- table
def _cell(mean: float, std: float) -> str:
    return f'{100 * mean:.1f} ± {100 * std:.1f}'


def format_table(summaries: Dict[str, Dict[str, Dict]], inits: Sequence[str],
                 reference: str = 'random', metric: str = 'OA') -> str:
    """Markdown table: one row per (protocol, init), one column group per budget.

    ``summaries[protocol][budget][init]`` is a :func:`compare` dict (``metric``, e.g. OA
    or mIoU, in [0, 1]);
    cells show mean ± std in %, and for inits other than ``reference`` also
    delta / pooled std and whether delta > 2 x pooled std.
    """
    lines = [f'| protocol | labels | init | seeds | {metric} (%) mean ± std | delta vs '
             f'{reference} (pp) | pooled std (pp) | delta > 2 x pooled |',
             '|---|---|---|---|---|---|---|---|']
    for protocol, budgets in summaries.items():
        for budget, rows in budgets.items():
            for init in inits:
                if init not in rows:
                    continue
                s = rows[init]
                extra = ('—', '—', '—') if init == reference else (
                    f'{100 * s["delta"]:+.1f}', f'{100 * s["pooled_std"]:.1f}',
                    'yes' if s['beats'] else 'no')
                lines.append(f'| {protocol} | {budget} | {init} | {s["n"]} | '
                             f'{_cell(s["mean"], s["std"])} | ' + ' | '.join(extra) + ' |')
    return '\n'.join(lines)


__all__ = ['balanced_subset', 'mean_std', 'pooled_std', 'compare', 'LinearHeadClassifier',
           'batch_schedule', 'finetune', 'score_head', 'format_table']
