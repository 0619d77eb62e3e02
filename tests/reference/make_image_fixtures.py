#!/usr/bin/python3
"""Reference fixtures for tests/test-image.c and tests/test-preprocess.c.

Regenerate (from the project root, with Debian 12's python3-pil 9.4, python3-torchvision 0.14.1,
python3-torch 1.13 and python3-numpy):

    mkdir -p tests/reference/.upstream
    git -C /work/.mirror/mlfoundations+open_clip/repo archive --prefix=open_clip-2.23.0/ v2.23.0 \\
        src/open_clip | tar -x -C tests/reference/.upstream
    /usr/bin/python3 tests/reference/make_image_fixtures.py

The preprocessing is open_clip v2.23.0's own `image_transform(224, is_train=False, mean, std)`,
imported from that export (tests/reference/.upstream/ is git-ignored; another location can be given
with OPEN_CLIP_SRC=/path/to/open_clip-2.23.0/src). Only `open_clip.transform` and the two modules it
imports are loaded, not the package's __init__ (which would pull in the tokenizers and models).

Writes tests/fixtures/images/:
  input/*.png, *.jpg   generated inputs of every PNG/JPEG kind, small
  hostile/*            malformed files (sizes, CRC and zlib errors, thin images)
  expected/*.png       PIL+torchvision's 224x224 RGB uint8 crop (before ToTensor), lossless
  manifest.json        per image: PIL's mode, size, SHA-256 of the decoded pixels in the C layout
                       (and of the palette), SHA-256 and statistics of the normalised float tensor,
                       and, for truncated copies, whether PIL could load them
The real images come from ../shared/data/images and are referenced, not copied.
"""
import hashlib
import importlib
import io
import json
import os
import struct
import subprocess
import sys
import types
import zlib

import numpy as np
import PIL
from PIL import Image, ImageFile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "images")
SHARED = os.path.join(ROOT, "..", "shared", "data")
REAL_IMAGES = ["retina.jpg", "microaneurysms.png", "ihc.png", "BrainT1Slice.png", "FatMRISlice.png"]
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)

assert PIL.__version__.startswith("9.4"), PIL.__version__


def load_open_clip_transform():
    src = os.environ.get("OPEN_CLIP_SRC",
                         os.path.join(HERE, ".upstream", "open_clip-2.23.0", "src"))
    pkg_dir = os.path.join(src, "open_clip")
    if not os.path.isdir(pkg_dir):
        sys.exit(f"{pkg_dir} not found: export open_clip v2.23.0 there (see this file's header)")
    package = types.ModuleType("open_clip")
    package.__path__ = [pkg_dir]
    sys.modules["open_clip"] = package
    return importlib.import_module("open_clip.transform")


