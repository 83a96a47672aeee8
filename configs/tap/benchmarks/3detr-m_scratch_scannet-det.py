# 3DETR-m (masked encoder, downstream.md §1.4) on ScanNet v2 from scratch: attention
# radii 0.4 / 0.8 / 1.2 m, a second set abstraction to 1024 tokens, encoder dropout 0.3,
# encoder->decoder MLP hidden [256].  Paper / released numbers: 65.0 / 47.0.
_base_ = ['./3detr_scratch_scannet-det.py']
model = dict(encoder=dict(encoder_type='masked', enc_dropout=0.3),
             enc_proj_hidden=(256, ))
