"""fctrain's Triton kernels, installed as `fctrain.kernels`; each beside its plain-torch reference.

This folder sits one level below the checkout's `kernels/` so that `kernels/` itself is no regular package:
from the checkout root (`python -m`, `python -c`, torchrun) `import kernels` then finds the installed
Hugging Face `kernels` distribution that transformers imports, never this code. See docs/architecture.md.
"""
