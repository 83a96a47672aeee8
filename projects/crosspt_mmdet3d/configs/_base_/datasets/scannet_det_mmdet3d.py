# ScanNet v2 3D detection (18 classes, axis-aligned boxes) in mmdet3d's own format and
# pipeline, with 3DETR's data recipe (docs/methods/3detr.md, 'Data pipeline'): a random
# cuboid crop of the aligned scene (at least 30,000 of its 50,000 exported points, 0.5-1.0
# of its extent per axis, aspect >= 0.8, boxes kept when their centre is inside; crosspt's
# RandomCuboid), then 40,000 xyz points per scene, flips in x and y, rotation about z
# within ±5 degrees, no scale; IndoorMetric AP at IoU 0.25 / 0.5.  Points are stored
# unaligned: GlobalAlignment applies each scene's axis_align_matrix, as mmdet3d's own
# ScanNet configs do.
class_names = ('cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf',
               'picture', 'counter', 'desk', 'curtain', 'refrigerator', 'showercurtrain',
               'toilet', 'sink', 'bathtub', 'garbagebin')
metainfo = dict(classes=class_names)
dataset_type = 'CrossptScanNetDataset'
data_root = 'data/scannet/'
scene_fraction = 1.0
fraction_seed = 0
num_points = 40000
backend_args = None
random_cuboid = dict(type='RandomCuboid', min_points=30000, aspect=0.8, min_crop=0.5,
                     max_crop=1.0)

load_points = dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False,
                   load_dim=6, use_dim=[0, 1, 2], backend_args=backend_args)
train_pipeline = [
    load_points,
    dict(type='LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True,
         with_mask_3d=True, with_seg_3d=True, backend_args=backend_args),
    dict(type='ValidateScene3D'),
    dict(type='GlobalAlignment', rotation_axis=2),
    random_cuboid,
    dict(type='PointSample', num_points=num_points),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-0.087266, 0.087266],
         scale_ratio_range=[1.0, 1.0], translation_std=[0, 0, 0], shift_height=False),
    dict(type='Pack3DDetInputs', keys=['points', 'gt_bboxes_3d', 'gt_labels_3d']),
]
test_pipeline = [
    load_points,
    dict(type='ValidateScene3D'),
    dict(type='GlobalAlignment', rotation_axis=2),
    dict(type='PointSample', num_points=num_points),
    dict(type='Pack3DDetInputs', keys=['points']),
]

train_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='scannet_infos_train.pkl',
                 pipeline=train_pipeline, filter_empty_gt=False, metainfo=metainfo,
                 box_type_3d='Depth', scene_fraction=scene_fraction,
                 fraction_seed=fraction_seed, backend_args=backend_args))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='scannet_infos_val.pkl',
                 pipeline=test_pipeline, metainfo=metainfo, test_mode=True,
                 box_type_3d='Depth', backend_args=backend_args))
test_dataloader = val_dataloader
# IndoorMetricNumpy2 = mmdet3d's IndoorMetric (same AP code, same keys); it only lets
# mmdet3d's summary table convert its 1-element arrays, which NumPy >= 2 refuses.
val_evaluator = dict(type='IndoorMetricNumpy2', iou_thr=[0.25, 0.5])
test_evaluator = val_evaluator
