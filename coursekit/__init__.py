"""coursekit: the small library behind the course notebooks.

Import modules by name (``from coursekit import learner, vision``) so every helper
a notebook uses is visibly coursekit's.
"""

__version__ = "0.1.0"
