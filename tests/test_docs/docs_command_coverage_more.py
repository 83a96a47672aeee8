"""Which test runs each command of the documentation, part two: the commands of
docs/finetuning.md, README.md and projects/*/README.md that no page of
docs_command_coverage.py shows (the format, the rules and the checks: that module's
docstring)."""
from docs_command_coverage import (BB, E2E, GAIN, LP, PPKT, RV, S3DIS, SCENE, SCENES, SLURM,
                                   SUN, TAP, UNRUN, Entry)

COVERAGE = {
    # first shown on docs/finetuning.md
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/tap_pointmlp-1a2b3c4d.pth bash tools/'
     'dist_train.sh configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py 8'): UNRUN,
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg.checkpoint=tap_pointmlp_crosspt.pth'): UNRUN,
    ('python tools/train.py configs/tap/pointmlp_synthetic.py --work-dir work_dirs/'
     'tap_pointmlp'):
        Entry(TAP + 'test_loss_falls_and_view_grids_are_written', 'overrides',
              'tmp work dir, 12 + 4 cached objects, batch 4, 3 + 3 epochs'),
    ('python tools/model_converters/publish_model.py work_dirs/tap_pointmlp/'
     'epoch_20.pth work_dirs/tap_pointmlp/backbone.pth'):
        Entry(TAP + 'test_publish_backbone_only', 'overrides',
              "the short run's epoch_6.pth, output in tmp"),
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/backbone-1a2b3c4d.pth python tools/'
     'train.py configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py'): UNRUN,
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_modelnet40.py '
     'work_dirs/pointmlp_ft_modelnet40/best_cls_oa_epoch_250.pth'): UNRUN,
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_shapenetpart.py CKPT '
     '--tta --cfg-options model.refine=False'): UNRUN,
    'bash tools/dist_test.sh configs/tap/benchmarks/pointmlp_ft_modelnet40.py CKPT 8': UNRUN,
    ('for F in 0 1 2 3 4 5 6 7 8 9; do CROSSPT_PRETRAINED=tap_transformer.pth python '
     'tools/train.py configs/tap/benchmarks/'
     'transformer_fewshot-5way10shot_modelnet40.py --work-dir work_dirs/'
     'fewshot-5way10shot/fold$F --cfg-options train_dataloader.dataset.fold=$F '
     'val_dataloader.dataset.fold=$F; done'): UNRUN,
    ('python tools/benchmarks/transfer.py configs/tap/benchmarks/'
     'pointmlp_ft_modelnet40_synthetic.py --pretrained work_dirs/tap_pointmlp/'
     'backbone-1a2b3c4d.pth --max-epochs 20 --batch-size 8'): UNRUN,
    ('CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth bash '
     'tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_ft_scannet-seg_15pct.py 4'): UNRUN,
    ('bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/tap/'
     '3detr_scratch_scannet-det.py 1'): UNRUN,
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_scannet-seg_synthetic.py'):
        Entry(SCENE + 'test_srunet_segmentation_trains_and_tests_from_ppkt', 'overrides',
              ('CROSSPT_PRETRAINED a saved SR-UNet34 student, cached 4 + 2 rooms, 4 '
               'iterations')),
    ('python tools/test.py projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_ft_scannet-seg_synthetic.py work_dirs/'
     'srunet34_ft_scannet-seg_synthetic/iter_150.pth'):
        Entry(SCENE + 'test_srunet_segmentation_trains_and_tests_from_ppkt', 'overrides',
              "the 4-iteration run's checkpoint, cached rooms"),
    ('python tools/train.py projects/crosspt_mmdet3d/configs/tap/'
     '3detr_scratch_sunrgbd-det_synthetic.py'):
        Entry(SUN + 'test_docs_twin_command_trains_and_reports_indoor_metric', 'overrides',
              ('read from the page; data in tmp, 3,000 points, 2 iterations, smaller '
               'sampling')),
    ('python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_scratch_s3dis-seg_synthetic.py'):
        Entry(S3DIS + 'test_twin_trains_and_reports_area5_miou', 'overrides',
              ('read from the page; 6 areas x 1 room of 4,096 points in tmp, 2 '
               'iterations')),
    ('python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_scratch_scannet-seg_synthetic.py --cfg-options '
     'train_dataloader.dataset.scene_fraction=0.25'):
        Entry(SCENE + 'test_label_fraction_and_dist_train', 'overrides',
              ('through tools/dist_train.sh on 2 processes; cached rooms, batch 1, 2 '
               'iterations')),
    ('python tools/benchmarks/scene_transfer.py projects/crosspt_mmdet3d/configs/'
     'ppkt/srunet34_scratch_scannet-seg_synthetic.py projects/crosspt_mmdet3d/'
     'configs/ppkt/srunet34_ft_scannet-seg_synthetic.py --pretrained work_dirs/'
     'ppkt_srunet34/iter_360.pth --scene-fraction 0.25 --seeds 0 1 2'): UNRUN,
    ('python tools/benchmarks/linear_probe.py configs/tap/benchmarks/'
     'linear-probe_pointmlp_modelnet40_synthetic.py --checkpoint work_dirs/'
     'tap_pointmlp/backbone-1a2b3c4d.pth --out work_dirs/linear_probe/'
     'pointmlp_tap_seed0.json'):
        Entry(LP + 'test_documented_command_runs[0]', 'overrides',
              ('read from the page; --checkpoint a published random backbone, --out '
               'in tmp, 24 + 8 clouds of 256 points')),
    ('python tools/benchmarks/linear_probe.py configs/tap/benchmarks/'
     'linear-probe_pointmlp_modelnet40_synthetic.py --seed 0 --out work_dirs/'
     'linear_probe/pointmlp_random_seed0.json'):
        Entry(LP + 'test_documented_command_runs[1]', 'overrides',
              'read from the page; --out in tmp, 24 + 8 clouds of 256 points'),
    ('python tools/benchmarks/linear_probe.py projects/crosspt_mmdet3d/configs/ppkt/'
     'linear-probe_srunet34_scannet-seg_synthetic.py --checkpoint work_dirs/'
     'ppkt_srunet34/iter_360.pth --classifier logreg --C 1.0 --out work_dirs/'
     'linear_probe/srunet34_ppkt_seed0.json'):
        Entry(LP + 'test_documented_command_runs[2]', 'overrides',
              ('read from the page; --checkpoint a published random student, --out '
               'in tmp, 2 + 1 rooms of 4,000 points')),
    ('python tools/train.py configs/tap/benchmarks/'
     'gain_supervised_pointmlp_scanobjectnn-obj-bg_synthetic.py --work-dir work_dirs/'
     'gain_supervised_obj-bg'):
        Entry(GAIN + 'test_tool_end_to_end_tiny', 'overrides',
              '2 + 1 objects per class in tmp, 256 points, batch 4, 1 epoch'),
    ('python tools/model_converters/publish_model.py work_dirs/'
     'gain_supervised_obj-bg/epoch_20.pth work_dirs/gain_supervised_obj-bg/'
     'backbone.pth'):
        Entry(GAIN + 'test_tool_end_to_end_tiny', 'overrides',
              "the 1-epoch run's epoch_1.pth, tmp paths"),
    ('python tools/benchmarks/pretrain_gain.py configs/tap/benchmarks/'
     'gain_pointmlp_scanobjectnn-obj-bg_synthetic.py --init random --init '
     'tap=work_dirs/tap_pointmlp/backbone-1a2b3c4d.pth --init supervised=work_dirs/'
     'gain_supervised_obj-bg/backbone-5e6f7a8b.pth --seeds 0 1 2 3 4 '
     '--labels-per-class 1 5 10 --out work_dirs/pretrain_gain/obj-bg'):
        Entry(GAIN + 'test_tool_end_to_end_tiny', 'overrides',
              ('one checkpoint init (the supervised one) besides random, seeds 0 1, '
               '1 label per class, 2 fine-tuning steps, tiny set')),
    ('python tools/train.py configs/tap/pointmlp_synthetic-2k.py --work-dir '
     'work_dirs/tap_2k'): UNRUN,
    ('python tools/benchmarks/pretrain_gain.py configs/tap/benchmarks/'
     'gain_pointmlp_scanobjectnn-obj-bg_synthetic.py --init random --init '
     'tap=work_dirs/tap_2k/epoch_2.pth --init supervised=work_dirs/'
     'gain_supervised_obj-bg/backbone-a4877c69.pth --seeds 0 1 2 3 4 '
     '--labels-per-class 1 5 10 --out work_dirs/pretrain_gain/obj-bg_tap2k'):
        Entry(GAIN + 'test_tool_end_to_end_tiny', 'overrides',
              ('same tool and config; another checkpoint init, seeds 0 1, 1 label '
               'per class, 2 fine-tuning steps, tiny set')),
    ('python tools/benchmarks/pretrain_gain.py configs/tap/benchmarks/'
     'gain_pointmlp_scanobjectnn-obj-bg_synthetic_tap-frame.py --init random --init '
     'tap=work_dirs/tap_2k/epoch_2.pth --protocols linear_probe --out work_dirs/'
     'pretrain_gain/obj-bg_tap2k_tap-frame'): UNRUN,
    ('python tools/benchmarks/pretrain_gain.py configs/tap/benchmarks/'
     'gain_pointmlp_scanobjectnn-obj-bg_synthetic.py --init random --init '
     'tap=work_dirs/tap_2k/epoch_2.pth --protocols linear_probe --cfg-options '
     'pretrain_gain.linear_probe.batchnorm=per_cloud --out work_dirs/pretrain_gain/'
     'obj-bg_tap2k_per-cloud-bn'): UNRUN,
    ('python tools/create_data.py synthetic-scenes --out data/'
     'synthetic_scannet_pretrain --num-scenes 24 --frames-per-scene 12 --seed 1'):
        Entry(SCENES + 'test_create_data_cli', 'overrides',
              ('1 room x 1 frame in tmp, seed 0 (seeds: '
               'test_same_seed_byte_identical_other_seed_differs)')),
    ('python tools/train.py configs/ppkt/teacher2d/'
     'resnet18-w32_synthetic-seg_24rooms.py'): UNRUN,
    ('python tools/train.py configs/ppkt/srunet34_synthetic-24rooms.py --work-dir '
     'work_dirs/ppkt_24rooms'): UNRUN,
    ('python tools/benchmarks/scene_gain.py --pretrained work_dirs/ppkt_24rooms/'
     'iter_600.pth --linear-probe-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_linear-probe_srunet34_scannet-seg_synthetic.py --scratch-config projects/'
     'crosspt_mmdet3d/configs/ppkt/gain_srunet34_scratch_scannet-seg_synthetic.py '
     '--finetune-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_srunet34_ft_scannet-seg_synthetic.py --seeds 0 1 2 3 4 --scene-fraction '
     '0.1 --out work_dirs/scene_gain/ppkt24'): UNRUN,
    ('python tools/train.py configs/ppkt/'
     'srunet34_synthetic-24rooms_random-teacher.py --work-dir work_dirs/'
     'ppkt_24rooms_random-teacher'): UNRUN,
    ('python tools/benchmarks/scene_gain.py --pretrained work_dirs/'
     'ppkt_24rooms_random-teacher/iter_600.pth --linear-probe-config projects/'
     'crosspt_mmdet3d/configs/ppkt/'
     'gain_linear-probe_srunet34_scannet-seg_synthetic.py --scratch-config projects/'
     'crosspt_mmdet3d/configs/ppkt/gain_srunet34_scratch_scannet-seg_synthetic.py '
     '--finetune-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_srunet34_ft_scannet-seg_synthetic.py --protocols linear_probe --out '
     'work_dirs/scene_gain/ppkt24_random-teacher'): UNRUN,
    # first shown on README.md
    ('NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'): UNRUN,
    ('GPUS=16 bash tools/slurm_train.sh PARTITION tap configs/tap/'
     'pointmlp_1xb32-100e_shapenet55.py work_dirs/tap'):
        Entry(SLURM + 'test_slurm_train_runs_train_py_with_the_slurm_launcher', 'stand-in',
              ('a fake srun records the task layout and argv; GPUS_PER_NODE=4, + '
               '--auto-scale-lr')),
    ('python tools/dataset_converters/render_views.py MESH_DIR data/MyShapes '
     '--val-fraction 0.1 --test-fraction 0.1 --up-axis y'):
        Entry(RV + 'test_converted_meshes_train_one_tap_epoch', 'overrides',
              '5 hand-written meshes in tmp, --val/--test-fraction 0.2, 56-px views'),
    ('python tools/test.py configs/tap/benchmarks/dgcnn_ft_scanobjectnn-pb-t50-rs.py '
     "'https://cloud.tsinghua.edu.cn/f/5fa20c80d9c04cf482d2/?dl=1'"):
        Entry(E2E + 'test_readme_test_command_with_url_equals_converted_file', 'overrides',
              ('read from README; the URL served from a loopback mirror, data_root '
               'at the embedded ScanObjectNN twin')),
    ('python tools/test.py configs/tap/benchmarks/'
     "pointnet2_ft_scanobjectnn-pb-t50-rs.py 'https://cloud.tsinghua.edu.cn/f/"
     "c6a271c790504189a723/?dl=1'"): UNRUN,
    ('python tools/test.py configs/tap/benchmarks/'
     "pointmlp_ft_scanobjectnn-pb-t50-rs.py 'https://cloud.tsinghua.edu.cn/f/"
     "5c5eccb0ee0f4cc2b324/?dl=1'"): UNRUN,
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-obj-bg.py 'https://cloud.tsinghua.edu.cn/f/"
     "0cad6c787907405d8e0a/?dl=1'"): UNRUN,
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-obj-only.py 'https://cloud.tsinghua.edu.cn/f/"
     "a636efb6f6174dfda76a/?dl=1'"): UNRUN,
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-pb-t50-rs.py 'https://cloud.tsinghua.edu.cn/f/"
     "fa5ae69b4f6741608804/?dl=1'"): UNRUN,
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_shapenetpart.py '
     "'https://cloud.tsinghua.edu.cn/f/653d296b772b4bd9a0f9/?dl=1' --tta"): UNRUN,
    ('python tools/misc/download_checkpoint.py '
     'tap_pointmlp_ft_scanobjectnn-pb-t50-rs_official --dest checkpoints'):
        Entry(E2E + 'test_readme_python_snippet_and_download_command', 'overrides',
              'read from README; a loopback mirror, --dest in tmp'),
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg.checkpoint=tap_pointmlp-1a2b3c4d.pth'): UNRUN,
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/backbone-<sha>.pth python tools/'
     'train.py configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py'): UNRUN,
    'python tools/train.py configs/ppkt/srunet34_synthetic.py':
        Entry(PPKT + 'test_ppnce_falls_below_chance', 'overrides',
              ('CROSSPT_TEACHER a 120-iteration teacher, cached 4 rooms, 20 + 20 '
               'iterations in tmp')),
    ('python demo/tap_views_demo.py chair.ply configs/tap/pointmlp_synthetic.py '
     'work_dirs/pointmlp_synthetic/epoch_20.pth --views 0 3 6 9 --up-axis y'):
        Entry(TAP + 'test_demo_writes_predicted_views_next_to_the_input', 'overrides',
              ("a val object as chair.ply in tmp, the short run's checkpoint, "
               '--views 0 3 6 (y up: the default)')),
    # first shown on projects/crosspt_mmdet3d/README.md
    ('python tools/train.py configs/tap/3detr-encoder_synthetic.py --work-dir '
     'work_dirs/tap_3detr'):
        Entry(BB + 'test_tap_pretraining_loss_falls_for_every_backbone[3detr-encoder]',
              'overrides', ('12 + 4 cached objects, 3 epochs, 2 photograph blocks, 256 '
               'pre-encoder centres, tmp work dir')),
    ('CROSSPT_PRETRAINED=work_dirs/tap_3detr/epoch_20.pth python tools/train.py '
     'projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det_synthetic.py'):
        Entry(SCENE + 'test_3detr_detection_trains_and_tests_from_tap', 'overrides',
              'CROSSPT_PRETRAINED a saved TAP encoder, cached rooms, 3 iterations'),
}

