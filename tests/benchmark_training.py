"""Training speed: the lab's listing, the numpy reference, the numba engine and two peers.

Run by hand (pytest does not collect it)::

    python tests/benchmark_training.py           # a few minutes
    python tests/benchmark_training.py --quick   # about a minute

It trains on the lab's linear set (n = 100 points), in one process, side by side:

* "listing": a loop written here from the lab report's Listings 1-4: the
  ``Model`` class with its ``forward`` and ``backward`` (momentum 0.9), one
  sample per step, and the training loss and accuracy after every epoch;
* "numpy": ``backprop_core.train(..., engine="numpy")``, the reference;
* "numba": ``backprop_core.train(..., engine="numba")``, the compiled engine;
* two optional peers, the same per-sample training written here in the lab's
  equations, float64, measured only when installed (neither is in
  requirements.txt; ``pip install torch jax jaxlib``):
  "PyTorch", one thread, a Python loop over the samples of each epoch;
  "JAX", the epochs as ``lax.scan`` over the samples, compiled by ``jax.jit``,
  one thread (XLA_FLAGS below), its compile time left out;

at hidden sizes (5, 10), (64, 128), (512, 32) and (512, 512), and prints
microseconds per training sample (epochs x n) and the ratios. Every run ends
each epoch with the loss over the training set, as the lab's training does.

"limit" is what this machine could do at best: the floating-point operations
of one step, 4 F + 4 P with F = 2 (2 l1 + l1 l2 + l2) for a forward pass (the
step's forward, its backward at twice that, the epoch's metrics at one
forward per sample) and P parameters (the momentum step), divided by the rate
of a large float64 matrix product on one core, measured here (numpy's BLAS,
one thread). "share" is limit / numba. "floor" is what memory alone costs: the
momentum step of all P parameters, v = mu v + lr g and w -= v, compiled (numba,
no fastmath), reading w, v and the gradient's factors and writing w and v, as
any per-sample momentum training must each step (the engine fuses the forward
and backward passes into this sweep over w2).

It also times the engine with mini-batches, numba's first call in fresh
processes (compiling into an empty cache, then loading from it), a small
``experiments.sweep`` on one thread and on every core, and the playground's
default run (``run_experiment()``: linear, (5, 10), lr 0.1, 1000 epochs).

Each figure is the best of a few repeats, wall-clock time; on a busy machine
the ratios are steadier than the absolute figures.
"""

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

# JAX, if installed, on one thread like the others; set before jax is imported
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

import backprop_core as bc  # noqa: E402
from workbook import experiments  # noqa: E402

HIDDEN_SIZES = [(5, 10), (64, 128), (512, 32), (512, 512)]
N = 100
LR = 0.01          # the lab's learning rate for its larger networks (Table 3)
MOMENTUM = 0.9


# -- the lab's listing ------------------------------------------------------------


def sigmoid(x):
    # Sigmoid function.                                     (Listing 1)
    return 1 / (1 + np.exp(-x))


def der_sigmoid(y):
    # First derivative of Sigmoid function.                 (Listing 2)
    return y * (1 - y)


