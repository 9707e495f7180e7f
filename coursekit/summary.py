"""``learn.summary()``: each layer's output shape, parameter count and whether it trains, from torchinfo run on one
training batch. The batch runs in evaluation mode without gradients (BatchNorm's statistics do not change), and
the model is left in the mode it was in.
"""

import torchinfo

from coursekit.core import to_device
from coursekit.data import split_batch

COLUMNS = ("output_size", "num_params", "trainable")


def model_summary(model, xb, device=None, depth=10):
    """torchinfo's summary of ``model`` on the inputs ``xb`` (a tuple of tensors), nested layers ``depth`` deep: a
    table (print it, or let the notebook show it) whose rows are in ``.summary_list``."""
    return torchinfo.summary(
        model,
        input_data=list(xb),
        col_names=COLUMNS,
        row_settings=("var_names",),
        depth=depth,
        mode="eval",
        device=device,
        verbose=0,
    )


def learner_summary(learn):
    """``model_summary`` of a Learner's model on the first batch of its training loader."""
    xb, _ = split_batch(next(iter(learn.dls.train)), learn.dls.train)
    learn.model.to(learn.device)
    return model_summary(learn.model, to_device(xb, learn.device), learn.device)
