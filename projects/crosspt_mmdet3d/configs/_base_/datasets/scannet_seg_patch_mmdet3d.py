# ScanNet v2 semantic segmentation with mmdet3d's PointNet++ patch protocol
# (configs/_base_/datasets/scannet-seg.py there): training crops 8192-point patches in
# 1.5 m columns, no augmentation, scenes resampled by their size
# (seg_info/train_resampled_scene_idxs.npy).  Data, classes and evaluation (every point
# of each whole val scene) are scannet_seg_mmdet3d.py's, whose default is PointContrast's
# whole-scene protocol instead.
_base_ = ['./scannet_seg_mmdet3d.py']

patch_train_pipeline = [
    {{_base_.load_points}},
    {{_base_.load_labels}},
    dict(type='ValidateScene3D'),
    dict(type='PointSegClassMapping'),
    dict(type='IndoorPatchPointSample', num_points=8192, block_size=1.5, ignore_index=20,
         use_normalized_coord=False, enlarge_size=0.2, min_unique_num=None),
    dict(type='NormalizePointsColor', color_mean=None),
    dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask']),
]
train_pipeline = patch_train_pipeline
train_dataloader = dict(dataset=dict(
    pipeline=patch_train_pipeline,
    scene_idxs='seg_info/train_resampled_scene_idxs.npy'))  # under data_root
