"""Which test runs each command of the documentation, part two: the commands of
docs/finetuning.md, README.md and projects/*/README.md that no page of
docs_command_coverage.py shows (the format, the rules and the checks: that module's
docstring)."""
from docs_command_coverage import E2E, GAIN, LP, PPKT, RV, S3DIS, SCENE, SLURM, SUN, TAP, Entry
from docs_command_coverage import PUBLISHED, PUBLISHED_TAP, SONN_RECORDED, TWO_NODES
from docs_command_coverage import RECIPES
from docs_command_coverage import BENCH

#: the parametrised test of the README's official-weight tools/test.py lines
OFFICIAL_LINES = E2E + 'test_readme_test_lines_score_the_served_official_file'

COVERAGE = {
    # first shown on docs/finetuning.md
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/tap_pointmlp-1a2b3c4d.pth bash tools/'
     'dist_train.sh configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py 8'):
        Entry(PUBLISHED + 'test_scanobjectnn_recipe_dist_train_from_the_published_tap_backbone',
              'overrides',
              SONN_RECORDED),
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg.checkpoint=tap_pointmlp_crosspt.pth'):
        Entry(PUBLISHED + 'test_scanobjectnn_recipe_train_with_a_checkpoint_option',
              'overrides',
              ("the file: the 1-step TAP run's published backbone linked under that "
               'name in a tmp folder; ScanObjectNN twin, 2 objects, 1 step, no '
               'validation')),
    ('python tools/train.py configs/tap/pointmlp_synthetic.py --work-dir work_dirs/'
     'tap_pointmlp'):
        Entry(TAP + 'test_loss_falls_and_view_grids_are_written', 'overrides',
              'tmp work dir, 12 + 4 cached objects, batch 4, 3 + 3 epochs'),
    ('python tools/model_converters/publish_model.py work_dirs/tap_pointmlp/'
     'epoch_20.pth work_dirs/tap_pointmlp/backbone.pth'):
        Entry(TAP + 'test_publish_backbone_only', 'overrides',
              "the short run's epoch_6.pth, output in tmp"),
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/backbone-1a2b3c4d.pth python tools/'
     'train.py configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py'):
        Entry(PUBLISHED + 'test_scanobjectnn_twin_trains_from_a_published_elite_backbone',
              'overrides',
              ('a published random PointMLP-elite backbone (real sha) in a tmp folder; '
               'cached twin, 2 + 2 objects, 1 step')),
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_modelnet40.py '
     'work_dirs/pointmlp_ft_modelnet40/best_cls_oa_epoch_250.pth'):
        Entry(PUBLISHED + 'test_modelnet40_recipe_tests_the_documented_checkpoint',
              'overrides',
              ("the file: a 1-step fine-tuning's epoch_1.pth under that name in a tmp "
               'folder; ModelNet40 twin, 2 test objects')),
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_shapenetpart.py CKPT '
     '--tta --cfg-options model.refine=False'):
        Entry(PUBLISHED + 'test_shapenetpart_recipe_tests_with_tta', 'overrides',
              ("CKPT: the recipe's segmentor with random weights, saved in process; "
               'ShapeNetPart twin, 2 test shapes, 2 votes')),
    'bash tools/dist_test.sh configs/tap/benchmarks/pointmlp_ft_modelnet40.py CKPT 8':
        Entry(PUBLISHED + 'test_modelnet40_recipe_dist_test_line', 'overrides',
              ('dist_test.sh run with a recording PYTHON (torchrun options checked), '
               "then the rank argv as a 1-process world; its OA equals tools/test.py's "
               'on the same 2 twin objects')),
    ('for F in 0 1 2 3 4 5 6 7 8 9; do CROSSPT_PRETRAINED=tap_transformer.pth python '
     'tools/train.py configs/tap/benchmarks/'
     'transformer_fewshot-5way10shot_modelnet40.py --work-dir work_dirs/'
     'fewshot-5way10shot/fold$F --cfg-options train_dataloader.dataset.fold=$F '
     'val_dataloader.dataset.fold=$F; done'):
        Entry(PUBLISHED + 'test_fewshot_fold_loop', 'overrides',
              ("folds 0 and 1 of the loop (each fold's config checked in its work "
               'dir); tap_transformer.pth a published random Transformer backbone; '
               'few-shot twin, 2 objects, 1 step, no validation')),
    ('python tools/benchmarks/transfer.py configs/tap/benchmarks/'
     'pointmlp_ft_modelnet40_synthetic.py --pretrained work_dirs/tap_pointmlp/'
     'backbone-1a2b3c4d.pth --max-epochs 20 --batch-size 8'):
        Entry(BENCH + 'test_transfer_with_a_published_backbone', 'overrides',
              ('read from the page; --pretrained the backbone the --pretrain-config run '
               'published, seed 0, --max-epochs 3, cached ModelNet40 twin (8 + 6 clouds), '
               'tmp work dir')),
    ('CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth bash '
     'tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_ft_scannet-seg_15pct.py 4'):
        Entry(RECIPES + 'test_srunet34_ft_scannet_seg_15pct_one_rank', 'overrides',
              ('as srunet34_ft_scannet-seg.py 4 (one rank, copy of the '
               'repository root, 2 + 1-room twin); 1 iteration, no validation')),
    ('bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/tap/'
     '3detr_scratch_scannet-det.py 1'):
        Entry(RECIPES + 'test_3detr_scratch_scannet_det_one_rank', 'overrides',
              ('1-process world, copy of the repository root with a 2 + 1-room '
               'data/scannet/; 1 epoch; sampling shrunk (1,024 points, 128 '
               'centres, 32 queries; the full sampling took 46 s)')),
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_scannet-seg_synthetic.py'):
        Entry(SCENE + 'test_srunet_segmentation_trains_and_tests_from_ppkt', 'overrides',
              ('CROSSPT_PRETRAINED a saved SR-UNet34 student, cached 4 + 2 rooms, 1 '
               'iteration of batch 1')),
    ('python tools/test.py projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_ft_scannet-seg_synthetic.py work_dirs/'
     'srunet34_ft_scannet-seg_synthetic/iter_150.pth'):
        Entry(SCENE + 'test_srunet_segmentation_trains_and_tests_from_ppkt', 'overrides',
              "the 1-iteration run's checkpoint, cached rooms"),
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
        Entry(SCENE + 'test_label_fraction_trains_on_the_kept_scenes', 'overrides',
              'cached rooms, batch 1, 1 iteration'),
    ('python tools/benchmarks/scene_transfer.py projects/crosspt_mmdet3d/configs/'
     'ppkt/srunet34_scratch_scannet-seg_synthetic.py projects/crosspt_mmdet3d/'
     'configs/ppkt/srunet34_ft_scannet-seg_synthetic.py --pretrained work_dirs/'
     'ppkt_srunet34/iter_360.pth --scene-fraction 0.25 --seeds 0 1 2'):
        Entry(BENCH + 'test_scene_transfer_lines[finetuning.md]', 'overrides',
              ('read from the page; --pretrained the tiny 24-room PPKT student, seed 0, 2 '
               '+ 1 generated rooms of 4,000 points, batch 1, 1 iteration, tmp work dir')),
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
     'work_dirs/tap_2k'):
        Entry(BENCH + 'test_tap_2k_trains_two_epochs_and_validates_each', 'overrides',
              ('read from the page; 1 + 1 objects (1 held out) generated in tmp, batch 2, '
               'its 2 epochs, no loader workers, tmp work dir')),
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
     'pretrain_gain/obj-bg_tap2k_tap-frame'):
        Entry(BENCH + 'test_pretrain_gain_linear_probe_lines[tap-frame]', 'overrides',
              ("read from the page; tap= the tiny TAP 2k run's epoch_2.pth, seeds 0 1, 1 "
               'label per class, 2 + 1 objects per class in tmp, --out in tmp')),
    ('python tools/benchmarks/pretrain_gain.py configs/tap/benchmarks/'
     'gain_pointmlp_scanobjectnn-obj-bg_synthetic.py --init random --init '
     'tap=work_dirs/tap_2k/epoch_2.pth --protocols linear_probe --cfg-options '
     'pretrain_gain.linear_probe.batchnorm=per_cloud --out work_dirs/pretrain_gain/'
     'obj-bg_tap2k_per-cloud-bn'):
        Entry(BENCH + 'test_pretrain_gain_linear_probe_lines[per-cloud-bn]', 'overrides',
              ("read from the page; tap= the tiny TAP 2k run's epoch_2.pth, seeds 0 1, 1 "
               'label per class, 2 + 1 objects per class in tmp, --out in tmp')),
    ('python tools/create_data.py synthetic-scenes --out data/'
     'synthetic_scannet_pretrain --num-scenes 24 --frames-per-scene 12 --seed 1'):
        Entry(BENCH + 'test_create_data_writes_the_pretraining_rooms', 'overrides',
              ('read from the page; --out in tmp, 3 rooms x 2 frames (seed 1 kept); feeds '
               'the teacher and student runs')),
    ('python tools/train.py configs/ppkt/teacher2d/'
     'resnet18-w32_synthetic-seg_24rooms.py'):
        Entry(BENCH + 'test_teacher_trains_on_the_generated_rooms', 'overrides',
              ('read from the page; the 3 generated rooms (0-1 train, 2 validates), 2 '
               'iterations of 2 crops, no loader workers, tmp work dir')),
    ('python tools/train.py configs/ppkt/srunet34_synthetic-24rooms.py --work-dir '
     'work_dirs/ppkt_24rooms'):
        Entry(BENCH + 'test_ppkt_24rooms_distils_the_trained_teacher', 'overrides',
              ('read from the page; CROSSPT_TEACHER the 2-iteration teacher, rooms 0-1 of '
               'the 3 generated pre-train and 2 validates, batch 1, 2 iterations, no loader '
               'workers, tmp work dir')),
    ('python tools/benchmarks/scene_gain.py --pretrained work_dirs/ppkt_24rooms/'
     'iter_600.pth --linear-probe-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_linear-probe_srunet34_scannet-seg_synthetic.py --scratch-config projects/'
     'crosspt_mmdet3d/configs/ppkt/gain_srunet34_scratch_scannet-seg_synthetic.py '
     '--finetune-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_srunet34_ft_scannet-seg_synthetic.py --seeds 0 1 2 3 4 --scene-fraction '
     '0.1 --out work_dirs/scene_gain/ppkt24'):
        Entry(BENCH + 'test_scene_gain_ppkt24_both_protocols', 'overrides',
              ('read from the page; the three gain_* configs as tmp _base_ children (the '
               'tool has no --cfg-options): 2 + 1 generated rooms of 4,000 points, every '
               'training point probed, 1 fine-tuning iteration; the tiny 24-room student, '
               'seeds 0 1 (the tool\'s minimum), --out in tmp')),
    ('python tools/train.py configs/ppkt/'
     'srunet34_synthetic-24rooms_random-teacher.py --work-dir work_dirs/'
     'ppkt_24rooms_random-teacher'):
        Entry(BENCH + 'test_ppkt_24rooms_random_teacher_loads_no_teacher', 'overrides',
              ('read from the page; rooms 0-1 of the 3 generated pre-train and 2 '
               'validates, batch 1, 2 iterations, no loader workers, tmp work dir')),
    ('python tools/benchmarks/scene_gain.py --pretrained work_dirs/'
     'ppkt_24rooms_random-teacher/iter_600.pth --linear-probe-config projects/'
     'crosspt_mmdet3d/configs/ppkt/'
     'gain_linear-probe_srunet34_scannet-seg_synthetic.py --scratch-config projects/'
     'crosspt_mmdet3d/configs/ppkt/gain_srunet34_scratch_scannet-seg_synthetic.py '
     '--finetune-config projects/crosspt_mmdet3d/configs/ppkt/'
     'gain_srunet34_ft_scannet-seg_synthetic.py --protocols linear_probe --out '
     'work_dirs/scene_gain/ppkt24_random-teacher'):
        Entry(BENCH + 'test_scene_gain_random_teacher_linear_probe', 'overrides',
              ('read from the page; the gain_* configs as tmp _base_ children (2 + 1 '
               'generated rooms of 4,000 points, every training point probed), the tiny '
               'random-teacher student, seeds 0 1, --out in tmp')),
    # first shown on README.md
    ('NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'):
        Entry(PUBLISHED_TAP + '[pointmlp_1xb32-100e_shapenet55.py]', 'overrides',
              TWO_NODES),
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
     "c6a271c790504189a723/?dl=1'"):
        Entry(OFFICIAL_LINES + '[pointnet2_ft_scanobjectnn-pb-t50-rs.py]', 'overrides',
              ('read from README; a loopback mirror serves an official-layout '
               "file of the config's model that predicts one class; data_root "
               'at the embedded twin, 2 test objects')),
    ('python tools/test.py configs/tap/benchmarks/'
     "pointmlp_ft_scanobjectnn-pb-t50-rs.py 'https://cloud.tsinghua.edu.cn/f/"
     "5c5eccb0ee0f4cc2b324/?dl=1'"):
        Entry(OFFICIAL_LINES + '[pointmlp_ft_scanobjectnn-pb-t50-rs.py]', 'overrides',
              ('read from README; a loopback mirror serves an official-layout '
               "file of the config's model that predicts one class; data_root "
               'at the embedded twin, 2 test objects')),
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-obj-bg.py 'https://cloud.tsinghua.edu.cn/f/"
     "0cad6c787907405d8e0a/?dl=1'"):
        Entry(OFFICIAL_LINES + '[transformer_ft_scanobjectnn-obj-bg.py]', 'overrides',
              ('read from README; a loopback mirror serves an official-layout '
               "file of the config's model that predicts one class; data_root "
               'at the embedded twin, 2 test objects')),
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-obj-only.py 'https://cloud.tsinghua.edu.cn/f/"
     "a636efb6f6174dfda76a/?dl=1'"):
        Entry(OFFICIAL_LINES + '[transformer_ft_scanobjectnn-obj-only.py]', 'overrides',
              ('read from README; a loopback mirror serves an official-layout '
               "file of the config's model that predicts one class; data_root "
               'at the embedded twin, 2 test objects')),
    ('python tools/test.py configs/tap/benchmarks/'
     "transformer_ft_scanobjectnn-pb-t50-rs.py 'https://cloud.tsinghua.edu.cn/f/"
     "fa5ae69b4f6741608804/?dl=1'"):
        Entry(OFFICIAL_LINES + '[transformer_ft_scanobjectnn-pb-t50-rs.py]', 'overrides',
              ('read from README; a loopback mirror serves an official-layout '
               "file of the config's model that predicts one class; data_root "
               'at the embedded twin, 2 test objects')),
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_shapenetpart.py '
     "'https://cloud.tsinghua.edu.cn/f/653d296b772b4bd9a0f9/?dl=1' --tta --cfg-options "
     'model.refine=False'):
        Entry(OFFICIAL_LINES + '[pointmlp_ft_shapenetpart.py]', 'overrides',
              ('read from README; a loopback mirror serves an official-layout '
               "file of the config's model that predicts one class; data_root "
               'at the embedded twin, 1 shape, 2 votes')),
    ('python tools/misc/download_checkpoint.py '
     'tap_pointmlp_ft_scanobjectnn-pb-t50-rs_official --dest checkpoints'):
        Entry(E2E + 'test_readme_python_snippet_and_download_command', 'overrides',
              'read from README; a loopback mirror, --dest in tmp'),
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg.checkpoint=tap_pointmlp-1a2b3c4d.pth'):
        Entry(PUBLISHED + 'test_scanobjectnn_recipe_train_with_a_checkpoint_option',
              'overrides',
              ("differs from docs/finetuning.md's line, which runs, in the file name "
               'only (checked)')),
    ('CROSSPT_PRETRAINED=work_dirs/tap_pointmlp/backbone-<sha>.pth python tools/'
     'train.py configs/tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py'):
        Entry(PUBLISHED + 'test_scanobjectnn_twin_trains_from_a_published_elite_backbone',
              'overrides',
              ("the same run as docs/finetuning.md's line once <sha> is filled in "
               '(checked)')),
    'python tools/train.py configs/ppkt/srunet34_synthetic.py':
        Entry(PPKT + 'test_ppnce_falls_below_chance', 'overrides',
              ('CROSSPT_TEACHER a 120-iteration teacher, cached 4 rooms, 20 + 20 '
               'iterations of batch 2 in tmp')),
    ('python demo/tap_views_demo.py chair.ply configs/tap/pointmlp_synthetic.py '
     'work_dirs/pointmlp_synthetic/epoch_20.pth --views 0 3 6 9 --up-axis y'):
        Entry(TAP + 'test_demo_writes_predicted_views_next_to_the_input', 'overrides',
              ("a val object as chair.ply in tmp, the short run's checkpoint, "
               '--views 0 3 6 (y up: the default)')),
    # first shown on projects/crosspt_mmdet3d/README.md
    ('python tools/train.py configs/tap/3detr-encoder_synthetic.py --work-dir '
     'work_dirs/tap_3detr'):
        Entry(SCENE + 'test_3detr_detection_trains_and_tests_from_tap', 'overrides',
              ('2 + 1 + 1 generated objects in tmp, 1 epoch of batch 2, 1 view, 2 '
               'photograph blocks, 256 pre-encoder centres, tmp work dir')),
    ('CROSSPT_PRETRAINED=work_dirs/tap_3detr/epoch_20.pth python tools/train.py '
     'projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det_synthetic.py'):
        Entry(SCENE + 'test_3detr_detection_trains_and_tests_from_tap', 'overrides',
              ('CROSSPT_PRETRAINED the shrunk TAP run above, cached rooms, 2 iterations '
               'of batch 2')),
}
