"""Lesson 13 on real data: Gatys style transfer of an Oxford-IIIT Pets photo (CC BY-SA 4.0, Parkhi et al. 2012)
with the generated blue and yellow swirl painting, offline, with the lesson's own definitions (its ``defs`` cells:
EfficientNet-Lite0 read at its early layers, the weights balanced on two yardsticks, starting from the photo).

The result must take on the painting's style: the Gram (style) distance to the painting falls at least 50 times from
the photo's own, while its content loss stays well below the painting's (it still shows the pet). The picture (photo,
painting, result) is saved to benchmarks/results/lesson13_style_transfer.png; pytest -s prints the figures.
"""

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from notebook_defs import load_defs
from PIL import Image

from coursekit.samples.paintings import PALETTES, draw_painting
from coursekit.vision import style
from conftest import need_shared

pytestmark = pytest.mark.real_data
SIZE = 192  # px: about 20 CPU-seconds with one thread
OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_style_transfer_of_a_pets_photo_takes_the_style_and_keeps_the_content():
    l13 = load_defs("lesson13_style")
    photo = need_shared("pets") / "images" / "Abyssinian_1.jpg"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions: one thread is fastest on a shared 2-core machine
    try:
        torch.manual_seed(0)
        content = style.image_tensor(photo, SIZE)
        h, w = content.shape[-2:]
        top, left = (h - SIZE) // 2, (w - SIZE) // 2
        content = content[:, top : top + SIZE, left : left + SIZE].contiguous()  # centre square
        painting = style.image_tensor(draw_painting(np.random.default_rng(0), 256, 256, "swirls", PALETTES[0]))
        st = style.StyleTransfer(l13.lesson_net("efficientnet_lite0"), content, painting)
        own_style, painting_content = l13.balance_weights(st, balance=30.0, tv_balance=5.0)  # the lesson's defaults
        start = time.process_time()
        result, history = st.run(n_steps=5, start="content", max_iter=20)
        cpu = time.process_time() - start
        fall = l13.style_fall(st, content, result)
    finally:
        torch.set_num_threads(threads)
    content_loss = history[-1][1]
    print(
        f"\nstyle distance {fall:.0f}x smaller than the photo's own; content loss {content_loss:.3g} = "
        f"{content_loss / painting_content:.1%} of the painting's ({painting_content:.3g}); "
        f"{history[-1][0]} evaluations, {cpu:.0f} CPU-s"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    strip = torch.cat([content, st.style[:, :SIZE, :SIZE], result], dim=2).permute(1, 2, 0).numpy()
    Image.fromarray((strip * 255).round().astype(np.uint8)).save(OUT / "lesson13_style_transfer.png")
    assert fall >= 50
    assert content_loss < 0.4 * painting_content
