"""The GPU check (issue 19): one prepared run that proves the CUDA path and measures the agent on a GPU.

``make gpu-check [DEVICE=cuda|cpu] [QUICK=1] [OUT=folder]`` runs ``python -m scripts.gpu_check``. Each part runs in
a process of its own with a time limit, writes ``OUT/<part>.json``, and the driver gathers them into
``OUT/summary.json`` (``"passed"``, the device, the versions, every figure) after every part, so a run cut short
still leaves what it measured. docs/PERFORMANCE.md ("GPU check") says what each part measures and what passes.
"""
