# TAP with DGCNN (docs/methods/tap.md, 'DGCNN'): per-point 1024-d fusion features at all
# N input points.
_base_ = ['./tap.py']
model = dict(
    backbone=dict(type='DGCNN', in_channels=4, k=20),  # xyz + height
    memory_builder=dict(in_channels=1024))
