# TAP ShapeNet55 pre-training data (docs/methods/tap.md, 'Pre-training data'): 1024-point
# .ply clouds + 12 MVCNN views.
# Layout: {data_root}/pointclouds/{train,val,test}/model_<id>.ply and
#         {data_root}/shapenet55v1/{train,val,test}/model_<id>_<view>.jpg
dataset_type = 'ShapeNet55ViewsDataset'
data_root = 'data/ShapeNet55'
num_points = 1024
num_views = 6

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
    batch_size=32,  # per GPU
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=val_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='ViewGenerationMetric', fg_weight=20.0, bg_weight=1.0)
test_evaluator = val_evaluator
