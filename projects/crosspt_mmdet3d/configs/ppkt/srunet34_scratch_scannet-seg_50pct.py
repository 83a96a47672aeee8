# From-scratch baseline of srunet34_ft_scannet-seg_50pct.py (same 50 % of the scenes).
_base_ = ['./srunet34_scratch_scannet-seg.py']
train_dataloader = dict(dataset=dict(scene_fraction=0.5, fraction_seed=0))
