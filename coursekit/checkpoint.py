"""Checkpoints: the files ``Learner.save`` writes and ``Learner.load`` reads.

A checkpoint is a plain dict, ``{"model": model.state_dict(), "opt": optimizer.state_dict() or None}``; a bare
``model.state_dict()`` saved with ``torch.save`` loads too, as model weights alone. ``load`` checks the whole
checkpoint against the model and the optimizer before it replaces anything, so a file that does not fit leaves
the learner as it was. Every error names the file and says what to do.
"""

import contextlib
import os

import torch

from coursekit.distributed import is_main

SAVE_ELSEWHERE = (
    "or save elsewhere: learn.path and learn.model_dir (Learner(..., path=..., model_dir=...)) say where models go"
)


def first_line(error, width=120):
    """``"EOFError: Ran out of input"``: what the underlying error said, in one short line."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else "(no message)"
    return f"{type(error).__name__}: {line if len(line) <= width else line[: width - 3] + '...'}"


def write_checkpoint(file, state):
    """``torch.save(state)`` to ``file`` through a temporary file, so a save cut short never replaces a good file.
    In a data-parallel run only the first process writes (the others hold the same weights)."""
    if not is_main():
        return file
    folder = file.parent
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise NotADirectoryError(
            f"Cannot save {file}: {blocker} is a file, not a folder. Move that file away, " + SAVE_ELSEWHERE + "."
        )
    tmp = file.with_name(file.name + ".tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(state, tmp)  # torch's own message for an unwritable folder does not name the file
        os.replace(tmp, file)
    except (OSError, RuntimeError) as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OSError(
            f"Could not save {file} ({first_line(e)}). Check that the folder {folder} is writable and "
            f"the disk has room, " + SAVE_ELSEWHERE + "."
        ) from None
    return file


def looks_like(file):
    """None when ``file`` starts as ``torch.save`` files do (a zip archive, or a pickle), else what it looks like:
    ``'it is empty'``, ``"it is an HTML page: '<!DOCTYPE html><html>...'"``, ``"it starts with b'...'"``."""
    with open(file, "rb") as f:
        head = f.read(200)
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return None
    if not head:
        return "it is empty"
    text = head.decode("utf-8", errors="replace").rstrip("\ufffd").lstrip("\ufeff \t\r\n")  # a cut last character
    start = " ".join(text.split())[:40].rstrip()
    if text[:1] == "<" and any(tag in text.lower() for tag in ("<!doctype html", "<html", "<head", "<body")):
        return f"it is an HTML page: {start!r}..."
    if "\ufffd" not in text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return f"it is text: {start!r}..."
    return f"it starts with {head[:16]!r}"


def load_file(file, device):
    """What ``torch.load`` reads from ``file`` (tensors and plain Python values only), or a clear error for a
    missing or damaged file, or one that holds pickled objects."""
    saved_here = sorted(p.stem for p in file.parent.glob("*.pth")) if file.parent.is_dir() else []
    if not file.is_file():
        raise FileNotFoundError(
            f"No saved model {file}. Saved models here: {saved_here or 'none'}. Save one with learn.save(name) first."
        )
    try:
        state = torch.load(file, map_location=device, weights_only=True)
    except Exception as e:  # torch.load fails with EOFError, OSError, KeyError, RuntimeError... on a bad file
        looks = looks_like(file)
        if "Weights only load failed" in str(e) and looks is None:
            raise ValueError(
                f"{file} holds Python objects besides tensors (a whole pickled model?), which "
                "coursekit does not unpickle, since unpickling can run any code. If you trust the "
                "file, load it with torch.load(file, weights_only=False), take its state_dict(), and "
                "save that with torch.save."
            ) from None
        raise ValueError(
            f"{file} is damaged or is not a PyTorch checkpoint ({file.stat().st_size:,} bytes; "
            f"{looks or first_line(e)}); a web page saved in its place, a save cut short, a full disk or a partial "
            f"copy leave such files. Save it again with learn.save('{file.stem}'), copy or download it again, "
            f"or load another one: {saved_here}."
        ) from None
    return state


def read_checkpoint(file, device):
    """``(model_state, opt_state or None)`` from a checkpoint file, or a clear error for a missing, damaged or
    foreign file. A plain ``state_dict`` is taken as model weights (and says so)."""
    state = load_file(file, device)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        return state["model"], state.get("opt")
    if isinstance(state, dict) and state and all(isinstance(v, torch.Tensor) for v in state.values()):
        print(
            f"{file} holds model weights alone (a plain state_dict, as torch.save(model.state_dict()) writes): "
            "loading them as the model's weights; the optimizer keeps its own state."
        )
        return state, None
    what = f"a dict with keys {sorted(map(str, state))[:8]}" if isinstance(state, dict) else type(state).__name__
    raise ValueError(
        f"{file} is not a checkpoint coursekit can read: it holds {what}. learn.load reads what "
        "learn.save writes ({'model': state_dict, 'opt': ...}) or a plain model.state_dict(); for "
        "another layout, torch.load it yourself and pass the weights to "
        "learn.model.load_state_dict(...)."
    )


def check_model_state(file, model, state, strict=True):
    """Raise before loading when ``state`` does not fit ``model``: missing or extra names (when ``strict``), or
    shapes that differ (always, as ``load_state_dict``). A module's extra state (a vocabulary's fingerprint) may be
    missing: files saved before it existed still load."""
    own = model.state_dict()
    problems = []
    if strict:
        problems += [f"missing in the file: {k}" for k in own if k not in state and not k.endswith("_extra_state")]
        problems += [f"not in this model: {k}" for k in state if k not in own]
    problems += [
        f"{k}: {tuple(v.shape)} in the file, {tuple(own[k].shape)} in the model"
        for k, v in state.items()
        if k in own and isinstance(v, torch.Tensor) and v.shape != own[k].shape
    ]
    if problems:
        shown = "\n  ".join(problems[:8]) + (f"\n  ... and {len(problems) - 8} more" if len(problems) > 8 else "")
        raise RuntimeError(
            f"{file} does not fit this model (was it saved from another architecture or number of "
            f"classes?); nothing was loaded. Rebuild the model as it was when saved (the same "
            f"architecture and number of outputs); strict=False skips names that are missing or "
            f"extra, not shapes that differ:\n  {shown}"
        )


def check_opt_state(file, opt, state):
    """Raise before loading when the saved optimizer state does not fit ``opt``: other parameter groups, or state
    tensors whose shapes are not those of the parameters they belong to."""
    saved = [len(g["params"]) for g in state.get("param_groups", [])]
    have = [len(g["params"]) for g in opt.param_groups]
    why = None
    if saved != have:
        why = (
            f"its optimizer state has {len(saved)} parameter group(s) of {saved} parameters, but this "
            f"learner's optimizer has {len(have)} of {have} (one group per layer group)"
        )
    else:
        params = [p for g in opt.param_groups for p in g["params"]]
        saved_ids = [i for g in state["param_groups"] for i in g["params"]]
        for i, p in zip(saved_ids, params):
            for k, v in state.get("state", {}).get(i, {}).items():
                if isinstance(v, torch.Tensor) and v.dim() and v.shape != p.shape:
                    why = (
                        f"its optimizer state {k} has shape {tuple(v.shape)} for a parameter of shape {tuple(p.shape)}"
                    )
                    break
            if why:
                break
    if why:
        raise ValueError(
            f"{file} was saved from a learner with other layer groups or another model: {why}. "
            f"Nothing was loaded. Load the weights alone with learn.load('{file.stem}', "
            "with_opt=False), or build the learner with the layer groups it was saved with."
        )