class ListingModel:
    """Listings 3 and 4; only the weights are drawn from a seeded generator."""

    def __init__(self, hidden_size, epochs, lr, rng):
        self.epochs = epochs
        input_size = 2
        output_size = 1
        self.lr = lr
        self.initial_lr = lr
        self.momentum = 0.9
        (layer1, layer2) = hidden_size
        self.layer1 = layer1
        self.layer2 = layer2

        self.w1 = rng.standard_normal((input_size, layer1))
        self.w2 = rng.standard_normal((layer1, layer2))
        self.w3 = rng.standard_normal((layer2, output_size))
        self.b1 = np.zeros((1, layer1))
        self.b2 = np.zeros((1, layer2))
        self.b3 = np.zeros((1, output_size))

        self.v_w1 = np.zeros((input_size, layer1))
        self.v_w2 = np.zeros((layer1, layer2))
        self.v_w3 = np.zeros((layer2, output_size))
        self.v_b1 = np.zeros((1, layer1))
        self.v_b2 = np.zeros((1, layer2))
        self.v_b3 = np.zeros((1, output_size))

    def forward(self, inputs):
        # Forward pass
        self.input = inputs
        self.a1 = sigmoid(np.dot(self.input, self.w1) + self.b1)
        self.a2 = sigmoid(np.dot(self.a1, self.w2) + self.b2)
        output = sigmoid(np.dot(self.a2, self.w3) + self.b3)

        return output

    def backward(self):
        # backward pass
        dout = self.error
        grad_a3 = np.multiply(dout, der_sigmoid(self.output))
        grad_w3 = np.dot(self.a2.T, grad_a3)
        grad_b3 = np.sum(grad_a3, axis=0)

        grad_z2 = np.dot(grad_a3, self.w3.T)
        grad_a2 = np.multiply(grad_z2, der_sigmoid(self.a2))
        grad_w2 = np.dot(self.a1.T, grad_a2)
        grad_b2 = np.sum(grad_a2, axis=0)

        grad_z1 = np.dot(grad_a2, self.w2.T)
        grad_a1 = np.multiply(grad_z1, der_sigmoid(self.a1))
        grad_w1 = np.dot(self.input.T, grad_a1)
        grad_b1 = np.sum(grad_a1, axis=0)

        self.v_w1 = self.momentum * self.v_w1 + self.lr * grad_w1
        self.v_w2 = self.momentum * self.v_w2 + self.lr * grad_w2
        self.v_w3 = self.momentum * self.v_w3 + self.lr * grad_w3
        self.v_b1 = self.momentum * self.v_b1 + self.lr * grad_b1
        self.v_b2 = self.momentum * self.v_b2 + self.lr * grad_b2
        self.v_b3 = self.momentum * self.v_b3 + self.lr * grad_b3

        self.w1 -= self.v_w1
        self.w2 -= self.v_w2
        self.w3 -= self.v_w3
        self.b1 -= self.v_b1
        self.b2 -= self.v_b2
        self.b3 -= self.v_b3


def listing_train(model, X, y):
    """One sample per step, then the loss and accuracy of the epoch, as the lab plots them."""
    losses, accuracies = [], []
    for _ in range(model.epochs):
        for i in range(len(X)):
            model.output = model.forward(X[i:i + 1])
            model.error = model.output - y[i:i + 1]
            model.backward()
        y_hat = model.forward(X)
        losses.append(float(np.mean(0.5 * (y_hat - y) ** 2)))
        accuracies.append(float(np.mean((y_hat > 0.5) == (y == 1))))
    return losses, accuracies


# -- the peers: the same training in PyTorch and in JAX ------------------------------


def initial_weights(hidden_size):
    """The numba and numpy runs' starting weights, w1 ... b3, biases as vectors."""
    model = bc.Model(hidden_size, lr=LR, seed=0)
    return [getattr(model, k).ravel() if k.startswith("b") else getattr(model, k)
            for k in bc.PARAM_NAMES]


def torch_runner(hidden_size, X, y, epochs):
    """A function that trains ``epochs`` epochs in PyTorch, one thread, eager."""
    import torch
    torch.set_num_threads(1)
    start = [torch.tensor(w) for w in initial_weights(hidden_size)]
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def run():
        w1, b1, w2, b2, w3, b3 = params = [w.clone() for w in start]
        velocity = [torch.zeros_like(w) for w in start]
        with torch.no_grad():
            for _ in range(epochs):
                for i in range(len(Xt)):
                    x, target = Xt[i:i + 1], yt[i:i + 1]                # (1, 2), (1, 1)
                    a1 = torch.sigmoid(x @ w1 + b1)
                    a2 = torch.sigmoid(a1 @ w2 + b2)
                    a3 = torch.sigmoid(a2 @ w3 + b3)
                    dz3 = (a3 - target) * a3 * (1 - a3)
                    dz2 = (dz3 @ w3.T) * a2 * (1 - a2)
                    dz1 = (dz2 @ w2.T) * a1 * (1 - a1)
                    grads = (x.T @ dz1, dz1[0], a1.T @ dz2, dz2[0], a2.T @ dz3, dz3[0])
                    for p, v, g in zip(params, velocity, grads, strict=True):
                        v.mul_(MOMENTUM).add_(g, alpha=LR)
                        p.sub_(v)
                a3 = torch.sigmoid(torch.sigmoid(torch.sigmoid(Xt @ w1 + b1) @ w2 + b2) @ w3 + b3)
                float(torch.mean(0.5 * (a3 - yt) ** 2))
                float(torch.mean(((a3 > 0.5) == (yt == 1)).double()))
    return run


