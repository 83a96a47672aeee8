# TAP pre-training of DGCNN on ShapeNet55 (published recipe, docs/methods/tap.md,
# 'Pre-training recipe'):
# AdamW lr 1e-3, wd 0.05, 100 epochs cosine to 5e-6, grad clip 10, batch 16 per GPU.
#   bash tools/dist_train.sh configs/tap/dgcnn_1xb16-100e_shapenet55.py 8
_base_ = [
    '../_base_/models/tap_dgcnn.py',
    '../_base_/tap_pretrain_shapenet55.py',
]

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, eta_min=5e-6, by_epoch=True, begin=0, end=100),
]
train_dataloader = dict(batch_size=16)
# lr 1e-3 belongs to batch 16 per GPU (GPU count not published [UNVERIFIED])
auto_scale_lr = dict(base_batch_size=16)
