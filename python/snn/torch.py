"""A libsnn network as a PyTorch module: its forward and backward passes run
in the core's trainer, and PyTorch's autograd and optimizers see it as any
other module (docs/training.md, "Inside a PyTorch model").

>>> import torch, snn, snn.torch
>>> block = snn.torch.Module(net, input="x", output="y")   # or snn.torch.Module(model) for a Sequential
>>> model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.Sigmoid(), Steps(25), block, CountSpikes())
>>> loss = torch.nn.functional.cross_entropy(model(x), labels)
>>> loss.backward(); optimizer.step()

The module's parameters are the network's connection weights in the core's
layout (``net.weights(name)``: ``[pre, post]`` dense, ``[nnz]`` sparse and
conv2d), named after the connections; each forward pass writes their
current values into the network, so a PyTorch optimizer trains them and
``net.save`` stores what it trained. Input and output tensors are time-major
``[steps, batch, n]`` float32 on the CPU and cross the boundary without a
copy where their layout allows (DLPack / NumPy views). Needs torch.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

try:
    import torch as _torch
except ImportError as e:  # pragma: no cover - depends on the environment
    from .errors import UnsupportedError

    raise UnsupportedError("snn.torch needs PyTorch (pip install torch)") from e

from ._layers import Sequential
from ._network import Network
from ._train import Trainer
from .errors import InvalidArgumentError, StateError

__all__ = ["Module"]


class _Run(_torch.autograd.Function):
    """One forward pass of the trainer; its backward is the trainer's."""

    @staticmethod
    def forward(ctx, module: "Module", x: "_torch.Tensor", *weights: "_torch.Tensor") -> "_torch.Tensor":
        trainer = module._trainer
        for name, w in zip(module._names, weights):
            module._net.set_weights(name, w.detach().cpu().numpy())
        trainer.forward({module.input: x.detach().cpu()})
        module._passes += 1
        ctx.module, ctx.pass_id, ctx.x_dtype = module, module._passes, x.dtype
        out = _torch.from_numpy(trainer.output(module.output, module.var))
        return out

    @staticmethod
    def backward(ctx, grad_out: "_torch.Tensor"):
        module = ctx.module
        if ctx.pass_id != module._passes:
            raise StateError("snn.torch.Module: only the latest forward pass can be backpropagated (the core keeps one "
                             "tape); call backward before the next forward")
        trainer = module._trainer
        trainer.zero_grad()
        trainer.add_output_grad(module.output, module.var, grad_out.detach().cpu().contiguous().numpy())
        trainer.backward()
        grads = [_torch.from_numpy(trainer.grad(name)) for name in module._names]
        grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = _torch.from_numpy(trainer.input_grad(module.input)).to(ctx.x_dtype if ctx.x_dtype.is_floating_point
                                                                             else _torch.float32)
        return (None, grad_x, *grads)


class Module(_torch.nn.Module):
    """A libsnn network (or a compiled :class:`snn.Sequential`) as a
    ``torch.nn.Module``.

    Args:
        model: a :class:`snn.Network` or a :class:`snn.Sequential` (its
            network is used: input ``"input"``, output its last layer).
        input: the source population the module's input drives.
        output: the population whose ``var`` is the module's output.
        var: ``"spikes"`` (default) or ``"v"`` (for an ``li`` readout).
        detach_reset: drop the reset from the gradient (as snnTorch).

    ``forward(x)`` takes ``[steps, batch, n_input]`` (float or 0/1 spikes)
    and returns ``[steps, batch, n_output]`` float32. With ``x.requires_grad``
    the gradient reaches ``x`` too (``input_grads`` of the trainer).
    """

    def __init__(self, model: Any, input: Optional[str] = None, output: Optional[str] = None, var: Optional[str] = None,
                 detach_reset: bool = False) -> None:
        super().__init__()
        if isinstance(model, Sequential):
            if model._net is None:
                raise StateError("compile the Sequential first (model.network, or one forward/fit call), so its "
                                 "input kind (spikes or current) is known")
            net = model.network
            input = input or "input"
            output = output or model.output_population
            var = var or ("v" if model._readout() else "spikes")
        elif isinstance(model, Network):
            net = model
        else:
            raise InvalidArgumentError(f"expected a snn.Network or snn.Sequential, got {type(model).__name__}")
        if input is None or output is None:
            raise InvalidArgumentError("give input= (a source population) and output= (the population read out)")
        self._net = net
        self.input = net._pop(input).name
        self.output = net._pop(output).name
        self.var = var or "spikes"
        self._trainer = Trainer(net, detach_reset=detach_reset, input_grads=True)
        self._passes = 0
        self._names = list(net.connections)
        self.weights = _torch.nn.ParameterDict(
            {name.replace(".", "_"): _torch.nn.Parameter(_torch.from_numpy(np.array(net.weights(name))))
             for name in self._names})

    @property
    def network(self) -> Network:
        return self._net

    def forward(self, x: "_torch.Tensor") -> "_torch.Tensor":
        if not isinstance(x, _torch.Tensor):
            x = _torch.as_tensor(np.asarray(x))
        if x.dim() != 3:
            raise InvalidArgumentError(f"expected [steps, batch, {self._net._pop(self.input).size}] input, got shape "
                                       f"{tuple(x.shape)}")
        params = [self.weights[name.replace(".", "_")] for name in self._names]
        return _Run.apply(self, x, *params)

    def extra_repr(self) -> str:
        return f"input={self.input!r}, output={self.output!r}, var={self.var!r}, connections={self._names}"
