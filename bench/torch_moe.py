"""Optional PyTorch CPU reference for the bench's MoE layer (run by bench/moe.ts only when
`/usr/bin/python3 -c 'import torch'` works; nothing installs torch).

Same layer as bench/tfjs-moe.ts: top-k softmax router (softmax over the k chosen logits), E routed
ReLU FFN experts d->h->d, `shared` shared experts, loss = sum(y * g).

Threads: `torch_threads` is passed to torch.set_num_threads. The BLAS under torch has its own pool,
sized by OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS, which the caller sets in the
environment *before* this process starts (they are read when the library loads). The old script's
set_num_threads(2) on top of a 2-thread BLAS put 4 busy threads on 2 cores.

Usage:
  torch_moe.py T d h E K shared reps torch_threads     prints ms_per_step=<median> max_rss_kb=<peak>
  torch_moe.py T d h E K shared serve torch_threads    one step per 'step' line on stdin, replies 'ms=<time>'
"""
import resource
import statistics
import sys
import time

import torch


def make_step(T: int, d: int, h: int, E: int, K: int, shared: int):
    torch.manual_seed(0)
    router = torch.nn.Linear(d, E)
    experts = torch.nn.ModuleList(
        torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ReLU(), torch.nn.Linear(h, d)) for _ in range(E + shared)
    )
    x = torch.randn(T, d)
    g = torch.randn(T, d)

    def step() -> None:
        for p in list(router.parameters()) + list(experts.parameters()):
            p.grad = None
        logits = router(x)
        top_logits, top_idx = logits.topk(K, dim=1)
        weights = torch.softmax(top_logits, dim=1)  # [T, K]
        flat_expert = top_idx.reshape(-1)
        order = torch.argsort(flat_expert, stable=True)  # slots sorted by expert
        token_of_slot = order // K
        counts = torch.bincount(flat_expert, minlength=E).tolist()
        xs = x.index_select(0, token_of_slot)
        outs = []
        start = 0
        for e, n in enumerate(counts):
            if n:
                outs.append(experts[e](xs[start:start + n]))
            start += n
        weighted = torch.cat(outs) * weights.reshape(-1)[order].unsqueeze(1)
        y = torch.zeros(T, d).index_add(0, token_of_slot, weighted)
        for s in range(shared):
            y = y + experts[E + s](x)
        (y * g).sum().backward()

    return step


def main() -> None:
    T, d, h, E, K, shared = (int(a) for a in sys.argv[1:7])
    mode = sys.argv[7]
    torch.set_num_threads(int(sys.argv[8]) if len(sys.argv) > 8 else 1)
    step = make_step(T, d, h, E, K, shared)
    step()
    if mode == "serve":
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() != "step":
                break
            t0 = time.perf_counter()
            step()
            print(f"ms={(time.perf_counter() - t0) * 1000:.3f}", flush=True)
        return
    times = []
    for _ in range(int(mode)):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"ms_per_step={statistics.median(times):.3f} max_rss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


if __name__ == "__main__":
    main()
