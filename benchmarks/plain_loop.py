"""The yardstick for our trainer's overhead: a plain hand-written batched NumPy training loop.

K tanh networks with a sigmoid classifier, trained with SGD on mini-batches, written the
way one writes it by hand: one statement per formula, fresh arrays every step, no
registries, no masks, no history beyond what ``train(..., diagnostics=False)`` records
(loss and accuracy on the training and test sets after every epoch; ``evaluate=False``
skips even that, a lower bound that does less work than ``train``). It draws the same
shuffling order as ``train`` (``model_rng(seed, 1)``), so from the same initial weights it
computes the same numbers; ``bench_trainer.py`` checks that before timing it.

Per mini-batch (h0 = x, layers l = 1..L, the classifier L + 1):

    h_l = tanh(h_{l-1} W_l + b_l),   z = h_L W_{L+1} + b_{L+1}
    delta_{L+1} = (sigmoid(z) - y) / B,   delta_l = (delta_{l+1} W_{l+1}^T) (1 - h_l^2)
    W_l -= lr h_{l-1}^T delta_l,   b_l -= lr sum_batch(delta_l)
"""

from __future__ import annotations

import numpy as np


def plain_train(Ws, bs, X, y, X_test, y_test, shufflers, epochs, batch, lr, evaluate=True):
    """Train in place the ``(K, fan_in, fan_out)`` weights ``Ws`` and ``(K, 1, fan_out)``
    biases ``bs``; return ``(train_loss, train_acc, test_loss, test_acc)``, each ``(K,)``
    after the last epoch (empty without ``evaluate``)."""
    n = len(X)
    y = y.reshape(-1, 1).astype(float)
    y_test = y_test.reshape(-1, 1).astype(float)
    scores = [(), ()]
    for _ in range(epochs):
        order = np.stack([r.permutation(n) for r in shufflers])
        X_epoch, y_epoch = X[order], y[order]
        for start in range(0, n, batch):
            xb = X_epoch[:, start : start + batch]
            yb = y_epoch[:, start : start + batch]
            hs = [xb]
            for W, b in zip(Ws[:-1], bs[:-1], strict=True):
                hs.append(np.tanh(hs[-1] @ W + b))
            z = hs[-1] @ Ws[-1] + bs[-1]
            delta = (1.0 / (1.0 + np.exp(-z)) - yb) / yb.shape[1]
            for i in range(len(Ws) - 1, -1, -1):
                gW = hs[i].mT @ delta
                gb = delta.sum(axis=1, keepdims=True)
                if i > 0:
                    delta = (delta @ Ws[i].mT) * (1.0 - hs[i] ** 2)
                Ws[i] -= lr * gW
                bs[i] -= lr * gb
        if evaluate:
            scores = [_evaluate(Ws, bs, X, y), _evaluate(Ws, bs, X_test, y_test)]
    return scores[0] + scores[1]


def _evaluate(Ws, bs, X, y):
    h = X
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        h = np.tanh(h @ W + b)
    z = h @ Ws[-1] + bs[-1]
    loss = (np.logaddexp(0.0, z) - y * z).mean(axis=(1, 2))
    acc = ((z > 0) == y).mean(axis=(1, 2))
    return loss, acc
