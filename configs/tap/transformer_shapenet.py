# Old name of transformer_1xb32-100e_shapenet55.py (kept for existing commands and links).
_base_ = './transformer_1xb32-100e_shapenet55.py'
