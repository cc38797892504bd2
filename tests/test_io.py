"""Model.save and Model.load: a faithful round trip, and a clear ValueError for bad files."""

import io
import zipfile

import numpy as np
import pytest

import backprop_core as bc
from workbook import modelfile

STATE_KEYS = [p + n for p in ("", "v_", "m_", "s_") for n in bc.PARAM_NAMES]
HYPER = ("hidden_size", "lr", "momentum", "activation", "output_activation", "optimizer",
         "loss", "init", "seed", "t")

unpickled = []                                 # set if loading ever runs pickled code


def _record_unpickling():
    unpickled.append(True)
    return "payload"


class Payload:
    def __reduce__(self):
        return (_record_unpickling, ())


@pytest.fixture
def data():
    return bc.generate_linear(10, seed=0)


@pytest.fixture(params=["momentum", "adam"])
def trained(request, data):
    """A model with non-trivial weights and optimizer state."""
    X, y = data
    m = bc.Model((3, 4), lr=0.3, momentum=0.8, activation="tanh", seed=5,
                 optimizer=request.param, init="xavier")
    bc.train(m, X, y, epochs=2, engine="numpy")
    return m


@pytest.fixture
def saved(tmp_path, trained):
    path = tmp_path / "model.npz"
    trained.save(path)
    return path


def saved_arrays(path):
    with np.load(path, allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}


# -- round trip --------------------------------------------------------------------------


def test_round_trip(trained, saved):
    loaded = bc.Model.load(saved)
    assert type(loaded) is bc.Model
    for key in STATE_KEYS:
        np.testing.assert_array_equal(getattr(loaded, key), getattr(trained, key), err_msg=key)
        assert getattr(loaded, key).dtype == np.float64
    for key in HYPER:
        assert getattr(loaded, key) == getattr(trained, key), key
    assert repr(loaded) == repr(trained)
    if trained.optimizer == "momentum":
        assert np.any(loaded.v_w1)             # the state saved was not trivially zero
    else:
        assert loaded.t == 2 * 10 and np.any(loaded.s_w2)


def test_training_continues_identically_after_load(trained, saved, data):
    X, y = data
    loaded = bc.Model.load(saved)
    h1 = bc.train(trained, X, y, epochs=3, engine="numpy")
    h2 = bc.train(loaded, X, y, epochs=3, engine="numpy")
    assert h1 == h2
    for key in STATE_KEYS:
        np.testing.assert_array_equal(getattr(loaded, key), getattr(trained, key), err_msg=key)


def test_save_accepts_str_paths(tmp_path, trained):
    path = str(tmp_path / "model.npz")
    trained.save(path)
    np.testing.assert_array_equal(bc.Model.load(path).w2, trained.w2)


def test_saved_file_is_plain_arrays(saved):
    arrays = saved_arrays(saved)               # would raise if anything were pickled
    assert set(STATE_KEYS) <= set(arrays)
    assert all(a.dtype != object for a in arrays.values())


def test_round_trip_of_a_fresh_model_with_a_seed_sequence_seed(tmp_path):
    m = bc.Model((2, 3), seed=np.random.SeedSequence(1))
    m.save(tmp_path / "m.npz")
    loaded = bc.Model.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.w1, m.w1)
    assert loaded.seed is None


def test_round_trip_of_a_large_integer_seed(tmp_path):
    """A 128-bit seed, as np.random.SeedSequence().entropy gives, is a valid seed."""
    seed = 2 ** 100 + 7
    m = bc.Model((2, 3), seed=seed)
    m.save(tmp_path / "m.npz")
    loaded = bc.Model.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.w1, m.w1)


# -- refusal of bad files ---------------------------------------------------------------------


def test_refuses_a_corrupt_file(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(ValueError, match="cannot read a model"):
        bc.Model.load(path)


def test_refuses_a_text_file(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("w1 = [[1, 2]]\n")
    with pytest.raises(ValueError, match="cannot read a model"):
        bc.Model.load(path)


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.5, 0.99])
def test_refuses_a_truncated_file(tmp_path, saved, fraction):
    content = saved.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(content[:int(len(content) * fraction)])
    with pytest.raises(ValueError, match="cannot read a model"):
        bc.Model.load(cut)


def test_refuses_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read a model"):
        bc.Model.load(tmp_path / "nowhere.npz")


