# Few-shot classification on ModelNet40, 5-way 20-shot, with a TAP-pre-trained standard
# Transformer: transformer_fewshot-5way10shot_modelnet40.py with another episode set.
# Run the 10 folds and report mean +- std over folds (see that file).
_base_ = ['./transformer_fewshot-5way10shot_modelnet40.py']

train_dataloader = dict(dataset=dict(way=5, shot=20))
val_dataloader = dict(dataset=dict(way=5, shot=20))
test_dataloader = val_dataloader
val_evaluator = dict(num_classes=5)
test_evaluator = val_evaluator
model = dict(head=dict(num_classes=5))
