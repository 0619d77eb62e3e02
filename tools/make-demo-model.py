#!/usr/bin/python3
"""Writes data/demo/model/: the embedded demo checkpoint, the tiny random-weight fixture model
(tests/fixtures/tiny, made by tests/reference/make_model_fixtures.py) re-saved as f32 safetensors
with metadata `phenolip.demo: random-weights`, so that everything which shows it can say that its
outputs are meaningless. Regenerate:
    /usr/bin/python3 tools/make-demo-model.py
"""
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
from make_model_fixtures import write_safetensors  # noqa: E402

src = os.path.join(ROOT, "tests", "fixtures", "tiny")
dst = os.path.join(ROOT, "data", "demo", "model")
os.makedirs(os.path.join(dst, "tiny-bert"), exist_ok=True)
state = torch.load(os.path.join(src, "open_clip_pytorch_model.bin"), map_location="cpu")
state = {k: v for k, v in state.items() if k != "text.transformer.embeddings.position_ids"}
write_safetensors(os.path.join(dst, "open_clip_model.safetensors"), state, {
    "format": "pt",
    "phenolip.demo": "random-weights",
    "description": "PhenoLIP Explorer demo model: PhenoLIP's architecture at a tiny size with RANDOM "
                   "weights. Its rankings are meaningless; open a real PhenoLIP checkpoint.",
})
with open(os.path.join(src, "open_clip_config.json")) as f:
    config = json.load(f)
config["model_name"] = "PhenoLIP demo (random weights)"
with open(os.path.join(dst, "open_clip_config.json"), "w") as f:
    json.dump(config, f, indent=2)
shutil.copy(os.path.join(src, "vocab.txt"), os.path.join(dst, "vocab.txt"))
shutil.copy(os.path.join(src, "tiny-bert", "config.json"), os.path.join(dst, "tiny-bert", "config.json"))
