# Old name of pointmlp_1xb32-100e_shapenet55.py (kept for existing commands and links).
_base_ = './pointmlp_1xb32-100e_shapenet55.py'
