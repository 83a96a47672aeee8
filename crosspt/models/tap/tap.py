"""TAP: Take-A-Photo, 3D-to-2D generative pre-training of point cloud models (ICCV 2023).

A point backbone encodes the cloud; for each instructed camera pose the query
generator emits one query per image cell; the photograph module lets the queries
attend to the point features; the 2D generator turns the result into a view image,
compared with the rendered view by a foreground/background-weighted MSE.
After pre-training only ``backbone.*`` is kept (see tools/model_converters/publish_model.py).
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor

from crosspt.registry import MODELS

from ..base import PointAlgorithm

from ..data_preprocessor import PointDataPreprocessor


@MODELS.register_module()
class TAPDataPreprocessor(PointDataPreprocessor):
    """:class:`PointDataPreprocessor` that also scales uint8 view ``images (V, 3, H, W)``
    to float in [0, 1].

    Input ``inputs`` (from ``pseudo_collate``): ``points (N, 3)``, ``features (N, C)``,
    ``view_rotations (V, 3, 3)`` and ``images`` per sample.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        images = data['inputs'].get('images')
        if images is not None:
            data['inputs']['images'] = images.float() / 255.0 \
                if images.dtype == torch.uint8 else images.float()
        return data


@MODELS.register_module()
class TAP(PointAlgorithm):
    """TAP pretrainer.

    Args:
        backbone: point encoder returning ``dict(centers (B, M, 3), features (B, M, C),
            global_features (B, C))`` from ``(points (B, N, 3), features (B, N, C_in))``.
        query_generator: poses -> queries ``(B*V, Q, 8)`` (``TAPQueryGenerator``).
        memory_builder: ``(features, centers) -> (B, M, D)`` (``TAPMemoryBuilder``).
        photograph: ``(queries, memory) -> (B*V, D, S, S)`` (``TAPPhotographModule``).
        head: 2D generator + loss (``TAPViewHead``).
    """

    def __init__(self, backbone: dict, query_generator: dict, memory_builder: dict,
                 photograph: dict, head: dict, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='TAPDataPreprocessor')
        # built from crosspt's registry, so that no default scope is needed
        super().__init__(data_preprocessor=MODELS.build(data_preprocessor), init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.query_generator = MODELS.build(query_generator)
        self.memory_builder = MODELS.build(memory_builder)
        self.photograph = MODELS.build(photograph)
        self.head = MODELS.build(head)

    def extract_feat(self, inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        return self.backbone(inputs['points'], inputs['features'])

    def take_photos(self, inputs: Dict[str, Tensor]) -> Tensor:
        """Point cloud + poses -> view features (B*V, D, S, S)."""
        encoded = self.extract_feat(inputs)
        queries = self.query_generator(inputs['points'], inputs['view_rotations'])
        memory = self.memory_builder(encoded['features'], encoded['centers'])
        return self.photograph(queries, memory)

    def loss(self, inputs: Dict[str, Tensor],
             data_samples: Optional[Sequence[BaseDataElement]] = None) -> Dict[str, Tensor]:
        return self.head.loss(self.take_photos(inputs), inputs['images'])

    def predict(self, inputs: Dict[str, Tensor],
                data_samples: Optional[Sequence[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        """Returns one data sample per object with ``pred_images (V, 3, H, W)`` in [0, 1]
        (and ``gt_images`` when the inputs carry images)."""
        images = self.head.predict(self.take_photos(inputs))
        num_objects = inputs['points'].shape[0]
        images = images.view(num_objects, -1, *images.shape[1:])
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(num_objects)]
        for i, sample in enumerate(data_samples):
            sample.set_field(images[i], 'pred_images')
            if 'images' in inputs:
                sample.set_field(inputs['images'][i], 'gt_images')
        return list(data_samples)

    def tensor(self, inputs: Dict[str, Tensor]):
        return self.extract_feat(inputs)
