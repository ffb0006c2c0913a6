"""microgradnet: a scalar autograd engine for seeing backpropagation work.

Example:
    >>> from microgradnet import Value, grad
    >>> x = Value(2.0, label="x")
    >>> y = (x * x + x.exp()).tanh()
    >>> y.backward()
    >>> (g,) = grad(x**3, [x], create_graph=True)
    >>> grad(g, [x])[0].data
    12.0
"""

from typing import Any

from . import engine as _engine
from ._define_op import define_op as define_op
from ._grad_mode import enable_grad as enable_grad
from .anomaly import detect_anomaly as detect_anomaly
from .anomaly import is_anomaly_enabled as is_anomaly_enabled
from .autograd import hessian as hessian
from .autograd import hvp as hvp
from .autograd import jacobian as jacobian
from .autograd import jvp as jvp
from .autograd import vjp as vjp
from .engine import Value as Value
from .engine import grad as grad
from .engine import is_grad_enabled as is_grad_enabled
from .engine import no_grad as no_grad

__version__ = "0.1.0"


def _jupyter_drawing(value: Value) -> dict[str, Any]:
    # Jupyter shows a Value as its graph: viz draws it, imported on first display only.
    from .viz import value_mimebundle

    return value_mimebundle(value)


_engine.display_hook = _jupyter_drawing


def __getattr__(name: str) -> Any:
    # compile needs NumPy: import it on first use, so `import microgradnet` stays light.
    if name == "compile":
        from .compiled import compile

        return compile
    raise AttributeError(f"module 'microgradnet' has no attribute {name!r}")


__all__ = [
    "Value",
    "__version__",
    "compile",
    "define_op",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "hessian",
    "hvp",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "jacobian",
    "jvp",
    "no_grad",
    "vjp",
]
