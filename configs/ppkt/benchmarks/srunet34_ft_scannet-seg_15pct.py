# PPKT limited-label protocol: fine-tune on 15 % of the labelled training scenes (a fixed
# seeded subset, nested in the larger fractions); evaluation on the whole val split.
_base_ = ['./srunet34_ft_scannet-seg.py']
train_dataloader = dict(dataset=dict(scene_fraction=0.15, fraction_seed=0))
