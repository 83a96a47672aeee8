# ScanNet v2 3D detection (18 classes, axis-aligned boxes) for VoteNet, in mmdet3d's own
# format and with mmdet3d's VoteNet pipeline (its _base_/datasets/scannet-3d.py): scene
# aligned by its axis_align_matrix, semantic ids mapped to the classes (VoteHead's vote
# targets come from the instance and semantic masks), 40,000 points, flips in x and y,
# rotation about z within +-5 degrees; IndoorMetric AP at IoU 0.25 / 0.5.  No height
# column, as in the PPKT / PointContrast protocol (docs/methods/ppkt.md, 'Detection').
# Colour is loaded (/ 255) so that the backbone's feature_keys choose the input: the
# ScanNet configs feed constant ones ('ones', the PPKT pre-training input), the embedded
# twins RGB.  The test pipeline is the stock one without its no-op MultiScaleFlipAug3D.
class_names = ('cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf',
               'picture', 'counter', 'desk', 'curtain', 'refrigerator', 'showercurtrain',
               'toilet', 'sink', 'bathtub', 'garbagebin')
data_root = 'data/scannet/'
num_points = 40000
load_points = dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False,
                   use_color=True, load_dim=6, use_dim=[0, 1, 2, 3, 4, 5])
colour = dict(type='NormalizePointsColor', color_mean=None)
train_pipeline = [
    load_points,
    dict(type='LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True,
         with_mask_3d=True, with_seg_3d=True),
    dict(type='ValidateScene3D'),
    dict(type='GlobalAlignment', rotation_axis=2),
    dict(type='PointSegClassMapping'),
    dict(type='PointSample', num_points=num_points),
    colour,
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-0.087266, 0.087266],
         scale_ratio_range=[1.0, 1.0], translation_std=[0, 0, 0], shift_height=False),
    dict(type='Pack3DDetInputs', keys=['points', 'gt_bboxes_3d', 'gt_labels_3d',
                                       'pts_semantic_mask', 'pts_instance_mask']),
]
test_pipeline = [
    load_points,
    dict(type='ValidateScene3D'),
    dict(type='GlobalAlignment', rotation_axis=2),
    dict(type='PointSample', num_points=num_points),
    colour,
    dict(type='Pack3DDetInputs', keys=['points']),
]
scannet = dict(type='CrossptScanNetDataset', data_root=data_root, box_type_3d='Depth',
               metainfo=dict(classes=class_names))
train_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(scannet, ann_file='scannet_infos_train.pkl', pipeline=train_pipeline,
                 filter_empty_gt=False))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(scannet, ann_file='scannet_infos_val.pkl', pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
# IndoorMetricNumpy2 = mmdet3d's IndoorMetric (same AP code and keys) whose summary table
# also works with NumPy >= 2
val_evaluator = dict(type='IndoorMetricNumpy2', iou_thr=[0.25, 0.5])
test_evaluator = val_evaluator
