# Per-point linear probe (docs/finetuning.md, "Linear probe") of the frozen SR-UNet34 that
# configs/ppkt/srunet34_synthetic.py pre-trains, on the embedded ScanNet-format rooms (12
# train / 4 val scenes of 50,000 points); model and data of
# srunet34_scratch_scannet-seg_synthetic.py (5 cm voxels; the decode head is built, not
# used): the 96-d features of every point, a linear classifier on the training points.
#   python tools/benchmarks/linear_probe.py THIS_CONFIG --checkpoint work_dirs/ppkt_srunet34/iter_360.pth
#   python tools/benchmarks/linear_probe.py THIS_CONFIG      # random-init baseline
# The bases of srunet34_scratch_scannet-seg_synthetic.py, inherited directly (its voxel
# size and BN momentum restated below; its checkpoint hook is not used by a probe):
# inheritance stays 3 levels deep.
_base_ = [
    '../_base_/models/seg_srunet34_mmdet3d.py',
    '../_base_/datasets/synthetic_scannet_seg_mmdet3d.py',
    '../_base_/schedules/seg_adamw_150it_synthetic.py',
    '../_base_/mmdet3d_runtime.py',
]

# the encoder's weights come only from --checkpoint (strict loading), never an init_cfg
model = dict(backbone=dict(init_cfg=None, voxel_size=0.05, bn_momentum=0.1))
# both splits through the test pipeline (whole scenes, no augmentation, labels in
# eval_ann_info), every scene once, in order
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline={{_base_.test_pipeline}}, test_mode=True, scene_idxs=None))
test_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline={{_base_.test_pipeline}}, test_mode=True))
# read by tools/benchmarks/linear_probe.py; --checkpoint/--classifier/--C/--seed override
linear_probe = dict(
    task='segmentation',
    checkpoint=None,               # None: random initialisation from seed
    checkpoint_prefix='backbone.',  # the SR-UNet's keys in PPKT checkpoints
    classifier='logreg',           # softmax regression on standardised features; 'svm'
    C=1.0,
    max_iter=1000,
    seed=0,                        # random init, point subsampling and classifier
    max_points_per_scene=5000,     # labelled training points drawn per scene
    max_train_points=None,         # then at most this many in all (None: no cap)
    log_interval=1)                # scenes between progress lines
