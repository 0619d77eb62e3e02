#!/usr/bin/python3
"""Full-size random-weight checkpoint with BiomedCLIP's real shapes, for loader and speed tests (never committed).

    /usr/bin/python3 tests/reference/make_full_checkpoint.py OUT_DIR [--seed N]

writes into OUT_DIR (use your build folder): open_clip_pytorch_model.bin (torch.save of the state dict, f32, ~784 MB),
open_clip_config.json (BiomedCLIP's hub config, plus vision_cfg.heads = 12 resolved from vit_base_patch16_224),
vocab.txt (copy of ../shared/data/vocab/bert-base-uncased-vocab.txt, 30,522 lines) and
BiomedNLP-BiomedBERT-base-uncased-abstract/config.json (the HF BertConfig of BERT-base).
The model is built by open_clip v2.23.0 + timm (ViT-B/16 224) + the BERT stand-in of make_model_fixtures.py (see
its header for what is upstream code and what is not); weights are initialised as there (~1/sqrt(fan_in)).
"""

import argparse
import json
import math
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_fixtures as ref  # noqa: E402
import torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=20240612)
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.out_dir, exist_ok=True)
    torch.manual_seed(a.seed)
    cfg = ref.hub_config(512, ref.BIOMEDBERT, heads=12)
    with open(os.path.join(a.out_dir, "open_clip_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copyfile(ref.VOCAB_SRC, os.path.join(a.out_dir, "vocab.txt"))
    bert_dir = os.path.join(a.out_dir, ref.BIOMEDBERT.split("/")[-1])
    os.makedirs(bert_dir, exist_ok=True)
    with open(os.path.join(bert_dir, "config.json"), "w") as f:
        json.dump(ref.bert_config_dict(30522, 768, 12, 12, 3072), f, indent=2)
    shutil.copyfile(ref.VOCAB_SRC, os.path.join(bert_dir, "vocab.txt"))

    model, _, _ = ref.build_model(cfg, bert_dir)
    ref.randomize(model, a.seed)
    sd = model.state_dict()
    assert sd["visual.trunk.pos_embed"].shape == (1, 197, 768)
    assert sd["text.proj.0.weight"].shape == (640, 768) and sd["text.proj.2.weight"].shape == (512, 640)
    assert sd["text.transformer.embeddings.word_embeddings.weight"].shape == (30522, 768)
    path = os.path.join(a.out_dir, "open_clip_pytorch_model.bin")
    torch.save(sd, path)
    n = sum(v.numel() for v in sd.values() if v.is_floating_point())
    print(json.dumps({"out": path, "bytes": os.path.getsize(path), "float_params": n, "tensors": len(sd),
                      "versions": ref.versions(), "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
