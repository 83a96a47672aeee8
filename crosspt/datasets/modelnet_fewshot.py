"""Few-shot ModelNet40 episodes.

[UNVERIFIED] Point-BERT's ModelNetFewshot layout (not from a checked source; recalled, check
against a real download before relying on it)::

    ModelNetFewshot/{way}way_{shot}shot/{fold}.pkl        fold = 0..9

Each pickle is a dict ``{'train': [...], 'test': [...]}`` whose items are tuples
``(points (N, 6) or (N, 3) float32, label int in [0, way), name str)``.  The loader here
validates that layout strictly: both keys and nothing else, 3-tuples of those types,
finite points, every label of ``0..way-1`` present in both lists and exactly ``shot``
training items per label.

The episodes are pickles because that is the format's choice (Point-BERT's release).  A
plain ``pickle.load`` would run any code the file names, so they are read with
:class:`crosspt.fileio.safe_pickle.RestrictedUnpickler`, which allows only numpy arrays,
scalars and plain containers and refuses anything else with an error naming the file and
the refused global (docs/data_preparation.md).
"""
import os
from typing import Callable, List, Optional, Sequence, Union

import numpy as np

from crosspt.fileio.safe_pickle import UnsafePickleError, restricted_pickle_load
from crosspt.registry import DATASETS

from .object_datasets import BaseObjectDataset, log

FEWSHOT_DIR = 'ModelNetFewshot'


def episode_dir(way: int, shot: int) -> str:
    """``'{way}way_{shot}shot'``."""
    return f'{way}way_{shot}shot'


