"""Retraining long-writing models with TRL (SFT, DPO, GRPO) and registering them in the studio.

Entry points: ``longwriter train …`` / ``python -m training …`` (``training.cli``) and
``training.runner.train(task, config)``. Example configs live in ``training/configs/``; the README's
Training section has the commands for CPU smoke runs and GPU clusters.
"""
