"""Optional PyTorch CPU reference for the bench's MoE layer (run by bench/run.ts only when
`/usr/bin/python3 -c 'import torch'` works; nothing installs torch).

Same layer as bench/tfjs-moe.ts: top-k softmax router (softmax over the k chosen logits), E routed
ReLU FFN experts d->h->d, `shared` shared experts, loss = sum(y * g). Prints `ms_per_step=<median>`.
Usage: torch_moe.py T d h E K shared reps
"""
import statistics
import sys
import time

import torch


def main() -> None:
    T, d, h, E, K, shared, reps = (int(a) for a in sys.argv[1:8])
    torch.manual_seed(0)
    torch.set_num_threads(2)
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

    step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"ms_per_step={statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
