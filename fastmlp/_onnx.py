"""ONNX export: a fitted fastmlp estimator as a standard ONNX graph (Gemm + activation nodes).
It deliberately never imports onnx before an export is asked for, and never converts training state.

The graph is written with the ``onnx`` package's helper API (the ``onnx``
extra: ``pip install fastmlp[onnx]``) and reproduces ``predict`` /
``predict_proba`` of the model it came from:

- input ``X``: float [N, n_features] in the model's dtype (float32 or float64);
- input scaling when the model has it (``scaler_mean_`` / ``scaler_scale_``:
  ``(X - mean) / scale`` as Sub and Div, the same operations as the estimator);
- per layer ``Gemm(X, W, b, transB=1)`` with W stored (fan_out, fan_in) as in
  the engine, then the hidden activation (Relu, Sigmoid, Tanh, LeakyRelu;
  identity adds nothing; a float64 model whose leaky slope float32 cannot hold
  exactly uses PRelu with a float64 slope instead, as LeakyRelu's alpha is a
  float32 attribute);
- classifiers: ``probabilities`` (Softmax axis=1, or Sigmoid; a binary model
  gives the two columns [1 - p, p] of predict_proba; independent sigmoids over
  several classes are normalised exactly as predict_proba does) and ``label``
  (the index that predict picks, ArgMax or p > 0.5, mapped to ``classes_``
  through a Gather on a constant tensor: numbers stay numbers, strings give a
  string tensor). Multilabel models give ``label`` as an int64 0/1 indicator
  matrix (p > 0.5). A classifier with an identity output has no probabilities:
  it gives ``label`` and its raw ``scores``;
- regressors: ``predictions`` (identity, or Exp for the Poisson output),
  shaped (N,) when predict returns one dimension and (N, n_outputs) otherwise.

Opset 17 (ONNX 1.12, IR version 8) by default: every operator above has had
its current definition since opset 13-16, and 17 is read by every maintained
runtime (onnxruntime >= 1.12, OpenVINO, TensorRT 8.6, ...). ``opset`` may be
anything from 13 up to what the installed onnx knows; the IR version is the
lowest one that carries that opset, so older runtimes can load the file.
"""
import json
import os
import tempfile

import numpy as np

DEFAULT_OPSET = 17
MIN_OPSET = 13  # Softmax with a single axis, ReduceSum with axes as an input

_HIDDEN_OPS = {"relu": "Relu", "logistic": "Sigmoid", "tanh": "Tanh", "leaky_relu": "LeakyRelu"}


def _import_onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("ONNX export needs the onnx package, which is not installed: run "
                          "pip install fastmlp[onnx] (or pip install onnx)") from None
    return onnx, helper, numpy_helper


def _check_opset(opset, onnx):
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int, got {opset!r}")
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(f"opset must be between {MIN_OPSET} and {newest} (the newest this onnx "
                         f"{onnx.__version__} knows), got {opset}")
    return int(opset)


class _Graph:
    """Nodes and initializers under construction, with unique names."""

    def __init__(self, helper, numpy_helper, dtype):
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, np.dtype(dtype)
        self.nodes, self.initializers, self._used = [], [], set()

    def name(self, base):
        name, i = base, 1
        while name in self._used:
            i += 1
            name = f"{base}_{i}"
        self._used.add(name)
        return name

    def const(self, base, value, dtype=None):
        """An initializer; strings become a STRING tensor."""
        name = self.name(base)
        a = np.asarray(value)
        if a.dtype.kind in "USO":
            from onnx import TensorProto
            flat = [str(v).encode("utf-8") for v in a.ravel().tolist()]
            tensor = self.helper.make_tensor(name, TensorProto.STRING, a.shape, flat)
        else:
            a = np.ascontiguousarray(a, dtype=dtype if dtype is not None else a.dtype)
            tensor = self.numpy_helper.from_array(a, name)
        self.initializers.append(tensor)
        return name

    def node(self, op, inputs, base=None, **attrs):
        out = self.name(base or op.lower())
        self.nodes.append(self.helper.make_node(op, list(inputs), [out],
                                                name=self.name(f"{op}_node"), **attrs))
        return out

    def expose(self, tensor, name, elem_type, shape):
        """Rename a node output to a graph output name; returns its value info."""
        if name in self._used:
            raise AssertionError(f"output name {name!r} is taken")
        self._used.add(name)
        for node in self.nodes:
            for seq in (node.input, node.output):
                for j, v in enumerate(seq):
                    if v == tensor:
                        seq[j] = name
        return self.helper.make_tensor_value_info(name, elem_type, shape)


