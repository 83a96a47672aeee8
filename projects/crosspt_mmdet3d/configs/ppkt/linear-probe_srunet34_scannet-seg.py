# Per-point linear probe (docs/finetuning.md, "Linear probe") of a frozen SR-UNet34
# pre-trained by PPKT (configs/ppkt/srunet34_1xb24-60k_scannet.py) on ScanNet v2 semantic
# segmentation in mmdet3d's format (data/scannet/, docs/data_preparation.md); model and
# data of srunet34_scratch_scannet-seg.py (2 cm voxels; the decode head is built, not
# used): the 96-d features of every point, a linear classifier on a seeded subset of the
# training points, mIoU over every point of the 312 val scenes.
#   python tools/benchmarks/linear_probe.py THIS_CONFIG --checkpoint work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth
#   python tools/benchmarks/linear_probe.py THIS_CONFIG      # random-init baseline
_base_ = ['./srunet34_scratch_scannet-seg.py']

# the encoder's weights come only from --checkpoint (strict loading), never an init_cfg
model = dict(backbone=dict(init_cfg=None))
# both splits through the test pipeline (whole scenes, no augmentation, labels in
# eval_ann_info), every scene once, in order
train_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline={{_base_.test_pipeline}}, test_mode=True, scene_idxs=None))
test_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=False, drop_last=False,
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
    max_points_per_scene=1000,     # labelled training points drawn per scene (1201 scenes)
    max_train_points=200000,       # then at most this many in all
    log_interval=50)               # scenes between progress lines
