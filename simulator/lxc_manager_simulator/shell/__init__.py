"""The inside of the simulated machines: a bash-subset interpreter and the worlds it runs on.

`world.HostWorld` / `world.ContainerWorld` are what the cluster model creates; `interp`
executes scripts (parsed by bashlex, see `parser`) against them.
"""

from . import builtins as _builtins  # noqa: F401  (registers the shell builtins)
from .commands.core import SHELL_UTILITIES as _UTILITIES
from .interp import Interpreter

Interpreter.utilities.update(_UTILITIES)

__all__ = ["Interpreter"]
