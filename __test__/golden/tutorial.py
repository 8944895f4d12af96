"""Float64 reference for the tutorial's 2-3-2 network (sigmoid hidden layer, softmax output,
mean categorical cross-entropy, Z = X·W + b). Written from the definitions, independent of the
library. Run: python3 __test__/golden/tutorial.py > __test__/golden/tutorial.json"""
import json
import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
Y = np.array([[0, 1], [1, 0], [1, 0], [0, 1]], dtype=np.float64)
W1 = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
b1 = np.array([0.7, 0.8, 0.9])
W2 = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
b2 = np.array([0.7, 0.8])


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward_backward(W1, b1, W2, b2):
    A1 = sigmoid(X @ W1 + b1)
    P = softmax(A1 @ W2 + b2)
    n = X.shape[0]
    loss = -np.sum(Y * np.log(P)) / n
    dZ2 = (P - Y) / n                     # softmax + cross-entropy, mean over samples
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ W2.T) * A1 * (1 - A1)   # chain rule through the sigmoid
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return P, loss, (dW1, db1, dW2, db2)


P, loss, grads = forward_backward(W1, b1, W2, b2)

# The tutorial's loop: 100 epochs of full-batch gradient descent on the mean loss, lr 0.4
# (the same trajectory as summing per-sample gradients with lr 0.1 over 4 samples).
w = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
curve = []
for epoch in range(100):
    _, l, g = forward_backward(*w)
    curve.append(l)                       # loss before this epoch's update
    w = [p - 0.4 * d for p, d in zip(w, g)]

print(json.dumps({
    "output": P.tolist(),
    "loss": loss,
    "gradients": [g.tolist() for g in grads],
    "lossCurve": curve,
    "finalWeights": [p.tolist() for p in w],
    "finalOutput": forward_backward(*w)[0].tolist(),
}, indent=1))
