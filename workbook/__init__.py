"""The workbook's tools, above ``backprop_core``: one concern per module.

Layers, each looking only down::

    widgets  plots  checks  experiments  diagnostics  datasets   (the tools)
    playground  stepper  autograd
                              backprop_core                       (the lab's math)
                         engine  modelfile                        (numpy and numba only)

``engine`` and ``modelfile`` import numpy (and numba) alone; ``backprop_core``
reaches them lazily; every other module imports the core, never the reverse.
This file imports nothing, so that ``import workbook.engine`` stays light.
"""
