"""Lesson 13 on real data: Gatys style transfer of an Oxford-IIIT Pets photo (CC BY-SA 4.0, Parkhi et al. 2012)
with a generated painting, offline (EfficientNet-Lite0 features with the softmax transform).

The result must take on the painting's style: its style loss falls to at most 10% of the photo's own, while its
content loss stays below the painting's (it still shows the pet). The picture (photo, painting, result) is saved
to benchmarks/results/lesson13_style_transfer.png; pytest -s prints the figures.
"""

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from coursekit.samples.paintings import draw_painting
from coursekit.vision import style
from conftest import need_shared

pytestmark = pytest.mark.real_data
SIZE = 192  # px: about 40 CPU-seconds with one thread
OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_style_transfer_of_a_pets_photo_takes_the_style_and_keeps_the_content():
    photo = need_shared("pets") / "images" / "Abyssinian_1.jpg"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions: one thread is fastest on a shared 2-core machine
    try:
        torch.manual_seed(0)
        content = style.image_tensor(photo, SIZE)
        h, w = content.shape[-2:]
        top, left = (h - SIZE) // 2, (w - SIZE) // 2
        content = content[:, top : top + SIZE, left : left + SIZE].contiguous()  # centre square
        painting = style.image_tensor(draw_painting(np.random.default_rng(0), 256, 256, "swirls"))
        net = style.feature_net("efficientnet_lite0")
        st = style.StyleTransfer(net, content, painting, style_weight=300.0, tv_weight=0.0)
        with torch.no_grad():
            own_style = st.losses(content)[1].item()  # the photo's own style loss
            painting_content = st.losses(st.style)[0].item()  # the painting's content loss
        start = time.process_time()
        result, history = st.run(n_steps=6, start="noise", max_iter=20)
        cpu = time.process_time() - start
    finally:
        torch.set_num_threads(threads)
    _, content_loss, style_loss = history[-1]
    print(
        f"\nstyle loss {style_loss:.3g} = {style_loss / own_style:.1%} of the photo's own ({own_style:.3g}); "
        f"content loss {content_loss:.3g} vs the painting's {painting_content:.3g}; "
        f"{history[-1][0]} evaluations, {cpu:.0f} CPU-s"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    strip = torch.cat([content, st.style[:, :SIZE, :SIZE], result], dim=2).permute(1, 2, 0).numpy()
    Image.fromarray((strip * 255).round().astype(np.uint8)).save(OUT / "lesson13_style_transfer.png")
    assert style_loss <= 0.10 * own_style
    assert content_loss < painting_content
