"""PyTorch autograd reference for bench/nll.ts: the 2505.10860 Gaussian-MoE negative log-likelihood
(moe/stats gaussianMoENllTape: shared ReLU experts with bias, routed ReLU experts without, softmax
gate) and its gradient in float64, on the data and parameters bench/nll.ts writes to a JSON file.

Usage: torch_nll.py <json> serve <torch_threads>
  prints 'ready value=<nll> grad=<comma-separated flat gradient in the JSON's parameter order>' after
  one untimed step, then runs one value+grad step per 'step' line on stdin and replies 'ms=<time>'.
"""
import json
import math
import sys
import time

import torch

NAMES = ["sharedLogits", "sharedExpert", "sharedLogVar", "beta0", "beta1", "routedExpert", "routedLogVar"]


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(int(sys.argv[3]))
    d, n = spec["d"], spec["n"]
    x = torch.tensor(spec["x"], dtype=torch.float64).reshape(n, d)
    y = torch.tensor(spec["y"], dtype=torch.float64).reshape(n, 1)
    params = {k: torch.tensor(spec["params"][k]["data"], dtype=torch.float64).reshape(spec["params"][k]["shape"]).requires_grad_() for k in NAMES}
    log2pi, log_half = math.log(2 * math.pi), math.log(0.5)

    def means(theta: torch.Tensor, bias: bool) -> torch.Tensor:
        u = x @ theta[:, :d].T
        if bias:
            u = u + theta[:, d]
        return torch.relu(u) * theta[:, d + 1 if bias else d]

    def log_normal(m: torch.Tensor, lv: torch.Tensor) -> torch.Tensor:
        return -0.5 * (lv + log2pi) - (y - m) ** 2 * (0.5 * torch.exp(-lv))

    def step() -> torch.Tensor:
        p = params
        for t in p.values():
            t.grad = None
        shared = log_normal(means(p["sharedExpert"], True), p["sharedLogVar"]) + torch.log_softmax(p["sharedLogits"], -1) + log_half
        z = x @ p["beta1"].T + p["beta0"]
        routed = log_normal(means(p["routedExpert"], False), p["routedLogVar"]) + torch.log_softmax(z, -1) + log_half
        nll = -torch.logsumexp(torch.cat([shared, routed], 1), -1).mean()
        nll.backward()
        return nll

    value = step()
    grad = torch.cat([params[k].grad.reshape(-1) for k in NAMES]).tolist()
    print(f"ready value={value.item()!r} grad={','.join(repr(g) for g in grad)}", flush=True)
    for line in sys.stdin:
        if line.strip() != "step":
            break
        t0 = time.perf_counter()
        step()
        print(f"ms={(time.perf_counter() - t0) * 1000:.4f}", flush=True)


if __name__ == "__main__":
    main()
