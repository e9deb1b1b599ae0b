#!/usr/bin/env python3
"""PyTorch CPU peer of build/mpcl-bench: the same binarized MLP workload, the same output keys.

Network 784-256-256-10.  Every layer: Linear without bias whose forward weight is sign(W)
(straight-through estimator to the hidden weight W), then BatchNorm1d (affine); hidden layers
then take sign() with a straight-through estimator (gradient passes where |x| <= 1).
Cross-entropy loss, Adam lr 0.005.

  train_float784   one epoch of 12,000 images, batch 100, after one warm-up epoch
  infer_float784   eval mode, 10,000 images in batches of 1000, best of 3 after warm-up
  infer_binary784  the same on inputs binarised to 0/1 (pixel/255 >= 0.5); torch has no
                   bit-packed path, so it runs the same float model on 0/1 values

The peer is meant to be strong: tensors are built up front; the binarized layers are single
autograd nodes; the parameters live in one flat buffer so that Adam (same arithmetic as
torch.optim.Adam, checked against it at start-up) is seven elementwise ops per step instead of seven per
tensor; inference runs without autograd on a frozen plan (sign(W) computed once, BatchNorm folded
into the weights and a bias, so a layer is one addmm plus an in-place sign) that is checked
against the eval-mode module.

Threads: --threads N goes to OpenBLAS (openblas_set_num_threads) and to torch.set_num_threads.
When the BLAS is the pthread build of OpenBLAS, torch's OpenMP pool is kept at 1 thread by
default (--intraop to override): the two pools spin against each other and, on 2 cores, made
training 2-3x and inference up to 7x slower than giving all N threads to OpenBLAS.
Prints lines `key: value`.
"""
import argparse
import ctypes
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

SIZES = (784, 256, 256, 10)
TRAIN_N, TRAIN_BATCH = 12_000, 100
TEST_N, TEST_BATCH = 10_000, 1000
LR = 0.005
SEED = 1234


# --------------------------------------------------------------------------- BLAS ----------
def _loaded(substr):
    paths = []
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1] if len(line.split()) >= 6 else ""
            if substr in os.path.basename(p) and p not in paths:
                paths.append(p)
    return paths


def _openblas_handle():
    """A ctypes handle on the OpenBLAS this process has loaded, or None."""
    for p in _loaded("openblas") + _loaded("libblas.so"):
        try:
            lib = ctypes.CDLL(p)
        except OSError:
            continue
        if hasattr(lib, "openblas_get_config"):
            return lib
    return None


def setup_threads(n, intraop=None):
    """N threads for OpenBLAS; torch's OpenMP pool gets `intraop`, by default N unless the BLAS
    is OpenBLAS's pthread build (then 1: see the module docstring)."""
    ob = _openblas_handle()
    if ob is not None:
        ob.openblas_set_num_threads(ctypes.c_int(n))   # torch does not pass its count on
    if intraop is None:
        pthread_blas = ob is not None and hasattr(ob, "openblas_get_parallel") \
            and ob.openblas_get_parallel() == 1
        intraop = 1 if pthread_blas else n
    torch.set_num_threads(intraop)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    return ob


def blas_description(ob):
    sgemm_lib = next(iter(_loaded("libblas.so")), None)
    if sgemm_lib is None:
        info = [l for l in torch.__config__.show().splitlines() if "BLAS_INFO" in l]
        return "unknown (no libblas.so loaded; %s)" % (info[0].strip() if info else "?")
    ct = os.environ.get("OPENBLAS_CORETYPE", "unset")
    try:
        h = ctypes.CDLL(sgemm_lib)
        is_openblas = hasattr(h, "openblas_get_config")
    except OSError:
        is_openblas = False
    if is_openblas and ob is not None:
        ob.openblas_get_config.restype = ctypes.c_char_p
        ob.openblas_get_corename.restype = ctypes.c_char_p
        cfg = ob.openblas_get_config().decode().split()
        ver = " ".join(cfg[:2]) if cfg[:1] == ["OpenBLAS"] else "OpenBLAS"
        par = {0: "serial", 1: "pthread", 2: "openmp"}.get(
            ob.openblas_get_parallel() if hasattr(ob, "openblas_get_parallel") else -1, "?")
        return "%s %s via %s (kernel %s, OPENBLAS_CORETYPE=%s, %d threads); torch %s, " \
            "%d intra-op threads" % (ver, par, sgemm_lib, ob.openblas_get_corename().decode(), ct,
                                    ob.openblas_get_num_threads(), torch.__version__,
                                    torch.get_num_threads())
    return "reference BLAS (NOT OpenBLAS) via %s (OPENBLAS_CORETYPE=%s); torch %s, " \
        "%d intra-op threads" % (sgemm_lib, ct, torch.__version__, torch.get_num_threads())


