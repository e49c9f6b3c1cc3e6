"""PyTorch replica of examples/lm (the MoE char LM) for the training tokens/s comparison (bench/lm-train.ts).

Same model and step as examples/lm/model.ts + train.ts: token embedding, rotary positions, pre-LayerNorm
blocks (causal multi-head attention without biases, then a DeepSeekMoE FFN: router w [D, E] + b [E],
Mixtral top-K softmax over the K largest logits, SwiGLU routed experts [E, D, H] and SwiGLU shared
experts, Switch aux loss coefficient 0.01), final LayerNorm, head; cross-entropy; AdamW (beta2 0.99,
weight decay 0.01) after clipping the global norm to 1. float32, the configuration of `npm run lm -- --quick`.

Usage: python3 bench/torch_lm.py CORPUS_TXT STEPS WARMUP THREADS [B T D H L E K HID SHARED SHID]
Prints one JSON line: tokens/s (median over the timed steps), ms per step, torch version, threads.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

args = sys.argv[1:]
corpus_path, steps, warmup, threads = args[0], int(args[1]), int(args[2]), int(args[3])
B, T, D, NH, L, E, K, HID, NS, SHID = (int(a) for a in (args[4:14] if len(args) >= 14 else [16, 32, 64, 4, 2, 8, 2, 32, 1, 64]))
torch.set_num_threads(threads)
torch.manual_seed(0)

text = open(corpus_path, encoding="utf8").read().replace("\r\n", "\n")
chars = sorted(set(text))
V = len(chars)
index = {c: i for i, c in enumerate(chars)}
split = int(len(text) * 0.9)
train = torch.tensor([index[c] for c in text[:split]], dtype=torch.long)


def lin(i, o, s=1.0):
    return (torch.randn(i, o) * (s / math.sqrt(i))).requires_grad_()


def swiglu_params(n, d, h):
    return [(torch.randn(n, d, h) / math.sqrt(d)).requires_grad_(), (torch.randn(n, d, h) / math.sqrt(d)).requires_grad_(),
            (torch.randn(n, h, d) / math.sqrt(h)).requires_grad_()]


resid = 1 / math.sqrt(2 * L)
params = {"tok": (torch.randn(V, D) * 0.02).requires_grad_(), "head": lin(D, V), "lnf_g": torch.ones(D, requires_grad=True), "lnf_b": torch.zeros(D, requires_grad=True)}
blocks = []
for _ in range(L):
    blk = {"ln1_g": torch.ones(D, requires_grad=True), "ln1_b": torch.zeros(D, requires_grad=True), "wq": lin(D, D), "wk": lin(D, D), "wv": lin(D, D),
           "wo": lin(D, D, resid), "ln2_g": torch.ones(D, requires_grad=True), "ln2_b": torch.zeros(D, requires_grad=True),
           "rw": lin(D, E), "rb": torch.zeros(E, requires_grad=True)}
    blk["eg"], blk["eu"], blk["ed"] = swiglu_params(E, D, HID)
    if NS:
        blk["sg"], blk["su"], blk["sd"] = swiglu_params(NS, D, SHID)
    blocks.append(blk)
leaves = list(params.values()) + [p for b in blocks for p in b.values()]

dh = D // NH
inv = 1.0 / (10000 ** (torch.arange(0, dh, 2, dtype=torch.float32) / dh))
ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
cos, sin = ang.cos(), ang.sin()


def rope(x):  # [B, H, T, dh], pairs (2i, 2i+1)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)


def attention(q, k, v):
    # torch 1.13 (Debian's) has no F.scaled_dot_product_attention: the same maths, composed.
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    return s.masked_fill(causal, float("-inf")).softmax(-1) @ v


def swiglu(x, g, u, d):
    return (F.silu(x @ g) * (x @ u)) @ d


def moe(x, blk):
    logits = x @ blk["rw"] + blk["rb"]  # [N, E]
    top, idx = logits.topk(K, dim=-1)
    w = top.softmax(-1)  # Mixtral: softmax over the K largest logits
    y = torch.zeros_like(x)
    for e in range(E):
        tok, slot = (idx == e).nonzero(as_tuple=True)
        if tok.numel() == 0:
            continue
        h = swiglu(x[tok], blk["eg"][e], blk["eu"][e], blk["ed"][e])
        y = y.index_add(0, tok, h * w[tok, slot, None])
    for s in range(NS):
        y = y + swiglu(x, blk["sg"][s], blk["su"][s], blk["sd"][s])
    probs = logits.softmax(-1)
    frac = F.one_hot(idx, E).float().sum(1).mean(0)  # tokens routed to each expert / N (K per token)
    aux = E * (frac * probs.mean(0)).sum()
    return y, aux


def loss_fn(ids, targets):
    x = params["tok"][ids].reshape(B * T, D)
    aux_total = 0.0
    for blk in blocks:
        h = F.layer_norm(x, (D,), blk["ln1_g"], blk["ln1_b"])
        heads = lambda w: (h @ w).reshape(B, T, NH, dh).permute(0, 2, 1, 3)
        a = attention(rope(heads(blk["wq"])), rope(heads(blk["wk"])), heads(blk["wv"]))
        x = x + a.permute(0, 2, 1, 3).reshape(B * T, D) @ blk["wo"]
        y, aux = moe(F.layer_norm(x, (D,), blk["ln2_g"], blk["ln2_b"]), blk)
        x = x + y
        aux_total = aux_total + aux
    logits = F.layer_norm(x, (D,), params["lnf_g"], params["lnf_b"]) @ params["head"]
    return F.cross_entropy(logits, targets.reshape(-1)) + 0.01 * aux_total


opt = torch.optim.AdamW(leaves, lr=4e-3, betas=(0.9, 0.99), weight_decay=0.01)
gen = torch.Generator().manual_seed(1)
times = []
for step in range(warmup + steps):
    starts = torch.randint(0, len(train) - T - 1, (B,), generator=gen)
    ids = torch.stack([train[s:s + T] for s in starts.tolist()])
    targets = torch.stack([train[s + 1:s + T + 1] for s in starts.tolist()])
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(ids, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(leaves, 1.0)
    opt.step()
    if step >= warmup:
        times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]
print(json.dumps({"tokensPerSecond": B * T / med, "msPerStep": med * 1e3, "torch": torch.__version__, "threads": threads,
                  "params": sum(p.numel() for p in leaves), "finalLoss": float(loss)}))
