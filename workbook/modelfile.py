"""The ``.npz`` file of a saved model: its layout, written atomically, read with checks.

A bottom layer, like ``engine``: it imports numpy alone and knows nothing of
``Model``; ``backprop_core.Model.save`` and ``Model.load`` call it.

A model file holds the hyperparameters of ``HYPERPARAMETERS`` and, for each of
"" (the parameters), "v_", "m_" and "s_" (the optimizer's state), the six
arrays w1, b1, w2, b2, w3, b3, of the shapes that hidden_size (l1, l2) gives.

Writing goes to a temporary file in the same folder, flushed to disk, then
renamed over the target (``os.replace``): a full disk or a crash leaves the
old file whole. Reading opens only the members it needs, checks each ``.npy``
header against the shape the hyperparameters give before it reads any data,
refuses pickles, and refuses a model over ``MAX_PARAMS`` parameters, so a
forged or corrupt file can neither allocate a huge array nor run code.
"""

import math
import os
import tempfile
import zipfile

import numpy as np

FORMAT_VERSION = 1
HYPERPARAMETERS = ("hidden_size", "lr", "momentum", "activation", "output_activation",
                   "optimizer", "loss", "init", "seed", "t")
PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")
ARRAYS = tuple(p + name for p in ("", "v_", "m_", "s_") for name in PARAM_NAMES)
MAX_PARAMS = 50_000_000                         # 400 MB of float64 per set of arrays


def shapes(hidden_size):
    """name -> shape of every array, for hidden_size (l1, l2)."""
    l1, l2 = hidden_size
    one = {"w1": (2, l1), "b1": (1, l1), "w2": (l1, l2), "b2": (1, l2), "w3": (l2, 1),
           "b3": (1, 1)}
    return {p + name: one[name] for p in ("", "v_", "m_", "s_") for name in PARAM_NAMES}


def write(path, hyperparameters, arrays):
    """Write a model file to ``path``, atomically.

    ``hyperparameters`` maps each of ``HYPERPARAMETERS`` to a number, a string
    or (hidden_size) a pair; ``arrays`` maps each of ``ARRAYS`` to an array.
    """
    seed = hyperparameters["seed"]
    fields = {**hyperparameters, "hidden_size": np.array(hyperparameters["hidden_size"]),
              "seed": "None" if seed is None else str(int(seed))}
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model-", suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as file:       # exactly this path: np.savez would add .npz
            np.savez(file, format_version=FORMAT_VERSION, **fields, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read(path):
    """Read a model file: ``(hyperparameters, arrays)``, as ``write`` took them.

    The arrays are float64 and finite; hidden_size is a pair of ints, seed an
    int or None, t an int >= 0, the others floats or strings (the caller
    validates their values).

    Raises
    ------
    ValueError
        Naming the file and what is wrong with it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [k for k in ("format_version", *HYPERPARAMETERS, *ARRAYS)
                       if k + ".npy" not in names]
            if missing:
                raise ValueError(f"it is missing {missing}")
            version = _member(archive, "format_version", max_items=1)
            if version != FORMAT_VERSION:
                raise ValueError(f"its format_version is {version}, this workbook reads "
                                 f"{FORMAT_VERSION}")
            hyper = {k: _member(archive, k, max_items=2) for k in HYPERPARAMETERS}
            try:
                hyper = _convert(hyper)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"invalid hyperparameters: {exc}") from None
            arrays = {}
            for key, shape in shapes(hyper["hidden_size"]).items():
                arrays[key] = _member(archive, key, shape=shape)
                if not np.all(np.isfinite(arrays[key])):
                    raise ValueError(f"array {key!r} holds NaN or inf (the model had "
                                     "diverged); save a finite one")
    except (ValueError, TypeError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"cannot read a model from {str(path)!r}: {exc}. Pass a file "
                         "written by Model.save.") from None
    return hyper, arrays


def _convert(hyper):
    """The stored hyperparameters as Python values; refuses sizes beyond MAX_PARAMS."""
    hidden = tuple(int(h) for h in np.ravel(hyper["hidden_size"]))
    if len(hidden) != 2 or min(hidden) < 1:
        raise ValueError(f"hidden_size {hidden} is not two positive integers")
    if 3 * hidden[0] + hidden[0] * hidden[1] + 2 * hidden[1] + 1 > MAX_PARAMS:
        raise ValueError(f"hidden_size {hidden} means more than MAX_PARAMS = {MAX_PARAMS:,} "
                         "parameters")
    t = int(hyper["t"])
    if t < 0:
        raise ValueError(f"Adam's step count t is {t}, expected >= 0")
    seed = None if str(hyper["seed"]) == "None" else int(str(hyper["seed"]))
    plain = {k: (str(v) if isinstance(v, str) else float(v)) for k, v in hyper.items()
             if k not in ("hidden_size", "seed", "t")}
    return {**plain, "hidden_size": hidden, "seed": seed, "t": t}


def _member(archive, key, shape=None, max_items=None):
    """One ``.npy`` member, its header checked before its data is read."""
    with archive.open(key + ".npy") as file:
        version = np.lib.format.read_magic(file)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"array {key!r} has .npy format version {version}")
        got_shape, _, dtype = read_header(file)
        if dtype.hasobject:
            raise ValueError(f"array {key!r} holds Python objects: pickled objects are refused")
        if shape is not None:
            ok = got_shape == tuple(shape) and np.issubdtype(dtype, np.floating)
            want = f"float {tuple(shape)}"
        else:
            ok = math.prod(got_shape) <= max_items
            want = f"at most {max_items} plain items"
        if not ok:
            raise ValueError(f"array {key!r} has shape {got_shape} and dtype {dtype}, "
                             f"expected {want}")
    with archive.open(key + ".npy") as file:    # the data, once its header is known good
        array = np.lib.format.read_array(file, allow_pickle=False)
    return array.astype(np.float64) if shape is not None else array[()]
