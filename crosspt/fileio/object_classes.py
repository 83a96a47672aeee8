"""Class lists and file names of the downstream object data sets
(docs/methods/benchmarks.md), shared by their loaders (:mod:`crosspt.datasets`) and the
synthetic stand-ins (:mod:`crosspt.synthetic.objects`)."""
from typing import Dict, Tuple

#: the standard alphabetical ModelNet40 class list, index = label id
MODELNET40_CLASSES: Tuple[str, ...] = (
    'airplane', 'bathtub', 'bed', 'bench', 'bookshelf', 'bottle', 'bowl', 'car', 'chair',
    'cone', 'cup', 'curtain', 'desk', 'door', 'dresser', 'flower_pot', 'glass_box', 'guitar',
    'keyboard', 'lamp', 'laptop', 'mantel', 'monitor', 'night_stand', 'person', 'piano',
    'plant', 'radio', 'range_hood', 'sink', 'sofa', 'stairs', 'stool', 'table', 'tent',
    'toilet', 'tv_stand', 'vase', 'wardrobe', 'xbox')

#: ScanObjectNN's 15 classes, index = label id (docs/methods/benchmarks.md, 'ScanObjectNN').
SCANOBJECTNN_CLASSES: Tuple[str, ...] = (
    'bag', 'bin', 'box', 'cabinet', 'chair', 'desk', 'display', 'door', 'shelf', 'table',
    'bed', 'pillow', 'sink', 'sofa', 'toilet')

#: ScanObjectNN variant -> (folder, file stem without the ``training_`` / ``test_`` prefix)
SCANOBJECTNN_VARIANTS: Dict[str, Tuple[str, str]] = {
    'pb_t50_rs': ('main_split', 'objectdataset_augmentedrot_scale75'),
    'obj_bg': ('main_split', 'objectdataset'),
    'obj_only': ('main_split_nobg', 'objectdataset'),
}
#: split -> ScanObjectNN file-name prefix
SCANOBJECTNN_SPLIT_PREFIX = {'train': 'training', 'test': 'test'}


def scanobjectnn_h5_name(split: str, variant: str) -> Tuple[str, str]:
    """(folder, file name) of one split of one variant, e.g.
    ``('main_split', 'test_objectdataset_augmentedrot_scale75.h5')``."""
    folder, stem = SCANOBJECTNN_VARIANTS[variant]
    return folder, f'{SCANOBJECTNN_SPLIT_PREFIX[split]}_{stem}.h5'


#: ShapeNetPart: category name -> its global part ids (docs/methods/benchmarks.md,
#: 'ShapeNetPart').
SHAPENETPART_PARTS: Dict[str, Tuple[int, ...]] = {
    'Airplane': (0, 1, 2, 3), 'Bag': (4, 5), 'Cap': (6, 7), 'Car': (8, 9, 10, 11),
    'Chair': (12, 13, 14, 15), 'Earphone': (16, 17, 18), 'Guitar': (19, 20, 21),
    'Knife': (22, 23), 'Lamp': (24, 25, 26, 27), 'Laptop': (28, 29),
    'Motorbike': (30, 31, 32, 33, 34, 35), 'Mug': (36, 37), 'Pistol': (38, 39, 40),
    'Rocket': (41, 42, 43), 'Skateboard': (44, 45, 46), 'Table': (47, 48, 49),
}
