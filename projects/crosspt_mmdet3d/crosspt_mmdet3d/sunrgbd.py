"""``CrossptSUNRGBDDataset``: mmdet3d's ``SUNRGBDDataset`` with crosspt's additions.

It reads exactly what mmdet3d's ``SUNRGBDDataset`` reads (mmdet3d's SUN RGB-D info format,
e.g. the synthetic scans of :mod:`crosspt.synthetic.sunrgbd_mmdet3d`) and adds what
``CrossptScanNetDataset`` adds (:mod:`.datasets`):

- ``auto_generate``: kwargs of ``generate_synthetic_sunrgbd_mmdet3d``; the synthetic data is
  generated once under ``data_root`` before the infos are loaded (a ``data_root`` holding
  other data, i.e. no ``synthetic_info.json``, is never touched);
- ``scene_fraction`` / ``fraction_seed``: a deterministic, nested subset of the scans;
- the ``ann_file`` pickle is read with crosspt's restricted unpickler
  (:mod:`crosspt.fileio.safe_pickle`), so an info file naming any global other than numpy
  arrays, scalars and plain containers is refused and runs no code;
- boxes of classes outside ``metainfo.classes`` are dropped (stock keeps them as label -1).

``modality`` defaults to points only (``use_camera=False``): 3DETR and VoteNet read no
image, and the synthetic infos have no ``images`` entry. With ``use_camera=True`` an info
without ``images`` raises an error naming the scan and the ann_file.
"""
from typing import Optional

from mmdet3d.datasets import SUNRGBDDataset
from mmdet3d.registry import DATASETS

from .datasets import _CrossptDetectionMixin, _CrossptScanNetMixin

__all__ = ['CrossptSUNRGBDDataset']


@DATASETS.register_module()
class CrossptSUNRGBDDataset(_CrossptDetectionMixin, _CrossptScanNetMixin, SUNRGBDDataset):
    """mmdet3d ``SUNRGBDDataset`` + ``auto_generate`` / ``scene_fraction`` / safe info
    loading (module docstring). Every other argument is ``SUNRGBDDataset``'s.

    Args:
        auto_generate: kwargs of ``generate_synthetic_sunrgbd_mmdet3d`` or None.
        scene_fraction: fraction of the scans to keep, in (0, 1].
        fraction_seed: seed of the kept subset.
        modality: default ``dict(use_camera=False, use_lidar=True)``.
    """

    GENERATOR = 'generate_synthetic_sunrgbd_mmdet3d'
    CREATE_DATA_HINT = ("mmdet3d's tools/create_data.py sunrgbd (real data) or "
                        'auto_generate=dict() (crosspt.synthetic.sunrgbd_mmdet3d)')

    def __init__(self, data_root: str, ann_file: str, *, auto_generate: Optional[dict] = None,
                 scene_fraction: float = 1.0, fraction_seed: int = 0,
                 modality: Optional[dict] = None, **kwargs) -> None:
        self._setup_crosspt(auto_generate, scene_fraction, fraction_seed)
        modality = dict(use_camera=False, use_lidar=True) if modality is None else modality
        super().__init__(data_root=data_root, ann_file=ann_file, modality=modality, **kwargs)

    def parse_data_info(self, info: dict) -> dict:
        """Stock parsing; a clear error when the camera branch meets an info without
        ``images``."""
        if self.modality.get('use_camera') and 'images' not in info:
            raise KeyError(f"{type(self).__name__}: scan {info.get('sample_idx', '?')} of "
                           f"{self.ann_file} has no 'images' entry but modality.use_camera is "
                           'True; set modality=dict(use_camera=False, use_lidar=True) for '
                           'point-only detectors (the synthetic scans have no images)')
        return super().parse_data_info(info)
