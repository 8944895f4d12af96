"""Float64 reference for two optimizer steps, written from the update rules (not from the library's
code), for every optimizer the library has, each without clipping and with each form of clipping.

Run: python3 __test__/golden/optimizers.py > __test__/golden/optimizers.json

Rules (Keras conventions, with ε added outside the square root as the library documents it; Keras 3
puts ε inside the root for RMSprop and Adagrad):
  clipping    per variable (Keras's clipnorm): each variable's part g_k ← g_k·c/‖g_k‖ when ‖g_k‖ > c;
              or global (global_clipnorm): g ← g·c/‖g‖ when ‖g‖ > c; then each component clamped
              to [−v, v]. The five parameters are two variables: [0, 3) and [3, 5).
  SGD         w ← w − lr·g;  momentum: u ← μu − lr·g, w ← w + u;  Nesterov: w ← w + μu − lr·g
  AdaGrad     a ← a + g²;  w ← w − lr·g/(√a + ε)
  RMSProp     s ← ρs + (1−ρ)g²;  centred: ḡ ← ρḡ + (1−ρ)g, d = √(s − ḡ²) + ε, else d = √s + ε;
              momentum: m ← μm + lr·g/d, w ← w − m;  else w ← w − lr·g/d
  Adam        m ← β1m + (1−β1)g;  v ← β2v + (1−β2)g²;  m̂ = m/(1−β1^t), v̂ = v/(1−β2^t);
              w ← w − lr·m̂/(√v̂ + ε/√(1−β2^t)), which is Keras's form
              w ← w − lr·√(1−β2^t)/(1−β1^t)·m/(√v + ε) rewritten with the bias-corrected moments
  AdamW       w ← w − lr·λ·w first (decoupled decay), then the Adam step
"""
import json
import numpy as np

W0 = np.array([0.5, -1.2, 2.0, -0.3, 0.05])
GRADS = [
    np.array([0.3, -0.8, 1.5, 0.02, -0.4]),   # ‖g‖ ≈ 1.772
    np.array([-0.2, 0.6, 1.1, -0.05, 0.3]),   # ‖g‖ ≈ 1.305
]

