"""Retraining as SageMaker jobs run it: train a LoRA adapter (``train``), evaluate it
(``evaluate``, ``compare``) on the training set ``functions.dataset`` built; ``base_model`` builds
a tiny local base for runs without a hub model. Imports nothing of ours but the scorer
(``functions.scoring``), which the jobs' source asset ships beside this package. Importing the
package is cheap: torch loads only in the modules that need it."""
