# SUN RGB-D v1 3D detection (10 classes, yawed boxes in the upright depth frame) in
# mmdet3d's own format (mmdet3d's tools/create_data.py sunrgbd: points/<%06d>.bin,
# sunrgbd_infos_{train,val}.pkl) and pipeline, with 3DETR's SUN RGB-D data recipe
# (docs/methods/3detr.md, 'SUN RGB-D'; 3detr datasets/sunrgbd.py): xyz only; training
# flips x with p 0.5 (no y flip), turns about z uniformly in +-30 degrees and scales by
# U(0.85, 1.15), then the random cuboid crop (at least 30,000 of the 50,000 exported
# points, 0.75-1.0 of the extent per axis, aspect >= 0.75), then 20,000 points per scan;
# IndoorMetric AP at IoU 0.25 / 0.5 on the rotated boxes.  No image is read
# (modality use_camera=False).
class_names = ('bed', 'table', 'sofa', 'chair', 'toilet', 'desk', 'dresser', 'night_stand',
               'bookshelf', 'bathtub')
metainfo = dict(classes=class_names)
dataset_type = 'CrossptSUNRGBDDataset'
data_root = 'data/sunrgbd/'
modality = dict(use_camera=False, use_lidar=True)
scene_fraction = 1.0
fraction_seed = 0
num_points = 20000
backend_args = None

load_points = dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False,
                   load_dim=6, use_dim=[0, 1, 2], backend_args=backend_args)
train_pipeline = [
    load_points,
    dict(type='LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True),
    dict(type='ValidateScene3D'),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.0),
    dict(type='GlobalRotScaleTrans', rot_range=[-0.523599, 0.523599],
         scale_ratio_range=[0.85, 1.15], translation_std=[0, 0, 0], shift_height=False),
    dict(type='RandomCuboid', min_points=30000, aspect=0.75, min_crop=0.75, max_crop=1.0),
    dict(type='PointSample', num_points=num_points),
    dict(type='Pack3DDetInputs', keys=['points', 'gt_bboxes_3d', 'gt_labels_3d']),
]
test_pipeline = [
    load_points,
    dict(type='ValidateScene3D'),
    dict(type='PointSample', num_points=num_points),
    dict(type='Pack3DDetInputs', keys=['points']),
]

train_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='sunrgbd_infos_train.pkl',
                 data_prefix=dict(pts='points'), pipeline=train_pipeline,
                 filter_empty_gt=False, metainfo=metainfo, modality=modality,
                 box_type_3d='Depth', scene_fraction=scene_fraction,
                 fraction_seed=fraction_seed, backend_args=backend_args))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='sunrgbd_infos_val.pkl',
                 data_prefix=dict(pts='points'), pipeline=test_pipeline, metainfo=metainfo,
                 modality=modality, test_mode=True, box_type_3d='Depth',
                 backend_args=backend_args))
test_dataloader = val_dataloader
# IndoorMetricNumpy2 = mmdet3d's IndoorMetric with a NumPy >= 2 fix in its summary table
val_evaluator = dict(type='IndoorMetricNumpy2', iou_thr=[0.25, 0.5])
test_evaluator = val_evaluator
