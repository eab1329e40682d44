"""Retraining long-writing models with TRL (SFT, DPO, GRPO) and registering them in the studio.

Entry points: ``longwriter train …`` / ``python -m training …`` (``training.cli``) and
``training.runner.train(task, config)``. Configs live in ``training/configs/``; see README-section.md.
"""
