#!/usr/bin/python3
"""Writes the small checkpoint fixtures that tests/test-*.c read back, with Debian's torch.

Regenerate (from the project root) with:

    /usr/bin/python3 tests/reference/make_checkpoint_fixtures.py tests/fixtures/checkpoints

Every PyTorch file is written by torch.save itself; the safetensors files are written by hand
here (python3-safetensors is not packaged in Debian 12; the format is an 8-byte little-endian
header length, a JSON header, then the raw little-endian data). expected.json records, for every
tensor of every file, what the C reader must find: dtype, shape, strides, storage offset, a
storage label shared by tensors that share a storage, and the values in row-major order (as
float for floating tensors, after torch's own conversion of f16/bf16 to f32).
"""

import collections
import json
import os
import struct
import sys
import zipfile

import torch

TORCH_DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def describe(state_dict, strip_module=False):
    """What the reader must expose for STATE_DICT: name -> facts about the tensor."""
    storages = {}
    out = collections.OrderedDict()
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        key = tensor.storage().data_ptr()
        label = storages.setdefault(key, "storage%d" % len(storages))
        if strip_module and name.startswith("module."):
            name = name[len("module."):]
        if tensor.is_floating_point():
            values = tensor.float().flatten().tolist()
        else:
            values = [int(v) for v in tensor.flatten().tolist()]
        out[name] = {
            "dtype": TORCH_DTYPES[tensor.dtype],
            "shape": list(tensor.shape),
            "strides": list(tensor.stride()),
            "storage_offset": tensor.storage_offset(),
            "storage": label,
            "values": values,
        }
    return out


