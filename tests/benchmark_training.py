"""Training speed: the lab's listing, the numpy reference and the numba engine.

Run by hand (pytest does not collect it)::

    python tests/benchmark_training.py           # about a minute
    python tests/benchmark_training.py --quick   # a few seconds

It trains on the lab's linear set (n = 100 points), in one process, side by side:

* "listing": a loop written here from the lab report's Listings 1-4: the
  ``Model`` class with its ``forward`` and ``backward`` (momentum 0.9), one
  sample per step, and the training loss and accuracy after every epoch;
* "numpy": ``backprop_core.train(..., engine="numpy")``, the reference;
* "numba": ``backprop_core.train(..., engine="numba")``, the compiled engine;

at hidden sizes (5, 10), (64, 128) and (512, 32), and prints microseconds per
training sample (epochs x n) and the speed-ups. Batch sizes 10 and 100 compare
numpy with numba only. It also times numba's first call, compiling into an empty
cache and then loading from it, in fresh processes, and the playground's default
run (``run_experiment()``: linear, (5, 10), lr 0.1, 1000 epochs).

Each figure is the best of a few repeats, wall-clock time; on a busy machine
the ratios are steadier than the absolute figures.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

import backprop_core as bc
from workbook import experiments

HIDDEN_SIZES = [(5, 10), (64, 128), (512, 32)]
N = 100
LR = 0.01          # the lab's learning rate for its larger networks (Table 3)


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


def machine():
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            name = next(line.split(":", 1)[1].strip() for line in cpuinfo
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    args = parser.parse_args(argv)
    if "numba" not in bc.ENGINES:
        sys.exit("numba is not installed: pip install numba (see requirements.txt)")
    # the numba engine is timed on 1000 epochs, the lab's, so train hands it chunks of
    # 10 epochs as in real use; the slow loops get fewer epochs, enough to time them
    slow_epochs, fast_epochs, batch_epochs, repeats = (
        (3, 100, 50, 1) if args.quick else (20, 1000, 200, 3))
    X, y = bc.generate_linear(N, seed=0)

    print(f"Machine: {machine()}")
    print(f"numpy {np.__version__}, numba {__import__('numba').__version__}; "
          f"linear set n = {N}, lr = {LR}, best of {repeats}, wall clock\n")

    compile_s, load_s = time_first_call()
    print(f"numba first call in a fresh process (import included): {compile_s:.2f} s "
          f"compiling into an empty cache, {load_s:.2f} s loading from the cache\n")

    bc.train(bc.Model((5, 10)), X, y, 1, engine="numba")        # compiled or loaded here
    print(f"Per-sample training (batch_size=1), microseconds per sample; epochs: listing "
          f"and numpy {slow_epochs}, numba {fast_epochs}")
    header = (f"{'hidden':>10}  {'listing':>9}  {'numpy':>9}  {'numba':>9}  "
              f"{'numba/listing':>13}  {'numba/numpy':>11}")
    print(header)
    print("-" * len(header))
    for hidden_size in HIDDEN_SIZES:
        listing = time_listing(hidden_size, X, y, slow_epochs, repeats)
        numpy_ = time_train(hidden_size, X, y, slow_epochs, repeats, "numpy")
        numba_ = time_train(hidden_size, X, y, fast_epochs, repeats, "numba")
        print(f"{str(hidden_size):>10}  {listing:9.2f}  {numpy_:9.2f}  {numba_:9.3f}  "
              f"{listing / numba_:12.1f}x  {numpy_ / numba_:10.1f}x")

    print(f"\nMini-batch and full-batch, microseconds per sample, {batch_epochs} epochs")
    header = f"{'hidden':>10}  {'batch':>5}  {'numpy':>9}  {'numba':>9}  {'numba/numpy':>11}"
    print(header)
    print("-" * len(header))
    for hidden_size in HIDDEN_SIZES:
        for batch_size in (10, 100):
            numpy_ = time_train(hidden_size, X, y, batch_epochs, repeats, "numpy", batch_size)
            numba_ = time_train(hidden_size, X, y, batch_epochs, repeats, "numba", batch_size)
            print(f"{str(hidden_size):>10}  {batch_size:>5}  {numpy_:9.3f}  {numba_:9.3f}  "
                  f"{numpy_ / numba_:10.1f}x")

    seconds = best_of(repeats, lambda: experiments.run_experiment(engine="numba"))
    print(f"\nPlayground default, run_experiment() (linear, (5, 10), lr 0.1, 1000 epochs, "
          f"numba): {seconds:.3f} s")


if __name__ == "__main__":
    main()
