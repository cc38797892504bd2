"""The ``.npz`` file of a saved model: its layout, written atomically, read with checks.

A bottom layer, like ``engine``: it imports numpy alone and never imports
``backprop_core``; ``Model.save`` and ``Model.load`` call ``save`` and ``load``
here, and ``load`` is handed the class to build.

A model file holds the hyperparameters of ``HYPERPARAMETERS`` and, for each of
"" (the parameters), "v_", "m_" and "s_" (the optimizer's state), the six
arrays w1, b1, w2, b2, w3, b3, of the shapes that hidden_size (l1, l2) gives.

Writing goes to a temporary file in the same folder, flushed to disk, read
back as ``load`` would read it, then renamed over the target (``os.replace``):
a full disk, a crash or Ctrl-C leaves the old file whole and no temporary file
behind, and no file is written that ``load`` would refuse. Reading opens only
the members it needs, checks each ``.npy`` header against the shape the
hyperparameters give before it reads any data, refuses pickles, and refuses a
model over ``MAX_PARAMS`` parameters, so a forged or corrupt file can neither
allocate a huge array nor run code.
"""

import os
import secrets
import zipfile

import numpy as np

FORMAT_VERSION = 1
HYPERPARAMETERS = ("hidden_size", "lr", "momentum", "activation", "output_activation",
                   "optimizer", "loss", "init", "seed", "t")
PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")
ARRAYS = tuple(p + name for p in ("", "v_", "m_", "s_") for name in PARAM_NAMES)
MAX_PARAMS = 50_000_000                         # 400 MB of float64 per set of arrays
MAX_TEXT = 1024                                 # bytes of a stored hyperparameter's item


def shapes(hidden_size):
    """name -> shape of every array, for hidden_size (l1, l2)."""
    l1, l2 = hidden_size
    one = {"w1": (2, l1), "b1": (1, l1), "w2": (l1, l2), "b2": (1, l2), "w3": (l2, 1),
           "b3": (1, 1)}
    return {p + name: one[name] for p in ("", "v_", "m_", "s_") for name in PARAM_NAMES}


def _fspath(path):
    """``path`` as a str; a bad one refused, naming ``path``."""
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a file name (str or os.PathLike), got "
                        f"{type(path).__name__} {path!r:.60}. Pass e.g. 'model.npz'.") from None
    if not path:
        raise ValueError("path is empty; pass a file name, e.g. 'model.npz'.")
    return path


def save(model, path):
    """Write ``model``'s hyperparameters and arrays to ``path``, atomically.

    ``model`` is a ``backprop_core.Model`` (its attributes are read by name).
    """
    seed = model.seed
    seed = int(seed) if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) else None
    write(path, {**{k: getattr(model, k) for k in HYPERPARAMETERS}, "seed": seed},
          {k: getattr(model, k) for k in ARRAYS}, check=True)


def write(path, hyperparameters, arrays, check=False):
    """Write a model file to ``path``, atomically.

    ``hyperparameters`` maps each of ``HYPERPARAMETERS`` to a number, a string
    or (hidden_size) a pair; ``arrays`` maps each of ``ARRAYS`` to an array.
    With ``check``, the written file is first read back by ``read``: a file
    that ``read`` would refuse never replaces the old one.

    Raises
    ------
    TypeError, ValueError
        If ``hyperparameters`` or ``arrays`` is not a dict with exactly those keys
        (the error names the missing and the unknown ones); nothing is written.
    OSError
        Of the kind the system gave (no space, no permission, ...), naming ``path``.
    """
    path = _fspath(path)
    _check_keys(hyperparameters, "hyperparameters", HYPERPARAMETERS)
    _check_keys(arrays, "arrays", ARRAYS)
    seed = hyperparameters["seed"]
    fields = {**hyperparameters, "hidden_size": np.array(hyperparameters["hidden_size"]),
              "seed": "None" if seed is None else str(int(seed))}
    target = os.path.realpath(path)             # through a symbolic link, to its file
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        mode = os.stat(target).st_mode & 0o7777 if os.path.isfile(target) else 0o666
        # like open(path, "w"): the umask applies to a new file, an old one keeps its mode
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(fd, "wb") as file:   # exactly this path: np.savez would add .npz
                np.savez(file, format_version=FORMAT_VERSION, **fields, **arrays)
                file.flush()
                os.fsync(file.fileno())
            if os.path.isfile(target):
                os.chmod(tmp, mode)
            if check:
                read(tmp, name=path)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as exc:
        why = f"cannot save the model to {path!r}: {exc.strerror or exc}"
        raise (type(exc)(exc.errno, why) if exc.errno else OSError(why)) from exc
    try:                                        # the rename itself, to disk
        folder_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder_fd)
    except OSError:
        pass
    finally:
        os.close(folder_fd)


def _check_keys(mapping, name, keys):
    """Refuse ``mapping`` unless it is a dict whose keys are exactly ``keys``."""
    hint = "Pass both dicts whole, as read(path) returns them (Model.save writes a model's)."
    if not isinstance(mapping, dict):
        raise TypeError(f"{name} must be a dict with the keys {keys}, got "
                        f"{type(mapping).__name__}. {hint}")
    wrong = []
    if missing := [k for k in keys if k not in mapping]:
        wrong.append(f"is missing {missing}")
    if unknown := [k for k in mapping if k not in keys]:
        wrong.append(f"has unknown keys {unknown}")
    if wrong:
        raise ValueError(f"{name} {' and '.join(wrong)}; it must have exactly the keys {keys}. "
                         f"{hint}")


