# S3DIS semantic segmentation in mmdet3d's own format (mmdet3d's tools/create_data.py
# s3dis writes data/s3dis/): Areas 1-4 and 6 train, Area 5 is held out for evaluation
# (PPKT's protocol, docs/finetuning.md, 'S3DIS semantic segmentation'):
#   data/s3dis/points/Area_<a>_<room>.bin         float32 (N, 6) xyz rgb
#   data/s3dis/semantic_mask/Area_<a>_<room>.bin  int64 class ids 0..12
#   data/s3dis/instance_mask/Area_<a>_<room>.bin  int64
#   data/s3dis/s3dis_infos_Area_{1..6}.pkl
# 13 classes, ignore index 13.  Training takes whole rooms (each once per epoch) with the
# augmentations of PPKT's S3DIS config (docs/methods/ppkt.md, 'S3DIS'): chromatic
# translation 0.05 and jitter 0.005, scale 0.9-1.1; and those of PointContrast's S3DIS
# dataset [UNVERIFIED]: elastic distortion, rotation about x, y (+-pi/32) and z (+-pi),
# x / y flips, chromatic auto-contrast.  The SR-UNet backbone voxelises (5 cm).
# Evaluation: every point of each Area 5 room, mmdet3d's SegMetric.
class_names = ('ceiling', 'floor', 'wall', 'beam', 'column', 'window', 'door', 'table',
               'chair', 'sofa', 'bookcase', 'board', 'clutter')
metainfo = dict(classes=class_names)
ignore_index = len(class_names)  # 13
dataset_type = 'CrossptS3DISSegDataset'
data_root = 'data/s3dis/'
data_prefix = dict(pts='points', pts_instance_mask='instance_mask',
                   pts_semantic_mask='semantic_mask')
input_modality = dict(use_lidar=True, use_camera=False)
train_area = [1, 2, 3, 4, 6]
test_area = 5

load_points = dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False,
                   use_color=True, load_dim=6, use_dim=[0, 1, 2, 3, 4, 5])
load_labels = dict(type='LoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
                   with_mask_3d=False, with_seg_3d=True)
train_pipeline = [
    load_points,
    load_labels,
    dict(type='ValidateScene3D'),
    dict(type='PointSegClassMapping'),
    dict(type='ElasticDistortionPoints', params=((0.2, 0.4), (0.8, 1.6)), prob=0.95),
    dict(type='RandomRotationXYZ',  # radians: pi / 32, pi / 32, pi
         bounds=((-0.0981747704, 0.0981747704), (-0.0981747704, 0.0981747704),
                 (-3.1415926536, 3.1415926536))),
    dict(type='GlobalRotScaleTrans', rot_range=[0.0, 0.0], scale_ratio_range=[0.9, 1.1],
         translation_std=[0.0, 0.0, 0.0]),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='ChromaticAutoContrast', prob=0.2),
    dict(type='ChromaticTranslation', ratio=0.05, prob=0.95),
    dict(type='ChromaticJitter', std=0.005, prob=0.95),
    dict(type='NormalizePointsColor', color_mean=None),
    dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask']),
]
test_pipeline = [
    load_points,
    load_labels,
    dict(type='ValidateScene3D'),
    dict(type='PointSegClassMapping'),
    dict(type='NormalizePointsColor', color_mean=None),
    dict(type='Pack3DDetInputs', keys=['points']),
]

# PPKT: batch 32 on one V100
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_files=[f's3dis_infos_Area_{i}.pkl' for i in train_area],
                 metainfo=metainfo, data_prefix=data_prefix, pipeline=train_pipeline,
                 modality=input_modality, ignore_index=ignore_index,
                 scene_idxs='every_scene', test_mode=False))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_files=f's3dis_infos_Area_{test_area}.pkl', metainfo=metainfo,
                 data_prefix=data_prefix, pipeline=test_pipeline, modality=input_modality,
                 ignore_index=ignore_index, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='SegMetric')
test_evaluator = val_evaluator
