# Embedded synthetic ModelNet40 few-shot episodes (5-way 10-shot, 10 folds) in the real on-disk format
# (crosspt/synthetic/objects.py; generated on first use, deterministic).
_base_ = ['./modelnet40_fewshot.py']
data_root = 'data/synthetic_objects/modelnet_fewshot'
synthetic_data = dict(seed=0)
train_dataloader = dict(
    batch_size=10, num_workers=2,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
val_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
test_dataloader = val_dataloader
