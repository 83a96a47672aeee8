# ShapeNetPart (shapenetcore_partanno_segmentation_benchmark_v0_normal) as TAP fine-tunes
# PointMLP on it (docs/methods/tap.md, 'ShapeNetPart fine-tuning'; docs/methods/benchmarks.md,
# 'ShapeNetPart'): train on trainval, 2048 points
# drawn with replacement, scaling 0.8-1.2 (anisotropic), centre + unit sphere (y up),
# jitter (sigma 0.001, clip 0.005), normals zeroed with p = 0.2 (TAP's ChromaticDrop);
# test on a cached FPS-2048 subsample.  Input: xyz + normals (6 channels).
dataset_type = 'ShapeNetPartDataset'
data_root = 'data/shapenetcore_partanno_segmentation_benchmark_v0_normal'
num_points = 2048

train_pipeline = [
    dict(type='LoadObjectPoints', with_normals=True),
    dict(type='RandomSamplePoints', num_points=num_points, replace=True),
    dict(type='RandomPointScaling', scale=(0.8, 1.2), anisotropic=True),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='RandomJitter', sigma=0.001, clip=0.005),
    dict(type='RandomDropNormals', p=0.2),
    dict(type='PackPartSegInputs', feature_keys=('points', 'normals')),
]
test_pipeline = [
    dict(type='LoadObjectPoints', with_normals=True),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='PackPartSegInputs', feature_keys=('points', 'normals')),
]
# tools/test.py --tta: TAP's final 10-vote test with random scaling 0.8-1.2.
tta_pipeline = [
    dict(type='LoadObjectPoints', with_normals=True),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='PointTestTimeAug', num_votes=10, transforms=[
        dict(type='RandomPointScaling', scale=(0.8, 1.2), anisotropic=True),
        dict(type='PackPartSegInputs', feature_keys=('points', 'normals'))]),
]
tta_model = dict(type='PartSegTTAModel')

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_fps_cache=True,
                 test_fps_points=num_points, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
# Instance mIoU selects the best checkpoint (docs/methods/tap.md, 'ShapeNetPart
# fine-tuning'); standard PointNet++ IoU rule.
val_evaluator = dict(type='PartSegMIoU', rule='pointnet2')
test_evaluator = val_evaluator
