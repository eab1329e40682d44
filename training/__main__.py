"""``python -m training sft|dpo|grpo --config FILE.yaml``: the same commands as ``longwriter train``."""

from training.cli import app

app(prog_name="python -m training")
