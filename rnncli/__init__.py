"""rnncli: train, evaluate and serve recurrent text classifiers from the command line."""

__version__ = "0.1.0"