def jax_runner(hidden_size, X, y, epochs):
    """A function that trains ``epochs`` epochs in JAX: ``lax.scan`` over samples, jit."""
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    sig = jax.nn.sigmoid
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def sample(carry, xy):
        (w1, b1, w2, b2, w3, b3), velocity = carry
        x, target = xy                                                  # (2,), (1,)
        a1 = sig(x @ w1 + b1)
        a2 = sig(a1 @ w2 + b2)
        a3 = sig(a2 @ w3 + b3)
        dz3 = (a3 - target) * a3 * (1 - a3)
        dz2 = (dz3 @ w3.T) * a2 * (1 - a2)
        dz1 = (dz2 @ w2.T) * a1 * (1 - a1)
        grads = (jnp.outer(x, dz1), dz1, jnp.outer(a1, dz2), dz2, jnp.outer(a2, dz3), dz3)
        velocity = tuple(MOMENTUM * v + LR * g for v, g in zip(velocity, grads, strict=True))
        params = tuple(p - v for p, v in zip((w1, b1, w2, b2, w3, b3), velocity, strict=True))
        return (params, velocity), None

    def epoch(carry, _):
        carry, _ = jax.lax.scan(sample, carry, (Xj, yj))
        w1, b1, w2, b2, w3, b3 = carry[0]
        a3 = sig(sig(sig(Xj @ w1 + b1) @ w2 + b2) @ w3 + b3)
        return carry, (jnp.mean(0.5 * (a3 - yj) ** 2), jnp.mean((a3 > 0.5) == (yj == 1)))

    train = jax.jit(lambda carry: jax.lax.scan(epoch, carry, None, length=epochs))
    params = tuple(jnp.asarray(w) for w in initial_weights(hidden_size))
    carry = (params, tuple(jnp.zeros_like(p) for p in params))
    jax.block_until_ready(train(carry))                     # compiles, outside the timing
    return lambda: jax.block_until_ready(train(carry))


PEERS = {"PyTorch": ("torch", torch_runner), "JAX": ("jax", jax_runner)}


def installed(module):
    return importlib.util.find_spec(module) is not None


# -- timing -------------------------------------------------------------------------


def best_of(repeats, run):
    """Smallest wall-clock time of ``run()`` over ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def us_per_sample(seconds, epochs):
    return seconds / (epochs * N) * 1e6


def time_listing(hidden_size, X, y, epochs, repeats):
    def run():
        listing_train(ListingModel(hidden_size, epochs, LR, np.random.default_rng(0)), X, y)
    with np.errstate(all="ignore"):
        return us_per_sample(best_of(repeats, run), epochs)


def time_train(hidden_size, X, y, epochs, repeats, engine, batch_size=1):
    def run():
        model = bc.Model(hidden_size, lr=LR, seed=0)
        history = bc.train(model, X, y, epochs, batch_size=batch_size, engine=engine)
        assert history.engine == engine
    return us_per_sample(best_of(repeats, run), epochs)


def time_peer(runner, hidden_size, X, y, epochs, repeats):
    return us_per_sample(best_of(repeats, runner(hidden_size, X, y, epochs)), epochs)


def update_floor(hidden_size, trials=300):
    """Microseconds of the momentum step alone over (l1, l2) + the small parameters, the
    gradient of w2 an outer product a1 dz2^T as in the engine: best of many short trials."""
    import numba

    @numba.njit(fastmath=False)
    def steps(w, v, a, dz, lr, mu, repeats):      # w, v (rows, l2); a (rows,), dz (l2,)
        for _ in range(repeats):
            for j in range(w.shape[0]):
                a_j, w_j, v_j = a[j], w[j], v[j]
                for k in range(w.shape[1]):
                    v_j[k] = v_j[k] * mu + lr * (a_j * dz[k])
                    w_j[k] -= v_j[k]

    l1, l2 = hidden_size
    rng = np.random.default_rng(0)
    w, v = rng.random((l1 + 4, l2)) * 1e-3, np.zeros((l1 + 4, l2))   # + 3 l1 + 2 l2 + 1
    a, dz = rng.random(l1 + 4), rng.random(l2) * 1e-9
    repeats = max(1, 2**16 // w.size)              # calls of a few hundred us at least
    steps(w, v, a, dz, LR, 0.9, 1)                  # compiles
    return best_of(trials, lambda: steps(w, v, a, dz, LR, 0.9, repeats)) / repeats * 1e6


def flops_per_step(hidden_size):
    """4 F + 4 P: forward, backward (2 F), the epoch's metrics (F per sample), the step."""
    l1, l2 = hidden_size
    forward = 2 * (2 * l1 + l1 * l2 + l2)
    params = 2 * l1 + l1 + l1 * l2 + l2 + l2 + 1
    return 4 * forward + 4 * params


