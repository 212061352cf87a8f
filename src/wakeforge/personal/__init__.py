"""Personal adaptation: fine-tune a trained model on a household's own recordings.

``recordings`` loads and checks the user's takes (trimmed and levelled like stage 1's clips),
``base`` loads the trained model safely, ``adapt`` makes the augmented rows and fine-tunes,
``guard`` scores the old and the new model on what training never saw, and ``run`` ties them
together for ``python -m wakeforge.personalize``.
"""
