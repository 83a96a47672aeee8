# Quick start: TAP pre-training of PointMLP-elite on the embedded synthetic
# ShapeNet55-format objects, sized for a 2-core CPU so that the generated views of
# held-out objects leave the grey field and follow each object's extent and pose
# (validation view/fg_iou 0.53 against a constant-image floor of 0.36 after 2,400
# iterations, 7.5 minutes on 2 idle cores; curves, times and pictures in
# docs/pretraining.md, "The quick-start recipe").
#   python tools/train.py configs/tap/pointmlp_synthetic.py
# Same model family, loss, camera model and data format as the published recipe
# (configs/tap/pointmlp_1xb32-100e_shapenet55.py); the departures, all for speed on a CPU, are
# written out below:
#   - 56-px views, generated at 56 px; a 2-layer generator 7 -> 28 -> 56;
#   - photograph module 128-d with 4 heads x 32, 2 blocks, no dropout; memory 128-d;
#   - PointMLP-elite (256-d features) on 512 points, i.e. 32 memory centres;
#   - batch 1 object x all 12 views (measured: per iteration it learns as fast as
#     batch 2 at half the cost), AdamW lr 1e-3 after a 20-iteration warm-up, cosine
#     decay over 12 epochs (2,400 iterations);
#   - foreground weight 2 instead of 20: with 20, a pixel is only drawn as background
#     once the model is >99.7 % sure it is empty, and the views stay a grey field for
#     hundreds of iterations (docs/pretraining.md).
_base_ = [
    '../_base_/models/tap_pointmlp.py',
    '../_base_/tap_pretrain_synthetic.py',
]

image_size = 56
num_points = 512
num_views = 12
fg_weight = 2.0
max_epochs = 12         # 200 iterations per epoch (200 training objects / batch 1)

model = dict(
    backbone=dict(
        embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
        pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1)),
    query_generator=dict(img_size=image_size, obj_size=image_size * 200 // 224,
                         downsample_ratio=image_size // 7),
    memory_builder=dict(in_channels=256, embed_dims=128),
    photograph=dict(embed_dims=128, num_heads=4, head_dims=32, depth=2, ffn_ratio=2,
                    dropout=0.0),
    head=dict(decoder=dict(in_channels=128, hidden_channels=(128,)),
              loss=dict(fg_weight=fg_weight)))

# 192 + 8 objects train (TAP's train split reads the train and val subsets), 16 held-out
# objects validate; its own folder, since the other *_synthetic.py configs use 224-px views
data_root = 'data/synthetic_shapenet55_56px'
synthetic_data = dict(num_train=192, num_val=8, num_test=16, seed=0, num_points=1024,
                      image_size=image_size)

train_pipeline = [
    dict(type='LoadPointsFromPLY', num_points=num_points, axis_order=(2, 0, 1)),
    dict(type='NormalizeToUnitSphere'),
    dict(type='ComputeHeight', gravity_dim=2),
    dict(type='RandomPointScaling', scale=(0.9, 1.1), anisotropic=True),
    dict(type='CenterAndNormalize', gravity_dim=2),
    dict(type='RandomSampleViews', num_views=num_views, num_views_total=12),
    dict(type='LoadViewImages', image_size=image_size),
    dict(type='PackTAPInputs', feature_keys=('points', 'height')),
]
val_pipeline = [
    dict(type='LoadPointsFromPLY', num_points=num_points, axis_order=(2, 0, 1)),
    dict(type='NormalizeToUnitSphere'),
    dict(type='ComputeHeight', gravity_dim=2),
    dict(type='CenterAndNormalize', gravity_dim=2),
    dict(type='RandomSampleViews', num_views=num_views, num_views_total=12,
         deterministic=True),
    dict(type='LoadViewImages', image_size=image_size),
    dict(type='PackTAPInputs', feature_keys=('points', 'height')),
]
train_dataloader = dict(
    batch_size=1, num_workers=1,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, pipeline=val_pipeline))
test_dataloader = val_dataloader
auto_scale_lr = dict(base_batch_size=1)   # the lr belongs to 1 object per step
val_evaluator = dict(fg_weight=fg_weight)
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5, by_epoch=True, begin=0,
         end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
custom_hooks = [dict(type='TAPViewGridHook', interval=400, max_objects=1, val_objects=4)]
default_hooks = dict(
    checkpoint=dict(interval=2),
    logger=dict(interval=50))
