# PPKT (docs/methods/ppkt.md, 'Overview'): frozen ImageNet ResNet-50 teacher (layer4,
# 2048 x H/32 x W/32),
# trainable UPL (1x1 conv 2048->128 + bilinear x32), SR-UNet34 student (96-d voxel
# features) with a 96->128 linear projection, PPNCE over K pairs at tau 0.04.
# Teacher weights: torchvision's IMAGENET1K_V1 ResNet-50 by the URL torchvision publishes
# (downloaded once into the crosspt cache and checked against the sha256 prefix in its
# name; torchvision is not needed; fc.* is reported as unused), or another file or URL:
#   CROSSPT_TEACHER=/path/to/resnet50-0676ba61.pth python tools/train.py ...
model = dict(
    type='PPKT',
    backbone=dict(type='SRUNet', in_channels=3, out_channels=None, stem_channels=32,
                  planes=(32, 64, 128, 256, 256, 128, 96, 96),
                  layers=(2, 3, 4, 6, 2, 2, 2, 2), stem_kernel_size=3, bn_momentum=0.05),
    teacher=dict(type='ImageTeacher', backbone=dict(type='ResNet', depth=50),
                 checkpoint='{{$CROSSPT_TEACHER:https://download.pytorch.org/models/resnet50-0676ba61.pth}}'),
    upl=dict(type='UpsamplingProjection', in_channels=2048, out_channels=128, scale=32),
    loss=dict(type='PPNCELoss', temperature=0.04, normalize=True),
    projection_channels=128,
    projection='linear',        # [UNVERIFIED] form of the 3D projection (docs/methods/ppkt.md)
    num_pairs=4096,             # [UNVERIFIED] K (PointContrast / SLidR value)
    one_pixel_per_voxel=True,   # [UNVERIFIED] pairing option (b), docs/methods/ppkt.md
    voxel_size=0.025,
    data_preprocessor=dict(type='PPKTDataPreprocessor'))
