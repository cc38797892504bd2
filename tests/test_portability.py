"""The compiled engine gives the same bits on every CPU.

Training at lr 0.1 with momentum 0.9 is chaotic: a difference in the last bit
of one sum becomes another table after a few hundred epochs. So the engine's
arithmetic must not depend on the CPU it runs on. Oracles:

* the same runs in fresh processes, compiled by numba for this CPU and for
  older ones (``NUMBA_CPU_NAME=generic``, a plain x86-64 without SSE4, AVX or
  FMA, and ``haswell``, AVX2 with FMA), each with an empty cache of its own:
  histories and final weights must be bit-identical;
* one ulp added to one weight changes the chaotic runs' results, which shows
  that bit-identical is a test these runs could fail;
* the compiled kernel's machine code calls no libm routine and holds no fused
  multiply-add, the two ways a CPU could change a result behind the source;
* the sums that the engine writes out in SIMD instructions give the bits of
  their plain Python definitions, and the branch-free exp those of fdlibm's
  exp as a scalar function with branches and ldexp.
"""

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import backprop_core as bc
from workbook import engine

pytest.importorskip("numba")

# (name, dataset, hidden, lr, epochs, options): chaotic runs first, then calm
# ones over every activation, loss, optimizer and batch size.
RUNS = [
    ("xor-512x32-chaotic", "xor", (512, 32), 0.1, 600, {}),
    ("xor-64x128-chaotic", "xor", (64, 128), 0.1, 600, {}),
    ("linear-5x10-chaotic", "linear", (5, 10), 0.1, 1000, {}),
    ("linear-decayed", "linear", (64, 128), 0.1, 300, {"lr_decay": 0.9}),
    ("linear-long-rows", "linear", (6, 258), 0.1, 100, {}),        # l2 >= engine.ONE_ROW_FROM
    ("tanh-adam-bce", "linear", (8, 6), 0.01, 200,
     {"activation": "tanh", "optimizer": "adam", "loss": "bce", "batch_size": 7}),
    ("relu-sgd-linear-out", "linear", (8, 6), 0.01, 200,
     {"activation": "relu", "optimizer": "sgd", "output_activation": "none",
      "batch_size": 100, "init": "he"}),
    ("none-momentum-shuffled", "xor", (5, 3), 0.01, 200,
     {"activation": "none", "batch_size": 4, "shuffle": True, "init": "xavier"}),
    ("sigmoid-adam-mse", "xor", (16, 16), 0.05, 300, {"optimizer": "adam", "batch_size": 3}),
]
CHAOTIC = [run[0] for run in RUNS if run[0].endswith("chaotic")]
MODEL_KEYS = ("activation", "optimizer", "loss", "output_activation", "init")

# The child process: train every run and print a digest of each history and
# of the final weights and optimizer state, as JSON.
CHILD = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np
    import backprop_core as bc
    from workbook import datasets

    runs, model_keys, nudge = json.loads(sys.argv[1])
    out = {}
    for name, dataset, hidden, lr, epochs, options in runs:
        X, y = datasets.load_dataset(dataset, seed=0)
        model = bc.Model(hidden_size=tuple(hidden), lr=lr, seed=1,
                         **{k: v for k, v in options.items() if k in model_keys})
        if nudge:                               # one ulp on one weight
            model.w1[0, 0] = np.nextafter(model.w1[0, 0], np.inf)
        train_options = {k: v for k, v in options.items() if k not in model_keys}
        history = bc.train(model, X, y, epochs, engine="numba", seed=2, **train_options)
        assert history.engine == "numba", history.engine
        digest = hashlib.sha256()
        for field in (history.loss, history.accuracy, history.mae, history.lr):
            digest.update(np.asarray(field, dtype=np.float64).tobytes())
        for prefix in ("", "v_", "m_", "s_"):
            for p in bc.PARAM_NAMES:
                digest.update(getattr(model, prefix + p).tobytes())
        out[name] = {"digest": digest.hexdigest(), "epochs": history.epochs,
                     "final_loss": history.loss[-1]}
    print(json.dumps(out))
