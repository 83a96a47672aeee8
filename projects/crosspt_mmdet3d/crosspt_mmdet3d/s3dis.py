"""``CrossptS3DISSegDataset``: mmdet3d's ``S3DISSegDataset`` with crosspt's additions.

It reads exactly what mmdet3d 1.4.0's ``S3DISSegDataset`` reads (``tools/create_data.py
s3dis``: ``s3dis_infos_Area_<a>.pkl``, ``points`` / ``semantic_mask`` / ``instance_mask``
``.bin`` files, ``seg_info/Area_<a>_resampled_scene_idxs.npy``; or the synthetic rooms of
:mod:`crosspt.synthetic.s3dis_mmdet3d`), one info file per area in ``ann_files``, the
areas' rooms concatenated (PPKT's protocol trains on Areas 1-4 and 6 and tests on Area 5),
and adds what :mod:`.datasets` adds to the ScanNet datasets:

- ``auto_generate``: kwargs of ``generate_synthetic_s3dis_mmdet3d``, generated once
  under ``data_root`` before any info file is read (real data is never touched);
- the info pickles are read with crosspt's restricted unpickler (no code runs from them);
- ``scene_idxs``: per area as in mmdet3d (one path / array for every area or a list),
  checked against the area's rooms, or ``'every_scene'`` (every room once per epoch, the
  whole-scene protocol); a training split without it is refused with the expected path;
- ``scene_fraction`` / ``fraction_seed``: the kept subset is drawn per area.
"""
from typing import List, Optional, Sequence, Union

import numpy as np
from mmdet3d.datasets.s3dis_dataset import _S3DISSegDataset
from mmdet3d.registry import DATASETS

from .datasets import _CrossptSegMixin

__all__ = ['CrossptS3DISSegDataset']

SceneIdxs = Union[None, str, np.ndarray, Sequence[int]]


class _CrossptS3DISArea(_CrossptSegMixin, _S3DISSegDataset):
    """One S3DIS area (``ann_file``) with crosspt's loading and ``scene_idxs`` checks."""

    GENERATOR = 'generate_synthetic_s3dis_mmdet3d'
    CREATE_DATA_HINT = ("mmdet3d's tools/create_data.py s3dis (real data) or "
                        'auto_generate=dict() (crosspt.synthetic.s3dis_mmdet3d)')
    SCENE_IDXS_HINT = 'seg_info/Area_<a>_resampled_scene_idxs.npy'


@DATASETS.register_module()
class CrossptS3DISSegDataset(_CrossptS3DISArea):
    """mmdet3d ``S3DISSegDataset`` + ``auto_generate`` / safe info loading / checked
    ``scene_idxs`` (module docstring).  Every other argument is ``S3DISSegDataset``'s.

    Args:
        ann_files: one info file per area (a single path is one area).
        scene_idxs: per area: a ``.npy`` path (relative to ``data_root`` or as given), an
            int array or ``'every_scene'``; one value for every area or a list as long as
            ``ann_files``.  Required unless ``test_mode``.
        auto_generate: kwargs of ``generate_synthetic_s3dis_mmdet3d`` or None.
        scene_fraction, fraction_seed: the limited-label subset, drawn per area.
    """

    def __init__(self, data_root: Optional[str] = None,
                 ann_files: Union[str, Sequence[str]] = '', *, scene_idxs: SceneIdxs = None,
                 test_mode: bool = False, auto_generate: Optional[dict] = None,
                 **kwargs) -> None:
        files = [ann_files] if isinstance(ann_files, str) else list(ann_files)
        if not files or not all(files):
            raise ValueError(f'{type(self).__name__}: ann_files is empty')
        per_area = self._per_area_scene_idxs(scene_idxs, len(files))
        # the first area initialises the attributes (and generates the data), as stock
        super().__init__(data_root=data_root, ann_file=files[0], scene_idxs=per_area[0],
                         test_mode=test_mode, auto_generate=auto_generate, **kwargs)
        areas = [_CrossptS3DISArea(data_root=data_root, ann_file=file, scene_idxs=idxs,
                                   test_mode=test_mode, **kwargs)
                 for file, idxs in zip(files, per_area)]
        self.ann_files = list(files)
        self.data_list = [info for area in areas for info in area.data_list]
        if not test_mode:
            self._set_group_flag()

    def _per_area_scene_idxs(self, scene_idxs: SceneIdxs, num_areas: int) -> List[SceneIdxs]:
        """``scene_idxs`` as one entry per area (ValueError when a list's length differs
        from the number of areas)."""
        if scene_idxs is None or isinstance(scene_idxs, str) or (
                len(scene_idxs) and not isinstance(scene_idxs[0],
                                                   (str, list, tuple, np.ndarray))):
            return [scene_idxs] * num_areas
        if len(scene_idxs) != num_areas:
            raise ValueError(f'{type(self).__name__}: scene_idxs has {len(scene_idxs)} '
                             f'entries but ann_files has {num_areas} areas')
        return list(scene_idxs)
