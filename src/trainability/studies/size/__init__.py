"""The size study: how big should the network be? (see ``spec.py``)."""
