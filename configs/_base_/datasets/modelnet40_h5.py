# ModelNet40, 2048-point h5 release (modelnet40_ply_hdf5_2048/ply_data_{train,test}*.h5),
# the form PointMLP and DGCNN use (docs/methods/benchmarks.md, 'ModelNet40'): the first
# 1024 points; training
# adds anisotropic scaling U(2/3, 3/2), translation U(-0.2, 0.2) and a shuffle.
# Input: xyz + height (y up, height of the un-augmented cloud as in TAP).
dataset_type = 'ModelNet40H5Dataset'
data_root = 'data/modelnet40_ply_hdf5_2048'
num_points = 1024

train_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=num_points),
    dict(type='ComputeHeight', gravity_dim=1),
    dict(type='RandomPointScaling', scale=(2 / 3, 3 / 2), anisotropic=True),
    dict(type='RandomTranslate', shift=0.2),
    dict(type='ShufflePoints'),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height')),
]
test_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=num_points),
    dict(type='ComputeHeight', gravity_dim=1),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height')),
]
# tools/test.py --tta: 10 votes of random scaling (PointMLP's voting;
# docs/methods/benchmarks.md, 'Voting').
tta_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=num_points),
    dict(type='ComputeHeight', gravity_dim=1),
    dict(type='PointTestTimeAug', num_votes=10, transforms=[
        dict(type='RandomPointScaling', scale=(0.8, 1.2), anisotropic=True),
        dict(type='PackPointClsInputs', feature_keys=('points', 'height'))]),
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
