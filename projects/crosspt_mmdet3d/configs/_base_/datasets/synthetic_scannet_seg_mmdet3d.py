# ScanNet segmentation on the embedded synthetic scenes, written in exactly mmdet3d's
# ScanNet format (tools/create_data.py synthetic-scannet-mmdet3d; generated on first
# use): 12 train + 4 val rooms of 50,000 points built from the same generator (seed 0)
# as the PPKT frames, 13 of the 20 classes present.  Same evaluator as
# scannet_seg_mmdet3d.py; training on mmdet3d's patch protocol
# (scannet_seg_patch_mmdet3d.py), shrunk for a 2-core CPU: 4096-point patches in 3 m
# columns (instead of 8192 in 1.5 m), batch 2.  The whole-scene protocol of
# scannet_seg_mmdet3d.py is inherited as `scene_train_pipeline` (the SR-UNet34 twins
# ppkt/srunet34_{ft,scratch}_scannet-seg_synthetic.py train with it).
_base_ = ['./scannet_seg_mmdet3d.py']

data_root = 'data/synthetic_scannet_mmdet3d/'
synthetic_data = dict(num_scenes=12, num_val_scenes=4, num_points=50000, seed=0)
patch_train_pipeline = [
    dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False, use_color=True,
         load_dim=6, use_dim=[0, 1, 2, 3, 4, 5]),
    dict(type='LoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
         with_mask_3d=False, with_seg_3d=True),
    dict(type='ValidateScene3D'),
    dict(type='PointSegClassMapping'),
    dict(type='IndoorPatchPointSample', num_points=4096, block_size=3.0, ignore_index=20,
         use_normalized_coord=False, enlarge_size=0.2, min_unique_num=None),
    dict(type='NormalizePointsColor', color_mean=None),
    dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask']),
]
train_pipeline = patch_train_pipeline
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, pipeline=train_pipeline,
                 scene_idxs=data_root + 'seg_info/train_resampled_scene_idxs.npy'))
val_dataloader = dict(
    num_workers=1, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
test_dataloader = val_dataloader
