# ModelNet40, modelnet40_normal_resampled text release, the form Point-BERT uses for
# the standard Transformer (docs/methods/benchmarks.md, 'ModelNet40'): 1024 points by FPS
# of each
# (cached FPS-8192 can be enabled with fps_cache_points=8192), centre + unit sphere,
# training scaling U(2/3, 3/2) + translation U(-0.2, 0.2).  Input: xyz + height.
dataset_type = 'ModelNet40NormalDataset'
data_root = 'data/modelnet40_normal_resampled'
num_points = 1024

train_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='FPSSamplePoints', num_points=num_points),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='RandomPointScaling', scale=(2 / 3, 3 / 2), anisotropic=True),
    dict(type='RandomTranslate', shift=0.2),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented')),
]
test_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='FPSSamplePoints', num_points=num_points),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented')),
]
tta_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='FPSSamplePoints', num_points=num_points),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='PointTestTimeAug', num_votes=10, transforms=[
        dict(type='RandomPointScaling', scale=(0.8, 1.2), anisotropic=True),
        dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented'))]),
]
tta_model = dict(type='PointClsTTAModel', average='logits')

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClassificationAccuracy', num_classes=40)
test_evaluator = val_evaluator
