# Runtime defaults shared by every crosspt config.  Nothing model- or data-specific here.
default_scope = 'crosspt'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo on a CPU-only torch.
    dist_cfg=dict(backend='nccl'),
)

# Logs, scalars.json and the hooks' pictures under <work_dir>/<timestamp>/vis_data.
# TensorBoard is off by default.  To turn it on (pip install tensorboard):
# `python tools/train.py CONFIG --tensorboard`, or in a config
#   visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
#                                   dict(type='TensorboardVisBackend')])
# Either writes an events file next to scalars.json: tensorboard --logdir <work_dir>
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)

# With more than one process every BatchNorm (dense, and SR-UNet's SparseBatchNorm)
# normalises with the statistics of all processes, as TAP trains: crosspt's SyncBatchNorm
# on torch.distributed collectives (gloo and NCCL).  None: per-process BatchNorm.
sync_bn = 'crosspt'

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True)