# --------------------------------------------------------------------------- model ---------
class BinaryLinear(torch.autograd.Function):
    """y = x @ sign(W)^T; the gradient reaches W unchanged (straight-through)."""

    @staticmethod
    def forward(ctx, x, w):
        wb = torch.sign(w)
        ctx.save_for_backward(x, wb)
        return torch.mm(x, wb.t())

    @staticmethod
    def backward(ctx, g):
        x, wb = ctx.saved_tensors
        gx = torch.mm(g, wb) if ctx.needs_input_grad[0] else None
        return gx, torch.mm(g.t(), x)


class SignSTE(torch.autograd.Function):
    """sign(x); the gradient passes where |x| <= 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(torch.abs(x).le_(1.0))
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask


class BinaryMLP(torch.nn.Module):
    def __init__(self, sizes=SIZES):
        super().__init__()
        self.fc = torch.nn.ParameterList()
        self.bn = torch.nn.ModuleList()
        for i, o in zip(sizes[:-1], sizes[1:]):
            w = torch.empty(o, i)
            torch.nn.init.kaiming_uniform_(w, a=5 ** 0.5)   # nn.Linear's default
            self.fc.append(torch.nn.Parameter(w))
            self.bn.append(torch.nn.BatchNorm1d(o))

    def forward(self, x):
        last = len(self.fc) - 1
        for i, (w, bn) in enumerate(zip(self.fc, self.bn)):
            x = BinaryLinear.apply(x, w)
            x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                             self.training, bn.momentum, bn.eps)
            if i < last:
                x = SignSTE.apply(x)
        return x


class FrozenPlan:
    """Eval-mode inference with sign(W) precomputed and BatchNorm folded in:
    bn(x @ sign(W)^T) = x @ (sign(W) * s)^T + (beta - mean * s), s = gamma / sqrt(var + eps)."""

    def __init__(self, model):
        self.layers = []
        with torch.no_grad():
            for w, bn in zip(model.fc, model.bn):
                s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                wt = (torch.sign(w) * s[:, None]).t().contiguous()        # (in, out)
                b = (bn.bias - bn.running_mean * s).contiguous()
                self.layers.append((wt, b))

    def __call__(self, x):
        last = len(self.layers) - 1
        for i, (wt, b) in enumerate(self.layers):
            x = torch.addmm(b, x, wt)
            if i < last:
                x.sign_()
        return x


class FlatAdam:
    """torch.optim.Adam (no weight decay, no amsgrad), same arithmetic in the same order, on
    parameters moved into one flat buffer (and their gradients into another, which autograd
    accumulates into), so a step is seven elementwise ops over all parameters at once."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        params = list(params)
        n = sum(p.numel() for p in params)
        self.flat, self.grad = torch.empty(n), torch.zeros(n)
        off = 0
        with torch.no_grad():
            for p in params:
                k = p.numel()
                self.flat[off:off + k].copy_(p.reshape(-1))
                p.data = self.flat[off:off + k].view_as(p)
                p.grad = self.grad[off:off + k].view_as(p)
                off += k
        self.exp_avg, self.exp_avg_sq, self.denom = torch.zeros(n), torch.zeros(n), torch.empty(n)
        self.lr, (self.beta1, self.beta2), self.eps, self.t = lr, betas, eps, 0

    def zero_grad(self):
        self.grad.zero_()

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2, g = self.beta1, self.beta2, self.grad
        bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        self.exp_avg.mul_(b1).add_(g, alpha=1 - b1)
        self.exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)
        torch.sqrt(self.exp_avg_sq, out=self.denom).div_(math.sqrt(bc2)).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, self.denom, value=-self.lr / bc1)


