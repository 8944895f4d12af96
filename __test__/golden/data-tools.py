"""Independent reference values for backprop's metrics and scalers, computed with numpy.

Run from the repository root:  python3 __test__/golden/data-tools.py > __test__/golden/data-tools.json
The inputs are drawn here with numpy's own generator and stored in the JSON beside the answers,
so the TypeScript tests compute on exactly these inputs and compare.
"""
import json

import numpy as np

rng = np.random.default_rng(20240607)


def classification_case(n, classes, never_predicted=None):
    y_true = rng.integers(0, classes, n)
    # Mostly right, sometimes a random class: a realistic confusion.
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, classes, n))
    if never_predicted is not None:
        y_pred = np.where(y_pred == never_predicted, (never_predicted + 1) % classes, y_pred)
    logits = rng.normal(size=(n, classes)) + 2.0 * np.eye(classes)[y_true]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    cm = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    weights = support / support.sum()
    eps = 1e-15
    p_true = np.clip(probs[np.arange(n), y_true], eps, 1 - eps)
    return {
        "classes": classes,
        "yTrue": y_true.tolist(),
        "yPred": y_pred.tolist(),
        "probabilities": probs.tolist(),
        "accuracy": float((y_true == y_pred).mean()),
        "confusion": cm.tolist(),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.astype(int).tolist(),
        "macro": {"precision": precision.mean(), "recall": recall.mean(), "f1": f1.mean()},
        "weighted": {
            "precision": float((precision * weights).sum()),
            "recall": float((recall * weights).sum()),
            "f1": float((f1 * weights).sum()),
        },
        "logLoss": float(-np.log(p_true).mean()),
    }


def binary_log_loss_case(n):
    y_true = rng.integers(0, 2, n)
    p1 = rng.random(n)
    p1[0] = 0.0  # clipped: a confident mistake or a certain hit
    p1[1] = 1.0
    p_true = np.clip(np.where(y_true == 1, p1, 1 - p1), 1e-15, 1 - 1e-15)
    return {"yTrue": y_true.tolist(), "p1": p1.tolist(), "logLoss": float(-np.log(p_true).mean())}


def regression_case(n, outputs):
    y_true = rng.normal(size=(n, outputs)) * 3 + 1
    y_pred = y_true + rng.normal(size=(n, outputs)) * 0.8
    # The library holds values as float32: give it exactly representable ones, and score those.
    y_true = y_true.astype(np.float32).astype(float)
    y_pred = y_pred.astype(np.float32).astype(float)
    return {"yTrue": y_true.tolist(), "yPred": y_pred.tolist(), **scores(y_true, y_pred)}


def scores(y_true, y_pred):
    r2_each = 1 - ((y_true - y_pred) ** 2).sum(axis=0) / ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    return {
        "mse": float(((y_true - y_pred) ** 2).mean()),
        "mae": float(np.abs(y_true - y_pred).mean()),
        "r2": float(r2_each.mean()),
    }


def scaler_case(n, features):
    x = (rng.normal(size=(n, features)) * rng.uniform(0.5, 20, features) + rng.uniform(-50, 50, features)).astype(np.float32)
    x[:, -1] = 7.0  # a constant feature: scale 1, as scikit-learn
    xd = x.astype(float)
    mean = xd.mean(axis=0)
    std = xd.std(axis=0)  # population (ddof = 0)
    std[std == 0] = 1.0
    lo, hi = -1.0, 1.0
    dmin, dmax = xd.min(axis=0), xd.max(axis=0)
    rng_ = dmax - dmin
    rng_[rng_ == 0] = 1.0
    scale = (hi - lo) / rng_
    return {
        "x": xd.tolist(),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "standardized": ((xd - mean) / std).tolist(),
        "featureRange": [lo, hi],
        "minMax": (xd * scale + (lo - dmin * scale)).tolist(),
    }


print(
    json.dumps(
        {
            "multiclass": classification_case(120, 4),
            "neverPredicted": classification_case(60, 3, never_predicted=2),
            "binaryLogLoss": binary_log_loss_case(40),
            "regression1": regression_case(80, 1),
            "regression3": regression_case(50, 3),
            "scaler": scaler_case(64, 5),
        },
        separators=(",", ":"),
    )
)
