"""Forward hooks that keep a module's output, registered for the length of a ``with`` block.

``with hook_outputs(modules) as hooks: model(x)`` leaves each module's output of that forward pass in
``hooks.stored`` (same order as ``modules``). Leaving the block removes every hook, also when the block
raises, so a model never keeps hooks (and the memory they hold) after use.
"""

from torch import nn


class Hook:
    """A forward hook on one module that keeps its latest output in ``stored`` (detached if ``detach``)."""

    def __init__(self, module, detach=False):
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"Hook needs an nn.Module, got {type(module).__name__}; pick a layer of the model, "
                f"e.g. model[3] or dict(model.named_modules())['name']."
            )
        self.module, self.detach, self.stored = module, detach, None
        self.handle = module.register_forward_hook(self._keep)

    def _keep(self, module, inputs, output):
        self.stored = output.detach() if self.detach else output

    def remove(self):
        """Take the hook off its module (safe to call twice)."""
        if self.handle is not None:
            self.handle.remove()
            self.handle = None


class Hooks:
    """Hooks on several modules, a context manager: ``stored`` lists their outputs in order."""

    def __init__(self, modules, detach=False):
        self.hooks = []
        try:
            for m in modules:
                self.hooks.append(Hook(m, detach))
        except Exception:  # a bad module half-way: take off the hooks already placed
            self.remove()
            raise

    @property
    def stored(self):
        return [h.stored for h in self.hooks]

    def remove(self):
        """Take every hook off."""
        for h in self.hooks:
            h.remove()

    def __len__(self):
        return len(self.hooks)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()  # also on an exception; returning None lets it propagate


def hook_outputs(modules, detach=False):
    """``Hooks`` keeping the outputs of ``modules``; use as ``with hook_outputs(layers) as hooks: ...``."""
    return Hooks(modules, detach)


def n_forward_hooks(model):
    """How many forward hooks are registered on ``model`` and its submodules (0 when none leaked)."""
    return sum(len(m._forward_hooks) for m in model.modules())
