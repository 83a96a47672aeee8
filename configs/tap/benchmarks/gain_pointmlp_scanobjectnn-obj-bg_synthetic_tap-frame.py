# Analysis variant of gain_pointmlp_scanobjectnn-obj-bg_synthetic.py (docs/finetuning.md,
# "Does pre-training help? (embedded benchmark)"): the same objects, seeds and settings,
# with every cloud turned into the frame TAP pre-trains in.  TAP's loader reorders the
# ShapeNet axes (x, y, z) -> (z, x, y), so the pre-trained encoder has only seen objects
# standing along z, with the height channel measured along z; ScanObjectNN's clouds stand
# along y.  Here the labelled clouds get the same reordering and their height is taken
# along z (fine-tuning rotates about z).  Run with the same --init arguments as the main
# config; the main config stays the benchmark's protocol, this one tests one reason for
# its result.
_base_ = ['./gain_pointmlp_scanobjectnn-obj-bg_synthetic.py']

tap_frame = (2, 0, 1)
test_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False, axis_order=tap_frame),
    dict(type='TakeFirstPoints', num_points=1024),
    dict(type='CenterAndNormalize', gravity_dim=2),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented')),
]
train_pipeline = [
    dict(type='LoadObjectPoints', with_normals=False, axis_order=tap_frame),
    dict(type='ShufflePoints'),
    dict(type='RandomPointScaling', scale=(0.9, 1.1), anisotropic=True),
    dict(type='CenterAndNormalize', gravity_dim=2),
    dict(type='RandomRotateAxis', axis=2),
    dict(type='FPSThenRandom', fps_points=1200, num_points=1024),
    dict(type='PackPointClsInputs', feature_keys=('points', 'height_augmented')),
]
train_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
pretrain_gain = dict(finetune=dict(pipeline=train_pipeline))
