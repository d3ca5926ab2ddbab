"""modelport: from a trained model file to a production endpoint, and keeping it healthy there."""

from modelport.errors import ModelportError

__version__ = "0.1.0"

__all__ = ["ModelportError", "__version__"]