@DATASETS.register_module()
class ModelNetFewShotDataset(BaseObjectDataset):
    """One split of one few-shot episode (fold) of ModelNet40.

    Data info: ``{'cloud': (N, 3) float32 (or (N, 6) with ``use_normals`` when the
    pickle holds normals), 'label': int in [0, way), 'name': str, 'sample_idx': int,
    'source': '<pkl>[<split> <i>]'}``.  ``metainfo['classes']`` holds, per label, the
    class part of the item names (``'airplane'`` for ``'airplane_0001'``) when all items
    of that label agree, else ``'class_<label>'``.

    Args:
        data_root: folder holding ``ModelNetFewshot/`` or that folder.
        way, shot: episode size (classes, training shapes per class).
        fold: episode index 0..9.
        split: ``'train'`` (the support set) or ``'test'`` (the query set).
        pipeline: transform configs or callables.
        use_normals: keep columns 3..5 (requires (N, 6) points).
        auto_generate: kwargs of ``generate_synthetic_fewshot`` (``ways``, ``shots`` and
            ``num_folds`` default to this dataset's way, shot and max(10, fold + 1)).
    """

    METAINFO: dict = dict(dataset_name='ModelNet40 few-shot')
    GENERATOR = 'generate_synthetic_fewshot'
    CREATE_COMMAND = 'synthetic-fewshot'
    DATA_HELP = ("Get Point-BERT's ModelNetFewshot folder (linked from its DATASET.md) and "
                 'unpack it under data_root.')

    def __init__(self, data_root: str, way: int = 5, shot: int = 10, fold: int = 0,
                 split: str = 'train', pipeline: Sequence[Union[dict, Callable]] = (),
                 use_normals: bool = False, auto_generate: Optional[dict] = None,
                 **kwargs) -> None:
        for key, value in (('way', way), ('shot', shot)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'ModelNetFewShotDataset: {key} must be a positive int, '
                                 f'got {value!r}')
        if isinstance(fold, bool) or not isinstance(fold, int) or fold < 0:
            raise ValueError(f'ModelNetFewShotDataset: fold must be an int >= 0, got {fold!r}')
        self.way, self.shot, self.fold = way, shot, fold
        self.use_normals = bool(use_normals)
        self.pkl_path: Optional[str] = None
        super().__init__(data_root, split=split, pipeline=pipeline,
                         auto_generate=auto_generate, **kwargs)

    def _candidates(self) -> List[str]:
        rel = os.path.join(episode_dir(self.way, self.shot), f'{self.fold}.pkl')
        return [os.path.join(self.data_root, FEWSHOT_DIR, rel), os.path.join(self.data_root, rel)]

    def _data_present(self) -> bool:
        return any(os.path.isfile(p) for p in self._candidates())

    def _generator_kwargs(self) -> dict:
        """``auto_generate`` with ``ways``/``shots``/``num_folds`` defaulting to this
        dataset's."""
        kwargs = dict(self.auto_generate)
        kwargs.setdefault('ways', (self.way,))
        kwargs.setdefault('shots', (self.shot,))
        kwargs.setdefault('num_folds', max(10, self.fold + 1))
        return kwargs

    def _check_item(self, item: object, where: str) -> tuple:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            size = f' of length {len(item)}' if isinstance(item, (tuple, list)) else ''
            raise ValueError(f'ModelNetFewShotDataset: {where} must be a tuple (points, '
                             f'label, name), got {type(item).__name__}{size}')
        points, label, name = item
        if not isinstance(points, np.ndarray) or points.ndim != 2 or \
                points.shape[1] not in (3, 6) or len(points) == 0 or points.dtype.kind != 'f':
            desc = (f'{points.dtype} {points.shape}' if isinstance(points, np.ndarray)
                    else type(points).__name__)
            raise ValueError(f'ModelNetFewShotDataset: {where}: points must be a float array '
                             f'(N, 3) or (N, 6), got {desc}')
        if not np.isfinite(points).all():
            row = int(np.argmax(~np.isfinite(points).all(axis=1)))
            raise ValueError(f'ModelNetFewShotDataset: {where}: point row {row} is NaN or inf')
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) \
                or not 0 <= int(label) < self.way:
            raise ValueError(f'ModelNetFewShotDataset: {where}: label {label} must be an int '
                             f'in [0, {self.way})')
        if not isinstance(name, str):
            raise ValueError(f'ModelNetFewShotDataset: {where}: name must be a str, got '
                             f'{type(name).__name__}')
        if self.use_normals and points.shape[1] != 6:
            raise ValueError(f'ModelNetFewShotDataset: {where}: use_normals=True needs (N, 6) '
                             f'points, got {points.shape}')
        return points, int(label), name

    def _read_episode(self, path: str) -> dict:
        try:
            episode = restricted_pickle_load(path)
        except UnsafePickleError as exc:
            raise UnsafePickleError(f'ModelNetFewShotDataset: {exc}') from None
        except ValueError as exc:  # truncated or corrupt pickle; the message names path
            raise ValueError(f'ModelNetFewShotDataset: cannot unpickle {exc}') from exc
        if not isinstance(episode, dict) or set(episode) != {'train', 'test'} or \
                not all(isinstance(episode[k], list) for k in ('train', 'test')):
            keys = sorted(map(str, episode)) if isinstance(episode, dict) else None
            raise ValueError(f'ModelNetFewShotDataset: {path} must hold a dict with exactly '
                             f"the list entries 'train' and 'test', got "
                             f'{type(episode).__name__} with keys {keys}')
        checked = {}
        for split in ('train', 'test'):
            items = [self._check_item(item, f'{path}[{split} {i}]')
                     for i, item in enumerate(episode[split])]
            counts = np.bincount([label for _, label, _ in items], minlength=self.way)
            if (counts == 0).any():
                raise ValueError(f'ModelNetFewShotDataset: {path}: {split} has no item of '
                                 f'label(s) {np.nonzero(counts == 0)[0].tolist()} '
                                 f'(way={self.way})')
            if split == 'train' and (counts != self.shot).any():
                raise ValueError(f'ModelNetFewShotDataset: {path}: train must hold exactly '
                                 f'shot={self.shot} items per label, got counts '
                                 f'{counts.tolist()}')
            checked[split] = items
        return checked

    def load_data_list(self) -> List[dict]:
        self._maybe_generate()
        if not os.path.isdir(self.data_root):
            raise self.missing(self.data_root, 'data_root does not exist')
        path = next((p for p in self._candidates() if os.path.isfile(p)), None)
        if path is None:
            raise self.missing(' or '.join(self._candidates()), 'episode pickle not found')
        self.pkl_path = path
        log(f'ModelNetFewShotDataset: reading {path} ({self.split})')
        items = self._read_episode(path)[self.split]
        classes = []
        for label in range(self.way):
            prefixes = {name.rsplit('_', 1)[0] for _, lab, name in items if lab == label}
            classes.append(prefixes.pop() if len(prefixes) == 1 else f'class_{label}')
        self.set_classes(classes)
        return [dict(cloud=np.ascontiguousarray(points[:, :6 if self.use_normals else 3],
                                                dtype=np.float32),
                     label=label, name=name, sample_idx=i, source=f'{path}[{self.split} {i}]')
                for i, (points, label, name) in enumerate(items)]
