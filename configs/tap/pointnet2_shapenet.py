# Old name of pointnet2_1xb32-100e_shapenet55.py (kept for existing commands and links).
_base_ = './pointnet2_1xb32-100e_shapenet55.py'
