# PointMLP-elite part segmentation on the embedded synthetic ShapeNetPart-format data
# (5 categories), backbone size of configs/tap/pointmlp_synthetic.py; TAP's part-seg
# recipe shrunk to 30 epochs (x0.1 at 21, 27).
_base_ = [
    '../../_base_/models/partseg_pointmlp.py',
    '../../_base_/datasets/synthetic_shapenetpart.py',
    '../../_base_/schedules/tap_partseg_300e.py',
    '../../_base_/default_runtime.py',
]

# Pre-trained backbone: the CROSSPT_PRETRAINED environment variable, or
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# From scratch: --cfg-options model.backbone.init_cfg=None
pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(
    backbone=dict(
        embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
        pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1),
        de_dims=(256, 128, 64, 64), de_blocks=(1, 1, 1, 1), gmp_dim=32, cls_dim=32,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.',
                      # 6-d xyz + normals input vs the pre-trained 4-d xyz + height
                      # embedding: not loaded, as in TAP
                      ignore_keys=['embedding.net.0.weight'])),
    head=dict(in_channels=64 + 32 + 32))
default_hooks = dict(checkpoint=dict(save_best='partseg/instance_miou', rule='greater'),
                     logger=dict(interval=5))
max_epochs = 30
param_scheduler = [
    dict(type='MultiStepLR', milestones=[21, 27], gamma=0.1, by_epoch=True, begin=0,
         end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
