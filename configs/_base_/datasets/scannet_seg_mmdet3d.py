# ScanNet v2 semantic segmentation in mmdet3d's own format and pipeline
# (docs/methods/benchmarks.md, 'ScanNet semantic segmentation'; mmdet3d's
# tools/create_data.py scannet writes data/scannet/):
#   data/scannet/points/<scene>.bin           float32 (N, 6) xyz rgb, not axis-aligned
#   data/scannet/semantic_mask/<scene>.bin    int64 NYU40 ids
#   data/scannet/instance_mask/<scene>.bin    int64
#   data/scannet/seg_info/train_resampled_scene_idxs.npy (training needs it)
#   data/scannet/scannet_infos_{train,val}.pkl
# 20 classes; every other NYU40 id maps to ignore index 20.  Training crops 8192-point
# patches in 1.5 m columns; evaluation is on every point of each val scene with
# mmdet3d's SegMetric (one confusion matrix over all scenes).
# CrossptScanNetSegDataset is mmdet3d's ScanNetSegDataset plus `scene_fraction`
# (limited labels) and an error when training without scene_idxs; ValidateScene3D
# rejects empty scenes, non-finite points and masks whose length differs from the
# points, naming the file.
class_names = ('wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
               'window', 'bookshelf', 'picture', 'counter', 'desk', 'curtain',
               'refrigerator', 'showercurtrain', 'toilet', 'sink', 'bathtub',
               'otherfurniture')
metainfo = dict(classes=class_names)
ignore_index = len(class_names)  # 20
dataset_type = 'CrossptScanNetSegDataset'
data_root = 'data/scannet/'
data_prefix = dict(pts='points', pts_instance_mask='instance_mask',
                   pts_semantic_mask='semantic_mask')
input_modality = dict(use_lidar=True, use_camera=False)
scene_fraction = 1.0   # limited-label protocol: fraction of labelled training scenes
fraction_seed = 0
num_points = 8192
block_size = 1.5
backend_args = None

load_points = dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False,
                   use_color=True, load_dim=6, use_dim=[0, 1, 2, 3, 4, 5],
                   backend_args=backend_args)
load_labels = dict(type='LoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
                   with_mask_3d=False, with_seg_3d=True, backend_args=backend_args)
train_pipeline = [
    load_points,
    load_labels,
    dict(type='ValidateScene3D'),
    dict(type='PointSegClassMapping'),
    dict(type='IndoorPatchPointSample', num_points=num_points, block_size=block_size,
         ignore_index=ignore_index, use_normalized_coord=False, enlarge_size=0.2,
         min_unique_num=None),
    dict(type='NormalizePointsColor', color_mean=None),
    dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask']),
]
# PointSegClassMapping also at test time: it is what maps the evaluation ground truth
# (eval_ann_info) from NYU40 ids to 0..19 / 20.  mmdet3d 1.4.0's own scannet-seg.py test
# pipeline omits it, so SegMetric would compare predictions 0..19 with raw NYU40 ids.
test_pipeline = [
    load_points,
    load_labels,
    dict(type='ValidateScene3D'),
    dict(type='PointSegClassMapping'),
    dict(type='NormalizePointsColor', color_mean=None),
    dict(type='Pack3DDetInputs', keys=['points']),
]

train_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='scannet_infos_train.pkl',
                 metainfo=metainfo, data_prefix=data_prefix, pipeline=train_pipeline,
                 modality=input_modality, ignore_index=ignore_index,
                 scene_idxs=data_root + 'seg_info/train_resampled_scene_idxs.npy',
                 scene_fraction=scene_fraction, fraction_seed=fraction_seed,
                 test_mode=False, backend_args=backend_args))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='scannet_infos_val.pkl',
                 metainfo=metainfo, data_prefix=data_prefix, pipeline=test_pipeline,
                 modality=input_modality, ignore_index=ignore_index, test_mode=True,
                 backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegMetric')
test_evaluator = val_evaluator
