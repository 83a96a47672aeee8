"""ScanNet class lists (docs/methods/benchmarks.md, 'Classes and ignore index' and
'ScanNet detection classes'), shared by the loaders (:mod:`crosspt.datasets`), the
synthetic scenes (:mod:`crosspt.synthetic`) and the mmdet3d project."""
from typing import Dict, Tuple

#: The 20 ScanNet benchmark classes, train ids 0..19.
SCANNET20_CLASSES: Tuple[str, ...] = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window',
    'bookshelf', 'picture', 'counter', 'desk', 'curtain', 'refrigerator', 'shower curtain',
    'toilet', 'sink', 'bathtub', 'otherfurniture')
#: NYU40 id of each of those classes, in train-id order.
SCANNET20_NYU40_IDS: Tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24,
                                        28, 33, 34, 36, 39)
#: largest NYU40 id (0 = unannotated)
MAX_NYU40_ID = 40

#: mmdet3d ``ScanNetDataset.METAINFO['classes']`` and their NYU40 ids
SCANNET18_DET_CLASSES: Tuple[str, ...] = (
    'cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf', 'picture',
    'counter', 'desk', 'curtain', 'refrigerator', 'showercurtrain', 'toilet', 'sink',
    'bathtub', 'garbagebin')
SCANNET18_DET_NYU40_IDS: Tuple[int, ...] = (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28,
                                            33, 34, 36, 39)
#: NYU40 id -> detection label 0..17
NYU40_TO_DET_LABEL: Dict[int, int] = {n: i for i, n in enumerate(SCANNET18_DET_NYU40_IDS)}