""")


def run_child(tmp_path, label, cpu_name=None, nudge=False):
    """Train RUNS in a fresh process with an empty numba cache of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / f"cache-{label}")
    if cpu_name is not None:
        env["NUMBA_CPU_NAME"] = cpu_name
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([RUNS, MODEL_KEYS, nudge])],
        env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{label}: {result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    return run_child(tmp_path_factory.mktemp("native"), "native")


@pytest.mark.parametrize("cpu_name", ["generic", "haswell"])
def test_bit_identical_across_cpus(native, tmp_path, cpu_name):
    other = run_child(tmp_path, cpu_name, cpu_name=cpu_name)
    differ = [name for name in native if native[name] != other[name]]
    assert not differ, (
        f"compiled for {cpu_name!r}, these runs differ from the native build: "
        + ", ".join(f"{n} (final loss {native[n]['final_loss']!r} native, "
                    f"{other[n]['final_loss']!r} {cpu_name})" for n in differ))


def test_the_chaotic_runs_would_show_a_one_ulp_difference(native, tmp_path):
    nudged = run_child(tmp_path, "nudged", nudge=True)
    for name in CHAOTIC:
        assert nudged[name]["digest"] != native[name]["digest"], name
    # and the nudge grows: the final loss moves by far more than rounding
    moved = [name for name in CHAOTIC
             if abs(nudged[name]["final_loss"] - native[name]["final_loss"])
             > 1e-6 * abs(native[name]["final_loss"])]
    assert len(moved) >= 2, {n: (native[n]["final_loss"], nudged[n]["final_loss"])
                             for n in CHAOTIC}


def test_runs_cover_every_option():
    seen = {key: set() for key in ("activation", "optimizer", "loss", "output_activation")}
    batch_sizes = set()
    for *_, options in RUNS:
        for key in seen:
            seen[key].add(options.get(key, {"activation": "sigmoid", "optimizer": "momentum",
                                            "loss": "mse",
                                            "output_activation": "sigmoid"}[key]))
        batch_sizes.add(options.get("batch_size", 1))
    assert seen["activation"] == set(bc.ACTIVATIONS)
    assert seen["optimizer"] == set(bc.OPTIMIZERS)
    assert seen["loss"] == set(bc.LOSSES)
    assert seen["output_activation"] == set(bc.OUTPUT_ACTIVATIONS)
    assert {1, 100} <= batch_sizes and len(batch_sizes) >= 4


ASM_CHILD = textwrap.dedent("""
    import json, re
    import backprop_core as bc
    from workbook import engine

    X, y = bc.generate_xor_easy()
    for batch_size in (1, 10):                  # compiles the kernel's two kinds
        bc.train(bc.Model(hidden_size=(5, 10)), X, y, 1, batch_size=batch_size,
                 engine="numba")
    signatures = engine.kernel().signatures
    assert len(signatures) == 2, signatures
    asm = "\\n".join(engine.kernel().inspect_asm().values())
    print(json.dumps({
        "chars": len(asm),
        "libm": sorted(set(re.findall(r"\\b(?:exp|expm1|log|log1p|tanh|pow)\\b", asm))),
        "fused": sorted(set(re.findall(r"\\bv?f(?:n)?m(?:add|sub)\\w*", asm))),
    }))
""")


def test_machine_code_has_no_libm_calls_and_no_fma(tmp_path):
    # numba shows no assembly for code loaded from its cache: compile afresh
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    result = subprocess.run([sys.executable, "-c", ASM_CHILD], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["chars"] > 10_000, "numba gave no assembly to inspect"
    assert not found["libm"], f"the kernel refers to libm routines {found['libm']}"
    assert not found["fused"], f"the kernel holds fused multiply-adds {found['fused']}"


def test_portable_exp_tanh_and_log1p_match_libm_to_a_few_ulps():
    """The engine's own elementary functions against Python's math module."""
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.uniform(-745, 709, 5000), rng.uniform(-3, 3, 5000),
                         [0.0, -0.0, 1e-300, -708.5, 709.7]])
    for name, ours, libm, values, ulps in [
            ("exp", engine._exp, np.exp, xs, 1),
            ("tanh", engine._tanh, np.tanh, xs[np.abs(xs) < 30], 4),
            ("log1p", engine._log1p, np.log1p, rng.uniform(0, 1, 5000), 3)]:
        got = np.array([ours(float(v)) for v in values])
        want = libm(values)
        err = np.abs(got - want) / np.spacing(np.abs(want))
        assert err.max() <= ulps, f"{name}: {err.max()} ulp at {values[err.argmax()]!r}"
    assert engine._exp(-1000.0) == 0.0 and engine._exp(1000.0) == np.inf
    assert np.isnan(engine._exp(np.nan)) and np.isnan(engine._tanh(np.nan))
    assert engine._powi(0.999, 1000) == pytest.approx(0.999 ** 1000, rel=1e-14)



def _fdlibm_exp(x):
    """fdlibm's exp as a scalar function with branches and ldexp: the oracle."""
    if x != x:
        return x
    if x > 709.782712893384:
        return math.inf
    if x < -745.1332191019412:
        return 0.0
    k = int(engine._INV_LN2 * x + (0.5 if x >= 0.0 else -0.5))
    hi = x - k * engine._LN2_HI
    lo = k * engine._LN2_LO
    r = hi - lo
    t = r * r
    p1, p2, p3, p4, p5 = engine._EXP_P
    c = r - t * (p1 + t * (p2 + t * (p3 + t * (p4 + t * p5))))
    return math.ldexp(1.0 - ((lo - (r * c) / (2.0 - c)) - hi), k)


