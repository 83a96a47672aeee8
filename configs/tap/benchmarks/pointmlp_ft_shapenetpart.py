# Fine-tune a TAP-pre-trained PointMLP part segmentor on ShapeNetPart
# (docs/methods/tap.md, 'ShapeNetPart fine-tuning'):
# AdamW 1e-3, wd 1e-4, 300 epochs (x0.1 at 210, 270), batch 16, Poly-1 focal loss,
# refinement; instance mIoU selects the checkpoint; the final test uses 10 votes:
#   CROSSPT_PRETRAINED=PATH bash tools/dist_train.sh configs/tap/benchmarks/pointmlp_ft_shapenetpart.py 8
#   python tools/test.py configs/tap/benchmarks/pointmlp_ft_shapenetpart.py CKPT --tta \
#     --cfg-options model.refine=False
# TAP paper number (README): 85.2 class mIoU / 86.9 instance mIoU.  Not reproduced here.
_base_ = [
    '../../_base_/models/partseg_pointmlp.py',
    '../../_base_/datasets/shapenetpart.py',
    '../../_base_/schedules/tap_partseg_300e.py',
    '../../_base_/default_runtime.py',
]

# Pre-trained backbone: the CROSSPT_PRETRAINED environment variable, or
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# From scratch: --cfg-options model.backbone.init_cfg=None
pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.',
                                # 6-d xyz + normals input vs the pre-trained 4-d
                                # xyz + height embedding: not loaded, as in TAP
                                ignore_keys=['embedding.net.0.weight'])))
default_hooks = dict(checkpoint=dict(save_best='partseg/instance_miou', rule='greater'))
