"""Retraining: build a training set from interactions (``data``), train a LoRA adapter
(``train``), evaluate it (``evaluate``); ``base_model`` builds a tiny local base for runs without
a hub model. Importing the package is cheap: torch loads only in the modules that need it."""
