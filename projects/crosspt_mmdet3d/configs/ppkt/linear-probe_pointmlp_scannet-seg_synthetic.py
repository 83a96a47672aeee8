# Per-point linear probe (docs/finetuning.md, "Linear probe") of the frozen PPKT point
# student (PointMLP encoder-decoder) that configs/ppkt/pointmlp_synthetic.py pre-trains,
# on the embedded ScanNet-format rooms; model and data of
# pointmlp_scratch_scannet-seg_synthetic.py (sliding 3 m windows of 4096 points, stride
# 1.5 m, features averaged over the windows holding a point; the decode head is built, not
# used): the 224-d features of every point, a linear classifier on the training points.
#   python tools/benchmarks/linear_probe.py THIS_CONFIG --checkpoint work_dirs/ppkt_pointmlp/iter_360.pth
#   python tools/benchmarks/linear_probe.py THIS_CONFIG      # random-init baseline
_base_ = ['./pointmlp_scratch_scannet-seg_synthetic.py']

# the encoder's weights come only from --checkpoint (strict loading), never an init_cfg
model = dict(backbone=dict(init_cfg=None))
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
    checkpoint=None,                   # None: random initialisation from seed
    checkpoint_prefix='backbone.net.',  # the student's PointMLP in PPKT checkpoints
    classifier='logreg',               # softmax regression on standardised features; 'svm'
    C=1.0,
    max_iter=1000,
    seed=0,                            # random init, windows, subsampling, classifier
    max_points_per_scene=5000,         # labelled training points drawn per scene
    max_train_points=None,             # then at most this many in all (None: no cap)
    log_interval=1)                    # scenes between progress lines
