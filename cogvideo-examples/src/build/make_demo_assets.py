#!/usr/bin/env python3
"""Makes the embedded demo model of the cogvideo CLI (run once by hand; the outputs are committed).

- model/: a CogVideo-shaped transformer with seeded random weights (2 layers, hidden 64, 4 heads), fp16
  safetensors + model_config.json. Its image vocabulary is the 512 codes of the tiny VQ-VAE, and text ids
  follow icetk's rule (SentencePiece id + image-token count), so the vocabulary is 512 + 8003.
- ice_image_demo.safetensors: the compress-rate-8 decoder and codebook of the golden tiny VQ-VAE
  (../shared/golden/vqvae-tiny, seeded random weights), enough to turn 20x20 token grids into 160x160 pixels.
- ice_text_tiny.model: the golden tiny icetk-style SentencePiece model (8000 pieces).
Needs only python3 + numpy.  Usage: make_demo_assets.py SHARED_GOLDEN_DIR OUT_DIR
"""
import collections, json, os, pickle, shutil, struct, sys, zipfile
import numpy as np

golden, out = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "model"), exist_ok=True)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v).astype("<f2").tobytes()
        header[k] = {"dtype": "F16", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# --- transformer
image_vocab, text_pieces, specials = 512, 8000, 3
L, H, heads = 2, 64, 4
cfg = {"model_class": "CogVideoCacheModel", "num_layers": L, "hidden_size": H, "num_attention_heads": heads,
       "vocab_size": image_vocab + text_pieces + specials, "image_vocab_size": image_vocab,
       "hidden_dropout": 0.1, "attention_dropout": 0.1, "layernorm_order": "sandwich", "model_parallel_size": 1,
       "max_sequence_length": 1024, "layout": [64, 464, 2064], "window_size": -1, "additional_seqlen": 2000,
       "cogvideo_stage": 1, "note": "cogvideo-java embedded demo: seeded random weights, not a trained model"}
rng = np.random.default_rng(20221)
w = collections.OrderedDict()
n = lambda *s: rng.normal(0, 0.02, s)
w["transformer.word_embeddings.weight"] = n(cfg["vocab_size"], H)
w["transformer.position_embeddings.weight"] = n(1024, H)
w["mixins.extra_position_embedding.position_embeddings.weight"] = n(2000, H)
for i in range(L):
    p = f"transformer.layers.{i}."
    for ln in ["input_layernorm", "third_layernorm", "post_attention_layernorm", "fourth_layernorm"]:
        w[p + ln + ".weight"] = np.ones(H)
        w[p + ln + ".bias"] = np.zeros(H)
    w[p + "attention.query_key_value.weight"] = n(3 * H, H)
    w[p + "attention.query_key_value.bias"] = np.zeros(3 * H)
    w[p + "attention.dense.weight"] = n(H, H)
    w[p + "attention.dense.bias"] = np.zeros(H)
    w[p + "mlp.dense_h_to_4h.weight"] = n(4 * H, H)
    w[p + "mlp.dense_h_to_4h.bias"] = np.zeros(4 * H)
    w[p + "mlp.dense_4h_to_h.weight"] = n(H, 4 * H)
    w[p + "mlp.dense_4h_to_h.bias"] = np.zeros(H)
    w[f"mixins.attention_plus.query_key_value.{i}.weight"] = w[p + "attention.query_key_value.weight"].copy()
    w[f"mixins.attention_plus.query_key_value.{i}.bias"] = np.zeros(3 * H)
    w[f"mixins.attention_plus.dense.{i}.weight"] = n(H, H)
    w[f"mixins.attention_plus.dense.{i}.bias"] = np.zeros(H)
    w[f"mixins.attention_plus.attn_distribution.{i}"] = np.zeros(H)
w["transformer.final_layernorm.weight"] = np.ones(H)
w["transformer.final_layernorm.bias"] = np.zeros(H)
write_safetensors(os.path.join(out, "model", "model.safetensors"), w)
with open(os.path.join(out, "model", "model_config.json"), "w") as f:
    json.dump(cfg, f, indent=2)

# --- VQ-VAE decoder (rate 8) and codebook from the golden tiny checkpoint, read without executing code
z = zipfile.ZipFile(os.path.join(golden, "vqvae-tiny", "ice_image_tiny.pt"))
prefix = z.namelist()[0].split("/")[0]
dtypes = {"HalfStorage": np.float16, "FloatStorage": np.float32, "LongStorage": np.int64}


def rebuild(storage, offset, size, stride, *a):
    typ, key = storage
    arr = np.frombuffer(z.read(f"{prefix}/data/{key}"), dtype=dtypes[typ])
    return arr[offset:offset + int(np.prod(size))].reshape(size)


class Inert:
    def __init__(self, *a, **k): pass
    def __setstate__(self, s): pass


class Reader(pickle.Unpickler):
    def find_class(self, mod, name):
        if name == "_rebuild_tensor_v2":
            return rebuild
        if name == "OrderedDict":
            return collections.OrderedDict
        if mod == "torch" and name.endswith("Storage"):
            return name
        return Inert

    def persistent_load(self, pid):
        return (pid[1], pid[2])


sd = Reader(z.open(f"{prefix}/data.pkl")).load()["module"]
keep = collections.OrderedDict((k, v) for k, v in sd.items()
                               if k.startswith("decs.1.") or k == "quantize.embed.weight")
write_safetensors(os.path.join(out, "ice_image_demo.safetensors"), keep)
shutil.copy(os.path.join(golden, "icetk-text", "ice_text_tiny.model"), os.path.join(out, "ice_text_tiny.model"))
print("wrote", out, "decoder tensors:", len(keep))