def test_branch_free_exp_gives_the_bits_of_fdlibms_exp():
    """2^k from its bits, as two factors, rounds where ldexp rounds (subnormals too)."""
    rng = np.random.default_rng(1)
    xs = np.concatenate([rng.uniform(-746, 710, 20000), rng.uniform(-2, 2, 20000),
                         rng.uniform(-745.2, -708, 20000), [0.0, -0.0, 709.78, -745.13]])
    kernel = engine.kernel()                    # compiles the engine's functions
    assert kernel is not None
    ours = np.array([engine._exp(float(x)) for x in xs])   # the compiled _exp
    want = np.array([_fdlibm_exp(float(x)) for x in xs])
    assert np.array_equal(ours.view(np.int64), want.view(np.int64))


def test_simd_sums_give_the_bits_of_their_python_definitions(monkeypatch):
    """``_lanes4``, ``_lanes4_momentum``, ``_lanes1_momentum`` and ``_rows8``, written out
    in SIMD instructions, against the same functions run by Python one number at a time."""
    numba = pytest.importorskip("numba")
    engine.kernel()
    lanes4, lanes4_momentum, lanes1_momentum, rows8 = (engine._simd_intrinsics()[name]
                                                       for name in engine._SIMD)

    @numba.njit
    def simd(a, w, v, A1, Z2, out, out_m, out_1):
        lanes4(a, w, 3, out)
        lanes4_momentum(a, w, v, A1, 5, 0.01, 0.9, out_m)
        lanes1_momentum(a, w, v, A1, 10, 0.01, 0.9, out_1)
        rows8(A1, 1, w, 2, Z2)

    for name in engine._SIMD:                   # the module's names back to Python, for the oracle
        monkeypatch.setattr(engine, name, engine._PYTHON[name])
    rng = np.random.default_rng(2)
    for l2 in (1, 4, 11, 32):                   # with and without a tail beyond l2 - l2 % 4
        a, w, v = rng.standard_normal(l2), rng.standard_normal((13, l2)), rng.random((13, l2))
        A1, Z2 = rng.random((2, 13)), rng.standard_normal((2, l2))
        got = [a.copy(), w.copy(), v.copy(), A1.copy(), Z2.copy(), *np.zeros((3, 16))]
        want = [x.copy() for x in got]
        simd(*got)
        a_, w_, v_, A1_, Z2_, out_, out_m_, out_1_ = want
        engine._PYTHON["_lanes4"](a_, w_, 3, out_)
        engine._PYTHON["_lanes4_momentum"](a_, w_, v_, A1_, 5, 0.01, 0.9, out_m_)
        engine._PYTHON["_lanes1_momentum"](a_, w_, v_, A1_, 10, 0.01, 0.9, out_1_)
        engine._PYTHON["_rows8"](A1_, 1, w_, 2, Z2_)
        for name, g, h in zip(("a", "w", "v", "A1", "Z2", "lanes", "lanes_m", "lanes_1"), got,
                              want, strict=True):
            assert np.array_equal(g, h), f"l2={l2}: {name} differs"


@pytest.mark.parametrize("optimizer, batch_size", [("momentum", 1), ("adam", 1), ("sgd", 3)])
@pytest.mark.parametrize("hidden_size", [(6, 9), (9, engine.ONE_ROW_FROM + 3),
                                         (128, engine.ONE_ROW_LARGE[0] + 2)])
def test_compiled_engine_gives_the_bits_of_its_python_source(monkeypatch, optimizer, batch_size,
                                                              hidden_size):
    """Every compiled path (four rows of w2 at a time, or one for long rows or a large w2,
    with a tail of l2 % 4 numbers) against the engine's own functions run by Python, number by
    number: the compiler may only lay the arithmetic out, never change it."""
    X, y = bc.generate_xor_easy()
    X, y = X[:7], y[:7]
    orders = np.array([[3, 0, 6, 1, 5, 2, 4], [6, 5, 4, 3, 2, 1, 0]])

    def run():
        model = bc.Model(hidden_size, lr=0.1, optimizer=optimizer, seed=4)
        params = {name: getattr(model, name) for name in engine.PARAM_NAMES}
        state = {prefix + name: np.zeros_like(params[name])
                 for prefix in engine.OPT_STATE[optimizer] for name in engine.PARAM_NAMES}
        history = engine.run_epochs(params, state, X, y, orders, np.full(2, 0.1), batch_size,
                                    "sigmoid", "sigmoid", "mse", optimizer, 0.9, 0)
        return [*history[:3], *params.values(), *state.values()]

    compiled = run()
    for name in engine._FUNCTIONS:                   # the source, run by Python
        monkeypatch.setattr(engine, name, engine._PYTHON[name])
    monkeypatch.setattr(engine, "kernel", lambda: engine._PYTHON["_epochs"])
    for got, want in zip(compiled, run(), strict=True):
        assert np.array_equal(got, want)