def many_dtypes_state_dict():
    g = torch.Generator().manual_seed(1234)
    base = torch.randn(4, 5, generator=g)
    shared = torch.randn(10, generator=g)
    sd = collections.OrderedDict()
    sd["weight_f32"] = torch.randn(2, 3, generator=g)
    sd["weight_f16"] = torch.randn(3, 4, generator=g).half()
    sd["weight_bf16"] = torch.randn(2, 5, generator=g).bfloat16()
    sd["weight_f64"] = torch.randn(3, generator=g).double()
    sd["position_ids"] = torch.arange(-3, 5, dtype=torch.int64).reshape(2, 4)
    sd["count_i32"] = torch.tensor([7, -8, 2147483647], dtype=torch.int32)
    sd["count_i16"] = torch.tensor([-32768, 5], dtype=torch.int16)
    sd["count_i8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
    sd["count_u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["mask_bool"] = torch.tensor([True, False, True])
    # A transposed view: strides (1, 5), not contiguous.
    sd["transposed"] = base.t()
    # A view starting inside its storage: row 2 of BASE, storage offset 10.
    sd["row_view"] = base[2]
    # Two tensors over one storage, the second starting at element 4.
    sd["shared_a"] = shared
    sd["shared_b"] = shared[4:9]
    # A strided view with a step: elements 0, 3, 6, 9 of SHARED.
    sd["strided_step"] = shared[::3]
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["half_transposed"] = torch.randn(3, 2, generator=g).half().t()
    return sd


class TinyClip(torch.nn.Module):
    """A few layers with open_clip-like names, enough for a real optimizer state."""

    def __init__(self):
        super().__init__()
        self.visual = torch.nn.Module()
        self.visual.proj = torch.nn.Linear(4, 3)
        self.visual.norm = torch.nn.LayerNorm(3)
        self.text = torch.nn.Module()
        self.text.embed = torch.nn.Embedding(5, 3)
        self.logit_scale = torch.nn.Parameter(torch.tensor(2.6592))
        self.register_buffer("position_ids", torch.arange(5).unsqueeze(0))

    def forward(self, x, ids):
        return (self.visual.norm(self.visual.proj(x)) * self.text.embed(ids)).sum() * self.logit_scale.exp()


class DistributedWrapper(torch.nn.Module):
    """What DistributedDataParallel adds to a state dict: a `module.` prefix."""

    def __init__(self, module):
        super().__init__()
        self.module = module


class RunsAShellCommand:
    def __reduce__(self):
        return (os.system, ("echo hi",))


def write_safetensors(path, tensors, metadata=None, pad_to=8):
    """tensors: name -> torch.Tensor, written contiguous in the given order."""
    header = collections.OrderedDict()
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        tensor = tensor.contiguous()
        if tensor.dtype == torch.bfloat16:
            raw = tensor.view(torch.int16).numpy().tobytes()
        else:
            raw = tensor.numpy().tobytes()
        header[name] = {"dtype": TORCH_DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if pad_to > 1:
        text += b" " * ((-len(text)) % pad_to)
    elif len(text) % 4 == 0:
        text += b" "   # keep the data start off 4-byte alignment
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/checkpoints"
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    expected = collections.OrderedDict()

    # Every dtype, strided views, shared storages.
    sd = many_dtypes_state_dict()
    torch.save(sd, os.path.join(out_dir, "tensors.pt"))
    expected["tensors.pt"] = describe(sd)

    # Protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, ...) and a Parameter (_rebuild_parameter).
    sd4 = many_dtypes_state_dict()
    sd4["param"] = torch.nn.Parameter(torch.arange(6.0).reshape(2, 3) / 7)
    torch.save(sd4, os.path.join(out_dir, "protocol4.pt"), pickle_protocol=4)
    expected["protocol4.pt"] = describe(sd4)

    # The same archive with every entry deflated (torch never writes this, other tools may).
    with zipfile.ZipFile(os.path.join(out_dir, "tensors.pt")) as src, \
         zipfile.ZipFile(os.path.join(out_dir, "deflated.pt"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            dst.writestr(fixed, src.read(info.filename), zipfile.ZIP_DEFLATED)
    expected["deflated.pt"] = expected["tensors.pt"]

    # An open_clip training checkpoint (epoch_N.pt) after one AdamW step of a DDP-wrapped model.
    torch.manual_seed(1)
    model = TinyClip()
    wrapped = DistributedWrapper(model)
    optimizer = torch.optim.AdamW(
        [{"params": [model.visual.proj.weight, model.text.embed.weight], "weight_decay": 0.2},
         {"params": [model.visual.proj.bias, model.visual.norm.weight, model.visual.norm.bias,
                     model.logit_scale], "weight_decay": 0.0}],
        lr=5e-4, betas=(0.9, 0.98), eps=1e-6)
    loss = model(torch.randn(2, 4), torch.tensor([1, 3]))
    loss.backward()
    optimizer.step()
    checkpoint = {
        "epoch": 1,
        "name": "phenolip-test",
        "state_dict": wrapped.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                   "growth_interval": 2000, "_growth_tracker": 1},
    }
    torch.save(checkpoint, os.path.join(out_dir, "epoch_1.pt"))
    expected["epoch_1.pt"] = describe(wrapped.state_dict(), strip_module=True)

    # A model-hub file: the bare state dict, no prefix.
    torch.save(model.state_dict(), os.path.join(out_dir, "open_clip_pytorch_model.bin"))
    expected["open_clip_pytorch_model.bin"] = describe(model.state_dict())

    # Hostile and legacy files.
    torch.save({"weight": torch.ones(2), "payload": RunsAShellCommand()},
               os.path.join(out_dir, "runs-posix-system.pt"))
    torch.save({"weight": torch.ones(2)}, os.path.join(out_dir, "legacy.pt"),
               _use_new_zipfile_serialization=False)

    # safetensors, written by hand.
    g = torch.Generator().manual_seed(99)
    st = collections.OrderedDict()
    st["module.embed.weight"] = torch.randn(3, 4, generator=g)
    st["proj_f16"] = torch.randn(2, 3, generator=g).half()
    st["proj_bf16"] = torch.randn(5, generator=g).bfloat16()
    st["norm_f64"] = torch.randn(2, generator=g).double()
    st["position_ids"] = torch.tensor([[0, 1, 2, -9]], dtype=torch.int64)
    st["count_i32"] = torch.tensor([1, -2], dtype=torch.int32)
    st["count_i16"] = torch.tensor([3], dtype=torch.int16)
    st["count_i8"] = torch.tensor([-4, 4], dtype=torch.int8)
    st["pixels_u8"] = torch.tensor([9, 250], dtype=torch.uint8)
    st["mask_bool"] = torch.tensor([False, True])
    st["scalar"] = torch.tensor(-1.25)
    st["empty"] = torch.zeros(0, 2)
    metadata = {"format": "pt", "phenolip.note": "hand-written fixture"}
    write_safetensors(os.path.join(out_dir, "tensors.safetensors"), st, metadata)
    expected["tensors.safetensors"] = describe(st, strip_module=True)
    # Header length not a multiple of 8: f32 data starts unaligned.
    unaligned = collections.OrderedDict([("w", torch.randn(3, generator=g)),
                                         ("v", torch.randn(2, 2, generator=g))])
    write_safetensors(os.path.join(out_dir, "unaligned.safetensors"), unaligned, None, pad_to=1)
    with open(os.path.join(out_dir, "unaligned.safetensors"), "rb") as f:
        assert struct.unpack("<Q", f.read(8))[0] % 4 != 0, "the header happens to be aligned"
    expected["unaligned.safetensors"] = describe(unaligned)

    # Contiguous safetensors strides are row-major whatever the source tensor's were.
    for name in ("tensors.safetensors", "unaligned.safetensors"):
        for facts in expected[name].values():
            stride, strides = 1, []
            for size in reversed(facts["shape"]):
                strides.insert(0, stride)
                stride *= size
            facts["strides"] = strides
            facts["storage_offset"] = None
            facts["storage"] = None

    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
