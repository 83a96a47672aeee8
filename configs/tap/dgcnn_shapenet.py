# Old name of dgcnn_1xb16-100e_shapenet55.py (kept for existing commands and links).
_base_ = './dgcnn_1xb16-100e_shapenet55.py'
