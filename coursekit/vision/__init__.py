"""Computer vision: image files, transforms, pretrained models, segmentation, and interpretation.

Import the modules by name: ``from coursekit.vision import loaders, models``.
"""
