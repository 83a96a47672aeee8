"""2D image networks: a torchvision-layout ResNet, PPKT's frozen teacher and a small
segmentor that trains a teacher on crosspt's rendered frames."""
from .image_segmentor import ImageSegDataPreprocessor, ImageSegmentor
from .resnet import ResNet
from .teacher import IMAGENET_MEAN, IMAGENET_STD, ImageTeacher

__all__ = ['ResNet', 'ImageTeacher', 'ImageSegmentor', 'ImageSegDataPreprocessor',
           'IMAGENET_MEAN', 'IMAGENET_STD']
