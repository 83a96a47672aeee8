# TAP pre-training on the embedded synthetic ShapeNet55-format data, shrunk so that a
# run takes minutes on a 2-core CPU (same loss, camera model and 224-px views as the
# published recipe):
#   - 3 of the 12 views per object and step instead of 6 (the 2D generator at 224 px
#     dominates the cost of a step);
#   - batch 8, 20 epochs over 56 objects (48 train + 8 val; 16 test objects for val).
# The data (tools/create_data.py synthetic-shapenet55) is generated on first use.
# The bases of tap_pretrain_shapenet55.py, inherited directly (its hooks are restated
# below): inheritance stays 3 levels deep.
_base_ = [
    './datasets/shapenet55_views.py',
    './schedules/adamw_cosine_100e.py',
    './default_runtime.py',
]

data_root = 'data/synthetic_shapenet55'
synthetic_data = dict(num_train=48, num_val=8, num_test=16, seed=0, num_points=1024)
num_points = 1024
num_views = 3
max_epochs = 20

train_pipeline = [
    dict(type='LoadPointsFromPLY', num_points=num_points, axis_order=(2, 0, 1)),
    dict(type='NormalizeToUnitSphere'),
    dict(type='ComputeHeight', gravity_dim=2),
    dict(type='RandomPointScaling', scale=(0.9, 1.1), anisotropic=True),
    dict(type='CenterAndNormalize', gravity_dim=2),
    dict(type='RandomSampleViews', num_views=num_views, num_views_total=12),
    dict(type='LoadViewImages', image_size=224),
    dict(type='PackTAPInputs', feature_keys=('points', 'height')),
]
val_pipeline = [
    dict(type='LoadPointsFromPLY', num_points=num_points, axis_order=(2, 0, 1)),
    dict(type='NormalizeToUnitSphere'),
    dict(type='ComputeHeight', gravity_dim=2),
    dict(type='CenterAndNormalize', gravity_dim=2),
    dict(type='RandomSampleViews', num_views=num_views, num_views_total=12,
         deterministic=True),
    dict(type='LoadViewImages', image_size=224),
    dict(type='PackTAPInputs', feature_keys=('points', 'height')),
]

train_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, pipeline=val_pipeline))
test_dataloader = val_dataloader
# the lr belongs to this run's own batch (8 objects per step, one process)
auto_scale_lr = dict(base_batch_size=8)

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5, by_epoch=True, begin=0,
         end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
custom_hooks = [dict(type='TAPViewGridHook', interval=35, max_objects=4)]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3,
                    save_best='view/loss', rule='less'),
    logger=dict(type='LoggerHook', interval=7))
