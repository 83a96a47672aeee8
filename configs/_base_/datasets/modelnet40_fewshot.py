# ModelNet40 few-shot episodes ([UNVERIFIED] Point-BERT layout, see
# crosspt/datasets/modelnet_fewshot.py): ModelNetFewshot/{way}way_{shot}shot/{fold}.pkl,
# 10 folds; the reported number is the mean (and std) over the folds.
# Choose the fold (and way/shot) per run with
#   --cfg-options train_dataloader.dataset.fold=F val_dataloader.dataset.fold=F
# 1024 points, centre + unit sphere, training scaling U(2/3, 3/2) + translation 0.2.
dataset_type = 'ModelNetFewShotDataset'
data_root = 'data/ModelNetFewshot'
way, shot, fold = 5, 10, 0
num_points = 1024

train_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=num_points),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='RandomPointScaling', scale=(2 / 3, 3 / 2), anisotropic=True),
    dict(type='RandomTranslate', shift=0.2),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented')),
]
test_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False),
    dict(type='TakeFirstPoints', num_points=num_points),
    dict(type='CenterAndNormalize', gravity_dim=1),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented')),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, way=way, shot=shot, fold=fold,
                 split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, way=way, shot=shot, fold=fold,
                 split='test', pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='ClassificationAccuracy', num_classes=way)
test_evaluator = val_evaluator
