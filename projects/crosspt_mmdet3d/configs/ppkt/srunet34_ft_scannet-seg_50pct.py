# PPKT limited-label protocol: fine-tune on 50 % of the labelled training scenes (a fixed
# seeded subset, nested in the larger fractions); evaluation on the whole val split.
# srunet34_ft_scannet-seg.py's two init lines restated over its base (inheritance stays
# 3 levels deep).
_base_ = ['./srunet34_scratch_scannet-seg.py']
pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
train_dataloader = dict(dataset=dict(scene_fraction=0.5, fraction_seed=0))