def _scaling(model, dtype):
    """(mean or None, scale or None) when the model standardizes its inputs."""
    mean = getattr(model, "scaler_mean_", None)
    scale = getattr(model, "scaler_scale_", None)
    n = model.n_features_in_
    out = []
    for what, value in (("scaler_mean_", mean), ("scaler_scale_", scale)):
        if value is None:
            out.append(None)
            continue
        a = np.asarray(value, dtype=np.float64)
        if a.shape != (n,):
            raise ValueError(f"{what} must have shape ({n},) to export the input scaling, got "
                             f"{a.shape}")
        out.append(a.astype(dtype))
    return tuple(out)


def _label_info(classes):
    """(ONNX element type, constant array) for a Gather over classes_."""
    from onnx import TensorProto, helper
    c = np.asarray(classes)
    if c.dtype.kind in "USO":
        return TensorProto.STRING, np.array([str(v) for v in c.tolist()], dtype=object)
    return helper.np_dtype_to_tensor_dtype(c.dtype), c


def build(model, *, opset=None, name=None):
    """The ModelProto of a fitted estimator (see the module docstring)."""
    model._check_is_fitted()
    onnx, helper, numpy_helper = _import_onnx()
    from . import __version__
    model._sync_params()  # user-assigned coefs_/intercepts_ are what predict uses
    opset = _check_opset(opset, onnx)
    config, spec = model._engine_config, model._spec
    dtype = np.dtype(config["dtype"])
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    g = _Graph(helper, numpy_helper, dtype)
    n_features = int(model.n_features_in_)

    x = g.name("X")
    inputs = [helper.make_tensor_value_info(x, elem, ["N", n_features])]

    # -- input scaling ----------------------------------------------------------------------
    mean, scale = _scaling(model, dtype)
    if mean is not None:
        x = g.node("Sub", [x, g.const("scaler_mean", mean)], "X_centered")
    if scale is not None:
        x = g.node("Div", [x, g.const("scaler_scale", scale)], "X_scaled")

    # -- layers ----------------------------------------------------------------------------
    hidden = config["hidden_activation"]
    n_layers = len(model.coefs_)
    h = x
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        w_name = g.const(f"coef_{i}", np.asarray(W).T, dtype)  # (fan_out, fan_in): transB=1
        b_name = g.const(f"intercept_{i}", b, dtype)
        h = g.node("Gemm", [h, w_name, b_name], f"layer_{i}", transB=1)
        if i < n_layers - 1 and hidden != "identity":
            h = _hidden(g, h, hidden, float(config["slope"]), dtype, i)

    # -- output ----------------------------------------------------------------------------
    output = spec["output"]
    if output == "softmax":
        out = g.node("Softmax", [h], "out", axis=1)
    elif output == "logistic":
        out = g.node("Sigmoid", [h], "out")
    elif output == "exp":
        out = g.node("Exp", [h], "out")
    else:
        out = h
    n_out = int(spec["n_outputs"])
    if spec["task"] == "regression":
        if n_out == 1 and spec["y_ndim"] == 1:
            out = g.node("Reshape", [out, g.const("shape_flat", np.array([-1], np.int64))])
            shape = ["N"]
        else:
            shape = ["N", n_out]
        outputs = [g.expose(out, "predictions", elem, shape)]
    else:
        outputs = _classifier_outputs(g, model, out, spec, dtype, elem)

    graph = helper.make_graph(g.nodes, name or f"fastmlp_{type(model).__name__}", inputs,
                              outputs, initializer=g.initializers)
    opset_id = helper.make_opsetid("", opset)
    proto = helper.make_model(graph, opset_imports=[opset_id], producer_name="fastmlp",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for([opset_id]))
    proto.doc_string = (f"{type(model).__name__} exported by fastmlp {__version__}: "
                        f"layers {list(config['layer_sizes'])}, activation {hidden!r}, output "
                        f"{output!r}, dtype {dtype.name}")
    meta = {"estimator": type(model).__name__, "dtype": dtype.name}
    names = model.__dict__.get("feature_names_in_")
    if names is not None:
        meta["feature_names"] = json.dumps([str(s) for s in names])
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _classifier_outputs(g, model, out, spec, dtype, elem):
    """label (and probabilities, or scores for an identity output) from the output layer."""
    from onnx import TensorProto
    kind, output, n_out = spec["kind"], spec["output"], int(spec["n_outputs"])
    half = np.array(0.5, dtype)
    if kind == "multilabel":
        above = g.node("Greater", [out, g.const("half", half)], "above")
        label = g.node("Cast", [above], to=TensorProto.INT64)
        exposed = [g.expose(label, "label", TensorProto.INT64, ["N", n_out])]
        proba = out
    else:
        if kind == "binary":  # predict: classes_[p > 0.5]
            p = g.node("Reshape", [out, g.const("shape_flat", np.array([-1], np.int64))], "p")
            above = g.node("Greater", [p, g.const("half", half)], "above")
            index = g.node("Cast", [above], "class_index", to=TensorProto.INT64)
        else:  # predict: classes_[argmax] (the first maximum, as NumPy)
            index = g.node("ArgMax", [out], "class_index", axis=1, keepdims=0)
        label_type, label_values = _label_info(model.classes_)
        label = g.node("Gather", [g.const("classes", label_values), index], axis=0)
        exposed = [g.expose(label, "label", label_type, ["N"])]
        proba = out
        if output == "identity":
            pass
        elif kind == "binary":  # predict_proba: [1 - p, p]
            q = g.node("Sub", [g.const("one", np.array(1.0, dtype)), out], "one_minus_p")
            proba = g.node("Concat", [q, out], axis=1)
        elif output == "logistic":  # independent sigmoids, normalised as predict_proba does
            proba = _normalised(g, out, len(model.classes_), dtype)
    if output == "identity":  # no probabilities: the raw outputs
        exposed.append(g.expose(out, "scores", elem, ["N", n_out]))
    else:
        n_cols = 2 if kind == "binary" else n_out
        exposed.append(g.expose(proba, "probabilities", elem, ["N", n_cols]))
    return exposed