MATMUL = """
import time, numpy as np
a, b = np.random.default_rng(0).random((2, 1024, 1024))
best = float("inf")
for _ in range(6):
    start = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - start)
print(2 * 1024 ** 3 / best)
"""


def matmul_rate():
    """float64 FLOP/s of a 1024 x 1024 matrix product on one core (numpy's BLAS)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return float(subprocess.run([sys.executable, "-c", MATMUL], env=env, check=True,
                                capture_output=True, text=True).stdout)


FIRST_CALL = """
import time
start = time.perf_counter()
import backprop_core as bc
X, y = bc.generate_linear(100, seed=0)
bc.train(bc.Model((5, 10), seed=0), X, y, 1, engine="numba")
print(time.perf_counter() - start)
"""


def time_first_call():
    """(compile, load) seconds of a fresh process's first numba train, import included."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        return [float(subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, check=True,
                                     capture_output=True, text=True).stdout)
                for _ in range(2)]


def time_sweep(repeats):
    """Seconds of a small sweep (3 settings x 4 seeds, (64, 32), 100 epochs) on one thread
    and on every core (sweep's default); checks that the rows are the same."""
    grid = {"lr": [0.1, 0.05, 0.01]}
    base = experiments.RunConfig(hidden_size=(64, 32), epochs=100)
    rows = {}

    def one_thread():
        with ThreadPoolExecutor(max_workers=1) as one:
            rows["one"] = experiments.sweep(grid, seeds=range(4), base=base, executor=one)

    def every_core():
        rows["all"] = experiments.sweep(grid, seeds=range(4), base=base)
    serial, parallel = best_of(repeats, one_thread), best_of(repeats, every_core)
    assert rows["one"] == rows["all"], "sweep's rows differ between one thread and every core"
    return serial, parallel


