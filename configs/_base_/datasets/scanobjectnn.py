# ScanObjectNN as TAP fine-tunes on it (docs/methods/tap.md, 'ScanObjectNN fine-tuning';
# docs/methods/benchmarks.md, 'ScanObjectNN').
# Layout: {data_root}/main_split/{training,test}_objectdataset_augmentedrot_scale75.h5
# (PB_T50_RS), main_split/{training,test}_objectdataset.h5 (OBJ_BG),
# main_split_nobg/{...}.h5 (OBJ_ONLY); data_root may also be the parent of h5_files/.
# Train: 2048 points, shuffled -> scaling 0.9-1.1 (anisotropic) -> centre + unit sphere (y up) ->
# rotation about y -> FPS 1200 then a random 1024.  Test: the first 1024 points of a
# cached FPS-1024 subsample.  Input: xyz + height (y - min y, before centring).
# As in TAP, the validation set *is* the ScanObjectNN test set.
dataset_type = 'ScanObjectNNDataset'
data_root = 'data/ScanObjectNN/h5_files'
variant = 'pb_t50_rs'  # 'pb_t50_rs' | 'obj_bg' | 'obj_only'
num_points = 1024

train_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='ShufflePoints'),  # FPS starts at index 0; TAP shuffles the 2048 points
    dict(type='RandomPointScaling', scale=(0.9, 1.1), anisotropic=True),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='RandomRotateAxis', axis=1),
    dict(type='FPSThenRandom', fps_points=1200, num_points=num_points),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented')),
]
test_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=num_points),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented')),
]
# tools/test.py --tta: 10 votes of random anisotropic scaling (TAP itself reports
# ScanObjectNN without voting).
tta_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=num_points),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='PointTestTimeAug', num_votes=10, transforms=[
        dict(type='RandomPointScaling', scale=(0.9, 1.1), anisotropic=True),
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
    dataset=dict(type=dataset_type, data_root=data_root, split='train', variant=variant,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', variant=variant,
                 test_fps_cache=True, test_fps_points=num_points, pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClassificationAccuracy', num_classes=15)
test_evaluator = val_evaluator