@pytest.mark.parametrize("missing", ["w3", "v_b1", "s_w2", "lr", "activation", "t"])
def test_refuses_a_file_missing_keys(tmp_path, saved, missing):
    arrays = saved_arrays(saved)
    del arrays[missing]
    path = tmp_path / "partial.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=rf"missing \['{missing}'\]"):
        bc.Model.load(path)


def test_refuses_a_pickled_object_array_inside_the_npz(tmp_path, saved):
    arrays = saved_arrays(saved)
    path = tmp_path / "pickled.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            if key == "w1":
                value = np.array([Payload(), Payload()], dtype=object)
            np.save(buffer, value, allow_pickle=True)
            archive.writestr(key + ".npy", buffer.getvalue())
    unpickled.clear()
    with pytest.raises(ValueError, match="pickled objects are refused"):
        bc.Model.load(path)
    assert not unpickled                       # nothing was unpickled on the way


def test_refuses_a_pickled_npy(tmp_path):
    path = tmp_path / "pickled.npy"
    np.save(path, np.array([Payload()], dtype=object), allow_pickle=True)
    unpickled.clear()
    with pytest.raises(ValueError, match="cannot read a model"):
        bc.Model.load(path)
    assert not unpickled


def test_refuses_a_plain_npy_array(tmp_path):
    """np.load returns a bare array (not an archive) for a .npy file: still a bad model file."""
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="model"):
        bc.Model.load(path)


@pytest.mark.parametrize("key, value", [
    ("w1", np.zeros((3, 3))),
    ("b2", np.zeros((4,))),
    ("v_w3", np.zeros((1, 4))),
    ("m_b3", np.zeros((1, 1, 1))),
])
def test_refuses_wrong_shapes(tmp_path, saved, key, value):
    arrays = saved_arrays(saved)
    arrays[key] = value
    path = tmp_path / "shapes.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=rf"array '{key}' has shape"):
        bc.Model.load(path)


def test_refuses_hidden_size_that_disagrees_with_the_weights(tmp_path, saved):
    arrays = saved_arrays(saved)
    arrays["hidden_size"] = np.array([4, 4])
    path = tmp_path / "hidden.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="has shape"):
        bc.Model.load(path)


def test_refuses_non_float_weights(tmp_path, saved):
    arrays = saved_arrays(saved)
    arrays["w2"] = np.array([["a"] * 4] * 3)
    path = tmp_path / "strings.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="dtype"):
        bc.Model.load(path)


@pytest.mark.parametrize("key, value, message", [
    ("activation", "softmax", r"invalid hyperparameters: activation must be one of"),
    ("lr", -1.0, r"invalid hyperparameters: lr must be a finite number"),
    ("lr", np.array([0.1, 0.2]), r"array 'lr' has shape \(2,\).*expected one number"),
    ("hidden_size", np.array(3), r"array 'hidden_size' has shape \(\).*expected two integers"),
    ("momentum", 1.5, r"invalid hyperparameters: momentum must be a finite number in \[0, 1\)"),
])
def test_refuses_invalid_hyperparameters(tmp_path, saved, key, value, message):
    arrays = saved_arrays(saved)
    arrays[key] = value
    path = tmp_path / "hyper.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message):
        bc.Model.load(path)


# -- refusal of incomplete dicts at writing ------------------------------------------------


@pytest.mark.parametrize("where, drop, add", [
    ("hyperparameters", "seed", None), ("hyperparameters", "hidden_size", None),
    ("arrays", "v_b2", None), ("arrays", "s_w3", None), ("arrays", "w1", "w4")])
def test_write_names_what_a_dict_is_missing_and_writes_nothing(tmp_path, saved, where, drop,
                                                               add):
    hyper, arrays = modelfile.read(saved)
    dicts = {"hyperparameters": hyper, "arrays": arrays}
    del dicts[where][drop]
    if add:
        dicts[where][add] = np.zeros(3)
    extra = rf" and has unknown keys \['{add}'\]" if add else ""
    target = tmp_path / "out.npz"
    with pytest.raises(ValueError, match=rf"^{where} is missing \['{drop}'\]{extra}; it must "
                                         r"have exactly the keys \(.*\)\. Pass both dicts"):
        modelfile.write(target, hyper, arrays, check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]   # no file, no temp


def test_write_refuses_a_non_dict(tmp_path, saved):
    hyper, arrays = modelfile.read(saved)
    with pytest.raises(TypeError, match=r"^arrays must be a dict with the keys .*got list"):
        modelfile.write(tmp_path / "out.npz", hyper, list(arrays.values()))
