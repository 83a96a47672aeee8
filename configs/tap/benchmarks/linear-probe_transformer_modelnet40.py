# Linear probe (docs/finetuning.md, "Linear probe") of the standard Transformer encoder
# (768-d global feature), normal_resampled release of ModelNet40 under data/
# (docs/data_preparation.md); model and data of transformer_ft_modelnet40.py, pre-training
# configs/tap/transformer_1xb32-100e_shapenet55.py (the classification head is built, not used).
#   python tools/benchmarks/linear_probe.py THIS_CONFIG --checkpoint work_dirs/tap_transformer_shapenet/backbone-<sha>.pth
#   python tools/benchmarks/linear_probe.py THIS_CONFIG      # random-init baseline
_base_ = ['./transformer_ft_modelnet40.py']

# the encoder's weights come only from --checkpoint (strict loading), never an init_cfg
model = dict(backbone=dict(init_cfg=None))
# both splits through the test pipeline (no augmentation), every cloud once, in order
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='train', pipeline={{_base_.test_pipeline}}, test_mode=True))
test_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='test', pipeline={{_base_.test_pipeline}}, test_mode=True))
# read by tools/benchmarks/linear_probe.py; --checkpoint/--classifier/--C/--seed override
linear_probe = dict(
    task='classification',
    checkpoint=None,               # None: random initialisation from seed
    checkpoint_prefix='backbone.',  # the encoder's keys in TAP / published checkpoints
    classifier='svm',              # LinearSVC on standardised features; 'logreg'
    C=0.01,
    max_iter=10000,
    seed=0,                        # random init and classifier
    log_interval=20)               # batches between progress lines
