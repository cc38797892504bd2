"""What an autograd engine automates: a scalar ``Value`` that records its graph.

In the spirit of Karpathy's micrograd: every arithmetic operation on ``Value``
objects returns a new ``Value`` that remembers its operands and how to pass a
gradient back to them (its local derivative, written beside the forward
computation). ``backward()`` orders the graph topologically and applies the
chain rule from the output down, which is what notebook 03 did by hand, layer
by layer. ``network_loss`` builds the lab's network for one sample out of
``Value`` objects; notebook 07 checks its gradients against ``Model.gradients``.

Scalars only, and slow (a Python object per number): a way to read autograd,
not to train with. ``workbook.plots.draw_graph`` draws a small graph.
"""

import math

import numpy as np

import backprop_core as bc


class Value:
    """A scalar in a computation graph: its value ``data`` and ``grad`` = dL/d(this)."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None           # adds this node's grad into its children's
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value({self.label + ', ' if self.label else ''}data={self.data:.6g}, " \
               f"grad={self.grad:.6g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():                        # d(a + b)/da = d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():                        # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        if not isinstance(k, (int, float)):
            raise TypeError(f"the exponent must be an int or a float, got {type(k).__name__}")
        out = Value(self.data ** k, (self,), f"**{k:g}")

        def _backward():                        # d(a^k)/da = k a^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        """σ(a); its local derivative is σ(1 - σ), from the output, as ``der_sigmoid``."""
        s = float(bc.sigmoid(self.data))
        out = Value(s, (self,), "σ")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        """e^a; its local derivative is e^a itself."""
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return (-self) + other

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Value(other) * self ** -1

    def graph(self):
        """Every node this value depends on, itself last, in topological order."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:                            # depth first, without recursion limits
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        return order

    def backward(self):
        """Set each node's ``grad`` to d(self)/d(node): the chain rule, from the output down."""
        order = self.graph()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def network_loss(model, x, y):
    r"""The lab's loss on one sample, :math:`\tfrac12 (a_3 - y)^2`, built from ``Value``s.

    Parameters
    ----------
    model : backprop_core.Model
        Sigmoid hidden layers and output, squared error (the lab's).
    x : array_like of shape (2,)
    y : float

    Returns
    -------
    loss : Value
    params : dict
        Parameter name -> object ndarray of ``Value``, in the model's shapes: after
        ``loss.backward()``, ``grads(params)`` gives the gradients as ``Model.gradients``.
    """
    if not isinstance(model, bc.Model) or (model.activation, model.output_activation,
                                           model.loss) != ("sigmoid", "sigmoid", "mse"):
        raise ValueError("model must be a backprop_core.Model of the lab: activation, "
                         "output_activation 'sigmoid' and loss 'mse'; got "
                         f"{model!r}. Pass e.g. bc.Model(hidden_size=(5, 10), seed=0).")
    params = {}
    for name in bc.PARAM_NAMES:
        array = getattr(model, name)
        params[name] = np.empty(array.shape, dtype=object)
        for index in np.ndindex(array.shape):
            label = f"{name}[{','.join(map(str, index))}]"
            params[name][index] = Value(array[index], label=label)
    a = [Value(v, label=f"x[{i}]") for i, v in enumerate(np.ravel(x))]    # a0 = x
    for k in (1, 2, 3):
        w, b = params[f"w{k}"], params[f"b{k}"]             # (l_{k-1}, l_k), (1, l_k)
        z = [sum((a[i] * w[i, j] for i in range(len(a))), b[0, j]) for j in range(w.shape[1])]
        a = [zj.sigmoid() for zj in z]
    loss = 0.5 * (a[0] - float(np.ravel(y)[0])) ** 2
    loss.label = "L"
    return loss, params


def grads(params):
    """Parameter name -> float array of the ``grad`` of each ``Value`` in ``params``."""
    return {name: np.vectorize(lambda v: v.grad, otypes=[float])(array)
            for name, array in params.items()}
