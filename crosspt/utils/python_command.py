"""How a tool starts another Python tool.

tools/benchmarks/transfer.py, scene_transfer.py and scene_gain.py launch tools/train.py
(and the model publisher) once per arm and seed.  They start them with
:func:`python_command`: the command in ``CROSSPT_PYTHON`` when it is set (split like shell
words, e.g. ``CROSSPT_PYTHON="python -X faulthandler"`` or a wrapper script), else the
interpreter running the tool.
"""
import os
import shlex
import sys
from typing import List


def python_command() -> List[str]:
    """The argv prefix that runs a Python script: ``CROSSPT_PYTHON`` or ``sys.executable``."""
    command = os.environ.get('CROSSPT_PYTHON', '').strip()
    return shlex.split(command) if command else [sys.executable]