def _hidden(g, h, activation, slope, dtype, i):
    if activation != "leaky_relu":
        return g.node(_HIDDEN_OPS[activation], [h], f"hidden_{i}")
    if dtype == np.float64 and float(np.float32(slope)) != slope:
        # LeakyRelu's alpha is a float32 attribute: 0.01 would become 0.0099999998 and
        # move float64 outputs by ~1e-10. PRelu takes the slope as a float64 tensor.
        return g.node("PRelu", [h, g.const("leaky_slope", np.array([slope], dtype))],
                      f"hidden_{i}")
    return g.node("LeakyRelu", [h], f"hidden_{i}", alpha=slope)


def _normalised(g, out, n_classes, dtype):
    """out / row sum where the sum is > 0, else 1 / n_classes (as predict_proba)."""
    total = g.node("ReduceSum", [out, g.const("axis_1", np.array([1], np.int64))], "total",
                   keepdims=1)
    positive = g.node("Greater", [total, g.const("zero", np.array(0.0, dtype))], "positive")
    safe = g.node("Where", [positive, total, g.const("one_", np.array(1.0, dtype))], "safe_total")
    ratio = g.node("Div", [out, safe], "ratio")
    return g.node("Where", [positive, ratio, g.const("uniform", np.array(1.0 / n_classes, dtype))],
                  "proba")


def to_onnx(model, path=None, *, opset=None, name=None):
    """Export a fitted fastmlp estimator to ONNX; returns the ``onnx.ModelProto``.

    ``path``: a file name or a binary file object to write the model to (the
    file is written atomically), or None to only return it. ``opset``: the ONNX
    opset (default 17). ``name``: the graph name. Serve the file with any ONNX
    runtime, e.g. ``onnxruntime.InferenceSession(path).run(None, {"X": X})``:
    outputs ``label`` and ``probabilities`` for classifiers (``scores``
    instead of probabilities for an identity output), ``predictions`` for
    regressors. Needs the ``onnx`` package (``pip install fastmlp[onnx]``).
    """
    from .estimators import _BaseMLP

    if not isinstance(model, _BaseMLP):
        raise TypeError(f"to_onnx exports fastmlp estimators (MLPClassifier, MLPRegressor, MLP), "
                        f"got {type(model).__name__}")
    proto = build(model, opset=opset, name=name)
    if path is not None:
        data = proto.SerializeToString()
        if hasattr(path, "write"):
            path.write(data)
        else:
            path = os.fspath(path)
            folder = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".onnx.tmp", dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(tmp, 0o644)  # mkstemp's 0600 would surprise whoever serves the file
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
    return proto