#: command -> why no test runs it yet, and what a cheap run would need
NOT_RUN = {
    # first shown on docs/finetuning.md
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/tap_pointmlp-1a2b3c4d.pth bash tools/'
     'dist_train.sh configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py 8'):
        ('the published ScanObjectNN recipe (full PointMLP, real data) is never '
         'trained, and not on 8 processes. Cheap run: tools/dist_train.sh CONFIG 2 '
         'with data_root at the embedded ScanObjectNN twin (as '
         'test_official_weights_e2e.py does for tools/test.py), 8 clouds, 1 epoch, a '
         'published random PointMLP backbone.'),
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg.checkpoint=tap_pointmlp_crosspt.pth'):
        ('tools/train.py never runs the published ScanObjectNN recipe. Cheap run: '
         'the command with the embedded ScanObjectNN twin as data_root, 1 epoch on 8 '
         'clouds, the checkpoint a tap_to_crosspt.py output.'),
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/backbone-1a2b3c4d.pth python tools/'
     'train.py configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py'):
        ('test_benchmark_config_steps_in_process[pointmlp_ft_scanobjectnn-pb-t50-rs_s'
         'ynthetic.py-None] steps the config in process; tools/train.py never runs '
         'it (its END_TO_END list holds the PointNet++ ScanObjectNN twin). Cheap '
         'run: add it to END_TO_END (short_finetune_options, ~30 s).'),
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_modelnet40.py '
     'work_dirs/pointmlp_ft_modelnet40/best_cls_oa_epoch_250.pth'):
        ('tools/test.py never runs the published ModelNet40 recipe (full PointMLP; '
         'the _synthetic twin uses PointMLP-elite). Cheap run: tools/test.py with '
         "data_root at the embedded ModelNet40 twin and a checkpoint of the config's "
         'own model.'),
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_shapenetpart.py CKPT '
     '--tta --cfg-options model.refine=False'):
        ('tools/test.py never runs the published ShapeNetPart recipe (the e2e run is '
         'pointmlp_ft_shapenetpart_synthetic.py, PointMLP-elite sizes). Cheap run: '
         'data_root at the embedded ShapeNetPart twin, 6 test shapes, num_votes=2.'),
    'bash tools/dist_test.sh configs/tap/benchmarks/pointmlp_ft_modelnet40.py CKPT 8':
        ('no test runs tools/dist_test.sh at all. Cheap run: bash tools/dist_test.sh '
         'on an embedded twin config with 2 processes (tool_runner.run gives a free '
         'PORT).'),
    ('for F in 0 1 2 3 4 5 6 7 8 9; do CROSSPT_PRETRAINED=tap_transformer.pth python '
     'tools/train.py configs/tap/benchmarks/'
     'transformer_fewshot-5way10shot_modelnet40.py --work-dir work_dirs/'
     'fewshot-5way10shot/fold$F --cfg-options train_dataloader.dataset.fold=$F '
     'val_dataloader.dataset.fold=$F; done'):
        ('no test trains the published few-shot recipe or runs the fold loop. Cheap '
         'run: the loop over 2 folds with data_root at the embedded ModelNetFewshot '
         'twin, 1 epoch, a published random Transformer backbone.'),
    ('python tools/benchmarks/transfer.py configs/tap/benchmarks/'
     'pointmlp_ft_modelnet40_synthetic.py --pretrained work_dirs/tap_pointmlp/'
     'backbone-1a2b3c4d.pth --max-epochs 20 --batch-size 8'):
        ('the transfer tool never runs (see the --pretrain-config command). Cheap '
         'run: --pretrained a published random backbone, --max-epochs 1, 2 seeds, '
         'cached ModelNet40 twin.'),
    ('CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth bash '
     'tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_ft_scannet-seg_15pct.py 4'):
        ('the 15 % ScanNet recipe is never trained. Cheap run: as for '
         'srunet34_ft_scannet-seg.py, with the twin.'),
    ('bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/tap/'
     '3detr_scratch_scannet-det.py 1'):
        ('the real-ScanNet 3DETR recipe is only built (test_random_cuboid.py checks '
         'its pipeline). Cheap run: tools/dist_train.sh CONFIG 1 with data_root at '
         "the cached twin and the shrink options of test_mmdet3d_sunrgbd.py's run."),
    ('python tools/benchmarks/scene_transfer.py projects/crosspt_mmdet3d/configs/'
     'ppkt/srunet34_scratch_scannet-seg_synthetic.py projects/crosspt_mmdet3d/'
     'configs/ppkt/srunet34_ft_scannet-seg_synthetic.py --pretrained work_dirs/'
     'ppkt_srunet34/iter_360.pth --scene-fraction 0.25 --seeds 0 1 2'):
        ('no test runs tools/benchmarks/scene_transfer.py. Cheap run: 2 seeds, 2 '
         'iterations per run via --cfg-options, cached rooms, a saved SR-UNet34 '
         'student as --pretrained.'),
    ('python tools/train.py configs/tap/pointmlp_synthetic-2k.py --work-dir '
     'work_dirs/tap_2k'):
        ('_base_ child of pointmlp_synthetic.py with its own 2,000-object set (seed '
         '1), 1,024 points and schedule; no test runs it. Cheap run: tools/train.py '
         'with the small_run_options of test_train_tap.py (its data_root and 12 + 4 '
         'objects), 1 epoch.'),
    ('python tools/benchmarks/pretrain_gain.py configs/tap/benchmarks/'
     'gain_pointmlp_scanobjectnn-obj-bg_synthetic_tap-frame.py --init random --init '
     'tap=work_dirs/tap_2k/epoch_2.pth --protocols linear_probe --out work_dirs/'
     'pretrain_gain/obj-bg_tap2k_tap-frame'):
        ("no test runs the tap-frame config or pretrain_gain.py's --protocols "
         "option. Cheap run: test_pretrain_gain_tool.py's tiny run with this config "
         'and --protocols linear_probe.'),
    ('python tools/benchmarks/pretrain_gain.py configs/tap/benchmarks/'
     'gain_pointmlp_scanobjectnn-obj-bg_synthetic.py --init random --init '
     'tap=work_dirs/tap_2k/epoch_2.pth --protocols linear_probe --cfg-options '
     'pretrain_gain.linear_probe.batchnorm=per_cloud --out work_dirs/pretrain_gain/'
     'obj-bg_tap2k_per-cloud-bn'):
        ("pretrain_gain.py's --protocols is run by no test (per-cloud BatchNorm "
         'itself: '
         'test_linear_probe.py::test_per_cloud_batchnorm_normalises_each_cloud_by_its'
         '_own_statistics). Cheap run: the tiny run of test_pretrain_gain_tool.py '
         'with --protocols linear_probe and this --cfg-options.'),
    ('python tools/train.py configs/ppkt/teacher2d/'
     'resnet18-w32_synthetic-seg_24rooms.py'):
        ('_base_ child of the 2D teacher config with its own 24-room set; no test '
         'trains it. Cheap run: tools/train.py with the teacher options of '
         'test_train_ppkt.py (cached 4 rooms) and 10 iterations.'),
    ('python tools/train.py configs/ppkt/srunet34_synthetic-24rooms.py --work-dir '
     'work_dirs/ppkt_24rooms'):
        ('_base_ child of srunet34_synthetic.py (24 rooms, seed 1, scene lists, own '
         "teacher path); no test runs it. Cheap run: test_train_ppkt.py's "
         'ppkt_options plus the scenes lists pointed at the cached 4 rooms, 6 '
         'iterations.'),
    ('python tools/benchmarks/scene_gain.py --pretrained work_dirs/ppkt_24rooms/'
     'iter_600.pth --linear-probe-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_linear-probe_srunet34_scannet-seg_synthetic.py --scratch-config projects/'
     'crosspt_mmdet3d/configs/ppkt/gain_srunet34_scratch_scannet-seg_synthetic.py '
     '--finetune-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_srunet34_ft_scannet-seg_synthetic.py --seeds 0 1 2 3 4 --scene-fraction '
     '0.1 --out work_dirs/scene_gain/ppkt24'):
        ('test_scene_gain_tool.py replaces both runners of scene_gain.py by fixed '
         'numbers; the tool never runs its configs. Cheap run: 2 seeds, shrinking '
         '--cfg-options on the three gain_* configs, cached rooms, a saved student.'),
    ('python tools/train.py configs/ppkt/'
     'srunet34_synthetic-24rooms_random-teacher.py --work-dir work_dirs/'
     'ppkt_24rooms_random-teacher'):
        ('no test runs the random-teacher control (teacher checkpoint None, '
         'allow_random_init). Cheap run: as for srunet34_synthetic-24rooms.py, '
         'without CROSSPT_TEACHER.'),
    ('python tools/benchmarks/scene_gain.py --pretrained work_dirs/'
     'ppkt_24rooms_random-teacher/iter_600.pth --linear-probe-config projects/'
     'crosspt_mmdet3d/configs/ppkt/'
     'gain_linear-probe_srunet34_scannet-seg_synthetic.py --scratch-config projects/'
     'crosspt_mmdet3d/configs/ppkt/gain_srunet34_scratch_scannet-seg_synthetic.py '
     '--finetune-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_srunet34_ft_scannet-seg_synthetic.py --protocols linear_probe --out '
     'work_dirs/scene_gain/ppkt24_random-teacher'):
        ('scene_gain.py never runs for real (see the other scene_gain command). '
         'Cheap run: the same tiny run with --protocols linear_probe.'),
    # first shown on README.md
    ('NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'):
        ('no test runs tools/dist_train.sh with NNODES > 1 (see the docs/'
         'pretraining.md two-node lines).'),
    ('python tools/test.py configs/tap/benchmarks/'
     "pointnet2_ft_scanobjectnn-pb-t50-rs.py 'https://cloud.tsinghua.edu.cn/f/"
     "c6a271c790504189a723/?dl=1'"):
        ('only the DGCNN line of this block runs (test_official_weights_e2e.py); '
         'tools/test.py never runs the PointNet++ recipe. Cheap run: the DGCNN test '
         'parametrised over the seven lines (each served file an official-layout '
         'classifier of that config).'),
    ('python tools/test.py configs/tap/benchmarks/'
     "pointmlp_ft_scanobjectnn-pb-t50-rs.py 'https://cloud.tsinghua.edu.cn/f/"
     "5c5eccb0ee0f4cc2b324/?dl=1'"):
        ('the file is served and loaded by init_model '
         '(test_readme_python_snippet_and_download_command), but tools/test.py never '
         'runs this line. Cheap run: as for the PointNet++ line.'),
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-obj-bg.py 'https://cloud.tsinghua.edu.cn/f/"
     "0cad6c787907405d8e0a/?dl=1'"):
        ('tools/test.py never runs the Transformer OBJ_BG recipe. Cheap run: as for '
         'the PointNet++ line.'),
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-obj-only.py 'https://cloud.tsinghua.edu.cn/f/"
     "a636efb6f6174dfda76a/?dl=1'"):
        ('tools/test.py never runs the Transformer OBJ_ONLY recipe. Cheap run: as '
         'for the PointNet++ line.'),
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-pb-t50-rs.py 'https://cloud.tsinghua.edu.cn/f/"
     "fa5ae69b4f6741608804/?dl=1'"):
        ('tools/test.py never runs the Transformer PB_T50_RS recipe. Cheap run: as '
         'for the PointNet++ line.'),
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_shapenetpart.py '
     "'https://cloud.tsinghua.edu.cn/f/653d296b772b4bd9a0f9/?dl=1' --tta"):
        ('tools/test.py never runs the ShapeNetPart recipe with an official file '
         '(test_official_weights.py loads it with init_model). Cheap run: as for the '
         'PointNet++ line, ShapeNetPart twin, num_votes=2.'),
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg.checkpoint=tap_pointmlp-1a2b3c4d.pth'):
        ('tools/train.py never runs the published ScanObjectNN recipe (see docs/'
         "finetuning.md's variant)."),
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/backbone-<sha>.pth python tools/'
     'train.py configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py'):
        ('the ScanObjectNN twin is only stepped in process (see the docs/'
         'finetuning.md line); tools/train.py never runs it.'),
    # first shown on projects/crosspt_mmdet3d/README.md
}