# Hyper-parameters are deliberately not the defaults, and ε is large enough (1e-2) that putting
# it inside or outside the square root changes the result far beyond the tolerance.
OPTIMIZERS = {
    "sgd": {"class": "SGD", "options": {"learningRate": 0.1}},
    "sgdMomentum": {"class": "SGD", "options": {"learningRate": 0.1, "momentum": 0.9}},
    "sgdNesterov": {"class": "SGD", "options": {"learningRate": 0.1, "momentum": 0.9, "nesterov": True}},
    "adagrad": {"class": "AdaGrad", "options": {"learningRate": 0.1, "initialAccumulatorValue": 0.2, "epsilon": 1e-2}},
    "rmsprop": {"class": "RMSProp", "options": {"learningRate": 0.01, "rho": 0.8, "epsilon": 1e-2}},
    "rmspropMomentum": {"class": "RMSProp", "options": {"learningRate": 0.01, "rho": 0.8, "momentum": 0.7, "epsilon": 1e-2}},
    "rmspropCentered": {"class": "RMSProp", "options": {"learningRate": 0.01, "rho": 0.8, "epsilon": 1e-2, "centered": True}},
    "rmspropCenteredMomentum": {"class": "RMSProp", "options": {"learningRate": 0.01, "rho": 0.8, "momentum": 0.7, "epsilon": 1e-2, "centered": True}},
    "adam": {"class": "Adam", "options": {"learningRate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-2}},
    "adamw": {"class": "AdamW", "options": {"learningRate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-2, "weightDecay": 0.3}},
}

VARIABLES = [(0, 3), (3, 5)]

CLIPS = {
    "none": {},
    "globalNormAbove": {"globalClipNorm": 1.0},    # both steps' norms exceed 1: rescaled
    "globalNormBelow": {"globalClipNorm": 5.0},    # neither exceeds 5: unchanged
    "value": {"clipValue": 0.5},                   # clamps −0.8, 1.5 (step 1) and 0.6, 1.1 (step 2)
    "globalNormThenValue": {"globalClipNorm": 1.0, "clipValue": 0.5},  # value-then-norm would differ
    "norm": {"clipNorm": 1.0},                     # the first variable (norms 1.73, 1.27) is rescaled, the second (0.40, 0.30) not
    "normThenValue": {"clipNorm": 1.0, "clipValue": 0.5},
}


def clip(g, o):
    g = g.copy()
    if "clipNorm" in o:
        for start, end in VARIABLES:
            norm = np.sqrt(np.sum(g[start:end] ** 2))
            if norm > o["clipNorm"]:
                g[start:end] = g[start:end] * (o["clipNorm"] / norm)
    if "globalClipNorm" in o:
        norm = np.sqrt(np.sum(g * g))
        if norm > o["globalClipNorm"]:
            g = g * (o["globalClipNorm"] / norm)
    if "clipValue" in o:
        g = np.clip(g, -o["clipValue"], o["clipValue"])
    return g


def initial_state(cls, o):
    n = W0.size
    if cls == "SGD":
        return {"velocity": np.zeros(n)} if o.get("momentum", 0) > 0 else {}
    if cls == "AdaGrad":
        return {"accumulator": np.full(n, o["initialAccumulatorValue"])}
    if cls == "RMSProp":
        s = {"meanSquare": np.zeros(n)}
        if o.get("momentum", 0) > 0:
            s["momentum"] = np.zeros(n)
        if o.get("centered", False):
            s["meanGradient"] = np.zeros(n)
        return s
    return {"m": np.zeros(n), "v": np.zeros(n)}


def update(cls, o, w, g, s, t):
    lr = o["learningRate"]
    if cls == "SGD":
        mu = o.get("momentum", 0)
        if mu == 0:
            return w - lr * g
        s["velocity"] = mu * s["velocity"] - lr * g
        return w + (mu * s["velocity"] - lr * g if o.get("nesterov") else s["velocity"])
    if cls == "AdaGrad":
        s["accumulator"] = s["accumulator"] + g * g
        return w - lr * g / (np.sqrt(s["accumulator"]) + o["epsilon"])
    if cls == "RMSProp":
        rho = o["rho"]
        s["meanSquare"] = rho * s["meanSquare"] + (1 - rho) * g * g
        if o.get("centered"):
            s["meanGradient"] = rho * s["meanGradient"] + (1 - rho) * g
            d = np.sqrt(s["meanSquare"] - s["meanGradient"] ** 2) + o["epsilon"]
        else:
            d = np.sqrt(s["meanSquare"]) + o["epsilon"]
        if o.get("momentum", 0) > 0:
            s["momentum"] = o["momentum"] * s["momentum"] + lr * g / d
            return w - s["momentum"]
        return w - lr * g / d
    # Adam / AdamW, written with the bias-corrected moments m̂, v̂ (the library uses α_t instead).
    b1, b2, eps = o["beta1"], o["beta2"], o["epsilon"]
    w = w - lr * o.get("weightDecay", 0) * w
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1 ** t)
    v_hat = s["v"] / (1 - b2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2 ** t))


cases = []
for name, spec in OPTIMIZERS.items():
    for clip_name, clip_options in CLIPS.items():
        cls, o = spec["class"], spec["options"]
        w, s = W0.copy(), initial_state(cls, o)
        steps = []
        for t, raw in enumerate(GRADS, start=1):
            g = clip(raw, clip_options)
            w = update(cls, o, w, g, s, t)
            steps.append({
                "sumSquares": float(np.sum(raw * raw)),
                "clippedGradient": g.tolist(),
                "params": w.tolist(),
                "slots": {k: v.tolist() for k, v in s.items()},
            })
        cases.append({
            "name": f"{name}/{clip_name}",
            "class": cls,
            "options": {**o, **clip_options},
            "initialSlots": {k: v.tolist() for k, v in initial_state(cls, o).items()},
            "steps": steps,
        })

print(json.dumps({"params": W0.tolist(), "variables": VARIABLES, "gradients": [g.tolist() for g in GRADS], "cases": cases}, indent=1))
