from .threedetr import (FourierPositionEmbedding, ThreeDETRDecoder, ThreeDETRDetector,
                        ThreeDETREncoder, ThreeDETRHeads, aligned_nms_3d, points_in_boxes_count,
                        radius_attention_mask, threedetr_post_process, unpack_det_samples)
from .threedetr_criterion import (ThreeDETRCriterion, ThreeDETRHungarianMatcher,
                                  aligned_box3d_giou, aligned_box3d_iou)

__all__ = ['ThreeDETRDetector', 'ThreeDETREncoder', 'ThreeDETRDecoder', 'ThreeDETRHeads',
           'FourierPositionEmbedding', 'ThreeDETRCriterion', 'ThreeDETRHungarianMatcher',
           'aligned_box3d_giou', 'aligned_box3d_iou', 'aligned_nms_3d', 'points_in_boxes_count',
           'radius_attention_mask', 'threedetr_post_process', 'unpack_det_samples']
