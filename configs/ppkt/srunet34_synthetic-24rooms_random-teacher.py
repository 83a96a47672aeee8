# Control of the PPKT "Does pre-training help?" benchmark (docs/finetuning.md, "Does
# pre-training help? (embedded benchmark)"): srunet34_synthetic-24rooms.py with the 2D
# teacher left at its random initialisation (same seed, same pairs, same schedule).  The
# student then learns only what pixel <-> point contrast gives without 2D knowledge, so
# the difference between the two students' benchmark rows is what the trained 2D teacher
# transfers.
#   python tools/train.py configs/ppkt/srunet34_synthetic-24rooms_random-teacher.py
_base_ = ['./srunet34_synthetic-24rooms.py']

model = dict(teacher=dict(checkpoint=None, prefix=None, allow_random_init=True))
