"""ONNX export: the exported graph, run in onnxruntime, reproduces predict / predict_proba.
It does not test onnxruntime itself; without onnx or onnxruntime the export tests skip."""
import importlib
import io
import sys
import warnings

import numpy as np
import pytest

import fastmlp
from fastmlp import MLP, MLPClassifier, MLPRegressor, NotFittedError


def importable(name):
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


HAVE_ONNX = importable("onnx")
HAVE_ORT = importable("onnxruntime")
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="onnx is not installed "
                                "(pip install fastmlp[onnx])")
needs_ort = pytest.mark.skipif(not (HAVE_ONNX and HAVE_ORT),
                               reason="onnx and onnxruntime are needed to run exported models "
                               "(pip install fastmlp[onnx])")

ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu"]
DTYPES = ["float32", "float64"]


def tol(dtype):
    """What the issue asks: 1e-5 in float32, 1e-10 in float64."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-10


def session(proto):
    import onnxruntime as ort
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def run(proto, X):
    """{output name: array} for X."""
    sess = session(proto)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {"X": X})))


def fitted(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few epochs are enough here
        return model.fit(X, y)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(240, 7)
    W = rng.randn(7, 4)
    scores = X @ W
    return X, scores


def as_dtype(X, dtype):
    return np.ascontiguousarray(X, dtype=dtype)


def classifier_targets(scores, task, labels):
    idx3 = scores[:, :3].argmax(axis=1)
    if task == "multiclass":
        names = np.array(["ant", "bee", "cat"]) if labels == "str" else np.array([3, 7, 11])
        return names[idx3]
    if task == "binary":
        names = np.array(["no", "yes"]) if labels == "str" else np.array([-1, 1])
        return names[(scores[:, 0] > 0).astype(int)]
    return (scores[:, :3] > 0).astype(np.int64)  # multilabel


def check_classifier(model, X):
    out = run(model.to_onnx(), X)
    dtype = model.dtype
    proba = model.predict_proba(X)
    assert out["probabilities"].dtype == np.dtype(dtype)
    np.testing.assert_allclose(out["probabilities"], proba, rtol=0, atol=tol(dtype))
    pred = model.predict(X)
    label = out["label"]
    if pred.dtype.kind in "UO":
        assert label.tolist() == pred.tolist()
    else:
        assert label.shape == pred.shape
        np.testing.assert_array_equal(label, pred)
    return out


# ---- classifiers: every activation x dtype x target kind --------------------------------

@needs_ort
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("task,labels", [("multiclass", "int"), ("multiclass", "str"),
                                         ("binary", "int"), ("binary", "str"),
                                         ("multilabel", "int")])
def test_classifier_matches_predict_proba(data, activation, dtype, task, labels):
    X, scores = data
    X = as_dtype(X, dtype)
    y = classifier_targets(scores, task, labels)
    model = fitted(MLPClassifier((9, 6), activation=activation, dtype=dtype, max_iter=25,
                                 learning_rate_init=0.01, random_state=0), X, y)
    out = check_classifier(model, X)
    if task == "multilabel":
        assert out["label"].dtype == np.int64 and out["label"].shape == (len(X), 3)
    elif labels == "str":
        assert out["label"].dtype == object
    if task == "binary":
        assert out["probabilities"].shape == (len(X), 2)


@needs_ort
@pytest.mark.parametrize("classes", [np.array([0.0, 2.0, 5.0]), np.array([False, True]),
                                     np.array([10, 20], dtype=np.uint8)],
                         ids=["float", "bool", "uint8"])
def test_numeric_label_types_are_kept(data, classes):
    X, scores = data
    k = len(classes)
    y = classes[scores[:, :k].argmax(axis=1)]
    model = fitted(MLPClassifier((8,), max_iter=20, random_state=1), as_dtype(X, "float32"), y)
    out = check_classifier(model, as_dtype(X, "float32"))
    assert out["label"].dtype == model.classes_.dtype


@needs_ort
@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_independent_sigmoids_are_normalised(data, dtype):
    """3 classes with binary cross-entropy: predict_proba normalises the sigmoids per row."""
    X, scores = data
    X = as_dtype(X, dtype)
    y = classifier_targets(scores, "multiclass", "str")
    model = fitted(MLP((8,), activation="tanh", loss="binary_cross_entropy", dtype=dtype,
                       max_iter=20, random_state=0), X, y)
    assert model.out_activation_ == "logistic" and model.n_outputs_ == 3
    out = check_classifier(model, X)
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, atol=tol(dtype) * 10)


@needs_ort
@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_softmax_with_squared_error(data, dtype):
    X, scores = data
    X = as_dtype(X, dtype)
    y = classifier_targets(scores, "multiclass", "int")
    model = fitted(MLP((8,), loss="squared_error", output_activation="softmax", dtype=dtype,
                       max_iter=20, random_state=0), X, y)
    check_classifier(model, X)


@needs_ort
@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel"])
def test_identity_output_classifier_exports_scores(data, task):
    """No probabilities without a probability output: label and the raw scores instead."""
    X, scores = data
    X = as_dtype(X, "float64")
    y = classifier_targets(scores, task, "str")
    model = fitted(MLP((8,), loss="squared_error", output_activation="identity",
                       dtype="float64", max_iter=20, random_state=0), X, y)
    assert not hasattr(model, "predict_proba")
    out = run(model.to_onnx(), X)
    assert set(out) == {"label", "scores"}
    np.testing.assert_allclose(out["scores"], model._engine.forward(X), rtol=0, atol=1e-10)
    pred = model.predict(X)
    assert out["label"].shape == pred.shape
    assert out["label"].tolist() == pred.tolist()


# ---- regressors -------------------------------------------------------------------------

@needs_ort
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("task", ["single", "multi", "poisson"])
def test_regressor_matches_predict(data, activation, dtype, task):
    X, scores = data
    X = as_dtype(X, dtype)
    if task == "single":
        y, model = scores[:, 0], MLPRegressor(hidden_layer_sizes=(9, 6))
    elif task == "multi":
        y, model = scores[:, :3], MLPRegressor(hidden_layer_sizes=(9, 6))
    else:
        y = np.random.RandomState(2).poisson(np.exp(0.3 * scores[:, 0])).astype(float)
        model = MLPRegressor(loss="poisson", hidden_layer_sizes=(9, 6))
    model.set_params(activation=activation, dtype=dtype, max_iter=25, learning_rate_init=0.01,
                     random_state=0)
    fitted(model, X, y)
    pred = model.predict(X)
    out = run(model.to_onnx(), X)
    assert list(out) == ["predictions"]
    got = out["predictions"]
    assert got.shape == pred.shape and got.dtype == np.dtype(dtype)
    t = tol(dtype)
    np.testing.assert_allclose(got, pred, rtol=t, atol=t)


@needs_ort
def test_mlp_regression_keeps_2d_single_output(data):
    """MLP keeps a (n, 1) prediction for a (n, 1) target fitted with loss='squared_error'."""
    X, scores = data
    X = as_dtype(X, "float64")
    model = fitted(MLP((6,), dtype="float64", max_iter=10, random_state=0), X, scores[:, :1])
    pred = model.predict(X)
    got = run(model.to_onnx(), X)["predictions"]
    assert got.shape == pred.shape
    np.testing.assert_allclose(got, pred, rtol=1e-10, atol=1e-10)


# ---- input scaling ----------------------------------------------------------------------

@needs_ort
@pytest.mark.parametrize("dtype", DTYPES)
def test_input_scaling_is_exported_when_present(data, dtype):
    """scaler_mean_ / scaler_scale_ (set by hand here) become Sub and Div before the first Gemm."""
    X, scores = data
    rng = np.random.RandomState(3)
    mean, scale = rng.uniform(-5, 5, X.shape[1]), rng.uniform(0.5, 20, X.shape[1])
    raw = as_dtype(X * scale + mean, dtype)  # what a user would pass to a standardizing model
    Xs = as_dtype(X, dtype)
    y = classifier_targets(scores, "multiclass", "str")
    model = fitted(MLPClassifier((8,), dtype=dtype, max_iter=20, random_state=0), Xs, y)
    # What the network gives on inputs scaled in the model's dtype, before the model has the
    # attributes (so this stays right once the estimator scales inputs itself).
    scaled = (raw - mean.astype(dtype)) / scale.astype(dtype)
    expected = model.predict_proba(scaled)
    expected_label = model.predict(scaled)
    model.scaler_mean_, model.scaler_scale_ = mean, scale
    proto = model.to_onnx()
    assert [n.op_type for n in proto.graph.node][:3] == ["Sub", "Div", "Gemm"]
    out = run(proto, raw)
    np.testing.assert_allclose(out["probabilities"], expected, rtol=0, atol=tol(dtype))
    assert out["label"].tolist() == expected_label.tolist()


@needs_onnx
def test_input_scaling_shape_is_checked(data):
    X, scores = data
    model = fitted(MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X, scores[:, 0])
    model.scaler_mean_, model.scaler_scale_ = np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match=r"scaler_mean_ must have shape \(7,\)"):
        model.to_onnx()


@needs_ort
@pytest.mark.parametrize("dtype", DTYPES)
def test_standardize_option_is_exported(data, dtype):
    if "standardize" not in MLPClassifier().get_params():
        pytest.skip("this fastmlp has no standardize option (MLPClassifier(standardize=True))")
    X, scores = data
    raw = as_dtype(X * np.arange(1, 8) * 10 + 100, dtype)
    y = classifier_targets(scores, "multiclass", "int")
    model = fitted(MLPClassifier((8,), standardize=True, dtype=dtype, max_iter=20,
                                 random_state=0), raw, y)
    proto = model.to_onnx()
    ops = [n.op_type for n in proto.graph.node]
    assert ops.index("Gemm") >= 1, f"no input scaling before the first Gemm: {ops}"
    check_classifier(model, raw)


# ---- the graph, the file, the API --------------------------------------------------------

@needs_onnx
def test_classifier_graph_and_versions(data):
    import onnx
    from onnx import TensorProto
    X, scores = data
    y = classifier_targets(scores, "multiclass", "str")
    model = fitted(MLPClassifier((8, 5), max_iter=5, random_state=0), X, y)
    proto = model.to_onnx()
    onnx.checker.check_model(proto, full_check=True)
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Relu", "Gemm",
                                                     "Softmax", "ArgMax", "Gather"]
    assert [o.domain or "" for o in proto.opset_import] == [""]
    assert proto.opset_import[0].version == 17 and proto.ir_version == 8
    (x,) = proto.graph.input
    assert x.name == "X" and x.type.tensor_type.elem_type == TensorProto.FLOAT
    dims = x.type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 7
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    assert proto.graph.output[0].type.tensor_type.elem_type == TensorProto.STRING
    gemm = proto.graph.node[0]
    assert {a.name: a.i for a in gemm.attribute} == {"transB": 1}
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(weights[gemm.input[1]], model.coefs_[0].T)
    np.testing.assert_array_equal(weights[gemm.input[2]], model.intercepts_[0])
    assert proto.producer_name == "fastmlp"


@needs_ort
@pytest.mark.parametrize("opset", [13, 18, 21])
def test_other_opsets(data, opset):
    from onnx import helper
    X, scores = data
    X = as_dtype(X, "float32")
    model = fitted(MLPClassifier((6,), activation="leaky_relu", max_iter=5, random_state=0), X,
                   classifier_targets(scores, "binary", "int"))
    proto = model.to_onnx(opset=opset)
    assert proto.opset_import[0].version == opset
    assert proto.ir_version == helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    check_classifier(model, X)


@needs_onnx
def test_bad_opset(data):
    X, scores = data
    model = fitted(MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X, scores[:, 0])
    with pytest.raises(ValueError, match="opset must be between 13 and"):
        model.to_onnx(opset=12)
    with pytest.raises(TypeError, match="opset must be an int"):
        model.to_onnx(opset="17")


@needs_onnx
def test_file_written_equals_returned_proto(data, tmp_path):
    import onnx
    X, scores = data
    model = fitted(MLPClassifier((5,), max_iter=5, random_state=0), X,
                   classifier_targets(scores, "binary", "str"))
    path = tmp_path / "model.onnx"
    proto = fastmlp.to_onnx(model, path)
    assert path.read_bytes() == proto.SerializeToString()
    assert onnx.load(str(path)) == proto
    assert model.to_onnx(str(tmp_path / "again.onnx")) == proto  # method and function agree
    buffer = io.BytesIO()
    model.to_onnx(buffer)
    assert buffer.getvalue() == proto.SerializeToString()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@needs_onnx
def test_feature_names_in_metadata(data):
    pd = pytest.importorskip("pandas")
    X, scores = data
    frame = pd.DataFrame(X, columns=[f"f,{i}" for i in range(X.shape[1])])
    model = fitted(MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), frame, scores[:, 0])
    props = {p.key: p.value for p in model.to_onnx().metadata_props}
    assert props["estimator"] == "MLPRegressor" and props["dtype"] == "float32"
    import json
    assert json.loads(props["feature_names"]) == list(frame.columns)


@needs_ort
def test_assigned_weights_and_loaded_models_export_what_predict_uses(data, tmp_path):
    X, scores = data
    X = as_dtype(X, "float32")
    model = fitted(MLPClassifier((6,), max_iter=5, random_state=0), X,
                   classifier_targets(scores, "multiclass", "str"))
    model.coefs_ = [c * 2 for c in model.coefs_]  # a user edit: predict syncs it, so must export
    check_classifier(model, X)
    fastmlp.save(model, tmp_path / "m.fmlp")
    loaded = fastmlp.load(tmp_path / "m.fmlp")
    check_classifier(loaded, X)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, MLP])
def test_unfitted_model_is_refused(cls):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        cls().to_onnx()
    with pytest.raises(NotFittedError):
        fastmlp.to_onnx(cls())


def test_only_fastmlp_estimators():
    with pytest.raises(TypeError, match="fastmlp estimators"):
        fastmlp.to_onnx(object())


def test_missing_onnx_names_the_extra(data, monkeypatch):
    X, scores = data
    model = fitted(MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X, scores[:, 0])
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` fail
    with pytest.raises(ImportError, match=r"pip install fastmlp\[onnx\]"):
        model.to_onnx()