# ---------------------------------------------------------------------------------------------
# A minimal PNG writer, for the kinds PIL cannot write (2/4-bit grey, 16-bit RGB, Adam7, ...).

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_row(samples, bit_depth):
    """samples: 1-D integer array of one row's samples."""
    if bit_depth == 16:
        return samples.astype(">u2").tobytes()
    if bit_depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // bit_depth
    padded = np.zeros(-(-len(samples) // per_byte) * per_byte, dtype=np.uint8)
    padded[: len(samples)] = samples
    padded = padded.reshape(-1, per_byte)
    out = np.zeros(len(padded), dtype=np.uint8)
    for i in range(per_byte):
        out |= (padded[:, i] << (8 - bit_depth * (i + 1))).astype(np.uint8)
    return out.tobytes()


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_bytes(samples, bit_depth, color_type, interlace=False, plte=None, trns=None, extra=b""):
    """samples: [h, w, channels] integer array."""
    h, w = samples.shape[:2]
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    raw = bytearray()
    if not interlace:
        # Sub and Up filters on alternate rows (when samples are whole bytes): smaller files, and
        # libpng's unfiltering is exercised.
        bpp = samples.shape[2] * bit_depth // 8
        prev = None
        for y in range(h):
            row = np.frombuffer(pack_row(samples[y].reshape(-1), bit_depth), dtype=np.uint8)
            if bit_depth < 8:
                raw += b"\0" + row.tobytes()
            elif y % 2 == 0:
                left = np.concatenate([np.zeros(bpp, dtype=np.uint8), row[:-bpp]])
                raw += b"\1" + (row - left).astype(np.uint8).tobytes()
            else:
                raw += b"\2" + (row - prev).astype(np.uint8).tobytes()
            prev = row
    else:
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            for y in range(sub.shape[0]):
                raw += b"\0" + pack_row(sub[y].reshape(-1), bit_depth)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
    if plte is not None:
        out += chunk(b"PLTE", bytes(np.asarray(plte, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    out += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    return out


def smooth(h, w, channels, seed, lo=0, hi=255):
    """A smooth image with some detail: gradients, a disc and a little noise."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        fx, fy = rng.uniform(0.5, 3.0, 2)
        v = 0.5 + 0.35 * np.sin(fx * 6.28 * x / w + c) * np.cos(fy * 6.28 * y / h)
        v += 0.3 * (((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2) < (min(h, w) * 0.2) ** 2)
        v += rng.normal(0, 0.012, (h, w))
        planes.append(np.clip(lo + v * (hi - lo), lo, hi))
    return np.rint(np.stack(planes, axis=-1)).astype(np.int64)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def pil_save(im, path, **kw):
    im.save(path, **kw)


def make_inputs(d):
    rng = np.random.RandomState(1234)
    made = []

    def png(name, samples, bit_depth, color_type, **kw):
        write(os.path.join(d, name), png_bytes(samples, bit_depth, color_type, **kw))
        made.append(name)

    png("grey1.png", (smooth(23, 37, 1, 1) > 128).astype(np.int64), 1, 0)
    png("grey2.png", smooth(29, 41, 1, 2) // 64, 2, 0)
    png("grey4.png", smooth(31, 45, 1, 3) // 16, 4, 0)
    png("grey8.png", smooth(200, 300, 1, 4), 8, 0)
    png("grey16.png", smooth(48, 64, 1, 5, 0, 65535), 16, 0)
    png("grey16_low.png", smooth(60, 80, 1, 6, 0, 420), 16, 0)
    png("grey8_trns.png", smooth(50, 70, 1, 7), 8, 0, trns=struct.pack(">H", 128))
    la = smooth(180, 250, 2, 8)
    la[..., 1] = np.clip(np.rint(np.linspace(0, 255, 250))[None, :] + rng.randint(-6, 6, (180, 250)), 0, 255)
    la[:20, :, 1] = 0
    la[-20:, :, 1] = 255
    png("grey_alpha8.png", la, 8, 4)
    png("grey_alpha16.png", smooth(30, 40, 2, 9, 0, 65535), 16, 4)
    ramp = np.arange(256)
    pal = np.stack([ramp, 255 - ramp, (ramp * 7) % 256], axis=-1)  # smooth but not grey
    png("palette8.png", smooth(260, 230, 1, 10), 8, 3, plte=pal)
    pal16 = rng.randint(0, 256, (16, 3))
    png("palette4_trns.png", smooth(40, 50, 1, 11) // 16, 4, 3, plte=pal16,
        trns=bytes(rng.randint(0, 256, 12).astype(np.uint8)))
    png("palette1.png", (smooth(20, 33, 1, 12) > 120).astype(np.int64), 1, 3, plte=[[200, 30, 40], [10, 220, 90]])
    # Indices past the 5-entry palette: PIL maps them through its initial grey ramp.
    png("palette_short.png", smooth(30, 30, 1, 13) // 26, 8, 3, plte=rng.randint(0, 256, (5, 3)))
    png("palette2_interlaced.png", smooth(33, 35, 1, 14) // 64, 2, 3, interlace=True,
        plte=rng.randint(0, 256, (4, 3)), trns=b"\x00")
    png("rgb16.png", smooth(50, 70, 3, 15, 0, 65535), 16, 2)
    png("rgb8_trns.png", smooth(40, 60, 3, 16), 8, 2, trns=struct.pack(">HHH", 10, 20, 30))
    rgba = smooth(240, 260, 4, 17)
    rgba[..., 3] = np.clip(np.rint(np.linspace(0, 255, 240))[:, None] + rng.randint(-6, 6, (240, 260)), 0, 255)
    rgba[:15, :, 3] = 0
    rgba[-15:, :, 3] = 255
    png("rgba8.png", rgba, 8, 6)
    png("rgba16.png", smooth(20, 30, 4, 18, 0, 65535), 16, 6)
    png("rgb_interlaced.png", smooth(83, 97, 3, 19), 8, 2, interlace=True)
    png("grey16_interlaced.png", smooth(21, 25, 1, 20, 0, 300), 16, 0, interlace=True)
    png("tall_60x500.png", smooth(500, 60, 3, 21), 8, 2)
    png("wide_700x90.png", smooth(90, 700, 3, 22) // 4 * 4, 8, 2)
    png("small_10x7.png", smooth(7, 10, 3, 23), 8, 2)
    png("exact_224x224.png", smooth(224, 224, 3, 24), 8, 2)
    # One side already 224: torchvision does not resize, so alpha is dropped without premultiplying.
    rgba2 = smooth(260, 224, 4, 25)
    rgba2[100:140, 50:120, 3] = 0
    rgba2[150:200, :, 3] //= 8
    png("rgba_224x260.png", rgba2, 8, 6)
    # Black/white noise: the largest overshoot of the bicubic kernel, so clipping is exercised.
    png("noise_301x257.png", rng.randint(0, 2, (257, 301, 1)) * 255, 8, 0)
    png("thin_1x3000.png", smooth(3000, 1, 1, 26), 8, 0)
    png("gamma_iccp.png", smooth(30, 40, 3, 27), 8, 2,
        extra=chunk(b"gAMA", struct.pack(">I", 100000)) + chunk(b"sRGB", b"\0"))

    def jpeg(name, im, **kw):
        pil_save(im, os.path.join(d, name), **kw)
        made.append(name)

    rgb = Image.fromarray(smooth(240, 320, 3, 30).astype(np.uint8), "RGB")
    jpeg("progressive.jpg", rgb, quality=90, progressive=True)
    jpeg("baseline_444_odd.jpg", rgb.crop((3, 5, 70, 50)), quality=85, subsampling=0)
    jpeg("baseline_422_odd.jpg", rgb.crop((3, 5, 70, 50)), quality=85, subsampling=1)
    jpeg("baseline_420_odd.jpg", rgb.crop((3, 5, 70, 50)), quality=85, subsampling=2)
    jpeg("grey.jpg", Image.fromarray(smooth(150, 200, 1, 31)[..., 0].astype(np.uint8), "L"), quality=80)
    cmyk = Image.fromarray(smooth(120, 160, 4, 32).astype(np.uint8), "CMYK")
    jpeg("cmyk.jpg", cmyk, quality=90)
    # EXIF orientation 6 ("rotate 90"): neither PIL.Image.open nor open_clip applies it.
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg("exif_orientation6.jpg", rgb.crop((0, 0, 250, 230)), quality=85, exif=exif.tobytes())
    return made


def make_hostile(d, inputs_dir):
    def ihdr_file(w, h, bit_depth=8, color_type=0, idat=b""):
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))
                + chunk(b"IDAT", idat) + chunk(b"IEND", b""))

    write(os.path.join(d, "huge_header.png"), ihdr_file(100000, 100000, idat=zlib.compress(b"\0" * 100)))
    write(os.path.join(d, "zero_size.png"), ihdr_file(0, 0))
    write(os.path.join(d, "zero_height.png"), ihdr_file(50, 0))
    # Valid: 1 x 100000 grey gradient, compresses to a few hundred bytes.
    col = (np.arange(100000) * 255 // 99999).astype(np.uint8)
    write(os.path.join(d, "thin_1x100000.png"), png_bytes(col.reshape(100000, 1, 1), 8, 0))
    good = open(os.path.join(inputs_dir, "grey4.png"), "rb").read()
    # IDAT's CRC flipped (the data intact): libpng's CRC check fails.
    i = good.index(b"IDAT")
    crc_at = i + 4 + struct.unpack(">I", good[i - 4:i])[0]
    bad = bytearray(good)
    bad[crc_at] ^= 0x55
    write(os.path.join(d, "crc_error.png"), bytes(bad))
    # zlib stream corrupted but CRC recomputed: the inflate fails.
    smp = smooth(20, 30, 1, 40)
    raw = b"".join(b"\0" + pack_row(smp[y, :, 0], 8) for y in range(20))
    z = bytearray(zlib.compress(raw, 9))
    z[0] = 0x79  # not a valid zlib header
    write(os.path.join(d, "zlib_error.png"),
          b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30, 20, 8, 0, 0, 0, 0))
          + chunk(b"IDAT", bytes(z)) + chunk(b"IEND", b""))
    # JPEG with SOF height and width patched to 0, and to 65535 x 65535.
    jpg = bytearray(open(os.path.join(inputs_dir, "grey.jpg"), "rb").read())
    sof = jpg.index(b"\xff\xc0")
    zero = bytearray(jpg)
    zero[sof + 5: sof + 9] = b"\0\0\0\0"
    write(os.path.join(d, "zero_size.jpg"), bytes(zero))
    big = bytearray(jpg)
    big[sof + 5: sof + 9] = b"\xff\xff\xff\xff"
    write(os.path.join(d, "huge_header.jpg"), bytes(big))
    write(os.path.join(d, "not_an_image.txt"), b"Retinal hemorrhage\nMicroaneurysm\n")
    write(os.path.join(d, "empty.png"), b"")
    write(os.path.join(d, "tiny.gif"), b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")


# ---------------------------------------------------------------------------------------------

def decoded_layout(im):
    """The decoded pixels as the C decoder lays them out (PlImage), and its palette."""
    palette = None
    if im.mode == "1":
        arr = np.asarray(im.convert("L"))
    elif im.mode == "I":
        arr = np.asarray(im, dtype=np.int32)
        assert arr.min() >= 0 and arr.max() <= 65535
        arr = arr.astype("<u2")
    elif im.mode == "LA":
        arr = np.asarray(im)
    elif im.mode in ("L", "P", "RGB", "RGBA", "CMYK"):
        arr = np.asarray(im)
    else:
        raise ValueError(im.mode)
    if im.mode == "P":
        entries = im.getpalette()  # PLTE entries, RGB
        n = len(entries) // 3
        pal = np.zeros((256, 4), dtype=np.uint8)
        pal[:, 0] = pal[:, 1] = pal[:, 2] = np.arange(256)
        pal[:, 3] = 255
        pal[:n, :3] = np.asarray(entries, dtype=np.uint8).reshape(n, 3)
        t = im.info.get("transparency")
        if isinstance(t, bytes):
            pal[: len(t), 3] = np.frombuffer(t, dtype=np.uint8)
        elif isinstance(t, int):
            pal[t, 3] = 0
        palette = (n, pal)
    return np.ascontiguousarray(arr), palette


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def pil_loads(data):
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
        return True
    except Exception:
        return False


def main():
    transform_mod = load_open_clip_transform()
    transform = transform_mod.image_transform(224, is_train=False, mean=MEAN, std=STD)
    names = [type(t).__name__ if not callable(t) or hasattr(t, "forward") else getattr(t, "__name__", str(t))
             for t in transform.transforms]
    print("transform:", transform)
    # Resize, CenterCrop, _convert_to_rgb | ToTensor, Normalize
    assert len(transform.transforms) == 5, names
    to_crop = transform.transforms[:3]

    inputs_dir = os.path.join(OUT, "input")
    hostile_dir = os.path.join(OUT, "hostile")
    expected_dir = os.path.join(OUT, "expected")
    for d in (inputs_dir, hostile_dir, expected_dir):
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))

    generated = make_inputs(inputs_dir)
    make_hostile(hostile_dir, inputs_dir)

    entries = []
    sources = [("shared", "images/" + n) for n in REAL_IMAGES] + [("fixture", "images/input/" + n) for n in generated]
    for where, rel in sources:
        path = os.path.join(SHARED if where == "shared" else os.path.join(ROOT, "tests", "fixtures"), rel)
        data = open(path, "rb").read()
        im = Image.open(path)
        im.load()
        arr, palette = decoded_layout(im)
        crop = im
        for t in to_crop:
            crop = t(crop)
        assert crop.mode == "RGB" and crop.size == (224, 224)
        tensor = transform(Image.open(path)).numpy().astype(np.float32)
        assert tensor.shape == (3, 224, 224)
        stem = os.path.splitext(os.path.basename(rel))[0]
        crop_name = stem + ".crop.png"
        c = np.asarray(crop)
        if (c[..., 0] == c[..., 1]).all() and (c[..., 1] == c[..., 2]).all():
            crop = crop.convert("L")  # grey crops stored as grey PNG: a third of the size
        crop.save(os.path.join(expected_dir, crop_name), optimize=True)
        entry = {
            "file": rel,
            "where": where,
            "mode": im.mode,
            "width": im.size[0],
            "height": im.size[1],
            "decoded_sha256": sha256(arr.tobytes()),
            "expected_crop": "images/expected/" + crop_name,
            "tensor_sha256": sha256(np.ascontiguousarray(tensor).tobytes()),
            "tensor_sum": float(tensor.astype(np.float64).sum()),
            "tensor_min": float(tensor.min()),
            "tensor_max": float(tensor.max()),
            "tensor_samples": [[int(c), int(y), int(x), float(tensor[c, y, x])]
                               for c, y, x in ((0, 0, 0), (1, 111, 57), (2, 223, 223), (0, 100, 200))],
        }
        if palette is not None:
            entry["palette_size"] = palette[0]
            entry["palette_sha256"] = sha256(palette[1].tobytes())
            entry["palette_has_alpha"] = "transparency" in im.info
        # Truncated copies: does PIL load them? (the C decoder must fail exactly when PIL does for
        # JPEG; for PNG, PIL's own inflater differs from libpng, see test-image.c)
        cuts = sorted({n for n in (1, 8, 20, 33, 100, len(data) // 3, len(data) // 2, len(data) - 12,
                                   len(data) - 2, len(data) - 1) if 0 < n < len(data)})
        entry["truncated_pil_loads"] = [[n, pil_loads(data[:n])] for n in cuts]
        entries.append(entry)
        print(f"{rel}: {im.mode} {im.size}")

    # A thin image decoded and resized by PIL too (1 x 100000 is only checked for sanity: PIL would
    # need a 224 x 22,400,000 intermediate image).
    manifest = {
        "pil_version": PIL.__version__,
        "open_clip": "v2.23.0 image_transform(224, is_train=False)",
        "mean": MEAN,
        "std": STD,
        "images": entries,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = 0
    for dirpath, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"{len(entries)} images, {total / 1e6:.2f} MB under {OUT}")


if __name__ == "__main__":
    main()
