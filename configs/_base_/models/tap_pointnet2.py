# TAP with PointNet++ (docs/methods/tap.md, 'PointNet++'): pre-training form of stage 3
# ('local', strides 2/4/2),
# 1024-d features at 64 centres.  Fine-tuning uses stage3='global' with the same weights.
_base_ = ['./tap.py']
model = dict(
    backbone=dict(
        type='PointNet2',
        in_channels=4,  # xyz + height
        strides=(2, 4, 2),
        radius=(0.2, 0.4, 0.2),
        num_samples=(32, 64, 32),
        mlps=([64, 64, 128], [128, 128, 256], [256, 512, 1024]),
        stage3='local'),
    memory_builder=dict(in_channels=1024))