def check_adam(xb, yb, steps=3):
    """FlatAdam must track torch.optim.Adam (bit-for-bit on torch 1.13)."""
    models = []
    for _ in range(2):
        torch.manual_seed(SEED + 1)
        models.append(BinaryMLP())
    opts = (torch.optim.Adam(models[0].parameters(), lr=LR), FlatAdam(models[1].parameters(), lr=LR))
    for x, y in list(zip(xb, yb))[:steps]:
        for m, o in zip(models, opts):
            o.zero_grad()
            F.cross_entropy(m(x), y).backward()
            o.step()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        if not torch.allclose(a, b, rtol=1e-5, atol=1e-6):
            sys.exit("torch_peer: FlatAdam disagrees with torch.optim.Adam")


# --------------------------------------------------------------------------- bench ---------
def make_data(gen, n):
    pix = torch.randint(0, 256, (n, SIZES[0]), dtype=torch.uint8, generator=gen)
    lab = torch.randint(0, SIZES[-1], (n,), dtype=torch.int64, generator=gen)
    return pix, lab


def train_epoch(model, opt, xb, yb):
    for x, y in zip(xb, yb):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


def infer_all(plan, batches):
    with torch.inference_mode():
        for x in batches:
            plan(x)


def check_plan(model, plan, x):
    """The frozen plan must agree with the eval-mode module (sign() may flip on values that
    round differently next to 0, so compare predictions, not bits)."""
    model.eval()
    with torch.inference_mode():
        a = model(x).argmax(1)
        b = plan(x).argmax(1)
    agree = (a == b).float().mean().item()
    if agree < 0.98:
        sys.exit("torch_peer: frozen inference plan disagrees with the module (%.3f)" % agree)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--intraop", type=int, default=None,
                    help="torch intra-op (OpenMP) threads; default: see the module docstring")
    args = ap.parse_args()
    if args.threads < 1 or (args.intraop is not None and args.intraop < 1):
        ap.error("thread counts must be >= 1")

    ob = setup_threads(args.threads, args.intraop)
    torch.set_flush_denormal(True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)

    tr_pix, tr_lab = make_data(gen, TRAIN_N)
    te_pix, _ = make_data(gen, TEST_N)
    # Prebuilt batches: contiguous views, no per-step slicing or conversion.
    train_x = tr_pix.float().div_(255.0).view(-1, TRAIN_BATCH, SIZES[0]).unbind(0)
    train_y = tr_lab.view(-1, TRAIN_BATCH).unbind(0)
    test_f = te_pix.float().div_(255.0)
    test_b = test_f.ge(0.5).float()
    test_f = test_f.view(-1, TEST_BATCH, SIZES[0]).unbind(0)
    test_b = test_b.view(-1, TEST_BATCH, SIZES[0]).unbind(0)

    check_adam(train_x, train_y)
    torch.manual_seed(SEED)
    model = BinaryMLP()
    opt = FlatAdam(model.parameters(), lr=LR)

    print("blas: %s" % blas_description(ob), flush=True)

    model.train()
    train_epoch(model, opt, train_x, train_y)              # warm-up epoch
    t0 = time.perf_counter()
    train_epoch(model, opt, train_x, train_y)
    dt = time.perf_counter() - t0
    print("train_float784: %.1f" % (TRAIN_N / dt), flush=True)

    model.eval()
    plan = FrozenPlan(model)
    check_plan(model, plan, test_f[0])
    for key, batches in (("infer_float784", test_f), ("infer_binary784", test_b)):
        infer_all(plan, batches)                           # warm-up
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            infer_all(plan, batches)
            best = min(best, time.perf_counter() - t0)
        print("%s: %.1f" % (key, TEST_N / best), flush=True)


if __name__ == "__main__":
    main()
