# ModelNet40 few-shot (5-way 10-shot, fold 0; choose with
# train/val_dataloader.dataset.fold=F) on the embedded synthetic data, with the backbone size
# that configs/tap/transformer_synthetic.py pre-trains; TAP fine-tuning recipe shrunk to 30 epochs.
#   python tools/train.py configs/tap/transformer_synthetic.py --work-dir work_dirs/tap_transformer
#   python tools/model_converters/publish_model.py work_dirs/tap_transformer/epoch_20.pth work_dirs/tap_transformer/backbone.pth
#   CROSSPT_PRETRAINED=work_dirs/tap_transformer/backbone-<sha>.pth python tools/train.py THIS_CONFIG
_base_ = [
    '../../_base_/models/cls_transformer_small.py',
    '../../_base_/datasets/synthetic_modelnet40_fewshot.py',
    '../../_base_/schedules/tap_finetune_synthetic.py',
    '../../_base_/default_runtime.py',
]

# Pre-trained backbone: the CROSSPT_PRETRAINED environment variable, or
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# From scratch: --cfg-options model.backbone.init_cfg=None
pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=5))
default_hooks = dict(checkpoint=dict(save_best='cls/oa', rule='greater'),
                     logger=dict(interval=5))
# the lr belongs to this run's own batch (10 shapes per step, one process)
auto_scale_lr = dict(base_batch_size=10)
