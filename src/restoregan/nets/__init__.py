"""Pure torch networks: generators/, discriminators/, shared layers, VGG features, weights.

`load_weights` is re-exported here: it is the one entry point for loading any weights
file into these networks (see `restoregan.nets.weights`), the single exception to the
package rule that `__init__` files re-export nothing.
"""

from restoregan.nets.weights.load import load_weights

__all__ = ["load_weights"]
