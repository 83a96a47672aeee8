# The TAP fine-tuning recipe (tap_finetune_300e.py: AdamW 5e-4, wd 0.05, linear warm-up,
# cosine to 1e-6, grad clip 10) shrunk to 30 epochs with 2 warm-up epochs for the
# embedded data sets.
_base_ = ['./tap_finetune_300e.py']
max_epochs = 30
warmup_epochs = 2
lr = 5e-4
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / lr, end_factor=1.0, by_epoch=True, begin=0,
         end=warmup_epochs),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
# the lr belongs to the embedded runs' own batch (16 per step on one process; the
# few-shot configs, batch 10, set their own)
auto_scale_lr = dict(enable=False, base_batch_size=16)
