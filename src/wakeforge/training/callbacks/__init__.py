"""Lightning callbacks: thin wrappers over ``wakeforge.export`` and ``wakeforge.evaluation``."""
