# Linear probe (docs/finetuning.md, "Linear probe") of the small standard Transformer
# encoder (384-d global feature) that configs/tap/transformer_synthetic.py pre-trains, on
# the embedded synthetic ModelNet40; model and data of
# transformer_ft_modelnet40_synthetic.py (the classification head is built, not used).
#   python tools/benchmarks/linear_probe.py THIS_CONFIG --checkpoint work_dirs/tap_transformer/backbone-<sha>.pth
#   python tools/benchmarks/linear_probe.py THIS_CONFIG      # random-init baseline
_base_ = ['./transformer_ft_modelnet40_synthetic.py']

# the encoder's weights come only from --checkpoint (strict loading), never an init_cfg
model = dict(backbone=dict(init_cfg=None))
# both splits through the test pipeline (no augmentation), every cloud once, in order
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='train', pipeline={{_base_.test_pipeline}}, test_mode=True))
test_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False, drop_last=False,
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
    log_interval=5)                # batches between progress lines