def machine():
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            name = next(line.split(":", 1)[1].strip() for line in cpuinfo
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def versions():
    found = [f"numpy {np.__version__}", f"numba {__import__('numba').__version__}"]
    for label, (module, _) in PEERS.items():
        found.append(f"{module} {__import__(module).__version__}" if installed(module)
                     else f"{label} not installed")
    return ", ".join(found)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    args = parser.parse_args(argv)
    if "numba" not in bc.ENGINES:
        sys.exit("numba is not installed: pip install numba (see requirements.txt)")
    # the numba engine is timed on 1000 epochs, the lab's (200 at (512, 512)), so train
    # hands it chunks of epochs as in real use; the slow loops get fewer, enough to time
    slow_epochs, fast_epochs, batch_epochs, peer_epochs, repeats = (
        (2, 100, 50, 20, 2) if args.quick else (10, 1000, 200, 100, 3))
    X, y = bc.generate_linear(N, seed=0)

    print(f"Machine: {machine()}")
    print(f"{versions()}; linear set n = {N}, lr = {LR}, best of {repeats} "
          f"(numba and JAX per sample: best of {max(repeats, 5)}), wall clock\n")
    rate = matmul_rate()
    print(f"Compute limit: float64 matrix product on one core, {rate / 1e9:.1f} GFLOP/s\n")

    compile_s, load_s = time_first_call()
    print(f"numba first call in a fresh process (import included): {compile_s:.2f} s "
          f"compiling into an empty cache, {load_s:.2f} s loading from the cache\n")

    bc.train(bc.Model((5, 10)), X, y, 1, engine="numba")        # compiled or loaded here
    peers = [label for label, (module, _) in PEERS.items() if installed(module)]
    for label, (module, _) in PEERS.items():
        if label not in peers:
            print(f"({label} is not installed, so its column is empty: pip install "
                  f"{'jax jaxlib' if module == 'jax' else module})")
    print(f"Per-sample training (batch_size=1), microseconds per sample; epochs: listing "
          f"and numpy {slow_epochs}, numba {fast_epochs}, peers {peer_epochs} "
          f"(PyTorch {max(1, slow_epochs // 2)})")
    columns = ["listing", "numpy", "numba", "PyTorch", "JAX", "limit", "share", "floor",
               "numba/listing", "JAX/numba"]
    header = f"{'hidden':>10}  " + "  ".join(f"{c:>9}" for c in columns)
    print(header)
    print("-" * len(header))
    for hidden_size in HIDDEN_SIZES:
        big = hidden_size == (512, 512)
        listing = time_listing(hidden_size, X, y, slow_epochs, repeats)
        numpy_ = time_train(hidden_size, X, y, slow_epochs, repeats, "numpy")
        numba_ = time_train(hidden_size, X, y, fast_epochs // (5 if big else 1),
                            max(repeats, 5), "numba")
        cells = {"listing": listing, "numpy": numpy_, "numba": numba_}
        for label in peers:
            epochs = max(1, slow_epochs // 2) if label == "PyTorch" else (
                max(1, peer_epochs // 5) if big else peer_epochs)
            cells[label] = time_peer(PEERS[label][1], hidden_size, X, y, epochs,
                                     repeats if label == "PyTorch" else max(repeats, 5))
        limit = flops_per_step(hidden_size) / rate * 1e6
        line = [f"{cells[c]:9.2f}" if c in cells else f"{'-':>9}" for c in columns[:5]]
        line += [f"{limit:9.3f}", f"{limit / numba_:8.0%}", f"{update_floor(hidden_size):9.3f}",
                 f"{listing / numba_:12.1f}x"]
        line.append(f"{cells['JAX'] / numba_:8.2f}x" if "JAX" in cells else f"{'-':>9}")
        print(f"{str(hidden_size):>10}  " + "  ".join(line))

    print(f"\nMini-batch and full-batch, microseconds per sample, {batch_epochs} epochs")
    header = f"{'hidden':>10}  {'batch':>5}  {'numpy':>9}  {'numba':>9}  {'numba/numpy':>11}"
    print(header)
    print("-" * len(header))
    for hidden_size in HIDDEN_SIZES[:3]:
        for batch_size in (10, 100):
            numpy_ = time_train(hidden_size, X, y, batch_epochs, repeats, "numpy", batch_size)
            numba_ = time_train(hidden_size, X, y, batch_epochs, repeats, "numba", batch_size)
            print(f"{str(hidden_size):>10}  {batch_size:>5}  {numpy_:9.3f}  {numba_:9.3f}  "
                  f"{numpy_ / numba_:10.1f}x")

    serial, parallel = time_sweep(repeats)
    print(f"\nsweep of 12 runs ((64, 32), 100 epochs): {serial:.2f} s on one thread, "
          f"{parallel:.2f} s on {os.cpu_count()} cores ({serial / parallel:.2f}x), same rows")

    seconds = best_of(repeats, lambda: experiments.run_experiment(engine="numba"))
    print(f"\nPlayground default, run_experiment() (linear, (5, 10), lr 0.1, 1000 epochs, "
          f"numba): {seconds:.3f} s")


if __name__ == "__main__":
    main()
