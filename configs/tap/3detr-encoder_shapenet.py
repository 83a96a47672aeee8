# Old name of 3detr-encoder_1xb32-100e_shapenet55.py (kept for existing commands and links).
_base_ = './3detr-encoder_1xb32-100e_shapenet55.py'