def load(cls, path, name=None):
    """A ``cls`` (``backprop_core.Model``) built from the file's hyperparameters, its arrays set.

    Raises
    ------
    ValueError
        Naming the file (or ``name``) and what is wrong with it.
    """
    hyper, arrays = read(path, name)
    t = hyper.pop("t")
    try:
        model = cls(**hyper)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name or str(path)!r} holds invalid hyperparameters: {exc} Pass a "
                         "file written by Model.save.") from None
    model.__dict__.update(arrays, t=t)
    return model


def read(path, name=None):
    """Read a model file: ``(hyperparameters, arrays)``, as ``write`` took them.

    The arrays are float64 and finite (Adam's second moments s_* also >= 0);
    hidden_size is a pair of ints, seed an int or None, t an int >= 0, the
    others floats or strings (the caller validates their values).

    Raises
    ------
    ValueError
        Naming the file (or ``name``) and what is wrong with it.
    """
    path = _fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [k for k in ("format_version", *HYPERPARAMETERS, *ARRAYS)
                       if k + ".npy" not in names]
            if missing:
                raise ValueError(f"it is missing {missing}")
            version = _member(archive, "format_version", scalar=True)
            if version != FORMAT_VERSION:
                raise ValueError(f"its format_version is {version}, this workbook reads "
                                 f"{FORMAT_VERSION}")
            hyper = {k: _member(archive, k, scalar=k != "hidden_size") for k in HYPERPARAMETERS}
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
                if key.startswith("s_") and np.any(arrays[key] < 0):
                    raise ValueError(f"array {key!r}, Adam's mean of squared gradients, "
                                     "holds negative values")
    except (ValueError, TypeError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"cannot read a model from {name or path!r}: {exc}. Pass a file "
                         "written by Model.save.") from None
    return hyper, arrays


def _convert(hyper):
    """The stored hyperparameters as Python values; refuses sizes beyond MAX_PARAMS."""
    def integer(key, value):
        if not (value.dtype.kind in "iuf" and np.all(value == np.round(value))
                and np.all(np.abs(value) < 2.0 ** 62)):
            raise ValueError(f"{key} {value.tolist()!r} is not made of integers")
        return value.astype(np.int64).tolist() if value.dtype.kind == "f" else value.tolist()

    if hyper["hidden_size"].shape != (2,):
        raise ValueError(f"hidden_size has shape {hyper['hidden_size'].shape}, expected (2,)")
    hidden = tuple(integer("hidden_size", hyper["hidden_size"]))
    if min(hidden) < 1:
        raise ValueError(f"hidden_size {hidden} is not two positive integers")
    if 3 * hidden[0] + hidden[0] * hidden[1] + 2 * hidden[1] + 1 > MAX_PARAMS:
        raise ValueError(f"hidden_size {hidden} means more than MAX_PARAMS = {MAX_PARAMS:,} "
                         "parameters")
    t = integer("t", hyper["t"])
    if t < 0:
        raise ValueError(f"Adam's step count t is {t}, expected >= 0")
    seed = str(hyper["seed"])
    if seed != "None" and not seed.isdigit():
        raise ValueError(f"seed {seed!r} is neither 'None' nor an integer >= 0")
    plain = {}
    for key in ("lr", "momentum", "activation", "output_activation", "optimizer", "loss", "init"):
        value = hyper[key]
        if value.dtype.kind in "US":            # a string, checked by the caller
            plain[key] = str(value)
        elif value.dtype.kind in "iuf":         # a number, checked by the caller
            plain[key] = float(value)
        else:
            raise ValueError(f"{key} is stored as {value.dtype}, expected a number or a string")
    return {**plain, "hidden_size": hidden, "seed": None if seed == "None" else int(seed),
            "t": t}


def _member(archive, key, shape=None, scalar=False):
    """One ``.npy`` member, its header checked before its data is read.

    ``shape``: a float array of that shape; ``scalar``: one number or short
    string, shape (); neither: hidden_size, two numbers. Scalars come back as
    0-d arrays.
    """
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
            ok = got_shape == tuple(shape) and dtype.kind == "f"
            want = f"float {tuple(shape)}"
        else:
            ok = (got_shape == (() if scalar else (2,)) and dtype.itemsize <= MAX_TEXT
                  and dtype.kind in ("iuf" + ("US" if scalar else "")))
            want = (f"one number or a string of at most {MAX_TEXT} bytes, shape ()" if scalar
                    else "two integers, shape (2,)")
        if not ok:
            raise ValueError(f"array {key!r} has shape {got_shape} and dtype {dtype}, "
                             f"expected {want}")
    with archive.open(key + ".npy") as file:    # the data, once its header is known good
        array = np.lib.format.read_array(file, allow_pickle=False)
    return array.astype(np.float64) if shape is not None else array
