# Old name of srunet34_1xb24-60k_scannet.py (kept for existing commands and links).
_base_ = './srunet34_1xb24-60k_scannet.py'
